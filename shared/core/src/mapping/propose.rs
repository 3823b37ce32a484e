//! The field pairs proposed for an existing HubSpot object (the wizard's field-mapping screen):
//! each Salesforce field paired with the property of the same name (as the schema generator
//! names it, or ignoring case and underscores) when its type can be written there; a picklist's
//! values matched to the property's options, ignoring case, through a value map; and, for each
//! field or required property left without a partner, why.

use super::generate::{mapped_fields, property_name};
use super::model::{FieldMapping, TooLong};
use super::schema::{HsObject, HsProperty, SfField, SfObject, SfType};
use super::value::compatible;

/// What the proposal pairs, and what it leaves out, each with the reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proposal {
    pub fields: Vec<FieldMapping>,
    /// Sentences for people: a field without a property, a type that does not fit, picklist
    /// values without an option, a required property nothing feeds.
    pub unmapped: Vec<String>,
}

fn loose(name: &str) -> String {
    name.strip_suffix("__c")
        .unwrap_or(name)
        .chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The pairs for `sf` into `hs`, whose `id_property` holds the Salesforce id.
pub fn propose_fields(sf: &SfObject, hs: &HsObject, id_property: &str) -> Proposal {
    let mut p = Proposal::default();
    let writable = |prop: &&HsProperty| {
        !prop.read_only && prop.name != id_property && !prop.name.starts_with("hs_")
    };
    for (field, _) in mapped_fields(sf) {
        let wanted = property_name(&field.name);
        let Some(prop) = hs
            .properties
            .iter()
            .filter(writable)
            .filter(|prop| !p.fields.iter().any(|f| f.hubspot == prop.name))
            .find(|prop| prop.name == wanted || loose(&prop.name) == loose(&field.name))
        else {
            p.unmapped.push(format!(
                "{}: {} has no property {wanted} (or one named alike); map it in the file to another",
                field.name, hs.fully_qualified_name
            ));
            continue;
        };
        if !compatible(&field.sf_type, prop) {
            p.unmapped.push(format!(
                "{}: a {} field cannot be written to {} ({:?}/{}); left out",
                field.name,
                field.sf_type.name(),
                prop.name,
                prop.hs_type,
                prop.field_type
            ));
            continue;
        }
        let mut pair = FieldMapping {
            salesforce: field.name.clone(),
            hubspot: prop.name.clone(),
            value_map: Default::default(),
            default: None,
            on_too_long: TooLong::Error,
        };
        options(field, prop, &mut pair, &mut p.unmapped);
        p.fields.push(pair);
    }
    for required in &hs.required_properties {
        if required != id_property && !p.fields.iter().any(|f| &f.hubspot == required) {
            p.unmapped.push(format!(
                "{required}: HubSpot requires it and no field of {} matches it; map one in the file",
                sf.name
            ));
        }
    }
    p
}

/// A picklist's values into an enumeration's options: the same value, else the option equal to
/// it ignoring case (through the value map), else named as without an option.
fn options(
    field: &SfField,
    prop: &HsProperty,
    pair: &mut FieldMapping,
    unmapped: &mut Vec<String>,
) {
    if !matches!(field.sf_type, SfType::Picklist | SfType::Multipicklist) || prop.options.is_empty()
    {
        return;
    }
    let mut missing = Vec::new();
    for value in &field.picklist_values {
        if prop.options.contains(value) {
            continue;
        }
        match prop.options.iter().find(|o| o.eq_ignore_ascii_case(value)) {
            Some(option) => {
                pair.value_map.insert(value.clone(), option.clone());
            }
            None => missing.push(value.as_str()),
        }
    }
    if !missing.is_empty() {
        unmapped.push(format!(
            "{}: the values {} have no option in {}; add them in HubSpot, or map them in the file's value_map",
            field.name,
            missing.join(", "),
            prop.name
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::schema::HsType;

    fn field(name: &str, t: SfType, picklist: &[&str]) -> SfField {
        SfField {
            name: name.into(),
            sf_type: t,
            reference_to: vec![],
            picklist_values: picklist.iter().map(|v| (*v).to_owned()).collect(),
            length: None,
        }
    }

    fn prop(name: &str, t: HsType, field_type: &str, options: &[&str]) -> HsProperty {
        HsProperty {
            name: name.into(),
            hs_type: t,
            field_type: field_type.into(),
            options: options.iter().map(|v| (*v).to_owned()).collect(),
            has_unique_value: false,
            read_only: false,
        }
    }

    #[test]
    fn fields_pair_by_name_and_type_and_what_does_not_is_explained() {
        let sf = SfObject {
            name: "Invoice__c".into(),
            fields: vec![
                field("Id", SfType::Id, &[]),
                field("Name", SfType::String, &[]),
                field("Amount__c", SfType::Currency, &[]),
                field("Due_Date__c", SfType::Date, &[]),
                field("Status__c", SfType::Picklist, &["Draft", "Sent", "Void"]),
                field("Notes__c", SfType::Textarea, &[]),
                field("Paid__c", SfType::Boolean, &[]),
            ],
        };
        let hs = HsObject {
            object_type_id: "2-9".into(),
            fully_qualified_name: "p1_bill".into(),
            properties: vec![
                prop("sf_id", HsType::String, "text", &[]),
                prop("name", HsType::String, "text", &[]),
                prop("amount", HsType::String, "select", &[]),
                prop("duedate", HsType::Date, "date", &[]),
                prop("status", HsType::Enumeration, "select", &["draft", "Sent"]),
                prop("paid", HsType::Bool, "booleancheckbox", &[]),
                prop("hs_object_id", HsType::Number, "number", &[]),
                prop("owner", HsType::String, "text", &[]),
            ],
            required_properties: vec!["name".into(), "owner".into()],
            associated_objects: vec![],
        };
        let p = propose_fields(&sf, &hs, "sf_id");
        let pairs: Vec<(&str, &str)> =
            p.fields.iter().map(|f| (f.salesforce.as_str(), f.hubspot.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("Name", "name"),
                ("Due_Date__c", "duedate"),
                ("Status__c", "status"),
                ("Paid__c", "paid")
            ]
        );
        let status = &p.fields[2];
        assert_eq!(status.value_map.get("Draft").map(String::as_str), Some("draft"));
        assert_eq!(status.value_map.len(), 1);
        assert_eq!(
            p.unmapped,
            [
                "Amount__c: a currency field cannot be written to amount (String/select); left out",
                "Status__c: the values Void have no option in status; add them in HubSpot, or map them in the file's value_map",
                "Notes__c: p1_bill has no property notes (or one named alike); map it in the file to another",
                "owner: HubSpot requires it and no field of Invoice__c matches it; map one in the file",
            ]
        );
    }
}
