//! sObjects: describe, records (create, read, update, delete), limits, recent items, and the
//! changes and deletes of a replication window.

use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::org::SfError;
use crate::{Shared, dates, ids};

use super::{S, error_response, json_response, version};

pub(super) async fn describe_global(State(shared): S, Path(v): Path<String>) -> Response {
    let v = version(&v);
    let org = shared.org_lock();
    let sobjects: Vec<Value> = org.objects().iter().map(|o| o.global_entry(&v)).collect();
    json_response(200, &json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects}))
}

pub(super) async fn describe(State(shared): S, Path((v, obj)): Path<(String, String)>) -> Response {
    let v = version(&v);
    let org = shared.org_lock();
    match org.object(&obj) {
        Some(o) => json_response(200, &o.describe(&v, org.child_relationships(&o.name))),
        None => error_response(&SfError::not_found()),
    }
}

fn parse_body(body: &Bytes) -> Result<Map<String, Value>, SfError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m.into_iter().filter(|(k, _)| k != "attributes").collect()),
        Ok(_) => Err(SfError::new(400, "JSON_PARSER_ERROR", "Expected a JSON object")),
        Err(e) => Err(SfError::new(400, "JSON_PARSER_ERROR", format!("Unexpected character: {e}"))),
    }
}

pub(super) async fn create(
    State(shared): S,
    Path((_v, obj)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let fields = match parse_body(&body) {
        Ok(f) => f,
        Err(e) => return error_response(&e),
    };
    let result = {
        let mut org = shared.org_lock();
        org.create(&obj, &fields, Shared::now())
            .map(|id| (org.object(&obj).map(|o| o.name.clone()).unwrap_or_default(), id))
    };
    match result {
        Ok((name, id)) => {
            shared.changed(&name, &id);
            json_response(201, &json!({"id": id, "success": true, "errors": []}))
        }
        Err(e) => error_response(&e),
    }
}

#[derive(Deserialize)]
pub(super) struct FieldsParam {
    fields: Option<String>,
}

pub(super) async fn get_record(
    State(shared): S,
    Path((v, obj, id)): Path<(String, String, String)>,
    Query(params): Query<FieldsParam>,
) -> Response {
    let v = version(&v);
    let org = shared.org_lock();
    let Some(def) = org.object(&obj) else {
        return error_response(&SfError::not_found());
    };
    if !ids::is_valid(&id) {
        return error_response(&SfError::not_found());
    }
    let Some(row) = org.get(&obj, &id) else {
        return error_response(&SfError::not_found());
    };
    let fields = match params.fields.as_deref() {
        Some(list) if !list.trim().is_empty() => {
            let mut out = Vec::new();
            for f in list.split(',').map(str::trim) {
                match def.field(f) {
                    Some(fd) => out.push(fd.name.clone()),
                    None => {
                        return error_response(&SfError::new(
                            400,
                            "INVALID_FIELD",
                            format!("No such column '{f}' on entity '{}'", def.name),
                        ));
                    }
                }
            }
            Some(out)
        }
        _ => None,
    };
    json_response(200, &org.rest_record(&def.name, &v, row, fields.as_deref()))
}

pub(super) async fn update(
    State(shared): S,
    Path((_v, obj, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let fields = match parse_body(&body) {
        Ok(f) => f,
        Err(e) => return error_response(&e),
    };
    if !ids::is_valid(&id) {
        return error_response(&SfError::not_found());
    }
    let result = {
        let mut org = shared.org_lock();
        org.update(&obj, &id, &fields, Shared::now())
            .map(|()| org.object(&obj).map(|o| o.name.clone()).unwrap_or_default())
    };
    match result {
        Ok(name) => {
            shared.changed(&name, &ids::normalize(&id));
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => error_response(&e),
    }
}

pub(super) async fn delete(
    State(shared): S,
    Path((_v, obj, id)): Path<(String, String, String)>,
) -> Response {
    if !ids::is_valid(&id) {
        return error_response(&SfError::not_found());
    }
    match shared.org_lock().delete(&obj, &id, Shared::now()) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error_response(&e),
    }
}

/// `GET /limits/`: the org's limits as `{"Name": {"Max": n, "Remaining": n}}` (REST API
/// Developer Guide, "Limits" / "List Organization Limits"). `DailyApiRequests` follows the
/// simulated allocation and usage, `DailyBulkV2QueryJobs` the query jobs created; the rest are
/// a Developer Edition's fixed allocations, untouched.
pub(super) async fn limits(State(shared): S) -> Response {
    let max = shared.knobs().api_allocation;
    let used = shared.api_used.load(Ordering::SeqCst);
    let jobs = shared.bulk_jobs_created.load(Ordering::SeqCst);
    let lim = |max: u64, remaining: u64| json!({"Max": max, "Remaining": remaining.min(max)});
    let fixed = |max: u64| lim(max, max);
    json_response(
        200,
        &json!({
            "ConcurrentAsyncGetReportInstances": fixed(200),
            "ConcurrentSyncReportRuns": fixed(20),
            "DailyApiRequests": lim(max, max.saturating_sub(used)),
            "DailyAsyncApexExecutions": fixed(250_000),
            "DailyBulkApiBatches": fixed(15_000),
            "DailyBulkV2QueryFileStorageMB": fixed(976_562),
            "DailyBulkV2QueryJobs": lim(10_000, 10_000u64.saturating_sub(jobs)),
            "DailyDurableGenericStreamingApiEvents": fixed(10_000),
            "DailyDurableStreamingApiEvents": fixed(10_000),
            "DailyGenericStreamingApiEvents": fixed(10_000),
            "DailyStandardVolumePlatformEvents": fixed(10_000),
            "DailyStreamingApiEvents": fixed(10_000),
            "DailyWorkflowEmails": fixed(390),
            "DataStorageMB": fixed(5),
            "DurableStreamingApiConcurrentClients": fixed(20),
            "FileStorageMB": fixed(20),
            "HourlyAsyncReportRuns": fixed(1_200),
            "HourlyDashboardRefreshes": fixed(200),
            "HourlyDashboardResults": fixed(5_000),
            "HourlyDashboardStatuses": fixed(999_999_999),
            "HourlyODataCallout": fixed(10_000),
            "HourlySyncReportRuns": fixed(500),
            "HourlyTimeBasedWorkflow": fixed(50),
            "MassEmail": fixed(10),
            "SingleEmail": fixed(15),
            "StreamingApiConcurrentClients": fixed(20),
        }),
    )
}

/// How many records `recentItems` of sObject basic info lists.
const RECENT_ITEMS: usize = 25;

/// `GET /sobjects/{Name}/` (sObject Basic Information): `{"objectDescribe": <the object's
/// describeGlobal entry>, "recentItems": [{attributes, Id, Name}]}`. Salesforce lists the
/// user's recently viewed records; the simulator, having no UI, lists the most recently
/// modified ones.
pub(super) async fn basic_info(
    State(shared): S,
    Path((v, obj)): Path<(String, String)>,
) -> Response {
    let v = version(&v);
    let org = shared.org_lock();
    let Some(def) = org.object(&obj) else {
        return error_response(&SfError::not_found());
    };
    let mut rows: Vec<&crate::Row> =
        org.ids(&def.name).iter().filter_map(|id| org.get(&def.name, id)).collect();
    let stamp =
        |r: &crate::Row| r.get("SystemModstamp").and_then(Value::as_str).and_then(dates::parse);
    rows.sort_by_key(|r| std::cmp::Reverse(stamp(r)));
    let fields = ["Id".to_owned(), "Name".to_owned()];
    let recent: Vec<Value> = rows
        .into_iter()
        .take(RECENT_ITEMS)
        .map(|r| org.rest_record(&def.name, &v, r, Some(&fields)))
        .collect();
    json_response(200, &json!({"objectDescribe": def.global_entry(&v), "recentItems": recent}))
}

/// How far back `updated` looks (REST API Developer Guide, "sObject Get Updated": "no more
/// than 30 days previous to the day the call is executed").
const UPDATED_RETENTION: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

/// `GET /sobjects/{Name}/updated/?start=&end=`: `{"ids": [...], "latestDateCovered": ...}`,
/// the live records whose `SystemModstamp` is in the window (seconds ignored, like deleted).
pub(super) async fn updated(
    State(shared): S,
    (Path((_, obj)), Query(params)): Replication,
) -> Response {
    let knobs = shared.knobs();
    let (start, covered, _) = match replication_window(&params, UPDATED_RETENTION, &knobs) {
        Ok(w) => w,
        Err(e) => return error_response(&e),
    };
    let org = shared.org_lock();
    let Some(def) = org.object(&obj).map(|o| o.name.clone()) else {
        return error_response(&SfError::not_found());
    };
    let hits: Vec<(OffsetDateTime, String)> = org
        .ids(&def)
        .into_iter()
        .filter_map(|id| {
            let at = org
                .get(&def, &id)?
                .get("SystemModstamp")
                .and_then(Value::as_str)
                .and_then(dates::parse)?;
            (at >= start && at < covered).then_some((at, id))
        })
        .collect();
    let hits = match within_id_limit("updated", hits, knobs.deleted_id_limit) {
        Ok(hits) => hits,
        Err(e) => return error_response(&e),
    };
    let ids: Vec<String> = hits.into_iter().map(|(_, id)| id).collect();
    json_response(200, &json!({"ids": ids, "latestDateCovered": dates::rest(covered)}))
}

/// A replication call's hits in date order, or Salesforce's `EXCEEDED_ID_LIMIT` when there are
/// more than `limit` (`kind`: "updated" or "deleted").
fn within_id_limit(
    kind: &str,
    mut hits: Vec<(OffsetDateTime, String)>,
    limit: usize,
) -> Result<Vec<(OffsetDateTime, String)>, SfError> {
    if hits.len() > limit {
        return Err(SfError::new(
            400,
            "EXCEEDED_ID_LIMIT",
            format!(
                "the number of {kind} records exceeds the limit of {limit}; use a smaller window"
            ),
        ));
    }
    hits.sort();
    Ok(hits)
}

/// The `[start, covered)` window of a replication call (deleted / updated), both truncated to
/// the granularity, `covered` no later than now, and the earliest date available (now less the
/// retention); errors as Salesforce words them.
fn replication_window(
    params: &DeletedParams,
    retention: std::time::Duration,
    knobs: &crate::Knobs,
) -> Result<(OffsetDateTime, OffsetDateTime, OffsetDateTime), SfError> {
    let (Some(start), Some(end)) = (
        params.start.as_deref().and_then(dates::parse),
        params.end.as_deref().and_then(dates::parse),
    ) else {
        return Err(SfError::new(
            400,
            "INVALID_REPLICATION_DATE",
            "start and end must be ISO 8601 date-times, e.g. 2013-05-05T00:00:00+00:00",
        ));
    };
    let now = Shared::now();
    let g = knobs.deleted_granularity;
    let horizon = truncate(now - retention, g);
    let start = truncate(start, g);
    let covered = truncate(end.min(now), g);
    if start < horizon {
        return Err(SfError::new(
            400,
            "INVALID_REPLICATION_DATE",
            format!("startDate cannot be before earliestDateAvailable {}", dates::rest(horizon)),
        ));
    }
    if end < start {
        return Err(SfError::new(
            400,
            "INVALID_REPLICATION_DATE",
            "endDate must be after startDate",
        ));
    }
    Ok((start, covered, horizon))
}

#[derive(Deserialize)]
pub(super) struct DeletedParams {
    start: Option<String>,
    end: Option<String>,
}

/// What a replication call (`updated`, `deleted`) names: its object (path) and its window
/// (query).
type Replication = (Path<(String, String)>, Query<DeletedParams>);

fn truncate(t: OffsetDateTime, step: std::time::Duration) -> OffsetDateTime {
    let step_ns = step.as_nanos().max(1) as i128;
    let ns = t.unix_timestamp_nanos();
    OffsetDateTime::from_unix_timestamp_nanos(ns - ns.rem_euclid(step_ns)).unwrap_or(t)
}

pub(super) async fn deleted(
    State(shared): S,
    (Path((_, obj)), Query(params)): Replication,
) -> Response {
    let knobs = shared.knobs();
    let (start, covered, horizon) =
        match replication_window(&params, knobs.deleted_retention, &knobs) {
            Ok(w) => w,
            Err(e) => return error_response(&e),
        };
    let mut org = shared.org_lock();
    let Some(def) = org.object(&obj).map(|o| o.name.clone()) else {
        return error_response(&SfError::not_found());
    };
    org.purge_deleted(horizon);
    let hits: Vec<(OffsetDateTime, String)> = org
        .recycle
        .iter()
        .filter(|d| d.object == def && d.at >= start && d.at < covered)
        .map(|d| (d.at, d.id.clone()))
        .collect();
    let hits = match within_id_limit("deleted", hits, knobs.deleted_id_limit) {
        Ok(hits) => hits,
        Err(e) => return error_response(&e),
    };
    let records: Vec<Value> = hits
        .into_iter()
        .map(|(at, id)| json!({"id": id, "deletedDate": dates::rest(at)}))
        .collect();
    json_response(
        200,
        &json!({
            "deletedRecords": records,
            "earliestDateAvailable": dates::rest(horizon),
            "latestDateCovered": dates::rest(covered),
        }),
    )
}
