//! SOQL: `query` and `queryAll` with their cursors (`nextRecordsUrl`).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::org::SfError;

use super::{S, error_response, json_response, random_hex, version};

#[derive(Deserialize)]
pub(super) struct QueryParams {
    q: Option<String>,
}

fn batch_size(headers: &HeaderMap, max: usize) -> usize {
    let max = max.max(1);
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',').find_map(|p| p.trim().strip_prefix("batchSize=").map(str::to_owned))
        })
        .and_then(|n| n.trim().parse::<usize>().ok())
        .map_or(max, |n| n.clamp(200.min(max), max))
}

pub(super) async fn query(
    state: S,
    v: Path<String>,
    headers: HeaderMap,
    params: Query<QueryParams>,
) -> Response {
    run_query(state, v, headers, params, false)
}

pub(super) async fn query_all(
    state: S,
    v: Path<String>,
    headers: HeaderMap,
    params: Query<QueryParams>,
) -> Response {
    run_query(state, v, headers, params, true)
}

fn page(rows: &[Value], offset: usize, batch: usize, total: usize, next: Option<String>) -> Value {
    let end = (offset + batch).min(rows.len());
    let mut m = Map::new();
    m.insert("totalSize".into(), json!(total));
    m.insert("done".into(), json!(next.is_none()));
    if let Some(n) = next {
        m.insert("nextRecordsUrl".into(), json!(n));
    }
    m.insert("records".into(), Value::Array(rows[offset.min(end)..end].to_vec()));
    Value::Object(m)
}

fn run_query(
    State(shared): S,
    Path(v): Path<String>,
    headers: HeaderMap,
    Query(params): Query<QueryParams>,
    include_deleted: bool,
) -> Response {
    let v = version(&v);
    let knobs = shared.knobs();
    let Some(text) = params.q.filter(|q| !q.trim().is_empty()) else {
        return error_response(&SfError::new(
            400,
            "MALFORMED_QUERY",
            "A query string has to be specified",
        ));
    };
    // Locators are unique across simulator runs, as Salesforce's are: a checkpointed one from
    // an earlier run never names another query's cursor.
    let salt = random_hex(&shared);
    let mut org = shared.org_lock();
    let q = match org.parse(&text) {
        Ok(q) => q,
        Err(e) => return error_response(&e),
    };
    let rows = org.select(&q, include_deleted);
    if q.count {
        return json_response(200, &json!({"totalSize": rows.len(), "done": true, "records": []}));
    }
    let rows: Vec<Value> =
        rows.into_iter().map(|r| org.rest_record(&q.object, &v, r, Some(&q.fields))).collect();
    let batch = batch_size(&headers, knobs.max_query_batch);
    let total = rows.len();
    if total <= batch {
        return json_response(200, &page(&rows, 0, batch, total, None));
    }
    // (The record id sequence moves on as it did when locators were sequential.)
    let _ = org.new_id("01g");
    let random = u64::from_str_radix(&salt[..16], 16).unwrap_or_default();
    let locator = crate::ids::make("01g", random % 62u64.pow(10));
    let endpoint = if include_deleted { "queryAll" } else { "query" };
    let next = format!("/services/data/v{v}/{endpoint}/{locator}-{batch}");
    let body = page(&rows, 0, batch, total, Some(next));
    if org.cursors.len() >= crate::org::MAX_CURSORS {
        org.cursors.shift_remove_index(0);
    }
    org.cursors.insert(
        locator,
        crate::org::Cursor {
            rows,
            batch,
            version: v,
            last_used: std::time::Instant::now(),
            idle_extra: std::time::Duration::ZERO,
        },
    );
    json_response(200, &body)
}

pub(super) async fn query_more(
    State(shared): S,
    Path((v, locator)): Path<(String, String)>,
) -> Response {
    let v = version(&v);
    let invalid =
        || error_response(&SfError::new(400, "INVALID_QUERY_LOCATOR", "invalid query locator"));
    let Some((id, offset)) = locator.rsplit_once('-') else {
        return invalid();
    };
    let Ok(offset) = offset.parse::<usize>() else {
        return invalid();
    };
    let idle_timeout = shared.knobs().query_cursor_idle_timeout;
    let mut org = shared.org_lock();
    let Some(cursor) = org.cursors.get_mut(id) else {
        return invalid();
    };
    // Salesforce drops a cursor after 15 minutes of inactivity.
    if cursor.idle() > idle_timeout {
        org.cursors.shift_remove(id);
        return invalid();
    }
    if offset > cursor.rows.len() || cursor.version != v {
        return invalid();
    }
    cursor.last_used = std::time::Instant::now();
    cursor.idle_extra = std::time::Duration::ZERO;
    let total = cursor.rows.len();
    let end = offset + cursor.batch;
    let endpoint = "query";
    let next = (end < total).then(|| format!("/services/data/v{v}/{endpoint}/{id}-{end}"));
    let body = page(&cursor.rows, offset, cursor.batch, total, next.clone());
    if next.is_none() {
        org.cursors.shift_remove(id);
    }
    json_response(200, &body)
}
