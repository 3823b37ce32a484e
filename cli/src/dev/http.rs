//! `sfhs dev`'s own routes beside the webhook: `GET /status` and `POST /imports/OBJECT`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sfhs_core::app::{Imports as Deps, Webhook};
use sfhs_core::import::ImportStore;
use sfhs_core::sync::ErrorStore;
use sfhs_local::LocalWorld;

use super::tasks::start_import;

/// What the routes read.
pub(super) struct App {
    pub world: LocalWorld,
    pub deps: Deps,
    pub webhook_url: String,
    pub hubspot: String,
    pub salesforce: String,
}

/// The routes, with the webhook's.
pub(super) fn router(app: Arc<App>, webhook: Webhook) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/imports/{object}", post(import))
        .with_state(app)
        .merge(crate::webhook::router(webhook, crate::webhook::Report::Stderr))
}

async fn status(State(app): State<Arc<App>>) -> Response {
    match status_json(&app).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn status_json(app: &App) -> anyhow::Result<Value> {
    let mut queues = serde_json::Map::new();
    for q in app.world.queues() {
        let (visible, hidden) = q.depth()?;
        queues.insert(
            q.name().to_owned(),
            json!({"visible": visible, "in_flight_or_delayed": hidden}),
        );
    }
    let mut ledger: BTreeMap<String, BTreeMap<&str, u64>> = BTreeMap::new();
    for (key, e) in app.world.store.ledger_entries()? {
        let counts = ledger.entry(key.object().to_owned()).or_default();
        let kind = if e.deleted {
            "deleted"
        } else if e.waiting {
            "waiting"
        } else if e.version.is_some() {
            "synced"
        } else {
            "pending"
        };
        *counts.entry(kind).or_default() += 1;
    }
    let errors = ErrorStore::list(&app.world.store).await?;
    let imports = ImportStore::list(&app.world.store).await?;
    let mut drift = Vec::new();
    for m in app.deps.runner.mappings.list().await? {
        if let Some(s) =
            ImportStore::get_sweep(&app.world.store, &m.mapping.salesforce_object).await?
        {
            drift.extend(s.drift);
        }
    }
    Ok(json!({
        "webhook": app.webhook_url,
        "hubspot": app.hubspot,
        "salesforce": app.salesforce,
        "queues": queues,
        "ledger": ledger,
        "errors": errors.len(),
        "imports": imports,
        "drift": drift,
    }))
}

async fn import(State(app): State<Arc<App>>, UrlPath(object): UrlPath<String>) -> Response {
    match start_import(&app.deps, &object).await {
        Ok(v) => (StatusCode::ACCEPTED, axum::Json(v)).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, axum::Json(json!({"error": format!("{e:#}")})))
            .into_response(),
    }
}
