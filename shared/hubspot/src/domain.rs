//! Conversions from the client's types to the domain's (`sfhs-core`): what mapping validation,
//! conversion and the sync need to know of a HubSpot object.

use sfhs_core::mapping::schema::{HsObject, HsProperty, HsType, builtin_type_id};

use crate::client::HubSpotClient;
use crate::error::Error;
use crate::types::{ObjectSchema, Property};

/// The domain's view of one property.
pub fn property(p: &Property) -> HsProperty {
    HsProperty {
        name: p.name.clone(),
        hs_type: HsType::parse(&p.type_),
        field_type: p.field_type.clone(),
        options: p.options.iter().map(|o| o.value.clone()).collect(),
        has_unique_value: p.has_unique_value,
        read_only: p.field_type == "calculation_equation",
    }
}

/// The domain's view of a custom object schema.
pub fn object(schema: &ObjectSchema) -> HsObject {
    let mut associated: Vec<String> = schema
        .associations
        .iter()
        .flat_map(|a| [a.from_object_type_id.clone(), a.to_object_type_id.clone()])
        .flatten()
        .filter(|id| *id != schema.object_type_id)
        .collect();
    associated.sort();
    associated.dedup();
    HsObject {
        object_type_id: schema.object_type_id.clone(),
        fully_qualified_name: schema
            .fully_qualified_name
            .clone()
            .unwrap_or_else(|| schema.name.clone()),
        properties: schema.properties.iter().map(property).collect(),
        required_properties: schema.required_properties.clone(),
        associated_objects: associated,
    }
}

/// Reads an object by reference (`2-123`, `p123_name`, or a built-in name such as `companies`).
/// `Ok(None)` when HubSpot has no such object.
pub async fn describe(client: &HubSpotClient, reference: &str) -> Result<Option<HsObject>, Error> {
    if let Some(type_id) = builtin_type_id(reference) {
        // Built-in objects have no custom schema: their properties describe them.
        let properties = client.properties(reference).await?;
        return Ok(Some(HsObject {
            object_type_id: type_id.to_owned(),
            fully_qualified_name: reference.to_ascii_lowercase(),
            properties: properties.iter().map(property).collect(),
            required_properties: Vec::new(),
            associated_objects: Vec::new(),
        }));
    }
    match client.schema(reference).await {
        Ok(schema) => Ok(Some(object(&schema))),
        Err(Error::Rejected { status: 404, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
