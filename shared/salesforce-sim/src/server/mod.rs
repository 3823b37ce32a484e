//! HTTP routes: Salesforce's paths, status codes and bodies; by concern: `oauth` (the token
//! endpoint's flows), `sobjects` (describe, records, limits, changes and deletes), `query` (SOQL
//! with its cursors), `bulk` (Bulk API 2.0 query jobs); the Metadata and Tooling APIs are
//! `crate::metadata`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use serde_json::{Value, json};

use crate::Shared;
use crate::org::SfError;
pub(crate) use crate::response::{error_response, json_response};

type S = State<Arc<Shared>>;

mod bulk;
mod oauth;
mod query;
mod sobjects;

use bulk::{abort_job, create_job, delete_job, job_info, job_results};
use oauth::{authorize, token};
use query::{query, query_all, query_more};
use sobjects::{
    basic_info, create, delete, deleted, describe, describe_global, get_record, limits, update,
    updated,
};

fn oauth_error(error: &str, description: &str) -> Response {
    json_response(400, &json!({"error": error, "error_description": description}))
}

/// `v62.0` -> `62.0`.
fn version(v: &str) -> String {
    v.trim_start_matches('v').to_owned()
}

/// The oldest API version an org serves (Salesforce retired the ones before 31.0).
const OLDEST_SERVED: u32 = 31;

/// The major number of a path's `vNN.0`, when it is one.
fn path_major(v: &str) -> Option<u32> {
    let (major, minor) = v.strip_prefix('v')?.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    (digits(major) && digits(minor)).then(|| major.parse().ok())?
}

/// The major numbers the org serves: 31 up to the newest (the settings' version).
fn served_majors(newest: &str) -> std::ops::RangeInclusive<u32> {
    let newest =
        newest.split_once('.').and_then(|(m, _)| m.parse::<u32>().ok()).unwrap_or(OLDEST_SERVED);
    OLDEST_SERVED..=newest
}

/// The versions the org serves, oldest first, as Salesforce lists them at `/services/data/`.
fn served_versions(newest: &str) -> Vec<String> {
    served_majors(newest).map(|m| format!("{m}.0")).collect()
}

/// Whether the org serves the path's version (a newer one than it knows is a 404, as on
/// Salesforce: the resource does not exist at that version). Checked on every data call.
fn served(path_version: &str, newest: &str) -> bool {
    path_major(path_version).is_some_and(|m| served_majors(newest).contains(&m))
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    // Salesforce answers these with or without a trailing slash.
    let either_slash: [(&str, MethodRouter<Arc<Shared>>); 9] = [
        ("sobjects", get(describe_global)),
        ("limits", get(limits)),
        ("sobjects/{obj}", get(basic_info).post(create)),
        ("sobjects/{obj}/describe", get(describe)),
        ("sobjects/{obj}/deleted", get(deleted)),
        ("sobjects/{obj}/updated", get(updated)),
        ("query", get(query)),
        ("queryAll", get(query_all)),
        ("jobs/query", post(create_job)),
    ];
    let data = either_slash
        .into_iter()
        .fold(Router::new(), |r, (path, handler)| {
            r.route(&format!("/services/data/{{v}}/{path}"), handler.clone())
                .route(&format!("/services/data/{{v}}/{path}/"), handler)
        })
        .route(
            "/services/data/{v}/sobjects/{obj}/{id}",
            get(get_record).patch(update).delete(delete),
        )
        .route("/services/data/{v}/query/{locator}", get(query_more))
        .route("/services/data/{v}/queryAll/{locator}", get(query_more))
        .route(
            "/services/data/{v}/jobs/query/{id}",
            get(job_info).patch(abort_job).delete(delete_job),
        )
        .route("/services/data/{v}/jobs/query/{id}/results", get(job_results))
        .merge(crate::metadata::routes())
        .route_layer(middleware::from_fn_with_state(shared.clone(), api_gate));
    Router::new()
        .route("/services/oauth2/token", post(token))
        .route("/services/oauth2/authorize", get(authorize))
        .route("/services/data", get(versions))
        .route("/services/data/", get(versions))
        .merge(data)
        .fallback(not_found)
        .with_state(shared)
}

async fn not_found() -> Response {
    error_response(&SfError::not_found())
}

async fn versions(State(shared): S) -> Response {
    let list: Vec<Value> = served_versions(&shared.settings.api_version)
        .into_iter()
        .map(|v| json!({"label": "Simulated", "url": format!("/services/data/v{v}"), "version": v}))
        .collect();
    json_response(200, &Value::Array(list))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("OAuth ")).map(str::trim)
}

/// Authentication, version check, API allocation and `Sforce-Limit-Info` for every data call.
async fn api_gate(State(shared): S, req: Request, next: Next) -> Response {
    let knobs = shared.knobs();
    let limit_header = |used: u64| {
        HeaderValue::from_str(&format!("api-usage={used}/{}", knobs.api_allocation))
            .unwrap_or_else(|_| HeaderValue::from_static("api-usage=0/0"))
    };
    let valid_token = bearer(req.headers()).is_some_and(|t| {
        let mut auth = shared.auth_lock();
        match auth.tokens.get(t) {
            Some((issued, extra)) if issued.elapsed() + *extra < knobs.token_ttl => true,
            Some(_) => {
                auth.tokens.remove(t);
                false
            }
            None => false,
        }
    });
    let mut resp = if !valid_token {
        error_response(&SfError::new(401, "INVALID_SESSION_ID", "Session expired or invalid"))
    } else {
        let path_version = req.uri().path().split('/').nth(3).unwrap_or_default().to_owned();
        if !served(&path_version, &shared.settings.api_version) {
            error_response(&SfError::not_found())
        } else {
            let used = shared.api_used.load(Ordering::SeqCst);
            if used >= knobs.api_allocation {
                error_response(&SfError::new(
                    403,
                    "REQUEST_LIMIT_EXCEEDED",
                    "TotalRequests Limit exceeded.",
                ))
            } else {
                shared.api_used.fetch_add(1, Ordering::SeqCst);
                next.run(req).await
            }
        }
    };
    let used = shared.api_used.load(Ordering::SeqCst);
    resp.headers_mut().insert("Sforce-Limit-Info", limit_header(used));
    resp
}

fn random_hex(shared: &Shared) -> String {
    let mut auth = shared.auth_lock();
    let mut rng = crate::schema::Rng::new(auth.rng_state);
    let (a, b) = (rng.next_u64(), rng.next_u64());
    auth.rng_state = rng.next_u64();
    format!("{a:016x}{b:016x}")
}
