//! Writes on the in-memory ports: versions, duplicates, drops, failures, leases, deletes,
//! imports, the daily limit.

use super::*;

#[tokio::test]
async fn writes_converted_values_and_drops_stale_versions() {
    let w = world().await;
    let r = w.engine.process(msgs(&[inv("a1", 5, "v5")])).await;
    assert!(r.retry.is_empty(), "{r:?}");
    assert_eq!((r.report.upserted, r.report.created), (1, 1));
    let rec = w.hub.find(INVOICE, "salesforce_id", "a1").unwrap();
    assert_eq!(rec.properties["amount"], "1.5", "converted as a number");
    let e = w.ledger.entry("invoice__c#a1").unwrap();
    assert_eq!(e.hubspot_id.as_deref(), Some(rec.hubspot_id.as_str()));
    assert!(e.lease_owner.is_none(), "lease released by the commit");

    // An older version and the same version again: stale, acked, nothing written.
    let calls = w.hub.calls();
    let r = w.engine.process(msgs(&[inv("a1", 3, "v3")])).await;
    assert!(r.retry.is_empty());
    assert_eq!(r.report.dropped_stale, 1);
    let r = w.engine.process(msgs(&[inv("a1", 5, "v5")])).await;
    assert_eq!(r.report.dropped_stale, 1);
    assert_eq!(w.hub.calls(), calls, "no HubSpot call for stale versions");
    assert_eq!(name_of(&w, "a1").as_deref(), Some("v5"));

    // A newer one wins.
    let r = w.engine.process(msgs(&[inv("a1", 9, "v9")])).await;
    assert_eq!((r.report.upserted, r.report.created), (1, 0));
    assert_eq!(name_of(&w, "a1").as_deref(), Some("v9"));
    assert_eq!(w.hub.records(INVOICE).len(), 1, "one HubSpot record per Salesforce record");
}

#[tokio::test]
async fn collapses_duplicates_to_the_newest_version() {
    let w = world().await;
    let batch = [
        inv("a1", 4, "v4"),
        inv("a1", 7, "v7"),
        inv("a2", 1, "x"),
        inv("a1", 7, "v7"),
        inv("a1", 2, "v2"),
    ];
    let r = w.engine.process(msgs(&batch)).await;
    assert!(r.retry.is_empty());
    assert_eq!(r.report.duplicates, 3);
    assert_eq!(r.report.upserted, 2);
    assert_eq!(w.hub.calls(), 1, "one upsert call for the batch");
    assert_eq!(name_of(&w, "a1").as_deref(), Some("v7"));
    println!("{}", r.report.to_emf().to_line(OffsetDateTime::now_utc()));
}

#[tokio::test]
async fn drops_unknown_paused_and_pre_enable_items() {
    let mut paused = line_mapping();
    paused.state = State::Paused;
    let w =
        world_with(vec![invoice_mapping(), paused], Some(datetime!(2026-11-28 10:00:10 UTC))).await;
    let batch = [
        item("Unknown__c", "u1", 20, &[]),
        item("Invoice_Line__c", "l1", 20, &[("Name", Some("L"))]),
        inv("a1", 5, "before enable"),
        inv("a2", 15, "after enable"),
    ];
    let r = w.engine.process(msgs(&batch)).await;
    assert!(r.retry.is_empty());
    assert_eq!(r.report.dropped_unmapped, 1);
    assert_eq!(r.report.dropped_paused, 1);
    assert_eq!(r.report.dropped_before_enable, 1);
    assert_eq!(r.report.upserted, 1);
    assert!(name_of(&w, "a1").is_none());
    // Imports are older than enabling by nature: they are synced.
    let mut imported = inv("a1", 5, "imported");
    imported.source = Source::Import { import_id: "i1".into(), force: false };
    let r = w.engine.process(msgs(&[imported])).await;
    assert_eq!(r.report.upserted, 1);
    drop(w.store);
}

#[tokio::test]
async fn retryable_failures_go_back_and_release_the_lease() {
    let w = world().await;
    w.hub.fail_next_calls(1);
    let r = w.engine.process(msgs(&[inv("a1", 5, "v5"), inv("a2", 5, "x")])).await;
    assert_eq!(r.retry.len(), 2, "{r:?}");
    assert_eq!(r.report.failed, 0);
    assert!(w.errors.records().is_empty());
    let e = w.ledger.entry("invoice__c#a1").unwrap();
    assert!(e.lease_owner.is_none() && e.version.is_none());
    // The retry (by any worker) succeeds.
    let other = engine_for(&w.store, &w.ledger, &w.hub, &w.errors, "w2");
    let r = other.process(msgs(&[inv("a1", 5, "v5"), inv("a2", 5, "x")])).await;
    assert!(r.retry.is_empty());
    assert_eq!(r.report.upserted, 2);

    // The ledger unavailable: back to the queue too.
    w.ledger.fail_next_calls(1);
    let r = w.engine.process(msgs(&[inv("a3", 5, "v5")])).await;
    assert_eq!(r.retry, vec!["m0".to_string()]);
}

#[tokio::test]
async fn a_lease_held_elsewhere_sends_the_item_back() {
    let w = world().await;
    w.ledger.insert(
        &RecordKey::new("Invoice__c", "a1"),
        LedgerEntry {
            lease_owner: Some("w9".into()),
            lease_until: Some(millis(OffsetDateTime::now_utc()) + 60_000),
            ..LedgerEntry::default()
        },
    );
    let r = w.engine.process(msgs(&[inv("a1", 5, "v5")])).await;
    assert_eq!(r.retry.len(), 1);
    assert_eq!(r.report.leased, 1);
    assert_eq!(w.hub.calls(), 0);
    // An expired lease is taken over.
    w.ledger.insert(
        &RecordKey::new("Invoice__c", "a1"),
        LedgerEntry {
            lease_owner: Some("w9".into()),
            lease_until: Some(millis(OffsetDateTime::now_utc()) - 1),
            ..LedgerEntry::default()
        },
    );
    let r = w.engine.process(msgs(&[inv("a1", 5, "v5")])).await;
    assert!(r.retry.is_empty());
    assert_eq!(r.report.upserted, 1);
}

#[tokio::test]
async fn permanent_failures_become_error_records_and_are_acked() {
    let w = world().await;
    w.hub.refuse_value("poison");
    let batch = [
        inv("a1", 5, "poison"),
        item("Invoice__c", "a2", 5, &[("Status__c", Some("Lost"))]),
        item("Invoice__c", "a3", 5, &[("Amount__c", Some("12,5"))]),
        inv("a4", 5, "fine"),
    ];
    let r = w.engine.process(msgs(&batch)).await;
    assert!(r.retry.is_empty(), "{r:?}");
    assert_eq!(r.report.failed, 3);
    assert_eq!(r.report.upserted, 1);
    let e1 = w.errors.get("invoice__c#a1").unwrap();
    assert_eq!(e1.category, ErrorCategory::Validation);
    assert_eq!(e1.field.as_deref(), Some("Name -> invoice_number"));
    assert_eq!(e1.value.as_deref(), Some("poison"));
    assert_eq!(WorkItem::from_json(&e1.work_item).unwrap().record_id, "a1");
    let e2 = w.errors.get("invoice__c#a2").unwrap();
    assert_eq!(e2.category, ErrorCategory::Picklist);
    assert_eq!(e2.value.as_deref(), Some("Lost"));
    assert!(e2.message.contains("value_map"), "{}", e2.message);
    let e3 = w.errors.get("invoice__c#a3").unwrap();
    assert_eq!((e3.category, e3.field.as_deref()), (ErrorCategory::Validation, Some("Amount__c")));
    // Failed records were not committed: a corrected newer version goes through.
    assert!(w.ledger.entry("invoice__c#a1").unwrap().version.is_none());
    let r = w.engine.process(msgs(&[inv("a1", 6, "fixed")])).await;
    assert_eq!(r.report.upserted, 1);
}

#[tokio::test]
async fn undecodable_messages_are_recorded_unknown_versions_retried() {
    let w = world().await;
    let mut m = msgs(&[inv("a1", 5, "v5")]);
    m.push(InMessage {
        message_id: "bad".into(),
        body: "{not json".into(),
        receive_count: 3,
        wake: None,
    });
    m.push(InMessage {
        message_id: "future".into(),
        body: inv("a9", 5, "x").to_json().replacen(r#""v":1"#, r#""v":9"#, 1),
        receive_count: 1,
        wake: None,
    });
    let r = w.engine.process(m).await;
    assert_eq!(r.retry, vec!["future".to_string()]);
    assert_eq!(r.report.undecodable, 1);
    let e = w.errors.get("undecodable#bad").unwrap();
    assert_eq!((e.work_item.as_str(), e.attempts), ("{not json", 3));
}

#[tokio::test]
async fn deletes_archive_and_leave_a_tombstone() {
    let w = world().await;
    w.engine.process(msgs(&[inv("a1", 5, "v5")])).await;
    let r = w.engine.process(msgs(&[delete("Invoice__c", "a1", 8)])).await;
    assert!(r.retry.is_empty());
    assert_eq!((r.report.archived, r.report.tombstoned), (1, 1));
    assert!(w.hub.find(INVOICE, "salesforce_id", "a1").is_none(), "archived");
    let e = w.ledger.entry("invoice__c#a1").unwrap();
    assert!(e.deleted);
    // An older update arriving late cannot bring it back.
    let r = w.engine.process(msgs(&[inv("a1", 7, "late")])).await;
    assert_eq!(r.report.dropped_stale, 1);
    assert!(w.hub.find(INVOICE, "salesforce_id", "a1").is_none());
    // A delete and an older update in one batch: the delete wins.
    let r = w.engine.process(msgs(&[inv("a2", 3, "x"), delete("Invoice__c", "a2", 4)])).await;
    assert_eq!(r.report.upserted, 0);
    assert!(w.ledger.entry("invoice__c#a2").unwrap().deleted);
    // An undelete (newer version) syncs again.
    let r = w.engine.process(msgs(&[inv("a1", 20, "undeleted")])).await;
    assert_eq!(r.report.created, 1);
    assert_eq!(name_of(&w, "a1").as_deref(), Some("undeleted"));
    // on_delete: keep leaves HubSpot alone but still tombstones.
    let mut keep = invoice_mapping();
    keep.on_delete = OnDelete::Keep;
    let w = world_with(vec![keep], None).await;
    w.engine.process(msgs(&[inv("k1", 5, "v5")])).await;
    let r = w.engine.process(msgs(&[delete("Invoice__c", "k1", 8)])).await;
    assert_eq!((r.report.archived, r.report.tombstoned), (0, 1));
    assert!(w.hub.find(INVOICE, "salesforce_id", "k1").is_some());
}

#[tokio::test]
async fn the_daily_limit_stops_writes_and_says_so() {
    let w = world().await;
    w.hub.set_daily_limit(true);
    let r = w.engine.process(msgs(&[inv("a1", 1, "x"), inv("a2", 1, "y")])).await;
    assert_eq!(r.retry.len(), 2);
    assert!(r.report.daily_limit);
    assert_eq!(r.report.failed, 0);
    let line = r.report.to_emf().to_line(OffsetDateTime::now_utc());
    assert!(line.contains(r#""DailyLimitStop":1.0"#), "{line}");
    // The next batch does not even call HubSpot until the reset.
    let calls = w.hub.calls();
    let r = w.engine.process(msgs(&[inv("a3", 1, "z")])).await;
    assert_eq!(r.retry.len(), 1);
    assert_eq!(w.hub.calls(), calls);
    assert!(w.ledger.entry("invoice__c#a3").is_none(), "not even claimed");
    // Records of the first batch were claimed before HubSpot said so: released.
    assert!(w.ledger.entry("invoice__c#a1").unwrap().lease_owner.is_none());
}

#[tokio::test]
async fn vanished_properties_and_objects_are_not_found_errors() {
    let mut m = invoice_mapping();
    m.fields.push(field("Gone__c", "gone"));
    let mut other = line_mapping();
    other.hubspot_object = "p1_nothing".into();
    other.associations.clear();
    let w = world_with(vec![m, other], None).await;
    let r = w
        .engine
        .process(msgs(&[
            item("Invoice__c", "a1", 1, &[("Gone__c", Some("x"))]),
            line("l1", 1, None),
        ]))
        .await;
    assert!(r.retry.is_empty());
    assert_eq!(r.report.failed, 2);
    let e = w.errors.get("invoice__c#a1").unwrap();
    assert_eq!(e.category, ErrorCategory::NotFound);
    assert!(e.message.contains("gone"));
    assert_eq!(w.errors.get("invoice_line__c#l1").unwrap().category, ErrorCategory::NotFound);
}

#[tokio::test]
async fn fields_left_out_of_a_message_are_cleared_or_defaulted() {
    let mut m = invoice_mapping();
    m.fields[2].default = Some("open".into());
    let w = world_with(vec![m], None).await;
    w.engine
        .process(msgs(&[item(
            "Invoice__c",
            "a1",
            1,
            &[("Name", Some("n")), ("Amount__c", Some("3")), ("Status__c", Some("paid"))],
        )]))
        .await;
    // Salesforce leaves null fields out of outbound messages.
    w.engine.process(msgs(&[item("Invoice__c", "a1", 2, &[("Name", Some("n"))])])).await;
    let rec = w.hub.find(INVOICE, "salesforce_id", "a1").unwrap();
    assert_eq!(rec.properties["amount"], "", "cleared");
    assert_eq!(rec.properties["status"], "open", "the field's default");
}

/// A ledger whose leases are taken away between the claim and the commit.
#[derive(Debug, Default)]
struct StealingLedger(MemoryLedger);

#[async_trait::async_trait]
impl Ledger for StealingLedger {
    async fn claim(
        &self,
        claim: &crate::sync::ClaimRequest<'_>,
    ) -> Result<Claim, crate::sync::LedgerError> {
        self.0.claim(claim).await
    }

    async fn commit(
        &self,
        key: &RecordKey,
        owner: &str,
        commit: &Commit,
    ) -> Result<bool, crate::sync::LedgerError> {
        let mut e = self.0.entry(key.as_str()).unwrap_or_default();
        e.lease_owner = Some("thief".into());
        self.0.insert(key, e);
        self.0.commit(key, owner, commit).await
    }

    async fn release(
        &self,
        key: &RecordKey,
        release: crate::sync::Release<'_>,
    ) -> Result<(), crate::sync::LedgerError> {
        self.0.release(key, release).await
    }

    async fn get_many(
        &self,
        keys: &[RecordKey],
    ) -> Result<std::collections::HashMap<RecordKey, LedgerEntry>, crate::sync::LedgerError> {
        self.0.get_many(keys).await
    }

    async fn get_parents(
        &self,
        keys: &[ParentKey],
    ) -> Result<std::collections::HashMap<ParentKey, String>, crate::sync::LedgerError> {
        self.0.get_parents(keys).await
    }

    async fn put_parents(
        &self,
        found: &[(ParentKey, String)],
        ttl: Duration,
    ) -> Result<(), crate::sync::LedgerError> {
        self.0.put_parents(found, ttl).await
    }

    async fn add_waiters(
        &self,
        waits: &[(RecordKey, RecordKey)],
        ttl: Duration,
    ) -> Result<(), crate::sync::LedgerError> {
        self.0.add_waiters(waits, ttl).await
    }

    async fn take_waiters(
        &self,
        parents: &[RecordKey],
    ) -> Result<Vec<RecordKey>, crate::sync::LedgerError> {
        self.0.take_waiters(parents).await
    }
}

#[tokio::test]
async fn a_lease_lost_before_the_commit_sends_the_item_back() {
    let w = world().await;
    let ledger = Arc::new(StealingLedger::default());
    let engine = Engine::new(
        Arc::new(CachedMappings::new(w.store.clone(), Duration::ZERO)),
        ledger.clone(),
        w.hub.clone(),
        w.errors.clone(),
        EngineConfig::new("w1"),
    );
    let r = engine.process(msgs(&[inv("a1", 1, "x")])).await;
    assert_eq!(r.retry, vec!["m0".to_string()]);
    assert_eq!((r.report.upserted, r.report.lost_leases), (1, 1));
    assert!(ledger.0.entry("invoice__c#a1").unwrap().version.is_none(), "not committed");
}

#[tokio::test]
async fn import_items_count_on_their_import() {
    use crate::import::{ImportRecord, ImportStore, MemoryImportStore};
    let w = world().await;
    let imports = Arc::new(MemoryImportStore::new());
    imports
        .put(
            &ImportRecord::new(
                "i1".into(),
                "Invoice__c".into(),
                None,
                5,
                10_000,
                OffsetDateTime::now_utc(),
            ),
            None,
        )
        .await
        .unwrap();
    let engine =
        engine_for(&w.store, &w.ledger, &w.hub, &w.errors, "w1").with_imports(imports.clone());
    w.hub.refuse_value("bad");
    w.engine.process(msgs(&[inv("a3", 9, "newer")])).await;
    let import = |mut i: WorkItem| {
        i.source = Source::Import { import_id: "i1".into(), force: false };
        i
    };
    let r = engine
        .process(msgs(&[
            import(inv("a1", 1, "ok")),
            import(inv("a2", 1, "bad")),
            import(inv("a3", 1, "stale")),
            import(line("l1", 1, Some("a404"))),
            inv("a4", 1, "live item"),
        ]))
        .await;
    assert_eq!(r.retry.len(), 1, "the waiting child");
    let rec = imports.get("i1").await.unwrap().unwrap();
    assert_eq!((rec.synced, rec.failed), (2, 1), "ok + stale synced, bad failed; waiting not yet");
}

#[tokio::test]
async fn no_write_starts_with_less_than_half_of_the_lease_left() {
    let w = world().await;
    let mut config = EngineConfig::new("w1");
    config.lease = Duration::ZERO;
    let engine = Engine::new(
        Arc::new(CachedMappings::new(w.store.clone(), Duration::ZERO)),
        w.ledger.clone(),
        w.hub.clone(),
        w.errors.clone(),
        config,
    );
    let r = engine.process(msgs(&[inv("a1", 1, "x"), delete("Invoice__c", "a2", 1)])).await;
    assert_eq!(r.retry.len(), 2);
    assert_eq!(w.hub.calls(), 0, "nothing written");
    assert!(w.ledger.entry("invoice__c#a1").unwrap().lease_owner.is_none());
}

#[tokio::test]
async fn an_undelete_replaces_the_tombstone_whatever_its_version() {
    let w = world().await;
    w.engine.process(msgs(&[inv("a1", 5, "v5")])).await;
    w.engine.process(msgs(&[delete("Invoice__c", "a1", 10)])).await;
    let tomb = w.ledger.entry("invoice__c#a1").unwrap();
    assert!(tomb.deleted);
    assert!(w.hub.find(INVOICE, "salesforce_id", "a1").is_none(), "archived");
    // Undeleted in Salesforce with the version it had before its deletion.
    let mut back = inv("a1", 5, "v5");
    back.source = Source::Undelete;
    let r = w.engine.process(msgs(&[back])).await;
    assert!(r.retry.is_empty(), "{r:?}");
    let e = w.ledger.entry("invoice__c#a1").unwrap();
    assert!(!e.deleted);
    assert_eq!(e.version, tomb.version.map(Version::after), "above the deletion");
    assert!(w.hub.find(INVOICE, "salesforce_id", "a1").is_some(), "live again");
    // The delete delivered again, and an ordinary copy of the old version, are stale.
    let r = w.engine.process(msgs(&[delete("Invoice__c", "a1", 10)])).await;
    assert_eq!(r.report.dropped_stale, 1);
    let r = w.engine.process(msgs(&[inv("a1", 5, "v5")])).await;
    assert_eq!(r.report.dropped_stale, 1);
    assert!(w.hub.find(INVOICE, "salesforce_id", "a1").is_some());
}
