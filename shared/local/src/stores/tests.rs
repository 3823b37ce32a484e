#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sfhs_core::import::{
    ImportMethod, ImportProgress, ImportRecord, ImportStatus, ImportStore, ImportStoreError,
};
use sfhs_core::mapping::parse_yaml;
use sfhs_core::mapping::store::{MappingStore, StoreError, next_version};
use sfhs_core::sync::{
    Claim, ClaimRequest, Commit, ErrorCategory, ErrorRecord, ErrorStore, Ledger, ParentKey,
    RecordKey, Release, Version, Waker,
};
use time::OffsetDateTime;

use crate::{LocalQueue, LocalStore};

fn open(dir: &tempfile::TempDir) -> LocalStore {
    LocalStore::open(&dir.path().join("sfhs.redb")).unwrap()
}

#[tokio::test]
async fn queue_follows_sqs_delivery_rules_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let q = LocalQueue::new(&store, "live");
    let other = LocalQueue::new(&store, "import");
    q.push(&["a".into(), "b".into(), "c".into()]).unwrap();
    other.push(&["x".into()]).unwrap();

    let first = q.receive(2, Duration::from_secs(60)).unwrap();
    assert_eq!(first.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert!(first.iter().all(|m| m.receive_count == 1));
    // Taken messages are invisible; the other queue is separate.
    let rest = q.receive(10, Duration::from_secs(60)).unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].body, "c");
    assert_eq!(q.depth().unwrap(), (0, 3));
    assert_eq!(q.ready(10).unwrap(), 0);
    q.ack(&[first[0].message_id.clone()]).unwrap();
    // A retry with no delay is visible again, its count goes on.
    q.retry(&first[1].message_id, Duration::ZERO).unwrap();
    let again = q.receive(10, Duration::from_millis(1)).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].body.as_str(), again[0].receive_count), ("b", 2));

    // The process stops with "b" and "c" in flight: after a restart nothing is lost, and each
    // comes back once its visibility timeout has passed.
    drop((q, other, store));
    let store = open(&dir);
    let q = LocalQueue::new(&store, "live");
    tokio::time::sleep(Duration::from_millis(5)).await;
    let back = q.receive(10, Duration::from_secs(60)).unwrap();
    assert_eq!(
        back.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["b"],
        "c is still invisible (60 s), b's 1 ms have passed"
    );
    assert_eq!(back[0].receive_count, 3);
    assert_eq!(q.depth().unwrap(), (0, 2));
    assert_eq!(LocalQueue::new(&store, "import").depth().unwrap(), (1, 0));
    assert_eq!(LocalQueue::new(&store, "import").ready(10).unwrap(), 1);
}

/// The state a batch's claims meet: a record synced at version 10, one leased by another
/// worker, one new.
/// A commit of a record written to HubSpot as `hubspot_id`.
fn written(version: Version, hubspot_id: &str, digest: Option<&str>) -> Commit {
    Commit {
        version,
        hubspot_id: Some(hubspot_id.into()),
        parents: Default::default(),
        deleted: false,
        waiting: false,
        digest: digest.map(Into::into),
        unchanged: false,
        wake: None,
    }
}

fn key(id: &str) -> RecordKey {
    RecordKey::new("Inv", id)
}

async fn batch_world(store: &LocalStore) {
    let (synced, leased) = (key("synced"), key("leased"));
    let claim = |key, owner| ClaimRequest::new(key, Version(10), owner, 1_000, 60_000);
    store.claim(&claim(&synced, "w0")).await.unwrap();
    let synced = written(Version(10), "42", None);
    assert!(store.commit(&key("synced"), "w0", &synced).await.unwrap());
    store.claim(&claim(&leased, "w2")).await.unwrap();
}

#[tokio::test]
async fn a_batch_of_claims_and_commits_in_one_transaction_answers_as_one_by_one() {
    let (one_dir, all_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (one, all) = (open(&one_dir), open(&all_dir));
    batch_world(&one).await;
    batch_world(&all).await;
    let (synced, leased, new) = (key("synced"), key("leased"), key("new"));
    let requests = [
        ClaimRequest::new(&synced, Version(10), "w1", 2_000, 60_000),
        ClaimRequest::new(&leased, Version(11), "w1", 2_000, 60_000),
        ClaimRequest::new(&new, Version(3), "w1", 2_000, 60_000),
        // The same record twice in one batch: the second meets the first's lease, its own.
        ClaimRequest::new(&new, Version(4), "w1", 2_000, 60_000),
        ClaimRequest::new(&synced, Version(11), "w1", 2_000, 60_000),
    ];
    let mut by_one = Vec::new();
    for r in &requests {
        by_one.push(one.claim(r).await.unwrap());
    }
    let by_all: Vec<Claim> =
        all.claim_all(&requests, 8).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(by_all, by_one);
    assert!(matches!(by_all[0], Claim::Stale { stored: Version(10), .. }));
    assert!(matches!(by_all[1], Claim::Leased { ref owner, .. } if owner == "w2"));
    assert!(matches!(by_all[2..], [Claim::Claimed(_), Claim::Claimed(_), Claim::Claimed(_)]));

    let commit = |version| written(version, &format!("h{version}"), None);
    let (c4, c11) = (commit(Version(4)), commit(Version(11)));
    let commits = [
        (&new, &c4),
        (&synced, &c11),
        // Not this worker's lease: nothing written.
        (&leased, &c11),
    ];
    let answers: Vec<bool> =
        all.commit_all("w1", &commits, 8).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(answers, [true, true, false]);
    let got = all.get_many(&[new, synced, leased]).await.unwrap();
    assert_eq!(got["inv#new"].version, Some(Version(4)));
    assert_eq!(got["inv#synced"].hubspot_id.as_deref(), Some("h11"));
    assert!(got["inv#new"].lease_owner.is_none() && got["inv#synced"].lease_owner.is_none());
    assert_eq!(got["inv#leased"].lease_owner.as_deref(), Some("w2"));
    assert_eq!(got["inv#leased"].version, None, "the other worker's record untouched");
    assert!(all.claim_all(&[], 8).await.is_empty());
}

#[tokio::test]
async fn ledger_claims_commits_and_keeps_its_state_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let key = &RecordKey::new("Invoice__c", "a1");
    assert_eq!(
        store.claim(&ClaimRequest::new(key, Version(10), "w1", 1_000, 5_000)).await.unwrap(),
        Claim::Claimed(Default::default())
    );
    assert!(matches!(
        store.claim(&ClaimRequest::new(key, Version(11), "w2", 1_001, 5_000)).await.unwrap(),
        Claim::Leased { .. }
    ));
    let commit = written(Version(10), "42", Some("d1"));
    assert!(!store.commit(key, "w2", &commit).await.unwrap());
    assert!(store.commit(key, "w1", &commit).await.unwrap());
    drop(store);

    let store = open(&dir);
    let got = store.get_many(&[key.clone(), RecordKey::new("x", "1")]).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[key].hubspot_id.as_deref(), Some("42"));
    assert_eq!(got[key].digest.as_deref(), Some("d1"), "survives a restart");
    assert!(got[key].lease_owner.is_none());
    assert!(matches!(
        store.claim(&ClaimRequest::new(key, Version(10), "w2", 2_000, 5_000)).await.unwrap(),
        Claim::Stale { stored: Version(10), .. }
    ));
    assert!(matches!(
        store
            .claim(&ClaimRequest::new(key, Version(10), "w2", 2_000, 5_000).replayed(true))
            .await
            .unwrap(),
        Claim::Claimed(_)
    ));
    store.release(key, Release::new("w2", Some("43"))).await.unwrap();
    let e = &store.get_many(std::slice::from_ref(key)).await.unwrap()[key];
    assert!(e.lease_owner.is_none());
    assert_eq!((e.version, e.hubspot_id.as_deref()), (Some(Version(10)), Some("43")));

    // Parents remembered for every worker, until they expire; not ledger entries.
    let company = ParentKey::new("companies", "salesforceaccountid", "001A");
    let old = ParentKey::new("companies", "salesforceaccountid", "001B");
    store.put_parents(&[(company.clone(), "77".into())], Duration::from_secs(60)).await.unwrap();
    store.put_parents(&[(old.clone(), "78".into())], Duration::ZERO).await.unwrap();
    let got = store.get_parents(&[company.clone(), old]).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[&company], "77");
    assert_eq!(store.ledger_entries().unwrap().len(), 1);
}

#[tokio::test]
async fn waiting_children_are_noted_taken_once_and_their_messages_woken() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let day = Duration::from_secs(86_400);
    let (a1, a2) = (RecordKey::new("Invoice__c", "a1"), RecordKey::new("Invoice__c", "a2"));
    let line = |id| RecordKey::new("Invoice_Line__c", id);
    store
        .add_waiters(
            &[(a1.clone(), line("l1")), (a1.clone(), line("l2")), (a2.clone(), line("l3"))],
            day,
        )
        .await
        .unwrap();
    store.add_waiters(&[(a1.clone(), line("l1"))], day).await.unwrap();
    drop(store);
    // Kept across a restart; taken once.
    let store = open(&dir);
    let mut taken = store.take_waiters(std::slice::from_ref(&a1)).await.unwrap();
    taken.sort();
    assert_eq!(taken, [line("l1"), line("l2")]);
    assert!(store.take_waiters(&[a1]).await.unwrap().is_empty());
    assert_eq!(store.take_waiters(&[a2]).await.unwrap().len(), 1);

    // Waking: a message handed back for a minute is deliverable at once; an acked one is skipped.
    let q = LocalQueue::new(&store, "live");
    q.push(&["child".into(), "done".into()]).unwrap();
    let got = q.receive(10, Duration::from_secs(60)).unwrap();
    let handles: Vec<String> = got.iter().filter_map(|m| m.wake.clone()).collect();
    assert_eq!(handles.len(), 2, "every local message can be woken");
    q.retry(&got[0].message_id, Duration::from_secs(60)).unwrap();
    q.ack(&[got[1].message_id.clone()]).unwrap();
    assert!(q.receive(10, Duration::from_secs(60)).unwrap().is_empty());
    assert_eq!(store.wake(&handles).await, 1);
    let again = q.receive(10, Duration::from_secs(60)).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].body.as_str(), again[0].receive_count), ("child", 2));
}

#[tokio::test]
async fn a_restart_lets_go_of_what_the_stopped_process_held() {
    let dir = tempfile::tempdir().unwrap();
    {
        let world = crate::LocalWorld::open(dir.path()).unwrap();
        let key = &RecordKey::new("Invoice__c", "a1");
        let far = 1_000_000_000_000_000;
        world
            .store
            .claim(&ClaimRequest::new(key, Version(10), "dev-1", far, 60_000))
            .await
            .unwrap();
        world.live.push(&["taken".into(), "put off".into()]).unwrap();
        world.import.push(&["visible".into()]).unwrap();
        let got = world.live.receive(10, Duration::from_secs(600)).unwrap();
        world.live.retry(&got[1].message_id, Duration::from_secs(900)).unwrap();
    }
    let world = crate::LocalWorld::open(dir.path()).unwrap();
    assert_eq!(world.recover().unwrap(), (1, 2));
    assert_eq!(world.live.depth().unwrap(), (2, 0));
    // The record is free for this process's owner.
    assert!(matches!(
        world
            .store
            .claim(&ClaimRequest::new(
                &RecordKey::new("Invoice__c", "a1"),
                Version(10),
                "dev-2",
                1_000,
                60_000
            ))
            .await
            .unwrap(),
        Claim::Claimed(_)
    ));
    assert_eq!(world.recover().unwrap(), (1, 0), "only dev-2's own lease now");
}

#[tokio::test]
async fn errors_imports_and_mappings_keep_their_conditions() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let now = OffsetDateTime::now_utc();

    let err = ErrorRecord {
        id: "invoice__c#a1".into(),
        category: ErrorCategory::Picklist,
        object: "Invoice__c".into(),
        record_id: "a1".into(),
        field: Some("Status__c -> status".into()),
        value: Some("Weird".into()),
        message: "not an option".into(),
        attempts: 1,
        work_item: "{}".into(),
        at: now,
    };
    ErrorStore::put(&store, &err).await.unwrap();
    assert_eq!(ErrorStore::list(&store).await.unwrap(), vec![err.clone()]);
    ErrorStore::delete(&store, &err.id).await.unwrap();
    assert!(ErrorStore::get(&store, &err.id).await.unwrap().is_none());

    let record = ImportRecord::new("20261128-1".into(), "Invoice__c".into(), None, 10, 50_000, now);
    assert_eq!(record.method, ImportMethod::Rest);
    ImportStore::put(&store, &record, None).await.unwrap();
    assert!(matches!(
        ImportStore::put(&store, &record, None).await,
        Err(ImportStoreError::Conflict { .. })
    ));
    store
        .record_progress(&record.id, ImportProgress { synced: 3, failed: 1, unchanged: 2 })
        .await
        .unwrap();
    // The runner's next write keeps the worker's counters.
    let mut next = record.clone();
    next.revision += 1;
    next.status = ImportStatus::Running;
    ImportStore::put(&store, &next, Some(record.revision)).await.unwrap();
    let got = ImportStore::get(&store, &record.id).await.unwrap().unwrap();
    assert_eq!(
        (got.synced, got.failed, got.unchanged, got.status),
        (3, 1, 2, ImportStatus::Running)
    );
    assert!(matches!(
        store.record_progress("nope", ImportProgress { synced: 1, failed: 0, unchanged: 0 }).await,
        Err(ImportStoreError::NotFound { .. })
    ));

    let mapping = parse_yaml(
        "m.yaml",
        "salesforce_object: X__c\nhubspot_object: p1_x\nid_property: sfid\nstate: enabled\nfields:\n  - {salesforce: Name, hubspot: name}\n",
    )
    .unwrap();
    let v1 = next_version(None, mapping.clone(), now);
    MappingStore::put(&store, &v1, None).await.unwrap();
    assert!(matches!(
        MappingStore::put(&store, &v1, None).await,
        Err(StoreError::Conflict { found: Some(1), .. })
    ));
    let v2 = next_version(Some(&v1), mapping, now);
    MappingStore::put(&store, &v2, Some(1)).await.unwrap();
    drop(store);
    let store = open(&dir);
    assert_eq!(MappingStore::get(&store, "x__c").await.unwrap(), Some(v2));
    assert!(MappingStore::delete(&store, "X__c", 1).await.is_err());
    MappingStore::delete(&store, "X__c", 2).await.unwrap();
    assert!(MappingStore::list(&store).await.unwrap().is_empty());
}

#[test]
fn a_second_process_on_the_same_file_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(&dir);
    let second = LocalStore::open(&dir.path().join("sfhs.redb"));
    let e = second.unwrap_err().to_string();
    assert!(e.contains("another `sfhs dev` may hold it"), "{e}");
}
