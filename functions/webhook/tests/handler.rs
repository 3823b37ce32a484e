//! The handler with the in-memory queue: encoding, statuses and the ack rule, without AWS.

use std::sync::Arc;

use base64::Engine as _;
use lambda_http::Body;
use sfhs_core::outbound::{ACK_XML, DEFAULT_MAX_BODY_BYTES};
use sfhs_core::queue::{MemoryQueue, PublishPolicy, Publisher};
use sfhs_core::webhook::WebhookPolicy;
use sfhs_webhook::{Deps, handler};

const FIXTURE: &[u8] =
    include_bytes!("../../../tests/fixtures/salesforce/om_contact_batch3_update_ampersand.xml");

fn request(body: &[u8], base64: bool) -> lambda_http::Request {
    let (body, encoded) = if base64 {
        (base64::engine::general_purpose::STANDARD.encode(body), true)
    } else {
        (String::from_utf8_lossy(body).into_owned(), false)
    };
    let event = serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
        "headers": {"content-type": "text/xml"},
        "requestContext": {"accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
            "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "1.1.1.1", "userAgent": "x"},
            "requestId": "r", "routeKey": "$default", "stage": "$default", "time": "t", "timeEpoch": 0},
        "body": body, "isBase64Encoded": encoded
    });
    lambda_http::request::from_str(&event.to_string()).expect("a valid event")
}

fn deps(queue: &Arc<MemoryQueue>, max_body: usize) -> Deps {
    Deps {
        policy: WebhookPolicy::new(["00Dxx0000001gPF"], None, "secret", max_body),
        publisher: Publisher::new(
            queue.clone(),
            PublishPolicy {
                first_backoff: std::time::Duration::from_millis(1),
                ..PublishPolicy::default()
            },
        ),
    }
}

fn text(body: &Body) -> String {
    match body {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

#[tokio::test]
async fn plain_and_base64_bodies_are_both_read() {
    for base64 in [false, true] {
        let queue = Arc::new(MemoryQueue::new());
        let r =
            handler(&deps(&queue, DEFAULT_MAX_BODY_BYTES), request(FIXTURE, base64)).await.unwrap();
        assert_eq!(r.status(), 200, "base64={base64}: {}", text(r.body()));
        assert_eq!(text(r.body()), ACK_XML);
        assert_eq!(queue.messages().len(), 3);
    }
}

#[tokio::test]
async fn entries_the_queue_fails_are_sent_again_before_the_ack() {
    let queue = Arc::new(MemoryQueue::new());
    queue.fail_next_entries(2);
    let r = handler(&deps(&queue, DEFAULT_MAX_BODY_BYTES), request(FIXTURE, true)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(queue.messages().len(), 3);
    assert_eq!(queue.calls(), 2);
}

#[tokio::test]
async fn entries_the_queue_refuses_mean_no_ack() {
    let queue = Arc::new(MemoryQueue::new());
    queue.reject_next_entries(1);
    let r = handler(&deps(&queue, DEFAULT_MAX_BODY_BYTES), request(FIXTURE, true)).await.unwrap();
    assert_eq!(r.status(), 500);
    assert!(!text(r.body()).contains("Ack"));
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413() {
    let queue = Arc::new(MemoryQueue::new());
    let r = handler(&deps(&queue, 1024), request(FIXTURE, true)).await.unwrap();
    assert_eq!(r.status(), 413);
    assert!(text(r.body()).contains("over the limit of 1024 bytes"));
    assert_eq!(queue.calls(), 0);
}
