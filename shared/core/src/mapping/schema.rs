//! What validation and conversion need to know of the two live schemas, in the domain's own
//! types: adapters fill them from HubSpot's schema API and Salesforce's describe.

use serde::{Deserialize, Serialize};

/// A Salesforce field type, as describe names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SfType {
    Id,
    String,
    Textarea,
    Picklist,
    Multipicklist,
    Combobox,
    Reference,
    Boolean,
    Double,
    Currency,
    Percent,
    Int,
    Long,
    Date,
    Datetime,
    Time,
    Email,
    Phone,
    Url,
    Encryptedstring,
    Base64,
    Address,
    Location,
    /// A type this build does not know; mapped only to HubSpot strings.
    #[serde(untagged)]
    Other(String),
}

/// A type name read as the variant serde names so, or kept as `other`.
fn known_or<T: serde::de::DeserializeOwned>(name: String, other: impl FnOnce() -> T) -> T {
    serde_json::from_value(serde_json::Value::String(name)).unwrap_or_else(|_| other())
}

impl SfType {
    /// Salesforce's names, whatever their case.
    pub fn parse(s: &str) -> Self {
        known_or(s.to_ascii_lowercase(), || Self::Other(s.to_owned()))
    }

    pub fn name(&self) -> &str {
        match self {
            Self::Id => "id",
            Self::String => "string",
            Self::Textarea => "textarea",
            Self::Picklist => "picklist",
            Self::Multipicklist => "multipicklist",
            Self::Combobox => "combobox",
            Self::Reference => "reference",
            Self::Boolean => "boolean",
            Self::Double => "double",
            Self::Currency => "currency",
            Self::Percent => "percent",
            Self::Int => "int",
            Self::Long => "long",
            Self::Date => "date",
            Self::Datetime => "datetime",
            Self::Time => "time",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Url => "url",
            Self::Encryptedstring => "encryptedstring",
            Self::Base64 => "base64",
            Self::Address => "address",
            Self::Location => "location",
            Self::Other(s) => s,
        }
    }
}

/// One Salesforce field from describe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SfField {
    pub name: String,
    pub sf_type: SfType,
    /// Objects a `reference` field may point to.
    #[serde(default)]
    pub reference_to: Vec<String>,
    /// Active picklist values.
    #[serde(default)]
    pub picklist_values: Vec<String>,
    pub length: Option<u32>,
}

/// One Salesforce object from describe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SfObject {
    pub name: String,
    pub fields: Vec<SfField>,
}

impl SfObject {
    pub fn field(&self, name: &str) -> Option<&SfField> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

/// A HubSpot property type (`type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HsType {
    Bool,
    Date,
    Datetime,
    Enumeration,
    Number,
    PhoneNumber,
    String,
    #[serde(untagged)]
    Other(String),
}

impl HsType {
    pub fn parse(s: &str) -> Self {
        known_or(s.to_owned(), || Self::Other(s.to_owned()))
    }
}

/// One HubSpot property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HsProperty {
    pub name: String,
    pub hs_type: HsType,
    /// `fieldType`: text, textarea, select, checkbox, booleancheckbox, date, number, ...
    pub field_type: String,
    /// Option values of an enumeration.
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub has_unique_value: bool,
    /// Calculated or read-only properties cannot be written.
    #[serde(default)]
    pub read_only: bool,
}

/// One HubSpot object type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HsObject {
    /// `2-1234567` for custom objects, `0-2` for companies.
    pub object_type_id: String,
    /// `p12345_invoice` for custom objects, `companies` for built-in ones.
    pub fully_qualified_name: String,
    pub properties: Vec<HsProperty>,
    pub required_properties: Vec<String>,
    /// Object type ids this object can be associated with.
    #[serde(default)]
    pub associated_objects: Vec<String>,
}

impl HsObject {
    pub fn property(&self, name: &str) -> Option<&HsProperty> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// Whether `reference` (an id, a name, or a built-in alias) names this object.
    pub fn is(&self, reference: &str) -> bool {
        reference == self.object_type_id
            || reference.eq_ignore_ascii_case(&self.fully_qualified_name)
            || builtin_type_id(reference) == Some(self.object_type_id.as_str())
    }
}

/// Type ids of HubSpot's built-in objects, by the names the API also accepts.
pub fn builtin_type_id(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "contacts" | "contact" => "0-1",
        "companies" | "company" => "0-2",
        "deals" | "deal" => "0-3",
        "tickets" | "ticket" => "0-5",
        _ => return None,
    })
}
