//! Local mode's storage: one redb file holds the live and import queues, the records ledger and
//! the errors, imports and mappings stores, behind the same ports the Lambda functions use with
//! SQS and DynamoDB. Every write is a committed transaction, so a process that stops (or is
//! killed) loses nothing: messages taken but not acknowledged become visible again after their
//! visibility timeout, as on SQS.
//!
//! One process owns the file (redb locks it); inside it, conditional writes are atomic because
//! each runs in one write transaction.

mod queue;
mod stores;
pub mod world;

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use queue::{LocalDeliveries, LocalQueue, Received, work};
pub use world::LocalWorld;

/// Key -> JSON value tables.
pub(crate) type Table = TableDefinition<'static, &'static str, &'static str>;

pub(crate) const LEDGER: Table = TableDefinition::new("ledger");
pub(crate) const ERRORS: Table = TableDefinition::new("errors");
pub(crate) const IMPORTS: Table = TableDefinition::new("imports");
pub(crate) const SWEEPS: Table = TableDefinition::new("sweeps");
pub(crate) const MAPPINGS: Table = TableDefinition::new("mappings");
pub(crate) const QUEUES: Table = TableDefinition::new("queues");
pub(crate) const META: Table = TableDefinition::new("meta");
pub(crate) const PARENTS: Table = TableDefinition::new("parents");
/// Children waiting, by parent ledger key (a JSON set of child ledger keys).
pub(crate) const WAITERS: Table = TableDefinition::new("waiters");

/// Why the local store failed.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error(
        "cannot open the local store {path}: {source} (another `sfhs dev` may hold it; stop it or pass another --data-dir)"
    )]
    Open {
        path: String,
        #[source]
        source: Box<redb::DatabaseError>,
    },
    #[error("the local store failed ({operation}): {source}")]
    Storage {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the local store holds an unreadable {what} under {key:?}: {source}")]
    Corrupt {
        what: &'static str,
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

impl LocalError {
    fn storage(operation: &'static str, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Storage { operation, source: Box::new(e) }
    }
}

/// The store: cheap to clone, shared by every adapter of one process.
#[derive(Clone)]
pub struct LocalStore {
    db: Arc<Database>,
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore").finish_non_exhaustive()
    }
}

impl LocalStore {
    /// Opens (or creates) the store file at `path`.
    pub fn open(path: &Path) -> Result<Self, LocalError> {
        let db = Database::create(path).map_err(|e| LocalError::Open {
            path: path.display().to_string(),
            source: Box::new(e),
        })?;
        let store = Self { db: Arc::new(db) };
        store.write("create tables", |tx| {
            for t in [LEDGER, ERRORS, IMPORTS, SWEEPS, MAPPINGS, QUEUES, META, PARENTS, WAITERS] {
                tx.open_table(t).map_err(|e| LocalError::storage("open table", e))?;
            }
            Ok(())
        })?;
        Ok(store)
    }

    /// Runs `f` in one write transaction and commits it.
    pub(crate) fn write<T>(
        &self,
        operation: &'static str,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<T, LocalError>,
    ) -> Result<T, LocalError> {
        let tx = self.db.begin_write().map_err(|e| LocalError::storage(operation, e))?;
        let out = f(&tx)?;
        tx.commit().map_err(|e| LocalError::storage(operation, e))?;
        Ok(out)
    }

    /// Runs `f` on `table` in one write transaction and commits it.
    pub(crate) fn write_table<T>(
        &self,
        operation: &'static str,
        table: Table,
        f: impl FnOnce(&mut redb::Table<'_, &'static str, &'static str>) -> Result<T, LocalError>,
    ) -> Result<T, LocalError> {
        self.write(operation, |tx| {
            let mut t = tx.open_table(table).map_err(|e| LocalError::storage(operation, e))?;
            f(&mut t)
        })
    }

    /// Reads one value.
    pub(crate) fn get<T: DeserializeOwned>(
        &self,
        table: Table,
        what: &'static str,
        key: &str,
    ) -> Result<Option<T>, LocalError> {
        self.read(table, |t| {
            let raw = t.get(key).map_err(|e| LocalError::storage("read", e))?;
            raw.map(|v| decode(what, key, v.value())).transpose()
        })
    }

    /// Runs `f` on `table` in one read transaction.
    pub(crate) fn read<T>(
        &self,
        table: Table,
        f: impl FnOnce(&redb::ReadOnlyTable<&'static str, &'static str>) -> Result<T, LocalError>,
    ) -> Result<T, LocalError> {
        let tx = self.db.begin_read().map_err(|e| LocalError::storage("read", e))?;
        let t = tx.open_table(table).map_err(|e| LocalError::storage("read", e))?;
        f(&t)
    }

    /// Every value of a table, in key order, without the keys.
    pub(crate) fn values<T: DeserializeOwned>(
        &self,
        table: Table,
        what: &'static str,
    ) -> Result<Vec<T>, LocalError> {
        let all = self.all(table, what)?;
        Ok(all.into_iter().map(|(_, v)| v).collect())
    }

    /// Every value of a table, in key order.
    pub(crate) fn all<T: DeserializeOwned>(
        &self,
        table: Table,
        what: &'static str,
    ) -> Result<Vec<(String, T)>, LocalError> {
        self.read(table, |t| {
            let mut out = Vec::new();
            for row in t.iter().map_err(|e| LocalError::storage("list", e))? {
                let (k, v) = row.map_err(|e| LocalError::storage("list", e))?;
                let key = k.value().to_owned();
                let value = decode(what, &key, v.value())?;
                out.push((key, value));
            }
            Ok(out)
        })
    }
}

/// Reads a value inside a write transaction.
pub(crate) fn get_in<T: DeserializeOwned>(
    t: &redb::Table<'_, &'static str, &'static str>,
    what: &'static str,
    key: &str,
) -> Result<Option<T>, LocalError> {
    let raw = t.get(key).map_err(|e| LocalError::storage("read", e))?;
    raw.map(|v| decode(what, key, v.value())).transpose()
}

/// Writes a value inside a write transaction.
pub(crate) fn put_in<T: Serialize>(
    t: &mut redb::Table<'_, &'static str, &'static str>,
    key: &str,
    value: &T,
) -> Result<(), LocalError> {
    let json = serde_json::to_string(value).map_err(|e| LocalError::storage("encode", e))?;
    t.insert(key, json.as_str()).map_err(|e| LocalError::storage("write", e))?;
    Ok(())
}

fn decode<T: DeserializeOwned>(what: &'static str, key: &str, raw: &str) -> Result<T, LocalError> {
    serde_json::from_str(raw).map_err(|source| LocalError::Corrupt {
        what,
        key: key.to_owned(),
        source,
    })
}
