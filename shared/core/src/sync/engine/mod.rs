//! The batch flow as a pipeline of stages, each in its own module, each taking the
//! [`Context`](context::Context) (ports, configuration, process-wide caches) and the
//! [`Batch`](batch::Batch) whose [`Job`](job::Job)s it moves forward:
//!
//! prepare -> claim -> convert (+ unchanged check) -> write (create, upsert, archive) ->
//! associate -> commit -> wake. Parents are found by [`parents`] for the create and the associate
//! stages. See `docs/engine.md` and `docs/worker.md`.

mod associate;
mod batch;
mod chunks;
mod claim;
mod commit;
mod context;
mod convert;
mod create;
mod job;
mod parents;
mod prepare;
mod report;
mod wake;
mod write;

use std::sync::Arc;
use std::time::Instant;

use batch::Batch;
use context::Context;
pub use report::{BatchReport, BatchResult, EngineConfig, InMessage};

use super::ports::{ErrorStore, HubSpotWriter, Ledger, Waker};
use crate::import::ImportStore;
use crate::mapping::store::CachedMappings;

/// The sync engine. Build it once per process; `process` may run concurrently.
#[derive(Debug)]
pub struct Engine {
    ctx: Context,
}

impl Engine {
    pub fn new(
        mappings: Arc<CachedMappings>,
        ledger: Arc<dyn Ledger>,
        hubspot: Arc<dyn HubSpotWriter>,
        errors: Arc<dyn ErrorStore>,
        config: EngineConfig,
    ) -> Self {
        Self {
            ctx: Context {
                mappings,
                ledger,
                hubspot,
                errors,
                imports: None,
                waker: None,
                config,
                schemas: Default::default(),
                parents: Default::default(),
                create_backoff: Default::default(),
                daily: Default::default(),
            },
        }
    }

    /// Keeps the counters (`synced`, `failed`) of the imports whose items pass through.
    #[must_use]
    pub fn with_imports(mut self, imports: Arc<dyn ImportStore>) -> Self {
        self.ctx.imports = Some(imports);
        self
    }

    /// Wakes the children waiting for a parent as soon as the parent commits (their messages'
    /// wake handles, through `waker`), instead of leaving them to their re-check.
    #[must_use]
    pub fn with_waker(mut self, waker: Arc<dyn Waker>) -> Self {
        self.ctx.waker = Some(waker);
        self
    }

    pub fn config(&self) -> &EngineConfig {
        &self.ctx.config
    }

    /// Processes one batch. Never fails: what cannot be done now is in `retry`.
    pub async fn process(&self, messages: Vec<InMessage>) -> BatchResult {
        let ctx = &self.ctx;
        let started = Instant::now();
        let before = ctx.hubspot.stats();
        let mut batch = Batch::new(messages.len());
        prepare::prepare(ctx, messages, &mut batch).await;
        if ctx.daily.stopped(&mut batch.report) {
            // No claim, no call: everything waits for the daily reset.
            batch.send_back_on_daily_limit();
        } else {
            claim::claim(ctx, &mut batch).await;
            convert::convert(ctx, &mut batch).await;
            convert::skip_unchanged(&mut batch);
            write::write(ctx, &mut batch).await;
            associate::associate(ctx, &mut batch).await;
        }
        commit::commit(ctx, &mut batch).await;
        wake::wake(ctx, &mut batch).await;
        let Batch { mut report, retry, waiting, progress, .. } = batch;
        commit::record_progress(ctx, progress).await;

        let after = ctx.hubspot.stats();
        report.hubspot_calls = after.calls.saturating_sub(before.calls);
        report.rate_limited = after.rate_limited.saturating_sub(before.rate_limited);
        report.retried = retry.len() as u64;
        report.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        BatchResult { retry, waiting, report }
    }
}

#[cfg(test)]
mod tests;
