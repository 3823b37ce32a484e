//! A HubSpot simulator set up like a customer portal: the `invoice` and `invoice_line` custom
//! objects with a unique `salesforce_id`, the "Invoice line" association label, companies with
//! `salesforceaccountid` (as HubSpot's own Salesforce integration fills it), the mappings of the
//! seeded Salesforce objects onto it, and sync engines over it.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sfhs_core::app::{SyncPorts, SyncSettings};
use sfhs_core::mapping::store::{MappingStore, MemoryMappingStore, StoredMapping};
use sfhs_core::mapping::{Mapping, parse_yaml};
use sfhs_core::sync::{Engine, EngineConfig, ErrorStore, HubSpotWriter, Ledger};
use sfhs_hubspot::{ClientConfig, HubSpotClient, RetryPolicy, SecretToken};
use sfhs_hubspot_sim::{HubSpotSim, RunningSim};
use time::OffsetDateTime;

pub const TOKEN: &str = sfhs_hubspot_sim::DEFAULT_TOKEN;
pub const INVOICE: &str = "p12345678_invoice";
pub const LINE: &str = "p12345678_invoice_line";

/// A client with short retry waits (the shapes of the production ones).
pub fn client_config(base: &str) -> ClientConfig {
    let mut c = ClientConfig::new(base, SecretToken::new(TOKEN));
    c.timeout = Duration::from_secs(10);
    c.retry = RetryPolicy {
        max_attempts: 8,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(100),
        locked_wait: Duration::from_millis(10),
        rate_limit_wait: Some(Duration::from_millis(50)),
    };
    c
}

/// The portal's object type ids.
#[derive(Debug, Clone)]
pub struct Portal {
    pub invoice_type: String,
    pub line_type: String,
}

/// Starts a simulator (with `burst_limit` calls per 10 s) and a client.
pub async fn start_hubspot(burst_limit: u32) -> (RunningSim, HubSpotClient) {
    let sim = HubSpotSim::builder()
        .burst_limit(burst_limit)
        .start()
        .await
        .expect("start the HubSpot simulator");
    let client = HubSpotClient::new(client_config(&sim.base_url())).expect("HubSpot client");
    (sim, client)
}

async fn post(base: &str, path: &str, body: &Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .expect("call the simulator");
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert!(status.is_success(), "POST {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Creates the custom objects, the label and the companies property through HubSpot's APIs.
pub async fn setup_portal(base: &str, client: &HubSpotClient) -> Portal {
    let invoice = client
        .create_schema(&json!({
            "name": "invoice",
            "labels": {"singular": "Invoice", "plural": "Invoices"},
            "primaryDisplayProperty": "invoice_number",
            "associatedObjects": ["COMPANY"],
            "properties": [
                {"name": "salesforce_id", "label": "Salesforce id", "hasUniqueValue": true},
                {"name": "invoice_number", "label": "Invoice number"},
                {"name": "amount", "label": "Amount", "type": "number", "fieldType": "number"},
                {"name": "due_date", "label": "Due date", "type": "date", "fieldType": "date"},
                {"name": "status", "label": "Status", "type": "enumeration", "fieldType": "select",
                 "options": [
                    {"label": "Open", "value": "open"}, {"label": "Paid", "value": "paid"},
                    {"label": "Void", "value": "void"}, {"label": "Draft", "value": "Draft"},
                    {"label": "Sent", "value": "Sent"}]},
                {"name": "notes", "label": "Notes", "fieldType": "textarea"}
            ]
        }))
        .await
        .expect("create the invoice schema");
    let line = client
        .create_schema(&json!({
            "name": "invoice_line",
            "labels": {"singular": "Invoice line", "plural": "Invoice lines"},
            "primaryDisplayProperty": "line_name",
            "associatedObjects": [invoice.object_type_id],
            "properties": [
                {"name": "salesforce_id", "label": "Salesforce id", "hasUniqueValue": true},
                {"name": "line_name", "label": "Line"},
                {"name": "quantity", "label": "Quantity", "type": "number", "fieldType": "number"},
                {"name": "unit_price", "label": "Unit price", "type": "number", "fieldType": "number"}
            ]
        }))
        .await
        .expect("create the invoice_line schema");
    let _ = post(
        base,
        &format!(
            "/crm/associations/2026-09/{}/{}/labels",
            line.object_type_id, invoice.object_type_id
        ),
        &json!({"label": "Invoice line", "name": "invoice_line"}),
    )
    .await;
    client.invalidate_caches();
    Portal { invoice_type: invoice.object_type_id, line_type: line.object_type_id }
}

/// Companies as HubSpot's own integration would have synced them (`salesforceaccountid`, a
/// plain property): Salesforce account id -> HubSpot id.
pub async fn seed_companies(sim: &RunningSim, account_ids: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for chunk in account_ids.chunks(100) {
        let inputs: Vec<Value> = chunk
            .iter()
            .map(|a| json!({"properties": {"name": format!("Company {a}"), "salesforceaccountid": a}}))
            .collect();
        let reply = post(
            &sim.base_url(),
            "/crm/objects/2026-09/companies/batch/create",
            &json!({ "inputs": inputs }),
        )
        .await;
        for r in reply["results"].as_array().cloned().unwrap_or_default() {
            let account = r["properties"]["salesforceaccountid"].as_str().unwrap_or_default();
            let id = r["id"].as_str().unwrap_or_default();
            out.push((account.to_owned(), id.to_owned()));
        }
    }
    out.sort_by_key(|(a, _)| account_ids.iter().position(|x| x == a));
    assert_eq!(out.len(), account_ids.len(), "every company created");
    out
}

/// The mapping of `Invoice__c` onto this portal (shaped like `examples/mappings/invoice.yaml`).
pub const INVOICE_MAPPING: &str = r#"
salesforce_object: Invoice__c
hubspot_object: p12345678_invoice
id_property: salesforce_id
on_delete: archive
state: enabled
fields:
  - salesforce: Name
    hubspot: invoice_number
  - salesforce: Amount__c
    hubspot: amount
  - salesforce: Status__c
    hubspot: status
    value_map: {Paid: paid, Void: void}
    default: open
  - salesforce: Notes__c
    hubspot: notes
    on_too_long: truncate
associations:
  - lookup: Account__c
    to: companies
    find_parent_by:
      property: salesforceaccountid
"#;

/// The mapping of `Invoice_Line__c` onto this portal, associated with its invoice.
pub const LINE_MAPPING: &str = r#"
salesforce_object: Invoice_Line__c
hubspot_object: p12345678_invoice_line
id_property: salesforce_id
on_delete: archive
state: enabled
fields:
  - salesforce: Name
    hubspot: line_name
  - salesforce: Quantity__c
    hubspot: quantity
  - salesforce: Unit_Price__c
    hubspot: unit_price
associations:
  - lookup: Invoice__c
    to: p12345678_invoice
    find_parent_by:
      mapping: Invoice__c
    label: Invoice line
"#;

/// The two mappings of this portal.
pub fn mappings() -> Vec<Mapping> {
    [("invoice.yaml", INVOICE_MAPPING), ("invoice_line.yaml", LINE_MAPPING)]
        .iter()
        .map(|(f, t)| parse_yaml(f, t).expect("the test mappings parse"))
        .collect()
}

/// A mapping as applied (version 1, enabled without a cut-off), its outbound message known to
/// send every mapped field, lookup and the version field (as `sfhs salesforce apply` deploys it).
pub fn stored(mapping: Mapping) -> StoredMapping {
    let outbound_fields = mapping
        .fields
        .iter()
        .map(|f| f.salesforce.clone())
        .chain(mapping.associations.iter().map(|a| a.lookup.clone()))
        .chain([mapping.version_field.clone(), "Id".to_owned()])
        .collect();
    StoredMapping {
        mapping,
        version: 1,
        updated_at: OffsetDateTime::now_utc(),
        enabled_at: None,
        outbound_fields: Some(outbound_fields),
    }
}

/// An in-memory mapping store holding `mappings`.
pub async fn memory_store(mappings: Vec<Mapping>) -> Arc<MemoryMappingStore> {
    let store = Arc::new(MemoryMappingStore::new());
    for m in mappings {
        store.put(&stored(m), None).await.expect("store a mapping");
    }
    store
}

/// An engine over the given ports.
pub fn engine(
    store: Arc<dyn MappingStore>,
    ledger: Arc<dyn Ledger>,
    hubspot: Arc<dyn HubSpotWriter>,
    errors: Arc<dyn ErrorStore>,
    owner: &str,
    parent_wait: Duration,
) -> Engine {
    let mut config = EngineConfig::new(owner);
    config.parent_wait = parent_wait;
    config.lease = Duration::from_secs(60);
    sfhs_core::app::engine(
        SyncPorts { mappings: store, ledger, hubspot, errors, imports: None, waker: None },
        SyncSettings { engine: config, mappings_cache: Duration::from_secs(1) },
    )
}

/// Live records of `object` in the simulator, by `salesforce_id`.
pub fn records_by_salesforce_id(
    sim: &RunningSim,
    object: &str,
) -> std::collections::BTreeMap<String, Value> {
    sim.records(object)
        .into_iter()
        .filter(|r| r["archived"] != json!(true))
        .filter_map(|r| {
            r["properties"]["salesforce_id"].as_str().map(|id| (id.to_owned(), r.clone()))
        })
        .collect()
}
