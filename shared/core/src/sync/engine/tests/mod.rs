//! The batch rules on the in-memory ports.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::mapping::schema::HsObject;
use crate::mapping::schema::{HsProperty, HsType};
use crate::mapping::store::StoredMapping;
use crate::mapping::store::{MappingStore, MemoryMappingStore};
use crate::mapping::{AssociationMapping, FieldMapping, Mapping};
use crate::mapping::{FindParentBy, OnDelete, State};
use crate::outbound::Fields;
use crate::sync::memory::{MemoryErrorStore, MemoryHubSpot, MemoryLedger};
use crate::sync::ports::*;
use crate::sync::version::{millis, record_version};
use crate::work_item::WORK_ITEM_VERSION;
use crate::work_item::{Op, Source, WorkItem};

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
        fields: vec![field("Name", "invoice_number"), field("Amount__c", "amount"), {
            let mut f = field("Status__c", "status");
            f.value_map.insert("Open".into(), "open".into());
            f
        }],
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
    World { hub, ledger, errors, store, engine }
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
            wake: Some(format!("wake-m{n}")),
        })
        .collect()
}

pub(super) fn inv(id: &str, second: u32, name: &str) -> WorkItem {
    item("Invoice__c", id, second, &[("Name", Some(name)), ("Amount__c", Some("1.50"))])
}

pub(super) fn name_of(w: &World, id: &str) -> Option<String> {
    w.hub
        .find(INVOICE, "salesforce_id", id)
        .and_then(|r| r.properties.get("invoice_number").cloned())
}

pub(super) fn line(id: &str, second: u32, invoice: Option<&str>) -> WorkItem {
    item("Invoice_Line__c", id, second, &[("Name", Some(id)), ("Invoice__c", invoice)])
}

pub(super) fn hs_id(w: &World, object: &str, id: &str) -> String {
    w.hub.find(object, "salesforce_id", id).unwrap().hubspot_id
}

mod associations;
mod not_sent;
mod unchanged;
mod wake;
mod writes;
