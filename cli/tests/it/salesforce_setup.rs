//! Salesforce set-up as code, end to end: mapping files, `sfhs salesforce apply` (the real
//! binary) against the Salesforce simulator, a record change, the outbound message the deployed
//! definition sends (exactly the mapped fields), the worker, HubSpot. Then a mapping field the
//! deployed message does not send: `sfhs mappings validate` names it, and the worker leaves its
//! HubSpot property as it is (invariant 9).

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use crate::common::{live_env, sfhs_bin, text};
use sfhs_core::mapping::parse_yaml;
use sfhs_core::mapping::store::{MappingStore, MemoryMappingStore, next_version};
use sfhs_core::outbound::{ACK_XML, DEFAULT_MAX_BODY_BYTES, parse};
use sfhs_core::sync::InMessage;
use sfhs_core::sync::memory::{MemoryErrorStore, MemoryLedger};
use sfhs_core::work_item::WorkItem;
use sfhs_hubspot_sim::HubSpotSim;
use sfhs_salesforce_sim::{OutboundTiming, SeedSize, SimBuilder};
use sfhs_tests::portal::records_by_salesforce_id;

const MAPPING: &str = "salesforce_object: Invoice__c\nhubspot_object: p12345678_invoice\nid_property: salesforce_id\nstate: enabled\nfields:\n  - {salesforce: Name, hubspot: name}\n  - {salesforce: Amount__c, hubspot: amount}\n  - {salesforce: Status__c, hubspot: status}\n";

/// A webhook that keeps every body it receives and acks.
async fn receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/outbound",
        axum::routing::post(move |body: String| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push(body);
                ([("content-type", "text/xml; charset=utf-8")], ACK_XML)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/outbound"), got)
}

struct Env {
    hubspot: String,
    salesforce: String,
    webhook: String,
}

fn sfhs(e: &Env, args: &[&str]) -> Output {
    live_env(&mut sfhs_bin(), &e.hubspot, &e.salesforce, &e.webhook)
        .env("SFHS_URL_SECRET", "e2e-secret")
        .args(args)
        .output()
        .unwrap()
}

async fn next_message(got: &Arc<Mutex<Vec<String>>>, seen: usize) -> String {
    for _ in 0..250 {
        if let Some(b) = got.lock().unwrap().get(seen) {
            return b.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no outbound message arrived");
}

fn work_items(body: &str) -> Vec<InMessage> {
    let msg = parse(body.as_bytes(), DEFAULT_MAX_BODY_BYTES).unwrap();
    msg.notifications
        .iter()
        .enumerate()
        .map(|(i, n)| InMessage {
            message_id: format!("m{i}"),
            body: WorkItem::from_notification(&msg, n, time::OffsetDateTime::now_utc()).to_json(),
            receive_count: 1,
            wake: None,
        })
        .collect()
}

fn write(dir: &Path, yaml: &str) {
    std::fs::write(dir.join("invoice.yaml"), yaml).unwrap();
}

/// The two vendors: an empty HubSpot portal and an org of 3 invoices whose outbound messages
/// are delivered at once.
async fn simulators() -> (sfhs_hubspot_sim::RunningSim, sfhs_salesforce_sim::Sim) {
    simulators_of(sfhs_salesforce_sim::DEFAULT_ORG_ID).await
}

/// The simulators, the Salesforce one an org of `org_id`.
async fn simulators_of(org_id: &str) -> (sfhs_hubspot_sim::RunningSim, sfhs_salesforce_sim::Sim) {
    let hs = HubSpotSim::builder().start().await.unwrap();
    let sf = SimBuilder::new()
        .org_id(org_id)
        .seed_size(SeedSize { accounts: 2, invoices: 3, lines: 1, shipments: 1 })
        .outbound_timing(OutboundTiming::scaled(1000.0))
        .start()
        .await
        .unwrap();
    (hs, sf)
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_then_a_change_flows_with_exactly_the_mapped_fields_and_a_gap_clears_nothing() {
    let (hs, sf) = simulators().await;
    let (webhook, got) = receiver().await;
    let env = Env {
        hubspot: hs.base_url(),
        salesforce: sf.base_url().to_owned(),
        webhook: webhook.clone(),
    };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), MAPPING);
    let d = dir.path().to_str().unwrap();

    let o = sfhs(&env, &["mappings", "schema-generate", "Invoice__c", "--create"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Before the set-up, validation says no outbound message sends Invoice__c, and the fix.
    let o = sfhs(&env, &["mappings", "validate", d]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("no outbound message on Invoice__c"), "{}", text(&o));
    assert!(text(&o).contains("sfhs salesforce apply"));

    // The plan: both components to create, the secret hidden.
    let o = sfhs(&env, &["salesforce", "plan", d, "--exit-code"]);
    assert_eq!(o.status.code(), Some(1), "changes pending: {}", text(&o));
    let t = text(&o);
    assert!(t.contains("create   WorkflowOutboundMessage"), "{t}");
    assert!(t.contains("Invoice__c.sfhs_sync"), "{t}");
    assert!(t.contains("create   Flow") && t.contains("sfhs_Invoice_c"), "{t}");
    assert!(!t.contains("e2e-secret"), "the secret is never printed: {t}");

    let o = sfhs(&env, &["salesforce", "apply", d]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("Deployed"), "{}", text(&o));
    let o = sfhs(&env, &["salesforce", "plan", d, "--exit-code", "--json"]);
    assert_eq!(o.status.code(), Some(0), "nothing left to change: {}", text(&o));
    let o = sfhs(&env, &["mappings", "validate", d]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("Invoice__c: the outbound message sends every mapped field; an empty one clears its HubSpot property."),
        "what the worker does with an absent field: {}",
        text(&o)
    );

    // A record change: the outbound message carries exactly the mapped fields.
    let sim = sf.handle();
    let id = sf.ids("Invoice__c")[0].clone();
    sim.update(
        "Invoice__c",
        &id,
        json!({"Name": "INV-E2E", "Amount__c": 42.5, "Status__c": "Sent", "Issue_Date__c": "2026-01-02"}),
    )
    .unwrap();
    let body = next_message(&got, 0).await;
    let msg = parse(body.as_bytes(), DEFAULT_MAX_BODY_BYTES).unwrap();
    let sent: BTreeSet<&str> = msg.notifications[0].fields.keys().map(String::as_str).collect();
    assert_eq!(
        sent,
        BTreeSet::from(["Amount__c", "Name", "Status__c", "SystemModstamp"]),
        "exactly the mapped fields and the version"
    );
    assert_eq!(msg.notifications[0].record_id, id);

    // The worker, with the mapping applied as `sfhs mappings apply` records it (read back).
    let client = sfhs_salesforce::Client::new(sfhs_salesforce::Config::new(
        sfhs_salesforce::LoginUrl::Custom(sf.base_url().to_owned()),
        sfhs_salesforce::Credentials::ClientCredentials {
            client_id: sfhs_salesforce_sim::DEFAULT_CLIENT_ID.into(),
            client_secret: sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET.into(),
        },
    ))
    .unwrap();
    let deployed = client.outbound_messages(Some("Invoice__c")).await.unwrap();
    assert!(deployed[0].endpoint_url.ends_with("?secret=e2e-secret"));
    let store = Arc::new(MemoryMappingStore::new());
    let mut stored = next_version(
        None,
        parse_yaml("invoice.yaml", MAPPING).unwrap(),
        time::OffsetDateTime::now_utc() - time::Duration::hours(1),
    );
    stored.outbound_fields = Some(deployed[0].fields.clone());
    store.put(&stored, None).await.unwrap();
    let hubspot =
        sfhs_hubspot::HubSpotClient::new(sfhs_tests::portal::client_config(&hs.base_url()))
            .unwrap();
    let engine = sfhs_tests::portal::engine(
        store.clone(),
        Arc::new(MemoryLedger::new()),
        Arc::new(hubspot),
        Arc::new(MemoryErrorStore::new()),
        "e2e",
        Duration::from_secs(60),
    );
    let r = engine.process(work_items(&body)).await;
    assert_eq!(r.report.upserted, 1, "{r:?}");
    let rec = &records_by_salesforce_id(&hs, "p12345678_invoice")[&id];
    assert_eq!(rec["properties"]["name"], "INV-E2E");
    assert_eq!(rec["properties"]["amount"], "42.5");

    // A field added to the mapping but not to the deployed message: validation names it...
    write(
        dir.path(),
        &format!("{MAPPING}  - {{salesforce: Issue_Date__c, hubspot: issue_date}}\n"),
    );
    let o = sfhs(&env, &["mappings", "validate", d]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("fields[3].salesforce"), "{t}");
    assert!(t.contains("does not send Issue_Date__c"), "{t}");
    assert!(t.contains("never updated by a change in Salesforce, nor cleared"), "{t}");
    assert!(
        t.contains("warning: Invoice__c: an empty Name, Amount__c, Status__c, SystemModstamp clears HubSpot (the outbound message sends it); Issue_Date__c are kept"),
        "{t}"
    );
    assert!(t.contains("Invoice__c.sfhs_sync"), "{t}");
    assert!(t.contains("sfhs salesforce apply"), "{t}");

    // ...and the worker, applied with it, leaves issue_date as HubSpot holds it.
    let with_date = parse_yaml(
        "invoice.yaml",
        &std::fs::read_to_string(dir.path().join("invoice.yaml")).unwrap(),
    )
    .unwrap();
    let current = store.get("Invoice__c").await.unwrap().unwrap();
    let next = next_version(Some(&current), with_date, time::OffsetDateTime::now_utc());
    assert_eq!(next.outbound_fields, current.outbound_fields, "kept across versions");
    store.put(&next, Some(current.version)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await; // the engine's mapping cache
    let hs_id = rec["id"].as_str().unwrap().to_owned();
    // Set in HubSpot meanwhile (by hand, or an earlier import).
    let resp = reqwest::Client::new()
        .patch(format!("{}/crm/v3/objects/p12345678_invoice/{hs_id}", hs.base_url()))
        .bearer_auth(sfhs_hubspot_sim::DEFAULT_TOKEN)
        .json(&json!({"properties": {"issue_date": "2025-12-31"}}))
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
    sim.update("Invoice__c", &id, json!({"Name": "INV-E2E-2"})).unwrap();
    let body = next_message(&got, 1).await;
    assert!(!body.contains("Issue_Date__c"), "the deployed message does not send it");
    let r = engine.process(work_items(&body)).await;
    assert_eq!((r.report.upserted, r.report.fields_not_sent), (1, 1), "{r:?}");
    let rec = &records_by_salesforce_id(&hs, "p12345678_invoice")[&id];
    assert_eq!(rec["properties"]["name"], "INV-E2E-2");
    assert_eq!(
        rec["properties"]["issue_date"], "2025-12-31",
        "not cleared: Salesforce did not say it is empty"
    );
}

/// A child process killed when the test ends, passed or not.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// `sfhs dev` against an org it did not set up: the outbound message and flow were deployed by
/// `sfhs salesforce apply` from the CLI (no `--table`), so nothing recorded what the message
/// sends in dev's store. Dev reads it from the org, and a field emptied in Salesforce empties
/// HubSpot; a field the message does not send is kept.
#[tokio::test(flavor = "multi_thread")]
async fn dev_reads_what_the_message_sends_from_an_org_it_did_not_set_up() {
    // An org of its own id: dev accepts its messages without `--org-id` (it reads the id from
    // the org's token response).
    let (hs, sf) = simulators_of("00D5e000000XyZaEAK").await;
    // Dev's address, known before it starts: the message is deployed to post there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let env = Env {
        hubspot: hs.base_url(),
        salesforce: sf.base_url().to_owned(),
        webhook: format!("http://127.0.0.1:{port}/outbound"),
    };
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), MAPPING);
    let d = dir.path().to_str().unwrap();
    let o = sfhs(&env, &["mappings", "schema-generate", "Invoice__c", "--create"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = sfhs(&env, &["salesforce", "apply", d]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let data = tempfile::tempdir().unwrap();
    let mut dev = Killed(
        sfhs_bin()
            .args(["dev", "--addr", &format!("127.0.0.1:{port}"), "--mappings", d])
            .args(["--secret", "e2e-secret", "--data-dir"])
            .arg(data.path())
            .args(["--sweep-seconds", "1", "--sent-fields-seconds", "1"])
            .envs(sfhs_tests::sims::hubspot_env(&env.hubspot))
            .envs(sfhs_tests::sims::salesforce_env(&env.salesforce))
            .env("SFHS_WEBHOOK_URL", &env.webhook)
            .env_remove("SFHS_MAPPINGS_TABLE")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let log: Arc<Mutex<String>> = Arc::default();
    {
        let (log, stderr) = (log.clone(), dev.0.stderr.take().unwrap());
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                log.lock().unwrap().push_str(&(line + "\n"));
            }
        });
    }
    let status = |id: &str| {
        records_by_salesforce_id(&hs, "p12345678_invoice")
            .get(id)
            .map(|r| r["properties"]["status"].clone())
    };
    let wait = async |what: &str, ok: &dyn Fn() -> bool| {
        for _ in 0..300 {
            if ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{what}: not within 30 s\n{}", log.lock().unwrap());
    };
    wait("dev reads the message", &|| {
        log.lock().unwrap().contains("Invoice__c: the outbound message sends")
    })
    .await;

    let id = sf.ids("Invoice__c")[0].clone();
    let sim = sf.handle();
    sim.update("Invoice__c", &id, json!({"Status__c": "Sent"})).unwrap();
    wait("the invoice in HubSpot, Sent", &|| status(&id) == Some(json!("Sent"))).await;
    sim.update("Invoice__c", &id, json!({"Status__c": null})).unwrap();
    wait("Status__c emptied in HubSpot", &|| {
        status(&id).is_some_and(|s| s.is_null() || s == json!(""))
    })
    .await;
    drop(dev);
    let log = log.lock().unwrap();
    assert!(!log.contains("not known to be sent"), "every mapped field is known to be sent: {log}");
}
