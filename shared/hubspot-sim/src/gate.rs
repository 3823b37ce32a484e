//! What every API call goes through before its handler: version check, authentication, the
//! rolling and daily budgets (or search's own limit), injected faults, headers and counters.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::Sim;
use crate::config::SimConfig;
use crate::error::HsError;

/// Date versions the simulator serves besides the legacy `v3`/`v4` paths.
pub const DATE_VERSIONS: &[&str] = &["2026-03", "2026-09"];

/// A fault to inject into API calls (never into `/_sim/` calls).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Fault {
    pub kind: FaultKind,
    /// Apply to the next `count` matching calls, then disappear.
    pub count: Option<u64>,
    /// Apply to this share (0..=1) of matching calls, until cleared. With neither `count` nor
    /// `share`, the fault applies to every matching call until cleared.
    pub share: Option<f64>,
    /// Only calls whose path contains this string match.
    pub path_contains: Option<String>,
    /// `Retry-After` seconds, for 429, 423 and 477 faults.
    pub retry_after_secs: Option<u64>,
    /// Added latency, for `latency` faults.
    pub latency_ms: Option<u64>,
}

/// `fn name(mut self, value) -> Self` setting an optional field of [`Fault`].
macro_rules! limits {
    ($($(#[$doc:meta])* $name:ident => $field:ident: $ty:ty,)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                self.$field = Some(value);
                self
            }
        )*
    };
}

impl Fault {
    pub fn new(kind: FaultKind) -> Self {
        Self {
            kind,
            count: None,
            share: None,
            path_contains: None,
            retry_after_secs: None,
            latency_ms: None,
        }
    }
    limits! {
        /// Apply to this many matching calls, then disappear.
        times => count: u64,
        /// Apply to this share (0..=1) of matching calls.
        share => share: f64,
        /// The `Retry-After` seconds sent with it.
        retry_after => retry_after_secs: u64,
        /// The latency it adds, in milliseconds.
        latency => latency_ms: u64,
    }

    pub fn on_path(mut self, p: &str) -> Self {
        self.path_contains = Some(p.into());
        self
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// 429 with policy `TEN_SECONDLY_ROLLING`.
    RateLimit,
    /// 429 with policy `DAILY`.
    DailyLimit,
    /// 423 Locked.
    Locked,
    /// 477 Migration in progress (send `retry_after_secs`).
    MigrationInProgress,
    InternalError,
    BadGateway,
    ServiceUnavailable,
    GatewayTimeout,
    /// Adds `latency_ms`, then answers normally.
    Latency,
    /// Sends the head, then breaks the connection without a body.
    DropConnection,
}

/// Call counters; `0` stands for a dropped connection.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Counters {
    pub calls: u64,
    pub by_status: BTreeMap<u16, u64>,
    pub by_endpoint: BTreeMap<String, BTreeMap<u16, u64>>,
    pub rate_limited_rolling: u64,
    pub rate_limited_daily: u64,
    pub rate_limited_search: u64,
    pub auth_failures: u64,
    pub faults_injected: u64,
}

impl Counters {
    /// Calls answered with `status`.
    pub fn status(&self, status: u16) -> u64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }

    /// Calls to endpoints whose route contains `fragment`, e.g. `batch/upsert`.
    pub fn endpoint_calls(&self, fragment: &str) -> u64 {
        self.by_endpoint
            .iter()
            .filter(|(k, _)| k.contains(fragment))
            .flat_map(|(_, v)| v.values())
            .sum()
    }
}

#[derive(Debug, Default)]
pub struct Limits {
    pub windows: HashMap<String, VecDeque<Instant>>,
    pub daily_used: u64,
    pub day: Option<time::Date>,
    pub search: VecDeque<Instant>,
}

pub struct Gate {
    pub faults: Vec<Fault>,
    rng: u64,
}

impl Gate {
    pub fn new(seed: u64) -> Self {
        Self { faults: vec![], rng: seed | 1 }
    }

    fn roll(&mut self) -> f64 {
        // xorshift64*: deterministic per seed, good enough to spread faults.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick(&mut self, path: &str) -> Option<Fault> {
        let mut chosen = None;
        let mut i = 0;
        while i < self.faults.len() {
            let f = &self.faults[i];
            if f.path_contains.as_deref().is_some_and(|p| !path.contains(p)) {
                i += 1;
                continue;
            }
            if let Some(n) = f.count {
                let f = f.clone();
                if n <= 1 {
                    self.faults.remove(i);
                } else {
                    self.faults[i].count = Some(n - 1);
                }
                chosen = Some(f);
                break;
            }
            if let Some(s) = f.share {
                let f = f.clone();
                if self.roll() < s {
                    chosen = Some(f);
                    break;
                }
                i += 1;
                continue;
            }
            chosen = Some(f.clone());
            break;
        }
        chosen
    }
}

struct RateHeaders {
    max: u32,
    remaining: u32,
    interval_ms: u128,
    daily: u64,
    daily_remaining: u64,
}

impl RateHeaders {
    fn apply(&self, h: &mut HeaderMap) {
        let mut put = |k: &'static str, v: String| {
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(k, v);
            }
        };
        put("x-hubspot-ratelimit-max", self.max.to_string());
        put("x-hubspot-ratelimit-remaining", self.remaining.to_string());
        put("x-hubspot-ratelimit-interval-milliseconds", self.interval_ms.to_string());
        put("x-hubspot-ratelimit-daily", self.daily.to_string());
        put("x-hubspot-ratelimit-daily-remaining", self.daily_remaining.to_string());
    }
}

enum Admission {
    Reject(HsError, Option<RateHeaders>),
    Proceed(Option<RateHeaders>, Option<Fault>),
}

fn bearer(h: &HeaderMap) -> Option<String> {
    let v = h.get("authorization")?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
}

/// The token, if it is one the portal accepts with the CRM scopes: else HubSpot's 401 (unknown
/// token) or 403 (`MISSING_SCOPES`).
fn authenticate(cfg: &SimConfig, token: Option<String>) -> Result<String, HsError> {
    let Some(token) = token.filter(|t| cfg.tokens.contains(t) || cfg.scopeless_tokens.contains(t))
    else {
        return Err(HsError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        ));
    };
    if cfg.scopeless_tokens.contains(&token) {
        return Err(HsError::new(
            StatusCode::FORBIDDEN,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
        )
        .with(
            "errors",
            serde_json::json!([{"message": "One or more of the following scopes are required.", "context": {"requiredGranularScopes": ["crm.objects.custom.write", "crm.schemas.custom.read"]}}]),
        ));
    }
    Ok(token)
}

fn admit(
    cfg: &SimConfig,
    limits: &mut Limits,
    gate: &mut Gate,
    counters: &mut Counters,
    token: Option<String>,
    path: &str,
    is_search: bool,
) -> Admission {
    let token = match authenticate(cfg, token) {
        Ok(token) => token,
        Err(refused) => {
            counters.auth_failures += 1;
            return Admission::Reject(refused, None);
        }
    };
    let now = Instant::now();
    let today = OffsetDateTime::now_utc().date();
    if limits.day != Some(today) {
        limits.day = Some(today);
        limits.daily_used = 0;
    }
    if is_search {
        while limits
            .search
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            limits.search.pop_front();
        }
        if limits.search.len() >= cfg.search_per_second as usize {
            counters.rate_limited_search += 1;
            let mut e = HsError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMITS",
                "You have reached your secondly limit.",
            );
            e.retry_after = None;
            return Admission::Reject(e, None);
        }
        limits.search.push_back(now);
    }
    let burst = !is_search || cfg.search_counts_toward_burst;
    let window = limits.windows.entry(token).or_default();
    while window.front().is_some_and(|t| now.duration_since(*t) >= cfg.burst_window) {
        window.pop_front();
    }
    let headers = |used: usize, daily_used: u64| RateHeaders {
        max: cfg.burst_limit,
        remaining: cfg.burst_limit.saturating_sub(u32::try_from(used).unwrap_or(u32::MAX)),
        interval_ms: cfg.burst_window.as_millis(),
        daily: cfg.daily_limit,
        daily_remaining: cfg.daily_limit.saturating_sub(daily_used),
    };
    if limits.daily_used >= cfg.daily_limit {
        counters.rate_limited_daily += 1;
        let h = (!is_search).then(|| headers(window.len(), limits.daily_used));
        return Admission::Reject(HsError::rate_limit("DAILY"), h);
    }
    if burst && window.len() >= cfg.burst_limit as usize {
        counters.rate_limited_rolling += 1;
        let mut e = HsError::rate_limit("TEN_SECONDLY_ROLLING");
        e.retry_after = cfg.retry_after_on_429;
        return Admission::Reject(e, Some(headers(window.len(), limits.daily_used)));
    }
    if burst {
        window.push_back(now);
    }
    limits.daily_used += 1;
    let h = (!is_search).then(|| headers(window.len(), limits.daily_used));
    let fault = gate.pick(path);
    if fault.is_some() {
        counters.faults_injected += 1;
    }
    Admission::Proceed(h, fault)
}

fn fault_response(f: &Fault) -> Option<Response> {
    let (status, category, message) = match f.kind {
        FaultKind::RateLimit => {
            let mut e = HsError::rate_limit("TEN_SECONDLY_ROLLING");
            e.retry_after = f.retry_after_secs;
            return Some(e.into_response());
        }
        FaultKind::DailyLimit => return Some(HsError::rate_limit("DAILY").into_response()),
        FaultKind::Locked => (
            StatusCode::LOCKED,
            "LOCKED",
            "The object is locked by another bulk operation; retry after at least 2 seconds",
        ),
        FaultKind::MigrationInProgress => (
            StatusCode::from_u16(477).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
            "MIGRATION_IN_PROGRESS",
            "This portal is being migrated; retry after the time in Retry-After",
        ),
        FaultKind::InternalError => {
            (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "internal error")
        }
        FaultKind::BadGateway => (StatusCode::BAD_GATEWAY, "BAD_GATEWAY", "Bad Gateway"),
        FaultKind::ServiceUnavailable => {
            (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE", "Service Unavailable")
        }
        FaultKind::GatewayTimeout => {
            (StatusCode::GATEWAY_TIMEOUT, "GATEWAY_TIMEOUT", "Gateway Timeout")
        }
        FaultKind::Latency => return None,
        FaultKind::DropConnection => {
            let stream = futures::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("simulated dropped connection"))
            });
            let mut r = Response::new(Body::from_stream(stream));
            *r.status_mut() = StatusCode::OK;
            return Some(r);
        }
    };
    let mut e = HsError::new(status, category, message);
    e.retry_after = f.retry_after_secs;
    Some(e.into_response())
}

pub async fn gate(
    State(sim): State<Sim>,
    matched: MatchedPath,
    params: RawPathParams,
    req: Request,
    next: Next,
) -> Response {
    let endpoint = format!("{} {}", req.method(), matched.as_str());
    let mut response = None;
    for (k, v) in &params {
        if k == "ver" && !DATE_VERSIONS.contains(&v) && !matches!(v, "v3" | "v4") {
            response = Some(HsError::not_found(format!("Unknown API version {v}")).into_response());
        }
    }
    let path = req.uri().path().to_string();
    let is_search = matched.as_str().ends_with("/search");
    let token = bearer(req.headers());
    let mut dropped = false;
    if response.is_none() {
        let admission = {
            let mut st = sim.lock();
            let st = &mut *st;
            admit(
                &st.config,
                &mut st.limits,
                &mut st.gate,
                &mut st.counters,
                token,
                &path,
                is_search,
            )
        };
        response = Some(match admission {
            Admission::Reject(e, h) => {
                let mut r = e.into_response();
                if let Some(h) = h {
                    h.apply(r.headers_mut());
                }
                r
            }
            Admission::Proceed(h, fault) => {
                let mut r = None;
                if let Some(f) = &fault {
                    if let Some(ms) = f.latency_ms {
                        tokio::time::sleep(Duration::from_millis(ms)).await;
                    }
                    dropped = f.kind == FaultKind::DropConnection;
                    r = fault_response(f);
                }
                let mut r = match r {
                    Some(r) => r,
                    None => next.run(req).await,
                };
                if let Some(h) = h {
                    h.apply(r.headers_mut());
                }
                r
            }
        });
    }
    let resp = response.unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    let status = if dropped { 0 } else { resp.status().as_u16() };
    {
        let mut st = sim.lock();
        let c = &mut st.counters;
        c.calls += 1;
        *c.by_status.entry(status).or_default() += 1;
        *c.by_endpoint.entry(endpoint).or_default().entry(status).or_default() += 1;
    }
    resp
}
