//! The import ports in memory: the imports/state store and the continuation.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Mutex;

use async_trait::async_trait;

use super::lock;
use crate::import::model::{ImportRecord, SweepState};
use crate::import::ports::{
    Continuation, ContinuationError, ImportProgress, ImportStore, ImportStoreError, sweep_key,
};

/// In-memory store for tests and `sfhs dev`.
#[derive(Debug, Default)]
pub struct MemoryImportStore {
    imports: Mutex<BTreeMap<String, ImportRecord>>,
    sweeps: Mutex<BTreeMap<String, SweepState>>,
}

impl MemoryImportStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl ImportStore for MemoryImportStore {
    async fn put(
        &self,
        next: &ImportRecord,
        expected: Option<u64>,
    ) -> Result<(), ImportStoreError> {
        let mut imports = lock(&self.imports);
        let current = imports.get(&next.id);
        if current.map(|c| c.revision) != expected {
            return Err(ImportStoreError::Conflict { key: next.id.clone(), expected });
        }
        let stored = next.over(current);
        imports.insert(next.id.clone(), stored);
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<ImportRecord>, ImportStoreError> {
        Ok(lock(&self.imports).get(id).cloned())
    }

    async fn list(&self) -> Result<Vec<ImportRecord>, ImportStoreError> {
        Ok(lock(&self.imports).values().rev().cloned().collect())
    }

    async fn record_progress(
        &self,
        id: &str,
        progress: ImportProgress,
    ) -> Result<(), ImportStoreError> {
        let mut imports = lock(&self.imports);
        let record =
            imports.get_mut(id).ok_or_else(|| ImportStoreError::NotFound { id: id.to_owned() })?;
        progress.add_to(record);
        Ok(())
    }

    async fn get_sweep(&self, object: &str) -> Result<Option<SweepState>, ImportStoreError> {
        Ok(lock(&self.sweeps).get(&sweep_key(object)).cloned())
    }

    async fn put_sweep(
        &self,
        next: &SweepState,
        expected: Option<u64>,
    ) -> Result<(), ImportStoreError> {
        match lock(&self.sweeps).entry(sweep_key(&next.object)) {
            Entry::Occupied(mut e) if Some(e.get().revision) == expected => {
                e.insert(next.clone());
            }
            Entry::Vacant(e) if expected.is_none() => {
                e.insert(next.clone());
            }
            e => {
                let key = e.key().clone();
                return Err(ImportStoreError::Conflict { key, expected });
            }
        }
        Ok(())
    }
}

/// Records hand-overs; the in-process caller (tests, `sfhs dev`, `sfhs import start --local`)
/// runs them.
#[derive(Debug, Default)]
pub struct MemoryContinuation {
    pending: Mutex<Vec<String>>,
}

impl MemoryContinuation {
    pub fn new() -> Self {
        Self::default()
    }

    /// The hand-overs asked for since the last call.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.pending))
    }
}

#[async_trait]
impl Continuation for MemoryContinuation {
    async fn continue_import(&self, import_id: &str) -> Result<(), ContinuationError> {
        lock(&self.pending).push(import_id.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::import::ports::ImportProgress;

    /// The store keeps every counter the worker added to across the runner's writes.
    #[tokio::test]
    async fn a_write_keeps_the_workers_counters() {
        let store = MemoryImportStore::new();
        let now = datetime!(2026-11-28 10:00 UTC);
        let mut r = ImportRecord::new("imp-1".into(), "Invoice__c".into(), None, 10, 50_000, now);
        store.put(&r, None).await.unwrap();
        let progress = ImportProgress { synced: 3, failed: 1, unchanged: 2 };
        store.record_progress(&r.id, progress).await.unwrap();
        r.revision = 1;
        store.put(&r, Some(0)).await.unwrap();
        let got = store.get(&r.id).await.unwrap().unwrap();
        assert_eq!((got.synced, got.failed, got.unchanged), (3, 1, 2));
    }
}
