//! Where applied mappings live: a port with a DynamoDB adapter (in `sfhs-aws`) and an in-memory
//! one, versioned with optimistic concurrency, and a cache with a short TTL for the worker.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::model::{Mapping, State};

/// A mapping as applied, with its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMapping {
    pub mapping: Mapping,
    /// Increases by one on every write; the optimistic-concurrency token.
    pub version: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When the mapping was last enabled: changes older than this are not synced.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub enabled_at: Option<OffsetDateTime>,
    /// The fields the object's outbound message is known to send (from `sfhs salesforce apply`
    /// or read back from the org). A field absent from a notification clears its HubSpot
    /// property only when it is listed here; `None`: nothing is known, nothing absent is cleared
    /// (invariant 9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbound_fields: Option<Vec<String>>,
}

impl StoredMapping {
    pub fn key(&self) -> String {
        key(&self.mapping.salesforce_object)
    }

    /// Whether the outbound message is known to send `field` (case-insensitive).
    pub fn outbound_sends(&self, field: &str) -> bool {
        self.outbound_fields
            .as_ref()
            .is_some_and(|f| f.iter().any(|s| s.eq_ignore_ascii_case(field)))
    }

    /// Mapped fields, lookups and the version field that the outbound message is not known to
    /// send (all of them when nothing is known).
    pub fn fields_not_known_sent(&self) -> Vec<String> {
        let m = &self.mapping;
        m.fields
            .iter()
            .map(|f| f.salesforce.clone())
            .chain(m.associations.iter().map(|a| a.lookup.clone()))
            .chain([m.version_field.clone()])
            .filter(|f| !self.outbound_sends(f))
            .collect()
    }
}

/// The store key of a Salesforce object (API names are case-insensitive).
pub fn key(salesforce_object: &str) -> String {
    salesforce_object.to_ascii_lowercase()
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "mapping of {object} changed meanwhile (expected version {expected:?}, found {found:?}); read it again and retry"
    )]
    Conflict { object: String, expected: Option<u64>, found: Option<u64> },
    #[error("no mapping for {object}; apply one first (`sfhs mappings apply DIR`)")]
    NotFound { object: String },
    #[error("the stored mapping of {object} cannot be read: {message}")]
    Corrupt { object: String, message: String },
    #[error("the mapping store failed: {message}")]
    Unavailable {
        message: String,
        retryable: bool,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

store_error_methods!(StoreError);

/// Applied mappings.
#[async_trait]
pub trait MappingStore: Send + Sync + fmt::Debug {
    async fn list(&self) -> Result<Vec<StoredMapping>, StoreError>;
    async fn get(&self, salesforce_object: &str) -> Result<Option<StoredMapping>, StoreError>;
    /// Writes `next` if the stored version is `expected` (`None`: nothing stored yet).
    async fn put(&self, next: &StoredMapping, expected: Option<u64>) -> Result<(), StoreError>;
    /// Deletes the mapping if its version is `expected`.
    async fn delete(&self, salesforce_object: &str, expected: u64) -> Result<(), StoreError>;
}

/// The next stored form of `mapping` after `current`: version + 1, `enabled_at` set when the
/// state turns to enabled and cleared when paused; what is known of the outbound message is kept.
pub fn next_version(
    current: Option<&StoredMapping>,
    mapping: Mapping,
    now: OffsetDateTime,
) -> StoredMapping {
    let enabled_at = match (mapping.state, current) {
        (State::Paused, _) => None,
        (State::Enabled, Some(c)) if c.mapping.state == State::Enabled => {
            c.enabled_at.or(Some(now))
        }
        (State::Enabled, _) => Some(now),
    };
    StoredMapping {
        mapping,
        version: current.map_or(1, |c| c.version + 1),
        updated_at: now,
        enabled_at,
        outbound_fields: current.and_then(|c| c.outbound_fields.clone()),
    }
}

/// All mappings by key, as the worker sees them.
pub type MappingSet = Arc<BTreeMap<String, StoredMapping>>;

/// Reads the store at most once per `ttl`; concurrent readers share one load.
#[derive(Debug)]
pub struct CachedMappings {
    store: Arc<dyn MappingStore>,
    ttl: Duration,
    cached: RwLock<Option<(Instant, MappingSet)>>,
    load: tokio::sync::Mutex<()>,
}

impl CachedMappings {
    pub fn new(store: Arc<dyn MappingStore>, ttl: Duration) -> Self {
        Self { store, ttl, cached: RwLock::new(None), load: tokio::sync::Mutex::new(()) }
    }

    fn fresh(&self) -> Option<MappingSet> {
        let guard = self.cached.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.as_ref().filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, set)| set.clone())
    }

    /// The current mappings, from the cache while it is fresh.
    pub async fn get(&self) -> Result<MappingSet, StoreError> {
        if let Some(set) = self.fresh() {
            return Ok(set);
        }
        let _loading = self.load.lock().await;
        if let Some(set) = self.fresh() {
            return Ok(set);
        }
        let set: MappingSet =
            Arc::new(self.store.list().await?.into_iter().map(|m| (m.key(), m)).collect());
        *self.cached.write().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((Instant::now(), set.clone()));
        Ok(set)
    }
}

pub use crate::memory::MemoryMappingStore;
