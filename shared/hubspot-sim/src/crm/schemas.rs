//! Custom object schemas: list, read, create, update, delete.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::input::*;
use super::{Answer, Crm, TypeStore};
use crate::error::HsError;
use crate::model::{
    MAX_UNIQUE_PROPERTIES, PropertyDef, PropertyInput, Schema, SchemaInput, builtin_properties,
    property_from_input, valid_name,
};

impl Crm {
    pub fn list_schemas(&self) -> Answer {
        let results: Vec<Value> = self
            .schemas
            .values()
            .filter(|s| !s.builtin)
            .map(|s| s.to_json(&self.assocs_of(&s.object_type_id)))
            .collect();
        Ok((StatusCode::OK, json!({"results": results})))
    }
    pub fn get_schema(&self, t: &str) -> Answer {
        let id = self.resolve(t).ok_or_else(|| {
            HsError::not_found(format!("Unable to find object type with identifier {t}"))
        })?;
        let s = &self.schemas[&id];
        Ok((StatusCode::OK, s.to_json(&self.assocs_of(&id))))
    }
    pub fn create_schema(&mut self, body: &[u8]) -> Answer {
        let input: SchemaInput = parse(body)?;
        let name = input.name.ok_or_else(|| HsError::validation("Schema name is required"))?;
        if !valid_name(&name, true) {
            return Err(HsError::validation(format!(
                "Object name '{name}' is invalid: use letters, digits and underscores, starting with a letter"
            )));
        }
        let fqn = format!("p{}_{}", self.portal_id, name.to_ascii_lowercase());
        if self.schemas.values().any(|s| s.name.eq_ignore_ascii_case(&name)) {
            return Err(HsError::new(
                StatusCode::CONFLICT,
                "CONFLICT",
                format!("An object type with name {name} already exists"),
            ));
        }
        let labels =
            input.labels.ok_or_else(|| HsError::validation("Schema labels are required"))?;
        let (Some(singular), Some(plural)) = (labels.singular, labels.plural) else {
            return Err(HsError::validation("Schema labels need both singular and plural"));
        };
        let properties = new_schema_properties(input.properties)?;
        let required = input.required_properties.unwrap_or_default();
        let searchable = input.searchable_properties.unwrap_or_default();
        let secondary = input.secondary_display_properties.unwrap_or_default();
        let mut referenced = required
            .iter()
            .chain(&searchable)
            .chain(&secondary)
            .chain(input.primary_display_property.iter());
        if let Some(name) = referenced.find(|name| !properties.iter().any(|p| &p.name == *name)) {
            return Err(HsError::validation(format!(
                "Property {name} is referenced but not defined on the schema"
            )));
        }
        let mut targets = Vec::new();
        for t in &input.associated_objects {
            let id = self.resolve(t).ok_or_else(|| {
                HsError::validation(format!("Unknown object type in associatedObjects: {t}"))
            })?;
            targets.push(id);
        }
        let numeric = self.next_schema_id;
        self.next_schema_id += 1;
        let object_type_id = format!("2-{numeric}");
        let now = OffsetDateTime::now_utc();
        self.schemas.insert(
            object_type_id.clone(),
            Schema {
                numeric_id: numeric,
                object_type_id: object_type_id.clone(),
                name,
                fqn,
                singular,
                plural,
                primary_display_property: input.primary_display_property,
                secondary_display_properties: secondary,
                searchable_properties: searchable,
                required_properties: required,
                properties,
                builtin: false,
                created_at: now,
                updated_at: now,
            },
        );
        for to in targets {
            let (a, b) = (self.next_assoc_type_id, self.next_assoc_type_id + 1);
            self.next_assoc_type_id += 2;
            self.add_assoc_pair(&object_type_id, &to, a, b, "USER_DEFINED", None);
        }
        let s = &self.schemas[&object_type_id];
        Ok((StatusCode::CREATED, s.to_json(&self.assocs_of(&object_type_id))))
    }
    pub fn update_schema(&mut self, t: &str, body: &[u8]) -> Answer {
        let id = self.resolve(t).ok_or_else(|| {
            HsError::not_found(format!("Unable to find object type with identifier {t}"))
        })?;
        let input: SchemaInput = parse(body)?;
        let s = &self.schemas[&id];
        if s.builtin {
            return Err(HsError::validation(format!("The schema of {t} cannot be changed")));
        }
        if let Some(n) = &input.name
            && n != &s.name
        {
            return Err(HsError::validation("The name of an object type cannot be changed"));
        }
        for name in input
            .required_properties
            .iter()
            .flatten()
            .chain(input.searchable_properties.iter().flatten())
            .chain(input.secondary_display_properties.iter().flatten())
            .chain(input.primary_display_property.iter())
        {
            if s.property(name).is_none() {
                return Err(HsError::validation(format!("Property {name} does not exist on {t}")));
            }
        }
        let Some(s) = self.schemas.get_mut(&id) else {
            return Err(HsError::not_found("gone"));
        };
        if let Some(l) = input.labels {
            if let Some(x) = l.singular {
                s.singular = x;
            }
            if let Some(x) = l.plural {
                s.plural = x;
            }
        }
        if let Some(x) = input.primary_display_property {
            s.primary_display_property = Some(x);
        }
        if let Some(x) = input.secondary_display_properties {
            s.secondary_display_properties = x;
        }
        if let Some(x) = input.searchable_properties {
            s.searchable_properties = x;
        }
        if let Some(x) = input.required_properties {
            s.required_properties = x;
        }
        s.updated_at = OffsetDateTime::now_utc();
        let s = &self.schemas[&id];
        // PATCH answers the `ObjectTypeDefinition`: the schema without properties and associations.
        let mut def = s.to_json(&[]);
        if let Some(o) = def.as_object_mut() {
            o.remove("properties");
            o.remove("associations");
            o.insert("portalId".into(), json!(self.portal_id));
        }
        Ok((StatusCode::OK, def))
    }
    /// `POST .../schemas/{objectType}/associations`: a new association definition from the
    /// schema's object type to another (`{fromObjectTypeId, toObjectTypeId, name}`), 201 with
    /// its id; its records can then be associated both ways.
    pub fn create_schema_association(&mut self, t: &str, body: &[u8]) -> Answer {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Egg {
            from_object_type_id: Option<String>,
            to_object_type_id: Option<String>,
            name: Option<String>,
        }
        let id = self.resolve(t).ok_or_else(|| {
            HsError::not_found(format!("Unable to find object type with identifier {t}"))
        })?;
        let egg: Egg = parse(body)?;
        if egg.from_object_type_id.as_deref().and_then(|f| self.resolve(f)) != Some(id.clone()) {
            return Err(HsError::validation(format!(
                "fromObjectTypeId must be the schema's own object type ({id})"
            )));
        }
        let to_given = egg.to_object_type_id.unwrap_or_default();
        let to = self.resolve(&to_given).ok_or_else(|| {
            HsError::validation(format!("Unknown object type in toObjectTypeId: {to_given}"))
        })?;
        let Some(name) = egg.name.filter(|n| !n.trim().is_empty()) else {
            return Err(HsError::validation("An association definition needs a name"));
        };
        if self.assoc_defs.iter().any(|a| a.from == id && a.name.eq_ignore_ascii_case(&name)) {
            return Err(HsError::new(
                StatusCode::CONFLICT,
                "CONFLICT",
                format!("An association named {name} already exists on {id}"),
            ));
        }
        let (a, b) = (self.next_assoc_type_id, self.next_assoc_type_id + 1);
        self.next_assoc_type_id += 2;
        self.add_assoc_pair(&id, &to, a, b, "USER_DEFINED", None);
        let n = self.assoc_defs.len();
        self.assoc_defs[n - 2].name = name.clone();
        Ok((
            StatusCode::CREATED,
            json!({"id": a.to_string(), "fromObjectTypeId": id, "toObjectTypeId": to, "name": name}),
        ))
    }

    pub fn delete_schema(&mut self, t: &str) -> Answer {
        let id = self.resolve(t).ok_or_else(|| {
            HsError::not_found(format!("Unable to find object type with identifier {t}"))
        })?;
        if self.schemas[&id].builtin {
            return Err(HsError::validation(format!(
                "{t} is a standard object and cannot be deleted"
            )));
        }
        let live = self.stores.get(&id).map_or(0, TypeStore::live_count);
        if live > 0 {
            return Err(HsError::validation(format!(
                "Object type {t} still has {live} records; delete them before deleting the schema"
            )));
        }
        self.schemas.remove(&id);
        self.stores.remove(&id);
        self.assoc_defs.retain(|a| a.from != id && a.to != id);
        Ok((StatusCode::NO_CONTENT, Value::Null))
    }

    // ----- properties ----------------------------------------------------------------------
}

/// A new schema's properties: the built-in ones and those of the input, each defined once, few
/// enough with unique values.
fn new_schema_properties(inputs: Vec<PropertyInput>) -> Result<Vec<PropertyDef>, HsError> {
    let mut properties = builtin_properties([]);
    for p in inputs {
        let def = property_from_input(p).map_err(HsError::validation)?;
        if properties.iter().any(|x| x.name == def.name) {
            return Err(HsError::validation(format!("Property {} is defined twice", def.name)));
        }
        properties.push(def);
    }
    if properties.iter().filter(|p| p.has_unique_value).count() > MAX_UNIQUE_PROPERTIES {
        return Err(HsError::validation(format!(
            "An object can have at most {MAX_UNIQUE_PROPERTIES} properties with unique values"
        )));
    }
    Ok(properties)
}
