//! The records batch endpoints: create, upsert, update, read, archive.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::input::*;
use super::properties::unique_held;
use super::{Answer, BATCH_LIMIT, Crm, Edge, TypeStore};
use crate::config::{ArchivedUniqueValues, SimConfig};
use crate::error::HsError;
use crate::model::{PropError, Schema, validate_value};

impl Crm {
    pub fn batch_create(&mut self, t: &str, body: &[u8], cfg: &SimConfig) -> Answer {
        let batch = BatchAnswer::start(cfg);
        let id = self.resolve_or_err(t)?;
        let input: Inputs<WriteInput> = parse(body)?;
        check_batch_size(input.inputs.len(), BATCH_LIMIT)?;
        let schema = &self.schemas[&id];
        let traces: Vec<Option<String>> =
            input.inputs.iter().map(|i| i.object_write_trace_id.clone()).collect();
        let partial_allowed = !traces.is_empty()
            && traces.iter().all(Option::is_some)
            && traces.iter().collect::<HashSet<_>>().len() == traces.len();
        let mut plans = Vec::new();
        let mut errors = Vec::new();
        let mut all_errors = Vec::new();
        for (i, inp) in input.inputs.iter().enumerate() {
            let checked = Self::check_props(schema, &inp.properties).and_then(|c| {
                let missing = Self::missing_required(schema, &c);
                if missing.is_empty() { Ok(c) } else { Err(missing) }
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
                self.edges.insert(Edge::new(&id, rid, &def.to, target, def.type_id));
                self.edges.insert(Edge::new(&def.to, target, &id, rid, def.inverse));
            }
            let store = self.stores.entry(id.clone()).or_default();
            let mut r = store.records[&rid].render(c.iter().map(|(n, _)| n.as_str()));
            if let (Some(tr), Some(o)) = (&traces[i], r.as_object_mut()) {
                o.insert("objectWriteTraceId".into(), json!(tr));
            }
            results.push(r);
        }
        Ok(batch.answer(StatusCode::CREATED, results, errors))
    }
    /// A batch upsert's or update's object type, inputs and their id values (`what` names the
    /// call in an input without one).
    fn keyed_inputs(
        &self,
        t: &str,
        body: &[u8],
        what: &str,
    ) -> Result<(String, Inputs<WriteInput>, Vec<String>), HsError> {
        let tid = self.resolve_or_err(t)?;
        let input: Inputs<WriteInput> = parse(body)?;
        check_batch_size(input.inputs.len(), BATCH_LIMIT)?;
        let ids = input.ids(what)?;
        Ok((tid, input, ids))
    }
    pub fn batch_upsert(&mut self, t: &str, body: &[u8], cfg: &SimConfig) -> Answer {
        let batch = BatchAnswer::start(cfg);
        let (tid, input, ids) = self.keyed_inputs(t, body, "upsert")?;
        let schema = &self.schemas[&tid];
        let store = self.stores.entry(tid.clone()).or_default();
        let mut plans = Vec::new();
        let mut errs = Vec::new();
        for (inp, id) in input.inputs.iter().zip(&ids) {
            let id_prop = input.id_property(inp);
            let restore = cfg.archived_unique_values == ArchivedUniqueValues::Restored;
            match upsert_plan(schema, store, &id_prop, id, &inp.properties, restore)? {
                Ok(plan) => plans.push(plan),
                Err(e) => errs.extend(e),
            }
        }
        if !errs.is_empty() {
            return Err(invalid_props(&errs));
        }
        let mut claims = HashMap::new();
        for (existing, c) in &plans {
            Self::unique_conflict(schema, store, existing.map(|(r, _)| r), c, &mut claims)?;
        }
        let unique = Self::unique_props(schema);
        let now = OffsetDateTime::now_utc();
        let searchable_at = Instant::now() + cfg.search_indexing_delay;
        let mut results = Vec::with_capacity(plans.len());
        for (existing, c) in plans {
            let store = self.stores.entry(tid.clone()).or_default();
            let rid = match existing {
                Some((r, Found::Archived)) => {
                    store.restore(r, &unique).map_err(|(name, value, holder)| {
                        unique_held(&schema.singular, &name, &value, holder)
                    })?;
                    r
                }
                Some((r, Found::Live)) => r,
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
        Ok(batch.answer(StatusCode::OK, results, vec![]))
    }
    pub fn batch_update(&mut self, t: &str, body: &[u8], cfg: &SimConfig) -> Answer {
        let batch = BatchAnswer::start(cfg);
        let (tid, input, ids) = self.keyed_inputs(t, body, "update")?;
        let schema = &self.schemas[&tid];
        let store = self.stores.entry(tid.clone()).or_default();
        let mut plans = Vec::new();
        let mut missing = Vec::new();
        let mut errs = Vec::new();
        for (inp, id) in input.inputs.iter().zip(&ids) {
            let id_prop = input.id_property(inp);
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
        Ok(batch.answer(StatusCode::OK, results, errors))
    }
    pub fn batch_read(&self, t: &str, body: &[u8], archived_q: bool, cfg: &SimConfig) -> Answer {
        let batch = BatchAnswer::start(cfg);
        let tid = self.resolve_or_err(t)?;
        let input: Inputs<IdInput> = parse(body)?;
        check_batch_size(input.inputs.len(), BATCH_LIMIT)?;
        let archived = archived_q || input.archived;
        let id_prop = input.id_property.clone().unwrap_or_else(|| "hs_object_id".into());
        let schema = &self.schemas[&tid];
        if id_prop != "hs_object_id"
            && !schema.property(&id_prop).is_some_and(|p| p.has_unique_value)
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
        Ok(batch.answer(StatusCode::OK, results, errors))
    }
    pub fn batch_archive(&mut self, t: &str, body: &[u8], cfg: &SimConfig) -> Answer {
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
        let keep = cfg.archived_unique_values != ArchivedUniqueValues::Released;
        let store = self.stores.entry(tid.clone()).or_default();
        let mut archived = Vec::new();
        for id in ids {
            if let Ok(n) = id.parse::<u64>()
                && store.archive(n, now, keep)
            {
                archived.push(n);
            }
        }
        self.edges.retain(|e| {
            !((e.from_type == tid && archived.contains(&e.from_id))
                || (e.to_type == tid && archived.contains(&e.to_id)))
        });
        Ok((StatusCode::NO_CONTENT, Value::Null))
    }
}

/// What an upsert input does: the record it updates (none: a new one; an archived one when
/// `restore` and it keeps the id) and its changes, or the input's property errors. `Err`: the
/// whole batch is refused.
fn upsert_plan(
    schema: &Schema,
    store: &TypeStore,
    id_prop: &str,
    id: &str,
    properties: &Map<String, Value>,
    restore: bool,
) -> Result<Result<UpsertPlan, Vec<PropError>>, HsError> {
    if id_prop != "hs_object_id" && !schema.property(id_prop).is_some_and(|p| p.has_unique_value) {
        return Err(HsError::validation(format!(
            "{id_prop} is not a unique identifier property of {}; idProperty must have hasUniqueValue",
            schema.name
        ))
        .with("context", json!({"idProperty": [id_prop]})));
    }
    let existing = match store.find(id_prop, id) {
        Some(r) => Some((r, Found::Live)),
        None if restore && id_prop != "hs_object_id" => {
            store.find_archived(id_prop, id).map(|r| (r, Found::Archived))
        }
        None => None,
    };
    let mut changes = match Crm::check_props(schema, properties) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    if existing.is_none() {
        if id_prop == "hs_object_id" {
            return Err(HsError::not_found(format!("No {} with id {id} exists", schema.singular))
                .with("context", json!({"ids": [id]})));
        }
        if let Some(def) = schema.property(id_prop) {
            match validate_value(def, id) {
                Ok(v) => {
                    changes.retain(|(n, _)| n != id_prop);
                    changes.push((id_prop.to_owned(), v));
                }
                Err(e) => return Ok(Err(vec![e])),
            }
        }
        let missing = Crm::missing_required(schema, &changes);
        if !missing.is_empty() {
            return Ok(Err(missing));
        }
    }
    Ok(Ok((existing, changes)))
}

/// The record an upsert updates (none: a new one) and the changes it writes.
type UpsertPlan = (Option<(u64, Found)>, Vec<(String, Option<String>)>);

/// Whether the record an upsert meets is live or archived (and so restored first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Found {
    Live,
    Archived,
}
