//! `sfhs errors` end to end: error records in DynamoDB on moto's server, replayed onto SQS.

use std::process::{Command, Output};

use sfhs_aws::dynamo::create_table;
use sfhs_aws::ledger::DynamoErrorStore;
use sfhs_core::sync::{ErrorCategory, ErrorRecord, ErrorStore};
use sfhs_core::work_item::{Op, Source, WORK_ITEM_VERSION, WorkItem};
use sfhs_tests::aws::{child_env, create_queue, drain, dynamodb, sqs};
use sfhs_tests::moto::{moto, unique};
use time::OffsetDateTime;

fn record(id: &str, record_id: &str, work_item: String, at: OffsetDateTime) -> ErrorRecord {
    ErrorRecord {
        id: id.into(),
        category: ErrorCategory::Picklist,
        object: "Invoice__c".into(),
        record_id: record_id.into(),
        field: Some("Status__c".into()),
        value: Some("Void".into()),
        message: "\"Void\" is not an option of status".into(),
        attempts: 1,
        work_item,
        at,
    }
}

fn item(record_id: &str) -> String {
    WorkItem {
        v: WORK_ITEM_VERSION,
        op: Op::Upsert,
        org_id: "00Dxx0000001gPFEAY".into(),
        sobject: "Invoice__c".into(),
        record_id: record_id.into(),
        fields: [("Status__c".to_owned(), Some("Void".to_owned()))].into_iter().collect(),
        source: Source::OutboundMessage {
            notification_id: "04lxx000000CaSiAAK".into(),
            action_id: None,
        },
        received_at: OffsetDateTime::now_utc(),
    }
    .to_json()
}

fn sfhs(table: &str, queue: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfhs"))
        .args(args)
        .envs(child_env(&moto().endpoint))
        .env("SFHS_ERRORS_TABLE", table)
        .env("SFHS_LIVE_QUEUE_URL", queue)
        .output()
        .expect("run sfhs")
}

#[tokio::test]
async fn list_show_and_replay_error_records() {
    let ddb = dynamodb(&moto().endpoint);
    let table = unique("errors");
    create_table(&ddb, &table).await.unwrap();
    let queue_client = sqs(&moto().endpoint);
    let queue = create_queue(&queue_client, &unique("live")).await;
    let store = DynamoErrorStore::new(ddb, &table);
    let now = OffsetDateTime::now_utc();
    store
        .put(&record(
            "invoice__c#a01xx00000000001AA",
            "a01xx00000000001AA",
            item("a01xx00000000001AA"),
            now,
        ))
        .await
        .unwrap();
    store
        .put(&record(
            "invoice__c#a01xx00000000002AA",
            "a01xx00000000002AA",
            item("a01xx00000000002AA"),
            now - time::Duration::minutes(5),
        ))
        .await
        .unwrap();
    store
        .put(&record("undecodable#m-1", "", "not json".into(), now - time::Duration::minutes(9)))
        .await
        .unwrap();

    let o = sfhs(&table, &queue, &["errors", "list", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = v.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["invoice__c#a01xx00000000001AA", "invoice__c#a01xx00000000002AA", "undecodable#m-1"],
        "newest first"
    );

    let o = sfhs(&table, &queue, &["errors", "show", "invoice__c#a01xx00000000002AA"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("\"field\": \"Status__c\"") && text.contains("\"value\": \"Void\""),
        "{text}"
    );

    // Replay everything: the two readable items go to the queue, the undecodable one stays.
    let o = sfhs(&table, &queue, &["errors", "replay", "--all"]);
    assert_eq!(o.status.code(), Some(1), "one record could not be replayed");
    assert!(String::from_utf8_lossy(&o.stdout).contains("2 replayed, 1 kept"));
    let bodies = drain(&queue_client, &queue).await;
    let mut records: Vec<String> =
        bodies.iter().map(|b| WorkItem::from_json(b).unwrap().record_id).collect();
    records.sort();
    assert_eq!(records, ["a01xx00000000001AA", "a01xx00000000002AA"]);
    let left = store.list().await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, "undecodable#m-1");

    let o = sfhs(&table, &queue, &["errors", "show", "invoice__c#a01xx00000000001AA"]);
    assert_eq!(o.status.code(), Some(2), "a replayed record is gone");
}
