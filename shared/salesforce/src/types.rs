//! The client's own public types: configuration, records, describe, bulk jobs, deleted records.

use sfhs_core::mapping::schema::SfType;
use std::fmt;
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;
use time::OffsetDateTime;

/// A record from a REST query: Salesforce's JSON object (with `attributes`), nulls as JSON null.
pub type Record = serde_json::Map<String, serde_json::Value>;

/// A record from a Bulk API 2.0 CSV page: column -> value, an empty cell is `None` (null).
pub type CsvRecord = IndexMap<String, Option<String>>;

/// Where to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginUrl {
    /// `https://login.salesforce.com`
    Production,
    /// `https://test.salesforce.com`
    Sandbox,
    /// A My Domain host or URL, e.g. `acme.my.salesforce.com`.
    MyDomain(String),
    /// Any other base URL (e.g. the simulator's `http://127.0.0.1:PORT`).
    Custom(String),
}

impl LoginUrl {
    /// From a setting: `production`, `sandbox`, a URL (`http://...`, `https://...`), or a My
    /// Domain host.
    pub fn from_setting(raw: &str) -> LoginUrl {
        match raw.trim() {
            "production" => LoginUrl::Production,
            "sandbox" => LoginUrl::Sandbox,
            url if url.starts_with("http://") || url.starts_with("https://") => {
                LoginUrl::Custom(url.trim_end_matches('/').to_owned())
            }
            host => LoginUrl::MyDomain(host.to_owned()),
        }
    }

    /// Base URL without trailing slash.
    pub fn base(&self) -> String {
        match self {
            LoginUrl::Production => "https://login.salesforce.com".to_owned(),
            LoginUrl::Sandbox => "https://test.salesforce.com".to_owned(),
            LoginUrl::MyDomain(host) => {
                let host = host.trim_end_matches('/');
                if host.starts_with("https://") || host.starts_with("http://") {
                    host.to_owned()
                } else {
                    format!("https://{host}")
                }
            }
            LoginUrl::Custom(url) => url.trim_end_matches('/').to_owned(),
        }
    }

    /// The JWT `aud` used unless configured otherwise: the login URL itself for production,
    /// sandbox and custom URLs; `https://test.salesforce.com` for a My Domain whose host contains
    /// `.sandbox.`, else `https://login.salesforce.com`.
    pub fn default_audience(&self) -> String {
        match self {
            LoginUrl::MyDomain(host) if host.contains(".sandbox.") => {
                "https://test.salesforce.com".to_owned()
            }
            LoginUrl::MyDomain(_) => "https://login.salesforce.com".to_owned(),
            other => other.base(),
        }
    }
}

/// How the client authenticates (server to server, no refresh token).
#[derive(Clone)]
pub enum Credentials {
    /// OAuth 2.0 JWT bearer flow (RS256).
    JwtBearer {
        /// Connected app consumer key (`iss`).
        client_id: String,
        /// Salesforce username (`sub`).
        username: String,
        /// RSA private key, PEM (PKCS#1 or PKCS#8).
        private_key_pem: Vec<u8>,
        /// `aud` override; default [`LoginUrl::default_audience`].
        audience: Option<String>,
    },
    /// OAuth 2.0 client credentials flow (My Domain token endpoint).
    ClientCredentials {
        /// Consumer key.
        client_id: String,
        /// Consumer secret.
        client_secret: String,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::JwtBearer { client_id, username, audience, .. } => f
                .debug_struct("JwtBearer")
                .field("client_id", client_id)
                .field("username", username)
                .field("private_key_pem", &"<redacted>")
                .field("audience", audience)
                .finish(),
            Credentials::ClientCredentials { client_id, .. } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .finish(),
        }
    }
}

/// Client configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Login (token endpoint) base.
    pub login_url: LoginUrl,
    /// How to get a token.
    pub credentials: Credentials,
    /// API version without `v`, e.g. `"62.0"`.
    pub api_version: String,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Stop (with [`crate::Error::UsageCapReached`]) once `used / max` reaches this share of the
    /// org's allocation, as last reported by `Sforce-Limit-Info`. `None`: never stop.
    pub stop_at_usage_share: Option<f64>,
    /// JWT `exp` distance from now; capped at 180 s (Salesforce's maximum).
    pub jwt_lifetime: Duration,
}

impl Config {
    /// Defaults: API 62.0, 120 s timeout, 10 s connect timeout, no usage stop, JWT exp 150 s.
    pub fn new(login_url: LoginUrl, credentials: Credentials) -> Self {
        Config {
            login_url,
            credentials,
            api_version: "62.0".to_owned(),
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            stop_at_usage_share: None,
            jwt_lifetime: Duration::from_secs(150),
        }
    }
}

/// The org's API usage as reported by `Sforce-Limit-Info: api-usage=USED/MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiUsage {
    /// Requests used in the rolling 24 hours.
    pub used: u64,
    /// The org's allocation.
    pub max: u64,
}

impl ApiUsage {
    /// Parses the `api-usage=` item of a `Sforce-Limit-Info` header value.
    pub fn parse_header(value: &str) -> Option<ApiUsage> {
        value.split(',').find_map(|item| {
            let rest = item.trim().strip_prefix("api-usage=")?;
            let (used, max) = rest.split_once('/')?;
            Some(ApiUsage { used: used.trim().parse().ok()?, max: max.trim().parse().ok()? })
        })
    }

    /// `used / max` (1.0 when `max` is 0).
    pub fn share(&self) -> f64 {
        if self.max == 0 { 1.0 } else { self.used as f64 / self.max as f64 }
    }
}

/// The access token and the instance to call.
#[derive(Clone, Deserialize)]
pub struct Token {
    /// Bearer token (never logged).
    pub access_token: String,
    /// Base URL for every API call.
    pub instance_url: String,
    /// Identity URL.
    pub id: Option<String>,
    /// Usually `Bearer`.
    pub token_type: Option<String>,
    /// Granted scopes.
    pub scope: Option<String>,
    /// Epoch millis as a string (client credentials flow).
    pub issued_at: Option<String>,
}

impl Token {
    /// The org's id, from the identity URL (`.../id/<org id>/<user id>`); `None` when the token
    /// response named none.
    pub fn org_id(&self) -> Option<&str> {
        let mut parts = self.id.as_deref()?.rsplit('/');
        let _user = parts.next()?;
        let org = parts.next()?;
        (org.starts_with("00D") && (org.len() == 15 || org.len() == 18)).then_some(org)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &"<redacted>")
            .field("instance_url", &self.instance_url)
            .field("token_type", &self.token_type)
            .finish()
    }
}

/// REST query options.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueryOptions {
    /// `Sforce-Query-Options: batchSize=N` (clamped to 200..=2000; Salesforce may ignore it).
    pub batch_size: Option<u32>,
    /// Use `queryAll` (sees deleted and archived records).
    pub include_deleted: bool,
}

impl QueryOptions {
    /// The request headers these options add (`Sforce-Query-Options`).
    pub(crate) fn headers(&self) -> Vec<(&'static str, String)> {
        self.batch_size
            .map(|n| vec![("Sforce-Query-Options", format!("batchSize={}", n.clamp(200, 2000)))])
            .unwrap_or_default()
    }

    /// The query resource: `queryAll` with deleted records, else `query`.
    pub(crate) fn endpoint(&self) -> &'static str {
        if self.include_deleted { "queryAll" } else { "query" }
    }
}

/// One entry of describeGlobal (a describe repeats it for its object).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlobalSObject {
    /// API name.
    pub name: String,
    /// Label.
    #[serde(default)]
    pub label: String,
    /// Custom object.
    #[serde(default)]
    pub custom: bool,
    /// 3-character id prefix.
    pub key_prefix: Option<String>,
    /// Can be queried.
    #[serde(default)]
    pub queryable: bool,
}

/// A picklist entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PicklistValue {
    /// API value.
    pub value: String,
    /// Label.
    pub label: Option<String>,
    /// Active.
    #[serde(default)]
    pub active: bool,
}

/// A field's type as describe names it, read as the domain's [`SfType`] (a name it does not know
/// is kept as `Other`; the case Salesforce writes it in does not matter).
fn field_type<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SfType, D::Error> {
    Ok(SfType::parse(&String::deserialize(d)?))
}

/// A field of an object describe.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDescribe {
    /// API name (managed-package prefix included).
    pub name: String,
    /// Label.
    #[serde(default)]
    pub label: String,
    /// Type.
    #[serde(rename = "type", deserialize_with = "field_type")]
    pub field_type: SfType,
    /// Accepts null.
    #[serde(default)]
    pub nillable: bool,
    /// Maximum length for text types (0 otherwise).
    #[serde(default)]
    pub length: u32,
    /// For lookups: the target objects (may be several).
    #[serde(default)]
    pub reference_to: Vec<String>,
    /// For lookups: the relationship name (`Account__r`).
    pub relationship_name: Option<String>,
    /// Picklist values.
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
    /// Formula or roll-up.
    #[serde(default)]
    pub calculated: bool,
    /// Custom field.
    #[serde(default)]
    pub custom: bool,
    /// Can be set on create.
    #[serde(default)]
    pub createable: bool,
    /// Can be set on update.
    #[serde(default)]
    pub updateable: bool,
    /// External id.
    #[serde(default)]
    pub external_id: bool,
    /// Unique.
    #[serde(default)]
    pub unique: bool,
    /// Numeric precision.
    #[serde(default)]
    pub precision: u32,
    /// Numeric scale.
    #[serde(default)]
    pub scale: u32,
}

/// `GET /sobjects/{Name}/describe`.
#[derive(Debug, Clone, Deserialize)]
pub struct SObjectDescribe {
    /// The object as describeGlobal lists it: name, label, custom, key prefix.
    #[serde(flatten)]
    pub object: GlobalSObject,
    /// Fields, in Salesforce's order.
    pub fields: Vec<FieldDescribe>,
}

impl SObjectDescribe {
    /// A field by name, case-insensitively (Salesforce names are case-insensitive).
    pub fn field(&self, name: &str) -> Option<&FieldDescribe> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

/// Bulk API 2.0 query operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkOperation {
    /// Live records.
    Query,
    /// Live, deleted and archived records.
    QueryAll,
}

impl BulkOperation {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            BulkOperation::Query => "query",
            BulkOperation::QueryAll => "queryAll",
        }
    }
}

/// Bulk API 2.0 job state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    UploadComplete,
    InProgress,
    JobComplete,
    Failed,
    Aborted,
    /// Anything else, as sent.
    Other(String),
}

impl<'de> Deserialize<'de> for JobState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "UploadComplete" => JobState::UploadComplete,
            "InProgress" => JobState::InProgress,
            "JobComplete" => JobState::JobComplete,
            "Failed" => JobState::Failed,
            "Aborted" => JobState::Aborted,
            _ => JobState::Other(s),
        })
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            JobState::UploadComplete => "UploadComplete",
            JobState::InProgress => "InProgress",
            JobState::JobComplete => "JobComplete",
            JobState::Failed => "Failed",
            JobState::Aborted => "Aborted",
            JobState::Other(s) => s,
        };
        f.write_str(s)
    }
}

/// A Bulk API 2.0 query job (`/jobs/query[/{id}]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkJob {
    /// `750...`
    pub id: String,
    /// `query` or `queryAll`.
    pub operation: String,
    /// The object queried.
    #[serde(default)]
    pub object: String,
    /// State.
    pub state: JobState,
    /// API version of the job (results must be read with the same).
    pub api_version: Option<f64>,
    /// Creation time.
    #[serde(default, with = "crate::datetime::serde_opt")]
    pub created_date: Option<OffsetDateTime>,
    /// Last modification.
    #[serde(default, with = "crate::datetime::serde_opt")]
    pub system_modstamp: Option<OffsetDateTime>,
    /// Records processed so far (job info only).
    pub number_records_processed: Option<u64>,
    /// Failure reason.
    pub error_message: Option<String>,
}

/// Polling policy for bulk jobs: exponential backoff from `initial` up to `max`, giving up after `timeout`.
#[derive(Debug, Clone, Copy)]
pub struct PollPolicy {
    /// First wait.
    pub initial: Duration,
    /// Longest wait between polls.
    pub max: Duration,
    /// Give up after this long.
    pub timeout: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

/// One page of a REST query ([`crate::Client::query_page`]).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResultPage {
    /// The query's total number of records.
    pub total_size: u64,
    /// The records of this page.
    pub records: Vec<Record>,
    /// Where the next page is; `None` on the last page.
    pub next_records_url: Option<String>,
}

/// One deleted record.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedRecord {
    /// Record id (18 characters).
    pub id: String,
    /// When it was deleted.
    #[serde(with = "crate::datetime::serde_req")]
    pub deleted_date: OffsetDateTime,
}

/// The answer for one deleted-records window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedPage {
    /// Start actually requested (after clamping to the 15-day limit).
    pub window_start: OffsetDateTime,
    /// End actually requested.
    pub window_end: OffsetDateTime,
    /// Deleted records in the window.
    pub records: Vec<DeletedRecord>,
    /// Oldest moment Salesforce still has deletes for: if it is later than the last sweep,
    /// deletes were missed and a full reconcile is needed.
    pub earliest_date_available: OffsetDateTime,
    /// Use as the next sweep's start.
    pub latest_date_covered: OffsetDateTime,
}

impl DeletedPage {
    /// Whether deletes since `last_sweep` may have been lost (Salesforce no longer has them).
    pub fn missed_since(&self, last_sweep: OffsetDateTime) -> bool {
        self.earliest_date_available > last_sweep
    }
}

/// Numbers as JSON numbers or strings; null or garbage is `None`.
pub(crate) fn lenient_u32<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        Number(u64),
        Text(String),
        Other(serde::de::IgnoredAny),
    }
    Ok(match Num::deserialize(d)? {
        Num::Number(n) => u32::try_from(n).ok(),
        Num::Text(s) => s.trim().parse().ok(),
        Num::Other(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_org_id_is_read_from_the_identity_url() {
        let token = |id: Option<&str>| Token {
            access_token: "t".into(),
            instance_url: "https://x".into(),
            id: id.map(str::to_owned),
            token_type: None,
            scope: None,
            issued_at: None,
        };
        let t =
            token(Some("https://login.salesforce.com/id/00Dxx0000001gPFEAY/005xx000001SwiUAAS"));
        assert_eq!(t.org_id(), Some("00Dxx0000001gPFEAY"));
        assert_eq!(token(Some("https://x/id/nope")).org_id(), None);
        assert_eq!(token(None).org_id(), None);
    }

    #[test]
    fn parses_limit_info() {
        assert_eq!(
            ApiUsage::parse_header("api-usage=24/100000"),
            Some(ApiUsage { used: 24, max: 100000 })
        );
        assert_eq!(
            ApiUsage::parse_header("per-app-api-usage=17/250(appName=x), api-usage=18/5000"),
            Some(ApiUsage { used: 18, max: 5000 })
        );
        assert_eq!(ApiUsage::parse_header("nonsense"), None);
    }

    #[test]
    fn login_urls() {
        assert_eq!(LoginUrl::Sandbox.base(), "https://test.salesforce.com");
        assert_eq!(
            LoginUrl::MyDomain("acme.my.salesforce.com".into()).base(),
            "https://acme.my.salesforce.com"
        );
        assert_eq!(
            LoginUrl::MyDomain("acme--dev.sandbox.my.salesforce.com".into()).default_audience(),
            "https://test.salesforce.com"
        );
    }
}
