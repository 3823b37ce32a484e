//! Request bodies of the CRM endpoints and the shapes of their answers.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::config::{PartialStatus, SimConfig};
use crate::error::HsError;
use crate::model::{PropError, iso};
use time::OffsetDateTime;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Inputs<T> {
    pub(super) inputs: Vec<T>,
    pub(super) id_property: Option<String>,
    #[serde(default)]
    pub(super) properties: Vec<String>,
    #[serde(default)]
    pub(super) archived: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WriteInput {
    pub(super) id: Option<Value>,
    pub(super) id_property: Option<String>,
    #[serde(default)]
    pub(super) properties: Map<String, Value>,
    pub(super) object_write_trace_id: Option<String>,
    /// Batch create only: associations made with the new record.
    #[serde(default)]
    pub(super) associations: Vec<InlineAssociation>,
}

impl Inputs<WriteInput> {
    /// Each input's id (an update or upsert names its record), none twice in the batch.
    pub(super) fn ids(&self, what: &str) -> Result<Vec<String>, HsError> {
        let mut ids = Vec::with_capacity(self.inputs.len());
        for inp in &self.inputs {
            let id =
                inp.id.as_ref().and_then(id_string).ok_or_else(|| {
                    HsError::validation(format!("Every {what} input needs an id"))
                })?;
            ids.push(id);
        }
        duplicates(&ids)?;
        Ok(ids)
    }

    /// The property `inp`'s id is a value of: its own, the batch's, else the record id.
    pub(super) fn id_property(&self, inp: &WriteInput) -> String {
        inp.id_property
            .clone()
            .or_else(|| self.id_property.clone())
            .unwrap_or_else(|| "hs_object_id".into())
    }
}

/// `{to: {id}, types: [{associationCategory, associationTypeId}]}` of a created record: the
/// target's object type is the one the type id connects to.
#[derive(Deserialize)]
pub(super) struct InlineAssociation {
    pub(super) to: IdInput,
    #[serde(default)]
    pub(super) types: Vec<AssocType>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AssocType {
    pub(super) association_category: String,
    pub(super) association_type_id: u32,
}

#[derive(Deserialize)]
pub(super) struct IdInput {
    pub(super) id: Value,
}

pub(super) fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(super) fn value_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, HsError> {
    serde_json::from_slice(body).map_err(|e| HsError::bad_json(&e))
}

pub(super) fn invalid_props(errors: &[PropError]) -> HsError {
    let legacy: Vec<Value> = errors.iter().map(PropError::legacy_json).collect();
    HsError::validation(format!("Property values were not valid: {}", Value::Array(legacy)))
        .with("errors", Value::Array(errors.iter().map(PropError::to_json).collect()))
}

/// A batch call's answer, timed from its start: `COMPLETE` with its results, and with its errors
/// under the configured partial status.
pub(super) struct BatchAnswer {
    started: OffsetDateTime,
    partial: PartialStatus,
}

impl BatchAnswer {
    pub(super) fn start(cfg: &SimConfig) -> Self {
        Self { started: OffsetDateTime::now_utc(), partial: cfg.partial_status }
    }

    pub(super) fn answer(
        self,
        ok: StatusCode,
        results: Vec<Value>,
        errors: Vec<Value>,
    ) -> (StatusCode, Value) {
        let mut body = json!({
            "status": "COMPLETE",
            "results": results,
            "startedAt": iso(self.started),
            "completedAt": iso(OffsetDateTime::now_utc()),
        });
        if errors.is_empty() {
            return (ok, body);
        }
        if let Some(o) = body.as_object_mut() {
            o.insert("numErrors".into(), json!(errors.len()));
            o.insert("errors".into(), Value::Array(errors));
        }
        let status = match self.partial {
            PartialStatus::MultiStatus => StatusCode::MULTI_STATUS,
            PartialStatus::Ok => ok,
        };
        (status, body)
    }
}

pub(super) fn check_batch_size(n: usize, limit: usize) -> Result<(), HsError> {
    if n > limit {
        return Err(HsError::validation(format!(
            "Batch input limit exceeded: at most {limit} inputs are allowed, {n} were sent"
        ))
        .with("context", json!({"limit": [limit.to_string()], "count": [n.to_string()]})));
    }
    Ok(())
}

pub(super) fn duplicates(ids: &[String]) -> Result<(), HsError> {
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

/// One entry of a batch answer's `errors`, HubSpot's `StandardError`: `status`, `category`,
/// `message`, `context` (lists of strings), `errors` and `links` are all required by its spec.
pub(super) fn standard_error(category: &str, message: String, context: Value) -> Value {
    json!({
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    })
}

pub(super) fn not_found_errors(singular: &str, missing: Vec<String>) -> Vec<Value> {
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
