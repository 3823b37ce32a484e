//! Conversions from the client's types to the domain's (`sfhs-core`): what mapping validation and
//! schema generation need to know of a Salesforce object.

use sfhs_core::mapping::schema::{SfField, SfObject};

use crate::client::Client;
use crate::error::Error;
use crate::types::{FieldDescribe, SObjectDescribe};

/// The domain's view of one field: active picklist values only.
pub fn field(f: &FieldDescribe) -> SfField {
    SfField {
        name: f.name.clone(),
        sf_type: f.field_type.clone(),
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
    SfObject { name: d.object.name.clone(), fields: d.fields.iter().map(field).collect() }
}

/// Describes `name`; `Ok(None)` when the org has no such object.
pub async fn describe(client: &Client, name: &str) -> Result<Option<SfObject>, Error> {
    match client.describe(name).await {
        Ok(d) => Ok(Some(object(&d))),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e),
    }
}
