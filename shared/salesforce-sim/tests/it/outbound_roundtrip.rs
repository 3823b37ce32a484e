//! Outbound-message round trip: records changed in the simulator arrive at a listener, are parsed
//! by the project's parser (`sfhs_core::outbound::parse`), and are retried until acked.

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use sfhs_core::outbound::{ACK_XML, OutboundMessage, parse};
use sfhs_salesforce_sim::{
    OutboundConfig, OutboundKnobs, OutboundTiming, SeedSize, Sim, SimBuilder,
};

/// How the listener answers its first POSTs before acking.
#[derive(Clone, Copy, Debug)]
enum Answer {
    ServerError,
    EmptyOk,
    AckFalse,
    JsonOk,
    Fault,
    /// Acks, but only after the simulator's timeout.
    Slow,
    Ack,
}

#[derive(Default)]
struct Listener {
    bodies: Vec<Vec<u8>>,
    script: Vec<Answer>,
    always_fail: bool,
}

type Shared = Arc<Mutex<Listener>>;

async fn receive(State(state): State<Shared>, body: Bytes) -> Response {
    let answer = {
        let mut l = state.lock().unwrap();
        l.bodies.push(body.to_vec());
        if l.always_fail {
            Answer::ServerError
        } else if l.script.is_empty() {
            Answer::Ack
        } else {
            l.script.remove(0)
        }
    };
    let xml = |s: String| {
        (StatusCode::OK, [("content-type", "text/xml; charset=utf-8")], s).into_response()
    };
    match answer {
        Answer::ServerError => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Answer::EmptyOk => StatusCode::OK.into_response(),
        Answer::AckFalse => xml(ACK_XML.replace("<Ack>true</Ack>", "<Ack>false</Ack>")),
        Answer::JsonOk => (StatusCode::OK, "{\"ack\":true}").into_response(),
        Answer::Fault => xml(r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>busy</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#.to_owned()),
        Answer::Slow => {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            xml(ACK_XML.to_owned())
        }
        Answer::Ack => xml(ACK_XML.to_owned()),
    }
}

async fn listener(script: Vec<Answer>, always_fail: bool) -> (String, Shared) {
    let state: Shared =
        Arc::new(Mutex::new(Listener { script, always_fail, ..Listener::default() }));
    let app = Router::new().route("/sfdc", post(receive)).with_state(state.clone());
    let tcp = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let url = format!("http://{}/sfdc?secret=s3cr%26t", tcp.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(tcp, app).await.unwrap();
    });
    (url, state)
}

fn fast_timing() -> OutboundTiming {
    OutboundTiming {
        first_retry: Duration::from_millis(20),
        max_retry_interval: Duration::from_millis(80),
        give_up_after: Duration::from_secs(20),
        timeout: Duration::from_secs(1),
        batch_window: Duration::from_millis(150),
    }
}

async fn sim(timing: OutboundTiming) -> Sim {
    SimBuilder::new()
        .seed_size(SeedSize { accounts: 10, invoices: 20, lines: 20, shipments: 5 })
        .outbound_timing(timing)
        .start()
        .await
        .unwrap()
}

fn parsed(state: &Shared) -> Vec<OutboundMessage> {
    state
        .lock()
        .unwrap()
        .bodies
        .iter()
        .map(|b| {
            parse(b, 5 * 1024 * 1024).expect("the project's parser accepts the simulator's SOAP")
        })
        .collect()
}

fn invoice_config(url: &str) -> OutboundConfig {
    OutboundConfig {
        object: "Invoice__c".into(),
        fields: [
            "Name",
            "Account__c",
            "Amount__c",
            "Status__c",
            "Notes__c",
            "Paid_At__c",
            "Channels__c",
            "Issue_Date__c",
            "Paid__c",
            "Tax_Rate__c",
            "LastModifiedDate",
            "SystemModstamp",
        ]
        .map(String::from)
        .to_vec(),
        url: url.to_owned(),
        send_session_id: false,
    }
}

#[tokio::test]
async fn changes_arrive_parsed_and_are_retried_until_acked() {
    let (url, state) = listener(
        vec![
            Answer::ServerError,
            Answer::EmptyOk,
            Answer::AckFalse,
            Answer::JsonOk,
            Answer::Fault,
            Answer::Slow,
        ],
        false,
    )
    .await;
    let sim = sim(fast_timing()).await;
    sim.configure_outbound(invoice_config(&url)).unwrap();
    let account = sim.ids("Account")[0].clone();
    // Held while the burst is made, so that it is cut into messages at once: 100 + 50.
    sim.set_outbound_knobs(OutboundKnobs { paused: true, ..OutboundKnobs::default() });

    let mut created = Vec::new();
    for i in 0..150 {
        let id = sim
            .create(
                "Invoice__c",
                json!({"Name": format!("OM-{i:03}"), "Account__c": account, "Amount__c": 45000 + i,
                       "Status__c": "Sent", "Channels__c": "Email;Post", "Issue_Date__c": "2025-07-11",
                       "Paid_At__c": "2025-03-01T10:00:00Z", "Tax_Rate__c": 99213206.0}),
            )
            .unwrap();
        created.push(id);
    }
    sim.set_outbound_knobs(OutboundKnobs::default());
    assert!(sim.wait_outbound_idle(Duration::from_secs(30)).await, "not acked in time");

    let messages = parsed(&state);
    let c = sim.outbound_counters();
    assert_eq!(c.notifications_queued, 150, "{c:?}");
    assert_eq!(c.notifications_acked, 150, "{c:?}");
    assert_eq!(c.messages_acked, 2, "100 + 50 notifications");
    assert_eq!(c.messages_failed, 6);
    assert_eq!(c.messages_retried, 6);
    assert_eq!(c.messages_dropped, 0);
    assert_eq!(c.messages_sent as usize, messages.len());
    assert_eq!(messages.len(), 8);

    let org = sim.org_id();
    let mut seen: HashMap<String, String> = HashMap::new();
    for m in &messages {
        assert_eq!(m.organization_id, org);
        assert!(m.action_id.as_deref().is_some_and(|a| a.starts_with("04k")));
        assert!(!m.has_session_id);
        assert!(m.enterprise_url.as_deref().unwrap().contains("/services/Soap/c/62.0/"));
        assert!(m.notifications.len() <= 100);
        for n in &m.notifications {
            assert_eq!(n.sobject, "Invoice__c");
            assert!(n.id.starts_with("04l") && n.id.len() == 18);
            if let Some(previous) = seen.insert(n.id.clone(), n.record_id.clone()) {
                assert_eq!(previous, n.record_id, "a retry keeps the notification id");
            }
        }
    }
    assert_eq!(seen.len(), 150);
    let records: HashSet<&String> = seen.values().collect();
    assert_eq!(records, created.iter().collect());
    assert_eq!(messages.iter().map(|m| m.notifications.len()).max(), Some(100));

    let first =
        messages.iter().flat_map(|m| &m.notifications).find(|n| n.record_id == created[0]).unwrap();
    let f = &first.fields;
    assert_eq!(f["Name"].as_deref(), Some("OM-000"));
    assert_eq!(f["Amount__c"].as_deref(), Some("45000.0"));
    assert_eq!(f["Tax_Rate__c"].as_deref(), Some("9.9213206E7"));
    assert_eq!(f["Paid__c"].as_deref(), Some("false"));
    assert_eq!(f["Channels__c"].as_deref(), Some("Email;Post"));
    assert_eq!(f["Issue_Date__c"].as_deref(), Some("2025-07-11"));
    assert_eq!(f["Paid_At__c"].as_deref(), Some("2025-03-01T10:00:00.000Z"));
    assert_eq!(f["Account__c"].as_deref(), Some(account.as_str()));
    assert!(f["SystemModstamp"].as_deref().unwrap().ends_with('Z'));
    assert!(!f.contains_key("Notes__c"), "null fields are omitted");
    assert!(!f.contains_key("Line_Count__c"), "unselected fields are not sent");

    // An update sends the new values (with escaping) in a new notification.
    state.lock().unwrap().bodies.clear();
    sim.update("Invoice__c", &created[0], json!({"Notes__c": "<br> & \"x\"", "Status__c": "Paid"}))
        .unwrap();
    assert!(sim.wait_outbound_idle(Duration::from_secs(10)).await);
    let messages = parsed(&state);
    assert_eq!(messages.len(), 1);
    let n = &messages[0].notifications[0];
    assert_eq!(n.record_id, created[0]);
    assert!(!seen.contains_key(&n.id));
    assert_eq!(n.fields["Notes__c"].as_deref(), Some("<br> & \"x\""));
    assert_eq!(n.fields["Status__c"].as_deref(), Some("Paid"));
    let raw = String::from_utf8(state.lock().unwrap().bodies[0].clone()).unwrap();
    assert!(raw.contains("&lt;br&gt; &amp;"));

    // Deletes send nothing.
    let before = sim.outbound_counters().notifications_queued;
    sim.delete("Invoice__c", &created[1]).unwrap();
    assert_eq!(sim.outbound_counters().notifications_queued, before);
    sim.shutdown().await;
}

#[tokio::test]
async fn unacked_deliveries_are_dropped_after_the_scaled_day() {
    let (url, state) = listener(Vec::new(), true).await;
    let timing = OutboundTiming { give_up_after: Duration::from_millis(400), ..fast_timing() };
    let sim = sim(timing).await;
    sim.configure_outbound(OutboundConfig::all_fields("Account", &url)).unwrap();
    sim.set_outbound_knobs(OutboundKnobs { paused: true, ..OutboundKnobs::default() });
    for i in 0..3 {
        sim.create("Account", json!({"Name": format!("Drop {i}")})).unwrap();
    }
    sim.set_outbound_knobs(OutboundKnobs::default());
    assert!(sim.wait_outbound_idle(Duration::from_secs(20)).await);
    let c = sim.outbound_counters();
    assert_eq!(c.messages_dropped, 1);
    assert_eq!(c.notifications_dropped, 3);
    assert_eq!(c.messages_acked, 0);
    assert!(c.messages_retried >= 2, "{c:?}");
    assert_eq!(c.messages_sent as usize, state.lock().unwrap().bodies.len());
    // Every try carried the same three notifications.
    let ids: Vec<Vec<String>> = parsed(&state)
        .iter()
        .map(|m| m.notifications.iter().map(|n| n.id.clone()).collect())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(ids[0].len(), 3);
}

#[tokio::test]
async fn knobs_duplicate_reorder_and_slow_delivery() {
    let (url, state) = listener(Vec::new(), false).await;
    let sim = sim(fast_timing()).await;
    sim.configure_outbound(OutboundConfig::all_fields("acme__Shipment__c", &url)).unwrap();
    let knobs = OutboundKnobs {
        duplicate_rate: 1.0,
        reorder: true,
        delivery_delay: Duration::from_millis(30),
        paused: true,
    };
    sim.set_outbound_knobs(knobs.clone());
    let invoice = sim.ids("Invoice__c")[0].clone();
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(
            sim.create(
                "acme__Shipment__c",
                json!({"Name": format!("S{i}"), "acme__Invoice__c": invoice, "acme__Carrier__c": "DHL"}),
            )
            .unwrap(),
        );
    }
    sim.set_outbound_knobs(OutboundKnobs { paused: false, ..knobs });
    assert!(sim.wait_outbound_idle(Duration::from_secs(20)).await);
    let messages = parsed(&state);
    let c = sim.outbound_counters();
    assert_eq!(c.duplicates_sent, 1);
    assert_eq!(c.messages_acked, 2);
    assert_eq!(c.notifications_acked, 5);
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0], messages[1], "the duplicate is the same message");
    let order: Vec<&str> = messages[0].notifications.iter().map(|n| n.record_id.as_str()).collect();
    let mut reversed: Vec<&str> = created.iter().map(String::as_str).collect();
    reversed.reverse();
    assert_eq!(order, reversed, "reordered: newest first");
    let n = &messages[0].notifications[0];
    assert_eq!(n.sobject, "acme__Shipment__c");
    assert_eq!(n.fields["acme__Carrier__c"].as_deref(), Some("DHL"));
    assert_eq!(n.fields["acme__Delivered__c"].as_deref(), Some("false"));

    // Paused: a record deleted before delivery goes out as an sObject with only its Id.
    state.lock().unwrap().bodies.clear();
    sim.set_outbound_knobs(OutboundKnobs { paused: true, ..OutboundKnobs::default() });
    sim.update("acme__Shipment__c", &created[0], json!({"acme__Carrier__c": "UPS"})).unwrap();
    sim.delete("acme__Shipment__c", &created[0]).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(state.lock().unwrap().bodies.is_empty(), "paused");
    sim.set_outbound_knobs(OutboundKnobs::default());
    assert!(sim.wait_outbound_idle(Duration::from_secs(10)).await);
    let messages = parsed(&state);
    assert_eq!(messages.len(), 1);
    let n = &messages[0].notifications[0];
    assert_eq!(n.record_id, created[0]);
    assert!(n.fields.is_empty(), "deleted before delivery: no data");
}

#[tokio::test]
async fn session_id_and_fixture_shape() {
    let (url, state) = listener(Vec::new(), false).await;
    let sim = sim(fast_timing()).await;
    sim.configure_outbound(OutboundConfig {
        fields: vec!["CreatedDate".into(), "Industry".into(), "LastModifiedDate".into()],
        send_session_id: true,
        ..OutboundConfig::all_fields("Account", &url)
    })
    .unwrap();
    let id = sim.create("Account", json!({"Name": "Fixture", "Industry": "Agriculture"})).unwrap();
    assert!(sim.wait_outbound_idle(Duration::from_secs(10)).await);
    let body = String::from_utf8(state.lock().unwrap().bodies[0].clone()).unwrap();
    let m = parse(body.as_bytes(), 1 << 20).unwrap();
    assert!(m.has_session_id);
    assert_eq!(m.notifications[0].record_id, id);
    let names: Vec<&str> = m.notifications[0].fields.keys().map(String::as_str).collect();
    assert_eq!(names, ["CreatedDate", "Industry", "LastModifiedDate"]);

    // Same skeleton as the real capture: swap the ids, dates and session for placeholders.
    let real = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/salesforce/om_account_field_populated_ampersand.xml"
    ));
    let skeleton = |xml: &str| -> Vec<String> {
        xml.lines()
            .map(|l| {
                let t = l.trim();
                match (t.find('>'), t.rfind("</")) {
                    (Some(a), Some(b)) if a < b && !t.starts_with("</") => {
                        format!("{}{}", &t[..=a], &t[b..])
                    }
                    _ => t.to_owned(),
                }
            })
            .filter(|l| !l.starts_with("<SessionId"))
            .collect()
    };
    assert_eq!(skeleton(&body), skeleton(real));
}
