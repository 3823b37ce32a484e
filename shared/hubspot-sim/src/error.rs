//! HubSpot's error bodies: `{"status":"error","message","correlationId","category",...}`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// An error response in HubSpot's shape. Every one carries a fresh `correlationId`.
#[derive(Debug, Clone)]
pub struct HsError {
    pub status: StatusCode,
    pub body: Map<String, Value>,
    pub retry_after: Option<u64>,
}

impl HsError {
    pub fn new(status: StatusCode, category: &str, message: impl Into<String>) -> Self {
        let mut body = Map::new();
        body.insert("status".into(), json!("error"));
        body.insert("message".into(), json!(message.into()));
        body.insert("correlationId".into(), json!(uuid::Uuid::new_v4().to_string()));
        body.insert("category".into(), json!(category));
        Self { status, body, retry_after: None }
    }

    /// A body without `category` (the rolling and daily 429s carry `errorType`/`policyName` instead).
    pub fn rate_limit(policy: &str) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "",
            format!("You have reached your {} limit.", policy.to_ascii_lowercase()),
        );
        e.body.remove("category");
        e.body.insert("errorType".into(), json!("RATE_LIMIT"));
        e.body.insert("policyName".into(), json!(policy));
        e
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.body.insert(key.into(), value);
        self
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND", message)
    }

    pub fn bad_json(err: &serde_json::Error) -> Self {
        Self::validation(format!(
            "Invalid input JSON on line {}, column {}: {err}",
            err.line(),
            err.column()
        ))
    }
}

impl IntoResponse for HsError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(Value::Object(self.body))).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert("retry-after", v);
        }
        resp
    }
}
