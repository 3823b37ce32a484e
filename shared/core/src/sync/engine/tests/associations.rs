//! Associations on the in-memory ports: creates with their associations, lookups changed and
//! cleared, waiting children, parents by property.

use super::*;

fn line_parents(w: &World, id: &str) -> Vec<(String, Option<String>)> {
    let child = w.hub.find(LINE, "salesforce_id", id).unwrap();
    w.hub.associations(LINE, &child.hubspot_id, INVOICE)
}

#[tokio::test]
async fn a_child_waits_for_its_parent_then_completes() {
    let w = world().await;
    let r = w.engine.process(msgs(&[line("l1", 5, Some("a1"))])).await;
    assert_eq!(r.retry, vec!["m0".to_string()], "waits: back to the queue");
    assert_eq!((r.report.upserted, r.report.waiting), (1, 1));
    assert!(w.hub.find(LINE, "salesforce_id", "l1").is_some(), "values written already");
    let e = w.ledger.entry("invoice_line__c#l1").unwrap();
    assert!(e.waiting && e.lease_owner.is_none());
    // The parent syncs; the retried child completes.
    w.engine.process(msgs(&[inv("a1", 5, "v5")])).await;
    let r = w.engine.process(msgs(&[line("l1", 5, Some("a1"))])).await;
    assert!(r.retry.is_empty(), "{r:?}");
    assert_eq!(r.report.associations_created, 1);
    let parents = line_parents(&w, "l1");
    assert_eq!(parents, vec![(hs_id(&w, INVOICE, "a1"), Some("Invoice line".into()))]);
    assert!(!w.ledger.entry("invoice_line__c#l1").unwrap().waiting);
    // Delivered again: stale now.
    let r = w.engine.process(msgs(&[line("l1", 5, Some("a1"))])).await;
    assert_eq!(r.report.dropped_stale, 1);

    // Parent and child in one batch, child first: no waiting.
    let r = w.engine.process(msgs(&[line("l2", 5, Some("a2")), inv("a2", 5, "v5")])).await;
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
    assert!(e.message.contains("waiting for parent Invoice__c a404"), "{}", e.message);
}

#[tokio::test]
async fn associations_follow_lookup_changes_and_clears() {
    let w = world().await;
    w.engine.process(msgs(&[inv("a1", 1, "one"), inv("a2", 1, "two")])).await;
    w.engine.process(msgs(&[line("l1", 2, Some("a1"))])).await;
    assert_eq!(line_parents(&w, "l1")[0].0, hs_id(&w, INVOICE, "a1"));
    // Lookup changed: old association archived, new one created.
    let r = w.engine.process(msgs(&[line("l1", 3, Some("a2"))])).await;
    assert_eq!((r.report.associations_removed, r.report.associations_created), (1, 1));
    let parents = line_parents(&w, "l1");
    assert_eq!(parents.len(), 1);
    assert_eq!(parents[0].0, hs_id(&w, INVOICE, "a2"));
    // Lookup unchanged: nothing to do.
    let r = w.engine.process(msgs(&[line("l1", 4, Some("a2"))])).await;
    assert_eq!(r.report.associations_removed + r.report.associations_created, 0);
    assert_eq!(line_parents(&w, "l1").len(), 1);
    // Lookup cleared (Salesforce leaves null fields out of outbound messages): archived.
    let r =
        w.engine.process(msgs(&[item("Invoice_Line__c", "l1", 5, &[("Name", Some("n"))])])).await;
    assert_eq!(r.report.associations_removed, 1);
    assert!(line_parents(&w, "l1").is_empty());
    // An explicit null too (nothing left to remove).
    let r = w.engine.process(msgs(&[line("l1", 6, None)])).await;
    assert_eq!(r.report.associations_removed, 0);
    assert!(line_parents(&w, "l1").is_empty());
    assert!(w.ledger.entry("invoice_line__c#l1").unwrap().parents.is_empty());
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
    assert_eq!(w.hub.associations(INVOICE, &a1, "companies"), vec![(company, None)]);
    // Cached: a third invoice needs no lookup.
    let r = w
        .engine
        .process(msgs(&[item("Invoice__c", "a3", 1, &[("Account__c", Some("001A"))])]))
        .await;
    assert_eq!(r.report.hubspot_calls, 1);
}

#[tokio::test]
async fn new_records_are_created_with_their_associations_in_one_call() {
    let w = world().await;
    w.engine.process(msgs(&[item("Invoice__c", "a1", 1, &[("Name", Some("I"))])])).await;
    let batch: Vec<WorkItem> = (0..150).map(|n| line(&format!("l{n}"), 1, Some("a1"))).collect();
    let r = w.engine.process(msgs(&batch)).await;
    assert!(r.retry.is_empty(), "{r:?}");
    assert_eq!(r.report.created, 150);
    assert_eq!(r.report.associations_created, 150);
    // Two creates of 100 and 50, no upsert, no association call.
    assert_eq!(r.report.hubspot_calls, 2);
    let a1 = hs_id(&w, INVOICE, "a1");
    assert_eq!(line_parents(&w, "l149"), vec![(a1.clone(), Some("Invoice line".into()))]);
    let entry = w.ledger.entry("invoice_line__c#l7").unwrap();
    assert_eq!(entry.parents["Invoice__c"].hubspot_id.as_deref(), Some(a1.as_str()));
    // An update of a known record is an upsert: its association is left alone.
    let changed =
        item("Invoice_Line__c", "l7", 2, &[("Name", Some("renamed")), ("Invoice__c", Some("a1"))]);
    let r = w.engine.process(msgs(&[changed])).await;
    assert_eq!((r.report.created, r.report.upserted), (0, 1));
    assert_eq!(r.report.hubspot_calls, 1);
}

#[tokio::test]
async fn records_hubspot_has_but_the_ledger_does_not_are_upserted_not_duplicated() {
    let w = world().await;
    // In HubSpot already (a lost ledger commit, a migration), unknown to the ledger.
    let existing = w
        .hub
        .put_record(INVOICE, BTreeMap::from([("salesforce_id".to_string(), "a1".to_string())]));
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
    let live = w.hub.records(INVOICE).iter().filter(|r| !r.archived).count();
    assert_eq!(live, 2, "no duplicate of a1");
    // The refused create costs one call; for a while the object's new records are upserted.
    assert_eq!(r.report.hubspot_calls, 2);
    let r = w.engine.process(msgs(&[item("Invoice__c", "a3", 1, &[("Name", Some("3"))])])).await;
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
    w.engine.process(msgs(&[item("Invoice__c", "a9", 1, &[("Name", Some("I"))])])).await;
    let r = w.engine.process(msgs(&[line("l1", 1, Some("a9"))])).await;
    assert!(r.retry.is_empty(), "{r:?}");
    let a9 = hs_id(&w, INVOICE, "a9");
    assert_eq!(line_parents(&w, "l1"), vec![(a9, Some("Invoice line".into()))]);
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
        .process(msgs(&[item("Invoice__c", "a2", 1, &[("Account__c", Some("001A"))])]))
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
        .process(msgs(&[item("Invoice__c", "a1", 1, &[("Account__c", Some("001A"))])]))
        .await;
    assert_eq!(r.report.hubspot_calls, 2, "one search, one create");
    // Another worker (a fresh Lambda instance: an empty cache of its own) needs no search.
    let other = engine_for(&w.store, &w.ledger, &w.hub, &w.errors, "w2");
    let r =
        other.process(msgs(&[item("Invoice__c", "a2", 1, &[("Account__c", Some("001A"))])])).await;
    assert!(r.retry.is_empty(), "{r:?}");
    assert_eq!(r.report.hubspot_calls, 1, "the create alone");
    let a2 = hs_id(&w, INVOICE, "a2");
    assert_eq!(w.hub.associations(INVOICE, &a2, "companies"), vec![(company, None)]);
}
