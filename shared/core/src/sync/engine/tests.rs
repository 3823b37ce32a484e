//! The batch rules on the in-memory ports.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::mapping::schema::{HsProperty, HsType};
use crate::mapping::store::{MappingStore, MemoryMappingStore};
use crate::mapping::{AssociationMapping, FieldMapping, Mapping};
use crate::outbound::Fields;
use crate::sync::memory::{MemoryErrorStore, MemoryHubSpot, MemoryLedger};
use crate::work_item::WORK_ITEM_VERSION;

pub(super) const INVOICE: &str = "p1_invoice";
pub(super) const LINE: &str = "p1_invoice_line";

fn prop(name: &str, t: HsType, field_type: &str, options: &[&str]) -> HsProperty {
    HsProperty {
        name: name.into(),
        hs_type: t,
        field_type: field_type.into(),
        options: options.iter().map(|o| (*o).to_owned()).collect(),
        has_unique_value: name == "salesforce_id",
        read_only: false,
    }
}

fn object(id: &str, name: &str, props: Vec<HsProperty>) -> HsObject {
    HsObject {
        object_type_id: id.into(),
        fully_qualified_name: name.into(),
        properties: props,
        required_properties: vec![],
        associated_objects: vec![],
    }
}

fn field(sf: &str, hs: &str) -> FieldMapping {
    FieldMapping {
        salesforce: sf.into(),
        hubspot: hs.into(),
        value_map: Default::default(),
        default: None,
        on_too_long: Default::default(),
    }
}

pub(super) fn invoice_mapping() -> Mapping {
    Mapping {
        salesforce_object: "Invoice__c".into(),
        hubspot_object: INVOICE.into(),
        id_property: "salesforce_id".into(),
        version_field: "SystemModstamp".into(),
        on_delete: OnDelete::Archive,
        state: State::Enabled,
        fields: vec![
            field("Name", "invoice_number"),
            field("Amount__c", "amount"),
            {
                let mut f = field("Status__c", "status");
                f.value_map.insert("Open".into(), "open".into());
                f
            },
        ],
        associations: vec![AssociationMapping {
            lookup: "Account__c".into(),
            to: "companies".into(),
            find_parent_by: FindParentBy::Property("salesforceaccountid".into()),
            label: None,
        }],
        salesforce_trigger: None,
    }
}

pub(super) fn line_mapping() -> Mapping {
    Mapping {
        salesforce_object: "Invoice_Line__c".into(),
        hubspot_object: LINE.into(),
        id_property: "salesforce_id".into(),
        version_field: "SystemModstamp".into(),
        on_delete: OnDelete::Archive,
        state: State::Enabled,
        fields: vec![field("Name", "line_name")],
        associations: vec![AssociationMapping {
            lookup: "Invoice__c".into(),
            to: INVOICE.into(),
            find_parent_by: FindParentBy::Mapping("Invoice__c".into()),
            label: Some("Invoice line".into()),
        }],
        salesforce_trigger: None,
    }
}

pub(super) struct World {
    pub(super) hub: Arc<MemoryHubSpot>,
    pub(super) ledger: Arc<MemoryLedger>,
    pub(super) errors: Arc<MemoryErrorStore>,
    pub(super) store: Arc<MemoryMappingStore>,
    pub(super) engine: Engine,
}

pub(super) async fn world_with(
    mappings: Vec<Mapping>,
    enabled_at: Option<OffsetDateTime>,
) -> World {
    let hub = Arc::new(MemoryHubSpot::new());
    hub.add_object(object(
        "2-1",
        INVOICE,
        vec![
            prop("salesforce_id", HsType::String, "text", &[]),
            prop("invoice_number", HsType::String, "text", &[]),
            prop("amount", HsType::Number, "number", &[]),
            prop("status", HsType::Enumeration, "select", &["open", "paid"]),
        ],
    ));
    hub.add_object(object(
        "2-2",
        LINE,
        vec![
            prop("salesforce_id", HsType::String, "text", &[]),
            prop("line_name", HsType::String, "text", &[]),
        ],
    ));
    hub.add_object(object(
        "0-2",
        "companies",
        vec![prop("salesforceaccountid", HsType::String, "text", &[])],
    ));
    let store = Arc::new(MemoryMappingStore::new());
    for m in mappings {
        let stored = StoredMapping {
            outbound_fields: Some(sends_all(&m)),
            mapping: m,
            version: 1,
            updated_at: OffsetDateTime::now_utc(),
            enabled_at,
        };
        store.put(&stored, None).await.unwrap();
    }
    let ledger = Arc::new(MemoryLedger::new());
    let errors = Arc::new(MemoryErrorStore::new());
    let engine = engine_for(&store, &ledger, &hub, &errors, "w1");
    World {
        hub,
        ledger,
        errors,
        store,
        engine,
    }
}

/// Every field the outbound message must send for `m`: what `sfhs salesforce apply` deploys.
pub(super) fn sends_all(m: &Mapping) -> Vec<String> {
    m.fields
        .iter()
        .map(|f| f.salesforce.clone())
        .chain(m.associations.iter().map(|a| a.lookup.clone()))
        .chain([m.version_field.clone(), "Id".to_owned()])
        .collect()
}

pub(super) fn engine_for(
    store: &Arc<MemoryMappingStore>,
    ledger: &Arc<MemoryLedger>,
    hub: &Arc<MemoryHubSpot>,
    errors: &Arc<MemoryErrorStore>,
    owner: &str,
) -> Engine {
    Engine::new(
        Arc::new(CachedMappings::new(store.clone(), Duration::ZERO)),
        ledger.clone(),
        hub.clone(),
        errors.clone(),
        EngineConfig::new(owner),
    )
}

pub(super) async fn world() -> World {
    world_with(vec![invoice_mapping(), line_mapping()], None).await
}

fn stamp(second: u32) -> String {
    format!("2026-11-28T10:00:{second:02}.000Z")
}

pub(super) fn item(
    sobject: &str,
    id: &str,
    second: u32,
    fields: &[(&str, Option<&str>)],
) -> WorkItem {
    let mut f = Fields::new();
    f.insert("SystemModstamp".into(), Some(stamp(second)));
    for (k, v) in fields {
        f.insert((*k).into(), v.map(str::to_owned));
    }
    WorkItem {
        v: WORK_ITEM_VERSION,
        op: Op::Upsert,
        org_id: "00Dxx0000001gPF".into(),
        sobject: sobject.into(),
        record_id: id.into(),
        fields: f,
        source: Source::OutboundMessage {
            notification_id: format!("04l{id}{second}"),
            action_id: None,
        },
        received_at: OffsetDateTime::now_utc(),
    }
}

pub(super) fn delete(sobject: &str, id: &str, second: u32) -> WorkItem {
    let mut i = item(sobject, id, second, &[]);
    i.op = Op::Delete;
    i
}

pub(super) fn msgs(items: &[WorkItem]) -> Vec<InMessage> {
    items
        .iter()
        .enumerate()
        .map(|(n, i)| InMessage {
            message_id: format!("m{n}"),
            body: i.to_json(),
            receive_count: 1,
        })
        .collect()
}

pub(super) fn inv(id: &str, second: u32, name: &str) -> WorkItem {
    item(
        "Invoice__c",
        id,
        second,
        &[("Name", Some(name)), ("Amount__c", Some("1.50"))],
    )
}

pub(super) fn name_of(w: &World, id: &str) -> Option<String> {
    w.hub
        .find(INVOICE, "salesforce_id", id)
        .and_then(|r| r.properties.get("invoice_number").cloned())
}

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
    assert_eq!(
        w.hub.records(INVOICE).len(),
        1,
        "one HubSpot record per Salesforce record"
    );
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
    let w = world_with(
        vec![invoice_mapping(), paused],
        Some(datetime!(2026-11-28 10:00:10 UTC)),
    )
    .await;
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
    imported.source = Source::Import {
        import_id: "i1".into(),
        force: false,
    };
    let r = w.engine.process(msgs(&[imported])).await;
    assert_eq!(r.report.upserted, 1);
    drop(w.store);
}

#[tokio::test]
async fn retryable_failures_go_back_and_release_the_lease() {
    let w = world().await;
    w.hub.fail_next_calls(1);
    let r = w
        .engine
        .process(msgs(&[inv("a1", 5, "v5"), inv("a2", 5, "x")]))
        .await;
    assert_eq!(r.retry.len(), 2, "{r:?}");
    assert_eq!(r.report.failed, 0);
    assert!(w.errors.records().is_empty());
    let e = w.ledger.entry("invoice__c#a1").unwrap();
    assert!(e.lease_owner.is_none() && e.version.is_none());
    // The retry (by any worker) succeeds.
    let other = engine_for(&w.store, &w.ledger, &w.hub, &w.errors, "w2");
    let r = other
        .process(msgs(&[inv("a1", 5, "v5"), inv("a2", 5, "x")]))
        .await;
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
        "invoice__c#a1",
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
        "invoice__c#a1",
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
    assert_eq!(
        (e3.category, e3.field.as_deref()),
        (ErrorCategory::Validation, Some("Amount__c"))
    );
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
    });
    m.push(InMessage {
        message_id: "future".into(),
        body: inv("a9", 5, "x")
            .to_json()
            .replacen(r#""v":1"#, r#""v":9"#, 1),
        receive_count: 1,
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
    let r = w
        .engine
        .process(msgs(&[delete("Invoice__c", "a1", 8)]))
        .await;
    assert!(r.retry.is_empty());
    assert_eq!((r.report.archived, r.report.tombstoned), (1, 1));
    assert!(
        w.hub.find(INVOICE, "salesforce_id", "a1").is_none(),
        "archived"
    );
    let e = w.ledger.entry("invoice__c#a1").unwrap();
    assert!(e.deleted);
    // An older update arriving late cannot bring it back.
    let r = w.engine.process(msgs(&[inv("a1", 7, "late")])).await;
    assert_eq!(r.report.dropped_stale, 1);
    assert!(w.hub.find(INVOICE, "salesforce_id", "a1").is_none());
    // A delete and an older update in one batch: the delete wins.
    let r = w
        .engine
        .process(msgs(&[inv("a2", 3, "x"), delete("Invoice__c", "a2", 4)]))
        .await;
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
    let r = w
        .engine
        .process(msgs(&[delete("Invoice__c", "k1", 8)]))
        .await;
    assert_eq!((r.report.archived, r.report.tombstoned), (0, 1));
    assert!(w.hub.find(INVOICE, "salesforce_id", "k1").is_some());
}

pub(super) fn line(id: &str, second: u32, invoice: Option<&str>) -> WorkItem {
    item(
        "Invoice_Line__c",
        id,
        second,
        &[("Name", Some(id)), ("Invoice__c", invoice)],
    )
}

fn line_parents(w: &World, id: &str) -> Vec<(String, Option<String>)> {
    let child = w.hub.find(LINE, "salesforce_id", id).unwrap();
    w.hub.associations(LINE, &child.hubspot_id, INVOICE)
}

pub(super) fn hs_id(w: &World, object: &str, id: &str) -> String {
    w.hub.find(object, "salesforce_id", id).unwrap().hubspot_id
}

#[tokio::test]
async fn a_child_waits_for_its_parent_then_completes() {
    let w = world().await;
    let r = w.engine.process(msgs(&[line("l1", 5, Some("a1"))])).await;
    assert_eq!(r.retry, vec!["m0".to_string()], "waits: back to the queue");
    assert_eq!((r.report.upserted, r.report.waiting), (1, 1));
    assert!(
        w.hub.find(LINE, "salesforce_id", "l1").is_some(),
        "values written already"
    );
    let e = w.ledger.entry("invoice_line__c#l1").unwrap();
    assert!(e.waiting && e.lease_owner.is_none());
    // The parent syncs; the retried child completes.
    w.engine.process(msgs(&[inv("a1", 5, "v5")])).await;
    let r = w.engine.process(msgs(&[line("l1", 5, Some("a1"))])).await;
    assert!(r.retry.is_empty(), "{r:?}");
    assert_eq!(r.report.associations_created, 1);
    let parents = line_parents(&w, "l1");
    assert_eq!(
        parents,
        vec![(hs_id(&w, INVOICE, "a1"), Some("Invoice line".into()))]
    );
    assert!(!w.ledger.entry("invoice_line__c#l1").unwrap().waiting);
    // Delivered again: stale now.
    let r = w.engine.process(msgs(&[line("l1", 5, Some("a1"))])).await;
    assert_eq!(r.report.dropped_stale, 1);

    // Parent and child in one batch, child first: no waiting.
    let r = w
        .engine
        .process(msgs(&[line("l2", 5, Some("a2")), inv("a2", 5, "v5")]))
        .await;
    assert!(r.retry.is_empty());
    assert_eq!(line_parents(&w, "l2").len(), 1);
}

#[tokio::test]
async fn a_child_waiting_too_long_becomes_an_error() {
    let w = world().await;
    let mut old = line("l1", 5, Some("a404"));
    old.received_at = OffsetDateTime::now_utc() - time::Duration::days(2);
    let r = w.engine.process(msgs(&[old])).await;
    assert!(r.retry.is_empty());
    assert_eq!(r.report.failed, 1);
    let e = w.errors.get("invoice_line__c#l1").unwrap();
    assert_eq!(e.category, ErrorCategory::Association);
    // On the queue's last delivery too (instead of the DLQ).
    let mut config = EngineConfig::new("w1");
    config.max_receives = 8;
    let engine = Engine::new(
        Arc::new(CachedMappings::new(w.store.clone(), Duration::ZERO)),
        w.ledger.clone(),
        w.hub.clone(),
        w.errors.clone(),
        config,
    );
    let mut m = msgs(&[line("l2", 5, Some("a405"))]);
    m[0].receive_count = 7;
    assert_eq!(engine.process(m.clone()).await.retry.len(), 1);
    m[0].receive_count = 8;
    let r = engine.process(m).await;
    assert!(r.retry.is_empty());
    let e2 = w.errors.get("invoice_line__c#l2").unwrap();
    assert!(e2.message.contains("delivery 8"), "{}", e2.message);
    assert!(
        e.message.contains("waiting for parent Invoice__c a404"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn associations_follow_lookup_changes_and_clears() {
    let w = world().await;
    w.engine
        .process(msgs(&[inv("a1", 1, "one"), inv("a2", 1, "two")]))
        .await;
    w.engine.process(msgs(&[line("l1", 2, Some("a1"))])).await;
    assert_eq!(line_parents(&w, "l1")[0].0, hs_id(&w, INVOICE, "a1"));
    // Lookup changed: old association archived, new one created.
    let r = w.engine.process(msgs(&[line("l1", 3, Some("a2"))])).await;
    assert_eq!(
        (r.report.associations_removed, r.report.associations_created),
        (1, 1)
    );
    let parents = line_parents(&w, "l1");
    assert_eq!(parents.len(), 1);
    assert_eq!(parents[0].0, hs_id(&w, INVOICE, "a2"));
    // Lookup unchanged: nothing to do.
    let r = w.engine.process(msgs(&[line("l1", 4, Some("a2"))])).await;
    assert_eq!(
        r.report.associations_removed + r.report.associations_created,
        0
    );
    assert_eq!(line_parents(&w, "l1").len(), 1);
    // Lookup cleared (Salesforce leaves null fields out of outbound messages): archived.
    let r = w
        .engine
        .process(msgs(&[item(
            "Invoice_Line__c",
            "l1",
            5,
            &[("Name", Some("n"))],
        )]))
        .await;
    assert_eq!(r.report.associations_removed, 1);
    assert!(line_parents(&w, "l1").is_empty());
    // An explicit null too (nothing left to remove).
    let r = w.engine.process(msgs(&[line("l1", 6, None)])).await;
    assert_eq!(r.report.associations_removed, 0);
    assert!(line_parents(&w, "l1").is_empty());
    assert!(
        w.ledger
            .entry("invoice_line__c#l1")
            .unwrap()
            .parents
            .is_empty()
    );
}

#[tokio::test]
async fn parents_in_a_native_synced_object_are_found_by_property_and_cached() {
    let w = world().await;
    let company = w.hub.put_record(
        "companies",
        BTreeMap::from([("salesforceaccountid".to_string(), "001A".to_string())]),
    );
    let batch = [
        item("Invoice__c", "a1", 1, &[("Account__c", Some("001A"))]),
        item("Invoice__c", "a2", 1, &[("Account__c", Some("001A"))]),
    ];
    let r = w.engine.process(msgs(&batch)).await;
    assert!(r.retry.is_empty(), "{r:?}");
    assert_eq!(r.report.associations_created, 2);
    // One lookup for both, then one create that carries the associations.
    assert_eq!(r.report.hubspot_calls, 2);
    let a1 = hs_id(&w, INVOICE, "a1");
    assert_eq!(
        w.hub.associations(INVOICE, &a1, "companies"),
        vec![(company, None)]
    );
    // Cached: a third invoice needs no lookup.
    let r = w
        .engine
        .process(msgs(&[item(
            "Invoice__c",
            "a3",
            1,
            &[("Account__c", Some("001A"))],
        )]))
        .await;
    assert_eq!(r.report.hubspot_calls, 1);
}

#[tokio::test]
async fn the_daily_limit_stops_writes_and_says_so() {
    let w = world().await;
    w.hub.set_daily_limit(true);
    let r = w
        .engine
        .process(msgs(&[inv("a1", 1, "x"), inv("a2", 1, "y")]))
        .await;
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
    assert!(
        w.ledger.entry("invoice__c#a3").is_none(),
        "not even claimed"
    );
    // Records of the first batch were claimed before HubSpot said so: released.
    assert!(
        w.ledger
            .entry("invoice__c#a1")
            .unwrap()
            .lease_owner
            .is_none()
    );
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
    assert_eq!(
        w.errors.get("invoice_line__c#l1").unwrap().category,
        ErrorCategory::NotFound
    );
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
            &[
                ("Name", Some("n")),
                ("Amount__c", Some("3")),
                ("Status__c", Some("paid")),
            ],
        )]))
        .await;
    // Salesforce leaves null fields out of outbound messages.
    w.engine
        .process(msgs(&[item("Invoice__c", "a1", 2, &[("Name", Some("n"))])]))
        .await;
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
        key: &str,
        version: i64,
        replay: bool,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Claim, crate::sync::LedgerError> {
        self.0
            .claim(key, version, replay, owner, now_ms, lease_ms)
            .await
    }

    async fn commit(
        &self,
        key: &str,
        owner: &str,
        commit: &Commit,
    ) -> Result<bool, crate::sync::LedgerError> {
        let mut e = self.0.entry(key).unwrap_or_default();
        e.lease_owner = Some("thief".into());
        self.0.insert(key, e);
        self.0.commit(key, owner, commit).await
    }

    async fn release(
        &self,
        key: &str,
        owner: &str,
        hubspot_id: Option<&str>,
    ) -> Result<(), crate::sync::LedgerError> {
        self.0.release(key, owner, hubspot_id).await
    }

    async fn get_many(
        &self,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, LedgerEntry>, crate::sync::LedgerError> {
        self.0.get_many(keys).await
    }

    async fn get_parents(
        &self,
        keys: &[String],
    ) -> Result<std::collections::HashMap<String, String>, crate::sync::LedgerError> {
        self.0.get_parents(keys).await
    }

    async fn put_parents(
        &self,
        found: &[(String, String)],
        ttl: Duration,
    ) -> Result<(), crate::sync::LedgerError> {
        self.0.put_parents(found, ttl).await
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
    assert!(
        ledger.0.entry("invoice__c#a1").unwrap().version.is_none(),
        "not committed"
    );
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
        i.source = Source::Import {
            import_id: "i1".into(),
            force: false,
        };
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
    assert_eq!(
        (rec.synced, rec.failed),
        (2, 1),
        "ok + stale synced, bad failed; waiting not yet"
    );
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
    let r = engine
        .process(msgs(&[inv("a1", 1, "x"), delete("Invoice__c", "a2", 1)]))
        .await;
    assert_eq!(r.retry.len(), 2);
    assert_eq!(w.hub.calls(), 0, "nothing written");
    assert!(
        w.ledger
            .entry("invoice__c#a1")
            .unwrap()
            .lease_owner
            .is_none()
    );
}

#[tokio::test]
async fn new_records_are_created_with_their_associations_in_one_call() {
    let w = world().await;
    w.engine
        .process(msgs(&[item("Invoice__c", "a1", 1, &[("Name", Some("I"))])]))
        .await;
    let batch: Vec<WorkItem> = (0..150)
        .map(|n| line(&format!("l{n}"), 1, Some("a1")))
        .collect();
    let r = w.engine.process(msgs(&batch)).await;
    assert!(r.retry.is_empty(), "{r:?}");
    assert_eq!(r.report.created, 150);
    assert_eq!(r.report.associations_created, 150);
    // Two creates of 100 and 50, no upsert, no association call.
    assert_eq!(r.report.hubspot_calls, 2);
    let a1 = hs_id(&w, INVOICE, "a1");
    assert_eq!(
        line_parents(&w, "l149"),
        vec![(a1.clone(), Some("Invoice line".into()))]
    );
    let entry = w.ledger.entry("invoice_line__c#l7").unwrap();
    assert_eq!(
        entry.parents["Invoice__c"].hubspot_id.as_deref(),
        Some(a1.as_str())
    );
    // An update of a known record is an upsert: its association is left alone.
    let changed = item(
        "Invoice_Line__c",
        "l7",
        2,
        &[("Name", Some("renamed")), ("Invoice__c", Some("a1"))],
    );
    let r = w.engine.process(msgs(&[changed])).await;
    assert_eq!((r.report.created, r.report.upserted), (0, 1));
    assert_eq!(r.report.hubspot_calls, 1);
}

#[tokio::test]
async fn records_hubspot_has_but_the_ledger_does_not_are_upserted_not_duplicated() {
    let w = world().await;
    // In HubSpot already (a lost ledger commit, a migration), unknown to the ledger.
    let existing = w.hub.put_record(
        INVOICE,
        BTreeMap::from([("salesforce_id".to_string(), "a1".to_string())]),
    );
    let r = w
        .engine
        .process(msgs(&[
            item("Invoice__c", "a1", 1, &[("Name", Some("one"))]),
            item("Invoice__c", "a2", 1, &[("Name", Some("two"))]),
        ]))
        .await;
    assert!(r.retry.is_empty(), "{r:?}");
    assert_eq!(r.report.upserted, 2);
    assert_eq!(hs_id(&w, INVOICE, "a1"), existing);
    let live = w
        .hub
        .records(INVOICE)
        .iter()
        .filter(|r| !r.archived)
        .count();
    assert_eq!(live, 2, "no duplicate of a1");
    // The refused create costs one call; for a while the object's new records are upserted.
    assert_eq!(r.report.hubspot_calls, 2);
    let r = w
        .engine
        .process(msgs(&[item("Invoice__c", "a3", 1, &[("Name", Some("3"))])]))
        .await;
    assert_eq!(r.report.hubspot_calls, 1);
    assert_eq!(r.report.created, 1);
}

#[tokio::test]
async fn a_child_whose_parent_is_unknown_is_upserted_and_waits() {
    let w = world().await;
    let r = w.engine.process(msgs(&[line("l1", 1, Some("a9"))])).await;
    // Not created with a link it cannot have: upserted, then it waits for a9.
    assert_eq!(r.report.created, 1);
    assert_eq!(r.report.waiting, 1);
    assert_eq!(r.retry.len(), 1);
    w.engine
        .process(msgs(&[item("Invoice__c", "a9", 1, &[("Name", Some("I"))])]))
        .await;
    let r = w.engine.process(msgs(&[line("l1", 1, Some("a9"))])).await;
    assert!(r.retry.is_empty(), "{r:?}");
    let a9 = hs_id(&w, INVOICE, "a9");
    assert_eq!(
        line_parents(&w, "l1"),
        vec![(a9, Some("Invoice line".into()))]
    );
}

#[tokio::test]
async fn a_record_written_before_its_association_failed_is_upserted_next_time() {
    let w = world().await;
    w.hub.put_record(
        "companies",
        BTreeMap::from([("salesforceaccountid".to_string(), "001A".to_string())]),
    );
    // The parent lookup fails twice: before the create (so the record is upserted without its
    // link) and again for the association (so the message goes back).
    w.hub.fail_operation("find_by_property", 2);
    let batch = [item("Invoice__c", "a1", 1, &[("Account__c", Some("001A"))])];
    let r = w.engine.process(msgs(&batch)).await;
    assert_eq!(r.retry.len(), 1);
    assert_eq!(r.report.created, 1);
    let e = w.ledger.entry("invoice__c#a1").unwrap();
    assert!(e.hubspot_id.is_some(), "the HubSpot id is kept: {e:?}");
    assert_eq!(e.version, None, "no version is committed");
    // The redelivery upserts the same record (not a create HubSpot would refuse) and links it.
    let r = w.engine.process(msgs(&batch)).await;
    assert!(r.retry.is_empty(), "{r:?}");
    assert_eq!((r.report.created, r.report.upserted), (0, 1));
    assert_eq!(r.report.associations_created, 1);
    assert_eq!(w.hub.records(INVOICE).len(), 1);
    // No create was refused, so new records are still created with their links.
    let r = w
        .engine
        .process(msgs(&[item(
            "Invoice__c",
            "a2",
            1,
            &[("Account__c", Some("001A"))],
        )]))
        .await;
    assert_eq!((r.report.created, r.report.hubspot_calls), (1, 1));
}

#[tokio::test]
async fn parents_found_by_one_worker_are_remembered_for_the_others() {
    let w = world().await;
    let company = w.hub.put_record(
        "companies",
        BTreeMap::from([("salesforceaccountid".to_string(), "001A".to_string())]),
    );
    let r = w
        .engine
        .process(msgs(&[item(
            "Invoice__c",
            "a1",
            1,
            &[("Account__c", Some("001A"))],
        )]))
        .await;
    assert_eq!(r.report.hubspot_calls, 2, "one search, one create");
    // Another worker (a fresh Lambda instance: an empty cache of its own) needs no search.
    let other = engine_for(&w.store, &w.ledger, &w.hub, &w.errors, "w2");
    let r = other
        .process(msgs(&[item(
            "Invoice__c",
            "a2",
            1,
            &[("Account__c", Some("001A"))],
        )]))
        .await;
    assert!(r.retry.is_empty(), "{r:?}");
    assert_eq!(r.report.hubspot_calls, 1, "the create alone");
    let a2 = hs_id(&w, INVOICE, "a2");
    assert_eq!(
        w.hub.associations(INVOICE, &a2, "companies"),
        vec![(company, None)]
    );
}
