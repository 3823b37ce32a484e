//! The in-memory world (`sfhs demo`, the load harnesses, tests that need no moto): every stored
//! port in memory, built in one place. The caller brings HubSpot and Salesforce and gets the
//! ports [`crate::app`] assembles into the use cases the Lambdas run.

use std::sync::Arc;

use crate::app::{ImportPorts, SyncPorts};
use crate::import::SalesforceReader;
use crate::sync::HubSpotWriter;

use super::{
    MemoryContinuation, MemoryErrorStore, MemoryImportStore, MemoryLedger, MemoryMappingStore,
    MemoryQueue, MemoryWaker,
};

/// One process's stored ports in memory, each kept as its concrete type so that a test or the
/// demo can look inside (the queue's length, the ledger's entries, the errors recorded).
#[derive(Debug, Default, Clone)]
pub struct MemoryWorld {
    pub mappings: Arc<MemoryMappingStore>,
    pub ledger: Arc<MemoryLedger>,
    pub errors: Arc<MemoryErrorStore>,
    pub imports: Arc<MemoryImportStore>,
    /// Where outbound messages' records and the sweep's deletes go.
    pub live: Arc<MemoryQueue>,
    /// Where imports put the records they read.
    pub import: Arc<MemoryQueue>,
    /// The hand-overs of imports near their deadline (taken by whoever resumes them).
    pub continuation: Arc<MemoryContinuation>,
    /// The children woken by their parents' commits.
    pub waker: Arc<MemoryWaker>,
}

impl MemoryWorld {
    pub fn new() -> Self {
        Self::default()
    }

    /// What the sync engine reads and writes through: everything here, HubSpot given.
    pub fn sync_ports(&self, hubspot: Arc<dyn HubSpotWriter>) -> SyncPorts {
        SyncPorts {
            mappings: self.mappings.clone(),
            ledger: self.ledger.clone(),
            hubspot,
            errors: self.errors.clone(),
            imports: Some(self.imports.clone()),
            waker: Some(self.waker.clone()),
        }
    }

    /// What imports and the sweep read and write through, Salesforce given.
    pub fn import_ports(&self, reader: Arc<dyn SalesforceReader>) -> ImportPorts {
        ImportPorts {
            store: self.imports.clone(),
            mappings: self.mappings.clone(),
            reader,
            import_queue: self.import.clone(),
            live_queue: self.live.clone(),
            continuation: self.continuation.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::store::{MappingStore as _, next_version};
    use crate::memory::MemoryHubSpot;

    #[tokio::test]
    async fn the_ports_of_a_world_are_its_stores() {
        let world = MemoryWorld::new();
        let mapping = crate::mapping::parse_yaml(
            "invoice.yaml",
            include_str!("../../../../examples/mappings/invoice.yaml"),
        )
        .expect("the example parses");
        let now = time::OffsetDateTime::now_utc();
        world.mappings.put(&next_version(None, mapping, now), None).await.expect("put");
        let ports = world.sync_ports(Arc::new(MemoryHubSpot::new()));
        let stored = ports.mappings.get("Invoice__c").await.expect("get");
        assert_eq!(stored.map(|m| m.version), Some(1));
        assert!(ports.imports.is_some(), "the engine counts imports");
    }
}
