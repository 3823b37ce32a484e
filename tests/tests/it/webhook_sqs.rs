//! The webhook handler against SQS on moto's server, over HTTP: what is acked is on the queue,
//! exactly; what cannot be enqueued is not acked.

use std::sync::Arc;

use lambda_http::Body;
use sfhs_aws::secrets::Secrets;
use sfhs_aws::sqs::SqsQueue;
use sfhs_core::outbound::{ACK_XML, DEFAULT_MAX_BODY_BYTES};
use sfhs_core::queue::{PublishPolicy, Publisher};
use sfhs_core::webhook::{UrlSecret, WebhookPolicy};
use sfhs_core::work_item::{Op, Source, WorkItem};
use sfhs_tests::aws::{create_queue, drain, secrets, sqs};
use sfhs_tests::events::http_api_request;
use sfhs_tests::moto::{moto, unique};
use sfhs_webhook::{Deps, handler};

const CONTACTS: &[u8] =
    include_bytes!("../../fixtures/salesforce/om_contact_2notifications_aspnetcore.xml");

fn deps(queue_url: &str, orgs: &[&str], secret: Option<&str>) -> Deps {
    let client = sqs(&moto().endpoint);
    Deps {
        policy: WebhookPolicy::new(
            orgs,
            secret.map(UrlSecret::new),
            "secret",
            DEFAULT_MAX_BODY_BYTES,
        ),
        publisher: Publisher::new(
            Arc::new(SqsQueue::new(client, queue_url)),
            PublishPolicy {
                first_backoff: std::time::Duration::from_millis(5),
                ..PublishPolicy::default()
            },
        ),
    }
}

fn body_text(body: &Body) -> String {
    match body {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

fn items(bodies: &[String]) -> Vec<WorkItem> {
    let mut items: Vec<WorkItem> =
        bodies.iter().map(|b| WorkItem::from_json(b).expect("a valid work item")).collect();
    items.sort_by(|a, b| a.record_id.cmp(&b.record_id));
    items
}

#[tokio::test]
async fn acks_only_after_every_notification_is_on_the_queue() {
    let client = sqs(&moto().endpoint);
    let url = create_queue(&client, &unique("live")).await;
    let deps = deps(&url, &["012345678901234"], Some("s3cret-value"));

    let response =
        handler(&deps, http_api_request("POST", "secret=s3cret-value", CONTACTS)).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(body_text(response.body()), ACK_XML);
    assert_eq!(response.headers()["content-type"], "text/xml; charset=utf-8");

    let items = items(&drain(&client, &url).await);
    assert_eq!(items.len(), 2, "exactly one work item per notification");
    let first = &items[1];
    assert_eq!(first.record_id, "0031I0000081tbPQAQ");
    assert_eq!(first.sobject, "Contact");
    assert_eq!(first.org_id, "012345678901234");
    assert_eq!(first.op, Op::Upsert);
    assert_eq!(
        first.source,
        Source::OutboundMessage {
            notification_id: "04l1I000000fztEQAQ".into(),
            action_id: Some("04k1I000000bmsHQAQ".into()),
        }
    );
    assert_eq!(first.fields.get("LastName"), Some(&Some("Black".into())));
    assert_eq!(items[0].fields.get("Email"), Some(&Some("drb24@cornell.edu".into())));
    assert!(drain(&client, &url).await.is_empty(), "nothing else on the queue");
}

#[tokio::test]
async fn a_message_of_one_hundred_notifications_lands_whole() {
    let client = sqs(&moto().endpoint);
    let url = create_queue(&client, &unique("live")).await;
    let deps = deps(&url, &["00Dxx0000001gPFEAY"], None);
    let body = sfhs_core_message(100);

    let response = handler(&deps, http_api_request("POST", "", body.as_bytes())).await.unwrap();
    assert_eq!(response.status(), 200, "{}", body_text(response.body()));

    let items = items(&drain(&client, &url).await);
    assert_eq!(items.len(), 100);
    let mut ids: Vec<&str> = items.iter().map(|i| i.record_id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 100, "no record twice");
    assert!(items.iter().all(|i| i.fields.len() == 10));
}

#[tokio::test]
async fn refuses_wrong_orgs_and_secrets_and_enqueues_nothing() {
    let client = sqs(&moto().endpoint);
    let url = create_queue(&client, &unique("live")).await;
    let deps = deps(&url, &["00Dxx0000001gPF"], Some("s3cret"));

    let cases = [("", 401, "no 'secret' query parameter"), ("secret=wrong", 403, "does not match")];
    for (query, status, text) in cases {
        let r = handler(&deps, http_api_request("POST", query, CONTACTS)).await.unwrap();
        assert_eq!(r.status(), status, "{query}");
        assert!(body_text(r.body()).contains(text), "{}", body_text(r.body()));
    }
    let r = handler(&deps, http_api_request("POST", "secret=s3cret", CONTACTS)).await.unwrap();
    assert_eq!(r.status(), 403, "org 012345678901234 is not on the allow-list");
    assert!(body_text(r.body()).contains("012345678901234"));

    let r = handler(&deps, http_api_request("GET", "secret=s3cret", b"")).await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");

    let r = handler(&deps, http_api_request("POST", "secret=s3cret", b"<soapenv:Envelope"))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(body_text(r.body()).contains("<faultcode>soapenv:Client</faultcode>"));

    assert!(drain(&client, &url).await.is_empty());
}

#[tokio::test]
async fn an_org_is_matched_on_its_first_15_characters() {
    let client = sqs(&moto().endpoint);
    let url = create_queue(&client, &unique("live")).await;
    // The fixture's org id is 18 characters; the allow-list has the 15 shown in Setup.
    let deps = deps(&url, &["00D7F00000107Xs"], None);
    let body =
        include_bytes!("../../fixtures/salesforce/om_opportunity_compact_oneline_ejangi.xml");
    let r = handler(&deps, http_api_request("POST", "", body)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(drain(&client, &url).await.len(), 1);
}

#[tokio::test]
async fn a_queue_that_refuses_the_messages_means_no_ack() {
    let client = sqs(&moto().endpoint);
    let name = unique("tiny");
    let url = client
        .create_queue()
        .queue_name(&name)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::MaximumMessageSize, "1024")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let deps = deps(&url, &["00Dxx0000001gPF"], None);
    let body = sfhs_core_message(3).replace("value ", &"long value ".repeat(20));
    let r = handler(&deps, http_api_request("POST", "", body.as_bytes())).await.unwrap();
    assert_eq!(r.status(), 500);
    let text = body_text(r.body());
    assert!(text.contains("<faultcode>soapenv:Server</faultcode>"), "{text}");
    assert!(!text.contains("<Ack>true</Ack>"));
}

#[tokio::test]
async fn an_unreachable_or_missing_queue_means_no_ack() {
    // A queue that does not exist on the server.
    let missing = format!("{}/123456789012/{}", moto().endpoint, unique("missing"));
    let deps_missing = deps(&missing, &["012345678901234"], None);
    let r = handler(&deps_missing, http_api_request("POST", "", CONTACTS)).await.unwrap();
    assert_eq!(r.status(), 500);

    // Nothing listening at all.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead = format!("http://127.0.0.1:{port}");
    let deps_dead = Deps {
        publisher: Publisher::new(
            Arc::new(SqsQueue::new(sqs(&dead), format!("{dead}/123456789012/live"))),
            PublishPolicy {
                max_attempts: 2,
                first_backoff: std::time::Duration::from_millis(1),
                ..PublishPolicy::default()
            },
        ),
        ..deps_missing
    };
    let r = handler(&deps_dead, http_api_request("POST", "", CONTACTS)).await.unwrap();
    assert_eq!(r.status(), 500);
    assert!(body_text(r.body()).contains("not acknowledged, please retry"));
}

#[tokio::test]
async fn the_url_secret_comes_from_secrets_manager() {
    let client = secrets(&moto().endpoint);
    let name = unique("sfhs/url-secret");
    client
        .create_secret()
        .name(&name)
        .secret_string("  from-secrets-manager\n")
        .send()
        .await
        .unwrap();
    let value = Secrets::new(client.clone()).string(&name).await.unwrap();
    assert_eq!(value, "from-secrets-manager");

    let err = Secrets::new(client).string("does-not-exist").await.unwrap_err();
    assert!(err.to_string().contains("does-not-exist"), "{err}");
}

/// An outbound message of `n` notifications with 10 fields each.
fn sfhs_core_message(n: usize) -> String {
    let notifications: String = (0..n)
        .map(|i| {
            let fields: String = (0..10)
                .map(|f| format!("<sf:Field{f}__c>value {i} &amp; {f} — ü</sf:Field{f}__c>"))
                .collect();
            format!(
                r#"<Notification><Id>04lxx00000{i:05}AAK</Id><sObject xsi:type="sf:Invoice__c" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>a01xx00000{i:05}AAG</sf:Id>{fields}</sObject></Notification>"#
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00Dxx0000001gPFEAY</OrganizationId><ActionId>04kxx00000000blCAA</ActionId><SessionId xsi:nil="true"/><EnterpriseUrl>https://x/c</EnterpriseUrl><PartnerUrl>https://x/u</PartnerUrl>{notifications}</notifications></soapenv:Body></soapenv:Envelope>"#
    )
}
