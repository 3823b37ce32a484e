//! Associations between records (stored as [`Edge`]s both ways) and their labels.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::input::*;
use super::{Answer, Crm, Edge};
use crate::config::SimConfig;
use crate::error::HsError;
use crate::model::{AssocDef, PropError};

/// One input of the association create endpoints.
#[derive(Deserialize)]
struct AssocInput {
    from: IdInput,
    to: IdInput,
    #[serde(default)]
    types: Vec<AssocType>,
}

impl Crm {
    pub(super) fn add_assoc_pair(
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
    /// The edges a created record's inline associations ask for: each type id must be one from
    /// `from` (the type id names the target's object type), each target must exist.
    pub(super) fn inline_associations(
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
    pub(super) fn pair(&self, from: &str, to: &str) -> Result<(String, String), HsError> {
        let f = self.resolve_or_err(from)?;
        let t = self.resolve_or_err(to)?;
        if !self.assoc_defs.iter().any(|a| a.from == f && a.to == t) {
            return Err(HsError::validation(format!(
                "{from} and {to} cannot be associated: the schema declares no association between them"
            )));
        }
        Ok((f, t))
    }
    pub(super) fn label_json(a: &AssocDef) -> Value {
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
    pub(super) fn record_exists(&self, t: &str, id: &str) -> Option<u64> {
        let n: u64 = id.parse().ok()?;
        self.stores.get(t)?.live(n).map(|r| r.id)
    }
    /// One `LabelsBetweenObjectPair` of `batch/create` (ids as strings, as the SDK declares them).
    pub(super) fn assoc_result(&self, f: &str, fi: u64, t: &str, ti: u64, types: &[u32]) -> Value {
        let labels: Vec<Value> = types
            .iter()
            .filter_map(|ty| self.assoc_defs.iter().find(|a| a.type_id == *ty && a.from == f))
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
        let batch = BatchAnswer::start(cfg);
        let (f, t) = self.pair(from, to)?;
        let input: Inputs<AssocInput> = parse(body)?;
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
            let defs = if default_only {
                default.iter().cloned().collect()
            } else {
                self.input_defs(&f, &t, from, to, &inp.types)?
            };
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
        let results = self.add_edges(&f, &t, planned, default_only);
        let ok = if default_only { StatusCode::OK } else { StatusCode::CREATED };
        Ok(batch.answer(ok, results, errors))
    }

    /// The association definitions an input's `types` name (at least one, each valid).
    fn input_defs(
        &self,
        f: &str,
        t: &str,
        from: &str,
        to: &str,
        types: &[AssocType],
    ) -> Result<Vec<AssocDef>, HsError> {
        if types.is_empty() {
            return Err(HsError::validation("Every input needs at least one association type"));
        }
        types
            .iter()
            .map(|ty| {
                self.assoc_defs
                    .iter()
                    .find(|a| {
                        a.from == f
                            && a.to == t
                            && a.type_id == ty.association_type_id
                            && a.category == ty.association_category
                    })
                    .cloned()
                    .ok_or_else(|| {
                        HsError::validation(format!(
                            "associationTypeId {} in category {} is not valid for {from} to {to}",
                            ty.association_type_id, ty.association_category
                        ))
                    })
            })
            .collect()
    }

    /// Stores the planned edges both ways; the answer's results.
    fn add_edges(
        &mut self,
        f: &str,
        t: &str,
        planned: Vec<(u64, u64, Vec<AssocDef>)>,
        default_only: bool,
    ) -> Vec<Value> {
        let mut results = Vec::new();
        for (a, b, defs) in planned {
            for d in &defs {
                self.edges.insert(Edge::new(f, a, t, b, d.type_id));
                self.edges.insert(Edge::new(t, b, f, a, d.inverse));
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
                results.push(self.assoc_result(f, a, t, b, &types));
            }
        }
        results
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
            Some(a) => {
                a.parse::<u64>().map_err(|_| HsError::validation(format!("Invalid after {a}")))?
            }
        };
        let mut it = self.types_by_target(&f, fi, &t, start).into_iter();
        let results: Vec<Value> = it
            .by_ref()
            .take(limit)
            .map(|(ti, types)| json!({"toObjectId": ti.to_string(), "associationTypes": types}))
            .collect();
        let mut body = json!({"results": results});
        if let (Some((next, _)), Some(o)) = (it.next(), body.as_object_mut()) {
            o.insert("paging".into(), json!({"next": {"after": next.to_string()}}));
        }
        Ok((StatusCode::OK, body))
    }
    /// The association types of record `fi` of `f` with each record of `t` from id `start` on, by
    /// target id.
    fn types_by_target(&self, f: &str, fi: u64, t: &str, start: u64) -> BTreeMap<u64, Vec<Value>> {
        let mut by_target: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
        for e in self.edges.range(Edge::range(f, fi, t, start)) {
            let def = self.assoc_defs.iter().find(|a| a.type_id == e.type_id && a.from == f);
            if let Some(d) = def {
                by_target.entry(e.to_id).or_default().push(Self::label_json(d));
            }
        }
        by_target
    }
    pub fn assoc_read(&self, from: &str, to: &str, body: &[u8], cfg: &SimConfig) -> Answer {
        let batch = BatchAnswer::start(cfg);
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
            let by_target = self.types_by_target(&f, fi, &t, 0);
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
        Ok(batch.answer(StatusCode::OK, results, errors))
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
                self.edges.retain(|e| !e.joins(&f, fi, &t, ti));
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
                    self.edges.remove(&Edge::new(&f, fi, &t, ti, ty.association_type_id));
                    self.edges.remove(&Edge::new(&t, ti, &f, fi, inv));
                }
            }
        }
        Ok((StatusCode::NO_CONTENT, Value::Null))
    }
}
