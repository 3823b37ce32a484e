//! The sync engine's adapters for real: the HubSpot writer (the production client against the
//! simulator over HTTP) and the DynamoDB ledger and errors table (moto's server over HTTP).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use sfhs_aws::dynamo::create_table;
use sfhs_aws::ledger::{DynamoErrorStore, DynamoLedger};
use sfhs_core::sync::{
    AssociationKind, Between, ByProperty, Claim, ClaimRequest, Commit, ErrorCategory, ErrorRecord,
    ErrorStore, HubSpotWriter, Ledger, ParentKey, ParentLink, RecordKey, Release, UpsertRecord,
    Version, WriteErrorKind, Writes,
};
use sfhs_hubspot_sim::{Fault, FaultKind};
use sfhs_tests::aws::dynamodb;
use sfhs_tests::moto::{moto, unique};
use sfhs_tests::portal::{INVOICE, LINE, seed_companies, setup_portal, start_hubspot};
use time::OffsetDateTime;

/// Records of `object` written by the portal's unique `salesforce_id` property.
fn by_salesforce_id(object: &str, records: Vec<UpsertRecord>) -> Writes<'_, UpsertRecord> {
    Writes { by: ByProperty::new(object, "salesforce_id"), records }
}

fn rec(id: &str, props: &[(&str, &str)]) -> UpsertRecord {
    UpsertRecord {
        id: id.into(),
        properties: props.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    }
}

#[tokio::test]
async fn hubspot_writer_on_the_simulator() {
    let (sim, client) = start_hubspot(10_000).await;
    setup_portal(&sim.base_url(), &client).await;
    let w: &dyn HubSpotWriter = &client;

    let schema = w.describe(INVOICE).await.unwrap().unwrap();
    assert!(schema.property("salesforce_id").unwrap().has_unique_value);
    assert!(w.describe("p12345678_nothing").await.unwrap().is_none());
    assert!(w.describe("companies").await.unwrap().is_some());

    // Per-record outcomes: created, and one value HubSpot refuses (isolated from the others).
    let out = w
        .upsert(by_salesforce_id(
            INVOICE,
            vec![
                rec("a1", &[("invoice_number", "INV-1"), ("amount", "10")]),
                rec("a2", &[("amount", "ten")]),
                rec("a3", &[("status", "lost")]),
                rec("a4", &[("invoice_number", "INV-4")]),
            ],
        ))
        .await
        .unwrap();
    let a1 = out["a1"].clone().unwrap();
    assert!(a1.created);
    assert!(out["a4"].as_ref().unwrap().created);
    let f2 = out["a2"].clone().unwrap_err();
    assert_eq!(
        (f2.category, f2.property.as_deref(), f2.value.as_deref(), f2.retryable),
        (ErrorCategory::Validation, Some("amount"), Some("ten"), false),
        "{f2:?}"
    );
    let f3 = out["a3"].clone().unwrap_err();
    assert_eq!(f3.category, ErrorCategory::Picklist, "{f3:?}");
    let again =
        w.upsert(by_salesforce_id(INVOICE, vec![rec("a1", &[("amount", "11")])])).await.unwrap();
    let again = again["a1"].clone().unwrap();
    assert_eq!((again.hubspot_id.as_str(), again.created), (a1.hubspot_id.as_str(), false));

    // Parents by property (companies synced by HubSpot's own integration).
    let companies = seed_companies(&sim, &["001A".into(), "001B".into()]).await;
    let found = w
        .find_by_property(
            ByProperty::new("companies", "salesforceaccountid"),
            &["001A".into(), "001B".into(), "001Z".into()],
        )
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found["001A"], companies[0].1);

    // Associations: labelled and default; archive.
    let line = w
        .upsert(by_salesforce_id(LINE, vec![rec("l1", &[("line_name", "L")])]))
        .await
        .unwrap()["l1"]
        .clone()
        .unwrap();
    let failed = w
        .associate(
            AssociationKind::new(LINE, INVOICE, Some("Invoice line")),
            &[(line.hubspot_id.clone(), a1.hubspot_id.clone())],
        )
        .await
        .unwrap();
    assert!(failed.is_empty(), "{failed:?}");
    let read = client
        .read_associations(LINE, INVOICE, std::slice::from_ref(&line.hubspot_id))
        .await
        .unwrap();
    assert_eq!(read[&line.hubspot_id], vec![a1.hubspot_id.clone()]);
    let no_label = w
        .associate(
            AssociationKind::new(LINE, INVOICE, Some("No such label")),
            &[(line.hubspot_id.clone(), a1.hubspot_id.clone())],
        )
        .await
        .unwrap_err();
    assert_eq!(no_label.kind, WriteErrorKind::Permanent { category: ErrorCategory::Association });
    let pair = (a1.hubspot_id.clone(), companies[0].1.clone());
    assert!(
        w.associate(AssociationKind::new(INVOICE, "companies", None), std::slice::from_ref(&pair),)
            .await
            .unwrap()
            .is_empty()
    );
    w.unassociate(
        Between { from: LINE, to: INVOICE },
        &[(line.hubspot_id.clone(), a1.hubspot_id.clone())],
    )
    .await
    .unwrap();
    let read = client
        .read_associations(LINE, INVOICE, std::slice::from_ref(&line.hubspot_id))
        .await
        .unwrap();
    assert!(read.get(&line.hubspot_id).is_none_or(Vec::is_empty));

    // Archive by the id property; unknown ids are fine.
    w.archive(ByProperty::new(INVOICE, "salesforce_id"), &["a4".into(), "zzz".into()])
        .await
        .unwrap();
    let live = sfhs_tests::portal::records_by_salesforce_id(&sim, INVOICE);
    assert!(live.contains_key("a1") && !live.contains_key("a4"));

    // Whole-call failures: retryable after the client's retries; the daily limit.
    sim.inject(Fault::new(FaultKind::ServiceUnavailable).times(50));
    let e = w.upsert(by_salesforce_id(INVOICE, vec![rec("a9", &[])])).await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    sim.clear_faults();
    sim.exhaust_daily();
    let e = w.upsert(by_salesforce_id(INVOICE, vec![rec("a9", &[])])).await.unwrap_err();
    assert!(matches!(e.kind, WriteErrorKind::DailyLimit { .. }), "{e}");
    let stats = w.stats();
    println!("HubSpot writer stats: {stats:?}");
    assert!(stats.calls > 10);
    sim.shutdown().await;
}

#[tokio::test]
async fn dynamodb_ledger_claims_commits_and_tells_stale_from_leased() {
    let client = dynamodb(&moto().endpoint);
    let table = unique("records");
    create_table(&client, &table).await.unwrap();
    let ledger = DynamoLedger::new(client.clone(), &table);
    let now = 1_000_000;
    let key = &RecordKey::new("Invoice__c", "a1");

    assert_eq!(
        ledger.claim(&ClaimRequest::new(key, Version(10), "w1", now, 5_000)).await.unwrap(),
        Claim::Claimed(Default::default())
    );
    // Another worker: the lease is held (whatever the version).
    match ledger.claim(&ClaimRequest::new(key, Version(11), "w2", now + 1, 5_000)).await.unwrap() {
        Claim::Leased { owner, until } => assert_eq!((owner.as_str(), until), ("w1", now + 5_000)),
        other => panic!("{other:?}"),
    }
    // The owner may claim again (a redelivery in its own batch).
    assert!(matches!(
        ledger.claim(&ClaimRequest::new(key, Version(10), "w1", now + 2, 5_000)).await.unwrap(),
        Claim::Claimed(_)
    ));
    // Commit by someone else: refused; by the owner: done, lease released.
    let parents = BTreeMap::from([(
        "Invoice__c".to_owned(),
        ParentLink { salesforce_id: "a0P".into(), hubspot_id: Some("77".into()) },
    )]);
    let commit = Commit {
        version: Version(10),
        hubspot_id: Some("42".into()),
        parents: parents.clone(),
        deleted: false,
        waiting: false,
        digest: Some("0123456789abcdef0123456789abcdef".into()),
        unchanged: false,
        wake: None,
    };
    assert!(!ledger.commit(key, "w2", &commit).await.unwrap());
    assert!(ledger.commit(key, "w1", &commit).await.unwrap());
    let got = ledger.get_many(&[key.clone(), RecordKey::new("nope", "1")]).await.unwrap();
    assert_eq!(got.len(), 1);
    let e = &got[key];
    assert_eq!((e.version, e.hubspot_id.as_deref()), (Some(Version(10)), Some("42")));
    assert_eq!(e.parents, parents);
    assert_eq!(e.digest, commit.digest, "the content digest round-trips");
    assert!(e.lease_owner.is_none());

    // Older or equal versions are stale, for anyone.
    for v in [Version(9), Version(10)] {
        assert_eq!(
            ledger.claim(&ClaimRequest::new(key, v, "w2", now + 3, 5_000)).await.unwrap(),
            Claim::Stale { stored: Version(10), deleted: false }
        );
    }
    // A reconcile's replay of the applied version is claimed (HubSpot lost the record); an
    // older one is still stale.
    assert_eq!(
        ledger
            .claim(&ClaimRequest::new(key, Version(9), "w2", now + 3, 5_000).replayed(true))
            .await
            .unwrap(),
        Claim::Stale { stored: Version(10), deleted: false }
    );
    match ledger
        .claim(&ClaimRequest::new(key, Version(10), "w2", now + 3, 5_000).replayed(true))
        .await
        .unwrap()
    {
        Claim::Claimed(prior) => {
            assert_eq!(prior.version, Some(Version(10)));
            assert_eq!(prior.digest, commit.digest, "the claim answers the digest");
        }
        other => panic!("{other:?}"),
    }
    ledger.release(key, Release::new("w2", None)).await.unwrap();
    assert_eq!(
        ledger.get_many(&[key.to_owned()]).await.unwrap()[key].digest,
        commit.digest,
        "a release without a write keeps the digest"
    );
    // A newer version is claimed, and the claim answers the prior state.
    match ledger.claim(&ClaimRequest::new(key, Version(12), "w2", now + 4, 5_000)).await.unwrap() {
        Claim::Claimed(prior) => assert_eq!(prior.hubspot_id.as_deref(), Some("42")),
        other => panic!("{other:?}"),
    }
    // Expired lease: taken over.
    assert!(matches!(
        ledger
            .claim(&ClaimRequest::new(key, Version(12), "w3", now + 10_000, 5_000))
            .await
            .unwrap(),
        Claim::Claimed(_)
    ));
    ledger.release(key, Release::new("w2", Some("99"))).await.unwrap(); // not the owner any more: no-op
    // Waiting: the same version may be claimed again; a tombstone is stale for older upserts.
    let waiting = Commit { version: Version(12), waiting: true, ..commit.clone() };
    assert!(ledger.commit(key, "w3", &waiting).await.unwrap());
    assert!(matches!(
        ledger
            .claim(&ClaimRequest::new(key, Version(12), "w1", now + 10_001, 5_000))
            .await
            .unwrap(),
        Claim::Claimed(_)
    ));
    // A release after a write (its association still to come) forgets the digest: HubSpot may
    // hold other content now.
    ledger.release(key, Release::new("w1", Some("43"))).await.unwrap();
    let e = &ledger.get_many(std::slice::from_ref(key)).await.unwrap()[key];
    assert_eq!((e.hubspot_id.as_deref(), e.digest.as_deref()), (Some("43"), None));
    assert!(matches!(
        ledger
            .claim(&ClaimRequest::new(key, Version(12), "w1", now + 10_001, 5_000))
            .await
            .unwrap(),
        Claim::Claimed(_)
    ));
    let tomb = Commit {
        version: Version(13),
        hubspot_id: None,
        parents: BTreeMap::new(),
        deleted: true,
        waiting: false,
        digest: None,
        unchanged: false,
        wake: None,
    };
    assert!(ledger.commit(key, "w1", &tomb).await.unwrap());
    assert_eq!(
        ledger
            .claim(&ClaimRequest::new(key, Version(12), "w2", now + 10_002, 5_000))
            .await
            .unwrap(),
        Claim::Stale { stored: Version(13), deleted: true }
    );
    let e = &ledger.get_many(std::slice::from_ref(key)).await.unwrap()[key];
    assert!(e.deleted && e.hubspot_id.is_none());
    // Written but not committed (an association to retry): the release keeps the HubSpot id,
    // not a version.
    assert!(matches!(
        ledger
            .claim(&ClaimRequest::new(key, Version(14), "w2", now + 10_003, 5_000))
            .await
            .unwrap(),
        Claim::Claimed(_)
    ));
    ledger.release(key, Release::new("w2", Some("55"))).await.unwrap();
    let e = &ledger.get_many(std::slice::from_ref(key)).await.unwrap()[key];
    assert_eq!((e.version, e.hubspot_id.as_deref()), (Some(Version(13)), Some("55")));
    assert!(e.lease_owner.is_none());

    // Many keys at once (more than one BatchGetItem).
    for i in 0..130 {
        let k = RecordKey::new("Invoice__c", &format!("b{i}"));
        ledger.claim(&ClaimRequest::new(&k, Version(1), "w1", now, 5_000)).await.unwrap();
        ledger
            .commit(
                &k,
                "w1",
                &Commit {
                    version: Version(1),
                    hubspot_id: Some(i.to_string()),
                    parents: BTreeMap::new(),
                    deleted: false,
                    waiting: false,
                    digest: None,
                    unchanged: false,
                    wake: None,
                },
            )
            .await
            .unwrap();
    }
    let keys: Vec<RecordKey> =
        (0..130).map(|i| RecordKey::new("Invoice__c", &format!("b{i}"))).collect();
    assert_eq!(ledger.get_many(&keys).await.unwrap().len(), 130);

    // Parents found by a property, remembered for every worker (more than one BatchWriteItem
    // of 25); an expired one is no answer; none of them is a record in the summary.
    let found: Vec<(ParentKey, String)> = (0..60)
        .map(|i| {
            (
                ParentKey::new("companies", "salesforceaccountid", &format!("001P{i}")),
                format!("{}", 9000 + i),
            )
        })
        .collect();
    ledger.put_parents(&found, Duration::from_secs(3600)).await.unwrap();
    let stale = ParentKey::new("companies", "salesforceaccountid", "001OLD");
    ledger.put_parents(&[(stale.clone(), "1".into())], Duration::ZERO).await.unwrap();
    let mut asked: Vec<ParentKey> = found.iter().map(|(k, _)| k.clone()).collect();
    asked.push(stale);
    asked.push(ParentKey::new("companies", "salesforceaccountid", "001NEVER"));
    let got = ledger.get_parents(&asked).await.unwrap();
    assert_eq!(got.len(), 60);
    assert_eq!(got[&found[7].0], "9007");
    let summary = ledger.summary().await.unwrap();
    assert!(summary.iter().all(|o| !o.object.starts_with('~')), "{summary:?}");
}

#[tokio::test]
async fn dynamodb_ledger_notes_waiting_children_and_their_wake_handles() {
    let client = dynamodb(&moto().endpoint);
    let table = unique("records");
    create_table(&client, &table).await.unwrap();
    let ledger = DynamoLedger::new(client.clone(), &table);
    let day = Duration::from_secs(86_400);
    // A waiting child keeps its wake handle; the next commit that does not wait forgets it.
    let key = &RecordKey::new("Invoice_Line__c", "l1");
    let waiting = Commit {
        version: Version(10),
        hubspot_id: Some("42".into()),
        parents: BTreeMap::new(),
        deleted: false,
        waiting: true,
        digest: None,
        unchanged: false,
        wake: Some("arn:aws:sqs:us-east-1:123456789012:live AQEB+x/y==".into()),
    };
    ledger.claim(&ClaimRequest::new(key, Version(10), "w1", 1_000, 5_000)).await.unwrap();
    assert!(ledger.commit(key, "w1", &waiting).await.unwrap());
    let got = ledger.get_many(std::slice::from_ref(key)).await.unwrap();
    assert_eq!(got[key].wake, waiting.wake);
    assert!(got[key].waiting);
    ledger.claim(&ClaimRequest::new(key, Version(10), "w1", 2_000, 5_000)).await.unwrap();
    let done = Commit { waiting: false, wake: None, ..waiting };
    assert!(ledger.commit(key, "w1", &done).await.unwrap());
    assert_eq!(ledger.get_many(std::slice::from_ref(key)).await.unwrap()[key].wake, None);

    // A tombstone gives way to an undelete (revive) whatever its version, to nothing else.
    let gone = &RecordKey::new("Invoice__c", "gone");
    ledger.claim(&ClaimRequest::new(gone, Version(10), "w1", 3_000, 5_000)).await.unwrap();
    let tombstone = Commit {
        version: Version(10),
        hubspot_id: Some("43".into()),
        parents: BTreeMap::new(),
        deleted: true,
        waiting: false,
        digest: None,
        unchanged: false,
        wake: None,
    };
    assert!(ledger.commit(gone, "w1", &tombstone).await.unwrap());
    assert_eq!(
        ledger
            .claim(&ClaimRequest::new(gone, Version(5), "w2", 4_000, 5_000).replayed(true))
            .await
            .unwrap(),
        Claim::Stale { stored: Version(10), deleted: true }
    );
    assert!(matches!(
        ledger
            .claim(&ClaimRequest::new(gone, Version(5), "w2", 4_000, 5_000).reviving(true))
            .await
            .unwrap(),
        Claim::Claimed(prior) if prior.deleted
    ));

    // Children of 120 parents, noted by several workers, taken once per parent.
    let parent = |i: usize| RecordKey::new("Invoice__c", &format!("a{i:03}"));
    let child = |i: usize, c: usize| RecordKey::new("Invoice_Line__c", &format!("l{i:03}-{c}"));
    let mut waits: Vec<(RecordKey, RecordKey)> =
        (0..120).flat_map(|i| (0..3).map(move |c| (parent(i), child(i, c)))).collect();
    let (first, second) = waits.split_at(200);
    ledger.add_waiters(first, day).await.unwrap();
    ledger.add_waiters(second, day).await.unwrap();
    ledger.add_waiters(&waits[..5], day).await.unwrap();
    let parents: Vec<RecordKey> =
        (0..120).map(parent).chain([RecordKey::new("Invoice__c", "none")]).collect();
    let mut taken = ledger.take_waiters(&parents).await.unwrap();
    taken.sort();
    waits.sort_by(|a, b| a.1.cmp(&b.1));
    let expected: Vec<RecordKey> = waits.into_iter().map(|(_, c)| c).collect();
    assert_eq!(taken, expected);
    assert!(ledger.take_waiters(&parents).await.unwrap().is_empty(), "taken once");
    let summary = ledger.summary().await.unwrap();
    assert!(
        summary.iter().all(|o| !o.object.starts_with('~')),
        "noted children are not records: {summary:?}"
    );
}

#[tokio::test]
async fn dynamodb_errors_table_keeps_what_replay_needs() {
    let client = dynamodb(&moto().endpoint);
    let table = unique("errors");
    create_table(&client, &table).await.unwrap();
    let store = DynamoErrorStore::new(client, &table);
    let record = ErrorRecord {
        id: "invoice__c#a1".into(),
        category: ErrorCategory::Picklist,
        object: "Invoice__c".into(),
        record_id: "a1".into(),
        field: Some("Status__c -> status".into()),
        value: Some("Lost".into()),
        message: "not an option".into(),
        attempts: 2,
        work_item: r#"{"v":1}"#.into(),
        at: OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
    };
    store.put(&record).await.unwrap();
    assert_eq!(store.get("invoice__c#a1").await.unwrap(), Some(record));
    assert_eq!(store.get("invoice__c#zz").await.unwrap(), None);
}
