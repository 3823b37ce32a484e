//! Errors of the Salesforce client. Each keeps its cause and Salesforce's `errorCode`, and says
//! whether trying again can help.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::types::ApiUsage;

/// One entry of Salesforce's error array `[{"message","errorCode","fields"?}]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct ApiError {
    /// Human-readable message (may span several lines, e.g. SOQL errors).
    #[serde(default)]
    pub message: String,
    /// Salesforce's error code, e.g. `INVALID_FIELD`, `NOT_FOUND`.
    #[serde(rename = "errorCode", default)]
    pub error_code: String,
    /// Fields the error is about, when Salesforce names them.
    #[serde(default)]
    pub fields: Vec<String>,
}

/// Everything that can go wrong talking to Salesforce.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The client configuration cannot work (bad URL, bad key, ...).
    #[error("invalid Salesforce client configuration: {0}")]
    Config(String),
    /// An argument the caller passed cannot be sent (e.g. an object name with spaces).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The JWT assertion could not be built or signed.
    #[error("could not sign the JWT bearer assertion")]
    Jwt(#[source] jsonwebtoken::errors::Error),
    /// The request did not get an HTTP answer (connect, timeout, reset, body read).
    #[error("HTTP transport error calling {url} (timeout: {timeout})")]
    Transport {
        /// The URL that was called, without query string.
        url: String,
        /// Whether the failure was a timeout.
        timeout: bool,
        /// The underlying transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The OAuth token endpoint refused (`{"error","error_description"}`).
    #[error("Salesforce OAuth token request failed ({status}): {error}: {description}")]
    Auth {
        /// HTTP status of the token endpoint.
        status: u16,
        /// OAuth `error`, e.g. `invalid_grant`, `invalid_client`.
        error: String,
        /// OAuth `error_description`.
        description: String,
    },
    /// The org does not serve the configured API version: every call below
    /// `/services/data/vXX.X/` answers 404 (newer than the org knows) or 410 (retired), which
    /// would otherwise read as a missing object or record.
    #[error("{}", version_not_served(version, served))]
    ApiVersionNotServed {
        /// The configured version, e.g. `99.0`.
        version: String,
        /// The versions the org lists at `/services/data/`, oldest first.
        served: Vec<String>,
    },
    /// The token response named no org (no `id` identity URL, or not one of an org).
    #[error(
        "the Salesforce token response names no org id (its `id` identity URL is missing or not /id/<org id>/<user id>)"
    )]
    NoOrgId,
    /// Salesforce answered with an error array.
    #[error("Salesforce returned HTTP {status}: {}", summary(errors))]
    Api {
        /// HTTP status.
        status: u16,
        /// The parsed error entries (empty when the body was not an error array).
        errors: Vec<ApiError>,
    },
    /// 403 `REQUEST_LIMIT_EXCEEDED`: the org's rolling 24-hour API allocation is used up.
    #[error("REQUEST_LIMIT_EXCEEDED: {message}")]
    RequestLimitExceeded {
        /// Salesforce's message.
        message: String,
        /// Last known usage, if any response carried `Sforce-Limit-Info`.
        usage: Option<ApiUsage>,
    },
    /// The client stopped itself: the org's API usage reached the configured share.
    #[error("API usage {}/{} reached the configured stop share {share}", usage.used, usage.max)]
    UsageCapReached {
        /// Usage as last reported by Salesforce.
        usage: ApiUsage,
        /// The configured share (0..=1).
        share: f64,
    },
    /// A response body did not have the expected shape.
    #[error("unexpected Salesforce response for {context}")]
    Decode {
        /// What was being decoded.
        context: &'static str,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A Bulk API 2.0 result page was not valid UTF-8 CSV with a header row.
    #[error("invalid CSV in a Bulk API 2.0 result page: {message}")]
    Csv {
        /// What is wrong.
        message: String,
        /// The UTF-8 error, when that is what is wrong.
        #[source]
        source: Option<std::string::FromUtf8Error>,
    },
    /// A Bulk API 2.0 job ended `Failed` or `Aborted`.
    #[error("bulk query job {id} ended in state {state}: {}", message.as_deref().unwrap_or("no message"))]
    BulkJobFailed {
        /// Job id (`750...`).
        id: String,
        /// Final state.
        state: String,
        /// Salesforce's `errorMessage`.
        message: Option<String>,
    },
    /// A Bulk API 2.0 job did not complete within the polling timeout.
    #[error("bulk query job {id} not complete after {waited:?}")]
    BulkJobTimeout {
        /// Job id.
        id: String,
        /// How long the client polled.
        waited: Duration,
    },
    /// A Metadata API deploy ended without deploying (`Failed`, `Canceled`): nothing of it is
    /// in the org. `failures` name the component, the line and the problem.
    #[error("deploy {id} ended {status}: {}", deploy_summary(message.as_deref(), failures))]
    DeployFailed {
        /// The deploy request id (`0Af...`).
        id: String,
        /// The final status.
        status: String,
        /// Salesforce's `errorMessage`, when the deploy failed as a whole.
        message: Option<String>,
        /// The components Salesforce refused.
        failures: Vec<ComponentFailure>,
    },
    /// A Metadata API deploy did not finish within the polling timeout. It may still finish:
    /// read its status with its id.
    #[error("deploy {id} not finished after {waited:?} (last status {status})")]
    DeployTimeout {
        /// The deploy request id.
        id: String,
        /// The last status seen.
        status: String,
        /// How long the client polled.
        waited: Duration,
    },
    /// The deploy package could not be built.
    #[error("cannot build the deploy package: {0}")]
    Package(String),
    /// A date-time from Salesforce could not be parsed.
    #[error("invalid Salesforce date-time {value:?}")]
    DateTime {
        /// The text received.
        value: String,
        /// The parse error.
        #[source]
        source: time::error::Parse,
    },
}

fn version_not_served(version: &str, served: &[String]) -> String {
    match (served.first(), served.last()) {
        (Some(oldest), Some(newest)) => format!(
            "this Salesforce org does not serve API version {version} (it serves {oldest} to {newest}): set SFHS_SALESFORCE_API_VERSION to one of them, e.g. {newest}"
        ),
        _ => format!(
            "this Salesforce org does not serve API version {version}: set SFHS_SALESFORCE_API_VERSION to a version it lists at /services/data/"
        ),
    }
}

fn deploy_summary(message: Option<&str>, failures: &[ComponentFailure]) -> String {
    let mut parts: Vec<String> = message.map(str::to_owned).into_iter().collect();
    parts.extend(failures.iter().map(ToString::to_string));
    if parts.is_empty() { "no reason given".to_owned() } else { parts.join("; ") }
}

fn summary(errors: &[ApiError]) -> String {
    if errors.is_empty() {
        return "no error body".to_owned();
    }
    errors
        .iter()
        .map(|e| format!("{}: {}", e.error_code, e.message.trim()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Error codes after which the same request may succeed later.
const RETRYABLE_CODES: &[&str] = &[
    "SERVER_UNAVAILABLE",
    "UNABLE_TO_LOCK_ROW",
    "QUERY_TIMEOUT",
    "REQUEST_RUNNING_TOO_LONG",
    "CONCURRENT_REQUESTS_LIMIT_EXCEEDED",
];

impl Error {
    /// Salesforce's `errorCode` (or OAuth `error`), when there is one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Error::Api { errors, .. } => errors.first().map(|e| e.error_code.as_str()),
            Error::Auth { error, .. } => Some(error.as_str()),
            Error::RequestLimitExceeded { .. } => Some("REQUEST_LIMIT_EXCEEDED"),
            _ => None,
        }
    }

    /// The HTTP status Salesforce answered with, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Auth { status, .. } => Some(*status),
            Error::RequestLimitExceeded { .. } => Some(403),
            _ => None,
        }
    }

    /// A REST query cursor (`nextRecordsUrl`) Salesforce no longer has: it drops one after 15
    /// minutes of inactivity, or when the user opens an 11th. Running the query again helps.
    pub fn is_invalid_query_locator(&self) -> bool {
        matches!(self, Error::Api { errors, .. }
            if errors.iter().any(|e| e.error_code == "INVALID_QUERY_LOCATOR"))
    }

    /// A Bulk API 2.0 query job whose results cannot be read any more: gone (404; results are
    /// kept 7 days), or stopped (`INVALIDJOB`, `INVALIDJOBSTATE`, `INVALID_JOB`). Creating the
    /// job again helps.
    pub fn is_bulk_job_gone(&self) -> bool {
        match self {
            Error::Api { status: 404, .. } => true,
            Error::Api { errors, .. } => errors.iter().any(|e| {
                matches!(
                    e.error_code.as_str(),
                    "INVALIDJOB" | "INVALID_JOB" | "INVALIDJOBSTATE" | "INVALID_JOB_STATE"
                )
            }),
            _ => false,
        }
    }

    /// The user lacks a permission the call needs (`INSUFFICIENT_ACCESS`, e.g. "Modify
    /// Metadata Through Metadata API Functions" for a deploy, "View Setup" for the Tooling API).
    pub fn is_insufficient_access(&self) -> bool {
        matches!(self, Error::Api { errors, .. }
            if errors.iter().any(|e| e.error_code.starts_with("INSUFFICIENT_ACCESS")))
    }

    /// Whether the same call can succeed if tried again later (without changing anything).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::BulkJobTimeout { .. } => true,
            // Polling again (or deploying again once it finished) can help; a refused deploy
            // needs a change first.
            Error::DeployTimeout { .. } => true,
            Error::DeployFailed { .. } | Error::Package(_) => false,
            Error::Api { status, errors } => {
                *status >= 500
                    || *status == 429
                    || errors.iter().any(|e| RETRYABLE_CODES.contains(&e.error_code.as_str()))
            }
            Error::Auth { status, .. } => *status >= 500,
            // The allocation is a rolling 24 h window: retrying now does not help.
            Error::RequestLimitExceeded { .. }
            | Error::UsageCapReached { .. }
            | Error::Config(_)
            | Error::InvalidInput(_)
            | Error::Jwt(_)
            | Error::Decode { .. }
            | Error::Csv { .. }
            | Error::BulkJobFailed { .. }
            | Error::ApiVersionNotServed { .. }
            | Error::NoOrgId
            | Error::DateTime { .. } => false,
        }
    }
}

/// A component Salesforce refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentFailure {
    pub component_type: Option<String>,
    #[serde(default)]
    pub full_name: String,
    pub file_name: Option<String>,
    #[serde(default, deserialize_with = "crate::types::lenient_u32")]
    pub line_number: Option<u32>,
    #[serde(default, deserialize_with = "crate::types::lenient_u32")]
    pub column_number: Option<u32>,
    pub problem: Option<String>,
    /// `Error` or `Warning`.
    pub problem_type: Option<String>,
}

impl fmt::Display for ComponentFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(t) = &self.component_type {
            write!(f, "{t} ")?;
        }
        write!(f, "{}", self.full_name)?;
        match (self.line_number, self.column_number) {
            (Some(l), Some(c)) => write!(f, " (line {l}, column {c})")?,
            (Some(l), None) => write!(f, " (line {l})")?,
            _ => {}
        }
        write!(f, ": {}", self.problem.as_deref().unwrap_or("no problem given"))
    }
}
