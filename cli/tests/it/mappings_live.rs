//! `sfhs mappings` against the live side: the real binary talking over HTTP to the HubSpot and
//! Salesforce simulators. Schema generation, validation against both, preview.

use std::process::Output;

use crate::common::{live_env, sfhs_bin};
use sfhs_hubspot_sim::HubSpotSim;
use sfhs_salesforce_sim::{SeedSize, SimBuilder};

struct Sims {
    hubspot: String,
    salesforce: String,
    _hs: sfhs_hubspot_sim::RunningSim,
    _sf: sfhs_salesforce_sim::Sim,
}

async fn sims() -> Sims {
    let hs = HubSpotSim::builder().start().await.expect("hubspot sim");
    let sf = SimBuilder::new()
        .seed_size(SeedSize { accounts: 5, invoices: 12, lines: 10, shipments: 2 })
        .start()
        .await
        .expect("salesforce sim");
    Sims { hubspot: hs.base_url(), salesforce: sf.base_url().to_owned(), _hs: hs, _sf: sf }
}

fn sfhs(s: &Sims, args: &[&str]) -> Output {
    live_env(&mut sfhs_bin(), &s.hubspot, &s.salesforce, "http://127.0.0.1:9/outbound")
        .args(args)
        .output()
        .expect("run sfhs")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn examples() -> String {
    format!("{}/../examples/mappings", env!("CARGO_MANIFEST_DIR"))
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_the_objects_then_the_examples_validate_and_preview() {
    let s = sims().await;

    // Before the HubSpot objects exist, validation says so and how to create them.
    let o = sfhs(&s, &["mappings", "validate", &examples()]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("HubSpot has no object p12345678_invoice"), "{}", err(&o));
    assert!(err(&o).contains("schema-generate"));

    // The schema printed from the describe, then created.
    let o = sfhs(&s, &["mappings", "schema-generate", "Invoice__c"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let schema: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(schema["name"], "invoice");
    let props = schema["properties"].as_array().unwrap();
    let unique: Vec<&str> = props
        .iter()
        .filter(|p| p["hasUniqueValue"] == true)
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(unique, ["salesforce_id"]);
    let status = props.iter().find(|p| p["name"] == "status").unwrap();
    assert_eq!(status["type"], "enumeration");
    assert!(
        props.iter().all(|p| p["name"] != "account"),
        "lookups become associations, not properties"
    );

    // The line first: its lookup's object has no HubSpot object yet, which it says.
    let o = sfhs(&s, &["mappings", "schema-generate", "Invoice_Line__c", "--create"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("created p12345678_invoice_line"), "{}", out(&o));
    assert!(
        out(&o).contains("Invoice__c has no HubSpot object yet: generate it (`sfhs mappings schema-generate Invoice__c --create`), then run this again"),
        "{}",
        out(&o)
    );
    let o = sfhs(&s, &["mappings", "schema-generate", "Invoice__c", "--create"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("created p12345678_invoice "), "{}", out(&o));
    // Again: the object exists; the association to the invoice is defined now, once.
    for _ in 0..2 {
        let o = sfhs(&s, &["mappings", "schema-generate", "Invoice_Line__c", "--create"]);
        assert_eq!(o.status.code(), Some(0), "{}", err(&o));
        assert!(out(&o).contains("exists already"), "{}", out(&o));
        assert!(out(&o).contains("associated with p12345678_invoice\n"), "{}", out(&o));
    }
    let hubspot =
        sfhs_hubspot::HubSpotClient::new(sfhs_tests::portal::client_config(&s.hubspot)).unwrap();
    for (from, to) in [
        ("p12345678_invoice_line", "p12345678_invoice"),
        ("p12345678_invoice", "p12345678_invoice_line"),
    ] {
        let labels = hubspot.association_labels(from, to).await.unwrap();
        assert_eq!(labels.len(), 1, "{from} -> {to}: {labels:?}");
    }

    // Now both sides exist; Salesforce is set up from the mappings (outbound messages and
    // flows): the examples are valid against the live schemas and the live outbound messages.
    let o = sfhs(&s, &["salesforce", "apply", &examples()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let o = sfhs(&s, &["mappings", "validate", &examples()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));

    // A starter mapping comes out valid YAML naming the created object.
    let o = sfhs(&s, &["mappings", "schema-generate", "Invoice__c", "--mapping"]);
    assert!(out(&o).contains("hubspot_object: p12345678_invoice\n"), "{}", out(&o));
    assert!(out(&o).contains("state: paused"));
    // Its lookup to Account as the company HubSpot's own integration keeps the account id on.
    let starter: sfhs_core::mapping::Mapping = serde_norway::from_str(&out(&o)).unwrap();
    assert_eq!(
        serde_json::to_value(&starter.associations).unwrap(),
        serde_json::json!([{"lookup": "Account__c", "to": "companies",
            "find_parent_by": {"property": "salesforceaccountid"}}])
    );
    // The line's lookup to the invoice through the invoice's mapping, in its HubSpot object.
    let o = sfhs(&s, &["mappings", "schema-generate", "Invoice_Line__c", "--mapping"]);
    let starter: sfhs_core::mapping::Mapping = serde_norway::from_str(&out(&o)).unwrap();
    assert_eq!(
        serde_json::to_value(&starter.associations).unwrap(),
        serde_json::json!([{"lookup": "Invoice__c", "to": "p12345678_invoice",
            "find_parent_by": {"mapping": "Invoice__c"}}])
    );

    // Preview: live sample records turned into the exact upsert request; all new.
    let o = sfhs(
        &s,
        &["mappings", "preview", "Invoice__c", "--dir", &examples(), "--limit", "3", "--json"],
    );
    assert_eq!(o.status.code(), Some(0), "{}\n{}", out(&o), err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let inputs = v["request"]["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 3);
    for i in inputs {
        assert_eq!(i["idProperty"], "salesforce_id");
        assert_eq!(i["properties"]["salesforce_id"], i["id"]);
        assert!(i["properties"]["name"].is_string());
        let amount = i["properties"]["amount"].as_str().unwrap();
        assert!(amount.is_empty() || amount.parse::<f64>().is_ok(), "{amount}");
    }
    assert!(v["changes"].as_array().unwrap().iter().all(|c| c["change"] == "create"));
}

#[tokio::test(flavor = "multi_thread")]
async fn live_validation_catches_what_only_the_live_schemas_know() {
    let s = sims().await;
    let o = sfhs(&s, &["mappings", "schema-generate", "Invoice__c", "--create"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));

    let dir = std::env::temp_dir().join(format!("sfhs-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("invoice.yaml"),
        r#"
salesforce_object: Invoice__c
hubspot_object: p12345678_invoice
id_property: name
state: enabled
fields:
  - { salesforce: Amount__c, hubspot: paid }
  - { salesforce: Nope__c, hubspot: amount }
  - { salesforce: Status__c, hubspot: status, value_map: { Void: cancelled } }
  - { salesforce: Account__c, hubspot: notes }
associations:
  - { lookup: Paid__c, to: companies, find_parent_by: { property: salesforceaccountid } }
"#,
    )
    .unwrap();
    let o = sfhs(&s, &["mappings", "validate", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = err(&o);
    for expected in [
        "id_property: property name is not unique",
        "fields[0]: Salesforce Amount__c (currency) cannot be written to HubSpot paid",
        "fields[1].salesforce: Invoice__c has no field Nope__c",
        "fields[2].value_map: active picklist value \"Void\" has no option in status",
        "fields[3].salesforce: Account__c is a lookup",
        "associations[0].lookup: Paid__c is a boolean, not a lookup",
    ] {
        assert!(e.contains(expected), "missing {expected:?} in\n{e}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
