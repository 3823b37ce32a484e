//! A HubSpot custom-object schema and a starter mapping built from a Salesforce describe: the
//! seed's "create the custom object in HubSpot first", done from the source of truth.

use serde_json::{Value, json};

use super::model::{
    AssociationMapping, FieldMapping, FindParentBy, Mapping, OnDelete, State, TooLong,
};
use super::schema::{SfField, SfObject, SfType};

/// The property that holds the Salesforce id in generated schemas.
pub const ID_PROPERTY: &str = "salesforce_id";

/// Salesforce system fields that are not worth a HubSpot property.
const SKIPPED: &[&str] = &[
    "Id",
    "IsDeleted",
    "CreatedById",
    "LastModifiedById",
    "OwnerId",
    "LastActivityDate",
    "LastViewedDate",
    "LastReferencedDate",
    "SystemModstamp",
    "CreatedDate",
    "LastModifiedDate",
];

/// A HubSpot object name from a Salesforce API name: `acme__Shipment__c` -> `acme_shipment`.
pub fn object_name(salesforce_object: &str) -> String {
    let base = salesforce_object.strip_suffix("__c").unwrap_or(salesforce_object);
    let mut name: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    while name.contains("__") {
        name = name.replace("__", "_");
    }
    let name = name.trim_matches('_').to_owned();
    if name.starts_with(|c: char| c.is_ascii_alphabetic()) { name } else { format!("sf_{name}") }
}

/// A HubSpot property name from a Salesforce field name (`Due_Date__c` -> `due_date`).
pub fn property_name(field: &str) -> String {
    object_name(field)
}

/// (type, fieldType) for a Salesforce field, or `None` when it should not become a property.
fn hubspot_type(f: &SfField) -> Option<(&'static str, &'static str)> {
    Some(match f.sf_type {
        SfType::String
        | SfType::Email
        | SfType::Url
        | SfType::Combobox
        | SfType::Encryptedstring => ("string", "text"),
        SfType::Textarea => ("string", "textarea"),
        SfType::Phone => ("string", "phonenumber"),
        SfType::Picklist => ("enumeration", "select"),
        SfType::Multipicklist => ("enumeration", "checkbox"),
        SfType::Boolean => ("bool", "booleancheckbox"),
        SfType::Double | SfType::Currency | SfType::Percent | SfType::Int | SfType::Long => {
            ("number", "number")
        }
        SfType::Date => ("date", "date"),
        SfType::Datetime => ("datetime", "date"),
        SfType::Time => ("string", "text"),
        SfType::Id
        | SfType::Reference
        | SfType::Base64
        | SfType::Address
        | SfType::Location
        | SfType::Other(_) => return None,
    })
}

pub(crate) fn mapped_fields(
    sf: &SfObject,
) -> impl Iterator<Item = (&SfField, (&'static str, &'static str))> {
    sf.fields
        .iter()
        .filter(|f| !SKIPPED.iter().any(|s| s.eq_ignore_ascii_case(&f.name)))
        .filter_map(|f| hubspot_type(f).map(|t| (f, t)))
}

fn label(name: &str) -> String {
    name.strip_suffix("__c").unwrap_or(name).replace('_', " ")
}

/// The schema to POST to HubSpot's schemas endpoint.
pub fn hubspot_schema(sf: &SfObject, name: &str) -> Value {
    let mut properties = vec![json!({
        "name": ID_PROPERTY, "label": "Salesforce ID", "type": "string", "fieldType": "text",
        "hasUniqueValue": true
    })];
    for (f, (t, ft)) in mapped_fields(sf) {
        let mut p = json!({"name": property_name(&f.name), "label": label(&f.name), "type": t, "fieldType": ft});
        if t == "enumeration" {
            p["options"] = f
                .picklist_values
                .iter()
                .enumerate()
                // HubSpot's OptionInput requires all four (its SDK refuses the schema otherwise).
                .map(|(i, v)| json!({"label": v, "value": v, "displayOrder": i, "hidden": false}))
                .collect();
        }
        properties.push(p);
    }
    let primary = if sf.field("Name").is_some() { "name" } else { ID_PROPERTY };
    // Lookups to standard objects that HubSpot's own integration syncs become association types.
    let mut associated: Vec<&str> = sf
        .fields
        .iter()
        .filter(|f| f.sf_type == SfType::Reference)
        .flat_map(|f| f.reference_to.iter())
        .filter_map(|target| match target.as_str() {
            "Account" => Some("COMPANY"),
            "Contact" | "Lead" => Some("CONTACT"),
            "Opportunity" => Some("DEAL"),
            "Case" => Some("TICKET"),
            _ => None,
        })
        .collect();
    associated.sort_unstable();
    associated.dedup();
    json!({
        "name": name,
        "labels": {"singular": label(&sf.name), "plural": format!("{}s", label(&sf.name))},
        "primaryDisplayProperty": primary,
        "requiredProperties": [primary],
        "searchableProperties": [primary, ID_PROPERTY],
        "properties": properties,
        "associatedObjects": associated,
    })
}

/// The lookups of `sf` a starter mapping associates, each with where its parent lives in
/// HubSpot: an account's company and a contact by the Salesforce id HubSpot's own integration
/// keeps on them; another Salesforce object through its mapping, in the HubSpot object
/// `hubspot_of` names for it (a lookup whose object has none yet, or that may point to several
/// objects, is left out).
pub fn starter_associations(
    sf: &SfObject,
    hubspot_of: impl Fn(&str) -> Option<String>,
) -> Vec<AssociationMapping> {
    sf.fields
        .iter()
        .filter(|f| f.sf_type == SfType::Reference)
        .filter(|f| !SKIPPED.iter().any(|s| s.eq_ignore_ascii_case(&f.name)))
        .filter_map(|f| {
            let [target] = f.reference_to.as_slice() else {
                return None;
            };
            let (to, find_parent_by) = match target.as_str() {
                "Account" => {
                    ("companies".to_owned(), FindParentBy::Property("salesforceaccountid".into()))
                }
                "Contact" => {
                    ("contacts".to_owned(), FindParentBy::Property("salesforcecontactid".into()))
                }
                other => (hubspot_of(other)?, FindParentBy::Mapping(other.to_owned())),
            };
            Some(AssociationMapping { lookup: f.name.clone(), to, find_parent_by, label: None })
        })
        .collect()
}

/// The other Salesforce objects `sf`'s lookups point to (one target each), in field order.
pub fn lookup_targets(sf: &SfObject) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for f in sf.fields.iter().filter(|f| f.sf_type == SfType::Reference) {
        if let [target] = f.reference_to.as_slice()
            && !SKIPPED.iter().any(|s| s.eq_ignore_ascii_case(&f.name))
            && !out.contains(&target.as_str())
        {
            out.push(target);
        }
    }
    out
}

/// A mapping of every generated property, paused, for the operator to review; `associations`
/// from [`starter_associations`].
pub fn starter_mapping(
    sf: &SfObject,
    hubspot_object: &str,
    associations: Vec<AssociationMapping>,
) -> Mapping {
    Mapping {
        salesforce_object: sf.name.clone(),
        hubspot_object: hubspot_object.to_owned(),
        id_property: ID_PROPERTY.to_owned(),
        version_field: if sf.field("SystemModstamp").is_some() {
            "SystemModstamp"
        } else {
            "LastModifiedDate"
        }
        .to_owned(),
        on_delete: OnDelete::Archive,
        state: State::Paused,
        fields: mapped_fields(sf)
            .map(|(f, _)| FieldMapping {
                salesforce: f.name.clone(),
                hubspot: property_name(&f.name),
                value_map: Default::default(),
                default: None,
                on_too_long: TooLong::Error,
            })
            .collect(),
        associations,
        salesforce_trigger: None,
    }
}
