#![recursion_limit = "256"]
//! An in-memory Salesforce org behind Salesforce's own HTTP API, for tests and `sfhs dev`.
//!
//! - OAuth: token endpoint (JWT bearer verified against a configured public key; client
//!   credentials, in the form or HTTP Basic; username-password; web server flow with an
//!   auto-approving `/services/oauth2/authorize`; refresh token), tokens that expire.
//! - `/limits`, sObject basic info, updated and deleted records by time window.
//! - describeGlobal, describe, SOQL subset with REST paging, Bulk API 2.0 query jobs with CSV
//!   result pages and locators, deleted records, REST create/read/update/delete.
//! - Query cursors that expire after 15 minutes without use (`INVALID_QUERY_LOCATOR`) and Bulk
//!   query results kept 7 days (then 404), both configurable ([`Knobs`]) and scaled down in tests.
//! - `Sforce-Limit-Info` on every API response and an allocation that runs out.
//! - Outbound messages on create/update, retried until acked, with fault knobs and counters.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sfhs_salesforce_sim::SimError> {
//! let sim = sfhs_salesforce_sim::SimBuilder::new().start().await?;
//! println!("{}", sim.base_url());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub mod cli;
mod dates;
pub mod ids;
mod in_setup;
mod metadata;
mod org;
pub mod outbound;
mod response;
pub mod schema;
mod server;
mod soql;

pub use in_setup::FLOW_OPERATORS;
pub use metadata::{DeployedMessage, MetadataKnobs};
pub use org::{Row, SfError};
pub use outbound::{OutboundConfig, OutboundCounters, OutboundKnobs, OutboundTiming};
pub use schema::SeedSize;

/// Default OAuth client id (with the secret below: the one definition of the simulated org's
/// credentials for `sfhs dev`, `sfhs demo` and every test).
pub const DEFAULT_CLIENT_ID: &str = "sim-client";
/// Default OAuth client secret.
pub const DEFAULT_CLIENT_SECRET: &str = "sim-secret";
/// Default username of the simulated API user (username-password flow).
pub const DEFAULT_USERNAME: &str = "sim-user@example.com";
/// Default password of the simulated API user (username-password flow).
pub const DEFAULT_PASSWORD: &str = "sim-password";
/// Default org id (15 characters; the 18-character form is used on the wire).
pub const DEFAULT_ORG_ID: &str = "00D5g000001SIMu";

/// Behaviour that tests can change while the simulator runs.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// The org's rolling API allocation (`Sforce-Limit-Info` max); past it: 403 REQUEST_LIMIT_EXCEEDED.
    pub api_allocation: u64,
    /// Access tokens expire this long after issue.
    pub token_ttl: Duration,
    /// A Bulk job reports `JobComplete` at this many status polls (first poll: `InProgress`).
    pub bulk_polls_until_complete: u32,
    /// Rows per Bulk result page when the client gives no `maxRecords`.
    pub bulk_default_max_records: usize,
    /// Largest REST query page (`batchSize` is clamped to 200..=this).
    pub max_query_batch: usize,
    /// `EXCEEDED_ID_LIMIT` above this many deleted ids in one window.
    pub deleted_id_limit: usize,
    /// Deleted ids are kept this long (`earliestDateAvailable`).
    pub deleted_retention: Duration,
    /// Deleted- and updated-record windows are truncated to this (Salesforce: one minute,
    /// seconds ignored).
    pub deleted_granularity: Duration,
    /// A REST query cursor (`nextRecordsUrl`) unused this long is dropped: following it answers
    /// 400 `INVALID_QUERY_LOCATOR` (Salesforce: 15 minutes of inactivity).
    pub query_cursor_idle_timeout: Duration,
    /// A finished Bulk API 2.0 query job and its results are kept this long after the job
    /// completed; then the job is gone (404 `NOT_FOUND`). Salesforce: 7 days.
    pub bulk_results_retention: Duration,
    /// An undelete moves `SystemModstamp` and `LastModifiedDate` to its time (else the record
    /// comes back with the stamps it had before its deletion). Unverified in Salesforce's
    /// documentation: the tests run both.
    pub undelete_moves_stamps: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            api_allocation: 100_000,
            token_ttl: Duration::from_secs(2 * 3600),
            bulk_polls_until_complete: 2,
            bulk_default_max_records: 50_000,
            max_query_batch: 2000,
            deleted_id_limit: 600_000,
            deleted_retention: Duration::from_secs(15 * 86_400),
            deleted_granularity: Duration::from_secs(60),
            query_cursor_idle_timeout: Duration::from_secs(15 * 60),
            bulk_results_retention: Duration::from_secs(7 * 86_400),
            undelete_moves_stamps: true,
        }
    }
}

/// Errors starting or driving the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The JWT public key is not a valid RSA PEM.
    #[error("invalid JWT public key (expected an RSA public key in PEM)")]
    Key(#[source] jsonwebtoken::errors::Error),
    /// The org id is not a 15- or 18-character id.
    #[error("invalid org id {0:?}")]
    OrgId(String),
    /// A Salesforce-shaped error from a library-API call.
    #[error("{}: {}", .0.code, .0.message)]
    Salesforce(SfError),
}

impl From<SfError> for SimError {
    fn from(e: SfError) -> Self {
        SimError::Salesforce(e)
    }
}

#[derive(Debug)]
pub(crate) struct Settings {
    pub client_id: String,
    pub client_secret: String,
    pub jwt_key: Option<jsonwebtoken::DecodingKey>,
    pub api_version: String,
    pub username: String,
    pub password: String,
}

#[derive(Debug, Default)]
pub(crate) struct AuthState {
    /// token -> (issue time, extra age from `SimHandle::age_tokens`); a token is valid while
    /// its age is below `Knobs::token_ttl`.
    pub tokens: std::collections::HashMap<String, (std::time::Instant, Duration)>,
    pub rng_state: u64,
    /// Tokens issued since start.
    pub issued: u64,
    /// Refresh tokens accepted by `grant_type=refresh_token` (issued by the web server flow, or
    /// configured with [`SimBuilder::refresh_token`]).
    pub refresh_tokens: std::collections::HashSet<String>,
    /// Unused authorization codes -> the `redirect_uri` they were issued for.
    pub codes: std::collections::HashMap<String, String>,
}

pub(crate) struct Shared {
    pub org: Mutex<org::Org>,
    pub knobs: Mutex<Knobs>,
    pub auth: Mutex<AuthState>,
    pub api_used: AtomicU64,
    /// Bulk API 2.0 query jobs created since start (`DailyBulkV2QueryJobs` of `/limits`).
    pub bulk_jobs_created: AtomicU64,
    pub base_url: String,
    pub settings: Settings,
    pub outbound: Mutex<outbound::OutboundState>,
    pub outbound_wake: Notify,
    /// Deployed outbound messages and flows (`metadata.rs`).
    pub metadata: Mutex<metadata::MetadataState>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("base_url", &self.base_url).finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the org half-written in a way that matters
    // to a simulator; keep serving.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub fn org_lock(&self) -> MutexGuard<'_, org::Org> {
        lock(&self.org)
    }
    pub fn knobs(&self) -> Knobs {
        lock(&self.knobs).clone()
    }
    pub fn outbound_lock(&self) -> MutexGuard<'_, outbound::OutboundState> {
        lock(&self.outbound)
    }
    pub fn auth_lock(&self) -> MutexGuard<'_, AuthState> {
        lock(&self.auth)
    }

    /// Queues outbound notifications for changed records and wakes the delivery loop.
    pub fn changed(&self, object: &str, id: &str) {
        if !metadata::triggers(self, object, id) {
            return;
        }
        if self.outbound_lock().record_changed(object, id) {
            self.outbound_wake.notify_one();
        }
    }

    pub fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// Builds and starts a simulator.
#[derive(Debug, Clone)]
pub struct SimBuilder {
    addr: SocketAddr,
    org_id: String,
    client_id: String,
    client_secret: String,
    jwt_public_key: Option<Vec<u8>>,
    seed: u64,
    seed_size: SeedSize,
    knobs: Knobs,
    timing: OutboundTiming,
    outbound: Vec<OutboundConfig>,
    outbound_url_all: Option<String>,
    api_version: String,
    username: String,
    password: String,
    refresh_tokens: Vec<String>,
}

impl Default for SimBuilder {
    fn default() -> Self {
        SimBuilder::new()
    }
}

impl SimBuilder {
    /// 127.0.0.1 port 0, default org id and credentials, default seed size, real timing.
    pub fn new() -> SimBuilder {
        SimBuilder {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            org_id: DEFAULT_ORG_ID.to_owned(),
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            jwt_public_key: None,
            seed: 42,
            seed_size: SeedSize::default(),
            knobs: Knobs::default(),
            timing: OutboundTiming::default(),
            outbound: Vec::new(),
            outbound_url_all: None,
            api_version: "62.0".to_owned(),
            username: DEFAULT_USERNAME.to_owned(),
            password: DEFAULT_PASSWORD.to_owned(),
            refresh_tokens: Vec::new(),
        }
    }

    /// Listen address (port 0 picks a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Org id (15 or 18 characters).
    pub fn org_id(mut self, org_id: &str) -> Self {
        self.org_id = org_id.to_owned();
        self
    }

    /// Client id and secret for the client-credentials flow (the id is also the JWT `iss`).
    pub fn client(mut self, id: &str, secret: &str) -> Self {
        self.client_id = id.to_owned();
        self.client_secret = secret.to_owned();
        self
    }

    /// The API user's username and password for the username-password flow.
    pub fn user(mut self, username: &str, password: &str) -> Self {
        self.username = username.to_owned();
        self.password = password.to_owned();
        self
    }

    /// A refresh token that `grant_type=refresh_token` accepts (as if the web server flow had
    /// issued it earlier). Refresh tokens the simulator issues are accepted too.
    pub fn refresh_token(mut self, token: &str) -> Self {
        self.refresh_tokens.push(token.to_owned());
        self
    }

    /// RSA public key (PEM) that JWT bearer assertions must verify against.
    pub fn jwt_public_key_pem(mut self, pem: &[u8]) -> Self {
        self.jwt_public_key = Some(pem.to_vec());
        self
    }

    /// Seed of the generated data.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Number of seeded records per object.
    pub fn seed_size(mut self, size: SeedSize) -> Self {
        self.seed_size = size;
        self
    }

    /// Initial knobs.
    pub fn knobs(mut self, knobs: Knobs) -> Self {
        self.knobs = knobs;
        self
    }

    /// How long an unused REST query cursor lives (default 15 minutes, as Salesforce).
    pub fn query_cursor_idle_timeout(mut self, timeout: Duration) -> Self {
        self.knobs.query_cursor_idle_timeout = timeout;
        self
    }

    /// How long a finished Bulk query job's results are kept (default 7 days, as Salesforce).
    pub fn bulk_results_retention(mut self, retention: Duration) -> Self {
        self.knobs.bulk_results_retention = retention;
        self
    }

    /// Outbound delivery timing.
    pub fn outbound_timing(mut self, timing: OutboundTiming) -> Self {
        self.timing = timing;
        self
    }

    /// An outbound message definition.
    pub fn outbound(mut self, config: OutboundConfig) -> Self {
        self.outbound.push(config);
        self
    }

    /// An outbound message with every field, for every seeded object, to `url`.
    pub fn outbound_url_for_all(mut self, url: &str) -> Self {
        self.outbound_url_all = Some(url.to_owned());
        self
    }

    /// API version used in outbound-message URLs.
    pub fn api_version(mut self, version: &str) -> Self {
        self.api_version = version.to_owned();
        self
    }

    /// The outbound messages configured before start (each object named as the org names it).
    fn outbound_state(&self, org: &org::Org) -> Result<outbound::OutboundState, SimError> {
        let mut state = outbound::OutboundState::new(self.timing, self.seed);
        let mut configs = self.outbound.clone();
        if let Some(url) = &self.outbound_url_all {
            for o in org.objects() {
                configs.push(OutboundConfig::all_fields(&o.name, url));
            }
        }
        for mut c in configs {
            let Some(def) = org.object(&c.object) else {
                return Err(
                    SfError::new(404, "NOT_FOUND", format!("no object {}", c.object)).into()
                );
            };
            c.object = def.name.clone();
            state.configure(c);
        }
        Ok(state)
    }

    /// Binds, seeds and starts serving (and delivering outbound messages).
    pub async fn start(self) -> Result<Sim, SimError> {
        let org_id = match self.org_id.len() {
            15 | 18 if ids::is_valid(&self.org_id) => ids::normalize(&self.org_id),
            _ => return Err(SimError::OrgId(self.org_id)),
        };
        let jwt_key = self
            .jwt_public_key
            .as_deref()
            .map(jsonwebtoken::DecodingKey::from_rsa_pem)
            .transpose()
            .map_err(SimError::Key)?;
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .map_err(|source| SimError::Bind { addr: self.addr, source })?;
        let local =
            listener.local_addr().map_err(|source| SimError::Bind { addr: self.addr, source })?;
        let base_url = format!("http://{local}");
        let org = org::Org::seeded(&org_id, self.seed_size, self.seed, Shared::now());
        let outbound_state = self.outbound_state(&org)?;
        let shared = Arc::new(Shared {
            org: Mutex::new(org),
            knobs: Mutex::new(self.knobs),
            auth: Mutex::new(AuthState {
                rng_state: self.seed ^ (OffsetDateTime::now_utc().unix_timestamp_nanos() as u64),
                refresh_tokens: self.refresh_tokens.into_iter().collect(),
                ..AuthState::default()
            }),
            api_used: AtomicU64::new(0),
            bulk_jobs_created: AtomicU64::new(0),
            base_url: base_url.clone(),
            settings: Settings {
                client_id: self.client_id,
                client_secret: self.client_secret,
                jwt_key,
                api_version: self.api_version,
                username: self.username,
                password: self.password,
            },
            outbound: Mutex::new(outbound_state),
            outbound_wake: Notify::new(),
            metadata: Mutex::new(metadata::MetadataState::default()),
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let app = server::router(shared.clone());
        let server = tokio::spawn(async move {
            let result = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "salesforce simulator server stopped");
            }
        });
        let delivery = tokio::spawn(outbound::run(shared.clone()));
        tracing::info!(%base_url, "salesforce simulator listening");
        Ok(Sim {
            handle: SimHandle { shared },
            base_url,
            stop: Some(stop_tx),
            server: Some(server),
            delivery: Some(delivery),
        })
    }
}

/// A running simulator. Dropping it stops it.
#[derive(Debug)]
pub struct Sim {
    handle: SimHandle,
    base_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    delivery: Option<JoinHandle<()>>,
}

impl Sim {
    /// `http://127.0.0.1:PORT`: login URL and instance URL alike.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A handle to drive the org through the library API.
    pub fn handle(&self) -> SimHandle {
        self.handle.clone()
    }

    /// Stops serving and delivering.
    pub async fn shutdown(mut self) {
        if let Some(d) = self.delivery.take() {
            d.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(d) = self.delivery.take() {
            d.abort();
        }
        if let Some(s) = self.server.take() {
            s.abort();
        }
    }
}

impl std::ops::Deref for Sim {
    type Target = SimHandle;
    fn deref(&self) -> &SimHandle {
        &self.handle
    }
}

/// Drives a running simulator: records, outbound messages, knobs, counters.
#[derive(Debug, Clone)]
pub struct SimHandle {
    shared: Arc<Shared>,
}

impl SimHandle {
    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// The 18-character org id.
    pub fn org_id(&self) -> String {
        self.shared.org_lock().org_id.clone()
    }

    /// Creates a record as `POST /sobjects/{object}` would (outbound messages included).
    pub fn create(&self, object: &str, fields: Value) -> Result<String, SfError> {
        let map = json_object(fields)?;
        let (name, id) = {
            let mut org = self.shared.org_lock();
            let id = org.create(object, &map, Shared::now())?;
            let name = org.object(object).map(|o| o.name.clone()).unwrap_or_default();
            (name, id)
        };
        self.shared.changed(&name, &id);
        Ok(id)
    }

    /// Updates a record as `PATCH /sobjects/{object}/{id}` would.
    pub fn update(&self, object: &str, id: &str, fields: Value) -> Result<(), SfError> {
        let map = json_object(fields)?;
        let name = {
            let mut org = self.shared.org_lock();
            org.update(object, id, &map, Shared::now())?;
            org.object(object).map(|o| o.name.clone()).unwrap_or_default()
        };
        self.shared.changed(&name, &ids::normalize(id));
        Ok(())
    }

    /// Deletes a record now.
    pub fn delete(&self, object: &str, id: &str) -> Result<(), SfError> {
        self.delete_at(object, id, Shared::now())
    }

    /// Deletes a record, recording `at` as its deletion time (for deleted-records tests).
    pub fn delete_at(&self, object: &str, id: &str, at: OffsetDateTime) -> Result<(), SfError> {
        self.shared.org_lock().delete(object, id, at)
    }

    /// Restores a deleted record from the recycle bin, as `undelete()` does. No outbound
    /// message is sent: record-triggered flows cannot run on undelete.
    pub fn undelete(&self, object: &str, id: &str) -> Result<(), SfError> {
        let moves = self.knobs().undelete_moves_stamps;
        self.shared.org_lock().undelete(object, id, Shared::now(), moves)
    }

    /// A change Salesforce makes itself: `SystemModstamp` moves, nothing is sent.
    pub fn system_change(&self, object: &str, id: &str) -> Result<(), SfError> {
        self.shared.org_lock().system_change(object, id, Shared::now())
    }

    /// A live record (all fields).
    pub fn get(&self, object: &str, id: &str) -> Option<Row> {
        self.shared.org_lock().get(object, id).cloned()
    }

    /// Ids of the live records of an object, oldest first.
    pub fn ids(&self, object: &str) -> Vec<String> {
        self.shared.org_lock().ids(object)
    }

    /// Number of live records of an object.
    pub fn count(&self, object: &str) -> usize {
        self.shared.org_lock().record_count(object)
    }

    /// Adds or replaces an object's outbound message.
    pub fn configure_outbound(&self, mut config: OutboundConfig) -> Result<(), SfError> {
        let name = self
            .shared
            .org_lock()
            .object(&config.object)
            .map(|o| o.name.clone())
            .ok_or_else(SfError::not_found)?;
        config.object = name;
        self.shared.outbound_lock().configure(config);
        Ok(())
    }

    /// Removes an object's outbound message (undelivered messages for it are dropped).
    pub fn remove_outbound(&self, object: &str) {
        self.shared.outbound_lock().remove(object);
    }

    /// Replaces the outbound fault knobs.
    pub fn set_outbound_knobs(&self, knobs: OutboundKnobs) {
        self.shared.outbound_lock().knobs = knobs;
        self.shared.outbound_wake.notify_one();
    }

    /// Replaces the outbound timing.
    pub fn set_outbound_timing(&self, timing: OutboundTiming) {
        self.shared.outbound_lock().timing = timing;
        self.shared.outbound_wake.notify_one();
    }

    /// Delivery counters.
    pub fn outbound_counters(&self) -> OutboundCounters {
        self.shared.outbound_lock().counters
    }

    /// Notifications not yet acked or dropped.
    pub fn outbound_backlog(&self) -> usize {
        self.shared.outbound_lock().backlog()
    }

    /// Waits until the outbound backlog is empty (true) or `timeout` passes (false).
    pub async fn wait_outbound_idle(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.outbound_backlog() == 0 {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Current knobs.
    pub fn knobs(&self) -> Knobs {
        self.shared.knobs()
    }

    /// Changes knobs.
    pub fn update_knobs(&self, f: impl FnOnce(&mut Knobs)) {
        f(&mut lock(&self.shared.knobs));
    }

    /// API requests counted so far (the `used` of `Sforce-Limit-Info`).
    pub fn api_used(&self) -> u64 {
        self.shared.api_used.load(Ordering::SeqCst)
    }

    /// Sets the API usage counter (e.g. to just below the allocation).
    pub fn set_api_used(&self, used: u64) {
        self.shared.api_used.store(used, Ordering::SeqCst);
    }

    /// Invalidates every issued access token (clients then get 401 INVALID_SESSION_ID).
    pub fn expire_tokens(&self) {
        self.shared.auth_lock().tokens.clear();
    }

    /// Makes every issued token `by` older, as if that much time had passed (tokens past
    /// `Knobs::token_ttl` then get 401 INVALID_SESSION_ID).
    pub fn age_tokens(&self, by: Duration) {
        for (_, extra) in self.shared.auth_lock().tokens.values_mut() {
            *extra += by;
        }
    }

    /// Makes every open REST query cursor `by` more idle, as if that much time had passed
    /// (cursors idle past `Knobs::query_cursor_idle_timeout` then answer
    /// `INVALID_QUERY_LOCATOR`).
    pub fn age_query_cursors(&self, by: Duration) {
        for cursor in self.shared.org_lock().cursors.values_mut() {
            cursor.idle_extra += by;
        }
    }

    /// Makes every Bulk query job `by` older, as if that much time had passed (finished jobs past
    /// `Knobs::bulk_results_retention` are then gone: 404 `NOT_FOUND`).
    pub fn age_bulk_jobs(&self, by: Duration) {
        for job in self.shared.org_lock().jobs.values_mut() {
            job.age_extra += by;
        }
    }

    /// Open REST query cursors (expired ones included until they are next looked at).
    pub fn open_query_cursors(&self) -> usize {
        self.shared.org_lock().cursors.len()
    }

    /// Number of access tokens issued since start.
    pub fn tokens_issued(&self) -> u64 {
        self.shared.auth_lock().issued
    }
}

/// A record's fields as the REST API takes them: a JSON object, else `JSON_PARSER_ERROR`.
fn json_object(fields: Value) -> Result<serde_json::Map<String, Value>, SfError> {
    match fields {
        Value::Object(m) => Ok(m),
        _ => Err(SfError::new(400, "JSON_PARSER_ERROR", "expected a JSON object")),
    }
}
