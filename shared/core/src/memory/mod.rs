//! Every port in memory, in one place: the fakes of unit tests, `sfhs demo` and the load
//! harnesses (`sfhs dev` keeps its state on disk, `sfhs_local`). Each behaves as the production
//! adapter does where a test can tell: conditional writes, leases, conflicts, injectable faults.
//! The ports' modules re-export them under their old paths.

pub mod imports;
pub mod mappings;
pub mod queue;
pub mod sync;
pub mod world;

pub use imports::{MemoryContinuation, MemoryImportStore};
pub use mappings::MemoryMappingStore;
pub use queue::MemoryQueue;
pub use sync::{MemoryErrorStore, MemoryHubSpot, MemoryLedger, MemoryWaker};
pub use world::MemoryWorld;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// A lock that a panicked holder does not poison for the others.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
