//! A stateful, in-memory simulator of the HubSpot CRM APIs this project uses: custom object
//! schemas, properties, records (single and batch), search, associations, the rolling and daily
//! rate limits, authentication errors and injectable faults.
//!
//! Start it in-process with [`HubSpotSim::builder`], or from the command line with [`cli::start`] (`sfhs sim hubspot`).
//! See the crate's README for the endpoints and the `/_sim/` control API.

mod config;
mod crm;
mod error;
mod gate;
mod model;
mod routes;
mod search;

pub mod cli;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{ArchivedUniqueValues, PartialStatus, SimConfig};
pub use gate::{Counters, DATE_VERSIONS, Fault, FaultKind};

use crate::crm::Crm;
use crate::gate::{Gate, Limits};

pub(crate) struct SimState {
    pub config: SimConfig,
    pub crm: Crm,
    pub limits: Limits,
    pub gate: Gate,
    pub counters: Counters,
}

impl SimState {
    fn new(config: SimConfig) -> Self {
        Self {
            crm: Crm::new(config.portal_id),
            limits: Limits::default(),
            gate: Gate::new(config.seed),
            counters: Counters::default(),
            config,
        }
    }
}

/// Most requests [`Sim::requests`] keeps; older ones are dropped first.
pub const REQUEST_LOG_CAP: usize = 50_000;

/// The private-app token the simulator accepts unless configured otherwise: the one definition
/// of it for `sfhs dev`, `sfhs demo` and every test.
pub const DEFAULT_TOKEN: &str = "pat-na1-sim";

/// One request an API path received (never a `/_sim/` one), as the client sent it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The raw query string, without `?`; empty when there is none.
    pub query: String,
    /// The JSON body; `Null` when the body is empty or not JSON.
    pub body: Value,
}

/// Shared handle to the simulator's state; cheap to clone.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Mutex<SimState>>,
    /// Kept apart from the state: [`Sim::reset`] keeps the log, and recording never waits on
    /// a handler.
    requests: Arc<Mutex<VecDeque<RecordedRequest>>>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim").finish_non_exhaustive()
    }
}

impl Sim {
    pub fn new(config: SimConfig) -> Self {
        Self {
            inner: Arc::new(Mutex::new(SimState::new(config))),
            requests: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    fn request_log(&self) -> MutexGuard<'_, VecDeque<RecordedRequest>> {
        self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        let mut log = self.request_log();
        while log.len() >= REQUEST_LOG_CAP {
            log.pop_front();
        }
        log.push_back(request);
    }

    /// The requests the API paths received, oldest first (at most [`REQUEST_LOG_CAP`]).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.request_log().iter().cloned().collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.request_log().clear();
    }

    /// Runs `f` on the CRM with the simulator's configuration (one lock for both).
    pub(crate) fn with_crm<T>(&self, f: impl FnOnce(&mut Crm, &SimConfig) -> T) -> T {
        let mut st = self.lock();
        let st = &mut *st;
        f(&mut st.crm, &st.config)
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SimState> {
        // A panic while holding the lock leaves consistent-enough test state; keep serving.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The axum router serving HubSpot's paths and `/_sim/`.
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    pub fn counters(&self) -> Counters {
        self.lock().counters.clone()
    }

    pub fn reset_counters(&self) {
        self.lock().counters = Counters::default();
    }

    pub fn inject(&self, fault: Fault) {
        self.lock().gate.faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.lock().gate.faults.clear();
    }

    /// Forgets every call counted against the rolling windows, the daily budget and search.
    pub fn reset_limits(&self) {
        self.lock().limits = Limits::default();
    }

    /// Uses up the daily budget (as if `daily_limit` calls had been made today).
    pub fn exhaust_daily(&self) {
        let mut st = self.lock();
        st.limits.day = Some(time::OffsetDateTime::now_utc().date());
        st.limits.daily_used = st.config.daily_limit;
    }

    pub fn config(&self) -> SimConfig {
        self.lock().config.clone()
    }

    pub fn update_config(&self, f: impl FnOnce(&mut SimConfig)) {
        f(&mut self.lock().config);
    }

    /// Drops all data, counters, limits and faults; keeps the configuration.
    pub fn reset(&self) {
        let mut st = self.lock();
        let cfg = st.config.clone();
        *st = SimState::new(cfg);
    }

    /// A summary of the portal: object types, record counts, associations.
    pub fn dump(&self) -> Value {
        self.lock().crm.dump()
    }

    /// Restores an archived record, as HubSpot's UI does from the recycle bin (there is no API
    /// for it): live again with its properties and unique values, without its associations.
    /// Refused when the record is not archived, or when a live record holds one of its unique
    /// values.
    pub fn restore(&self, object_type: &str, id: u64) -> Result<(), String> {
        self.lock().crm.restore(object_type, id)
    }

    /// Every record of a type, archived ones included, with all their properties.
    pub fn records(&self, object_type: &str) -> Vec<Value> {
        self.lock().crm.all_records(object_type).unwrap_or_default()
    }
}

/// `fn field(mut self, value) -> Self` for each named [`SimConfig`] field (documented there).
macro_rules! config_setters {
    ($($field:ident: $ty:ty),* $(,)?) => {
        $(
            #[doc = concat!("Sets [`SimConfig::", stringify!($field), "`].")]
            pub fn $field(mut self, value: $ty) -> Self {
                self.config.$field = value;
                self
            }
        )*
    };
}

/// Builds an in-process simulator bound to 127.0.0.1.
#[derive(Debug, Default)]
pub struct HubSpotSim {
    config: SimConfig,
    addr: Option<SocketAddr>,
}

impl HubSpotSim {
    pub fn builder() -> Self {
        Self::default()
    }

    pub fn config(mut self, config: SimConfig) -> Self {
        self.config = config;
        self
    }

    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = Some(addr);
        self
    }

    pub fn tokens<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tokens: I) -> Self {
        self.config.tokens = tokens.into_iter().map(Into::into).collect();
        self
    }

    pub fn scopeless_token(mut self, token: impl Into<String>) -> Self {
        self.config.scopeless_tokens.push(token.into());
        self
    }

    config_setters! {
        portal_id: u64,
        burst_limit: u32,
        burst_window: Duration,
        daily_limit: u64,
        search_per_second: u32,
        search_indexing_delay: Duration,
        partial_status: PartialStatus,
    }

    /// Binds (127.0.0.1, port 0 unless [`Self::addr`] was given) and serves in a background task.
    pub async fn start(self) -> std::io::Result<RunningSim> {
        let addr = self.addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let sim = Sim::new(self.config);
        let app = sim.router();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "hubspot simulator stopped");
            }
        });
        Ok(RunningSim { sim, addr: local, stop: Some(tx), task: Some(task) })
    }
}

/// A simulator serving in the background; stops when dropped or on [`RunningSim::shutdown`].
#[derive(Debug)]
pub struct RunningSim {
    sim: Sim,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningSim {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The state handle: counters, faults, configuration, data.
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl std::ops::Deref for RunningSim {
    type Target = Sim;
    fn deref(&self) -> &Sim {
        &self.sim
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_log_keeps_the_latest_requests_up_to_its_cap() {
        let sim = Sim::new(SimConfig::default());
        for i in 0..REQUEST_LOG_CAP + 3 {
            sim.record(RecordedRequest {
                method: "GET".into(),
                path: format!("/r/{i}"),
                query: String::new(),
                body: Value::Null,
            });
        }
        let log = sim.requests();
        assert_eq!(log.len(), REQUEST_LOG_CAP);
        assert_eq!(log.first().map(|r| r.path.as_str()), Some("/r/3"));
        let last = format!("/r/{}", REQUEST_LOG_CAP + 2);
        assert_eq!(log.last().map(|r| r.path.as_str()), Some(last.as_str()));
        sim.clear_requests();
        assert!(sim.requests().is_empty());
    }
}
