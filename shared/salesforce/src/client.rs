//! The client: one `reqwest` client built once, the token cache, the request path with the
//! single re-login on `INVALID_SESSION_ID`, and API-usage tracking.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use reqwest::Method;
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::{ApiError, Error};
use crate::types::{ApiUsage, Config, Credentials, Token};

/// Salesforce API client. Cheap to clone (shared connection pool, token cache and usage).
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    http: reqwest::Client,
    config: Config,
    token: tokio::sync::Mutex<Option<Arc<Token>>>,
    usage: Mutex<Option<ApiUsage>>,
    /// The org lists the configured API version (checked on the first 404 or 410 of a data
    /// call; `false` until then).
    version_served: std::sync::atomic::AtomicBool,
}

/// Where a request goes, relative to the instance URL.
pub(crate) enum Target<'a> {
    /// Below `/services/data/vXX.X/`.
    Data(&'a str),
    /// An absolute path from Salesforce (e.g. `nextRecordsUrl`).
    Path(&'a str),
}

/// A request body.
pub(crate) enum Payload<'a> {
    None,
    Json(&'a serde_json::Value),
    /// Bytes of a content type (the Metadata API's multipart deploy).
    Raw {
        content_type: String,
        body: Bytes,
    },
}

/// A successful reply.
pub(crate) struct Reply {
    pub body: Bytes,
}

#[derive(Serialize)]
struct JwtClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
}

#[derive(serde::Deserialize)]
struct OAuthError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

pub(crate) fn transport(url: &str, e: reqwest::Error) -> Error {
    Error::Transport {
        url: url.split('?').next().unwrap_or(url).to_owned(),
        timeout: e.is_timeout(),
        source: Box::new(e),
    }
}

impl Client {
    /// Builds the client (no network call yet; the first API call logs in).
    pub fn new(config: Config) -> Result<Client, Error> {
        if config.api_version.is_empty()
            || !config.api_version.chars().all(|c| c.is_ascii_digit() || c == '.')
        {
            return Err(Error::Config(format!(
                "api_version must look like \"62.0\", got {:?}",
                config.api_version
            )));
        }
        if let Some(share) = config.stop_at_usage_share
            && !(share > 0.0 && share <= 1.0)
        {
            return Err(Error::Config(format!(
                "stop_at_usage_share must be in (0, 1], got {share}"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("sfhs-salesforce/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                config,
                token: tokio::sync::Mutex::new(None),
                usage: Mutex::new(None),
                version_served: std::sync::atomic::AtomicBool::new(false),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The org's API usage as last reported by `Sforce-Limit-Info` (None before the first call).
    pub fn api_usage(&self) -> Option<ApiUsage> {
        self.inner.usage.lock().map(|g| *g).unwrap_or(None)
    }

    /// The instance URL of the current token, logging in if needed.
    pub async fn instance_url(&self) -> Result<String, Error> {
        Ok(self.token().await?.instance_url.clone())
    }

    /// Forgets the cached token, so the next call logs in again.
    pub async fn invalidate_token(&self) {
        *self.inner.token.lock().await = None;
    }

    /// The org's id (`00D...`), from the identity URL of the token response (logging in first
    /// if needed).
    pub async fn org_id(&self) -> Result<String, Error> {
        let token = self.token().await?;
        token.org_id().map(str::to_owned).ok_or(Error::NoOrgId)
    }

    /// Logs in (or returns the cached token).
    pub async fn token(&self) -> Result<Arc<Token>, Error> {
        let mut guard = self.inner.token.lock().await;
        if let Some(token) = guard.as_ref() {
            return Ok(token.clone());
        }
        let token = Arc::new(self.fetch_token().await?);
        *guard = Some(token.clone());
        Ok(token)
    }

    async fn refresh_after(&self, stale: &Arc<Token>) -> Result<Arc<Token>, Error> {
        let mut guard = self.inner.token.lock().await;
        if let Some(current) = guard.as_ref()
            && !Arc::ptr_eq(current, stale)
        {
            return Ok(current.clone());
        }
        *guard = None;
        let token = Arc::new(self.fetch_token().await?);
        *guard = Some(token.clone());
        Ok(token)
    }

    async fn fetch_token(&self) -> Result<Token, Error> {
        let config = &self.inner.config;
        let url = format!("{}/services/oauth2/token", config.login_url.base());
        let form: Vec<(&str, String)> = match &config.credentials {
            Credentials::JwtBearer { client_id, username, private_key_pem, audience } => {
                let key =
                    jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem).map_err(Error::Jwt)?;
                let aud = audience.clone().unwrap_or_else(|| config.login_url.default_audience());
                let lifetime = config.jwt_lifetime.as_secs().clamp(1, 180) as i64;
                let claims = JwtClaims {
                    iss: client_id,
                    sub: username,
                    aud: &aud,
                    exp: OffsetDateTime::now_utc().unix_timestamp() + lifetime,
                };
                let assertion = jsonwebtoken::encode(
                    &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
                    &claims,
                    &key,
                )
                .map_err(Error::Jwt)?;
                vec![
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned()),
                    ("assertion", assertion),
                ]
            }
            Credentials::ClientCredentials { client_id, client_secret } => vec![
                ("grant_type", "client_credentials".to_owned()),
                ("client_id", client_id.clone()),
                ("client_secret", client_secret.clone()),
            ],
        };
        let resp =
            self.inner.http.post(&url).form(&form).send().await.map_err(|e| transport(&url, e))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| transport(&url, e))?;
        if !(200..300).contains(&status) {
            let parsed: OAuthError = serde_json::from_slice(&body).unwrap_or(OAuthError {
                error: format!("http_{status}"),
                error_description: String::from_utf8_lossy(&body).chars().take(200).collect(),
            });
            return Err(Error::Auth {
                status,
                error: parsed.error,
                description: parsed.error_description,
            });
        }
        let token: Token = serde_json::from_slice(&body)
            .map_err(|source| Error::Decode { context: "OAuth token response", source })?;
        tracing::debug!(instance_url = %token.instance_url, "logged in to Salesforce");
        Ok(token)
    }

    fn check_usage_cap(&self) -> Result<(), Error> {
        if let (Some(share), Some(usage)) =
            (self.inner.config.stop_at_usage_share, self.api_usage())
            && usage.share() >= share
        {
            return Err(Error::UsageCapReached { usage, share });
        }
        Ok(())
    }

    fn record_usage(&self, headers: &reqwest::header::HeaderMap) {
        if let Some(usage) = headers
            .get("sforce-limit-info")
            .and_then(|v| v.to_str().ok())
            .and_then(ApiUsage::parse_header)
            && let Ok(mut guard) = self.inner.usage.lock()
        {
            *guard = Some(usage);
        }
    }

    /// Sends one API request and reads the whole body.
    pub(crate) async fn request(
        &self,
        method: Method,
        target: Target<'_>,
        query: &[(&str, String)],
        json: Option<&serde_json::Value>,
        headers: &[(&'static str, String)],
    ) -> Result<Reply, Error> {
        let payload = json.map_or(Payload::None, Payload::Json);
        let (resp, url) = self.send_payload(method, target, query, payload, headers).await?;
        let body = resp.bytes().await.map_err(|e| transport(&url, e))?;
        Ok(Reply { body })
    }

    /// Sends one API request to the instance, logging in first if needed and once more after
    /// `401 INVALID_SESSION_ID`, with any body: JSON, or raw bytes of a content type (multipart).
    /// Returns a 2xx response whose body is not read yet (and the URL, for errors while reading
    /// it); any other status becomes an [`Error`].
    pub(crate) async fn send_payload(
        &self,
        method: Method,
        target: Target<'_>,
        query: &[(&str, String)],
        payload: Payload<'_>,
        headers: &[(&'static str, String)],
    ) -> Result<(reqwest::Response, String), Error> {
        let mut token = self.token().await?;
        let mut retried = false;
        loop {
            self.check_usage_cap()?;
            let url = match &target {
                Target::Data(rest) => format!(
                    "{}/services/data/v{}/{}",
                    token.instance_url.trim_end_matches('/'),
                    self.inner.config.api_version,
                    rest.trim_start_matches('/')
                ),
                Target::Path(path) => format!(
                    "{}/{}",
                    token.instance_url.trim_end_matches('/'),
                    path.trim_start_matches('/')
                ),
            };
            let mut req =
                self.inner.http.request(method.clone(), &url).bearer_auth(&token.access_token);
            if !query.is_empty() {
                req = req.query(query);
            }
            for (name, value) in headers {
                req = req.header(*name, value);
            }
            match &payload {
                Payload::None => {}
                Payload::Json(body) => req = req.json(body),
                Payload::Raw { content_type, body } => {
                    req = req
                        .header(reqwest::header::CONTENT_TYPE, content_type.as_str())
                        .body(body.clone());
                }
            }
            let resp = req.send().await.map_err(|e| transport(&url, e))?;
            let status = resp.status().as_u16();
            self.record_usage(resp.headers());
            if (200..300).contains(&status) {
                return Ok((resp, url));
            }
            let body = resp.bytes().await.map_err(|e| transport(&url, e))?;
            let errors: Vec<ApiError> = serde_json::from_slice(&body).unwrap_or_default();
            if status == 401
                && !retried
                && (errors.is_empty()
                    || errors.iter().any(|e| e.error_code == "INVALID_SESSION_ID"))
            {
                tracing::debug!("session invalid or expired; logging in again");
                retried = true;
                token = self.refresh_after(&token).await?;
                continue;
            }
            if let Some(limit) = errors.iter().find(|e| e.error_code == "REQUEST_LIMIT_EXCEEDED") {
                return Err(Error::RequestLimitExceeded {
                    message: limit.message.clone(),
                    usage: self.api_usage(),
                });
            }
            let errors = if errors.is_empty() {
                vec![ApiError {
                    message: String::from_utf8_lossy(&body).chars().take(500).collect(),
                    error_code: format!("HTTP_{status}"),
                    fields: Vec::new(),
                }]
            } else {
                errors
            };
            if matches!(status, 404 | 410)
                && matches!(target, Target::Data(_))
                && let Some(unserved) = self.unserved_version(&token.instance_url).await
            {
                return Err(unserved);
            }
            return Err(Error::Api { status, errors });
        }
    }

    /// After a 404 or 410 below `/services/data/vXX.X/`: the error to answer instead when the
    /// org does not list the configured version at `/services/data/` (once it does, not asked
    /// again). `None` when it does, or when the list cannot be read (the 404 stands).
    async fn unserved_version(&self, instance_url: &str) -> Option<Error> {
        use std::sync::atomic::Ordering;
        if self.inner.version_served.load(Ordering::Relaxed) {
            return None;
        }
        #[derive(serde::Deserialize)]
        struct Listed {
            version: String,
        }
        let url = format!("{}/services/data/", instance_url.trim_end_matches('/'));
        let resp = self.inner.http.get(&url).send().await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let listed: Vec<Listed> = resp.json().await.ok()?;
        let served: Vec<String> = listed.into_iter().map(|l| l.version).collect();
        let version = &self.inner.config.api_version;
        if served.iter().any(|v| v == version) {
            self.inner.version_served.store(true, Ordering::Relaxed);
            return None;
        }
        Some(Error::ApiVersionNotServed { version: version.clone(), served })
    }

    /// GET below `/services/data/vXX.X/` and decode JSON.
    /// A call to `/services/data/vXX.X/{rest}` with no query and no extra headers.
    pub(crate) async fn data_call(
        &self,
        method: Method,
        rest: &str,
        json: Option<&serde_json::Value>,
    ) -> Result<Reply, Error> {
        self.request(method, Target::Data(rest), &[], json, &[]).await
    }

    /// `GET /services/data/vXX.X/{rest}`, its JSON body decoded.
    pub(crate) async fn get_data<T: serde::de::DeserializeOwned>(
        &self,
        rest: &str,
        context: &'static str,
    ) -> Result<T, Error> {
        self.get_json(Target::Data(rest), &[], &[], context).await
    }

    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        target: Target<'_>,
        query: &[(&str, String)],
        headers: &[(&'static str, String)],
        context: &'static str,
    ) -> Result<T, Error> {
        let reply = self.request(Method::GET, target, query, None, headers).await?;
        serde_json::from_slice(&reply.body).map_err(|source| Error::Decode { context, source })
    }
}
