//! The worker handler's growing retry delays against SQS on moto: the visibility of a handed-back
//! message is set through the queue URL derived from the event's ARN.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use sfhs_aws::visibility::{Delay, RetryDelays};
use sfhs_core::drive::Backoff;
use sfhs_core::sync::memory::{MemoryErrorStore, MemoryHubSpot, MemoryLedger};
use sfhs_tests::aws::{create_queue, sqs};
use sfhs_tests::moto::{moto, unique};
use sfhs_tests::portal::{engine, mappings, memory_store};
use sfhs_worker::{Deps, handler};

fn body(id: &str) -> String {
    json!({
        "v": 1, "op": "upsert", "org_id": "00Dxx0000001gPF", "sobject": "Invoice__c",
        "record_id": id, "fields": {"Name": "x", "SystemModstamp": "2026-11-28T10:00:00.000Z"},
        "source": {"type": "outbound_message", "notification_id": format!("04l{id}")},
        "received_at": "2026-11-28T10:00:01.000Z"
    })
    .to_string()
}

#[tokio::test]
async fn handed_back_messages_get_growing_visibility_timeouts() {
    let client = sqs(&moto().endpoint);
    let name = unique("live");
    let url = create_queue(&client, &name).await;
    let arn = format!("arn:aws:sqs:us-east-1:123456789012:{name}");
    client.send_message().queue_url(&url).message_body(body("a1")).send().await.unwrap();
    let got = client
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(1)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .unwrap();
    let m = got.messages()[0].clone();
    let event: SqsEvent = serde_json::from_value(json!({"Records": [{
        "messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(),
        "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
        "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1"
    }]}))
    .unwrap();

    // The ledger is unavailable: the message goes back, with a delay.
    let hub = Arc::new(MemoryHubSpot::new());
    let ledger = Arc::new(MemoryLedger::new());
    ledger.fail_next_calls(1);
    let mut invoice = mappings().remove(0);
    invoice.associations.clear();
    let delays = RetryDelays::new(
        client.clone(),
        Backoff { base: Duration::from_secs(30), ..Backoff::DEPLOYED },
    );
    let deps = Deps {
        engine: engine(
            memory_store(vec![invoice]).await,
            ledger,
            hub.clone(),
            Arc::new(MemoryErrorStore::new()),
            "w1",
            Duration::from_secs(60),
        ),
        delays: Some(delays.clone()),
    };
    let out = handler(&deps, LambdaEvent::new(event, Context::default())).await.unwrap();
    assert_eq!(
        out.batch_item_failures.len(),
        1,
        "the object is unknown to HubSpot: retried? {out:?}"
    );

    // The same call the handler made, observed: moto accepts the URL derived from the ARN.
    let set = delays
        .apply(&[Delay {
            queue_arn: arn.clone(),
            receipt_handle: m.receipt_handle().unwrap().to_owned(),
            receive_count: 3,
            waiting: false,
        }])
        .await;
    assert_eq!(set, 1);
    // A bad receipt handle or ARN is logged, never fatal.
    let set = delays
        .apply(&[
            Delay {
                queue_arn: arn,
                receipt_handle: "nope".into(),
                receive_count: 1,
                waiting: false,
            },
            Delay {
                queue_arn: "arn:aws:sns:x".into(),
                receipt_handle: "nope".into(),
                receive_count: 1,
                waiting: false,
            },
        ])
        .await;
    assert_eq!(set, 0);
}
