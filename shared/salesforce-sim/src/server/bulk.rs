//! Bulk API 2.0 query jobs: create, state, abort, delete, and results by locator as CSV.

use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::org::{Job, JobState, Org, SfError};
use crate::{Shared, dates};

use super::{S, error_response, json_response, version};

fn job_json(job: &Job, org: &Org, with_stats: bool) -> Value {
    let mut v = json!({
        "id": job.id,
        "operation": job.operation,
        "object": job.object,
        "createdById": org.user_id,
        "createdDate": dates::rest(job.created),
        "systemModstamp": dates::rest(job.modstamp),
        "state": job.state.as_str(),
        "concurrencyMode": "Parallel",
        "contentType": "CSV",
        "apiVersion": job.api_version.parse::<f64>().unwrap_or(0.0),
        "lineEnding": "LF",
        "columnDelimiter": "COMMA",
    });
    if with_stats && let Value::Object(m) = &mut v {
        m.insert("jobType".into(), json!("V2Query"));
        let done = job.state == JobState::JobComplete;
        m.insert("numberRecordsProcessed".into(), json!(if done { job.rows.len() } else { 0 }));
        m.insert("retries".into(), json!(0));
        m.insert("totalProcessingTime".into(), json!(if done { 42 } else { 0 }));
        m.insert("isPkChunkingSupported".into(), json!(true));
    }
    v
}

#[derive(Deserialize)]
pub(super) struct CreateJob {
    operation: Option<String>,
    query: Option<String>,
}

pub(super) async fn create_job(State(shared): S, Path(v): Path<String>, body: Bytes) -> Response {
    let v = version(&v);
    let req: CreateJob = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error_response(&SfError::new(400, "JSON_PARSER_ERROR", e.to_string())),
    };
    let operation = req.operation.unwrap_or_default();
    if operation != "query" && operation != "queryAll" {
        return error_response(&SfError::new(
            400,
            "INVALIDJOB",
            format!("Invalid operation: {operation}"),
        ));
    }
    let Some(text) = req.query else {
        return error_response(&SfError::new(400, "INVALIDJOB", "query is required"));
    };
    let mut org = shared.org_lock();
    let q = match org.parse(&text) {
        Ok(q) => q,
        Err(e) => return error_response(&e),
    };
    if q.count {
        return error_response(&SfError::new(
            400,
            "INVALIDJOB",
            "Aggregate queries are not supported by Bulk API 2.0 query jobs",
        ));
    }
    let now = dates::millis(Shared::now());
    let id = org.new_id("750");
    let job = Job {
        id: id.clone(),
        operation,
        object: q.object.clone(),
        query: q,
        api_version: v,
        state: JobState::UploadComplete,
        created: now,
        modstamp: now,
        polls: 0,
        rows: Vec::new(),
        finished_at: None,
        age_extra: std::time::Duration::ZERO,
    };
    let body = job_json(&job, &org, false);
    org.jobs.insert(id, job);
    shared.bulk_jobs_created.fetch_add(1, Ordering::SeqCst);
    json_response(200, &body)
}

fn csv_cell(ft: Option<crate::schema::FieldType>, v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if ft == Some(crate::schema::FieldType::Datetime) => {
            Some(dates::parse(s).map(dates::soap).unwrap_or_else(|| s.clone()))
        }
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn version_mismatch(job: &Job, v: &str) -> Option<Response> {
    (job.api_version != v).then(|| {
        error_response(&SfError::new(
            409,
            "INVALIDVERSION",
            format!(
                "The job was created with API version {}; use the same version",
                job.api_version
            ),
        ))
    })
}

pub(super) async fn job_info(State(shared): S, Path((v, id)): Path<(String, String)>) -> Response {
    let v = version(&v);
    let knobs = shared.knobs();
    let polls_needed = knobs.bulk_polls_until_complete;
    let mut org = shared.org_lock();
    org.purge_expired_jobs(knobs.bulk_results_retention);
    let Some(mut job) = org.jobs.shift_remove(&id) else {
        return error_response(&SfError::new(
            404,
            "NOT_FOUND",
            "The requested resource does not exist",
        ));
    };
    if let Some(resp) = version_mismatch(&job, &v) {
        org.jobs.insert(id, job);
        return resp;
    }
    if matches!(job.state, JobState::UploadComplete | JobState::InProgress) {
        job.polls += 1;
        if job.polls >= polls_needed.max(1) {
            let def = org.object(&job.object).cloned();
            let include_deleted = job.operation == "queryAll";
            let rows: Vec<Vec<Option<String>>> = org
                .select(&job.query, include_deleted)
                .into_iter()
                .map(|r| {
                    job.query
                        .fields
                        .iter()
                        .map(|f| {
                            let ft = def.as_ref().and_then(|d| d.field(f)).map(|fd| fd.field_type);
                            csv_cell(ft, &org.value_of(&job.object, r, f))
                        })
                        .collect()
                })
                .collect();
            job.rows = rows;
            job.state = JobState::JobComplete;
            job.finished_at = Some(std::time::Instant::now());
        } else {
            job.state = JobState::InProgress;
        }
        job.modstamp = dates::millis(Shared::now());
    }
    let body = job_json(&job, &org, true);
    org.jobs.insert(id, job);
    json_response(200, &body)
}

pub(super) async fn abort_job(
    State(shared): S,
    Path((v, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let v = version(&v);
    let retention = shared.knobs().bulk_results_retention;
    let wants_abort = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b.get("state").and_then(Value::as_str).map(|s| s == "Aborted"))
        .unwrap_or(false);
    let mut org = shared.org_lock();
    org.purge_expired_jobs(retention);
    let Some(mut job) = org.jobs.shift_remove(&id) else {
        return error_response(&SfError::new(
            404,
            "NOT_FOUND",
            "The requested resource does not exist",
        ));
    };
    let resp = if let Some(resp) = version_mismatch(&job, &v) {
        resp
    } else if !wants_abort {
        error_response(&SfError::new(400, "INVALIDJOBSTATE", "Only state Aborted can be set"))
    } else if job.state == JobState::JobComplete {
        error_response(&SfError::new(400, "INVALIDJOBSTATE", "Job is already complete"))
    } else {
        job.state = JobState::Aborted;
        job.finished_at = Some(std::time::Instant::now());
        job.modstamp = dates::millis(Shared::now());
        json_response(200, &job_json(&job, &org, false))
    };
    org.jobs.insert(id, job);
    resp
}

pub(super) async fn delete_job(
    State(shared): S,
    Path((_v, id)): Path<(String, String)>,
) -> Response {
    let retention = shared.knobs().bulk_results_retention;
    let mut org = shared.org_lock();
    org.purge_expired_jobs(retention);
    match org.jobs.shift_remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => {
            error_response(&SfError::new(404, "NOT_FOUND", "The requested resource does not exist"))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ResultParams {
    locator: Option<String>,
    max_records: Option<usize>,
}

fn encode_locator(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(offset.to_string())
}

fn decode_locator(locator: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(locator).ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

pub(super) async fn job_results(
    State(shared): S,
    Path((v, id)): Path<(String, String)>,
    Query(params): Query<ResultParams>,
) -> Response {
    let v = version(&v);
    let knobs = shared.knobs();
    let default_max = knobs.bulk_default_max_records;
    let mut org = shared.org_lock();
    // Results are kept 7 days after the job completed; then the job is gone.
    org.purge_expired_jobs(knobs.bulk_results_retention);
    let Some(job) = org.jobs.get(&id) else {
        return error_response(&SfError::new(
            404,
            "NOT_FOUND",
            "The requested resource does not exist",
        ));
    };
    if let Some(resp) = version_mismatch(job, &v) {
        return resp;
    }
    if job.state != JobState::JobComplete {
        return error_response(&SfError::new(
            400,
            "INVALIDJOBSTATE",
            format!("Job state is {}, results are available once JobComplete", job.state.as_str()),
        ));
    }
    let offset = match params.locator.as_deref().filter(|l| !l.is_empty()) {
        None => 0,
        Some(l) => match decode_locator(l) {
            Some(o) if o <= job.rows.len() => o,
            _ => {
                return error_response(&SfError::new(400, "INVALIDLOCATOR", "invalid locator"));
            }
        },
    };
    let max = params.max_records.unwrap_or(default_max).max(1);
    let end = (offset + max).min(job.rows.len());
    let mut writer = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let mut ok = writer.write_record(&job.query.fields).is_ok();
    for row in &job.rows[offset..end] {
        ok &= writer.write_record(row.iter().map(|c| c.as_deref().unwrap_or(""))).is_ok();
    }
    let body = match writer.into_inner() {
        Ok(b) if ok => b,
        _ => {
            return error_response(&SfError::new(500, "UNKNOWN_EXCEPTION", "CSV writing failed"));
        }
    };
    let locator = if end < job.rows.len() { encode_locator(end) } else { "null".to_owned() };
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    if let Ok(l) = HeaderValue::from_str(&locator) {
        h.insert("Sforce-Locator", l);
    }
    h.insert("Sforce-NumberOfRecords", HeaderValue::from(end - offset));
    resp
}
