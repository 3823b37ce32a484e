//! `sfhs status` end to end: mappings, ledger and errors tables on moto, a queue with messages.

use std::process::Command;

use aws_sdk_dynamodb::types::AttributeValue;
use sfhs_aws::dynamo::{DynamoMappingStore, create_table};
use sfhs_core::mapping::parse_yaml;
use sfhs_core::mapping::store::{MappingStore, next_version};
use sfhs_tests::aws::{child_env, create_queue, dynamodb, sqs};
use sfhs_tests::moto::{moto, unique};
use time::OffsetDateTime;

const INVOICE: &str = include_str!("../../../examples/mappings/invoice.yaml");

#[tokio::test]
async fn status_counts_per_object_and_queue_depths() {
    let ddb = dynamodb(&moto().endpoint);
    let (mappings, records, errors) = (unique("mappings"), unique("records"), unique("errors"));
    for t in [&mappings, &records, &errors] {
        create_table(&ddb, t).await.unwrap();
    }
    let mut keep = parse_yaml("invoice.yaml", INVOICE).unwrap();
    let store = DynamoMappingStore::new(ddb.clone(), &mappings);
    store.put(&next_version(None, keep.clone(), OffsetDateTime::now_utc()), None).await.unwrap();
    keep.salesforce_object = "Other__c".into();
    keep.on_delete = sfhs_core::mapping::OnDelete::Keep;
    // Its outbound message, read from the org, sends three of the mapped fields.
    let mut other = next_version(None, keep, OffsetDateTime::now_utc());
    other.outbound_fields =
        Some(["Id", "Name", "Amount__c", "SystemModstamp"].map(String::from).to_vec());
    store.put(&other, None).await.unwrap();

    let put = |pk: &str, extra: Vec<(&str, AttributeValue)>| {
        let mut req = ddb.put_item().table_name(&records).item("pk", AttributeValue::S(pk.into()));
        for (k, v) in extra {
            req = req.item(k, v);
        }
        req.send()
    };
    put(
        "invoice__c#a1",
        vec![
            ("hubspot_id", AttributeValue::S("11".into())),
            ("updated_at", AttributeValue::S("2026-11-28T10:00:00Z".into())),
        ],
    )
    .await
    .unwrap();
    put(
        "invoice__c#a2",
        vec![
            ("hubspot_id", AttributeValue::S("12".into())),
            ("waiting", AttributeValue::Bool(true)),
            ("updated_at", AttributeValue::S("2026-11-28T11:00:00Z".into())),
        ],
    )
    .await
    .unwrap();
    put("invoice__c#a3", vec![("deleted", AttributeValue::Bool(true))]).await.unwrap();
    ddb.put_item()
        .table_name(&errors)
        .item("pk", AttributeValue::S("invoice__c#a4".into()))
        .item("doc", AttributeValue::S(
            r#"{"id":"invoice__c#a4","category":"validation","object":"Invoice__c","record_id":"a4","field":null,"value":null,"message":"m","attempts":1,"work_item":"{}","at":"2026-11-28T12:00:00Z"}"#.into(),
        ))
        .send()
        .await
        .unwrap();
    // The catch-up found 1,000 invoice changes the push had missed (issue 33).
    let imports = unique("imports");
    create_table(&ddb, &imports).await.unwrap();
    let import_store = sfhs_aws::imports::DynamoImportStore::new(ddb.clone(), &imports);
    let found = time::macros::datetime!(2026-12-01 10:15 UTC);
    let mut state = sfhs_core::import::SweepState::new("Invoice__c", found, found);
    state.caught_up = 1_000;
    state.last_caught_up = Some(found);
    state.last_catch_up = Some(found);
    // And its flow was deactivated in Setup (issue 34).
    state.drift = vec![sfhs_core::salesforce_setup::Drift {
        object: "Invoice__c".into(),
        component: "flow sfhs_Invoice_c".into(),
        problem: "is not active: no change of Invoice__c is sent".into(),
        fix: "run `sfhs salesforce apply` (or undo the change in Setup)".into(),
    }];
    state.drift_since = Some(found);
    state.drift_checked = Some(found);
    sfhs_core::import::ImportStore::put_sweep(&import_store, &state, None).await.unwrap();
    let q = sqs(&moto().endpoint);
    let live = create_queue(&q, &unique("live")).await;
    for i in 0..2 {
        q.send_message().queue_url(&live).message_body(format!("m{i}")).send().await.unwrap();
    }

    let status = |json: bool| {
        Command::new(env!("CARGO_BIN_EXE_sfhs"))
            .args(["status", "--queue", &format!("live={live}")])
            .args(json.then_some("--json"))
            .envs(child_env(&moto().endpoint))
            .env("SFHS_MAPPINGS_TABLE", &mappings)
            .env("SFHS_RECORDS_TABLE", &records)
            .env("SFHS_ERRORS_TABLE", &errors)
            .env("SFHS_IMPORTS_TABLE", &imports)
            .output()
            .unwrap()
    };
    let o = status(true);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let invoice =
        v["objects"].as_array().unwrap().iter().find(|o| o["object"] == "Invoice__c").unwrap();
    assert_eq!(invoice["synced"], 2);
    assert_eq!(invoice["waiting"], 1);
    assert_eq!(invoice["deleted"], 1);
    assert_eq!(invoice["errors"], 1);
    assert_eq!(invoice["last_sync"], "2026-11-28T11:00:00Z");
    assert_eq!(invoice["caught_up"], 1000);
    assert_eq!(invoice["last_caught_up"], "2026-12-01T10:15:00Z");
    assert_eq!(invoice["drift"][0]["component"], "flow sfhs_Invoice_c");
    assert_eq!(invoice["drift_since"], "2026-12-01T10:15:00Z");
    let other =
        v["objects"].as_array().unwrap().iter().find(|o| o["object"] == "Other__c").unwrap();
    assert_eq!(other["deletes"], "kept in HubSpot (on_delete: keep)");
    assert_eq!(other["synced"], 0);
    assert_eq!(v["queues"][0]["waiting"], 2);

    // What the worker does with an absent field, per mapping.
    assert_eq!(invoice["absent_fields"]["known"], false);
    assert_eq!(invoice["absent_fields"]["cleared"], serde_json::json!([]));
    assert_eq!(
        other["absent_fields"]["cleared"],
        serde_json::json!(["Name", "Amount__c", "SystemModstamp"])
    );
    assert!(
        other["absent_fields"]["kept"].as_array().unwrap().iter().any(|f| f == "Notes__c"),
        "{other}"
    );
    let o = status(false);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("warning: Invoice__c: what the outbound message sends is not known yet, so no absent field is cleared"),
        "{text}"
    );
    assert!(
        text.contains("warning: Other__c: an empty Name, Amount__c, SystemModstamp clears HubSpot"),
        "{text}"
    );
    assert!(
        text.contains("Account__c are kept when a message lacks them, never cleared"),
        "{text}"
    );
    assert!(text.contains("sfhs salesforce apply"), "{text}");
    assert!(
        text.contains("Invoice__c: the catch-up found 1000 changes the push had missed, the last at 2026-12-01 10:15"),
        "{text}"
    );
    assert!(
        text.contains("warning: Invoice__c: the Salesforce set-up differs since 2026-12-01 10:15:00 UTC: flow sfhs_Invoice_c is not active: no change of Invoice__c is sent. Fix: run `sfhs salesforce apply`"),
        "{text}"
    );
}
