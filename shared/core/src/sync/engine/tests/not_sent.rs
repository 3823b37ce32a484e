//! Invariant 9 on the in-memory ports: a field absent from an outbound message clears its HubSpot
//! property only when that message is known to send the field.

use super::*;
use super::{INVOICE, World, hs_id, invoice_mapping, item, line, line_mapping, msgs, world_with};
use crate::mapping::store::MappingStore;
use time::macros::datetime;

/// Invoice__c as stored, its outbound message known to send `outbound` (None: unknown).
async fn world_sending(outbound: Option<&[&str]>) -> World {
    object_sending("Invoice__c", outbound).await
}

/// `object`'s mapping as stored, its outbound message known to send `outbound` (None: unknown).
async fn object_sending(object: &str, outbound: Option<&[&str]>) -> World {
    let w = world_with(vec![invoice_mapping(), line_mapping()], None).await;
    let mut stored = w.store.get(object).await.expect("memory store").expect("applied");
    stored.outbound_fields = outbound.map(|f| f.iter().map(|s| (*s).to_owned()).collect());
    stored.version += 1;
    w.store.put(&stored, Some(stored.version - 1)).await.expect("memory store");
    w
}

fn props(w: &World, id: &str) -> BTreeMap<String, String> {
    w.hub.find(INVOICE, "salesforce_id", id).map(|r| r.properties).unwrap_or_default()
}

fn full(id: &str, second: u32) -> WorkItem {
    item(
        "Invoice__c",
        id,
        second,
        &[("Name", Some("INV-1")), ("Amount__c", Some("12.5")), ("Status__c", Some("Open"))],
    )
}

/// The same record, `Amount__c` absent from the message.
fn without_amount(id: &str, second: u32) -> WorkItem {
    item("Invoice__c", id, second, &[("Name", Some("INV-2")), ("Status__c", Some("Open"))])
}

#[tokio::test]
async fn an_absent_field_the_message_is_not_known_to_send_is_left_as_it_is() {
    // Known to send everything but Amount__c: the amount is left, the rest written.
    let w = world_sending(Some(&["Id", "Name", "Status__c", "SystemModstamp", "Account__c"])).await;
    w.engine.process(msgs(&[full("a1", 1)])).await;
    assert_eq!(props(&w, "a1")["amount"], "12.5");
    let r = w.engine.process(msgs(&[without_amount("a1", 2)])).await;
    assert!(r.retry.is_empty(), "{r:?}");
    assert_eq!(r.report.upserted, 1);
    assert_eq!(r.report.fields_not_sent, 1);
    let p = props(&w, "a1");
    assert_eq!(p["amount"], "12.5", "not cleared: the message does not send it");
    assert_eq!(p["invoice_number"], "INV-2", "what was sent is written");
    let emf = r.report.to_emf().to_line(datetime!(2026-01-01 0:00 UTC));
    assert!(emf.contains("\"FieldsNotSent\":1"), "{emf}");
}

#[tokio::test]
async fn an_absent_field_the_message_is_known_to_send_is_null_and_clears() {
    let w = world_sending(Some(&[
        "Id",
        "Name",
        "Amount__c",
        "Status__c",
        "SystemModstamp",
        "Account__c",
    ]))
    .await;
    w.engine.process(msgs(&[full("a1", 1)])).await;
    let r = w.engine.process(msgs(&[without_amount("a1", 2)])).await;
    assert_eq!((r.report.upserted, r.report.fields_not_sent), (1, 0));
    assert_eq!(props(&w, "a1")["amount"], "", "absent is null: cleared");
}

#[tokio::test]
async fn nothing_known_of_the_message_clears_nothing_absent() {
    let w = world_sending(None).await;
    w.engine.process(msgs(&[full("a1", 1)])).await;
    let r = w.engine.process(msgs(&[without_amount("a1", 2)])).await;
    assert_eq!(r.report.fields_not_sent, 2, "Amount__c and the Account__c lookup");
    assert_eq!(props(&w, "a1")["amount"], "12.5");
}

#[tokio::test]
async fn an_explicit_nil_clears_even_when_nothing_is_known() {
    let w = world_sending(None).await;
    w.engine.process(msgs(&[full("a1", 1)])).await;
    let nil = item(
        "Invoice__c",
        "a1",
        2,
        &[
            ("Name", Some("INV-1")),
            ("Amount__c", None),
            ("Status__c", Some("Open")),
            ("Account__c", None),
        ],
    );
    let r = w.engine.process(msgs(&[nil])).await;
    assert_eq!(r.report.fields_not_sent, 0);
    assert_eq!(props(&w, "a1")["amount"], "", "xsi:nil says null");
}

#[tokio::test]
async fn an_import_item_clears_absent_fields_whatever_is_known() {
    let w = world_sending(None).await;
    w.engine.process(msgs(&[full("a1", 1)])).await;
    let imported = WorkItem { source: Source::Reconcile, ..without_amount("a1", 2) };
    let r = w.engine.process(msgs(&[imported])).await;
    assert_eq!(r.report.fields_not_sent, 0);
    assert_eq!(props(&w, "a1")["amount"], "");
}

#[tokio::test]
async fn a_property_left_out_is_not_part_of_the_content_digest() {
    // The first write without the amount, then the same values again: unchanged (the digest
    // of what was sent is equal), and the amount never written.
    let w = world_sending(Some(&["Id", "Name", "Status__c", "SystemModstamp"])).await;
    let r = w.engine.process(msgs(&[without_amount("a1", 1)])).await;
    assert_eq!(r.report.upserted, 1);
    assert!(!props(&w, "a1").contains_key("amount"), "a property not sent is not in the upsert");
    let r = w.engine.process(msgs(&[without_amount("a1", 2)])).await;
    assert_eq!((r.report.unchanged, r.report.upserted), (1, 0));
}

fn line_without_lookup(id: &str, second: u32) -> WorkItem {
    item("Invoice_Line__c", id, second, &[("Name", Some("renamed"))])
}

#[tokio::test]
async fn an_absent_lookup_the_message_is_not_known_to_send_keeps_its_association() {
    let w = object_sending("Invoice_Line__c", None).await;
    w.engine.process(msgs(&[item("Invoice__c", "a1", 1, &[("Name", Some("I"))])])).await;
    w.engine.process(msgs(&[line("l1", 1, Some("a1"))])).await;
    let parent = hs_id(&w, INVOICE, "a1");
    let r = w.engine.process(msgs(&[line_without_lookup("l1", 2)])).await;
    assert!(r.retry.is_empty(), "{r:?}");
    assert_eq!(r.report.associations_removed, 0, "nothing said: nothing removed");
    assert_eq!(r.report.fields_not_sent, 1, "the Invoice__c lookup");
    let e = w.ledger.entry("invoice_line__c#l1").expect("ledger");
    assert_eq!(
        e.parents["Invoice__c"].hubspot_id.as_deref(),
        Some(parent.as_str()),
        "the parent is kept"
    );
    // The same again: HubSpot holds it as it is.
    let r = w.engine.process(msgs(&[line_without_lookup("l1", 3)])).await;
    assert_eq!((r.report.unchanged, r.report.hubspot_calls), (1, 0));
}

#[tokio::test]
async fn an_absent_lookup_the_message_is_known_to_send_removes_the_association() {
    let w =
        object_sending("Invoice_Line__c", Some(&["Id", "Name", "SystemModstamp", "Invoice__c"]))
            .await;
    w.engine.process(msgs(&[item("Invoice__c", "a1", 1, &[("Name", Some("I"))])])).await;
    w.engine.process(msgs(&[line("l1", 1, Some("a1"))])).await;
    let r = w.engine.process(msgs(&[line_without_lookup("l1", 2)])).await;
    assert_eq!(r.report.associations_removed, 1, "absent is null: cleared");
    let e = w.ledger.entry("invoice_line__c#l1").expect("ledger");
    assert!(!e.parents.contains_key("Invoice__c"));
}
