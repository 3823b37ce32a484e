//! The DynamoDB imports/state store on moto's server: conditional transitions (one runner per
//! import), the worker's atomic counters, the sweep state.

use std::sync::Arc;

use sfhs_aws::dynamo::create_table;
use sfhs_aws::imports::DynamoImportStore;
use sfhs_core::import::model::new_import_id;
use sfhs_core::import::ports::{ImportProgress, ImportStore, ImportStoreError};
use sfhs_core::import::{Checkpoint, ImportRecord, ImportStatus, SweepGap, SweepState};
use sfhs_tests::aws::dynamodb;
use sfhs_tests::moto::{moto, unique};
use time::OffsetDateTime;
use time::macros::datetime;

async fn store() -> DynamoImportStore {
    let client = dynamodb(&moto().endpoint);
    let table = unique("imports");
    create_table(&client, &table).await.expect("create table");
    DynamoImportStore::new(client, table)
}

fn record(id: &str) -> ImportRecord {
    ImportRecord::new(
        id.into(),
        "Invoice__c".into(),
        Some("Amount__c > 0".into()),
        2500,
        50_000,
        datetime!(2026-11-28 10:00 UTC),
    )
}

#[tokio::test]
async fn conditional_transitions_keep_one_runner() {
    let store = store().await;
    let r = record("imp-20261128T100000-00000001");
    store.put(&r, None).await.unwrap();
    assert!(matches!(store.put(&r, None).await, Err(ImportStoreError::Conflict { .. })));
    let got = store.get(&r.id).await.unwrap().expect("stored");
    assert_eq!(got, r);

    // Two invocations claim the same revision: exactly one wins.
    let now = OffsetDateTime::now_utc();
    let a = got.claim("a", now, now + time::Duration::minutes(15)).unwrap();
    let b = got.claim("b", now, now + time::Duration::minutes(15)).unwrap();
    let (ra, rb) =
        tokio::join!(store.put(&a, Some(got.revision)), store.put(&b, Some(got.revision)));
    assert_eq!([ra.is_ok(), rb.is_ok()].iter().filter(|ok| **ok).count(), 1, "{ra:?} {rb:?}");
    let held = store.get(&r.id).await.unwrap().unwrap();
    assert_eq!(held.status, ImportStatus::Running);

    // Checkpoints advance; a cancel in between makes the runner's next write fail.
    let next = held
        .advanced(
            Checkpoint::Rest {
                ordered: true,
                last_id: Some("a015g0000000ABCAAA".into()),
                next_records_url: Some("/services/data/v62.0/query/01g-400".into()),
                cursor_used: Some(now),
            },
            400,
        )
        .with_lease(now, now + time::Duration::minutes(1));
    store.put(&next, Some(held.revision)).await.unwrap();
    // The key and the lease's renewal round-trip through DynamoDB.
    let stored = store.get(&r.id).await.unwrap().unwrap();
    assert_eq!(stored.checkpoint, next.checkpoint);
    assert_eq!(stored.checkpoint.key(), Some(Some("a015g0000000ABCAAA")));
    assert_eq!(stored.lease_renewed, Some(now));
    let cancelled = next.cancelled(now).unwrap();
    store.put(&cancelled, Some(next.revision)).await.unwrap();
    let late = next.advanced(Checkpoint::Done, 400);
    assert!(matches!(
        store.put(&late, Some(next.revision)).await,
        Err(ImportStoreError::Conflict { .. })
    ));
    let last = store.get(&r.id).await.unwrap().unwrap();
    assert_eq!(last.status, ImportStatus::Cancelled);
    assert_eq!(last.enqueued, 400);
}

#[tokio::test]
async fn worker_counters_are_atomic_and_survive_import_writes() {
    let store = Arc::new(store().await);
    let r = record(&new_import_id(OffsetDateTime::now_utc(), 7));
    store.put(&r, None).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20u64 {
        let store = store.clone();
        let id = r.id.clone();
        tasks.push(tokio::spawn(async move {
            store
                .record_progress(&id, ImportProgress { synced: 10, failed: i % 2, unchanged: 1 })
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    // An import write after the counters moved leaves them alone.
    let now = OffsetDateTime::now_utc();
    let claimed = r.claim("a", now, now).unwrap();
    store.put(&claimed, Some(r.revision)).await.unwrap();
    let got = store.get(&r.id).await.unwrap().unwrap();
    assert_eq!((got.synced, got.failed, got.unchanged), (200, 10, 20));
    assert!(matches!(
        store
            .record_progress("imp-missing", ImportProgress { synced: 1, failed: 0, unchanged: 0 })
            .await,
        Err(ImportStoreError::NotFound { .. })
    ));

    let other = record("imp-00000000T000000-00000000");
    store.put(&other, None).await.unwrap();
    let ids: Vec<String> = store.list().await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![r.id.clone(), other.id.clone()], "newest first");
}

#[tokio::test]
async fn sweep_state_is_versioned() {
    let store = store().await;
    assert!(store.get_sweep("Invoice__c").await.unwrap().is_none());
    let s1 = SweepState {
        object: "Invoice__c".into(),
        checkpoint: datetime!(2026-11-28 10:05 UTC),
        gap: Some(SweepGap {
            from: datetime!(2026-11-01 00:00 UTC),
            to: datetime!(2026-11-13 10:05 UTC),
            detected_at: datetime!(2026-11-28 10:05 UTC),
        }),
        last_sweep: datetime!(2026-11-28 10:05 UTC),
        deletes_enqueued: 3,
        caught_up_to: None,
        last_catch_up: None,
        caught_up: 0,
        last_caught_up: None,
        recent_deletes: vec![sfhs_core::import::model::RecentDelete {
            id: "a01000000000001AAA".into(),
            at: datetime!(2026-11-28 10:01 UTC),
        }],
        drift: Vec::new(),
        drift_checked: None,
        drift_since: None,
        revision: 1,
    };
    store.put_sweep(&s1, None).await.unwrap();
    assert!(matches!(store.put_sweep(&s1, None).await, Err(ImportStoreError::Conflict { .. })));
    let mut s2 = s1.clone();
    s2.revision = 2;
    s2.checkpoint = datetime!(2026-11-28 10:10 UTC);
    // The catch-up's state rides along (issue 33).
    s2.caught_up_to = Some(datetime!(2026-11-28 10:08 UTC));
    s2.last_catch_up = Some(datetime!(2026-11-28 10:10 UTC));
    s2.caught_up = 1_000;
    s2.last_caught_up = Some(datetime!(2026-11-28 10:10 UTC));
    // And the drift check's (issue 34).
    s2.drift = vec![sfhs_core::salesforce_setup::Drift {
        object: "Invoice__c".into(),
        component: "flow sfhs_Invoice_c".into(),
        problem: "is not active: no change of Invoice__c is sent".into(),
        fix: "run `sfhs salesforce apply`".into(),
    }];
    s2.drift_checked = Some(datetime!(2026-11-28 10:10 UTC));
    s2.drift_since = Some(datetime!(2026-11-28 09:10 UTC));
    store.put_sweep(&s2, Some(1)).await.unwrap();
    assert!(store.put_sweep(&s2, Some(1)).await.is_err());
    assert_eq!(store.get_sweep("INVOICE__C").await.unwrap(), Some(s2));
    // Sweep items are not imports.
    assert!(store.list().await.unwrap().is_empty());
}
