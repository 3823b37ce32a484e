//! The in-memory org: records, recycle bin, query cursors, bulk jobs. All operations are
//! synchronous and run under one lock.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use crate::dates;
use crate::ids;
use crate::schema::{FieldDef, FieldType, ObjectDef, Rng, SeedSize, seed_values, seeded_objects};
use crate::soql::{self, Query};

/// Open query cursors per user: opening one more releases the oldest (as Salesforce does).
pub const MAX_CURSORS: usize = 10;

/// A stored record: canonical field name -> JSON value (null when unset).
pub type Row = IndexMap<String, Value>;

/// An error as Salesforce reports it: HTTP status plus one `{"message","errorCode","fields"?}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub fields: Option<Vec<String>>,
}

impl SfError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> SfError {
        SfError { status, code: code.to_owned(), message: message.into(), fields: None }
    }

    pub fn with_fields(mut self, fields: Vec<String>) -> SfError {
        self.fields = Some(fields);
        self
    }

    pub fn not_found() -> SfError {
        SfError::new(404, "NOT_FOUND", "The requested resource does not exist")
    }

    /// The error body: a one-element array.
    pub fn body(&self) -> Value {
        let mut m = Map::new();
        m.insert("message".into(), json!(self.message));
        m.insert("errorCode".into(), json!(self.code));
        if let Some(fields) = &self.fields {
            m.insert("fields".into(), json!(fields));
        }
        Value::Array(vec![Value::Object(m)])
    }
}

#[derive(Debug, Clone)]
pub struct DeletedEntry {
    pub object: String,
    pub id: String,
    pub at: OffsetDateTime,
    pub row: Row,
}

#[derive(Debug)]
pub struct Cursor {
    pub rows: Vec<Value>,
    pub batch: usize,
    pub version: String,
    /// When the cursor was last used (opened or followed).
    pub last_used: std::time::Instant,
    /// Added idleness (`SimHandle::age_query_cursors`).
    pub idle_extra: std::time::Duration,
}

impl Cursor {
    /// How long the cursor has not been used.
    pub fn idle(&self) -> std::time::Duration {
        self.last_used.elapsed() + self.idle_extra
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    UploadComplete,
    InProgress,
    JobComplete,
    Aborted,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::UploadComplete => "UploadComplete",
            JobState::InProgress => "InProgress",
            JobState::JobComplete => "JobComplete",
            JobState::Aborted => "Aborted",
        }
    }
}

#[derive(Debug)]
pub struct Job {
    pub id: String,
    pub operation: String,
    pub object: String,
    pub query: Query,
    pub api_version: String,
    pub state: JobState,
    pub created: OffsetDateTime,
    pub modstamp: OffsetDateTime,
    pub polls: u32,
    pub rows: Vec<Vec<Option<String>>>,
    /// When the job reached a final state (`JobComplete`, `Aborted`): its retention starts.
    pub finished_at: Option<std::time::Instant>,
    /// Added age (`SimHandle::age_bulk_jobs`).
    pub age_extra: std::time::Duration,
}

impl Job {
    /// Whether a finished job is past `retention` (Salesforce then answers 404 for it).
    pub fn expired(&self, retention: std::time::Duration) -> bool {
        self.finished_at.is_some_and(|at| at.elapsed() + self.age_extra > retention)
    }
}

/// The org.
#[derive(Debug)]
pub struct Org {
    pub org_id: String,
    pub user_id: String,
    objects: Vec<ObjectDef>,
    records: HashMap<String, IndexMap<String, Row>>,
    owner_of: HashMap<String, String>,
    pub recycle: Vec<DeletedEntry>,
    next_id: u64,
    /// Open query cursors, oldest first (at most [`MAX_CURSORS`]).
    pub cursors: IndexMap<String, Cursor>,
    pub jobs: IndexMap<String, Job>,
}

/// A boolean, number, date or date-time value as Salesforce takes it (numbers and booleans
/// also as strings; a whole number for an integer; a date as `YYYY-MM-DD`; a date-time in any
/// form Salesforce reads, stored in its REST form); `None`: not of the field's type.
fn scalar(ft: FieldType, value: &Value) -> Option<Value> {
    match ft {
        FieldType::Boolean => match value {
            Value::Bool(_) => Some(value.clone()),
            Value::String(s)
                if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") =>
            {
                Some(json!(s.eq_ignore_ascii_case("true")))
            }
            _ => None,
        },
        FieldType::Int => match value {
            Value::Number(n) if n.as_i64().is_some() => Some(value.clone()),
            Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) =>
            {
                #[allow(clippy::cast_possible_truncation)]
                Some(json!(n.as_f64().unwrap_or(0.0) as i64))
            }
            Value::String(s) => s.trim().parse::<i64>().ok().map(|i| json!(i)),
            _ => None,
        },
        FieldType::Date => value
            .as_str()
            .filter(|s| {
                time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
                    .is_ok()
            })
            .map(|_| value.clone()),
        FieldType::Datetime => {
            value.as_str().and_then(dates::parse).map(|t| json!(dates::rest(dates::millis(t))))
        }
        // Double, currency, percent.
        _ => match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number),
    }
}

fn type_error(field: &str, ft: FieldType, value: &Value) -> SfError {
    SfError::new(
        400,
        "JSON_PARSER_ERROR",
        format!(
            "Cannot deserialize instance of {} from {} value {} or request may be missing a required field",
            ft.name(),
            match value {
                Value::String(_) => "VALUE_STRING",
                Value::Number(_) => "VALUE_NUMBER",
                Value::Bool(_) => "VALUE_BOOLEAN",
                Value::Array(_) => "START_ARRAY",
                Value::Object(_) => "START_OBJECT",
                Value::Null => "VALUE_NULL",
            },
            value
        ),
    )
    .with_fields(vec![field.to_owned()])
}

impl Org {
    /// An org with the seeded objects and `size` records, generated from `seed`.
    pub fn seeded(org_id: &str, size: SeedSize, seed: u64, now: OffsetDateTime) -> Org {
        let mut org = Org {
            org_id: org_id.to_owned(),
            user_id: ids::make("005", 1),
            objects: seeded_objects(),
            records: HashMap::new(),
            owner_of: HashMap::new(),
            recycle: Vec::new(),
            next_id: 1,
            cursors: IndexMap::new(),
            jobs: IndexMap::new(),
        };
        for o in &org.objects {
            org.records.insert(o.name.clone(), IndexMap::new());
        }
        let mut rng = Rng::new(seed);
        let mut accounts = Vec::new();
        let mut invoices = Vec::new();
        let plan = [
            ("Account", size.accounts),
            ("Invoice__c", size.invoices),
            ("Invoice_Line__c", size.lines),
            ("acme__Shipment__c", size.shipments),
        ];
        for (object, n) in plan {
            // Children need parents: no accounts, no invoices; no invoices, no lines or shipments.
            let needs_invoices = matches!(object, "Invoice_Line__c" | "acme__Shipment__c");
            if (object != "Account" && accounts.is_empty())
                || (needs_invoices && invoices.is_empty())
            {
                continue;
            }
            for i in 0..n {
                let values = seed_values(object, i, &mut rng, &accounts, &invoices);
                // Spread creation over the last 30 days, deterministic.
                let created = dates::millis(now - Duration::seconds(30 * 86_400 - (i as i64) * 7));
                let mut fields = Map::new();
                for (k, v) in values {
                    fields.insert(k.to_owned(), v);
                }
                if let Ok(id) = org.insert(object, &fields, created, true) {
                    match object {
                        "Account" => accounts.push(id),
                        "Invoice__c" => invoices.push(id),
                        _ => {}
                    }
                }
            }
        }
        org
    }

    pub fn objects(&self) -> &[ObjectDef] {
        &self.objects
    }

    /// An object by name, case-insensitively.
    pub fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.objects.iter().find(|o| o.name.eq_ignore_ascii_case(name))
    }

    fn object_or_404(&self, name: &str) -> Result<ObjectDef, SfError> {
        self.object(name)
            .cloned()
            .ok_or_else(|| SfError::new(404, "NOT_FOUND", "The requested resource does not exist"))
    }

    pub fn new_id(&mut self, prefix: &str) -> String {
        let n = self.next_id;
        self.next_id += 1;
        ids::make(prefix, n)
    }

    pub fn record_count(&self, object: &str) -> usize {
        self.object(object).and_then(|o| self.records.get(&o.name)).map_or(0, IndexMap::len)
    }

    /// A live record.
    pub fn get(&self, object: &str, id: &str) -> Option<&Row> {
        let o = self.object(object)?;
        self.records.get(&o.name)?.get(&ids::normalize(id))
    }

    /// The object of a live record id.
    pub fn object_of(&self, id: &str) -> Option<&str> {
        self.owner_of.get(&ids::normalize(id)).map(String::as_str)
    }

    /// Ids of live records of an object, in creation order.
    pub fn ids(&self, object: &str) -> Vec<String> {
        self.object(object)
            .and_then(|o| self.records.get(&o.name))
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn coerce(
        &self,
        object: &ObjectDef,
        name: &str,
        value: &Value,
        trusted: bool,
    ) -> Result<(String, Value), SfError> {
        let Some(field) = object.field(name) else {
            return Err(SfError::new(
                400,
                "INVALID_FIELD",
                format!("No such column '{name}' on sobject of type {}", object.name),
            )
            .with_fields(vec![]));
        };
        if !field.writable() && !trusted {
            return Err(SfError::new(
                400,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!("Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", field.name),
            )
            .with_fields(vec![field.name.clone()]));
        }
        let canonical = field.name.clone();
        if value.is_null() {
            if field.required {
                return Err(SfError::new(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    format!("Required fields are missing: [{canonical}]"),
                )
                .with_fields(vec![canonical]));
            }
            let v = if field.field_type == FieldType::Boolean { json!(false) } else { Value::Null };
            return Ok((canonical, v));
        }
        let ft = field.field_type;
        let v = match ft {
            FieldType::Boolean
            | FieldType::Double
            | FieldType::Currency
            | FieldType::Percent
            | FieldType::Int
            | FieldType::Date
            | FieldType::Datetime => {
                scalar(ft, value).ok_or_else(|| type_error(&canonical, ft, value))?
            }
            _ => {
                let Some(s) = value.as_str() else {
                    return Err(type_error(&canonical, ft, value));
                };
                if s.is_empty() {
                    return Ok((canonical, Value::Null));
                }
                self.text(field, s).map_err(|e| e.with_fields(vec![canonical.clone()]))?
            }
        };
        Ok((canonical, v))
    }

    /// A text value of a text, email, picklist or reference field, as Salesforce checks it: its
    /// length, an email's `@`, a restricted picklist's values, a reference's id and object.
    fn text(&self, field: &FieldDef, s: &str) -> Result<Value, SfError> {
        if field.length > 0 && s.chars().count() > field.length as usize {
            return Err(SfError::new(
                400,
                "STRING_TOO_LONG",
                format!(
                    "{}: data value too large: {} (max length={})",
                    field.label,
                    s.chars().take(40).collect::<String>(),
                    field.length
                ),
            ));
        }
        match field.field_type {
            FieldType::Email if !s.contains('@') => Err(SfError::new(
                400,
                "INVALID_EMAIL_ADDRESS",
                format!("{}: invalid email address: {s}", field.label),
            )),
            FieldType::Picklist if field.restricted_picklist && !field.picklist.contains(&s) => {
                Err(SfError::new(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!("{}: bad value for restricted picklist field: {s}", field.label),
                ))
            }
            FieldType::Reference => {
                if !ids::is_valid(s) {
                    return Err(SfError::new(
                        400,
                        "MALFORMED_ID",
                        format!("{}: id value of incorrect type: {s}", field.label),
                    ));
                }
                let id = ids::normalize(s);
                let ok = self.object_of(&id).is_some_and(|o| field.points_to(o));
                if !ok {
                    return Err(SfError::new(
                        400,
                        "INVALID_CROSS_REFERENCE_KEY",
                        "invalid cross reference id",
                    ));
                }
                Ok(json!(id))
            }
            _ => Ok(json!(s)),
        }
    }

    fn insert(
        &mut self,
        object: &str,
        fields: &Map<String, Value>,
        now: OffsetDateTime,
        trusted: bool,
    ) -> Result<String, SfError> {
        let def = self.object_or_404(object)?;
        let mut row = Row::new();
        for f in &def.fields {
            row.insert(
                f.name.clone(),
                if f.field_type == FieldType::Boolean { json!(false) } else { Value::Null },
            );
        }
        for (k, v) in fields {
            let (name, value) = self.coerce(&def, k, v, trusted)?;
            row.insert(name, value);
        }
        let missing: Vec<String> = def
            .fields
            .iter()
            .filter(|f| f.required && row.get(&f.name).is_none_or(Value::is_null))
            .map(|f| f.name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(SfError::new(
                400,
                "REQUIRED_FIELD_MISSING",
                format!("Required fields are missing: [{}]", missing.join(", ")),
            )
            .with_fields(missing));
        }
        let id = self.new_id(&def.key_prefix);
        let stamp = json!(dates::rest(dates::millis(now)));
        row.insert("Id".into(), json!(id));
        row.insert("IsDeleted".into(), json!(false));
        row.insert("CreatedDate".into(), stamp.clone());
        row.insert("LastModifiedDate".into(), stamp.clone());
        row.insert("SystemModstamp".into(), stamp);
        self.owner_of.insert(id.clone(), def.name.clone());
        self.records.entry(def.name.clone()).or_default().insert(id.clone(), row);
        Ok(id)
    }

    /// `POST /sobjects/{object}`.
    pub fn create(
        &mut self,
        object: &str,
        fields: &Map<String, Value>,
        now: OffsetDateTime,
    ) -> Result<String, SfError> {
        self.insert(object, fields, now, false)
    }

    /// `PATCH /sobjects/{object}/{id}`.
    pub fn update(
        &mut self,
        object: &str,
        id: &str,
        fields: &Map<String, Value>,
        now: OffsetDateTime,
    ) -> Result<(), SfError> {
        let def = self.object_or_404(object)?;
        let id = ids::normalize(id);
        if self.records.get(&def.name).and_then(|m| m.get(&id)).is_none() {
            return Err(SfError::not_found());
        }
        let mut changes = Vec::new();
        for (k, v) in fields {
            changes.push(self.coerce(&def, k, v, false)?);
        }
        let stamp = json!(dates::rest(dates::millis(now)));
        if let Some(row) = self.records.get_mut(&def.name).and_then(|m| m.get_mut(&id)) {
            for (k, v) in changes {
                row.insert(k, v);
            }
            row.insert("LastModifiedDate".into(), stamp.clone());
            row.insert("SystemModstamp".into(), stamp);
        }
        Ok(())
    }

    /// `DELETE /sobjects/{object}/{id}` (to the recycle bin, deleted at `at`).
    pub fn delete(&mut self, object: &str, id: &str, at: OffsetDateTime) -> Result<(), SfError> {
        let def = self.object_or_404(object)?;
        let id = ids::normalize(id);
        let Some(mut row) = self.records.get_mut(&def.name).and_then(|m| m.shift_remove(&id))
        else {
            return Err(if self.recycle.iter().any(|d| d.id == id) {
                SfError::new(404, "ENTITY_IS_DELETED", "entity is deleted").with_fields(vec![])
            } else {
                SfError::not_found()
            });
        };
        self.owner_of.remove(&id);
        let stamp = json!(dates::rest(dates::millis(at)));
        row.insert("IsDeleted".into(), json!(true));
        row.insert("SystemModstamp".into(), stamp);
        self.recycle.push(DeletedEntry {
            object: def.name.clone(),
            id,
            at: dates::millis(at),
            row,
        });
        Ok(())
    }

    /// Restores a record from the recycle bin (SOAP `undelete()`, Apex `Database.undelete`, the
    /// UI): its fields as they were, `IsDeleted` false; `SystemModstamp` and `LastModifiedDate`
    /// moved to `now` when `moves_stamps` (what Salesforce does there is unverified: both are
    /// simulated). Refused for a record not in the recycle bin.
    pub fn undelete(
        &mut self,
        object: &str,
        id: &str,
        now: OffsetDateTime,
        moves_stamps: bool,
    ) -> Result<(), SfError> {
        let def = self.object_or_404(object)?;
        let id = ids::normalize(id);
        let Some(at) = self.recycle.iter().position(|d| d.id == id && d.object == def.name) else {
            return Err(SfError::new(
                400,
                "UNDELETE_FAILED",
                format!("{id} is not in the recycle bin"),
            ));
        };
        let mut row = self.recycle.remove(at).row;
        row.insert("IsDeleted".into(), json!(false));
        if moves_stamps {
            let stamp = json!(dates::rest(dates::millis(now)));
            row.insert("LastModifiedDate".into(), stamp.clone());
            row.insert("SystemModstamp".into(), stamp);
        } else if let Some(modified) = row.get("LastModifiedDate").cloned() {
            // The deletion's stamp goes with it: the record is as it was before.
            row.insert("SystemModstamp".into(), modified);
        }
        self.owner_of.insert(id.clone(), def.name.clone());
        self.records.entry(def.name.clone()).or_default().insert(id, row);
        Ok(())
    }

    /// A change by Salesforce itself (a roll-up recalculated, a picklist value renamed, ...):
    /// `SystemModstamp` moves to `now`, `LastModifiedDate` does not, and no flow runs.
    pub fn system_change(
        &mut self,
        object: &str,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<(), SfError> {
        let def = self.object_or_404(object)?;
        let row = self
            .records
            .get_mut(&def.name)
            .and_then(|m| m.get_mut(&ids::normalize(id)))
            .ok_or_else(SfError::not_found)?;
        row.insert("SystemModstamp".into(), json!(dates::rest(dates::millis(now))));
        Ok(())
    }

    /// Drops recycle-bin entries deleted before `horizon`.
    pub fn purge_deleted(&mut self, horizon: OffsetDateTime) {
        self.recycle.retain(|d| d.at >= horizon);
    }

    /// Drops the finished Bulk jobs older than `retention` (their results are gone).
    pub fn purge_expired_jobs(&mut self, retention: std::time::Duration) {
        self.jobs.retain(|_, job| !job.expired(retention));
    }

    /// Parses a SOQL query against this org.
    pub fn parse(&self, soql_text: &str) -> Result<Query, SfError> {
        soql::parse(soql_text, |n| self.object(n)).map_err(|e| SfError::new(400, e.code, e.message))
    }

    /// Rows matching a parsed query (ordered, offset and limit applied).
    pub fn select(&self, q: &Query, include_deleted: bool) -> Vec<&Row> {
        let Some(def) = self.object(&q.object) else {
            return Vec::new();
        };
        let live = self.records.get(&def.name).into_iter().flat_map(|m| m.values());
        let deleted =
            self.recycle.iter().filter(|d| include_deleted && d.object == def.name).map(|d| &d.row);
        let mut rows: Vec<&Row> = live
            .chain(deleted)
            .filter(|row| {
                q.filter.as_ref().is_none_or(|f| {
                    soql::eval(f, def, &|name| row.get(name).cloned().unwrap_or(Value::Null))
                })
            })
            .collect();
        if !q.order.is_empty() {
            rows.sort_by(|a, b| {
                soql::order_rows(
                    &q.order,
                    def,
                    &|n| a.get(n).cloned().unwrap_or(Value::Null),
                    &|n| b.get(n).cloned().unwrap_or(Value::Null),
                )
            });
        }
        rows.into_iter().skip(q.offset).take(q.limit.unwrap_or(usize::MAX)).collect()
    }

    /// The parent record and its object behind a relationship name (`Account__r`) of `row`.
    fn parent_of(&self, object: &str, row: &Row, relationship: &str) -> Option<(&ObjectDef, &Row)> {
        let def = self.object(object)?;
        let lookup = def.fields.iter().find(|f| f.relationship(relationship).is_some())?;
        let parent_id = row.get(&lookup.name)?.as_str()?;
        let parent_object = self.object_of(parent_id)?;
        let parent_def = self.object(parent_object)?;
        Some((parent_def, self.get(parent_object, parent_id)?))
    }

    /// A field's value, following one `Relationship__r.Field` hop (Null when there is no parent).
    pub fn value_of(&self, object: &str, row: &Row, field: &str) -> Value {
        match field.split_once('.') {
            None => row.get(field).cloned().unwrap_or(Value::Null),
            Some((rel, sub)) => self
                .parent_of(object, row, rel)
                .and_then(|(_, parent)| parent.get(sub).cloned())
                .unwrap_or(Value::Null),
        }
    }

    /// A row as REST returns it: `attributes` first, then the fields asked for; relationship
    /// fields nested as `{"Account__r": {"attributes": ..., "Name": ...}}` (null without parent).
    pub fn rest_record(
        &self,
        object: &str,
        version: &str,
        row: &Row,
        fields: Option<&[String]>,
    ) -> Value {
        let attributes = |object: &str, row: &Row| {
            let id = row.get("Id").and_then(Value::as_str).unwrap_or_default();
            json!({"type": object, "url": format!("/services/data/v{version}/sobjects/{object}/{id}")})
        };
        let mut m = Map::new();
        m.insert("attributes".into(), attributes(object, row));
        match fields {
            Some(fields) => {
                for f in fields {
                    match f.split_once('.') {
                        None => {
                            m.insert(f.clone(), row.get(f).cloned().unwrap_or(Value::Null));
                        }
                        Some((rel, sub)) => {
                            let entry = m.entry(rel.to_owned()).or_insert_with(|| {
                                match self.parent_of(object, row, rel) {
                                    Some((pdef, parent)) => {
                                        let mut pm = Map::new();
                                        pm.insert(
                                            "attributes".into(),
                                            attributes(&pdef.name, parent),
                                        );
                                        Value::Object(pm)
                                    }
                                    None => Value::Null,
                                }
                            });
                            if let Value::Object(pm) = entry {
                                let v = self.value_of(object, row, f);
                                pm.insert(sub.to_owned(), v);
                            }
                        }
                    }
                }
            }
            None => {
                for (k, v) in row {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
        Value::Object(m)
    }

    /// describe's `childRelationships` for an object.
    pub fn child_relationships(&self, object: &str) -> Vec<Value> {
        let mut out = Vec::new();
        for o in &self.objects {
            for f in &o.fields {
                if f.points_to(object) {
                    out.push(json!({
                        "cascadeDelete": false,
                        "childSObject": o.name,
                        "deprecatedAndHidden": false,
                        "field": f.name,
                        "junctionIdListNames": [],
                        "junctionReferenceTo": [],
                        "relationshipName": f.lookup.as_ref().map(|l| l.relationship.replace("__r", "s__r")),
                        "restrictedDelete": false,
                    }));
                }
            }
        }
        out
    }
}
