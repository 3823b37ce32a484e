//! Routes: each HubSpot path under its date-versioned and legacy prefixes, the same handlers
//! behind both, and the `/_sim/` control API.

use std::collections::HashMap;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::crm::Answer;
use crate::error::HsError;
use crate::gate::{Fault, gate};
use crate::{RecordedRequest, Sim};

type Params = Path<HashMap<String, String>>;
type Q = Query<Vec<(String, String)>>;

fn respond(a: Answer) -> Response {
    match a {
        Ok((StatusCode::NO_CONTENT, _)) => StatusCode::NO_CONTENT.into_response(),
        Ok((status, body)) => (status, axum::Json(body)).into_response(),
        Err(e) => e.into_response(),
    }
}

fn p<'a>(params: &'a HashMap<String, String>, key: &str) -> &'a str {
    params.get(key).map_or("", String::as_str)
}

struct QueryArgs {
    properties: Vec<String>,
    archived: bool,
    id_property: Option<String>,
    limit: usize,
    after: u64,
}

/// A query boolean as HubSpot reads it: `true` in any case (Python's SDK sends `True`).
fn query_bool(v: &str) -> bool {
    v.eq_ignore_ascii_case("true")
}

/// The object endpoints' query parameters, read from the request's query string.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for QueryArgs {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Response> {
        let Query(q) =
            Q::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;
        Ok(query_args(&q))
    }
}

fn query_args(q: &[(String, String)]) -> QueryArgs {
    let mut a =
        QueryArgs { properties: vec![], archived: false, id_property: None, limit: 10, after: 0 };
    for (k, v) in q {
        match k.as_str() {
            "properties" => {
                a.properties.extend(v.split(',').filter(|s| !s.is_empty()).map(String::from))
            }
            "archived" => a.archived = query_bool(v),
            "idProperty" => a.id_property = Some(v.clone()),
            "limit" => a.limit = v.parse().unwrap_or(10),
            "after" => a.after = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    a
}

pub fn router(sim: Sim) -> Router {
    let mut api: Router<Sim> = Router::new();
    for base in ["/crm/v3/objects", "/crm/objects/{ver}"] {
        let t = format!("{base}/{{object_type}}");
        api = api
            .route(&t, get(list).post(create_one))
            .route(
                &format!("{t}/{{record_id}}"),
                get(read_one).patch(update_one).delete(archive_one),
            )
            .route(&format!("{t}/search"), post(search));
        let batches = [
            ("create", post(batch_create)),
            ("read", post(batch_read)),
            ("update", post(batch_update)),
            ("upsert", post(batch_upsert)),
            ("archive", post(batch_archive)),
        ];
        for (operation, handler) in batches {
            api = api.route(&format!("{t}/batch/{operation}"), handler);
        }
    }
    // One record's associations to a type: v4 legacy path, and the date-versioned one under
    // the objects API (`/crm/objects/2026-03/{objectType}/{objectId}/associations/{toObjectType}`).
    for base in ["/crm/v4/objects", "/crm/objects/{ver}"] {
        api = api.route(
            &format!("{base}/{{object_type}}/{{record_id}}/associations/{{to}}"),
            get(record_associations),
        );
    }
    for base in
        ["/crm-object-schemas/v3/schemas", "/crm-object-schemas/{ver}/schemas", "/crm/v3/schemas"]
    {
        api = api
            .route(base, get(list_schemas).post(create_schema))
            .route(
                &format!("{base}/{{object_type}}"),
                get(get_schema).patch(update_schema).delete(delete_schema),
            )
            .route(
                &format!("{base}/{{object_type}}/associations"),
                post(create_schema_association),
            );
    }
    for path in ["/account-info/v3/details", "/account-info/{ver}/details"] {
        api = api.route(path, get(account_details));
    }
    for base in ["/crm/v3/properties", "/crm/properties/{ver}"] {
        let t = format!("{base}/{{object_type}}");
        api = api
            .route(&t, get(list_properties).post(create_property))
            .route(&format!("{t}/{{property_name}}"), get(get_property));
    }
    for base in ["/crm/v4/associations", "/crm/associations/{ver}"] {
        let b = format!("{base}/{{from}}/{{to}}");
        api = api
            .route(&format!("{b}/labels"), get(labels).post(create_label))
            .route(&format!("{b}/batch/create"), post(assoc_create))
            .route(&format!("{b}/batch/associate/default"), post(assoc_default))
            .route(&format!("{b}/batch/read"), post(assoc_read))
            .route(&format!("{b}/batch/archive"), post(assoc_archive))
            .route(&format!("{b}/batch/labels/archive"), post(assoc_labels_archive));
    }
    let api = api.route_layer(from_fn_with_state(sim.clone(), gate));
    let control: Router<Sim> = Router::new()
        .route("/_sim/counters", get(sim_counters).delete(sim_reset_counters))
        .route("/_sim/faults", get(sim_faults).post(sim_inject).delete(sim_clear_faults))
        .route("/_sim/state", get(sim_state))
        .route("/_sim/records/{object_type}", get(sim_records))
        .route("/_sim/config", get(sim_config).patch(sim_patch_config))
        .route("/_sim/limits/reset", post(sim_reset_limits))
        .route("/_sim/limits/exhaust-daily", post(sim_exhaust_daily))
        .route("/_sim/reset", post(sim_reset))
        .route("/_sim/restore/{object_type}/{record_id}", post(sim_restore))
        .route("/_sim/requests", get(sim_requests).delete(sim_clear_requests));
    api.merge(control)
        .fallback(|| async { HsError::not_found("Route not found").into_response() })
        .layer(from_fn_with_state(sim.clone(), record))
        .with_state(sim)
}

/// Appends every request outside `/_sim/` to the simulator's request log, body parsed as JSON,
/// then passes it on unchanged.
async fn record(State(sim): State<Sim>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_sim/") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            return HsError::validation(format!("Unreadable request body: {e}")).into_response();
        }
    };
    sim.record(RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    });
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

// ----- records --------------------------------------------------------------------------------

async fn list(State(sim): State<Sim>, Path(pp): Params, a: QueryArgs) -> Response {
    respond(sim.lock().crm.list(p(&pp, "object_type"), a.limit, a.after, &a.properties, a.archived))
}

async fn create_one(State(sim): State<Sim>, Path(pp): Params, body: Bytes) -> Response {
    respond(sim.with_crm(|crm, cfg| crm.create_one(p(&pp, "object_type"), &body, cfg)))
}

async fn read_one(State(sim): State<Sim>, Path(pp): Params, a: QueryArgs) -> Response {
    respond(sim.lock().crm.read_one(
        p(&pp, "object_type"),
        p(&pp, "record_id"),
        a.id_property.as_deref(),
        &a.properties,
        a.archived,
    ))
}

async fn update_one(
    State(sim): State<Sim>,
    Path(pp): Params,
    a: QueryArgs,
    body: Bytes,
) -> Response {
    respond(sim.with_crm(|crm, cfg| {
        crm.update_one(
            p(&pp, "object_type"),
            p(&pp, "record_id"),
            a.id_property.as_deref(),
            &body,
            cfg,
        )
    }))
}

async fn archive_one(State(sim): State<Sim>, Path(pp): Params) -> Response {
    respond(
        sim.with_crm(|crm, cfg| crm.archive_one(p(&pp, "object_type"), p(&pp, "record_id"), cfg)),
    )
}

async fn batch_create(State(sim): State<Sim>, Path(pp): Params, body: Bytes) -> Response {
    respond(sim.with_crm(|crm, cfg| crm.batch_create(p(&pp, "object_type"), &body, cfg)))
}

async fn batch_read(
    State(sim): State<Sim>,
    Path(pp): Params,
    a: QueryArgs,
    body: Bytes,
) -> Response {
    let st = sim.lock();
    respond(st.crm.batch_read(p(&pp, "object_type"), &body, a.archived, &st.config))
}

async fn batch_update(State(sim): State<Sim>, Path(pp): Params, body: Bytes) -> Response {
    respond(sim.with_crm(|crm, cfg| crm.batch_update(p(&pp, "object_type"), &body, cfg)))
}

async fn batch_upsert(State(sim): State<Sim>, Path(pp): Params, body: Bytes) -> Response {
    respond(sim.with_crm(|crm, cfg| crm.batch_upsert(p(&pp, "object_type"), &body, cfg)))
}

async fn batch_archive(State(sim): State<Sim>, Path(pp): Params, body: Bytes) -> Response {
    respond(sim.with_crm(|crm, cfg| crm.batch_archive(p(&pp, "object_type"), &body, cfg)))
}

async fn search(State(sim): State<Sim>, Path(pp): Params, body: Bytes) -> Response {
    respond(sim.lock().crm.search(p(&pp, "object_type"), &body))
}

/// `GET /account-info/.../details`: the portal the token belongs to.
async fn account_details(State(sim): State<Sim>) -> Response {
    let portal = sim.lock().config.portal_id;
    respond(Ok((
        axum::http::StatusCode::OK,
        serde_json::json!({
            "portalId": portal,
            "accountType": "STANDARD",
            "timeZone": "US/Eastern",
            "companyCurrency": "USD",
            "additionalCurrencies": [],
            "utcOffset": "-05:00",
            "utcOffsetMilliseconds": -18_000_000,
            "uiDomain": "app.hubspot.com",
            "dataHostingLocation": "na1",
        }),
    )))
}

// ----- schemas and properties -----------------------------------------------------------------

async fn list_schemas(State(sim): State<Sim>) -> Response {
    respond(sim.lock().crm.list_schemas())
}

async fn create_schema(State(sim): State<Sim>, body: Bytes) -> Response {
    respond(sim.lock().crm.create_schema(&body))
}

async fn get_schema(State(sim): State<Sim>, Path(pp): Params) -> Response {
    respond(sim.lock().crm.get_schema(p(&pp, "object_type")))
}

async fn update_schema(State(sim): State<Sim>, Path(pp): Params, body: Bytes) -> Response {
    respond(sim.lock().crm.update_schema(p(&pp, "object_type"), &body))
}

async fn create_schema_association(
    State(sim): State<Sim>,
    Path(pp): Params,
    body: Bytes,
) -> Response {
    respond(sim.lock().crm.create_schema_association(p(&pp, "object_type"), &body))
}

async fn delete_schema(State(sim): State<Sim>, Path(pp): Params) -> Response {
    respond(sim.lock().crm.delete_schema(p(&pp, "object_type")))
}

async fn list_properties(State(sim): State<Sim>, Path(pp): Params) -> Response {
    respond(sim.lock().crm.list_properties(p(&pp, "object_type")))
}

async fn create_property(State(sim): State<Sim>, Path(pp): Params, body: Bytes) -> Response {
    respond(sim.lock().crm.create_property(p(&pp, "object_type"), &body))
}

async fn get_property(State(sim): State<Sim>, Path(pp): Params) -> Response {
    respond(sim.lock().crm.get_property(p(&pp, "object_type"), p(&pp, "property_name")))
}

// ----- associations ---------------------------------------------------------------------------

async fn labels(State(sim): State<Sim>, Path(pp): Params) -> Response {
    respond(sim.lock().crm.labels(p(&pp, "from"), p(&pp, "to")))
}

async fn create_label(State(sim): State<Sim>, Path(pp): Params, body: Bytes) -> Response {
    respond(sim.lock().crm.create_label(p(&pp, "from"), p(&pp, "to"), &body))
}

async fn assoc_create(State(sim): State<Sim>, Path(pp): Params, body: Bytes) -> Response {
    respond(
        sim.with_crm(|crm, cfg| crm.assoc_create(p(&pp, "from"), p(&pp, "to"), &body, false, cfg)),
    )
}

async fn assoc_default(State(sim): State<Sim>, Path(pp): Params, body: Bytes) -> Response {
    respond(
        sim.with_crm(|crm, cfg| crm.assoc_create(p(&pp, "from"), p(&pp, "to"), &body, true, cfg)),
    )
}

async fn record_associations(State(sim): State<Sim>, Path(pp): Params, Query(q): Q) -> Response {
    let mut limit = 500;
    let mut after = None;
    for (k, v) in &q {
        match k.as_str() {
            "limit" => limit = v.parse().unwrap_or(500),
            "after" => after = Some(v.as_str()),
            _ => {}
        }
    }
    respond(sim.lock().crm.record_associations(
        p(&pp, "object_type"),
        p(&pp, "record_id"),
        p(&pp, "to"),
        limit,
        after,
    ))
}

async fn assoc_read(State(sim): State<Sim>, Path(pp): Params, body: Bytes) -> Response {
    let st = sim.lock();
    respond(st.crm.assoc_read(p(&pp, "from"), p(&pp, "to"), &body, &st.config))
}

async fn assoc_archive(State(sim): State<Sim>, Path(pp): Params, body: Bytes) -> Response {
    respond(sim.with_crm(|crm, cfg| crm.assoc_archive(p(&pp, "from"), p(&pp, "to"), &body, cfg)))
}

async fn assoc_labels_archive(State(sim): State<Sim>, Path(pp): Params, body: Bytes) -> Response {
    respond(
        sim.with_crm(|crm, cfg| crm.assoc_labels_archive(p(&pp, "from"), p(&pp, "to"), &body, cfg)),
    )
}

// ----- /_sim/ ---------------------------------------------------------------------------------

async fn sim_counters(State(sim): State<Sim>) -> Response {
    axum::Json(sim.counters()).into_response()
}

async fn sim_reset_counters(State(sim): State<Sim>) -> Response {
    sim.reset_counters();
    StatusCode::NO_CONTENT.into_response()
}

async fn sim_faults(State(sim): State<Sim>) -> Response {
    axum::Json(sim.lock().gate.faults.clone()).into_response()
}

async fn sim_inject(State(sim): State<Sim>, body: Bytes) -> Response {
    let faults: Vec<Fault> = match serde_json::from_slice::<Value>(&body) {
        Ok(v @ Value::Array(_)) => match serde_json::from_value(v) {
            Ok(f) => f,
            Err(e) => return HsError::bad_json(&e).into_response(),
        },
        Ok(v) => match serde_json::from_value(v) {
            Ok(f) => vec![f],
            Err(e) => return HsError::bad_json(&e).into_response(),
        },
        Err(e) => return HsError::bad_json(&e).into_response(),
    };
    for f in faults {
        sim.inject(f);
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn sim_clear_faults(State(sim): State<Sim>) -> Response {
    sim.clear_faults();
    StatusCode::NO_CONTENT.into_response()
}

async fn sim_state(State(sim): State<Sim>) -> Response {
    let st = sim.lock();
    let windows: HashMap<&str, usize> =
        st.limits.windows.iter().map(|(k, v)| (k.as_str(), v.len())).collect();
    let mut dump = st.crm.dump();
    if let Some(o) = dump.as_object_mut() {
        o.insert("dailyUsed".into(), json!(st.limits.daily_used));
        o.insert("windowCalls".into(), json!(windows.values().sum::<usize>()));
        o.insert("faults".into(), json!(st.gate.faults));
    }
    axum::Json(dump).into_response()
}

async fn sim_records(State(sim): State<Sim>, Path(t): Path<String>) -> Response {
    match sim.lock().crm.all_records(&t) {
        Some(r) => axum::Json(json!({"results": r})).into_response(),
        None => HsError::not_found(format!("No records of {t}")).into_response(),
    }
}

async fn sim_config(State(sim): State<Sim>) -> Response {
    axum::Json(sim.config()).into_response()
}

/// Merges the body's keys into the configuration (e.g. `{"burst_limit": 50}`).
async fn sim_patch_config(State(sim): State<Sim>, body: Bytes) -> Response {
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return HsError::bad_json(&e).into_response(),
    };
    let mut st = sim.lock();
    let mut current = serde_json::to_value(&st.config).unwrap_or(Value::Null);
    if let (Some(cur), Some(p)) = (current.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            cur.insert(k.clone(), v.clone());
        }
    }
    match serde_json::from_value(current) {
        Ok(cfg) => {
            st.config = cfg;
            axum::Json(&st.config).into_response()
        }
        Err(e) => HsError::bad_json(&e).into_response(),
    }
}

async fn sim_reset_limits(State(sim): State<Sim>) -> Response {
    sim.reset_limits();
    StatusCode::NO_CONTENT.into_response()
}

async fn sim_exhaust_daily(State(sim): State<Sim>) -> Response {
    sim.exhaust_daily();
    StatusCode::NO_CONTENT.into_response()
}

async fn sim_requests(State(sim): State<Sim>) -> Response {
    axum::Json(json!({"results": sim.requests()})).into_response()
}

async fn sim_clear_requests(State(sim): State<Sim>) -> Response {
    sim.clear_requests();
    StatusCode::NO_CONTENT.into_response()
}

/// HubSpot's UI restoring an archived record from the recycle bin.
async fn sim_restore(State(sim): State<Sim>, Path(pp): Params) -> Response {
    let Ok(id) = p(&pp, "record_id").parse::<u64>() else {
        return HsError::validation("record ids are numeric").into_response();
    };
    match sim.restore(p(&pp, "object_type"), id) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => HsError::new(StatusCode::CONFLICT, "CONFLICT", e).into_response(),
    }
}

async fn sim_reset(State(sim): State<Sim>) -> Response {
    sim.reset();
    StatusCode::NO_CONTENT.into_response()
}
