//! One Salesforce record -> the HubSpot properties its mapping writes, every mapped field
//! converted by [`super::value`]. Used by `sfhs mappings preview` and the demo's comparison. The
//! worker's convert stage (`sync/engine/convert.rs`) converts the same way, field by field
//! through the same [`super::value::convert`], and also leaves out a field the outbound message
//! is not known to send (invariant 9), which a preview of a record read back cannot know.

use std::collections::BTreeMap;

use super::model::Mapping;
use super::schema::{HsObject, SfObject};
use super::value::{ConversionError, convert, infer_sf_type};

/// A field that cannot be written, with everything needed to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{salesforce} -> {hubspot}: {error}")]
pub struct FieldError {
    pub salesforce: String,
    pub hubspot: String,
    pub value: Option<String>,
    pub error: FieldProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    #[error("HubSpot object has no property {0}")]
    NoSuchProperty(String),
    #[error(transparent)]
    Conversion(#[from] ConversionError),
}

/// The properties of the HubSpot record for one Salesforce record: the id property (the record
/// id) and every mapped field, converted. A field absent from `value_of` is null, which clears the
/// property (outbound messages leave nulls out). `describe`, when given, supplies the Salesforce
/// types; otherwise they are inferred from the target properties.
pub fn properties<'a>(
    mapping: &Mapping,
    hubspot: &HsObject,
    describe: Option<&SfObject>,
    record_id: &str,
    value_of: impl Fn(&str) -> Option<&'a str>,
) -> Result<BTreeMap<String, String>, Vec<FieldError>> {
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    out.insert(mapping.id_property.clone(), record_id.to_owned());
    for f in &mapping.fields {
        let raw = value_of(&f.salesforce);
        let Some(prop) = hubspot.property(&f.hubspot) else {
            errors.push(FieldError {
                salesforce: f.salesforce.clone(),
                hubspot: f.hubspot.clone(),
                value: raw.map(str::to_owned),
                error: FieldProblem::NoSuchProperty(f.hubspot.clone()),
            });
            continue;
        };
        let sf_type = describe
            .and_then(|d| d.field(&f.salesforce))
            .map_or_else(|| infer_sf_type(prop, raw), |field| field.sf_type.clone());
        match convert(raw, &sf_type, prop, f) {
            Ok(v) => {
                out.insert(f.hubspot.clone(), v);
            }
            Err(e) => errors.push(FieldError {
                salesforce: f.salesforce.clone(),
                hubspot: f.hubspot.clone(),
                value: raw.map(str::to_owned),
                error: e.into(),
            }),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}
