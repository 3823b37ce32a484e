//! HTTP routes: Salesforce's paths, status codes and bodies.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::org::{Job, JobState, Org, SfError};
use crate::{Shared, dates, ids};

type S = State<Arc<Shared>>;

fn json_response(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

fn error_response(e: &SfError) -> Response {
    json_response(e.status, &e.body())
}

fn oauth_error(error: &str, description: &str) -> Response {
    json_response(
        400,
        &json!({"error": error, "error_description": description}),
    )
}

/// `v62.0` -> `62.0`.
fn version(v: &str) -> String {
    v.trim_start_matches('v').to_owned()
}

fn valid_version(v: &str) -> bool {
    v.strip_prefix('v')
        .and_then(|n| n.split_once('.'))
        .is_some_and(|(a, b)| {
            !a.is_empty()
                && !b.is_empty()
                && a.chars().all(|c| c.is_ascii_digit())
                && b.chars().all(|c| c.is_ascii_digit())
        })
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let data = Router::new()
        .route("/services/data/{v}/sobjects", get(describe_global))
        .route("/services/data/{v}/sobjects/", get(describe_global))
        .route("/services/data/{v}/limits", get(limits))
        .route("/services/data/{v}/limits/", get(limits))
        .route(
            "/services/data/{v}/sobjects/{obj}",
            get(basic_info).post(create),
        )
        .route(
            "/services/data/{v}/sobjects/{obj}/",
            get(basic_info).post(create),
        )
        .route("/services/data/{v}/sobjects/{obj}/describe", get(describe))
        .route("/services/data/{v}/sobjects/{obj}/describe/", get(describe))
        .route("/services/data/{v}/sobjects/{obj}/deleted", get(deleted))
        .route("/services/data/{v}/sobjects/{obj}/deleted/", get(deleted))
        .route("/services/data/{v}/sobjects/{obj}/updated", get(updated))
        .route("/services/data/{v}/sobjects/{obj}/updated/", get(updated))
        .route(
            "/services/data/{v}/sobjects/{obj}/{id}",
            get(get_record).patch(update).delete(delete),
        )
        .route("/services/data/{v}/query", get(query))
        .route("/services/data/{v}/query/", get(query))
        .route("/services/data/{v}/queryAll", get(query_all))
        .route("/services/data/{v}/queryAll/", get(query_all))
        .route("/services/data/{v}/query/{locator}", get(query_more))
        .route("/services/data/{v}/queryAll/{locator}", get(query_more))
        .route("/services/data/{v}/jobs/query", post(create_job))
        .route("/services/data/{v}/jobs/query/", post(create_job))
        .route(
            "/services/data/{v}/jobs/query/{id}",
            get(job_info).patch(abort_job).delete(delete_job),
        )
        .route(
            "/services/data/{v}/jobs/query/{id}/results",
            get(job_results),
        )
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
    let v = &shared.settings.api_version;
    json_response(
        200,
        &json!([{"label": "Simulated", "url": format!("/services/data/v{v}"), "version": v}]),
    )
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("OAuth "))
        .map(str::trim)
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
        error_response(&SfError::new(
            401,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        ))
    } else {
        let path_version = req
            .uri()
            .path()
            .split('/')
            .nth(3)
            .unwrap_or_default()
            .to_owned();
        if !valid_version(&path_version) {
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
    resp.headers_mut()
        .insert("Sforce-Limit-Info", limit_header(used));
    resp
}

#[derive(Deserialize)]
struct JwtClaims {
    iss: String,
    sub: String,
    exp: i64,
}

fn new_token(shared: &Shared) -> String {
    let org = shared.org_lock().org_id[..15].to_owned();
    let token = format!("{org}!AQ{}", random_hex(shared));
    let mut auth = shared.auth_lock();
    auth.tokens
        .insert(token.clone(), (std::time::Instant::now(), Duration::ZERO));
    auth.issued += 1;
    token
}

/// `client_id` and `client_secret` from the form, else from `Authorization: Basic` (RFC 6749
/// section 2.3.1; simple-salesforce sends client credentials that way).
fn client_auth(headers: &HeaderMap, form: &Map<String, Value>) -> (String, String) {
    let field = |k: &str| {
        form.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (id, secret) = (field("client_id"), field("client_secret"));
    if !id.is_empty() {
        return (id, secret);
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok());
    match basic.as_deref().and_then(|b| b.split_once(':')) {
        Some((id, secret)) => (id.to_owned(), secret.to_owned()),
        None => (id, secret),
    }
}

/// Checks the connected app's credentials: the OAuth error to answer, if any.
/// `secret_required` false: a missing secret is fine (Salesforce: "Require Secret for Refresh
/// Token Flow" off), a wrong one never is.
fn client_refused(
    shared: &Shared,
    id: &str,
    secret: &str,
    secret_required: bool,
) -> Option<Response> {
    if id != shared.settings.client_id {
        return Some(oauth_error(
            "invalid_client_id",
            "client identifier invalid",
        ));
    }
    if (secret_required || !secret.is_empty()) && secret != shared.settings.client_secret {
        return Some(oauth_error("invalid_client", "invalid client credentials"));
    }
    None
}

fn random_hex(shared: &Shared) -> String {
    let mut auth = shared.auth_lock();
    let mut rng = crate::schema::Rng::new(auth.rng_state);
    let (a, b) = (rng.next_u64(), rng.next_u64());
    auth.rng_state = rng.next_u64();
    format!("{a:016x}{b:016x}")
}

/// The token response of the username-password, client-credentials, web server and refresh
/// token flows: `access_token, signature, scope, instance_url, id, token_type, issued_at`, plus
/// `refresh_token` when the flow issues one (web server flow only).
fn token_response(shared: &Shared, refresh_token: Option<String>) -> Response {
    let (org_id, user_id) = {
        let org = shared.org_lock();
        (org.org_id.clone(), org.user_id.clone())
    };
    let base = &shared.base_url;
    let token = new_token(shared);
    let mut body = json!({
        "access_token": token,
        "signature": "c2ltdWxhdGVkLXNpZ25hdHVyZQ==",
        "scope": if refresh_token.is_some() { "refresh_token api" } else { "api" },
        "instance_url": base,
        "id": format!("{base}/id/{org_id}/{user_id}"),
        "token_type": "Bearer",
        "issued_at": (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).to_string(),
    });
    if let (Some(r), Value::Object(m)) = (refresh_token, &mut body) {
        m.insert("refresh_token".into(), json!(r));
    }
    json_response(200, &body)
}

#[derive(Deserialize)]
struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
}

/// `GET /services/oauth2/authorize` (web server flow): there is no user to ask, so it approves
/// at once and redirects to `redirect_uri?code=...&state=...`.
async fn authorize(State(shared): S, Query(p): Query<AuthorizeParams>) -> Response {
    if p.client_id.as_deref() != Some(shared.settings.client_id.as_str()) {
        return oauth_error("invalid_client_id", "client identifier invalid");
    }
    let Some(redirect) = p.redirect_uri.filter(|r| !r.is_empty()) else {
        return oauth_error(
            "redirect_uri_mismatch",
            "redirect_uri must match configuration",
        );
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if p.response_type.as_deref() == Some("code") {
        let code = format!("aPr{}", random_hex(&shared));
        shared
            .auth_lock()
            .codes
            .insert(code.clone(), redirect.clone());
        query.append_pair("code", &code);
    } else {
        query.append_pair("error", "unsupported_response_type");
        query.append_pair("error_description", "response type not supported");
    }
    if let Some(state) = &p.state {
        query.append_pair("state", state);
    }
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let location = format!("{redirect}{sep}{}", query.finish());
    match HeaderValue::from_str(&location) {
        Ok(l) => (StatusCode::FOUND, [(header::LOCATION, l)]).into_response(),
        Err(_) => oauth_error(
            "redirect_uri_mismatch",
            "redirect_uri must match configuration",
        ),
    }
}

async fn token(State(shared): S, headers: HeaderMap, body: Bytes) -> Response {
    let form: Map<String, Value> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    let field = |k: &str| form.get(k).and_then(Value::as_str).unwrap_or_default();
    let (org_id, user_id) = {
        let org = shared.org_lock();
        (org.org_id.clone(), org.user_id.clone())
    };
    let base = &shared.base_url;
    match field("grant_type") {
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            let Some(key) = &shared.settings.jwt_key else {
                return oauth_error(
                    "invalid_grant",
                    "no certificate is configured for this connected app (simulator started without --jwt-public-key)",
                );
            };
            let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
            validation.leeway = 0;
            validation.set_audience(&[
                "https://login.salesforce.com",
                "https://test.salesforce.com",
                base.as_str(),
            ]);
            validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
            let claims =
                match jsonwebtoken::decode::<JwtClaims>(field("assertion"), key, &validation) {
                    Ok(data) => data.claims,
                    Err(e) => {
                        return oauth_error("invalid_grant", &format!("invalid assertion: {e}"));
                    }
                };
            if claims.iss != shared.settings.client_id {
                return oauth_error("invalid_client_id", "client identifier invalid");
            }
            let now = OffsetDateTime::now_utc().unix_timestamp();
            if claims.exp > now + 180 + 5 {
                return oauth_error(
                    "invalid_grant",
                    "invalid assertion: exp more than 3 minutes ahead",
                );
            }
            if claims.sub.is_empty() {
                return oauth_error("invalid_grant", "user hasn't approved this consumer");
            }
            let token = new_token(&shared);
            json_response(
                200,
                &json!({
                    "access_token": token,
                    "scope": "api",
                    "instance_url": base,
                    "id": format!("{base}/id/{org_id}/{user_id}"),
                    "token_type": "Bearer",
                }),
            )
        }
        "client_credentials" => {
            let (id, secret) = client_auth(&headers, &form);
            if id != shared.settings.client_id || secret != shared.settings.client_secret {
                return oauth_error("invalid_client", "invalid client credentials");
            }
            token_response(&shared, None)
        }
        "password" => {
            let (id, secret) = client_auth(&headers, &form);
            if let Some(resp) = client_refused(&shared, &id, &secret, true) {
                return resp;
            }
            if field("username") != shared.settings.username
                || field("password") != shared.settings.password
            {
                return oauth_error("invalid_grant", "authentication failure");
            }
            // Salesforce issues no refresh token in the username-password flow.
            token_response(&shared, None)
        }
        "authorization_code" => {
            let (id, secret) = client_auth(&headers, &form);
            if let Some(resp) = client_refused(&shared, &id, &secret, true) {
                return resp;
            }
            let issued_for = shared.auth_lock().codes.remove(field("code"));
            match issued_for {
                None => oauth_error("invalid_grant", "invalid authorization code"),
                Some(uri) if uri != field("redirect_uri") => oauth_error(
                    "redirect_uri_mismatch",
                    "redirect_uri must match configuration",
                ),
                Some(_) => {
                    let refresh = format!("5Aep{}", random_hex(&shared));
                    shared.auth_lock().refresh_tokens.insert(refresh.clone());
                    token_response(&shared, Some(refresh))
                }
            }
        }
        "refresh_token" => {
            let (id, secret) = client_auth(&headers, &form);
            if let Some(resp) = client_refused(&shared, &id, &secret, false) {
                return resp;
            }
            let known = shared
                .auth_lock()
                .refresh_tokens
                .contains(field("refresh_token"));
            if !known {
                return oauth_error("invalid_grant", "expired access/refresh token");
            }
            // No rotation: the same refresh token stays valid, none is returned.
            token_response(&shared, None)
        }
        _ => oauth_error("unsupported_grant_type", "grant type not supported"),
    }
}

async fn describe_global(State(shared): S, Path(v): Path<String>) -> Response {
    let v = version(&v);
    let org = shared.org_lock();
    let sobjects: Vec<Value> = org.objects().iter().map(|o| o.global_entry(&v)).collect();
    json_response(
        200,
        &json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects}),
    )
}

async fn describe(State(shared): S, Path((v, obj)): Path<(String, String)>) -> Response {
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
        Ok(_) => Err(SfError::new(
            400,
            "JSON_PARSER_ERROR",
            "Expected a JSON object",
        )),
        Err(e) => Err(SfError::new(
            400,
            "JSON_PARSER_ERROR",
            format!("Unexpected character: {e}"),
        )),
    }
}

async fn create(
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
        org.create(&obj, &fields, Shared::now()).map(|id| {
            (
                org.object(&obj).map(|o| o.name.clone()).unwrap_or_default(),
                id,
            )
        })
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
struct FieldsParam {
    fields: Option<String>,
}

async fn get_record(
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

async fn update(
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

async fn delete(State(shared): S, Path((_v, obj, id)): Path<(String, String, String)>) -> Response {
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
async fn limits(State(shared): S) -> Response {
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
async fn basic_info(State(shared): S, Path((v, obj)): Path<(String, String)>) -> Response {
    let v = version(&v);
    let org = shared.org_lock();
    let Some(def) = org.object(&obj) else {
        return error_response(&SfError::not_found());
    };
    let mut rows: Vec<&crate::Row> = org
        .ids(&def.name)
        .iter()
        .filter_map(|id| org.get(&def.name, id))
        .collect();
    let stamp = |r: &crate::Row| {
        r.get("SystemModstamp")
            .and_then(Value::as_str)
            .and_then(dates::parse)
    };
    rows.sort_by_key(|r| std::cmp::Reverse(stamp(r)));
    let fields = ["Id".to_owned(), "Name".to_owned()];
    let recent: Vec<Value> = rows
        .into_iter()
        .take(RECENT_ITEMS)
        .map(|r| org.rest_record(&def.name, &v, r, Some(&fields)))
        .collect();
    json_response(
        200,
        &json!({"objectDescribe": def.global_entry(&v), "recentItems": recent}),
    )
}

/// How far back `updated` looks (REST API Developer Guide, "sObject Get Updated": "no more
/// than 30 days previous to the day the call is executed").
const UPDATED_RETENTION: std::time::Duration = std::time::Duration::from_secs(30 * 86_400);

/// `GET /sobjects/{Name}/updated/?start=&end=`: `{"ids": [...], "latestDateCovered": ...}`,
/// the live records whose `SystemModstamp` is in the window (seconds ignored, like deleted).
async fn updated(
    State(shared): S,
    Path((_v, obj)): Path<(String, String)>,
    Query(params): Query<DeletedParams>,
) -> Response {
    let knobs = shared.knobs();
    let (start, covered) = match replication_window(&params, UPDATED_RETENTION, &knobs) {
        Ok(w) => w,
        Err(e) => return error_response(&e),
    };
    let org = shared.org_lock();
    let Some(def) = org.object(&obj).map(|o| o.name.clone()) else {
        return error_response(&SfError::not_found());
    };
    let mut hits: Vec<(OffsetDateTime, String)> = org
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
    if hits.len() > knobs.deleted_id_limit {
        return error_response(&SfError::new(
            400,
            "EXCEEDED_ID_LIMIT",
            format!(
                "the number of updated records exceeds the limit of {}; use a smaller window",
                knobs.deleted_id_limit
            ),
        ));
    }
    hits.sort();
    let ids: Vec<String> = hits.into_iter().map(|(_, id)| id).collect();
    json_response(
        200,
        &json!({"ids": ids, "latestDateCovered": dates::rest(covered)}),
    )
}

/// The `[start, covered)` window of a replication call (deleted / updated), both truncated to
/// the granularity, `covered` no later than now; errors as Salesforce words them.
fn replication_window(
    params: &DeletedParams,
    retention: std::time::Duration,
    knobs: &crate::Knobs,
) -> Result<(OffsetDateTime, OffsetDateTime), SfError> {
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
            format!(
                "startDate cannot be before earliestDateAvailable {}",
                dates::rest(horizon)
            ),
        ));
    }
    if end < start {
        return Err(SfError::new(
            400,
            "INVALID_REPLICATION_DATE",
            "endDate must be after startDate",
        ));
    }
    Ok((start, covered))
}

#[derive(Deserialize)]
struct DeletedParams {
    start: Option<String>,
    end: Option<String>,
}

fn truncate(t: OffsetDateTime, step: std::time::Duration) -> OffsetDateTime {
    let step_ns = step.as_nanos().max(1) as i128;
    let ns = t.unix_timestamp_nanos();
    OffsetDateTime::from_unix_timestamp_nanos(ns - ns.rem_euclid(step_ns)).unwrap_or(t)
}

async fn deleted(
    State(shared): S,
    Path((_v, obj)): Path<(String, String)>,
    Query(params): Query<DeletedParams>,
) -> Response {
    let knobs = shared.knobs();
    let (Some(start), Some(end)) = (
        params.start.as_deref().and_then(dates::parse),
        params.end.as_deref().and_then(dates::parse),
    ) else {
        return error_response(&SfError::new(
            400,
            "INVALID_REPLICATION_DATE",
            "start and end must be ISO 8601 date-times, e.g. 2013-05-05T00:00:00+00:00",
        ));
    };
    let now = Shared::now();
    let g = knobs.deleted_granularity;
    let horizon = truncate(now - knobs.deleted_retention, g);
    let start = truncate(start, g);
    let covered = truncate(end.min(now), g);
    if start < horizon {
        return error_response(&SfError::new(
            400,
            "INVALID_REPLICATION_DATE",
            format!(
                "startDate cannot be before earliestDateAvailable {}",
                dates::rest(horizon)
            ),
        ));
    }
    if end < start {
        return error_response(&SfError::new(
            400,
            "INVALID_REPLICATION_DATE",
            "endDate must be after startDate",
        ));
    }
    let mut org = shared.org_lock();
    let Some(def) = org.object(&obj).map(|o| o.name.clone()) else {
        return error_response(&SfError::not_found());
    };
    org.purge_deleted(horizon);
    let mut hits: Vec<(OffsetDateTime, String)> = org
        .recycle
        .iter()
        .filter(|d| d.object == def && d.at >= start && d.at < covered)
        .map(|d| (d.at, d.id.clone()))
        .collect();
    if hits.len() > knobs.deleted_id_limit {
        return error_response(&SfError::new(
            400,
            "EXCEEDED_ID_LIMIT",
            format!(
                "the number of deleted records exceeds the limit of {}; use a smaller window",
                knobs.deleted_id_limit
            ),
        ));
    }
    hits.sort();
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

#[derive(Deserialize)]
struct QueryParams {
    q: Option<String>,
}

fn batch_size(headers: &HeaderMap, max: usize) -> usize {
    let max = max.max(1);
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|p| p.trim().strip_prefix("batchSize=").map(str::to_owned))
        })
        .and_then(|n| n.trim().parse::<usize>().ok())
        .map_or(max, |n| n.clamp(200.min(max), max))
}

async fn query(
    state: S,
    v: Path<String>,
    headers: HeaderMap,
    params: Query<QueryParams>,
) -> Response {
    run_query(state, v, headers, params, false)
}

async fn query_all(
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
    m.insert(
        "records".into(),
        Value::Array(rows[offset.min(end)..end].to_vec()),
    );
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
        return json_response(
            200,
            &json!({"totalSize": rows.len(), "done": true, "records": []}),
        );
    }
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|r| org.rest_record(&q.object, &v, r, Some(&q.fields)))
        .collect();
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

async fn query_more(State(shared): S, Path((v, locator)): Path<(String, String)>) -> Response {
    let v = version(&v);
    let invalid = || {
        error_response(&SfError::new(
            400,
            "INVALID_QUERY_LOCATOR",
            "invalid query locator",
        ))
    };
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
        m.insert(
            "numberRecordsProcessed".into(),
            json!(if done { job.rows.len() } else { 0 }),
        );
        m.insert("retries".into(), json!(0));
        m.insert(
            "totalProcessingTime".into(),
            json!(if done { 42 } else { 0 }),
        );
        m.insert("isPkChunkingSupported".into(), json!(true));
    }
    v
}

#[derive(Deserialize)]
struct CreateJob {
    operation: Option<String>,
    query: Option<String>,
}

async fn create_job(State(shared): S, Path(v): Path<String>, body: Bytes) -> Response {
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
        Value::String(s) if ft == Some(crate::schema::FieldType::Datetime) => Some(
            dates::parse(s)
                .map(dates::soap)
                .unwrap_or_else(|| s.clone()),
        ),
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

async fn job_info(State(shared): S, Path((v, id)): Path<(String, String)>) -> Response {
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
                            let ft = def
                                .as_ref()
                                .and_then(|d| d.field(f))
                                .map(|fd| fd.field_type);
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

async fn abort_job(
    State(shared): S,
    Path((v, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let v = version(&v);
    let retention = shared.knobs().bulk_results_retention;
    let wants_abort = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| {
            b.get("state")
                .and_then(Value::as_str)
                .map(|s| s == "Aborted")
        })
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
        error_response(&SfError::new(
            400,
            "INVALIDJOBSTATE",
            "Only state Aborted can be set",
        ))
    } else if job.state == JobState::JobComplete {
        error_response(&SfError::new(
            400,
            "INVALIDJOBSTATE",
            "Job is already complete",
        ))
    } else {
        job.state = JobState::Aborted;
        job.finished_at = Some(std::time::Instant::now());
        job.modstamp = dates::millis(Shared::now());
        json_response(200, &job_json(&job, &org, false))
    };
    org.jobs.insert(id, job);
    resp
}

async fn delete_job(State(shared): S, Path((_v, id)): Path<(String, String)>) -> Response {
    let retention = shared.knobs().bulk_results_retention;
    let mut org = shared.org_lock();
    org.purge_expired_jobs(retention);
    match org.jobs.shift_remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error_response(&SfError::new(
            404,
            "NOT_FOUND",
            "The requested resource does not exist",
        )),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultParams {
    locator: Option<String>,
    max_records: Option<usize>,
}

fn encode_locator(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(offset.to_string())
}

fn decode_locator(locator: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(locator)
        .ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

async fn job_results(
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
            format!(
                "Job state is {}, results are available once JobComplete",
                job.state.as_str()
            ),
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
        ok &= writer
            .write_record(row.iter().map(|c| c.as_deref().unwrap_or("")))
            .is_ok();
    }
    let body = match writer.into_inner() {
        Ok(b) if ok => b,
        _ => {
            return error_response(&SfError::new(
                500,
                "UNKNOWN_EXCEPTION",
                "CSV writing failed",
            ));
        }
    };
    let locator = if end < job.rows.len() {
        encode_locator(end)
    } else {
        "null".to_owned()
    };
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv"));
    if let Ok(l) = HeaderValue::from_str(&locator) {
        h.insert("Sforce-Locator", l);
    }
    h.insert("Sforce-NumberOfRecords", HeaderValue::from(end - offset));
    resp
}
