//! What every stage may use: the ports, the configuration and the caches that outlive a batch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::report::{BatchReport, EngineConfig};
use crate::import::ImportStore;
use crate::mapping::schema::HsObject;
use crate::mapping::store::CachedMappings;
use crate::sync::ports::{ErrorStore, HubSpotWriter, Ledger, Waker, WriteError, WriteErrorKind};

/// Most entries kept in the memo of parents found by property.
const PARENT_MEMO_MAX: usize = 200_000;
/// How long an object's records are upserted rather than created after a create call found
/// records HubSpot already had (records this ledger does not know: a lost commit, a migration).
const CREATE_BACKOFF: Duration = Duration::from_secs(600);

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The ports, the configuration and the process-wide caches. Built once per [`super::Engine`].
#[derive(Debug)]
pub(super) struct Context {
    pub(super) mappings: Arc<CachedMappings>,
    pub(super) ledger: Arc<dyn Ledger>,
    pub(super) hubspot: Arc<dyn HubSpotWriter>,
    pub(super) errors: Arc<dyn ErrorStore>,
    pub(super) imports: Option<Arc<dyn ImportStore>>,
    /// Wakes children when their parent commits; `None`: they wait for their re-check.
    pub(super) waker: Option<Arc<dyn Waker>>,
    pub(super) config: EngineConfig,
    pub(super) schemas: SchemaCache,
    pub(super) parents: ParentMemo,
    pub(super) create_backoff: CreateBackoff,
    pub(super) daily: DailyStop,
}

/// HubSpot object schemas, for `EngineConfig::schema_ttl`. One read fills a miss: batches in
/// flight at once that miss together wait for it instead of each reading the schema.
#[derive(Debug, Default)]
pub(super) struct SchemaCache {
    entries: Mutex<HashMap<String, (Instant, Arc<HsObject>)>>,
    filling: tokio::sync::Mutex<()>,
}

impl SchemaCache {
    fn cached(&self, object: &str, ttl: Duration) -> Option<Arc<HsObject>> {
        lock(&self.entries).get(object).filter(|(at, _)| at.elapsed() < ttl).map(|(_, o)| o.clone())
    }

    /// The schema of `object`, cached; `Ok(None)`: no such object.
    pub(super) async fn get(
        &self,
        hubspot: &dyn HubSpotWriter,
        object: &str,
        ttl: Duration,
    ) -> Result<Option<Arc<HsObject>>, WriteError> {
        if let Some(o) = self.cached(object, ttl) {
            return Ok(Some(o));
        }
        let _filling = self.filling.lock().await;
        if let Some(o) = self.cached(object, ttl) {
            return Ok(Some(o));
        }
        let found = hubspot.describe(object).await?;
        Ok(found.map(|o| {
            let o = Arc::new(o);
            lock(&self.entries).insert(object.to_owned(), (Instant::now(), o.clone()));
            o
        }))
    }
}

/// (HubSpot object, property, value): a parent found by a property.
pub(super) type ParentByProperty = (String, String, String);

/// Parents found by a property in this process: HubSpot id by (object, property, value).
#[derive(Debug, Default)]
pub(super) struct ParentMemo {
    found: Mutex<HashMap<ParentByProperty, String>>,
    /// Held while HubSpot is searched: batches in flight at once that miss the same parents
    /// search for them once (searches have their own limit, 5 a second).
    searching: tokio::sync::Mutex<()>,
}

impl ParentMemo {
    pub(super) fn contains(&self, key: &ParentByProperty) -> bool {
        lock(&self.found).contains_key(key)
    }

    pub(super) fn get(&self, key: &ParentByProperty) -> Option<String> {
        lock(&self.found).get(key).cloned()
    }

    /// The right to search HubSpot for parents not remembered (one search at a time).
    pub(super) async fn searching(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.searching.lock().await
    }

    /// Remembers `found`, emptying the memo first when it has grown too large.
    pub(super) fn remember(&self, found: impl IntoIterator<Item = (ParentByProperty, String)>) {
        let mut memo = lock(&self.found);
        if memo.len() > PARENT_MEMO_MAX {
            memo.clear();
        }
        memo.extend(found);
    }
}

/// HubSpot object -> until when its new records are upserted instead of created.
#[derive(Debug, Default)]
pub(super) struct CreateBackoff(Mutex<HashMap<String, Instant>>);

impl CreateBackoff {
    /// The objects whose new records are upserted now (expired entries are forgotten).
    pub(super) fn current(&self) -> Vec<String> {
        let now = Instant::now();
        let mut backoff = lock(&self.0);
        backoff.retain(|_, until| *until > now);
        backoff.keys().cloned().collect()
    }

    pub(super) fn start(&self, object: String) {
        lock(&self.0).insert(object, Instant::now() + CREATE_BACKOFF);
    }
}

/// Until when HubSpot's daily limit stops every write.
#[derive(Debug, Default)]
pub(super) struct DailyStop(Mutex<Option<OffsetDateTime>>);

impl DailyStop {
    /// Whether writes are stopped now (and says so in the report).
    pub(super) fn stopped(&self, report: &mut BatchReport) -> bool {
        let mut d = lock(&self.0);
        match *d {
            Some(until) if OffsetDateTime::now_utc() < until => {
                report.daily_limit = true;
                true
            }
            Some(_) => {
                *d = None;
                false
            }
            None => false,
        }
    }

    /// Stops writes until the reset when `e` is HubSpot's daily limit.
    pub(super) fn note(&self, e: &WriteError, report: &mut BatchReport) {
        if let WriteErrorKind::DailyLimit { reset_at } = e.kind {
            *lock(&self.0) = Some(reset_at);
            report.daily_limit = true;
            tracing::error!(%reset_at, "HubSpot daily API limit reached: writes stop until the reset; every record goes back to the queue");
        }
    }
}
