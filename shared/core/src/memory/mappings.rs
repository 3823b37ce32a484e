//! The mapping store in memory.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::mapping::store::{MappingStore, StoreError, StoredMapping, key};

/// In-memory store for tests and `sfhs dev`.
#[derive(Debug, Default)]
pub struct MemoryMappingStore {
    items: Mutex<BTreeMap<String, StoredMapping>>,
}

impl MemoryMappingStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, StoredMapping>> {
        self.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl MappingStore for MemoryMappingStore {
    async fn list(&self) -> Result<Vec<StoredMapping>, StoreError> {
        Ok(self.lock().values().cloned().collect())
    }

    async fn get(&self, salesforce_object: &str) -> Result<Option<StoredMapping>, StoreError> {
        Ok(self.lock().get(&key(salesforce_object)).cloned())
    }

    async fn put(&self, next: &StoredMapping, expected: Option<u64>) -> Result<(), StoreError> {
        let mut items = self.lock();
        let found = items.get(&next.key()).map(|m| m.version);
        if found != expected {
            return Err(StoreError::Conflict {
                object: next.mapping.salesforce_object.clone(),
                expected,
                found,
            });
        }
        items.insert(next.key(), next.clone());
        Ok(())
    }

    async fn delete(&self, salesforce_object: &str, expected: u64) -> Result<(), StoreError> {
        let mut items = self.lock();
        let found = items.get(&key(salesforce_object)).map(|m| m.version);
        if found != Some(expected) {
            return Err(StoreError::Conflict {
                object: salesforce_object.to_owned(),
                expected: Some(expected),
                found,
            });
        }
        items.remove(&key(salesforce_object));
        Ok(())
    }
}
