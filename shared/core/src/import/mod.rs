//! Imports of existing records and the delete sweep (issue 7). See `docs/import.md`.
//!
//! - [`model`]: the import record, its states and checkpoint, and the sweep state;
//! - [`records`]: a Salesforce record (REST JSON or Bulk CSV row) -> a [`crate::work_item::WorkItem`];
//! - [`progress`]: progress, rate, ETA and the `import count` estimate;
//! - [`ports`]: the imports/state store (with [`ports::MemoryImportStore`]), the Salesforce reader
//!   and the continuation;
//! - [`run`]: the import run (claim, page, publish, checkpoint, hand over), in the mappings'
//!   parent order (`order`);
//! - [`sweep`]: the delete sweep with gap detection;
//! - [`tick`]: the scheduled tick (sweep, what the outbound messages send, resume) over them.

pub mod catch_up;
pub mod drift;
pub mod model;
pub mod ports;
pub mod progress;
pub mod reconcile;
pub mod records;
pub mod run;
pub mod sweep;
pub mod tick;

pub use catch_up::{CatchUp, CatchUpReport, CatchUpSettings};
pub use drift::{DriftCheck, DriftSettings};
pub use model::{
    Checkpoint, Holder, ImportMethod, ImportRecord, ImportStatus, SweepGap, SweepState,
};
pub use ports::{
    Continuation, ImportProgress, ImportStore, ImportStoreError, InProcessContinuation,
    MemoryContinuation, MemoryImportStore, ReadError, ReadErrorKind, RestPage, SalesforceReader,
};
pub use reconcile::{ReconcileError, ReconcileReport, Reconciler};
pub use run::{ImportRunner, RunOutcome, RunSettings};
pub use sweep::{SweepObjectReport, SweepOutcome, SweepReport, sweep};
pub use tick::{Imports, Resumed, SentFieldsSettings, Tick, TickError};

/// What an operator does about a failed object: wait for `retry` when it can help, else fix the
/// cause.
pub(crate) fn after_failure(retryable: bool, retry: &'static str) -> &'static str {
    if retryable { retry } else { "fix the cause" }
}
