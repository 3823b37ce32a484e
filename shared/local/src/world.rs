//! Local mode's world (`sfhs dev`): every adapter on one store file, built in one place. The
//! caller brings what is not stored (the HubSpot writer, the Salesforce reader) and gets the
//! ports `sfhs_core::app` assembles into the same use cases the Lambdas run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sfhs_core::app::{ImportPorts, SyncPorts};
use sfhs_core::import::{Continuation, SalesforceReader};
use sfhs_core::sync::HubSpotWriter;

use crate::{LocalDeliveries, LocalError, LocalQueue, LocalStore};

/// The store file's name inside the data directory.
pub const STORE_FILE: &str = "sfhs.redb";

/// One process's adapters on disk: the store (ledger, errors, imports, mappings) and its three
/// queues, as SQS and DynamoDB hold them in AWS.
#[derive(Debug, Clone)]
pub struct LocalWorld {
    pub store: LocalStore,
    /// Where the webhook puts outbound messages' records, and the sweep its deletes.
    pub live: LocalQueue,
    /// Where imports put the records they read.
    pub import: LocalQueue,
    /// Where a message goes after its last failed delivery.
    pub dead: LocalQueue,
}

impl LocalWorld {
    /// Opens (or creates) the store in `dir` (made if missing).
    pub fn open(dir: &Path) -> Result<Self, LocalError> {
        std::fs::create_dir_all(dir).map_err(|source| LocalError::Storage {
            operation: "create the data directory",
            source: Box::new(source),
        })?;
        let store = LocalStore::open(&Self::store_path(dir))?;
        Ok(Self {
            live: LocalQueue::new(&store, "live"),
            import: LocalQueue::new(&store, "import"),
            dead: LocalQueue::new(&store, "dead"),
            store,
        })
    }

    /// What a stopped process left held, let go: its ledger leases, and the messages it had
    /// taken or put off (visible now). Call once, at start, before any worker runs. Returns
    /// (leases, messages).
    pub fn recover(&self) -> Result<(u64, u64), LocalError> {
        let leases = self.store.release_leases()?;
        let mut messages = 0;
        for q in self.queues() {
            messages += q.release_all()?;
        }
        Ok((leases, messages))
    }

    /// Where the store of `dir` lives.
    pub fn store_path(dir: &Path) -> PathBuf {
        dir.join(STORE_FILE)
    }

    /// The queues, live, import and dead, in that order.
    pub fn queues(&self) -> [&LocalQueue; 3] {
        [&self.live, &self.import, &self.dead]
    }

    /// What the sync engine reads and writes through: everything on the store, HubSpot given.
    pub fn sync_ports(&self, hubspot: Arc<dyn HubSpotWriter>) -> SyncPorts {
        let store = Arc::new(self.store.clone());
        SyncPorts {
            mappings: store.clone(),
            ledger: store.clone(),
            hubspot,
            errors: store.clone(),
            imports: Some(store.clone()),
            waker: Some(store),
        }
    }

    /// What imports and the sweep read and write through; `continuation` runs the imports handed
    /// on (the children's imports that waited for their parents').
    pub fn import_ports(
        &self,
        reader: Arc<dyn SalesforceReader>,
        continuation: Arc<dyn Continuation>,
    ) -> ImportPorts {
        let store = Arc::new(self.store.clone());
        ImportPorts {
            store: store.clone(),
            mappings: store,
            reader,
            import_queue: Arc::new(self.import.clone()),
            live_queue: Arc::new(self.live.clone()),
            continuation,
        }
    }

    /// The live and import queues as the queue driver takes from them, each with its name: a
    /// message taken is invisible for `visibility`, one that failed its last delivery goes to
    /// the dead-letter queue.
    pub fn deliveries(&self, visibility: Duration) -> [(&'static str, LocalDeliveries); 2] {
        let of = |queue: &LocalQueue| LocalDeliveries {
            queue: queue.clone(),
            dead: self.dead.clone(),
            visibility,
        };
        [("live", of(&self.live)), ("import", of(&self.import))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sfhs_core::drive::Deliveries as _;
    use sfhs_core::memory::sync::MemoryHubSpot;
    use sfhs_core::queue::{QueueEntry, WorkQueue as _};

    #[tokio::test]
    async fn a_world_reopened_finds_what_its_queues_held() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let data = dir.path().join("nested/data");
        {
            let world = LocalWorld::open(&data).expect("open");
            let ports = world.sync_ports(Arc::new(MemoryHubSpot::new()));
            assert!(ports.imports.is_some(), "import counters are kept");
            world
                .live
                .send_batch(&[QueueEntry { id: "0".into(), body: "one".into() }])
                .await
                .expect("enqueue");
        }
        let world = LocalWorld::open(&data).expect("reopen");
        assert!(LocalWorld::store_path(&data).exists());
        let [(name, live), (other, _)] = world.deliveries(Duration::from_secs(30));
        assert_eq!((name, other), ("live", "import"));
        let taken = live.take(10).await.expect("take");
        assert_eq!(taken.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["one"]);
        live.dead_letter(&taken[0]).await.expect("dead-letter");
        assert_eq!(world.dead.depth().expect("depth"), (1, 0));
    }
}
