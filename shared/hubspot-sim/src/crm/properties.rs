//! Properties of an object type, and the checks of written values against them.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::input::*;
use super::{Answer, Crm, TypeStore};
use crate::error::HsError;
use crate::model::{
    MAX_UNIQUE_PROPERTIES, PropError, PropertyDef, PropertyInput, Schema, property_from_input,
    validate_value,
};

impl Crm {
    pub fn list_properties(&self, t: &str) -> Answer {
        let id = self.resolve_or_err(t)?;
        let results: Vec<Value> =
            self.schemas[&id].properties.iter().map(PropertyDef::to_json).collect();
        Ok((StatusCode::OK, json!({"results": results})))
    }
    pub fn get_property(&self, t: &str, name: &str) -> Answer {
        let id = self.resolve_or_err(t)?;
        let p = self.schemas[&id]
            .property(name)
            .ok_or_else(|| HsError::not_found(format!("Property {name} does not exist")))?;
        Ok((StatusCode::OK, p.to_json()))
    }
    pub fn create_property(&mut self, t: &str, body: &[u8]) -> Answer {
        let id = self.resolve_or_err(t)?;
        let input: PropertyInput = parse(body)?;
        let def = property_from_input(input).map_err(HsError::validation)?;
        let Some(s) = self.schemas.get_mut(&id) else {
            return Err(HsError::not_found(t.to_string()));
        };
        if s.property(&def.name).is_some() {
            return Err(HsError::new(
                StatusCode::CONFLICT,
                "OBJECT_ALREADY_EXISTS",
                format!("Property {} already exists", def.name),
            ));
        }
        if def.has_unique_value
            && s.properties.iter().filter(|p| p.has_unique_value).count() >= MAX_UNIQUE_PROPERTIES
        {
            return Err(HsError::validation(format!(
                "An object can have at most {MAX_UNIQUE_PROPERTIES} properties with unique values"
            )));
        }
        let json = def.to_json();
        s.properties.push(def);
        s.updated_at = OffsetDateTime::now_utc();
        Ok((StatusCode::CREATED, json))
    }

    // ----- records -------------------------------------------------------------------------
    /// Validates the properties of one write. Unknown properties, read-only ones and bad values
    /// are reported together.
    pub(super) fn check_props(
        schema: &Schema,
        props: &Map<String, Value>,
    ) -> Result<Vec<(String, Option<String>)>, Vec<PropError>> {
        let mut out = Vec::with_capacity(props.len());
        let mut errors = Vec::new();
        for (name, raw) in props {
            let Some(raw) = value_string(raw) else {
                errors.push(PropError {
                    name: name.clone(),
                    value: raw.to_string(),
                    code: "INVALID_VALUE",
                    message: format!("{name} must be a string"),
                });
                continue;
            };
            let Some(def) = schema.property(name) else {
                errors.push(PropError {
                    name: name.clone(),
                    value: raw,
                    code: "PROPERTY_DOESNT_EXIST",
                    message: format!("Property \"{name}\" does not exist"),
                });
                continue;
            };
            match validate_value(def, &raw) {
                Ok(v) => out.push((name.clone(), v)),
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() { Ok(out) } else { Err(errors) }
    }
    pub(super) fn missing_required(
        schema: &Schema,
        changes: &[(String, Option<String>)],
    ) -> Vec<PropError> {
        schema
            .required_properties
            .iter()
            .filter(|r| !changes.iter().any(|(n, v)| n == *r && v.is_some()))
            .map(|r| PropError {
                name: r.clone(),
                value: String::new(),
                code: "REQUIRED_PROPERTY",
                message: format!("Required property {r} is missing"),
            })
            .collect()
    }
    /// Checks that no two live records end up with one unique value; `claims` holds the values
    /// written earlier in the same batch.
    pub(super) fn unique_conflict(
        schema: &Schema,
        store: &TypeStore,
        target: Option<u64>,
        changes: &[(String, Option<String>)],
        claims: &mut HashMap<(String, String), Option<u64>>,
    ) -> Result<(), HsError> {
        for (name, value) in changes {
            let Some(value) = value else { continue };
            if !schema.property(name).is_some_and(|p| p.has_unique_value) {
                continue;
            }
            let key = (name.clone(), value.clone());
            let holder = match claims.get(&key) {
                Some(h) => *h,
                None => store.holder(name, value),
            };
            let conflict = match (holder, target) {
                (Some(h), Some(t)) => h != t,
                (Some(_), None) => true,
                (None, _) => claims.contains_key(&key),
            };
            if conflict {
                return Err(unique_held(
                    &schema.singular,
                    name,
                    value,
                    holder.map_or_else(String::new, |h| h.to_string()),
                ));
            }
            claims.insert(key, target);
        }
        Ok(())
    }
    pub(super) fn unique_props(schema: &Schema) -> Vec<String> {
        schema.properties.iter().filter(|p| p.has_unique_value).map(|p| p.name.clone()).collect()
    }
}

/// 409 `CONFLICT`: `name=value` is a unique value `existing` (live or archived) holds.
pub(super) fn unique_held(
    singular: &str,
    name: &str,
    value: &str,
    existing: impl std::fmt::Display,
) -> HsError {
    HsError::new(
        StatusCode::CONFLICT,
        "CONFLICT",
        format!("A {singular} with {name}={value} already exists. Existing ID: {existing}"),
    )
    .with(
        "context",
        json!({"propertyName": [name], "value": [value], "id": [existing.to_string()]}),
    )
}
