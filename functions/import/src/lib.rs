//! The import function: imports existing Salesforce records onto the import queue (event
//! `{"import_id": "..."}`); on a schedule (`{"source": "aws.events", ...}` or `{"sweep": true}`)
//! sweeps Salesforce deletes onto the live queue and resumes an import left without a runner;
//! every minute (`{"resume": true}`) only resumes one (pending, handed over, or abandoned by a
//! runner that stopped renewing its lease). The logic is `sfhs_core::import`, assembled by
//! `sfhs_core::app::imports`; the Salesforce reader is `sfhs_salesforce::reader`, the hand-over
//! `sfhs_aws::continuation`, the configuration `sfhs_aws::config::ImportConfig`, the world
//! `sfhs_aws::world::imports`. This crate
//! holds the thin handler. See `docs/import.md`.

pub mod handler;

pub use handler::{Deps, Event, HandlerError, handle};

use serde_json::Value;

/// The continuation without a function to invoke (the scheduled tick resumes the import).
pub use sfhs_aws::world::ScheduledContinuation;

/// One Lambda event: the payload handled by [`handle`] before the invocation's deadline, a
/// failure logged with whether a retry can help.
pub async fn serve(
    deps: &Deps,
    event: lambda_runtime::LambdaEvent<Value>,
) -> Result<Value, HandlerError> {
    let deadline = deadline_from_epoch_ms(event.context.deadline);
    let result = handle(deps, &event.payload, &event.context.request_id, Some(deadline)).await;
    if let Err(e) = &result {
        tracing::error!(error = %e, retryable = e.is_retryable(), "import event failed");
    }
    result
}

/// The invocation's deadline as an `Instant` (Lambda gives milliseconds since the epoch).
pub fn deadline_from_epoch_ms(deadline_ms: u64) -> std::time::Instant {
    let deadline = std::time::UNIX_EPOCH + std::time::Duration::from_millis(deadline_ms);
    let left = deadline.duration_since(std::time::SystemTime::now()).unwrap_or_default();
    std::time::Instant::now() + left
}
