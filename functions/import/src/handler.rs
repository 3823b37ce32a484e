//! Decodes the event, runs the use case, encodes the result.

use std::time::Instant;

use serde_json::{Value, json};
use sfhs_core::app::TickError;
use sfhs_core::emf::Emf;
use sfhs_core::import::RunOutcome;
use time::OffsetDateTime;

/// Built once per process (by [`sfhs_core::app::imports`]).
pub type Deps = sfhs_core::app::Imports;

/// What the function is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Run (or resume) one import.
    Import { import_id: String },
    /// The scheduled tick: sweep deletes, refresh what the outbound messages send (when due),
    /// then resume an import left without a runner.
    Sweep,
    /// The scheduled resume tick (every minute): resume an import left without a runner
    /// (pending, handed over, or whose runner died and stopped renewing its lease).
    Resume,
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(
        "unknown event; expected {{\"import_id\": \"...\"}}, {{\"sweep\": true}}, {{\"resume\": true}} or an EventBridge scheduled event"
    )]
    UnknownEvent,
    #[error(transparent)]
    Run(#[from] sfhs_core::import::run::RunError),
    #[error(transparent)]
    Mappings(#[from] sfhs_core::mapping::store::StoreError),
    #[error(transparent)]
    Store(#[from] sfhs_core::import::ImportStoreError),
}

impl From<TickError> for HandlerError {
    fn from(e: TickError) -> Self {
        match e {
            TickError::Run(e) => Self::Run(e),
            TickError::Mappings(e) => Self::Mappings(e),
            TickError::Store(e) => Self::Store(e),
        }
    }
}

impl HandlerError {
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::UnknownEvent => false,
            Self::Run(e) => e.is_retryable(),
            Self::Mappings(e) => e.is_retryable(),
            Self::Store(e) => e.is_retryable(),
        }
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(e: HandlerError) -> Self {
        let error_type = match &e {
            HandlerError::UnknownEvent => "UnknownEvent",
            HandlerError::Run(_) if e.is_retryable() => "ImportRetryable",
            HandlerError::Run(_) => "ImportFailed",
            HandlerError::Mappings(_) => "MappingStore",
            HandlerError::Store(_) => "ImportStore",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.to_owned(),
            error_message: e.to_string(),
        }
    }
}

impl Event {
    pub fn parse(event: &Value) -> Result<Self, HandlerError> {
        if let Some(id) = event.get("import_id").and_then(Value::as_str)
            && !id.trim().is_empty()
        {
            return Ok(Self::Import { import_id: id.trim().to_owned() });
        }
        if event.get("resume").and_then(Value::as_bool) == Some(true) {
            return Ok(Self::Resume);
        }
        let scheduled = event.get("source").and_then(Value::as_str) == Some("aws.events");
        let asked = event.get("sweep").and_then(Value::as_bool) == Some(true);
        if scheduled || asked {
            return Ok(Self::Sweep);
        }
        Err(HandlerError::UnknownEvent)
    }
}

fn outcome_json(import_id: &str, outcome: &RunOutcome) -> Value {
    match outcome {
        RunOutcome::Completed { enqueued, pages } => {
            json!({"import_id": import_id, "outcome": "completed", "enqueued": enqueued, "pages": pages})
        }
        RunOutcome::HandedOver { enqueued, pages } => {
            json!({"import_id": import_id, "outcome": "handed_over", "enqueued": enqueued, "pages": pages})
        }
        RunOutcome::Cancelled => json!({"import_id": import_id, "outcome": "cancelled"}),
        RunOutcome::NotRunnable { reason } => {
            json!({"import_id": import_id, "outcome": "not_runnable", "reason": reason})
        }
        RunOutcome::Failed { error } => {
            json!({"import_id": import_id, "outcome": "failed", "error": error})
        }
        RunOutcome::AfterParents { reason } => {
            json!({"import_id": import_id, "outcome": "after_parents", "reason": reason})
        }
    }
}

fn resumed_json(resumed: Option<(String, RunOutcome)>) -> Value {
    resumed.map_or(Value::Null, |(id, outcome)| outcome_json(&id, &outcome))
}

/// Handles one event as invocation `invocation_id`, which must end by `deadline`.
pub async fn handle(
    deps: &Deps,
    event: &Value,
    invocation_id: &str,
    deadline: Option<Instant>,
) -> Result<Value, HandlerError> {
    match Event::parse(event)? {
        Event::Import { import_id } => {
            let outcome = deps.runner.run(&import_id, invocation_id, deadline).await?;
            Ok(outcome_json(&import_id, &outcome))
        }
        Event::Resume => Ok(json!({
            "resumed": resumed_json(deps.resume_one(invocation_id, deadline).await?),
        })),
        Event::Sweep => {
            let tick = deps.tick(invocation_id, deadline).await?;
            // The tick's EMF line: what the dashboard and the CaughtUp and SetupDrift alarms read.
            println!(
                "{}",
                Emf::new("sfhs")
                    .dimension("Function", "import")
                    .count("DeletesEnqueued", tick.sweep.deletes() as u64)
                    .count("SweepGaps", tick.sweep.gaps() as u64)
                    .count("CaughtUp", tick.catch_up.caught_up() as u64)
                    .count("CatchUpFailures", tick.catch_up.failures() as u64)
                    .count("SetupDrift", tick.drift.count() as u64)
                    .to_line(OffsetDateTime::now_utc())
            );
            Ok(json!({
                "sweep": tick.sweep,
                "deletes": tick.sweep.deletes(),
                "gaps": tick.sweep.gaps(),
                "catch_up": tick.catch_up,
                "caught_up": tick.catch_up.caught_up(),
                "sent_fields": tick.sent_fields,
                "drift": tick.drift,
                "resumed": resumed_json(tick.resumed),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_event_shapes() {
        assert_eq!(
            Event::parse(&json!({"import_id": "imp-1"})).unwrap(),
            Event::Import { import_id: "imp-1".into() }
        );
        assert_eq!(
            Event::parse(&json!({"source": "aws.events", "detail-type": "Scheduled Event"}))
                .unwrap(),
            Event::Sweep
        );
        assert_eq!(Event::parse(&json!({"sweep": true})).unwrap(), Event::Sweep);
        assert_eq!(Event::parse(&json!({"resume": true})).unwrap(), Event::Resume);
        assert!(Event::parse(&json!({"import_id": " "})).is_err());
        assert!(Event::parse(&json!({})).is_err());
    }
}
