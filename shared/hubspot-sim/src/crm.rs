//! The portal's CRM data and the rules of every CRM endpoint. Handlers parse HTTP; this module
//! decides answers. Everything here runs under the simulator's lock, without awaiting.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Instant;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::config::{PartialStatus, SimConfig};
use crate::error::HsError;
use crate::model::{
    AssocDef, MAX_UNIQUE_PROPERTIES, PropError, PropertyDef, PropertyInput, Schema, SchemaInput,
    builtin_properties, iso, property_from_input, valid_name, validate_value,
};

pub type Answer = Result<(StatusCode, Value), HsError>;

/// Most inputs a records batch endpoint takes.
pub const BATCH_LIMIT: usize = 100;

#[derive(Clone, Debug)]
pub struct Record {
    pub id: u64,
    pub props: BTreeMap<String, String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub archived_at: Option<OffsetDateTime>,
    pub searchable_at: Instant,
}

impl Record {
    pub fn value(&self, name: &str) -> Option<String> {
        match name {
            "hs_object_id" => Some(self.id.to_string()),
            "hs_createdate" => Some(iso(self.created_at)),
            "hs_lastmodifieddate" => Some(iso(self.updated_at)),
            _ => self.props.get(name).cloned(),
        }
    }

    pub fn render<'a>(&self, requested: impl IntoIterator<Item = &'a str>) -> Value {
        let mut props = Map::new();
        for name in ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"]
            .into_iter()
            .chain(requested)
        {
            props.insert(
                name.to_string(),
                self.value(name).map_or(Value::Null, Value::String),
            );
        }
        let mut v = json!({
            "id": self.id.to_string(),
            "properties": props,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "archived": self.archived_at.is_some(),
        });
        if let (Some(at), Some(o)) = (self.archived_at, v.as_object_mut()) {
            o.insert("archivedAt".into(), json!(iso(at)));
        }
        v
    }
}

#[derive(Clone, Debug, Default)]
pub struct TypeStore {
    pub records: BTreeMap<u64, Record>,
    /// property -> value -> live record id, for `hasUniqueValue` properties.
    pub unique: HashMap<String, HashMap<String, u64>>,
}

impl TypeStore {
    fn find(&self, prop: &str, value: &str) -> Option<u64> {
        if prop == "hs_object_id" {
            let id: u64 = value.parse().ok()?;
            return self
                .records
                .get(&id)
                .filter(|r| r.archived_at.is_none())
                .map(|r| r.id);
        }
        self.unique.get(prop)?.get(value).copied()
    }

    fn live(&self, id: u64) -> Option<&Record> {
        self.records.get(&id).filter(|r| r.archived_at.is_none())
    }

    fn apply(
        &mut self,
        id: u64,
        changes: &[(String, Option<String>)],
        unique: &[String],
        now: OffsetDateTime,
        searchable_at: Instant,
    ) {
        let rec = self.records.entry(id).or_insert_with(|| Record {
            id,
            props: BTreeMap::new(),
            created_at: now,
            updated_at: now,
            archived_at: None,
            searchable_at,
        });
        rec.updated_at = now;
        for (name, value) in changes {
            let old = match value {
                Some(v) => rec.props.insert(name.clone(), v.clone()),
                None => rec.props.remove(name),
            };
            if unique.contains(name) {
                let idx = self.unique.entry(name.clone()).or_default();
                if let Some(old) = old {
                    idx.remove(&old);
                }
                if let Some(v) = value {
                    idx.insert(v.clone(), id);
                }
            }
        }
    }

    fn archive(&mut self, id: u64, now: OffsetDateTime) -> bool {
        let Some(rec) = self.records.get_mut(&id) else {
            return false;
        };
        if rec.archived_at.is_some() {
            return false;
        }
        rec.archived_at = Some(now);
        for (name, value) in &rec.props {
            if let Some(idx) = self.unique.get_mut(name)
                && idx.get(value) == Some(&id)
            {
                idx.remove(value);
            }
        }
        true
    }

    pub fn live_count(&self) -> usize {
        self.records
            .values()
            .filter(|r| r.archived_at.is_none())
            .count()
    }
}

#[derive(Debug)]
pub struct Crm {
    pub portal_id: u64,
    pub schemas: BTreeMap<String, Schema>,
    pub stores: HashMap<String, TypeStore>,
    pub assoc_defs: Vec<AssocDef>,
    /// (fromType, fromId, toType, toId, typeId); both directions are stored.
    pub edges: BTreeSet<(String, u64, String, u64, u32)>,
    next_record_id: u64,
    next_schema_id: u64,
    next_assoc_type_id: u32,
}

type PropSpec = (&'static str, &'static str, &'static str, &'static str);
type BuiltinSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [PropSpec],
);

const BUILTINS: &[BuiltinSpec] = &[
    (
        "0-1",
        "contacts",
        "contact",
        "Contact",
        "Contacts",
        &[
            ("email", "Email", "string", "text"),
            ("firstname", "First Name", "string", "text"),
            ("lastname", "Last Name", "string", "text"),
            (
                "salesforcecontactid",
                "Salesforce Contact ID",
                "string",
                "text",
            ),
            ("salesforceleadid", "Salesforce Lead ID", "string", "text"),
        ],
    ),
    (
        "0-2",
        "companies",
        "company",
        "Company",
        "Companies",
        &[
            ("name", "Name", "string", "text"),
            ("domain", "Domain", "string", "text"),
            (
                "salesforceaccountid",
                "Salesforce Account ID",
                "string",
                "text",
            ),
        ],
    ),
    (
        "0-3",
        "deals",
        "deal",
        "Deal",
        "Deals",
        &[
            ("dealname", "Deal Name", "string", "text"),
            ("amount", "Amount", "number", "number"),
            (
                "hs_salesforceopportunityid",
                "Salesforce Opportunity ID",
                "string",
                "text",
            ),
        ],
    ),
    (
        "0-5",
        "tickets",
        "ticket",
        "Ticket",
        "Tickets",
        &[
            ("subject", "Subject", "string", "text"),
            ("content", "Content", "string", "textarea"),
        ],
    ),
];

/// HubSpot-defined default association type ids between built-in objects.
const BUILTIN_ASSOCS: &[(&str, &str, u32, u32)] = &[
    ("0-1", "0-2", 279, 280),
    ("0-3", "0-1", 3, 4),
    ("0-3", "0-2", 341, 342),
    ("0-5", "0-1", 16, 15),
    ("0-5", "0-2", 339, 340),
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Inputs<T> {
    inputs: Vec<T>,
    id_property: Option<String>,
    #[serde(default)]
    properties: Vec<String>,
    #[serde(default)]
    archived: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WriteInput {
    id: Option<Value>,
    id_property: Option<String>,
    #[serde(default)]
    properties: Map<String, Value>,
    object_write_trace_id: Option<String>,
    /// Batch create only: associations made with the new record.
    #[serde(default)]
    associations: Vec<InlineAssociation>,
}

/// `{to: {id}, types: [{associationCategory, associationTypeId}]}` of a created record: the
/// target's object type is the one the type id connects to.
#[derive(Deserialize)]
struct InlineAssociation {
    to: IdInput,
    #[serde(default)]
    types: Vec<AssocType>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssocType {
    association_category: String,
    association_type_id: u32,
}

#[derive(Deserialize)]
struct IdInput {
    id: Value,
}

fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn value_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, HsError> {
    serde_json::from_slice(body).map_err(|e| HsError::bad_json(&e))
}

fn invalid_props(errors: &[PropError]) -> HsError {
    let legacy: Vec<Value> = errors.iter().map(PropError::legacy_json).collect();
    HsError::validation(format!(
        "Property values were not valid: {}",
        Value::Array(legacy)
    ))
    .with(
        "errors",
        Value::Array(errors.iter().map(PropError::to_json).collect()),
    )
}

fn batch_answer(
    ok: StatusCode,
    partial: PartialStatus,
    started: OffsetDateTime,
    results: Vec<Value>,
    errors: Vec<Value>,
) -> (StatusCode, Value) {
    let mut body = json!({
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso(started),
        "completedAt": iso(OffsetDateTime::now_utc()),
    });
    if errors.is_empty() {
        return (ok, body);
    }
    if let Some(o) = body.as_object_mut() {
        o.insert("numErrors".into(), json!(errors.len()));
        o.insert("errors".into(), Value::Array(errors));
    }
    let status = match partial {
        PartialStatus::MultiStatus => StatusCode::MULTI_STATUS,
        PartialStatus::Ok => ok,
    };
    (status, body)
}

fn check_batch_size(n: usize, limit: usize) -> Result<(), HsError> {
    if n > limit {
        return Err(HsError::validation(format!(
            "Batch input limit exceeded: at most {limit} inputs are allowed, {n} were sent"
        ))
        .with(
            "context",
            json!({"limit": [limit.to_string()], "count": [n.to_string()]}),
        ));
    }
    Ok(())
}

fn duplicates(ids: &[String]) -> Result<(), HsError> {
    let mut seen = HashSet::new();
    let mut dups: Vec<String> = Vec::new();
    for id in ids {
        if !seen.insert(id) && !dups.contains(id) {
            dups.push(id.clone());
        }
    }
    if dups.is_empty() {
        return Ok(());
    }
    Err(HsError::validation(format!(
        "Duplicate IDs found in batch input: [{}]. IDs must be unique",
        dups.join(", ")
    ))
    .with("context", json!({"ids": dups})))
}

impl Crm {
    pub fn new(portal_id: u64) -> Self {
        let mut crm = Self {
            portal_id,
            schemas: BTreeMap::new(),
            stores: HashMap::new(),
            assoc_defs: vec![],
            edges: BTreeSet::new(),
            next_record_id: 10_000_000_001,
            next_schema_id: 1,
            next_assoc_type_id: 100,
        };
        let now = OffsetDateTime::now_utc();
        for (id, name, _, singular, plural, props) in BUILTINS {
            crm.schemas.insert(
                id.to_string(),
                Schema {
                    numeric_id: 0,
                    object_type_id: id.to_string(),
                    name: name.to_string(),
                    fqn: name.to_string(),
                    singular: singular.to_string(),
                    plural: plural.to_string(),
                    primary_display_property: None,
                    secondary_display_properties: vec![],
                    searchable_properties: vec![],
                    required_properties: vec![],
                    properties: builtin_properties(props),
                    builtin: true,
                    created_at: now,
                    updated_at: now,
                },
            );
        }
        for (from, to, a, b) in BUILTIN_ASSOCS {
            crm.add_assoc_pair(from, to, *a, *b, "HUBSPOT_DEFINED", None);
        }
        crm
    }

    fn add_assoc_pair(
        &mut self,
        from: &str,
        to: &str,
        a: u32,
        b: u32,
        category: &'static str,
        label: Option<String>,
    ) {
        let name = |x: &str, y: &str| {
            format!("{}_to_{}", self.display_name(x), self.display_name(y)).to_ascii_uppercase()
        };
        let (n1, n2) = (name(from, to), name(to, from));
        self.assoc_defs.push(AssocDef {
            type_id: a,
            from: from.into(),
            to: to.into(),
            category,
            label: label.clone(),
            name: n1,
            inverse: b,
        });
        self.assoc_defs.push(AssocDef {
            type_id: b,
            from: to.into(),
            to: from.into(),
            category,
            label,
            name: n2,
            inverse: a,
        });
    }

    fn display_name(&self, id: &str) -> String {
        self.schemas
            .get(id)
            .map_or_else(|| id.to_string(), |s| s.name.clone())
    }

    /// Resolves `0-1`, `contacts`, `contact`, `CONTACT`, `2-7`, `p123_thing` to an object type id.
    pub fn resolve(&self, t: &str) -> Option<String> {
        let lower = t.to_ascii_lowercase();
        if self.schemas.contains_key(t) {
            return Some(t.to_string());
        }
        for (id, name, singular, ..) in BUILTINS {
            if lower == *name || lower == *singular {
                return Some(id.to_string());
            }
        }
        self.schemas
            .values()
            .find(|s| s.fqn == lower || s.fqn == t)
            .map(|s| s.object_type_id.clone())
    }

    fn resolve_or_err(&self, t: &str) -> Result<String, HsError> {
        self.resolve(t).ok_or_else(|| {
            HsError::new(
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                format!("Unable to infer object type from: {t}"),
            )
        })
    }

    fn assocs_of(&self, type_id: &str) -> Vec<&AssocDef> {
        self.assoc_defs
            .iter()
            .filter(|a| a.from == type_id)
            .collect()
    }

    // ----- schemas -------------------------------------------------------------------------

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
        let name = input
            .name
            .ok_or_else(|| HsError::validation("Schema name is required"))?;
        if !valid_name(&name, true) {
            return Err(HsError::validation(format!(
                "Object name '{name}' is invalid: use letters, digits and underscores, starting with a letter"
            )));
        }
        let fqn = format!("p{}_{}", self.portal_id, name.to_ascii_lowercase());
        if self
            .schemas
            .values()
            .any(|s| s.name.eq_ignore_ascii_case(&name))
        {
            return Err(HsError::new(
                StatusCode::CONFLICT,
                "CONFLICT",
                format!("An object type with name {name} already exists"),
            ));
        }
        let labels = input
            .labels
            .ok_or_else(|| HsError::validation("Schema labels are required"))?;
        let (Some(singular), Some(plural)) = (labels.singular, labels.plural) else {
            return Err(HsError::validation(
                "Schema labels need both singular and plural",
            ));
        };
        let mut properties = builtin_properties(&[]);
        for p in input.properties {
            let def = property_from_input(p).map_err(HsError::validation)?;
            if properties.iter().any(|x| x.name == def.name) {
                return Err(HsError::validation(format!(
                    "Property {} is defined twice",
                    def.name
                )));
            }
            properties.push(def);
        }
        if properties.iter().filter(|p| p.has_unique_value).count() > MAX_UNIQUE_PROPERTIES {
            return Err(HsError::validation(format!(
                "An object can have at most {MAX_UNIQUE_PROPERTIES} properties with unique values"
            )));
        }
        let required = input.required_properties.unwrap_or_default();
        let searchable = input.searchable_properties.unwrap_or_default();
        let secondary = input.secondary_display_properties.unwrap_or_default();
        for name in required
            .iter()
            .chain(&searchable)
            .chain(&secondary)
            .chain(input.primary_display_property.iter())
        {
            if !properties.iter().any(|p| &p.name == name) {
                return Err(HsError::validation(format!(
                    "Property {name} is referenced but not defined on the schema"
                )));
            }
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
        Ok((
            StatusCode::CREATED,
            s.to_json(&self.assocs_of(&object_type_id)),
        ))
    }

    pub fn update_schema(&mut self, t: &str, body: &[u8]) -> Answer {
        let id = self.resolve(t).ok_or_else(|| {
            HsError::not_found(format!("Unable to find object type with identifier {t}"))
        })?;
        let input: SchemaInput = parse(body)?;
        let s = &self.schemas[&id];
        if s.builtin {
            return Err(HsError::validation(format!(
                "The schema of {t} cannot be changed"
            )));
        }
        if let Some(n) = &input.name
            && n != &s.name
        {
            return Err(HsError::validation(
                "The name of an object type cannot be changed",
            ));
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
                return Err(HsError::validation(format!(
                    "Property {name} does not exist on {t}"
                )));
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

    pub fn list_properties(&self, t: &str) -> Answer {
        let id = self.resolve_or_err(t)?;
        let results: Vec<Value> = self.schemas[&id]
            .properties
            .iter()
            .map(PropertyDef::to_json)
            .collect();
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
    fn check_props(
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
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    fn missing_required(schema: &Schema, changes: &[(String, Option<String>)]) -> Vec<PropError> {
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
    fn unique_conflict(
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
                None => store.find(name, value),
            };
            let conflict = match (holder, target) {
                (Some(h), Some(t)) => h != t,
                (Some(_), None) => true,
                (None, _) => claims.contains_key(&key),
            };
            if conflict {
                let existing = holder.map_or_else(String::new, |h| h.to_string());
                return Err(HsError::new(
                    StatusCode::CONFLICT,
                    "CONFLICT",
                    format!(
                        "A {} with {name}={value} already exists. Existing ID: {existing}",
                        schema.singular
                    ),
                )
                .with(
                    "context",
                    json!({"propertyName": [name], "value": [value], "id": [existing]}),
                ));
            }
            claims.insert(key, target);
        }
        Ok(())
    }

    fn unique_props(schema: &Schema) -> Vec<String> {
        schema
            .properties
            .iter()
            .filter(|p| p.has_unique_value)
            .map(|p| p.name.clone())
            .collect()
    }

    pub fn create_one(&mut self, t: &str, body: &[u8], cfg: &SimConfig) -> Answer {
        let input: WriteInput = parse(body)?;
        let wrapped = json!({"inputs": [{"properties": input.properties}]});
        let (status, v) = self.batch_create(t, wrapped.to_string().as_bytes(), cfg)?;
        if status != StatusCode::CREATED {
            return Ok((status, v));
        }
        let rec = v
            .get("results")
            .and_then(|r| r.get(0))
            .cloned()
            .unwrap_or(Value::Null);
        Ok((StatusCode::CREATED, rec))
    }

    pub fn batch_create(&mut self, t: &str, body: &[u8], cfg: &SimConfig) -> Answer {
        let started = OffsetDateTime::now_utc();
        let id = self.resolve_or_err(t)?;
        let input: Inputs<WriteInput> = parse(body)?;
        check_batch_size(input.inputs.len(), BATCH_LIMIT)?;
        let schema = &self.schemas[&id];
        let traces: Vec<Option<String>> = input
            .inputs
            .iter()
            .map(|i| i.object_write_trace_id.clone())
            .collect();
        let partial_allowed = !traces.is_empty()
            && traces.iter().all(Option::is_some)
            && traces.iter().collect::<HashSet<_>>().len() == traces.len();
        let mut plans = Vec::new();
        let mut errors = Vec::new();
        let mut all_errors = Vec::new();
        for (i, inp) in input.inputs.iter().enumerate() {
            let checked = Self::check_props(schema, &inp.properties).and_then(|c| {
                let missing = Self::missing_required(schema, &c);
                if missing.is_empty() {
                    Ok(c)
                } else {
                    Err(missing)
                }
            });
            let checked = checked.and_then(|c| {
                self.inline_associations(&id, &inp.associations)
                    .map(|edges| (c, edges))
                    .map_err(|e| vec![e])
            });
            match checked {
                Ok((c, edges)) => plans.push((i, c, edges)),
                Err(errs) => {
                    let trace = traces[i].clone().unwrap_or_default();
                    for e in &errs {
                        let mut j = standard_error(
                            "VALIDATION_ERROR",
                            e.message.clone(),
                            json!({"objectWriteTraceId": [trace], "propertyName": [e.name], "value": [e.value]}),
                        );
                        if let Some(o) = j.as_object_mut() {
                            o.insert("errors".into(), json!([e.to_json()]));
                        }
                        errors.push(j);
                    }
                    all_errors.extend(errs);
                }
            }
        }
        if !all_errors.is_empty() && !partial_allowed {
            return Err(invalid_props(&all_errors));
        }
        let store = self.stores.entry(id.clone()).or_default();
        let mut claims = HashMap::new();
        for (_, c, _) in &plans {
            Self::unique_conflict(schema, store, None, c, &mut claims)?;
        }
        let unique = Self::unique_props(schema);
        let now = OffsetDateTime::now_utc();
        let searchable_at = Instant::now() + cfg.search_indexing_delay;
        let mut results = Vec::new();
        for (i, c, edges) in plans {
            let rid = self.next_record_id;
            self.next_record_id += 1;
            let store = self.stores.entry(id.clone()).or_default();
            store.apply(rid, &c, &unique, now, searchable_at);
            for (def, target) in edges {
                self.edges
                    .insert((id.clone(), rid, def.to.clone(), target, def.type_id));
                self.edges
                    .insert((def.to.clone(), target, id.clone(), rid, def.inverse));
            }
            let store = self.stores.entry(id.clone()).or_default();
            let mut r = store.records[&rid].render(c.iter().map(|(n, _)| n.as_str()));
            if let (Some(tr), Some(o)) = (&traces[i], r.as_object_mut()) {
                o.insert("objectWriteTraceId".into(), json!(tr));
            }
            results.push(r);
        }
        Ok(batch_answer(
            StatusCode::CREATED,
            cfg.partial_status,
            started,
            results,
            errors,
        ))
    }

    pub fn batch_upsert(&mut self, t: &str, body: &[u8], cfg: &SimConfig) -> Answer {
        let started = OffsetDateTime::now_utc();
        let tid = self.resolve_or_err(t)?;
        let input: Inputs<WriteInput> = parse(body)?;
        check_batch_size(input.inputs.len(), BATCH_LIMIT)?;
        let schema = &self.schemas[&tid];
        let mut ids = Vec::new();
        for inp in &input.inputs {
            let id = inp
                .id
                .as_ref()
                .and_then(id_string)
                .ok_or_else(|| HsError::validation("Every upsert input needs an id"))?;
            ids.push(id);
        }
        duplicates(&ids)?;
        let store = self.stores.entry(tid.clone()).or_default();
        let mut plans = Vec::new();
        let mut errs = Vec::new();
        for (inp, id) in input.inputs.iter().zip(&ids) {
            let id_prop = inp
                .id_property
                .clone()
                .or_else(|| input.id_property.clone())
                .unwrap_or_else(|| "hs_object_id".into());
            if id_prop != "hs_object_id"
                && !schema
                    .property(&id_prop)
                    .is_some_and(|p| p.has_unique_value)
            {
                return Err(HsError::validation(format!(
                    "{id_prop} is not a unique identifier property of {}; idProperty must have hasUniqueValue",
                    schema.name
                ))
                .with("context", json!({"idProperty": [id_prop]})));
            }
            let existing = store.find(&id_prop, id);
            let mut changes = match Self::check_props(schema, &inp.properties) {
                Ok(c) => c,
                Err(e) => {
                    errs.extend(e);
                    continue;
                }
            };
            if existing.is_none() {
                if id_prop == "hs_object_id" {
                    return Err(HsError::not_found(format!(
                        "No {} with id {id} exists",
                        schema.singular
                    ))
                    .with("context", json!({"ids": [id]})));
                }
                if let Some(def) = schema.property(&id_prop) {
                    match validate_value(def, id) {
                        Ok(v) => {
                            changes.retain(|(n, _)| n != &id_prop);
                            changes.push((id_prop.clone(), v));
                        }
                        Err(e) => {
                            errs.push(e);
                            continue;
                        }
                    }
                }
                errs.extend(Self::missing_required(schema, &changes));
            }
            plans.push((existing, changes));
        }
        if !errs.is_empty() {
            return Err(invalid_props(&errs));
        }
        let mut claims = HashMap::new();
        for (existing, c) in &plans {
            Self::unique_conflict(schema, store, *existing, c, &mut claims)?;
        }
        let unique = Self::unique_props(schema);
        let now = OffsetDateTime::now_utc();
        let searchable_at = Instant::now() + cfg.search_indexing_delay;
        let mut results = Vec::with_capacity(plans.len());
        for (existing, c) in plans {
            let rid = match existing {
                Some(r) => r,
                None => {
                    let r = self.next_record_id;
                    self.next_record_id += 1;
                    r
                }
            };
            let store = self.stores.entry(tid.clone()).or_default();
            store.apply(rid, &c, &unique, now, searchable_at);
            let mut r = store.records[&rid].render(c.iter().map(|(n, _)| n.as_str()));
            if let Some(o) = r.as_object_mut() {
                o.insert("new".into(), json!(existing.is_none()));
            }
            results.push(r);
        }
        Ok(batch_answer(
            StatusCode::OK,
            cfg.partial_status,
            started,
            results,
            vec![],
        ))
    }

    pub fn batch_update(&mut self, t: &str, body: &[u8], cfg: &SimConfig) -> Answer {
        let started = OffsetDateTime::now_utc();
        let tid = self.resolve_or_err(t)?;
        let input: Inputs<WriteInput> = parse(body)?;
        check_batch_size(input.inputs.len(), BATCH_LIMIT)?;
        let schema = &self.schemas[&tid];
        let mut ids = Vec::new();
        for inp in &input.inputs {
            ids.push(
                inp.id
                    .as_ref()
                    .and_then(id_string)
                    .ok_or_else(|| HsError::validation("Every update input needs an id"))?,
            );
        }
        duplicates(&ids)?;
        let store = self.stores.entry(tid.clone()).or_default();
        let mut plans = Vec::new();
        let mut missing = Vec::new();
        let mut errs = Vec::new();
        for (inp, id) in input.inputs.iter().zip(&ids) {
            let id_prop = inp
                .id_property
                .clone()
                .or_else(|| input.id_property.clone())
                .unwrap_or_else(|| "hs_object_id".into());
            let Some(rid) = store.find(&id_prop, id) else {
                missing.push(id.clone());
                continue;
            };
            match Self::check_props(schema, &inp.properties) {
                Ok(c) => plans.push((rid, c)),
                Err(e) => errs.extend(e),
            }
        }
        if !errs.is_empty() {
            return Err(invalid_props(&errs));
        }
        let mut claims = HashMap::new();
        for (rid, c) in &plans {
            Self::unique_conflict(schema, store, Some(*rid), c, &mut claims)?;
        }
        let unique = Self::unique_props(schema);
        let now = OffsetDateTime::now_utc();
        let mut results = Vec::new();
        for (rid, c) in plans {
            let searchable_at = store.records[&rid].searchable_at;
            store.apply(rid, &c, &unique, now, searchable_at);
            results.push(store.records[&rid].render(c.iter().map(|(n, _)| n.as_str())));
        }
        let errors = not_found_errors(&schema.singular, missing);
        Ok(batch_answer(
            StatusCode::OK,
            cfg.partial_status,
            started,
            results,
            errors,
        ))
    }

    pub fn update_one(
        &mut self,
        t: &str,
        rid: &str,
        id_property: Option<&str>,
        body: &[u8],
        cfg: &SimConfig,
    ) -> Answer {
        let input: WriteInput = parse(body)?;
        let wrapped = json!({"inputs": [{"id": rid, "idProperty": id_property, "properties": input.properties}]});
        let (status, v) = self.batch_update(t, wrapped.to_string().as_bytes(), cfg)?;
        match v.get("results").and_then(|r| r.get(0)) {
            Some(r) if status == StatusCode::OK || v.get("numErrors").is_none() => {
                Ok((StatusCode::OK, r.clone()))
            }
            _ => Err(HsError::not_found(format!(
                "Object with id {rid} not found"
            ))),
        }
    }

    pub fn batch_read(&self, t: &str, body: &[u8], archived_q: bool, cfg: &SimConfig) -> Answer {
        let started = OffsetDateTime::now_utc();
        let tid = self.resolve_or_err(t)?;
        let input: Inputs<IdInput> = parse(body)?;
        check_batch_size(input.inputs.len(), BATCH_LIMIT)?;
        let archived = archived_q || input.archived;
        let id_prop = input
            .id_property
            .clone()
            .unwrap_or_else(|| "hs_object_id".into());
        let schema = &self.schemas[&tid];
        if id_prop != "hs_object_id"
            && !schema
                .property(&id_prop)
                .is_some_and(|p| p.has_unique_value)
        {
            return Err(HsError::validation(format!(
                "{id_prop} is not a unique identifier property"
            )));
        }
        let empty = TypeStore::default();
        let store = self.stores.get(&tid).unwrap_or(&empty);
        let mut results = Vec::new();
        let mut missing = Vec::new();
        let mut seen = HashSet::new();
        for inp in &input.inputs {
            let Some(id) = id_string(&inp.id) else {
                return Err(HsError::validation("ids must be strings"));
            };
            let found = if archived {
                id.parse::<u64>()
                    .ok()
                    .and_then(|n| store.records.get(&n))
                    .filter(|r| r.archived_at.is_some() && id_prop == "hs_object_id")
            } else {
                store.find(&id_prop, &id).and_then(|n| store.live(n))
            };
            match found {
                Some(r) => {
                    if seen.insert(r.id) {
                        results.push(r.render(input.properties.iter().map(String::as_str)));
                    }
                }
                None => missing.push(id),
            }
        }
        let errors = not_found_errors(&schema.singular, missing);
        Ok(batch_answer(
            StatusCode::OK,
            cfg.partial_status,
            started,
            results,
            errors,
        ))
    }

    pub fn read_one(
        &self,
        t: &str,
        rid: &str,
        id_property: Option<&str>,
        properties: &[String],
        archived: bool,
    ) -> Answer {
        let tid = self.resolve_or_err(t)?;
        let empty = TypeStore::default();
        let store = self.stores.get(&tid).unwrap_or(&empty);
        let id_prop = id_property.unwrap_or("hs_object_id");
        let found = if archived {
            rid.parse::<u64>().ok().and_then(|n| store.records.get(&n))
        } else {
            store.find(id_prop, rid).and_then(|n| store.live(n))
        };
        let r = found.ok_or_else(|| {
            HsError::not_found("Object not found.  objectId are usually numeric.")
                .with("context", json!({"id": [rid]}))
        })?;
        Ok((
            StatusCode::OK,
            r.render(properties.iter().map(String::as_str)),
        ))
    }

    pub fn list(
        &self,
        t: &str,
        limit: usize,
        after: u64,
        properties: &[String],
        archived: bool,
    ) -> Answer {
        let tid = self.resolve_or_err(t)?;
        if limit > 100 {
            return Err(HsError::validation("limit may not exceed 100"));
        }
        let empty = TypeStore::default();
        let store = self.stores.get(&tid).unwrap_or(&empty);
        let mut it = store
            .records
            .range(after..)
            .map(|(_, r)| r)
            .filter(|r| r.archived_at.is_some() == archived);
        let results: Vec<Value> = it
            .by_ref()
            .take(limit)
            .map(|r| r.render(properties.iter().map(String::as_str)))
            .collect();
        let mut body = json!({"results": results});
        if let (Some(next), Some(o)) = (it.next(), body.as_object_mut()) {
            o.insert(
                "paging".into(),
                json!({"next": {"after": next.id.to_string()}}),
            );
        }
        Ok((StatusCode::OK, body))
    }

    pub fn batch_archive(&mut self, t: &str, body: &[u8]) -> Answer {
        let tid = self.resolve_or_err(t)?;
        let input: Inputs<IdInput> = parse(body)?;
        check_batch_size(input.inputs.len(), BATCH_LIMIT)?;
        let now = OffsetDateTime::now_utc();
        let mut ids = Vec::new();
        for inp in &input.inputs {
            let id =
                id_string(&inp.id).ok_or_else(|| HsError::validation("ids must be strings"))?;
            ids.push(id);
        }
        duplicates(&ids)?;
        let store = self.stores.entry(tid.clone()).or_default();
        let mut archived = Vec::new();
        for id in ids {
            if let Ok(n) = id.parse::<u64>()
                && store.archive(n, now)
            {
                archived.push(n);
            }
        }
        self.edges.retain(|(ft, fi, tt, ti, _)| {
            !((ft == &tid && archived.contains(fi)) || (tt == &tid && archived.contains(ti)))
        });
        Ok((StatusCode::NO_CONTENT, Value::Null))
    }

    pub fn archive_one(&mut self, t: &str, rid: &str) -> Answer {
        let body = json!({"inputs": [{"id": rid}]}).to_string();
        self.batch_archive(t, body.as_bytes())
    }

    /// The edges a created record's inline associations ask for: each type id must be one from
    /// `from` (the type id names the target's object type), each target must exist.
    fn inline_associations(
        &self,
        from: &str,
        inline: &[InlineAssociation],
    ) -> Result<Vec<(AssocDef, u64)>, PropError> {
        let mut out = Vec::new();
        for a in inline {
            let target = id_string(&a.to.id).unwrap_or_default();
            if a.types.is_empty() {
                return Err(PropError {
                    name: "associations".into(),
                    value: target,
                    code: "INVALID_ASSOCIATION",
                    message: "Every association needs at least one type".into(),
                });
            }
            for ty in &a.types {
                let Some(def) = self.assoc_defs.iter().find(|d| {
                    d.from == from
                        && d.type_id == ty.association_type_id
                        && d.category == ty.association_category
                }) else {
                    return Err(PropError {
                        name: "associations".into(),
                        value: target,
                        code: "INVALID_ASSOCIATION",
                        message: format!(
                            "associationTypeId {} in category {} is not an association of {from}",
                            ty.association_type_id, ty.association_category
                        ),
                    });
                };
                let Some(t) = self.record_exists(&def.to, &target) else {
                    return Err(PropError {
                        name: "associations".into(),
                        value: target.clone(),
                        code: "INVALID_ASSOCIATION",
                        message: format!("No {} with id {target} exists", def.to),
                    });
                };
                out.push((def.clone(), t));
            }
        }
        Ok(out)
    }

    // ----- associations --------------------------------------------------------------------

    fn pair(&self, from: &str, to: &str) -> Result<(String, String), HsError> {
        let f = self.resolve_or_err(from)?;
        let t = self.resolve_or_err(to)?;
        if !self.assoc_defs.iter().any(|a| a.from == f && a.to == t) {
            return Err(HsError::validation(format!(
                "{from} and {to} cannot be associated: the schema declares no association between them"
            )));
        }
        Ok((f, t))
    }

    fn label_json(a: &AssocDef) -> Value {
        json!({"category": a.category, "typeId": a.type_id, "label": a.label})
    }

    pub fn labels(&self, from: &str, to: &str) -> Answer {
        let (f, t) = self.pair(from, to)?;
        let results: Vec<Value> = self
            .assoc_defs
            .iter()
            .filter(|a| a.from == f && a.to == t)
            .map(Self::label_json)
            .collect();
        Ok((StatusCode::OK, json!({"results": results})))
    }

    pub fn create_label(&mut self, from: &str, to: &str, body: &[u8]) -> Answer {
        #[derive(Deserialize)]
        struct L {
            label: String,
        }
        let (f, t) = self.pair(from, to)?;
        let l: L = parse(body)?;
        let (a, b) = (self.next_assoc_type_id, self.next_assoc_type_id + 1);
        self.next_assoc_type_id += 2;
        self.add_assoc_pair(&f, &t, a, b, "USER_DEFINED", Some(l.label));
        Ok((
            StatusCode::OK,
            json!({"results": [{"category": "USER_DEFINED", "typeId": a, "label": self.assoc_defs[self.assoc_defs.len() - 2].label}]}),
        ))
    }

    fn record_exists(&self, t: &str, id: &str) -> Option<u64> {
        let n: u64 = id.parse().ok()?;
        self.stores.get(t)?.live(n).map(|r| r.id)
    }

    /// One `LabelsBetweenObjectPair` of `batch/create` (ids as strings, as the SDK declares them).
    fn assoc_result(&self, f: &str, fi: u64, t: &str, ti: u64, types: &[u32]) -> Value {
        let labels: Vec<Value> = types
            .iter()
            .filter_map(|ty| {
                self.assoc_defs
                    .iter()
                    .find(|a| a.type_id == *ty && a.from == f)
            })
            .filter_map(|a| a.label.clone())
            .map(Value::String)
            .collect();
        json!({"fromObjectTypeId": f, "fromObjectId": fi.to_string(), "toObjectTypeId": t, "toObjectId": ti.to_string(), "labels": labels})
    }

    pub fn assoc_create(
        &mut self,
        from: &str,
        to: &str,
        body: &[u8],
        default_only: bool,
        cfg: &SimConfig,
    ) -> Answer {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Ty {
            association_category: String,
            association_type_id: u32,
        }
        #[derive(Deserialize)]
        struct In {
            from: IdInput,
            to: IdInput,
            #[serde(default)]
            types: Vec<Ty>,
        }
        let started = OffsetDateTime::now_utc();
        let (f, t) = self.pair(from, to)?;
        let input: Inputs<In> = parse(body)?;
        check_batch_size(input.inputs.len(), cfg.association_batch_limit)?;
        let default = self
            .assoc_defs
            .iter()
            .find(|a| a.from == f && a.to == t && a.label.is_none())
            .or_else(|| self.assoc_defs.iter().find(|a| a.from == f && a.to == t))
            .cloned();
        let mut planned = Vec::new();
        let mut errors = Vec::new();
        for inp in &input.inputs {
            let (Some(fi), Some(ti)) = (id_string(&inp.from.id), id_string(&inp.to.id)) else {
                return Err(HsError::validation("from.id and to.id are required"));
            };
            let mut defs = Vec::new();
            if default_only {
                defs.extend(default.clone());
            } else {
                if inp.types.is_empty() {
                    return Err(HsError::validation(
                        "Every input needs at least one association type",
                    ));
                }
                for ty in &inp.types {
                    let def = self
                        .assoc_defs
                        .iter()
                        .find(|a| a.from == f && a.to == t && a.type_id == ty.association_type_id && a.category == ty.association_category)
                        .ok_or_else(|| {
                            HsError::validation(format!(
                                "associationTypeId {} in category {} is not valid for {from} to {to}",
                                ty.association_type_id, ty.association_category
                            ))
                        })?;
                    defs.push(def.clone());
                }
            }
            let a = self.record_exists(&f, &fi);
            let b = self.record_exists(&t, &ti);
            match (a, b) {
                (Some(a), Some(b)) => planned.push((a, b, defs)),
                (None, _) => errors.push(standard_error(
                    "OBJECT_NOT_FOUND",
                    format!("No {from} with id {fi} exists"),
                    json!({"fromObjectId": [fi]}),
                )),
                (_, None) => errors.push(standard_error(
                    "OBJECT_NOT_FOUND",
                    format!("No {to} with id {ti} exists"),
                    json!({"toObjectId": [ti]}),
                )),
            }
        }
        let mut results = Vec::new();
        for (a, b, defs) in planned {
            for d in &defs {
                self.edges.insert((f.clone(), a, t.clone(), b, d.type_id));
                self.edges.insert((t.clone(), b, f.clone(), a, d.inverse));
            }
            if default_only {
                // `PublicDefaultAssociation`: one entry per association spec written.
                results.extend(defs.iter().map(|d| {
                    json!({
                        "from": {"id": a.to_string()},
                        "to": {"id": b.to_string()},
                        "associationSpec": {
                            "associationCategory": d.category,
                            "associationTypeId": d.type_id,
                        },
                    })
                }));
            } else {
                let types: Vec<u32> = defs.iter().map(|d| d.type_id).collect();
                results.push(self.assoc_result(&f, a, &t, b, &types));
            }
        }
        let ok = if default_only {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        Ok(batch_answer(
            ok,
            cfg.partial_status,
            started,
            results,
            errors,
        ))
    }

    /// `GET .../objects/{type}/{id}/associations/{toType}`: the record's targets of `to`, each
    /// with its association types, `limit` a page (HubSpot: default 500), paged by target id.
    pub fn record_associations(
        &self,
        from: &str,
        id: &str,
        to: &str,
        limit: usize,
        after: Option<&str>,
    ) -> Answer {
        let (f, t) = self.pair(from, to)?;
        let Ok(fi) = id.parse::<u64>() else {
            return Err(HsError::validation(format!("Invalid object id {id}")));
        };
        if limit == 0 {
            return Err(HsError::validation("limit must be at least 1"));
        }
        let start = match after {
            None => 0,
            Some(a) => a
                .parse::<u64>()
                .map_err(|_| HsError::validation(format!("Invalid after {a}")))?,
        };
        let mut by_target: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
        let lo = (f.clone(), fi, t.clone(), start, 0);
        let hi = (f.clone(), fi, t.clone(), u64::MAX, u32::MAX);
        for (_, _, _, ti, ty) in self.edges.range(lo..=hi) {
            if let Some(d) = self
                .assoc_defs
                .iter()
                .find(|a| a.type_id == *ty && a.from == f)
            {
                by_target.entry(*ti).or_default().push(Self::label_json(d));
            }
        }
        let mut it = by_target.into_iter();
        let results: Vec<Value> = it
            .by_ref()
            .take(limit)
            .map(|(ti, types)| json!({"toObjectId": ti.to_string(), "associationTypes": types}))
            .collect();
        let mut body = json!({"results": results});
        if let (Some((next, _)), Some(o)) = (it.next(), body.as_object_mut()) {
            o.insert(
                "paging".into(),
                json!({"next": {"after": next.to_string()}}),
            );
        }
        Ok((StatusCode::OK, body))
    }

    pub fn assoc_read(&self, from: &str, to: &str, body: &[u8], cfg: &SimConfig) -> Answer {
        let started = OffsetDateTime::now_utc();
        let (f, t) = self.pair(from, to)?;
        let input: Inputs<IdInput> = parse(body)?;
        check_batch_size(input.inputs.len(), 1000)?;
        let mut results = Vec::new();
        let mut missing = Vec::new();
        for inp in &input.inputs {
            let id = id_string(&inp.id).unwrap_or_default();
            let Some(fi) = self.record_exists(&f, &id) else {
                missing.push(id);
                continue;
            };
            let mut by_target: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
            let lo = (f.clone(), fi, t.clone(), 0, 0);
            let hi = (f.clone(), fi, t.clone(), u64::MAX, u32::MAX);
            for (_, _, _, ti, ty) in self.edges.range(lo..=hi) {
                if let Some(d) = self
                    .assoc_defs
                    .iter()
                    .find(|a| a.type_id == *ty && a.from == f)
                {
                    by_target.entry(*ti).or_default().push(Self::label_json(d));
                }
            }
            if by_target.is_empty() {
                continue;
            }
            let to: Vec<Value> = by_target
                .into_iter()
                .map(|(ti, types)| json!({"toObjectId": ti.to_string(), "associationTypes": types}))
                .collect();
            results.push(json!({"from": {"id": fi.to_string()}, "to": to}));
        }
        let errors = not_found_errors(from, missing);
        Ok(batch_answer(
            StatusCode::OK,
            cfg.partial_status,
            started,
            results,
            errors,
        ))
    }

    pub fn assoc_archive(&mut self, from: &str, to: &str, body: &[u8], cfg: &SimConfig) -> Answer {
        #[derive(Deserialize)]
        struct In {
            from: IdInput,
            to: Vec<IdInput>,
        }
        let (f, t) = self.pair(from, to)?;
        let input: Inputs<In> = parse(body)?;
        check_batch_size(input.inputs.len(), cfg.association_batch_limit)?;
        for inp in &input.inputs {
            let Some(fi) = id_string(&inp.from.id).and_then(|s| s.parse::<u64>().ok()) else {
                continue;
            };
            for to in &inp.to {
                let Some(ti) = id_string(&to.id).and_then(|s| s.parse::<u64>().ok()) else {
                    continue;
                };
                self.edges.retain(|(ef, efi, et, eti, _)| {
                    !((ef == &f && *efi == fi && et == &t && *eti == ti)
                        || (ef == &t && *efi == ti && et == &f && *eti == fi))
                });
            }
        }
        Ok((StatusCode::NO_CONTENT, Value::Null))
    }

    pub fn assoc_labels_archive(
        &mut self,
        from: &str,
        to: &str,
        body: &[u8],
        cfg: &SimConfig,
    ) -> Answer {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Ty {
            association_type_id: u32,
        }
        #[derive(Deserialize)]
        struct In {
            from: IdInput,
            to: IdInput,
            #[serde(default)]
            types: Vec<Ty>,
        }
        let (f, t) = self.pair(from, to)?;
        let input: Inputs<In> = parse(body)?;
        check_batch_size(input.inputs.len(), cfg.association_batch_limit)?;
        for inp in &input.inputs {
            let (Some(fi), Some(ti)) = (
                id_string(&inp.from.id).and_then(|s| s.parse::<u64>().ok()),
                id_string(&inp.to.id).and_then(|s| s.parse::<u64>().ok()),
            ) else {
                continue;
            };
            for ty in &inp.types {
                if let Some(d) = self
                    .assoc_defs
                    .iter()
                    .find(|a| a.from == f && a.type_id == ty.association_type_id)
                {
                    let inv = d.inverse;
                    self.edges
                        .remove(&(f.clone(), fi, t.clone(), ti, ty.association_type_id));
                    self.edges.remove(&(t.clone(), ti, f.clone(), fi, inv));
                }
            }
        }
        Ok((StatusCode::NO_CONTENT, Value::Null))
    }

    pub fn dump(&self) -> Value {
        let types: Map<String, Value> = self
            .schemas
            .values()
            .map(|s| {
                let store = self.stores.get(&s.object_type_id);
                (
                    s.object_type_id.clone(),
                    json!({
                        "name": s.name,
                        "fullyQualifiedName": s.fqn,
                        "records": store.map_or(0, |x| x.records.len()),
                        "live": store.map_or(0, TypeStore::live_count),
                    }),
                )
            })
            .collect();
        json!({"portalId": self.portal_id, "objectTypes": types, "associations": self.edges.len() / 2})
    }

    pub fn all_records(&self, t: &str) -> Option<Vec<Value>> {
        let tid = self.resolve(t)?;
        let store = self.stores.get(&tid)?;
        Some(
            store
                .records
                .values()
                .map(|r| r.render(r.props.keys().map(String::as_str).collect::<Vec<_>>()))
                .collect(),
        )
    }
}

/// One entry of a batch answer's `errors`, HubSpot's `StandardError`: `status`, `category`,
/// `message`, `context` (lists of strings), `errors` and `links` are all required by its spec.
fn standard_error(category: &str, message: String, context: Value) -> Value {
    json!({
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    })
}

fn not_found_errors(singular: &str, missing: Vec<String>) -> Vec<Value> {
    if missing.is_empty() {
        return vec![];
    }
    vec![standard_error(
        "OBJECT_NOT_FOUND",
        format!(
            "Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.",
            singular.to_ascii_uppercase()
        ),
        json!({"ids": missing}),
    )]
}
