//! Invariant 10 on the in-memory ports: a new version whose content HubSpot already holds (the
//! ledger's digest) is committed without a HubSpot call.

use std::sync::Arc;

use super::*;
use super::{
    INVOICE, World, delete, engine_for, hs_id, inv, invoice_mapping, item, line, line_mapping,
    msgs, name_of, world, world_with,
};
use crate::import::{ImportRecord, MemoryImportStore};
use crate::mapping::store::{MappingStore, StoredMapping};

fn unmapped_edit(id: &str, second: u32, name: &str) -> WorkItem {
    item(
        "Invoice__c",
        id,
        second,
        &[
            ("Name", Some(name)),
            ("Amount__c", Some("1.50")),
            ("Description__c", Some("a field no mapping maps")),
        ],
    )
}

fn version_of(w: &World, key: &str) -> Option<Version> {
    w.ledger.entry(key).and_then(|e| e.version)
}

#[tokio::test]
async fn an_edit_of_unmapped_fields_writes_nothing_and_advances_the_version() {
    let w = world().await;
    w.engine.process(msgs(&[inv("a1", 1, "one")])).await;
    let calls = w.hub.calls();
    let r = w.engine.process(msgs(&[unmapped_edit("a1", 2, "one")])).await;
    assert!(r.retry.is_empty());
    assert_eq!(r.report.unchanged, 1);
    assert_eq!((r.report.upserted, r.report.hubspot_calls), (0, 0));
    assert_eq!(w.hub.calls(), calls, "no HubSpot call at all");
    let v2 = version_of(&w, "invoice__c#a1");
    assert_eq!(v2, Some(record_version(&unmapped_edit("a1", 2, "one"), "SystemModstamp").0));
    // The older version is now stale, as for any committed version.
    let r = w.engine.process(msgs(&[inv("a1", 1, "one")])).await;
    assert_eq!(r.report.dropped_stale, 1);
}

#[tokio::test]
async fn an_edit_to_the_same_values_writes_nothing() {
    let w = world().await;
    w.engine.process(msgs(&[inv("a1", 1, "one")])).await;
    // "1.5" and "1.50" convert to the same HubSpot number.
    let same = item("Invoice__c", "a1", 2, &[("Name", Some("one")), ("Amount__c", Some("1.5"))]);
    let r = w.engine.process(msgs(&[same])).await;
    assert_eq!((r.report.unchanged, r.report.hubspot_calls), (1, 0));
}

#[tokio::test]
async fn a_value_that_changes_and_changes_back_is_written_twice() {
    let w = world().await;
    w.engine.process(msgs(&[inv("a1", 1, "A")])).await;
    let r = w.engine.process(msgs(&[inv("a1", 2, "B")])).await;
    assert_eq!((r.report.upserted, r.report.unchanged), (1, 0));
    assert_eq!(name_of(&w, "a1").as_deref(), Some("B"));
    let r = w.engine.process(msgs(&[inv("a1", 3, "A")])).await;
    assert_eq!((r.report.upserted, r.report.unchanged), (1, 0));
    assert_eq!(name_of(&w, "a1").as_deref(), Some("A"));
}

#[tokio::test]
async fn a_delete_after_an_unchanged_edit_is_archived() {
    let w = world().await;
    w.engine.process(msgs(&[inv("a1", 1, "one")])).await;
    let r = w.engine.process(msgs(&[unmapped_edit("a1", 2, "one")])).await;
    assert_eq!(r.report.unchanged, 1);
    let r = w.engine.process(msgs(&[delete("Invoice__c", "a1", 3)])).await;
    assert_eq!(r.report.archived, 1);
    let e = w.ledger.entry("invoice__c#a1").unwrap();
    assert!(e.deleted);
    assert_eq!(e.digest, None, "a tombstone holds no content");
    // Re-created with the same values after the delete: written again.
    let r = w.engine.process(msgs(&[inv("a1", 4, "one")])).await;
    assert_eq!((r.report.unchanged, r.report.upserted), (0, 1));
}

#[tokio::test]
async fn a_moved_lookup_is_a_change() {
    let w = world().await;
    w.engine.process(msgs(&[inv("a1", 1, "I1"), inv("a2", 1, "I2")])).await;
    w.engine.process(msgs(&[line("l1", 1, Some("a1"))])).await;
    let r = w.engine.process(msgs(&[line("l1", 2, Some("a1"))])).await;
    assert_eq!((r.report.unchanged, r.report.hubspot_calls), (1, 0));
    let r = w.engine.process(msgs(&[line("l1", 3, Some("a2"))])).await;
    assert_eq!(r.report.unchanged, 0);
    assert_eq!(r.report.associations_created, 1);
    let a2 = hs_id(&w, INVOICE, "a2");
    assert_eq!(
        w.ledger.entry("invoice_line__c#l1").unwrap().parents["Invoice__c"].hubspot_id.as_deref(),
        Some(a2.as_str())
    );
}

#[tokio::test]
async fn a_child_waiting_for_its_parent_is_not_skipped() {
    let w = world().await;
    let r = w.engine.process(msgs(&[line("l1", 1, Some("a1"))])).await;
    assert_eq!(r.report.waiting, 1);
    assert_eq!(w.ledger.entry("invoice_line__c#l1").unwrap().digest, None);
    // The parent arrives; an unchanged new version of the child still completes its association.
    w.engine.process(msgs(&[inv("a1", 1, "I1")])).await;
    let r = w.engine.process(msgs(&[line("l1", 2, Some("a1"))])).await;
    assert_eq!(r.report.unchanged, 0);
    assert_eq!(r.report.associations_created, 1);
    assert!(w.ledger.entry("invoice_line__c#l1").unwrap().digest.is_some());
}

async fn import_world() -> (World, Arc<MemoryImportStore>, Engine) {
    let w = world().await;
    let imports = Arc::new(MemoryImportStore::new());
    let engine =
        engine_for(&w.store, &w.ledger, &w.hub, &w.errors, "w1").with_imports(imports.clone());
    (w, imports, engine)
}

async fn new_import(imports: &MemoryImportStore, id: &str, force: bool) {
    let mut r = ImportRecord::new(
        id.into(),
        "Invoice__c".into(),
        None,
        2,
        10_000,
        OffsetDateTime::now_utc(),
    );
    r.force = force;
    imports.put(&r, None).await.unwrap();
}

fn imported(i: WorkItem, import_id: &str, force: bool) -> WorkItem {
    WorkItem { source: Source::Import { import_id: import_id.into(), force }, ..i }
}

#[tokio::test]
async fn a_reimport_of_unchanged_records_writes_nothing_and_counts_them() {
    let (w, imports, engine) = import_world().await;
    engine.process(msgs(&[inv("a1", 1, "one"), inv("a2", 1, "two")])).await;
    let calls = w.hub.calls();
    new_import(&imports, "i1", false).await;
    let r = engine
        .process(msgs(&[
            imported(inv("a1", 1, "one"), "i1", false),
            imported(inv("a2", 1, "two"), "i1", false),
        ]))
        .await;
    assert_eq!(r.report.unchanged, 2);
    assert_eq!(w.hub.calls(), calls);
    let rec = imports.get("i1").await.unwrap().unwrap();
    assert_eq!((rec.synced, rec.unchanged, rec.failed), (2, 2, 0));

    // --force writes them all again.
    new_import(&imports, "i2", true).await;
    let r = engine
        .process(msgs(&[
            imported(inv("a1", 1, "one"), "i2", true),
            imported(inv("a2", 1, "two"), "i2", true),
        ]))
        .await;
    assert_eq!((r.report.unchanged, r.report.upserted), (0, 2));
    let rec = imports.get("i2").await.unwrap().unwrap();
    assert_eq!((rec.synced, rec.unchanged), (2, 0));
}

#[tokio::test]
async fn a_mapping_change_writes_again_only_when_it_changes_what_hubspot_holds() {
    let (w, imports, engine) = import_world().await;
    engine.process(msgs(&[inv("a1", 1, "one")])).await;
    new_import(&imports, "i1", false).await;

    // A change that alters nothing HubSpot holds (a value map for a value no record has).
    let mut m = invoice_mapping();
    m.fields[0].value_map.insert("never".into(), "seen".into());
    let stored = w.store.get("Invoice__c").await.unwrap();
    let next = StoredMapping { mapping: m.clone(), version: 2, ..stored.clone().unwrap() };
    w.store.put(&next, Some(1)).await.unwrap();
    let r = engine.process(msgs(&[imported(inv("a1", 1, "one"), "i1", false)])).await;
    assert_eq!((r.report.unchanged, r.report.upserted), (1, 0));

    // A change that does: the amount is no longer mapped.
    m.fields.retain(|f| f.hubspot != "amount");
    let next = StoredMapping { mapping: m, version: 3, ..next };
    w.store.put(&next, Some(2)).await.unwrap();
    let r = engine.process(msgs(&[imported(inv("a1", 1, "one"), "i1", false)])).await;
    assert_eq!((r.report.unchanged, r.report.upserted), (0, 1));
}

#[tokio::test]
async fn a_reconcile_rewrites_what_was_changed_by_hand_in_hubspot() {
    let w = world().await;
    w.engine.process(msgs(&[inv("a1", 1, "one")])).await;
    // A reconcile item of the applied version is written, digest or not.
    let r = w
        .engine
        .process(msgs(&[WorkItem { source: Source::Reconcile, ..inv("a1", 1, "one") }]))
        .await;
    assert_eq!((r.report.unchanged, r.report.upserted), (0, 1));
}

#[tokio::test]
async fn two_workers_racing_on_one_record_end_on_the_newest_content() {
    for _ in 0..20 {
        let w = world_with(vec![invoice_mapping(), line_mapping()], None).await;
        let other = engine_for(&w.store, &w.ledger, &w.hub, &w.errors, "w2");
        w.engine.process(msgs(&[inv("a1", 1, "A")])).await;
        // v2 changes the name; v3 is an unmapped edit of v2.
        let (r2, r3) = tokio::join!(
            w.engine.process(msgs(&[inv("a1", 2, "B")])),
            other.process(msgs(&[unmapped_edit("a1", 3, "B")])),
        );
        // What went back to the queue comes again.
        for (engine, again) in [
            (&w.engine, (!r2.retry.is_empty()).then(|| inv("a1", 2, "B"))),
            (&other, (!r3.retry.is_empty()).then(|| unmapped_edit("a1", 3, "B"))),
        ] {
            if let Some(i) = again {
                engine.process(msgs(&[i])).await;
            }
        }
        assert_eq!(name_of(&w, "a1").as_deref(), Some("B"));
        let e = w.ledger.entry("invoice__c#a1").unwrap();
        assert_eq!(
            e.version,
            Some(record_version(&unmapped_edit("a1", 3, "B"), "SystemModstamp").0)
        );
        assert!(e.lease_owner.is_none());
    }
}

#[tokio::test]
async fn a_swept_delete_is_ordered_by_its_deletion_time() {
    let w = world().await;
    w.engine.process(msgs(&[inv("a1", 5, "v5")])).await;
    // Deleted at second 3, before the update at 5 (an undelete came in between): stale.
    let mut early = delete("Invoice__c", "a1", 0);
    early.fields.clear();
    early.fields.insert("LastModifiedDate".into(), Some("2026-11-28T10:00:03.000Z".into()));
    early.source = Source::DeleteSweep;
    let r = w.engine.process(msgs(&[early.clone()])).await;
    assert_eq!((r.report.dropped_stale, r.report.archived), (1, 0));
    assert_eq!(r.report.versions_from_received_at, 0, "no advice for a delete");
    // Deleted at second 7, after it: archived.
    early.fields.insert("LastModifiedDate".into(), Some("2026-11-28T10:00:07.000Z".into()));
    let r = w.engine.process(msgs(&[early])).await;
    assert_eq!(r.report.archived, 1);
}
