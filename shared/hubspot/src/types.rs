//! The client's own types: what the sync sees of HubSpot.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::RecordFailure;

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct SchemaLabels {
    pub singular: Option<String>,
    pub plural: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PropertyOption {
    pub label: String,
    pub value: String,
}

/// A property definition.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Property {
    pub name: String,
    #[serde(default)]
    pub label: String,
    /// `bool|date|datetime|enumeration|number|phone_number|string`.
    #[serde(rename = "type", default)]
    pub type_: String,
    #[serde(default)]
    pub field_type: String,
    #[serde(default)]
    pub options: Vec<PropertyOption>,
    #[serde(default)]
    pub has_unique_value: bool,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SchemaAssociation {
    pub id: Option<String>,
    pub from_object_type_id: Option<String>,
    pub to_object_type_id: Option<String>,
    pub name: Option<String>,
}

/// A custom object schema (or a built-in object's, when HubSpot returns one).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSchema {
    pub id: Option<String>,
    pub object_type_id: String,
    pub fully_qualified_name: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub labels: SchemaLabels,
    pub primary_display_property: Option<String>,
    #[serde(default)]
    pub required_properties: Vec<String>,
    #[serde(default)]
    pub searchable_properties: Vec<String>,
    #[serde(default)]
    pub secondary_display_properties: Vec<String>,
    #[serde(default)]
    pub properties: Vec<Property>,
    #[serde(default)]
    pub associations: Vec<SchemaAssociation>,
}

impl ObjectSchema {
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name == name)
    }
}

/// A CRM record as HubSpot returns it. Values are strings; `None` is an empty value.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRecord {
    pub id: String,
    #[serde(default)]
    pub properties: BTreeMap<String, Option<String>>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    #[serde(default)]
    pub archived: bool,
    /// Set by upserts: whether the record was created.
    pub new: Option<bool>,
    /// Echoed by batch create when the input carried one.
    pub object_write_trace_id: Option<String>,
}

impl ObjectRecord {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.properties.get(name).and_then(|v| v.as_deref())
    }
}

/// One record to upsert: `id` is the value of the id property; `""` clears a property.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UpsertInput {
    pub id: String,
    pub properties: BTreeMap<String, String>,
}

impl UpsertInput {
    pub fn new<K: Into<String>, V: Into<String>>(
        id: impl Into<String>,
        props: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            id: id.into(),
            properties: props.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
        }
    }
}

/// One record to create, with the associations it is created with. `trace` becomes the input's
/// `objectWriteTraceId` (unique within a call), which lets HubSpot refuse one input and write the
/// others (207) and names the refused one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CreateInput {
    pub trace: String,
    pub properties: BTreeMap<String, String>,
    /// `(target HubSpot id, type)`; the type id names the target's object type.
    pub associations: Vec<(String, AssociationType)>,
}

/// The result of a batch operation split per input.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchOutcome<T> {
    pub successes: Vec<T>,
    pub failures: Vec<RecordFailure>,
}

impl<T> Default for BatchOutcome<T> {
    fn default() -> Self {
        Self { successes: Vec::new(), failures: Vec::new() }
    }
}

impl<T> BatchOutcome<T> {
    pub fn is_complete(&self) -> bool {
        self.failures.is_empty()
    }
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AssociationCategory {
    HubspotDefined,
    UserDefined,
    IntegratorDefined,
}

/// An association type between two object types (from the labels endpoint).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AssociationLabel {
    pub category: AssociationCategory,
    pub type_id: u32,
    pub label: Option<String>,
}

/// A type to create an association with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssociationType {
    pub association_category: AssociationCategory,
    pub association_type_id: u32,
}

impl From<&AssociationLabel> for AssociationType {
    fn from(l: &AssociationLabel) -> Self {
        Self { association_category: l.category, association_type_id: l.type_id }
    }
}

/// A pair of record ids to associate.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AssociationPair {
    pub from_id: String,
    pub to_id: String,
}

impl AssociationPair {
    pub fn new(from_id: impl Into<String>, to_id: impl Into<String>) -> Self {
        Self { from_id: from_id.into(), to_id: to_id.into() }
    }
}

/// Result of archiving by id property.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ArchiveOutcome {
    /// HubSpot ids archived.
    pub archived: Vec<String>,
    /// Id-property values no live record holds.
    pub not_found: Vec<String>,
}

/// The portal a token belongs to (`GET /account-info/.../details`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountDetails {
    /// The portal (hub) id: the `p{portal}_` of custom objects' fully qualified names.
    pub portal_id: u64,
    pub account_type: Option<String>,
    pub time_zone: Option<String>,
    pub company_currency: Option<String>,
    pub ui_domain: Option<String>,
    pub data_hosting_location: Option<String>,
}
