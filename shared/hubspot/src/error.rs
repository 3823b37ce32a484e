//! Errors of the HubSpot client, classified as retryable or permanent.

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// One entry of `errors[]` in a HubSpot error body (every field optional).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorItem {
    pub message: Option<String>,
    pub code: Option<String>,
    pub category: Option<String>,
    pub context: Option<Value>,
}

/// A HubSpot error body: `{"status":"error","message","correlationId","category","errors","context"}`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiErrorBody {
    pub message: Option<String>,
    pub correlation_id: Option<String>,
    pub category: Option<String>,
    pub policy_name: Option<String>,
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
    pub context: Option<Value>,
}

fn first_string(ctx: Option<&Value>, keys: &[&str]) -> Option<String> {
    let ctx = ctx?;
    for k in keys {
        match ctx.get(*k) {
            Some(Value::Array(a)) => {
                if let Some(v) = a.first() {
                    return Some(v.as_str().map_or_else(|| v.to_string(), String::from));
                }
            }
            Some(Value::String(s)) => return Some(s.clone()),
            _ => {}
        }
    }
    None
}

impl ApiErrorBody {
    pub(crate) fn parse(bytes: &[u8]) -> Self {
        serde_json::from_slice(bytes).unwrap_or_else(|_| Self {
            message: Some(String::from_utf8_lossy(bytes).chars().take(500).collect()),
            ..Self::default()
        })
    }

    /// The property HubSpot names, from `errors[].context.propertyName` or the
    /// "Property values were not valid" message.
    pub fn property(&self) -> Option<String> {
        self.errors
            .iter()
            .find_map(|e| first_string(e.context.as_ref(), &["propertyName", "name"]))
            .or_else(|| first_string(self.context.as_ref(), &["propertyName"]))
            .or_else(|| {
                self.legacy_items()
                    .into_iter()
                    .find_map(|v| v.get("name")?.as_str().map(String::from))
            })
    }

    /// The value HubSpot names, when it does.
    pub fn value(&self) -> Option<String> {
        self.errors
            .iter()
            .find_map(|e| first_string(e.context.as_ref(), &["value"]))
            .or_else(|| first_string(self.context.as_ref(), &["value"]))
    }

    /// The error code (`INVALID_OPTION`, `PROPERTY_DOESNT_EXIST`, ...), when HubSpot gives one.
    pub fn code(&self) -> Option<String> {
        self.errors.iter().find_map(|e| e.code.clone()).or_else(|| {
            self.legacy_items().into_iter().find_map(|v| v.get("error")?.as_str().map(String::from))
        })
    }

    /// Record ids HubSpot names in `context.ids` / `errors[].context.ids` / `context.id`.
    pub fn record_ids(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut take = |ctx: Option<&Value>| {
            for k in ["ids", "id", "objectWriteTraceId", "fromObjectId"] {
                if let Some(Value::Array(a)) = ctx.and_then(|c| c.get(k)) {
                    out.extend(
                        a.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), String::from)),
                    );
                }
            }
        };
        take(self.context.as_ref());
        for e in &self.errors {
            take(e.context.as_ref());
        }
        out.retain(|s| !s.is_empty());
        out
    }

    fn legacy_items(&self) -> Vec<Value> {
        let Some(m) = &self.message else {
            return vec![];
        };
        let Some(i) = m.find('[') else { return vec![] };
        serde_json::from_str::<Vec<Value>>(&m[i..]).unwrap_or_default()
    }

    pub fn message_or(&self, fallback: &str) -> String {
        self.message.clone().unwrap_or_else(|| fallback.to_string())
    }
}

/// Why a call to HubSpot failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The portal's daily budget is spent (a `DAILY` 429, or the reserved share reached).
    /// Never retried: writes must stop until `reset_at`.
    #[error("HubSpot daily API limit reached; it resets at {reset_at}")]
    DailyLimit { reset_at: OffsetDateTime, correlation_id: Option<String> },

    /// Rolling-window 429s persisted through every retry.
    #[error("HubSpot rate limit ({policy}) still hit after {attempts} attempts")]
    RateLimited { policy: String, attempts: u32, correlation_id: Option<String> },

    /// 423, 477, 5xx persisted through every retry.
    #[error("HubSpot unavailable: HTTP {status} after {attempts} attempts: {}", .body.message_or("no message"))]
    Unavailable { status: u16, attempts: u32, body: Box<ApiErrorBody> },

    /// Connection failure, dropped connection or timeout, through every retry.
    #[error("HTTP transport to HubSpot failed after {attempts} attempts (timeout: {timeout})")]
    Transport {
        attempts: u32,
        timeout: bool,
        #[source]
        source: BoxError,
    },

    /// 401 (`INVALID_AUTHENTICATION`, `EXPIRED_AUTHENTICATION`) or 403 (`MISSING_SCOPES`).
    #[error("HubSpot refused the credentials: HTTP {status} {}", .body.category.as_deref().unwrap_or(""))]
    Auth { status: u16, body: Box<ApiErrorBody> },

    /// Any other 4xx: the request itself is wrong; retrying cannot help.
    #[error("HubSpot rejected the request: HTTP {status} {}: {}", .body.category.as_deref().unwrap_or(""), .body.message_or(""))]
    Rejected { status: u16, body: Box<ApiErrorBody> },

    /// A success response whose body is not what HubSpot documents.
    #[error("unexpected response body from HubSpot ({context})")]
    Decode {
        context: String,
        #[source]
        source: serde_json::Error,
    },

    /// The caller asked for something the client refuses before calling.
    #[error("invalid request: {0}")]
    InvalidInput(String),

    /// The client could not be built.
    #[error("HubSpot client configuration: {message}")]
    Config {
        message: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// Whether trying the same work again later can succeed without changing it.
    /// `DailyLimit` is `false`: it can only succeed after the reset.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable { .. } | Self::Transport { .. })
    }

    /// Whether the error is a rate limit of either kind.
    pub fn is_rate_limit(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::DailyLimit { .. })
    }

    /// HubSpot's error body, when there is one.
    pub fn body(&self) -> Option<&ApiErrorBody> {
        match self {
            Self::Unavailable { body, .. }
            | Self::Auth { body, .. }
            | Self::Rejected { body, .. } => Some(body),
            _ => None,
        }
    }

    /// HTTP status, when HubSpot answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unavailable { status, .. }
            | Self::Auth { status, .. }
            | Self::Rejected { status, .. } => Some(*status),
            Self::DailyLimit { .. } | Self::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    pub fn category(&self) -> Option<&str> {
        self.body().and_then(|b| b.category.as_deref())
    }

    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            Self::DailyLimit { correlation_id, .. } | Self::RateLimited { correlation_id, .. } => {
                correlation_id.as_deref()
            }
            _ => self.body().and_then(|b| b.correlation_id.as_deref()),
        }
    }
}

/// One input of a batch that HubSpot refused while others went through.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordFailure {
    /// The inputs' ids as the caller gave them (id-property values or record ids).
    pub ids: Vec<String>,
    pub status: u16,
    pub category: Option<String>,
    pub code: Option<String>,
    pub message: String,
    pub property: Option<String>,
    pub value: Option<String>,
    pub correlation_id: Option<String>,
    /// Whether sending the input again can help (rate limits, locks, server errors, and writes
    /// whose outcome could not be established).
    pub retryable: bool,
}

impl RecordFailure {
    pub(crate) fn from_body(ids: Vec<String>, status: u16, body: &ApiErrorBody) -> Self {
        Self {
            ids,
            status,
            category: body
                .category
                .clone()
                .or_else(|| body.errors.iter().find_map(|e| e.category.clone())),
            code: body.code(),
            message: body.message_or("rejected by HubSpot"),
            property: body.property(),
            value: body.value(),
            correlation_id: body.correlation_id.clone(),
            retryable: status == 429 || status == 423 || status >= 500,
        }
    }

    /// An input HubSpot accepted (2xx) whose effect is not there when read back: sending it again
    /// is the way to settle it.
    pub(crate) fn not_found_after_write(ids: Vec<String>, status: u16, what: &str) -> Self {
        Self {
            ids,
            status,
            category: None,
            code: None,
            message: format!(
                "HubSpot answered {status} to the {what} write, but reading it back does not show it"
            ),
            property: None,
            value: None,
            correlation_id: None,
            retryable: true,
        }
    }
}
