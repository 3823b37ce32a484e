//! The handler on an SQS event, with the engine on in-memory ports.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::json;
use sfhs_core::mapping::schema::{HsObject, HsProperty, HsType};
use sfhs_core::mapping::store::{MappingStore, MemoryMappingStore, StoredMapping};
use sfhs_core::sync::EngineConfig;
use sfhs_core::sync::memory::{MemoryErrorStore, MemoryHubSpot, MemoryLedger};
use sfhs_worker::{Deps, handler};

const MAPPING: &str = r#"
salesforce_object: Invoice__c
hubspot_object: p1_invoice
id_property: salesforce_id
state: enabled
fields:
  - salesforce: Name
    hubspot: name
"#;

fn body(id: &str, name: &str) -> String {
    json!({
        "v": 1, "op": "upsert", "org_id": "00Dxx0000001gPF", "sobject": "Invoice__c",
        "record_id": id, "fields": {"Name": name, "SystemModstamp": "2026-11-28T10:00:00.000Z"},
        "source": {"type": "outbound_message", "notification_id": format!("04l{id}")},
        "received_at": "2026-11-28T10:00:01.000Z"
    })
    .to_string()
}

fn event(bodies: &[(&str, String)]) -> SqsEvent {
    let records: Vec<_> = bodies
        .iter()
        .map(|(id, b)| {
            json!({
                "messageId": id, "receiptHandle": "rh", "body": b,
                "attributes": {"ApproximateReceiveCount": "2"},
                "messageAttributes": {}, "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:1:live", "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

#[tokio::test]
async fn answers_batch_item_failures_for_what_must_be_retried() {
    let hub = Arc::new(MemoryHubSpot::new());
    hub.add_object(HsObject {
        object_type_id: "2-1".into(),
        fully_qualified_name: "p1_invoice".into(),
        properties: ["salesforce_id", "name"]
            .iter()
            .map(|n| HsProperty {
                name: (*n).into(),
                hs_type: HsType::String,
                field_type: "text".into(),
                options: vec![],
                has_unique_value: *n == "salesforce_id",
                read_only: false,
            })
            .collect(),
        required_properties: vec![],
        associated_objects: vec![],
    });
    let store = Arc::new(MemoryMappingStore::new());
    let mapping = sfhs_core::mapping::parse_yaml("m.yaml", MAPPING).unwrap();
    store
        .put(
            &StoredMapping {
                mapping,
                version: 1,
                updated_at: time::OffsetDateTime::now_utc(),
                enabled_at: None,
                outbound_fields: None,
            },
            None,
        )
        .await
        .unwrap();
    let errors = Arc::new(MemoryErrorStore::new());
    let deps = Deps {
        delays: None,
        engine: sfhs_core::app::engine(
            sfhs_core::app::SyncPorts {
                mappings: store,
                ledger: Arc::new(MemoryLedger::new()),
                hubspot: hub.clone(),
                errors: errors.clone(),
                imports: None,
                waker: None,
            },
            sfhs_core::app::SyncSettings {
                engine: EngineConfig::new("test"),
                mappings_cache: Duration::from_secs(30),
            },
        ),
    };

    let ok = handler(
        &deps,
        LambdaEvent::new(
            event(&[("m1", body("a1", "one")), ("m2", "{oops".into())]),
            Context::default(),
        ),
    )
    .await
    .unwrap();
    assert!(ok.batch_item_failures.is_empty());
    assert_eq!(hub.find("p1_invoice", "salesforce_id", "a1").unwrap().properties["name"], "one");
    let e = errors.get("undecodable#m2").unwrap();
    assert_eq!(e.attempts, 2, "ApproximateReceiveCount is the attempt count");

    hub.fail_next_calls(1);
    let out = handler(
        &deps,
        LambdaEvent::new(
            event(&[("m3", body("a2", "two")), ("m4", body("a3", "three"))]),
            Context::default(),
        ),
    )
    .await
    .unwrap();
    let mut ids: Vec<_> =
        out.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    ids.sort();
    assert_eq!(ids, vec!["m3", "m4"]);
    let json = serde_json::to_value(&out).unwrap();
    assert_eq!(json["batchItemFailures"][0]["itemIdentifier"].as_str().map(str::len), Some(2));
}
