//! Every outbound message published by other projects (tests/fixtures/salesforce), read as it is.

use serde_json::{Value, json};
use sfhs_core::outbound::{DEFAULT_MAX_BODY_BYTES, OutboundError, parse};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/salesforce/",
            $name
        ))
    };
}

fn read(bytes: &[u8]) -> Value {
    serde_json::to_value(parse(bytes, DEFAULT_MAX_BODY_BYTES).expect("fixture parses"))
        .expect("serialises")
}

#[test]
fn two_contacts_with_a_session_id_and_no_declaration() {
    let v = read(fixture!("om_contact_2notifications_aspnetcore.xml"));
    assert_eq!(
        v,
        json!({
            "organization_id": "012345678901234",
            "action_id": "04k1I000000bmsHQAQ",
            "has_session_id": true,
            "enterprise_url": "https://na73.salesforce.com/services/Soap/c/41.0/00D1I000003qqqE",
            "partner_url": "https://na73.salesforce.com/services/Soap/u/41.0/00D1I000003qqqE",
            "notifications": [
                {"id": "04l1I000000fztEQAQ", "sobject": "Contact", "record_id": "0031I0000081tbPQAQ",
                 "fields": {"CreatedDate": "2017-12-11T21:49:24.000Z", "FirstName": "Jeraldine",
                            "LastName": "Black", "Title": "White"}},
                {"id": "04l1I000000fzt9QAA", "sobject": "Contact", "record_id": "0031I0000081tb0QAA",
                 "fields": {"CreatedDate": "2017-12-11T21:44:55.000Z", "Email": "drb24@cornell.edu",
                            "FirstName": "Doug", "LastName": "Bunting", "Title": "Supreme Being"}}
            ]
        })
    );
}

#[test]
fn the_session_id_is_never_kept() {
    let bytes = fixture!("om_contact_2notifications_aspnetcore.xml");
    let message = parse(bytes, DEFAULT_MAX_BODY_BYTES).unwrap();
    let printed = format!("{message:?} {}", serde_json::to_string(&message).unwrap());
    assert!(message.has_session_id);
    assert!(!printed.contains("AQsAQOjGFnFJzGPA12yhUGL9Aii0N6lADjH2bNUBHRer5QjjTq3"));
}

#[test]
fn three_leads_of_three_types_behind_a_bom() {
    let v = read(fixture!("om_lead_3notifications_bom_aspnet.xml"));
    assert_eq!(v["organization_id"], "0123456789ABCDENNN");
    assert_eq!(v["has_session_id"], true);
    let n = v["notifications"].as_array().unwrap();
    let types: Vec<&str> = n.iter().map(|n| n["sobject"].as_str().unwrap()).collect();
    assert_eq!(types, ["Lead1", "Lead2", "Lead3"]);
    let ids: Vec<&str> = n.iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["04l37000000L0E5AAK", "14l37000123L0E5AAK", "24l37123450L0E5AAK"]);
    assert_eq!(n[2]["record_id"], "2123456789ABCDEEAE");
    for notification in n {
        assert_eq!(notification["fields"].as_object().unwrap().len(), 27);
    }
    assert_eq!(n[0]["fields"]["Status"], "Open - Not Contacted");
    assert_eq!(n[0]["fields"]["IsConverted"], "false");
    assert_eq!(n[2]["fields"]["FirstName"], "Nora");
    let first_keys: Vec<&String> = n[0]["fields"].as_object().unwrap().keys().take(3).collect();
    assert_eq!(first_keys, ["City", "CleanStatus", "Company"], "document order is kept");
}

#[test]
fn an_empty_notifications_element_is_refused() {
    let err = parse(fixture!("om_empty_notifications_bom_aspnet.xml"), DEFAULT_MAX_BODY_BYTES)
        .unwrap_err();
    assert!(matches!(err, OutboundError::NoNotifications), "{err}");
}

#[test]
fn a_bulk_edit_of_three_contacts_without_session() {
    let v = read(fixture!("om_contact_batch3_update_ampersand.xml"));
    assert_eq!(v["has_session_id"], false);
    assert_eq!(v["action_id"], "04kxx00000000blBAA");
    let records: Vec<&str> = v["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["record_id"].as_str().unwrap())
        .collect();
    assert_eq!(records, ["003xx000004TmiQAAS", "003xx000004TmiRAAS", "003xx000004TmiSAAS"]);
    assert_eq!(v["notifications"][1]["fields"]["LastModifiedDate"], "2026-09-09T00:41:57.000Z");
}

#[test]
fn a_null_field_is_absent_and_a_populated_one_present() {
    let null = read(fixture!("om_account_null_field_omitted_ampersand.xml"));
    let fields = null["notifications"][0]["fields"].as_object().unwrap();
    assert!(!fields.contains_key("Industry"));
    assert_eq!(fields.len(), 2);

    let set = read(fixture!("om_account_field_populated_ampersand.xml"));
    assert_eq!(set["notifications"][0]["fields"]["Industry"], "Agriculture");
    assert_eq!(set["notifications"][0]["sobject"], "Account");
    assert_eq!(set["notifications"][0]["record_id"], "001xx000003DGb4AAG");
}

#[test]
fn a_one_line_opportunity_with_a_lookup_and_currency() {
    let v = read(fixture!("om_opportunity_compact_oneline_ejangi.xml"));
    assert_eq!(
        v["notifications"][0],
        json!({"id": "04l7F000008aeAyQAI", "sobject": "Opportunity", "record_id": "0067F000003pmdWQAQ",
               "fields": {"AccountId": "0017F000007ydJmQAI", "Amount": "120000.0", "CloseDate": "2017-04-03",
                          "LeadSource": "Phone Inquiry", "Name": "Express Logistics SLA",
                          "StageName": "Perception Analysis"}})
    );
    assert_eq!(v["has_session_id"], false);
}
