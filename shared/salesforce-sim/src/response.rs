//! Salesforce's answers as HTTP: the REST, Metadata and Tooling APIs' JSON and their errors.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::org::SfError;

/// A JSON answer as Salesforce sends it (`application/json;charset=UTF-8`); also the Metadata and
/// Tooling APIs'.
pub(crate) fn json_response(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json;charset=UTF-8")], body.to_string())
        .into_response()
}

/// Salesforce's error answer: the status and `[{errorCode, message, fields}]`.
pub(crate) fn error_response(e: &SfError) -> Response {
    json_response(e.status, &e.body())
}
