//! Client configuration: base URL, API version, token, timeouts, retries, limiter sizing.

use std::fmt;
use std::time::Duration;

use time::UtcOffset;

/// Which generation of HubSpot paths to call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ApiVersion {
    /// `/crm/objects/2026-09/...` (the current date version).
    #[default]
    V2026_09,
    /// `/crm/objects/2026-03/...`.
    V2026_03,
    /// `/crm/v3/objects/...`, `/crm-object-schemas/v3/...`, `/crm/v4/associations/...`;
    /// unsupported by HubSpot from 2027.
    Legacy,
}

impl ApiVersion {
    fn date(self) -> Option<&'static str> {
        match self {
            Self::V2026_09 => Some("2026-09"),
            Self::V2026_03 => Some("2026-03"),
            Self::Legacy => None,
        }
    }

    pub(crate) fn objects(self) -> String {
        self.path("/crm/v3/objects", |d| format!("/crm/objects/{d}"))
    }

    pub(crate) fn schemas(self) -> String {
        self.path("/crm-object-schemas/v3/schemas", |d| format!("/crm-object-schemas/{d}/schemas"))
    }

    pub(crate) fn properties(self) -> String {
        self.path("/crm/v3/properties", |d| format!("/crm/properties/{d}"))
    }

    pub(crate) fn account_details(self) -> String {
        self.path("/account-info/v3/details", |d| format!("/account-info/{d}/details"))
    }

    pub(crate) fn associations(self) -> String {
        self.path("/crm/v4/associations", |d| format!("/crm/associations/{d}"))
    }

    /// The legacy path, or the date-versioned one built from the version's date.
    fn path(self, legacy: &str, dated: impl FnOnce(&str) -> String) -> String {
        self.date().map_or_else(|| legacy.into(), dated)
    }
}

impl std::str::FromStr for ApiVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "2026-09" => Ok(Self::V2026_09),
            "2026-03" => Ok(Self::V2026_03),
            "legacy" | "v3" => Ok(Self::Legacy),
            other => Err(format!(
                "unknown HubSpot API version {other:?} (use 2026-09, 2026-03 or legacy)"
            )),
        }
    }
}

/// A HubSpot access token (private-app token, service key or OAuth access token). Its `Debug`
/// and `Display` never show the value.
#[derive(Clone)]
pub struct SecretToken(String);

impl SecretToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken([REDACTED])")
    }
}

impl fmt::Display for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// How failed calls are retried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// First backoff; doubles per attempt, with jitter, up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Least wait after a 423 Locked (HubSpot: at least 2 s).
    pub locked_wait: Duration,
    /// Wait after a rolling-window 429 that carries no `Retry-After`; `None` means a tenth of the
    /// rolling window reported by the headers.
    pub rate_limit_wait: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(20),
            locked_wait: Duration::from_secs(2),
            rate_limit_wait: None,
        }
    }
}

/// Everything the client needs; build it once per process.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `https://api.hubapi.com`, or a simulator's base URL.
    pub base_url: String,
    pub api_version: ApiVersion,
    pub token: SecretToken,
    /// Whole-request timeout.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// Share (0..1) of the rolling and daily budgets left for other apps and processes on the
    /// portal.
    pub reserved_share: f64,
    /// Rolling-window budget assumed before the first response tells the real one.
    pub initial_burst_limit: u32,
    pub initial_burst_window: Duration,
    /// Search requests per second (HubSpot: 5 per account).
    pub search_per_second: u32,
    /// UTC offset of the portal's time zone, used to compute when the daily limit resets.
    pub portal_utc_offset: UtcOffset,
}

impl ClientConfig {
    pub fn new(base_url: impl Into<String>, token: SecretToken) -> Self {
        Self {
            base_url: base_url.into(),
            api_version: ApiVersion::default(),
            token,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            reserved_share: 0.0,
            initial_burst_limit: 100,
            initial_burst_window: Duration::from_secs(10),
            search_per_second: 5,
            portal_utc_offset: UtcOffset::UTC,
        }
    }
}
