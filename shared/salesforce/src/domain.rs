//! Conversions from the client's types to the domain's (`sfhs-core`): what mapping validation and
//! schema generation need to know of a Salesforce object.

use sfhs_core::mapping::schema::{SfField, SfObject, SfType};

use crate::client::Client;
use crate::error::Error;
use crate::types::{FieldDescribe, FieldType, SObjectDescribe};

fn sf_type(t: &FieldType) -> SfType {
    match t {
        FieldType::Id => SfType::Id,
        FieldType::String => SfType::String,
        FieldType::Textarea => SfType::Textarea,
        FieldType::Picklist => SfType::Picklist,
        FieldType::Multipicklist => SfType::Multipicklist,
        FieldType::Reference => SfType::Reference,
        FieldType::Boolean => SfType::Boolean,
        FieldType::Double => SfType::Double,
        FieldType::Currency => SfType::Currency,
        FieldType::Percent => SfType::Percent,
        FieldType::Int => SfType::Int,
        FieldType::Long => SfType::Long,
        FieldType::Date => SfType::Date,
        FieldType::Datetime => SfType::Datetime,
        FieldType::Time => SfType::Time,
        FieldType::Email => SfType::Email,
        FieldType::Phone => SfType::Phone,
        FieldType::Url => SfType::Url,
        FieldType::Other(name) => SfType::parse(name),
    }
}

/// The domain's view of one field: active picklist values only.
pub fn field(f: &FieldDescribe) -> SfField {
    SfField {
        name: f.name.clone(),
        sf_type: sf_type(&f.field_type),
        reference_to: f.reference_to.clone(),
        picklist_values: f
            .picklist_values
            .iter()
            .filter(|v| v.active)
            .map(|v| v.value.clone())
            .collect(),
        length: (f.length > 0).then_some(f.length),
    }
}

/// The domain's view of a describe.
pub fn object(d: &SObjectDescribe) -> SfObject {
    SfObject {
        name: d.name.clone(),
        fields: d.fields.iter().map(field).collect(),
    }
}

/// Describes `name`; `Ok(None)` when the org has no such object.
pub async fn describe(client: &Client, name: &str) -> Result<Option<SfObject>, Error> {
    match client.describe(name).await {
        Ok(d) => Ok(Some(object(&d))),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}
