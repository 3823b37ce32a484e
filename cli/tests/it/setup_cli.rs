//! `sfhs setup` answered from flags and from an answers file: the real binary against both
//! simulators, from an empty directory to validated mapping files, the HubSpot objects with
//! their association, and the Salesforce side deployed.

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Output;

use crate::common::{live_env, sfhs_bin, text};
use sfhs_core::mapping::{Mapping, OnDelete, State, parse_yaml};
use sfhs_hubspot_sim::HubSpotSim;
use sfhs_salesforce_sim::{SeedSize, SimBuilder};

/// Both vendors: an empty portal, an org of 2 accounts, 3 invoices and 2 lines.
pub(crate) struct Sims {
    pub(crate) hubspot: sfhs_hubspot_sim::RunningSim,
    pub(crate) salesforce: sfhs_salesforce_sim::Sim,
}

pub(crate) async fn sims() -> Sims {
    Sims {
        hubspot: HubSpotSim::builder().start().await.unwrap(),
        salesforce: SimBuilder::new()
            .seed_size(SeedSize { accounts: 2, invoices: 3, lines: 2, shipments: 1 })
            .start()
            .await
            .unwrap(),
    }
}

fn sfhs(s: &Sims, args: &[&str]) -> Output {
    let (hubspot, salesforce) = (s.hubspot.base_url(), s.salesforce.base_url());
    live_env(&mut sfhs_bin(), &hubspot, salesforce, "http://127.0.0.1:9/outbound")
        .args(args)
        .output()
        .unwrap()
}

fn read(dir: &Path, file: &str) -> (String, Mapping) {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let m = parse_yaml(file, &text).unwrap();
    (text, m)
}

#[tokio::test(flavor = "multi_thread")]
async fn flags_take_an_empty_directory_to_enabled_valid_mappings_and_the_salesforce_side() {
    let s = sims().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("mappings");
    let d = d.to_str().unwrap();
    // The child first on the command line: setup does the parent first.
    let o = sfhs(
        &s,
        &[
            "setup",
            d,
            "--object",
            "Invoice_Line__c",
            "--object",
            "Invoice__c",
            "--enable",
            "--salesforce",
            "apply",
        ],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("Salesforce: org 00D5g000001SIMuEAO at http://127.0.0.1:"), "{out}");
    assert!(out.contains("HubSpot: portal 12345678 (STANDARD, data in na1)"), "{out}");
    let invoice_at = out.find("created the HubSpot object p12345678_invoice ").unwrap();
    let line_at = out.find("created the HubSpot object p12345678_invoice_line").unwrap();
    assert!(invoice_at < line_at, "{out}");
    assert!(out.contains("associated with p12345678_invoice\n"), "{out}");
    assert!(out.contains("review: 0 error(s)"), "{out}");
    assert!(out.contains("Deployed "), "{out}");

    let (header, invoice) = read(dir.path(), "mappings/invoice__c.yaml");
    assert!(header.starts_with("# Invoice__c -> p12345678_invoice: written by `sfhs setup`"));
    assert_eq!(invoice.hubspot_object, "p12345678_invoice");
    assert_eq!((invoice.state, invoice.on_delete), (State::Enabled, OnDelete::Archive));
    assert_eq!(
        serde_json::to_value(&invoice.associations).unwrap(),
        serde_json::json!([{"lookup": "Account__c", "to": "companies",
            "find_parent_by": {"property": "salesforceaccountid"}}])
    );
    let (_, line) = read(dir.path(), "mappings/invoice_line__c.yaml");
    assert_eq!(
        serde_json::to_value(&line.associations).unwrap(),
        serde_json::json!([{"lookup": "Invoice__c", "to": "p12345678_invoice",
            "find_parent_by": {"mapping": "Invoice__c"}}])
    );
    // Ordinary mapping files: valid against both live schemas and the deployed messages.
    let o = sfhs(&s, &["mappings", "validate", d]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let sf = sfhs_tests::sims::salesforce_client(s.salesforce.base_url()).unwrap();
    let mut messages: Vec<String> =
        sf.outbound_messages(None).await.unwrap().into_iter().map(|m| m.object).collect();
    messages.sort();
    assert_eq!(messages, ["Invoice_Line__c", "Invoice__c"]);

    // Run again from an answers file: the files are edited, nothing is created twice.
    let answers = dir.path().join("answers.yaml");
    std::fs::write(
        &answers,
        "objects:\n  - {salesforce: Invoice__c, on_delete: keep, associations: none, state: paused}\n",
    )
    .unwrap();
    let o = sfhs(&s, &["setup", d, "--answers", answers.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("the HubSpot object p12345678_invoice exists"), "{out}");
    assert!(out.contains("started from the mapping file written before"), "{out}");
    let (_, again) = read(dir.path(), "mappings/invoice__c.yaml");
    assert_eq!((again.state, again.on_delete), (State::Paused, OnDelete::Keep));
    assert!(again.associations.is_empty());
    assert_eq!(again.fields, invoice.fields, "the fields as written before");
    assert_eq!(read(dir.path(), "mappings/invoice_line__c.yaml").1, line);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_answer_is_named_and_nothing_is_written() {
    let s = sims().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("m");
    let answers = dir.path().join("answers.yaml");
    // setup DIR --answers FILE, FILE holding `yaml`.
    let answered = |yaml: &str| {
        std::fs::write(&answers, yaml).unwrap();
        let args = ["setup", d.to_str().unwrap(), "--answers", answers.to_str().unwrap()];
        sfhs(&s, &args)
    };
    let o = answered("objects:\n  - {salesforce: Invoice__c, stat: enabled}\n");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("unknown field `stat`"), "{}", text(&o));

    let o = sfhs(&s, &["setup", d.to_str().unwrap(), "--object", "Nope__c"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("Salesforce has no object Nope__c"), "{}", text(&o));

    let o = answered("objects:\n  - {salesforce: Invoice__c, hubspot: p12345678_nothing}\n");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("HubSpot has no object p12345678_nothing for Invoice__c"),
        "{}",
        text(&o)
    );
    assert!(!d.exists(), "nothing written");
}

/// An object made by hand in HubSpot: the fields paired with its properties by name and type,
/// the picklist's values with its options (ignoring case), and what is left out said.
#[tokio::test(flavor = "multi_thread")]
async fn an_existing_hubspot_object_gets_its_fields_paired_by_name_and_type() {
    let s = sims().await;
    let schema = serde_json::json!({
        "name": "bill",
        "labels": {"singular": "Bill", "plural": "Bills"},
        "primaryDisplayProperty": "name",
        "requiredProperties": ["name"],
        "properties": [
            {"name": "name", "label": "Name", "type": "string", "fieldType": "text"},
            {"name": "sf_id", "label": "SF id", "type": "string", "fieldType": "text", "hasUniqueValue": true},
            {"name": "amount", "label": "Amount", "type": "number", "fieldType": "number"},
            {"name": "status", "label": "Status", "type": "enumeration", "fieldType": "select",
             "options": [
                {"label": "Draft", "value": "draft", "displayOrder": 0, "hidden": false},
                {"label": "Sent", "value": "sent", "displayOrder": 1, "hidden": false},
                {"label": "Paid", "value": "paid", "displayOrder": 2, "hidden": false},
                {"label": "Void", "value": "Void", "displayOrder": 3, "hidden": false}]},
        ],
        "associatedObjects": ["COMPANY"],
    });
    let hubspot =
        sfhs_hubspot::HubSpotClient::new(sfhs_tests::portal::client_config(&s.hubspot.base_url()))
            .unwrap();
    hubspot.create_schema(&schema).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let answers = dir.path().join("answers.yaml");
    std::fs::write(
        &answers,
        "objects:\n  - {salesforce: Invoice__c, hubspot: p12345678_bill, associations: none}\n",
    )
    .unwrap();
    let d = dir.path().join("m");
    let o = sfhs(&s, &["setup", d.to_str().unwrap(), "--answers", answers.to_str().unwrap()]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("maps to the existing HubSpot object p12345678_bill"), "{out}");
    assert!(
        out.contains("3 field(s) paired with p12345678_bill's properties by name and type; the Salesforce id in sf_id"),
        "{out}"
    );
    assert!(!out.contains("not mapped: Status__c"), "{out}");
    assert!(
        out.contains("not mapped: Tax_Rate__c: p12345678_bill has no property tax_rate"),
        "{out}"
    );
    let (_, m) = read(dir.path(), "m/invoice__c.yaml");
    assert_eq!(m.id_property, "sf_id");
    let pairs: Vec<(&str, &str)> =
        m.fields.iter().map(|f| (f.salesforce.as_str(), f.hubspot.as_str())).collect();
    assert_eq!(pairs, [("Name", "name"), ("Status__c", "status"), ("Amount__c", "amount")]);
    let status = &m.fields[1];
    assert_eq!(status.value_map.get("Draft").map(String::as_str), Some("draft"));
    assert_eq!(status.value_map.get("Paid").map(String::as_str), Some("paid"));
}
