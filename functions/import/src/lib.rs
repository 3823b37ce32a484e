//! The import function: imports existing Salesforce records onto the import queue (event
//! `{"import_id": "..."}`); on a schedule (`{"source": "aws.events", ...}` or `{"sweep": true}`)
//! sweeps Salesforce deletes onto the live queue and resumes an import left without a runner;
//! every minute (`{"resume": true}`) only resumes one (pending, handed over, or abandoned by a
//! runner that stopped renewing its lease). The logic is `sfhs_core::import`, assembled by
//! `sfhs_core::app::imports`; the Salesforce reader is `sfhs_salesforce::reader`, the hand-over
//! `sfhs_aws::continuation`, the configuration `sfhs_aws::config::ImportConfig`. This crate
//! holds the thin handler. See `docs/import.md`.

pub mod handler;

pub use handler::{Deps, Event, HandlerError, handle};

use async_trait::async_trait;
use sfhs_core::import::ports::{Continuation, ContinuationError};

/// The continuation without a function to invoke: the import is checkpointed with its lease let
/// go, and the scheduled resume tick (EventBridge, every minute) resumes it (see
/// [`handler::handle`]). In Lambda the function uses `sfhs_aws::continuation::LambdaContinuation`
/// instead.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScheduledContinuation;

#[async_trait]
impl Continuation for ScheduledContinuation {
    async fn continue_import(&self, import_id: &str) -> Result<(), ContinuationError> {
        tracing::info!(
            import_id,
            "handed over: the next scheduled tick resumes the import"
        );
        Ok(())
    }
}

/// The invocation's deadline as an `Instant` (Lambda gives milliseconds since the epoch).
pub fn deadline_from_epoch_ms(deadline_ms: u64) -> std::time::Instant {
    let deadline = std::time::UNIX_EPOCH + std::time::Duration::from_millis(deadline_ms);
    let left = deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    std::time::Instant::now() + left
}
