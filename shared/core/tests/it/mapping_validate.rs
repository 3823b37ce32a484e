//! Mapping validation, rule by rule: offline, and against live schemas given as domain values
//! (the CLI fills them from HubSpot and Salesforce).

use sfhs_core::mapping::schema::{HsObject, HsProperty, HsType, SfField, SfObject, SfType};
use sfhs_core::mapping::validate::{
    Live, Lookup, Source, has_errors, validate_live, validate_offline,
};
use sfhs_core::mapping::{Mapping, Severity, parse_yaml};

const INVOICE: &str = include_str!("../../../../examples/mappings/invoice.yaml");
const LINE: &str = include_str!("../../../../examples/mappings/invoice_line.yaml");

fn load(file: &str, text: &str) -> Mapping {
    parse_yaml(file, text).unwrap_or_else(|p| panic!("{p}"))
}

fn paths(problems: &[sfhs_core::mapping::Problem]) -> Vec<String> {
    problems.iter().map(|p| format!("{}:{}", p.file, p.path)).collect()
}

#[test]
fn the_examples_are_valid_offline() {
    let invoice = load("invoice.yaml", INVOICE);
    let line = load("invoice_line.yaml", LINE);
    let problems = validate_offline(&[
        Source { file: "invoice.yaml", mapping: &invoice },
        Source { file: "invoice_line.yaml", mapping: &line },
    ]);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(invoice.version_field, "SystemModstamp");
    assert_eq!(line.version_field, "SystemModstamp", "the default");
}

#[test]
fn yaml_errors_name_the_line_and_unknown_keys_are_refused() {
    let p = parse_yaml("bad.yaml", "salesforce_object: X\nhubspot_objekt: y\n").unwrap_err();
    assert!(p.message.contains("hubspot_objekt"), "{p}");
    assert!(p.path.contains("line 2"), "{p}");
    let p = parse_yaml("bad.yaml", "fields: [\n").unwrap_err();
    assert_eq!(p.severity, Severity::Error);
}

#[test]
fn every_offline_problem_is_reported_at_once() {
    let text = r#"
salesforce_object: Invoice__c
hubspot_object: "not an object"
id_property: salesforce_id
fields:
  - { salesforce: Name, hubspot: name }
  - { salesforce: name, hubspot: other }
  - { salesforce: Amount__c, hubspot: name }
  - { salesforce: Id, hubspot: x }
  - { salesforce: Total__c, hubspot: salesforce_id }
  - { salesforce: Account__c, hubspot: account }
associations:
  - { lookup: Account__c, to: companies, find_parent_by: { property: salesforceaccountid } }
  - { lookup: Account__c, to: companies, find_parent_by: { mapping: Account } }
"#;
    let m = load("a.yaml", text);
    let dup = load(
        "b.yaml",
        "salesforce_object: invoice__c\nhubspot_object: 2-1\nid_property: x\nfields: []\n",
    );
    let problems = validate_offline(&[
        Source { file: "a.yaml", mapping: &m },
        Source { file: "b.yaml", mapping: &dup },
    ]);
    let p = paths(&problems);
    for expected in [
        "a.yaml:hubspot_object",
        "a.yaml:fields[1].salesforce",
        "a.yaml:fields[2].hubspot",
        "a.yaml:fields[3].salesforce",
        "a.yaml:fields[4].hubspot",
        "a.yaml:fields[5].salesforce",
        "a.yaml:associations[1].lookup",
        "a.yaml:associations[1].find_parent_by.mapping",
        "b.yaml:salesforce_object",
        "b.yaml:fields",
    ] {
        assert!(p.contains(&expected.to_owned()), "missing {expected} in {p:#?}");
    }
    assert!(has_errors(&problems));
    let warning = problems.iter().find(|p| p.path == "fields" && p.file == "b.yaml").unwrap();
    assert_eq!(warning.severity, Severity::Warning);
    assert!(problems.iter().all(|p| !p.fix.is_empty()));
}

fn hs_prop(name: &str, t: HsType, ft: &str, options: &[&str], unique: bool) -> HsProperty {
    HsProperty {
        name: name.into(),
        hs_type: t,
        field_type: ft.into(),
        options: options.iter().map(|s| (*s).to_owned()).collect(),
        has_unique_value: unique,
        read_only: false,
    }
}

fn sf_field(name: &str, t: SfType, refs: &[&str], picklist: &[&str]) -> SfField {
    SfField {
        name: name.into(),
        sf_type: t,
        reference_to: refs.iter().map(|s| (*s).to_owned()).collect(),
        picklist_values: picklist.iter().map(|s| (*s).to_owned()).collect(),
        length: None,
    }
}

fn invoice_schema() -> HsObject {
    HsObject {
        object_type_id: "2-101".into(),
        fully_qualified_name: "p12345678_invoice".into(),
        properties: vec![
            hs_prop("salesforce_id", HsType::String, "text", &[], true),
            hs_prop("name", HsType::String, "text", &[], false),
            hs_prop("amount", HsType::Number, "number", &[], false),
            hs_prop("issue_date", HsType::Date, "date", &[], false),
            hs_prop(
                "status",
                HsType::Enumeration,
                "select",
                &["Draft", "Sent", "Paid", "Void"],
                false,
            ),
            hs_prop(
                "channels",
                HsType::Enumeration,
                "checkbox",
                &["Email", "Portal", "Post"],
                false,
            ),
            hs_prop("paid", HsType::Bool, "booleancheckbox", &[], false),
            hs_prop("paid_at", HsType::Datetime, "date", &[], false),
            hs_prop("notes", HsType::String, "textarea", &[], false),
        ],
        required_properties: vec!["name".into()],
        associated_objects: vec!["0-2".into()],
    }
}

fn invoice_describe() -> SfObject {
    SfObject {
        name: "Invoice__c".into(),
        fields: vec![
            sf_field("Id", SfType::Id, &[], &[]),
            sf_field("Name", SfType::String, &[], &[]),
            sf_field("Amount__c", SfType::Currency, &[], &[]),
            sf_field("Issue_Date__c", SfType::Date, &[], &[]),
            sf_field("Status__c", SfType::Picklist, &[], &["Draft", "Sent", "Paid", "Void"]),
            sf_field("Channels__c", SfType::Multipicklist, &[], &["Email", "Portal", "Post"]),
            sf_field("Paid__c", SfType::Boolean, &[], &[]),
            sf_field("Paid_At__c", SfType::Datetime, &[], &[]),
            sf_field("Notes__c", SfType::Textarea, &[], &[]),
            sf_field("Account__c", SfType::Reference, &["Account"], &[]),
            sf_field("SystemModstamp", SfType::Datetime, &[], &[]),
        ],
    }
}

fn companies() -> HsObject {
    HsObject {
        object_type_id: "0-2".into(),
        fully_qualified_name: "companies".into(),
        properties: vec![hs_prop("salesforceaccountid", HsType::String, "text", &[], false)],
        required_properties: vec![],
        associated_objects: vec![],
    }
}

#[test]
fn the_example_is_valid_against_matching_live_schemas() {
    let m = load("invoice.yaml", INVOICE);
    let (hs, sf, targets) = (invoice_schema(), invoice_describe(), [companies()]);
    let natively = ["Account".to_owned()];
    let fields: Vec<String> = [
        "Name",
        "Amount__c",
        "Issue_Date__c",
        "Status__c",
        "Channels__c",
        "Paid__c",
        "Paid_At__c",
        "Notes__c",
        "Account__c",
        "SystemModstamp",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let live = Live {
        hubspot: Lookup::Found(&hs),
        salesforce: Lookup::Found(&sf),
        association_targets: &targets,
        natively_synced: &natively,
        outbound_fields: Some(&fields),
    };
    let src = Source { file: "invoice.yaml", mapping: &m };
    let problems = validate_live(&src, &live, std::slice::from_ref(&src));
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_live_problem_is_reported_with_a_fix() {
    let m = load("invoice.yaml", INVOICE);
    let mut hs = invoice_schema();
    hs.properties[0].has_unique_value = false; // id property not unique
    hs.properties.retain(|p| p.name != "issue_date"); // a target property vanished
    hs.properties.iter_mut().find(|p| p.name == "status").unwrap().options =
        vec!["Draft".into(), "Sent".into(), "Paid".into()]; // Void has nowhere to go
    hs.properties.iter_mut().find(|p| p.name == "amount").unwrap().hs_type = HsType::Bool; // incompatible
    hs.properties.iter_mut().find(|p| p.name == "amount").unwrap().field_type =
        "booleancheckbox".into();
    hs.required_properties.push("region".into()); // a required property is not mapped
    let mut sf = invoice_describe();
    sf.fields.retain(|f| f.name != "Notes__c"); // a source field does not exist
    sf.fields.iter_mut().find(|f| f.name == "Account__c").unwrap().reference_to =
        vec!["Customer__c".into()]; // parent does not sync
    let fields: Vec<String> = vec!["Name".into(), "SystemModstamp".into()]; // outbound message lacks fields
    let targets = [companies()];
    let live = Live {
        hubspot: Lookup::Found(&hs),
        salesforce: Lookup::Found(&sf),
        association_targets: &targets,
        natively_synced: &["Account".to_owned()],
        outbound_fields: Some(&fields),
    };
    let src = Source { file: "invoice.yaml", mapping: &m };
    let problems = validate_live(&src, &live, std::slice::from_ref(&src));
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let joined = text.join("\n");
    for expected in [
        "id_property: property salesforce_id is not unique",
        "fields: HubSpot requires property region",
        "fields[2].hubspot: p12345678_invoice has no property issue_date",
        "fields[3].value_map: active picklist value \"Void\" has no option in status",
        "fields[1]: Salesforce Amount__c (currency) cannot be written to HubSpot amount",
        "fields[7].salesforce: Invoice__c has no field Notes__c",
        "associations[0].lookup: Account__c points to Customer__c, which does not sync",
        "fields[1].salesforce: the outbound message does not send Amount__c",
        "associations[0].lookup: the outbound message does not send Account__c",
    ] {
        assert!(joined.contains(expected), "missing {expected:?} in\n{joined}");
    }
}

#[test]
fn a_missing_hubspot_object_stops_there_and_says_how_to_create_it() {
    let m = load("invoice.yaml", INVOICE);
    let live = Live {
        hubspot: Lookup::Missing,
        salesforce: Lookup::Skipped,
        association_targets: &[],
        natively_synced: &[],
        outbound_fields: None,
    };
    let src = Source { file: "invoice.yaml", mapping: &m };
    let problems = validate_live(&src, &live, std::slice::from_ref(&src));
    assert_eq!(problems.len(), 1);
    assert!(problems[0].fix.contains("schema-generate"));
}

#[test]
fn the_json_schema_describes_the_file() {
    let schema = sfhs_core::mapping::json_schema();
    let text = schema.to_string();
    for key in [
        "salesforce_object",
        "hubspot_object",
        "id_property",
        "on_delete",
        "find_parent_by",
        "value_map",
    ] {
        assert!(text.contains(key), "{key} missing from the schema");
    }
}
