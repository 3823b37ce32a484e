//! `HubSpotClient`: one `reqwest::Client`, one rate limiter, typed operations.

use crate::cache::Cache;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::config::{ApiVersion, ClientConfig, RetryPolicy, SecretToken};
use crate::error::{ApiErrorBody, Error, RecordFailure};
use crate::limiter::{LimiterStats, RateHeaders, RateLimiter, SearchLimiter};
use crate::types::{
    AccountDetails, ArchiveOutcome, AssociationLabel, AssociationPair, AssociationType,
    BatchOutcome, CreateInput, ObjectRecord, ObjectSchema, Property, SchemaAssociation,
    UpsertInput,
};

/// Most inputs HubSpot takes in one records batch; association batches are kept to the same.
pub const BATCH_SIZE: usize = 100;
/// Most results of one search page.
pub const SEARCH_PAGE: usize = 200;
/// Most results a search can page through.
pub const SEARCH_CAP: usize = 10_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Normal,
    Search,
}

struct Reply {
    status: u16,
    body: Vec<u8>,
}

/// Counters of what the client did, for logs, tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// HTTP requests sent (retries included).
    pub requests: u64,
    pub retries: u64,
    /// 429 answers of the rolling window (or search's secondly limit).
    pub rate_limited: u64,
    pub limiter: Option<LimiterStats>,
}

struct Inner {
    http: reqwest::Client,
    base: String,
    version: ApiVersion,
    token: SecretToken,
    retry: RetryPolicy,
    limiter: Arc<RateLimiter>,
    search_limiter: SearchLimiter,
    schemas: Cache<String, ObjectSchema>,
    properties: Cache<String, Vec<Property>>,
    labels: Cache<(String, String), Vec<AssociationLabel>>,
    /// Held while labels are read for the cache: concurrent misses read them once.
    labels_filling: tokio::sync::Mutex<()>,
    rng: Mutex<u64>,
    requests: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
}

/// The HubSpot CRM client. Build it once per process and clone it into every task: clones share
/// the HTTP connection pool, the caches and the rate limiter.
#[derive(Clone)]
pub struct HubSpotClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for HubSpotClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubSpotClient")
            .field("base", &self.inner.base)
            .field("version", &self.inner.version)
            .field("token", &self.inner.token)
            .finish_non_exhaustive()
    }
}

fn segment(s: &str) -> Result<&str, Error> {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Ok(s)
    } else {
        Err(Error::InvalidInput(format!("{s:?} is not a valid object type, id or property name")))
    }
}

/// Removes inputs whose key repeats, keeping the last occurrence, in the order of those last
/// occurrences.
pub fn dedup_keep_last<T, K: std::hash::Hash + Eq>(items: Vec<T>, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut last: HashMap<K, usize> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        last.insert(key(it), i);
    }
    items
        .into_iter()
        .enumerate()
        .filter(|(i, it)| last.get(&key(it)) == Some(i))
        .map(|(_, it)| it)
        .collect()
}

fn rate_headers(h: &HeaderMap) -> RateHeaders {
    let num =
        |k: &str| h.get(k).and_then(|v| v.to_str().ok()).and_then(|s| s.trim().parse::<u64>().ok());
    RateHeaders {
        max: num("x-hubspot-ratelimit-max").and_then(|v| u32::try_from(v).ok()),
        remaining: num("x-hubspot-ratelimit-remaining").and_then(|v| u32::try_from(v).ok()),
        interval: num("x-hubspot-ratelimit-interval-milliseconds").map(Duration::from_millis),
        daily: num("x-hubspot-ratelimit-daily"),
        daily_remaining: num("x-hubspot-ratelimit-daily-remaining"),
    }
}

fn retry_after(h: &HeaderMap) -> Option<Duration> {
    h.get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn decode<T: DeserializeOwned>(reply: &Reply, context: &str) -> Result<T, Error> {
    serde_json::from_slice(&reply.body)
        .map_err(|source| Error::Decode { context: context.to_string(), source })
}

#[derive(Deserialize)]
struct BatchResponse<T> {
    #[serde(default = "Vec::new")]
    results: Vec<T>,
    #[serde(default)]
    errors: Vec<ApiErrorBody>,
}

/// An association write: between which object types, with which types.
#[derive(Clone, Copy)]
struct AssociationWrite<'a> {
    from: &'a str,
    to: &'a str,
    kind: AssociationKind<'a>,
}

#[derive(Clone, Copy)]
enum AssociationKind<'a> {
    /// `batch/associate/default`: the portal's unlabelled type.
    Default,
    /// `batch/create` with these types.
    Typed(&'a [AssociationType]),
}

impl AssociationWrite<'_> {
    fn endpoint(&self) -> &'static str {
        match self.kind {
            AssociationKind::Default => "/batch/associate/default",
            AssociationKind::Typed(_) => "/batch/create",
        }
    }
}

/// One result of an association write. The two create endpoints answer in different shapes
/// (HubSpot's v4 reference; the SDK's `LabelsBetweenObjectPair` and `PublicDefaultAssociation`):
/// either is read from either endpoint, so that a change of HubSpot's mind costs nothing.
#[derive(Deserialize)]
#[serde(untagged)]
enum WrittenAssociation {
    /// `batch/create`: `{fromObjectTypeId, fromObjectId, toObjectTypeId, toObjectId, labels}`.
    #[serde(rename_all = "camelCase")]
    Labelled { from_object_id: Value, to_object_id: Value },
    /// `batch/associate/default`: `{from: {id}, to: {id}, associationSpec}`.
    Default { from: IdRef, to: IdRef },
}

#[derive(Deserialize)]
struct IdRef {
    id: Value,
}

fn id_text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), String::from)
}

impl WrittenAssociation {
    fn pair(&self) -> AssociationPair {
        match self {
            Self::Labelled { from_object_id, to_object_id } => {
                AssociationPair::new(id_text(from_object_id), id_text(to_object_id))
            }
            Self::Default { from, to } => AssociationPair::new(id_text(&from.id), id_text(&to.id)),
        }
    }
}

#[derive(Deserialize)]
struct Results<T> {
    #[serde(default = "Vec::new")]
    results: Vec<T>,
}

#[derive(Deserialize)]
struct Paging {
    next: Option<PagingNext>,
}

#[derive(Deserialize)]
struct PagingNext {
    after: String,
}

#[derive(Deserialize)]
struct SearchResponse {
    #[serde(default)]
    total: usize,
    #[serde(default)]
    results: Vec<ObjectRecord>,
    paging: Option<Paging>,
}

fn item_failures(errors: &[ApiErrorBody], status: u16) -> Vec<RecordFailure> {
    errors
        .iter()
        .map(|e| {
            let status = match e.category.as_deref() {
                Some("OBJECT_NOT_FOUND") => 404,
                _ => status,
            };
            RecordFailure::from_body(e.record_ids(), status, e)
        })
        .collect()
}

/// Whether a whole-batch 4xx is about particular inputs (worth splitting the batch to find them).
fn names_inputs(status: u16, body: &ApiErrorBody) -> bool {
    status == 409
        || !body.errors.is_empty()
        || body.message.as_deref().is_some_and(|m| m.starts_with("Property values were not valid"))
}

impl HubSpotClient {
    /// Builds the HTTP client (rustls, timeouts) and a fresh limiter.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let limiter = Arc::new(RateLimiter::new(
            config.initial_burst_limit,
            config.initial_burst_window,
            config.reserved_share,
            config.portal_utc_offset,
        ));
        Self::with_limiter(config, limiter)
    }

    /// Builds a client that shares `limiter` (for several clients on one portal in one process).
    pub fn with_limiter(config: ClientConfig, limiter: Arc<RateLimiter>) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("sfhs-hubspot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config {
                message: "building the HTTP client".into(),
                source: Some(Box::new(e)),
            })?;
        let base = config.base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(Error::Config {
                message: format!("base URL {base:?} must start with http:// or https://"),
                source: None,
            });
        }
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
            | 1;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                version: config.api_version,
                token: config.token,
                retry: config.retry,
                limiter,
                search_limiter: SearchLimiter::new(config.search_per_second),
                schemas: Cache::default(),
                properties: Cache::default(),
                labels: Cache::default(),
                labels_filling: tokio::sync::Mutex::new(()),
                rng: Mutex::new(seed),
                requests: AtomicU64::new(0),
                retries: AtomicU64::new(0),
                rate_limited: AtomicU64::new(0),
            }),
        })
    }

    /// The records path for the configured API version, e.g. `/crm/objects/2026-09`.
    pub fn objects_path(&self) -> String {
        self.inner.version.objects()
    }

    pub fn limiter(&self) -> &Arc<RateLimiter> {
        &self.inner.limiter
    }

    pub fn stats(&self) -> ClientStats {
        ClientStats {
            requests: self.inner.requests.load(Ordering::Relaxed),
            retries: self.inner.retries.load(Ordering::Relaxed),
            rate_limited: self.inner.rate_limited.load(Ordering::Relaxed),
            limiter: Some(self.inner.limiter.stats()),
        }
    }

    /// Forgets cached schemas, properties and association labels.
    pub fn invalidate_caches(&self) {
        self.inner.schemas.clear();
        self.inner.properties.clear();
        self.inner.labels.clear();
    }

    fn jitter(&self, d: Duration) -> Duration {
        let mut s = self.inner.rng.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        let frac = (*s >> 11) as f64 / (1u64 << 53) as f64;
        // Equal jitter: half fixed, half random.
        d / 2 + d.mul_f64(frac / 2.0)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let p = &self.inner.retry;
        let exp = p.base_backoff.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        self.jitter(exp.min(p.max_backoff))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.inner.base, path)
    }

    /// Sends one logical call with rate limiting and retries. Returns 2xx replies; any other
    /// answer becomes an [`Error`].
    /// A GET of `path` with no query.
    async fn get(&self, path: &str) -> Result<Reply, Error> {
        self.call(Method::GET, path, &[], None, Kind::Normal).await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        kind: Kind,
    ) -> Result<Reply, Error> {
        let url = self.url(path);
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
        let policy = &self.inner.retry;
        let max_attempts = policy.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            if kind == Kind::Search {
                self.inner.search_limiter.acquire().await;
            }
            let permit = self.inner.limiter.acquire().await?;
            let mut req = self
                .inner
                .http
                .request(method.clone(), &url)
                .bearer_auth(self.inner.token.expose())
                .header(ACCEPT, "application/json");
            if !query.is_empty() {
                req = req.query(query);
            }
            if let Some(b) = &bytes {
                req = req.header(CONTENT_TYPE, "application/json").body(b.clone());
            }
            self.inner.requests.fetch_add(1, Ordering::Relaxed);
            let sent = async {
                let resp = req.send().await?;
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let body = resp.bytes().await?;
                Ok::<_, reqwest::Error>((status, headers, body))
            }
            .await;
            let (status, headers, body) = match sent {
                Ok(x) => x,
                Err(e) => {
                    self.inner.limiter.abandon(permit);
                    let timeout = e.is_timeout();
                    tracing::warn!(%url, attempt, timeout, error = %e, "HubSpot call failed in transport");
                    if attempt >= max_attempts {
                        return Err(Error::Transport {
                            attempts: attempt,
                            timeout,
                            source: Box::new(e),
                        });
                    }
                    self.inner.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(self.backoff(attempt)).await;
                    continue;
                }
            };
            self.inner.limiter.complete(permit, &rate_headers(&headers));
            if (200..300).contains(&status) {
                return Ok(Reply { status, body: body.to_vec() });
            }
            let err = ApiErrorBody::parse(&body);
            let ra = retry_after(&headers);
            let wait = match status {
                429 => {
                    if err.policy_name.as_deref() == Some("DAILY") {
                        let reset_at = self.inner.limiter.daily_exhausted();
                        tracing::error!(%reset_at, "HubSpot daily limit reached");
                        return Err(Error::DailyLimit {
                            reset_at,
                            correlation_id: err.correlation_id,
                        });
                    }
                    self.inner.rate_limited.fetch_add(1, Ordering::Relaxed);
                    let policy_name = err
                        .policy_name
                        .clone()
                        .or(err.category.clone())
                        .unwrap_or_else(|| "RATE_LIMIT".into());
                    if attempt >= max_attempts {
                        return Err(Error::RateLimited {
                            policy: policy_name,
                            attempts: attempt,
                            correlation_id: err.correlation_id,
                        });
                    }
                    let base = match kind {
                        Kind::Search => Duration::from_secs(1),
                        Kind::Normal => policy
                            .rate_limit_wait
                            .unwrap_or_else(|| self.inner.limiter.window() / 10),
                    };
                    let wait = self.jitter(ra.unwrap_or(base).max(Duration::from_millis(2)) * 2);
                    tracing::warn!(%url, attempt, policy = %policy_name, ?wait, "HubSpot rate limit; backing off");
                    if kind == Kind::Search {
                        self.inner.search_limiter.back_off();
                    }
                    if kind == Kind::Normal {
                        self.inner.limiter.back_off(wait);
                        Duration::ZERO
                    } else {
                        wait
                    }
                }
                423 => ra.unwrap_or(Duration::ZERO).max(policy.locked_wait),
                477 => ra.unwrap_or_else(|| self.backoff(attempt)),
                500..=599 => ra.unwrap_or_else(|| self.backoff(attempt)),
                401 | 403 => {
                    return Err(Error::Auth { status, body: Box::new(err) });
                }
                _ => {
                    return Err(Error::Rejected { status, body: Box::new(err) });
                }
            };
            if status != 429 && attempt >= max_attempts {
                return Err(Error::Unavailable { status, attempts: attempt, body: Box::new(err) });
            }
            if status != 429 {
                tracing::warn!(%url, attempt, status, ?wait, "HubSpot unavailable; retrying");
            }
            self.inner.retries.fetch_add(1, Ordering::Relaxed);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    }

    // ----- schemas and properties ----------------------------------------------------------

    fn cache_schema(&self, s: &ObjectSchema) {
        let c = &self.inner.schemas;
        c.insert(s.object_type_id.clone(), s.clone());
        if let Some(f) = &s.fully_qualified_name {
            c.insert(f.clone(), s.clone());
        }
    }

    /// Every custom object schema of the portal (cached).
    pub async fn schemas(&self) -> Result<Vec<ObjectSchema>, Error> {
        let reply = self.get(&self.inner.version.schemas()).await?;
        let r: Results<ObjectSchema> = decode(&reply, "schemas list")?;
        for s in &r.results {
            self.cache_schema(s);
        }
        Ok(r.results)
    }

    /// One schema by `2-<id>`, `p{portal}_{name}` or a built-in name (cached).
    pub async fn schema(&self, object_type: &str) -> Result<ObjectSchema, Error> {
        if let Some(s) = self.inner.schemas.get(object_type) {
            return Ok(s);
        }
        let path = format!("{}/{}", self.inner.version.schemas(), segment(object_type)?);
        let reply = self.get(&path).await?;
        let s: ObjectSchema = decode(&reply, "schema")?;
        self.cache_schema(&s);
        self.inner.schemas.insert(object_type.to_string(), s.clone());
        Ok(s)
    }

    /// Creates a custom object schema from HubSpot's JSON shape.
    pub async fn create_schema(&self, definition: &Value) -> Result<ObjectSchema, Error> {
        let reply = self
            .call(Method::POST, &self.inner.version.schemas(), &[], Some(definition), Kind::Normal)
            .await?;
        let s: ObjectSchema = decode(&reply, "created schema")?;
        self.cache_schema(&s);
        Ok(s)
    }

    /// The portal the token belongs to: its id, type, time zone, where its data is hosted.
    pub async fn account_details(&self) -> Result<AccountDetails, Error> {
        let reply = self.get(&self.inner.version.account_details()).await?;
        decode(&reply, "account details")
    }

    /// Defines an association between two object types (`POST .../schemas/{objectType}/associations`,
    /// `{fromObjectTypeId, toObjectTypeId, name}`): what lets records of a custom object be
    /// associated with those of another custom object. The cached schemas are forgotten.
    pub async fn create_schema_association(
        &self,
        from_object_type_id: &str,
        to_object_type_id: &str,
        name: &str,
    ) -> Result<SchemaAssociation, Error> {
        let path = format!(
            "{}/{}/associations",
            self.inner.version.schemas(),
            segment(from_object_type_id)?
        );
        let body = serde_json::json!({
            "fromObjectTypeId": from_object_type_id,
            "toObjectTypeId": to_object_type_id,
            "name": name,
        });
        let reply = self.call(Method::POST, &path, &[], Some(&body), Kind::Normal).await?;
        self.inner.schemas.clear();
        decode(&reply, "created association definition")
    }

    /// The properties of an object type (cached).
    pub async fn properties(&self, object_type: &str) -> Result<Vec<Property>, Error> {
        if let Some(p) = self.inner.properties.get(object_type) {
            return Ok(p);
        }
        let path = format!("{}/{}", self.inner.version.properties(), segment(object_type)?);
        let reply = self.get(&path).await?;
        let r: Results<Property> = decode(&reply, "properties")?;
        self.inner.properties.insert(object_type.to_string(), r.results.clone());
        Ok(r.results)
    }

    // ----- records -------------------------------------------------------------------------

    fn objects(&self, object_type: &str, rest: &str) -> Result<String, Error> {
        Ok(format!("{}/{}{rest}", self.inner.version.objects(), segment(object_type)?))
    }

    /// `POST path {"inputs": [...]}`: the shape of every batch endpoint.
    async fn post_inputs(&self, path: &str, inputs: Vec<Value>) -> Result<Reply, Error> {
        self.call(Method::POST, path, &[], Some(&json!({ "inputs": inputs })), Kind::Normal).await
    }

    /// Upserts by the unique `id_property`, in batches of 100, after removing duplicate ids
    /// (the last input of an id wins).
    ///
    /// HubSpot fails a whole upsert batch when one input is invalid. When the error is about
    /// inputs (bad values, unknown properties, unique conflicts), the batch is split in halves
    /// until the offending inputs stand alone, so every valid record is still written and each
    /// rejected one is reported as a [`RecordFailure`] naming the property and value.
    pub async fn batch_upsert(
        &self,
        object_type: &str,
        id_property: &str,
        inputs: Vec<UpsertInput>,
    ) -> Result<BatchOutcome<ObjectRecord>, Error> {
        let path = self.objects(object_type, "/batch/upsert")?;
        let inputs = dedup_keep_last(inputs, |i| i.id.clone());
        let mut out = BatchOutcome::default();
        let mut rest = inputs.as_slice();
        while !rest.is_empty() {
            let (chunk, tail) = rest.split_at(rest.len().min(BATCH_SIZE));
            rest = tail;
            self.upsert_chunk(object_type, &path, id_property, chunk.to_vec(), &mut out).await?;
        }
        Ok(out)
    }

    async fn upsert_chunk(
        &self,
        object_type: &str,
        path: &str,
        id_property: &str,
        chunk: Vec<UpsertInput>,
        out: &mut BatchOutcome<ObjectRecord>,
    ) -> Result<(), Error> {
        let mut stack = vec![chunk];
        while let Some(part) = stack.pop() {
            if part.is_empty() {
                continue;
            }
            let inputs: Vec<Value> = part
                .iter()
                .map(|i| json!({"idProperty": id_property, "id": i.id, "properties": i.properties}))
                .collect();
            let body = json!({ "inputs": inputs });
            match self.call(Method::POST, path, &[], Some(&body), Kind::Normal).await {
                Ok(reply) => match decode::<BatchResponse<ObjectRecord>>(&reply, "batch upsert") {
                    Ok(r) => {
                        out.successes.extend(r.results);
                        out.failures.extend(item_failures(&r.errors, reply.status));
                    }
                    Err(e) => {
                        tracing::error!(
                            status = reply.status,
                            object_type,
                            inputs = part.len(),
                            error = %e,
                            "HubSpot accepted an upsert batch with an answer this client cannot \
                             read; reading the records back to establish what was written"
                        );
                        let ids: Vec<String> = part.iter().map(|i| i.id.clone()).collect();
                        let read = self
                            .batch_read(object_type, &ids, Some(id_property), &[id_property])
                            .await?;
                        out.successes.extend(read.successes);
                        out.failures.extend(read.failures.into_iter().map(|f| {
                            RecordFailure::not_found_after_write(f.ids, reply.status, "upsert")
                        }));
                    }
                },
                Err(Error::Rejected { status, body }) if status == 400 || status == 409 => {
                    let ids: Vec<String> = part.iter().map(|i| i.id.clone()).collect();
                    if part.len() == 1 || !names_inputs(status, &body) {
                        out.failures.extend(
                            ids.into_iter()
                                .map(|id| RecordFailure::from_body(vec![id], status, &body)),
                        );
                        continue;
                    }
                    let named: HashSet<String> =
                        body.record_ids().into_iter().filter(|id| ids.contains(id)).collect();
                    if !named.is_empty() && named.len() < part.len() {
                        let (bad, good): (Vec<_>, Vec<_>) =
                            part.into_iter().partition(|i| named.contains(&i.id));
                        out.failures.extend(
                            bad.into_iter()
                                .map(|i| RecordFailure::from_body(vec![i.id], status, &body)),
                        );
                        stack.push(good);
                    } else {
                        let mut part = part;
                        let second = part.split_off(part.len() / 2);
                        stack.push(second);
                        stack.push(part);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Creates records with their associations, in batches of 100 (`batch/create`, the only
    /// write that takes associations inline: one call instead of an upsert and an association
    /// call). Each input's `trace` is its `objectWriteTraceId`; per-input refusals come back as
    /// failures naming the trace. A whole-batch refusal (a unique value that already exists,
    /// for one) is returned as the error: the caller decides how to write those records instead.
    pub async fn batch_create(
        &self,
        object_type: &str,
        inputs: Vec<CreateInput>,
    ) -> Result<BatchOutcome<ObjectRecord>, Error> {
        let path = self.objects(object_type, "/batch/create")?;
        let inputs = dedup_keep_last(inputs, |i| i.trace.clone());
        let mut out = BatchOutcome::default();
        for chunk in inputs.chunks(BATCH_SIZE) {
            let inputs: Vec<Value> = chunk
                .iter()
                .map(|i| {
                    let associations: Vec<Value> = i
                        .associations
                        .iter()
                        .map(|(to, ty)| json!({"to": {"id": to}, "types": [ty]}))
                        .collect();
                    json!({
                        "objectWriteTraceId": i.trace,
                        "properties": i.properties,
                        "associations": associations,
                    })
                })
                .collect();
            let reply = self.post_inputs(&path, inputs).await?;
            let r: BatchResponse<ObjectRecord> = decode(&reply, "batch create")?;
            out.successes.extend(r.results);
            out.failures.extend(item_failures(&r.errors, reply.status));
        }
        Ok(out)
    }

    /// Every live record of an object with the given properties, paging through
    /// `GET .../{type}?limit=100&after=...` (one call per 100 records; the budget applies).
    pub async fn list_all(
        &self,
        object_type: &str,
        properties: &[&str],
    ) -> Result<Vec<ObjectRecord>, Error> {
        #[derive(Deserialize)]
        struct Page {
            #[serde(default)]
            results: Vec<ObjectRecord>,
            paging: Option<Paging>,
        }
        let path = self.objects(object_type, "")?;
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut query =
                vec![("limit", BATCH_SIZE.to_string()), ("properties", properties.join(","))];
            if let Some(a) = &after {
                query.push(("after", a.clone()));
            }
            let reply = self.call(Method::GET, &path, &query, None, Kind::Normal).await?;
            let page: Page = decode(&reply, "list records")?;
            out.extend(page.results);
            match page.paging.and_then(|p| p.next) {
                Some(n) if Some(&n.after) != after.as_ref() => after = Some(n.after),
                _ => return Ok(out),
            }
        }
    }

    /// Reads records by HubSpot id (`id_property` `None`) or by a unique property, in batches
    /// of 100. Ids HubSpot does not find come back as failures with status 404.
    pub async fn batch_read(
        &self,
        object_type: &str,
        ids: &[String],
        id_property: Option<&str>,
        properties: &[&str],
    ) -> Result<BatchOutcome<ObjectRecord>, Error> {
        let path = self.objects(object_type, "/batch/read")?;
        let ids = dedup_keep_last(ids.to_vec(), Clone::clone);
        let mut out = BatchOutcome::default();
        for chunk in ids.chunks(BATCH_SIZE) {
            let inputs: Vec<Value> = chunk.iter().map(|id| json!({ "id": id })).collect();
            // `propertiesWithHistory` is required by HubSpot's BatchReadInput (its SDK refuses the
            // body without it).
            let mut body =
                json!({"inputs": inputs, "properties": properties, "propertiesWithHistory": []});
            if let (Some(p), Some(o)) = (id_property, body.as_object_mut()) {
                o.insert("idProperty".into(), json!(p));
            }
            let reply = self.call(Method::POST, &path, &[], Some(&body), Kind::Normal).await?;
            let r: BatchResponse<ObjectRecord> = decode(&reply, "batch read")?;
            out.successes.extend(r.results);
            out.failures.extend(item_failures(&r.errors, reply.status));
        }
        Ok(out)
    }

    /// Archives records by HubSpot id, in batches of 100. Archiving is idempotent.
    pub async fn batch_archive(&self, object_type: &str, ids: &[String]) -> Result<(), Error> {
        let path = self.objects(object_type, "/batch/archive")?;
        let ids = dedup_keep_last(ids.to_vec(), Clone::clone);
        for chunk in ids.chunks(BATCH_SIZE) {
            let inputs: Vec<Value> = chunk.iter().map(|id| json!({ "id": id })).collect();
            self.post_inputs(&path, inputs).await?;
        }
        Ok(())
    }

    /// Archives the records holding `values` of the unique `id_property` (reads their ids first).
    pub async fn batch_archive_by_property(
        &self,
        object_type: &str,
        id_property: &str,
        values: &[String],
    ) -> Result<ArchiveOutcome, Error> {
        let found = self.batch_read(object_type, values, Some(id_property), &[id_property]).await?;
        let ids: Vec<String> = found.successes.iter().map(|r| r.id.clone()).collect();
        self.batch_archive(object_type, &ids).await?;
        let present: HashSet<&str> =
            found.successes.iter().filter_map(|r| r.get(id_property)).collect();
        let not_found = values.iter().filter(|v| !present.contains(v.as_str())).cloned().collect();
        Ok(ArchiveOutcome { archived: ids, not_found })
    }

    /// Finds records whose `property` is one of `values` (IN filter, pages of 200, at most
    /// 10,000 results per 100 values). Uses search's own limiter. Search sees new writes only
    /// after HubSpot indexes them: keep it off the hot path.
    pub async fn search_by_property(
        &self,
        object_type: &str,
        property: &str,
        values: &[String],
        properties: &[&str],
    ) -> Result<Vec<ObjectRecord>, Error> {
        let path = self.objects(object_type, "/search")?;
        let values = dedup_keep_last(values.to_vec(), Clone::clone);
        let mut out = Vec::new();
        for chunk in values.chunks(BATCH_SIZE) {
            let mut after: Option<String> = None;
            loop {
                let mut body = json!({
                    "filterGroups": [{"filters": [{"propertyName": property, "operator": "IN", "values": chunk}]}],
                    "properties": properties,
                    "limit": SEARCH_PAGE,
                });
                if let (Some(a), Some(o)) = (&after, body.as_object_mut()) {
                    o.insert("after".into(), json!(a));
                }
                let reply = self.call(Method::POST, &path, &[], Some(&body), Kind::Search).await?;
                let r: SearchResponse = decode(&reply, "search")?;
                if r.total > SEARCH_CAP {
                    return Err(Error::InvalidInput(format!(
                        "search on {property} matched {} records, more than HubSpot's cap of {SEARCH_CAP}",
                        r.total
                    )));
                }
                out.extend(r.results);
                match r.paging.and_then(|p| p.next) {
                    Some(n) => after = Some(n.after),
                    None => break,
                }
            }
        }
        Ok(out)
    }

    // ----- associations --------------------------------------------------------------------

    fn assoc(&self, from: &str, to: &str, rest: &str) -> Result<String, Error> {
        Ok(format!(
            "{}/{}/{}{rest}",
            self.inner.version.associations(),
            segment(from)?,
            segment(to)?
        ))
    }

    /// The association types from `from` to `to` (portal-specific type ids; cached).
    pub async fn association_labels(
        &self,
        from: &str,
        to: &str,
    ) -> Result<Vec<AssociationLabel>, Error> {
        let key = (from.to_string(), to.to_string());
        let cached = || self.inner.labels.get(&key);
        if let Some(l) = cached() {
            return Ok(l);
        }
        let _filling = self.inner.labels_filling.lock().await;
        if let Some(l) = cached() {
            return Ok(l);
        }
        let reply = self.get(&self.assoc(from, to, "/labels")?).await?;
        let r: Results<AssociationLabel> = decode(&reply, "association labels")?;
        self.inner.labels.insert(key, r.results.clone());
        Ok(r.results)
    }

    async fn associate_batches(
        &self,
        write: AssociationWrite<'_>,
        pairs: &[AssociationPair],
    ) -> Result<BatchOutcome<AssociationPair>, Error> {
        let pairs = dedup_keep_last(pairs.to_vec(), Clone::clone);
        let path = self.assoc(write.from, write.to, write.endpoint())?;
        let mut out = BatchOutcome::default();
        for chunk in pairs.chunks(BATCH_SIZE) {
            let inputs: Vec<Value> = chunk
                .iter()
                .map(|p| {
                    let mut v = json!({"from": {"id": p.from_id}, "to": {"id": p.to_id}});
                    if let (AssociationKind::Typed(t), Some(o)) = (write.kind, v.as_object_mut()) {
                        o.insert("types".into(), json!(t));
                    }
                    v
                })
                .collect();
            let reply = self.post_inputs(&path, inputs).await?;
            match decode::<BatchResponse<WrittenAssociation>>(&reply, "association batch") {
                Ok(r) => {
                    out.successes.extend(r.results.iter().map(WrittenAssociation::pair));
                    out.failures.extend(item_failures(&r.errors, reply.status));
                }
                Err(e) => {
                    // HubSpot said yes; only its answer surprised us. The truth is in HubSpot:
                    // read the pairs back rather than record a write that happened as failed.
                    tracing::error!(
                        status = reply.status,
                        endpoint = write.endpoint(),
                        from = write.from,
                        to = write.to,
                        pairs = chunk.len(),
                        error = %e,
                        "HubSpot accepted an association batch with an answer this client cannot \
                         read; reading the associations back to establish what was written"
                    );
                    let settled = self.settle_associations(&write, chunk, reply.status).await?;
                    out.successes.extend(settled.successes);
                    out.failures.extend(settled.failures);
                }
            }
        }
        Ok(out)
    }

    /// Which of `pairs` HubSpot holds now, after a write whose answer could not be read.
    async fn settle_associations(
        &self,
        write: &AssociationWrite<'_>,
        pairs: &[AssociationPair],
        status: u16,
    ) -> Result<BatchOutcome<AssociationPair>, Error> {
        let mut from_ids: Vec<String> = pairs.iter().map(|p| p.from_id.clone()).collect();
        from_ids.sort();
        from_ids.dedup();
        let held = self.read_associations(write.from, write.to, &from_ids).await?;
        let mut out = BatchOutcome::default();
        for p in pairs {
            if held.get(&p.from_id).is_some_and(|tos| tos.contains(&p.to_id)) {
                out.successes.push(p.clone());
            } else {
                out.failures.push(RecordFailure::not_found_after_write(
                    vec![p.from_id.clone()],
                    status,
                    "association",
                ));
            }
        }
        Ok(out)
    }

    /// Associates pairs with the given types (from [`Self::association_labels`]), 100 a batch.
    pub async fn batch_associate(
        &self,
        from: &str,
        to: &str,
        pairs: &[AssociationPair],
        types: &[AssociationType],
    ) -> Result<BatchOutcome<AssociationPair>, Error> {
        if types.is_empty() {
            return Err(Error::InvalidInput(
                "batch_associate needs at least one association type".into(),
            ));
        }
        let write = AssociationWrite { from, to, kind: AssociationKind::Typed(types) };
        self.associate_batches(write, pairs).await
    }

    /// Associates pairs with the default (unlabelled) type.
    pub async fn batch_associate_default(
        &self,
        from: &str,
        to: &str,
        pairs: &[AssociationPair],
    ) -> Result<BatchOutcome<AssociationPair>, Error> {
        let write = AssociationWrite { from, to, kind: AssociationKind::Default };
        self.associate_batches(write, pairs).await
    }

    /// Removes every association between each pair, 100 inputs a batch.
    pub async fn batch_archive_associations(
        &self,
        from: &str,
        to: &str,
        pairs: &[AssociationPair],
    ) -> Result<(), Error> {
        let path = self.assoc(from, to, "/batch/archive")?;
        let mut grouped: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for p in pairs {
            let tos = grouped.entry(p.from_id.as_str()).or_default();
            if !tos.contains(&p.to_id.as_str()) {
                tos.push(p.to_id.as_str());
            }
        }
        let inputs: Vec<Value> = grouped
            .into_iter()
            .map(|(f, tos)| json!({"from": {"id": f}, "to": tos.iter().map(|t| json!({"id": t})).collect::<Vec<_>>()}))
            .collect();
        for chunk in inputs.chunks(BATCH_SIZE) {
            self.call(Method::POST, &path, &[], Some(&json!({ "inputs": chunk })), Kind::Normal)
                .await?;
        }
        Ok(())
    }

    /// The ids associated to each of `ids` (records without associations are absent).
    pub async fn read_associations(
        &self,
        from: &str,
        to: &str,
        ids: &[String],
    ) -> Result<BTreeMap<String, Vec<String>>, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct To {
            to_object_id: Value,
        }
        #[derive(Deserialize)]
        struct Row {
            from: IdRef,
            #[serde(default)]
            to: Vec<To>,
        }
        let path = self.assoc(from, to, "/batch/read")?;
        let mut out = BTreeMap::new();
        for chunk in ids.chunks(BATCH_SIZE) {
            let inputs: Vec<Value> = chunk.iter().map(|id| json!({ "id": id })).collect();
            let reply = self.post_inputs(&path, inputs).await?;
            let r: BatchResponse<Row> = decode(&reply, "association read")?;
            for row in r.results {
                let tos = row.to.iter().map(|t| id_text(&t.to_object_id)).collect();
                out.insert(id_text(&row.from.id), tos);
            }
        }
        Ok(out)
    }
}
