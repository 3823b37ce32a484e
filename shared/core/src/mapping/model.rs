//! The mapping file: one YAML file per Salesforce object, kept in git. See `docs/mappings.md`.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How one Salesforce object syncs to one HubSpot object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The Salesforce object's API name, e.g. `Invoice__c` or `acme__Shipment__c`.
    pub salesforce_object: String,
    /// The HubSpot object: an object type id (`2-1234567`, or `0-2` for companies) or a fully
    /// qualified name (`p12345_invoice`).
    pub hubspot_object: String,
    /// The HubSpot property (with `hasUniqueValue`) that holds the Salesforce record id: the
    /// upsert key.
    pub id_property: String,
    /// The Salesforce field that orders versions of a record.
    #[serde(default = "default_version_field")]
    pub version_field: String,
    /// What a Salesforce delete does in HubSpot.
    #[serde(default)]
    pub on_delete: OnDelete,
    /// `enabled` syncs changes made from then on; `paused` keeps the mapping and syncs nothing.
    #[serde(default)]
    pub state: State,
    /// Salesforce field -> HubSpot property.
    pub fields: Vec<FieldMapping>,
    /// Salesforce lookups that become HubSpot associations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub associations: Vec<AssociationMapping>,
    /// When Salesforce sends a record (the entry conditions of the record-triggered flow that
    /// `sfhs salesforce apply` deploys); unset: on every create and update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salesforce_trigger: Option<SalesforceTrigger>,
}

/// The entry conditions of the flow that sends the outbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SalesforceTrigger {
    /// Conditions on the record's fields after the save.
    pub conditions: Vec<TriggerCondition>,
    /// `all` (default): every condition must hold; `any`: one is enough.
    #[serde(default, rename = "match")]
    pub match_mode: MatchMode,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchMode {
    #[default]
    All,
    Any,
}

/// One entry condition: `{field: Status__c, operator: equals, value: Paid}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TriggerCondition {
    /// The Salesforce field's API name.
    pub field: String,
    pub operator: TriggerOperator,
    /// The value compared with (as text); for `is_null`, `true` or `false`.
    pub value: String,
}

/// The flow operators the conditions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerOperator {
    Equals,
    NotEquals,
    GreaterThan,
    LessThan,
    IsNull,
}

impl TriggerOperator {
    /// The operator's name in Flow metadata (`FlowRecordFilterOperator`).
    pub fn flow_name(self) -> &'static str {
        match self {
            Self::Equals => "EqualTo",
            Self::NotEquals => "NotEqualTo",
            Self::GreaterThan => "GreaterThan",
            Self::LessThan => "LessThan",
            Self::IsNull => "IsNull",
        }
    }

    /// The operator of a Flow metadata name.
    pub fn from_flow_name(name: &str) -> Option<Self> {
        [Self::Equals, Self::NotEquals, Self::GreaterThan, Self::LessThan, Self::IsNull]
            .into_iter()
            .find(|o| o.flow_name() == name)
    }
}

pub fn default_version_field() -> String {
    "SystemModstamp".to_owned()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnDelete {
    /// Archive the HubSpot record (HubSpot keeps it restorable for 90 days).
    #[default]
    Archive,
    /// Leave the HubSpot record as it is.
    Keep,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Enabled,
    /// Saved for later: nothing syncs.
    #[default]
    Paused,
}

impl State {
    /// As written in mapping files: `enabled` or `paused`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Paused => "paused",
        }
    }
}

/// One field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// Salesforce field API name.
    pub salesforce: String,
    /// HubSpot property internal name.
    pub hubspot: String,
    /// Picklist translation: Salesforce value -> HubSpot option value. Values not listed pass
    /// through unchanged.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub value_map: IndexMap<String, String>,
    /// Value written when the Salesforce value is null (instead of clearing the property).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// What to do with text longer than HubSpot takes (65,536 characters).
    #[serde(default, skip_serializing_if = "TooLong::is_default")]
    pub on_too_long: TooLong,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TooLong {
    /// The record fails with an error naming the field.
    #[default]
    Error,
    /// The value is cut to the limit (on a character boundary).
    Truncate,
}

impl TooLong {
    fn is_default(&self) -> bool {
        *self == Self::Error
    }
}

/// A lookup that becomes an association.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssociationMapping {
    /// The Salesforce lookup field (type `reference`), e.g. `Account__c`.
    pub lookup: String,
    /// The HubSpot object the parent lives in (`companies`, `0-2`, `2-123`, `p123_invoice`).
    pub to: String,
    /// How to find the parent in HubSpot: `{mapping: Invoice__c}` or `{property: salesforceaccountid}`.
    #[serde(with = "serde_norway::with::singleton_map")]
    #[schemars(with = "FindParentBy")]
    pub find_parent_by: FindParentBy,
    /// The association label; unset = HubSpot's default (unlabelled) association.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// Where the parent's HubSpot id comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FindParentBy {
    /// Through another mapping of this project: the Salesforce object it syncs.
    Mapping(String),
    /// Through a HubSpot property of the parent that stores its Salesforce id, as HubSpot's own
    /// integration does (`salesforceaccountid` on companies).
    Property(String),
}
