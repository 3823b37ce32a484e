//! The portal's CRM data and the rules of every CRM endpoint. Handlers parse HTTP; this module
//! decides answers. Everything here runs under the simulator's lock, without awaiting.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Instant;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::error::HsError;
use crate::model::{AssocDef, PropertyDef, Schema, builtin_properties, iso};

mod associations;
mod batch;
mod builtins;
mod input;
mod properties;
mod records;
mod schemas;

use builtins::BUILTINS;

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
        for name in
            ["hs_createdate", "hs_lastmodifieddate", "hs_object_id"].into_iter().chain(requested)
        {
            props.insert(name.to_string(), self.value(name).map_or(Value::Null, Value::String));
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
    /// property -> value -> archived record id: the unique values archived records keep
    /// (unless [`crate::ArchivedUniqueValues::Released`]).
    pub held: HashMap<String, HashMap<String, u64>>,
}

impl TypeStore {
    fn find(&self, prop: &str, value: &str) -> Option<u64> {
        if prop == "hs_object_id" {
            let id: u64 = value.parse().ok()?;
            return self.records.get(&id).filter(|r| r.archived_at.is_none()).map(|r| r.id);
        }
        self.unique.get(prop)?.get(value).copied()
    }

    /// The archived record that keeps `value` of the unique property `prop`.
    fn find_archived(&self, prop: &str, value: &str) -> Option<u64> {
        self.held.get(prop)?.get(value).copied()
    }

    /// The record, live or archived, that holds `value` of the unique property `prop`.
    fn holder(&self, prop: &str, value: &str) -> Option<u64> {
        self.find(prop, value).or_else(|| self.find_archived(prop, value))
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

    /// Archives a live record; its unique values are released or kept (`keep`).
    fn archive(&mut self, id: u64, now: OffsetDateTime, keep: bool) -> bool {
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
                if keep {
                    self.held.entry(name.clone()).or_default().insert(value.clone(), id);
                }
            }
        }
        true
    }

    /// Brings an archived record back with its unique values `unique`; refused (nothing
    /// changed) when a live record holds one of them: `(property, value, holder)`.
    fn restore(&mut self, id: u64, unique: &[String]) -> Result<(), (String, String, u64)> {
        let Some(rec) = self.records.get(&id) else {
            return Ok(());
        };
        let values: Vec<(String, String)> = rec
            .props
            .iter()
            .filter(|(n, _)| unique.contains(n))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        for (name, value) in &values {
            if let Some(h) = self.find(name, value) {
                return Err((name.clone(), value.clone(), h));
            }
        }
        for (name, value) in values {
            if let Some(idx) = self.held.get_mut(&name)
                && idx.get(&value) == Some(&id)
            {
                idx.remove(&value);
            }
            self.unique.entry(name).or_default().insert(value, id);
        }
        if let Some(rec) = self.records.get_mut(&id) {
            rec.archived_at = None;
        }
        Ok(())
    }

    pub fn live_count(&self) -> usize {
        self.records.values().filter(|r| r.archived_at.is_none()).count()
    }
}

#[derive(Debug)]
pub struct Crm {
    pub portal_id: u64,
    pub schemas: BTreeMap<String, Schema>,
    pub stores: HashMap<String, TypeStore>,
    pub assoc_defs: Vec<AssocDef>,
    /// Both directions are stored.
    pub edges: BTreeSet<Edge>,
    next_record_id: u64,
    next_schema_id: u64,
    next_assoc_type_id: u32,
}

/// One association between two records; both directions are stored. Ordered by its fields in
/// this order, so that a range from `(from_type, from_id)` lists a record's associations.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from_type: String,
    pub from_id: u64,
    pub to_type: String,
    pub to_id: u64,
    pub type_id: u32,
}

impl Edge {
    pub fn new(from_type: &str, from_id: u64, to_type: &str, to_id: u64, type_id: u32) -> Self {
        Self {
            from_type: from_type.to_owned(),
            from_id,
            to_type: to_type.to_owned(),
            to_id,
            type_id,
        }
    }

    /// Whether it joins these two records, in either direction.
    pub fn joins(&self, a_type: &str, a_id: u64, b_type: &str, b_id: u64) -> bool {
        let ends = |ft: &str, fi: u64, tt: &str, ti: u64| {
            self.from_type == ft && self.from_id == fi && self.to_type == tt && self.to_id == ti
        };
        ends(a_type, a_id, b_type, b_id) || ends(b_type, b_id, a_type, a_id)
    }

    /// The edges of one record to records of `to_type` whose id is at least `start`.
    pub fn range(
        from_type: &str,
        from_id: u64,
        to_type: &str,
        start: u64,
    ) -> std::ops::RangeInclusive<Self> {
        Self::new(from_type, from_id, to_type, start, 0)
            ..=Self::new(from_type, from_id, to_type, u64::MAX, u32::MAX)
    }
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
        for o in &BUILTINS.objects {
            let extra = o
                .properties
                .iter()
                .map(|p| PropertyDef::builtin(&p.name, &p.label, &p.type_, &p.field_type, false));
            crm.schemas.insert(
                o.object_type_id.clone(),
                Schema {
                    numeric_id: 0,
                    object_type_id: o.object_type_id.clone(),
                    name: o.name.clone(),
                    fqn: o.name.clone(),
                    singular: o.labels.singular.clone(),
                    plural: o.labels.plural.clone(),
                    primary_display_property: None,
                    secondary_display_properties: vec![],
                    searchable_properties: vec![],
                    required_properties: vec![],
                    properties: builtin_properties(extra),
                    builtin: true,
                    created_at: now,
                    updated_at: now,
                },
            );
        }
        for a in &BUILTINS.association_types {
            crm.add_assoc_pair(
                &a.from,
                &a.to,
                a.type_id,
                a.inverse_type_id,
                "HUBSPOT_DEFINED",
                None,
            );
        }
        crm
    }
    pub(super) fn display_name(&self, id: &str) -> String {
        self.schemas.get(id).map_or_else(|| id.to_string(), |s| s.name.clone())
    }
    /// Resolves `0-1`, `contacts`, `contact`, `CONTACT`, `2-7`, `p123_thing` to an object type id.
    pub fn resolve(&self, t: &str) -> Option<String> {
        let lower = t.to_ascii_lowercase();
        if self.schemas.contains_key(t) {
            return Some(t.to_string());
        }
        if let Some(o) =
            BUILTINS.objects.iter().find(|o| lower == o.name || lower == o.singular_name)
        {
            return Some(o.object_type_id.clone());
        }
        self.schemas
            .values()
            .find(|s| s.fqn == lower || s.fqn == t)
            .map(|s| s.object_type_id.clone())
    }
    pub(super) fn resolve_or_err(&self, t: &str) -> Result<String, HsError> {
        self.resolve(t).ok_or_else(|| {
            HsError::new(
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR",
                format!("Unable to infer object type from: {t}"),
            )
        })
    }
    pub(super) fn assocs_of(&self, type_id: &str) -> Vec<&AssocDef> {
        self.assoc_defs.iter().filter(|a| a.from == type_id).collect()
    }

    // ----- schemas -------------------------------------------------------------------------
}
