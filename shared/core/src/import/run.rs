//! The import run: claim the import, read Salesforce page by page from the checkpoint, put each
//! page on the import queue, checkpoint, and hand over to a fresh invocation near the deadline.
//!
//! Every page boundary is a checkpoint, written only after the page is on the queue: a crash
//! re-sends at most the page in flight, which is harmless (upserts are idempotent and the
//! worker's ledger drops versions it already has).
//!
//! The run holds the import by a short **lease** (a minute by default) that proves it is alive:
//! every checkpoint extends it, and a timer renews it while a long page is read or enqueued.
//! Both are writes conditional on the revision, so a cancel or a takeover stops the run at its
//! next write. A runner that dies stops renewing: its lease runs out within a minute and the
//! next scheduled tick (or `sfhs import resume`, or `sfhs dev` at start) takes the import over.
//!
//! The checkpoint that does not expire is the key (the last Id on the queue; the import reads in
//! Id order): Salesforce's cursors are followed while they live and, once gone
//! (`INVALID_QUERY_LOCATOR`, a Bulk job past its 7 days), the run reads on with `Id > key`.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::{Mutex, watch};

use super::model::{Holder, ImportRecord, ImportStatus, TransitionError};
use super::ports::{
    Continuation, ContinuationError, ImportStore, ImportStoreError, ReadError, SalesforceReader,
};
use crate::mapping::store::{MappingStore, StoreError};
use crate::queue::{PublishError, Publisher};

mod order;
mod pages;

/// Knobs of a run.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// REST `batchSize` (Salesforce clamps it to 200..2000).
    pub rest_page_size: u32,
    /// Bulk `maxRecords` per results page (one page is held in memory).
    pub bulk_page_size: u32,
    /// Hand over when less than this is left before the deadline.
    pub deadline_margin: Duration,
    /// How long a claim or a renewal holds the import: a runner that stops renewing (it died)
    /// loses it this long after its last renewal at most.
    pub lease: Duration,
    /// How often the lease is renewed while a page is read or enqueued (well below `lease`).
    pub renew_every: Duration,
    /// A REST cursor (`nextRecordsUrl`) unused longer than this is not tried on resume: the run
    /// queries from its key at once (Salesforce drops an idle cursor after 15 minutes).
    pub cursor_max_idle: Duration,
    /// Hand over after this many pages in one invocation (tests; `None` in production).
    pub max_pages_per_run: Option<usize>,
    /// Work items published at once (the publisher sends their batches of 10 in parallel):
    /// bounds the concurrent SQS calls of a large page.
    pub publish_chunk: usize,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self {
            rest_page_size: 2000,
            bulk_page_size: 10_000,
            deadline_margin: Duration::from_secs(60),
            lease: Duration::from_secs(60),
            renew_every: Duration::from_secs(20),
            cursor_max_idle: Duration::from_secs(10 * 60),
            max_pages_per_run: None,
            publish_chunk: 500,
        }
    }
}

/// How a run ended (errors aside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every page is on the queue.
    Completed { enqueued: u64, pages: usize },
    /// Checkpointed and handed over to a fresh invocation.
    HandedOver { enqueued: u64, pages: usize },
    /// Cancelled by an operator (seen at a checkpoint or a lease renewal).
    Cancelled,
    /// Nothing to do: the import is final, or another invocation holds it (or took it over).
    NotRunnable { reason: String },
    /// Stopped on a permanent error; the import is `failed`.
    Failed { error: String },
    /// Not started: an import of a parent object is still enqueueing, and starts this one
    /// once every page is on the queue (`reason` says which).
    AfterParents { reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] ImportStoreError),
    #[error("reading the mapping failed: {0}")]
    Mapping(#[source] StoreError),
    #[error(transparent)]
    Salesforce(#[from] ReadError),
    #[error("enqueueing a page failed (it is sent again on resume): {0}")]
    Publish(#[source] PublishError),
    #[error(transparent)]
    Continuation(#[from] ContinuationError),
}

impl RunError {
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Store(e) => e.is_retryable(),
            Self::Mapping(e) => e.is_retryable(),
            Self::Salesforce(e) => e.is_retryable(),
            Self::Publish(PublishError::TooLarge { .. }) => false,
            Self::Publish(PublishError::Incomplete { .. }) => true,
            Self::Continuation(e) => e.retryable,
        }
    }
}

/// The import use case, on ports: the same code in Lambda, `sfhs dev` and tests.
#[derive(Debug, Clone)]
pub struct ImportRunner {
    pub store: Arc<dyn ImportStore>,
    pub mappings: Arc<dyn MappingStore>,
    pub reader: Arc<dyn SalesforceReader>,
    /// Publishes onto the import queue.
    pub publisher: Publisher,
    pub continuation: Arc<dyn Continuation>,
    pub settings: RunSettings,
}

/// The import as this run holds it: the stored record, written by the page loop (checkpoints)
/// and the renewal timer (leases) in turn, each write conditional on the revision.
struct Held {
    record: Mutex<ImportRecord>,
}

impl Held {
    async fn snapshot(&self) -> ImportRecord {
        self.record.lock().await.clone()
    }
}

/// A runner id unique to this process: `<prefix>-<pid>-<4 hex>` (e.g. `dev-4711-3fa2`), for
/// runners that have no invocation id of their own (`sfhs dev`, the CLI).
pub fn runner_id(prefix: &str) -> String {
    format!("{prefix}-{}-{:04x}", std::process::id(), random_u32() & 0xffff)
}

impl ImportRunner {
    /// Records a new pending import of `object` (the total from `SELECT COUNT()`). `force`:
    /// the worker writes every record, even one HubSpot holds unchanged.
    pub async fn create(
        &self,
        object: &str,
        filter: Option<&str>,
        bulk_threshold: u64,
        force: bool,
        now: OffsetDateTime,
    ) -> Result<ImportRecord, RunError> {
        let mapping =
            self.mappings.get(object).await.map_err(RunError::Mapping)?.ok_or_else(|| {
                RunError::Mapping(StoreError::NotFound { object: object.to_owned() })
            })?;
        let object = mapping.mapping.salesforce_object;
        let total = self.reader.count(&object, filter).await?;
        let id = super::model::new_import_id(now, random_u32());
        let mut record =
            ImportRecord::new(id, object, filter.map(str::to_owned), total, bulk_threshold, now);
        record.force = force;
        self.store.put(&record, None).await?;
        Ok(record)
    }

    /// The lease a claim or renewal at `now` takes: `settings.lease`, never past the deadline.
    fn lease_until(&self, now: OffsetDateTime, deadline: Option<Instant>) -> OffsetDateTime {
        let lease = deadline.map_or(self.settings.lease, |d| {
            self.settings.lease.min(d.saturating_duration_since(Instant::now()))
        });
        now + lease
    }

    /// Runs the import `import_id` as runner `owner` (unique to the process or invocation)
    /// until it completes, fails, or the `deadline` (minus the margin) comes near.
    pub async fn run(
        &self,
        import_id: &str,
        owner: &str,
        deadline: Option<Instant>,
    ) -> Result<RunOutcome, RunError> {
        let (stored, record) = match self.take(import_id, owner, deadline).await? {
            ControlFlow::Continue(taken) => taken,
            ControlFlow::Break(outcome) => return Ok(outcome),
        };
        let held = Held { record: Mutex::new(record) };
        let (done_tx, done_rx) = watch::channel(false);
        let (lost_tx, mut lost_rx) = watch::channel(false);
        let work = async {
            let result = tokio::select! {
                r = self.pages(&held, deadline) => r,
                // The lease could not be kept (a cancel, a takeover): stop where we are; what
                // this page put on the queue is re-sent by the next runner.
                _ = lost_rx.wait_for(|lost| *lost) => Err(PageError::Lost),
            };
            // Ignored when the timer stopped first (it only stops once the lease is lost).
            let _ = done_tx.send(true);
            result
        };
        let (result, ()) = tokio::join!(work, self.keep_alive(&held, deadline, done_rx, lost_tx));
        self.ended(import_id, &stored, &held, result).await
    }

    /// Claims the import for `owner` (the stored record and the claimed one), unless its parents'
    /// imports go first, it is final or held, or someone changed it meanwhile (`Break`: why).
    async fn take(
        &self,
        import_id: &str,
        owner: &str,
        deadline: Option<Instant>,
    ) -> Result<ControlFlow<RunOutcome, (ImportRecord, ImportRecord)>, RunError> {
        let Some(stored) = self.store.get(import_id).await? else {
            return Err(ImportStoreError::NotFound { id: import_id.to_owned() }.into());
        };
        if !stored.status.is_final()
            && let Some(reason) = self.waiting_for_parents(&stored).await?
        {
            tracing::info!(import_id, reason, "import not started: parents go first");
            return Ok(ControlFlow::Break(RunOutcome::AfterParents { reason }));
        }
        let now = OffsetDateTime::now_utc();
        let record = match stored.claim(owner, now, self.lease_until(now, deadline)) {
            Ok(r) => r,
            Err(e @ (TransitionError::Final { .. } | TransitionError::Leased { .. })) => {
                return Ok(ControlFlow::Break(RunOutcome::NotRunnable { reason: e.to_string() }));
            }
        };
        match self.store.put(&record, Some(stored.revision)).await {
            Ok(()) => {}
            Err(ImportStoreError::Conflict { .. }) => {
                return Ok(ControlFlow::Break(RunOutcome::NotRunnable {
                    reason: format!("import {import_id} was claimed or changed meanwhile"),
                }));
            }
            Err(e) => return Err(e.into()),
        }
        if let Holder::Abandoned { owner: previous, until } = stored.holder(now) {
            tracing::warn!(import_id, owner, previous, %until, "took over an import whose runner stopped renewing its lease");
        }
        tracing::info!(import_id, owner, checkpoint = ?record.checkpoint, "import run claimed");
        Ok(ControlFlow::Continue((stored, record)))
    }

    /// What the run's pages ended with: completed (the children's imports start), failed for
    /// good (stored as failed), a retryable error (the lease let go, the error returned), or the
    /// lease lost.
    async fn ended(
        &self,
        import_id: &str,
        stored: &ImportRecord,
        held: &Held,
        result: Result<RunOutcome, PageError>,
    ) -> Result<RunOutcome, RunError> {
        match result {
            Ok(outcome) => {
                if matches!(outcome, RunOutcome::Completed { .. }) {
                    self.start_children(stored).await;
                }
                Ok(outcome)
            }
            Err(PageError::Run(e)) => {
                let record = held.snapshot().await;
                // Let go of the lease so that a retry (or a resume) can claim it at once.
                let permanent = !e.is_retryable();
                let next = if permanent {
                    record.failed_with(e.to_string(), OffsetDateTime::now_utc())
                } else {
                    record.released(Some(e.to_string()))
                };
                if let Err(store_error) = self.store.put(&next, Some(record.revision)).await {
                    tracing::warn!(import_id, error = %store_error, "could not release the import after an error");
                }
                if permanent {
                    tracing::error!(import_id, error = %e, "import failed");
                    Ok(RunOutcome::Failed { error: e.to_string() })
                } else {
                    Err(e)
                }
            }
            Err(PageError::Lost) => self.lost(import_id).await,
        }
    }

    /// Renews the lease every `renew_every` until the run is done (`done`); on a conflict (a
    /// cancel, a takeover) or a lease that ran out unrenewed, says so on `lost` and stops. A
    /// renewal is never cut short: the run waits for it before it writes again.
    async fn keep_alive(
        &self,
        held: &Held,
        deadline: Option<Instant>,
        mut done: watch::Receiver<bool>,
        lost: watch::Sender<bool>,
    ) {
        let every = self.settings.renew_every.max(Duration::from_millis(10));
        loop {
            tokio::select! {
                _ = done.wait_for(|d| *d) => return,
                () = tokio::time::sleep(every) => {}
            }
            let mut current = held.record.lock().await;
            let now = OffsetDateTime::now_utc();
            let next = current.renewed(now, self.lease_until(now, deadline));
            match self.store.put(&next, Some(current.revision)).await {
                Ok(()) => {
                    tracing::debug!(import_id = %next.id, until = ?next.lease_until, "lease renewed");
                    *current = next;
                }
                Err(ImportStoreError::Conflict { .. }) => {
                    tracing::info!(import_id = %current.id, "lease renewal refused: the import was changed by someone else");
                    let _ = lost.send(true);
                    return;
                }
                Err(e) => {
                    // Try again at the next tick, unless the lease has run out meanwhile:
                    // someone else may take the import over now, so this run must stop.
                    let expired = current.lease_until.is_none_or(|u| u <= now);
                    tracing::warn!(import_id = %current.id, error = %e, expired, "lease renewal failed");
                    if expired {
                        let _ = lost.send(true);
                        return;
                    }
                }
            }
        }
    }

    /// Writes `change(current)` over the stored record (revision check), with the lease
    /// extended while the run holds it; a conflict means a cancel or another runner: this run
    /// stops.
    async fn save(
        &self,
        held: &Held,
        deadline: Option<Instant>,
        change: impl FnOnce(&ImportRecord) -> ImportRecord,
    ) -> Result<(), PageError> {
        let mut current = held.record.lock().await;
        let now = OffsetDateTime::now_utc();
        let next = change(&current).with_lease(now, self.lease_until(now, deadline));
        match self.store.put(&next, Some(current.revision)).await {
            Ok(()) => {
                *current = next;
                Ok(())
            }
            Err(ImportStoreError::Conflict { .. }) => Err(PageError::Lost),
            Err(e) => Err(PageError::Run(e.into())),
        }
    }

    async fn lost(&self, import_id: &str) -> Result<RunOutcome, RunError> {
        let current = self.store.get(import_id).await?;
        Ok(match current {
            Some(r) if r.status == ImportStatus::Cancelled => {
                tracing::info!(import_id, "import cancelled; run stops");
                RunOutcome::Cancelled
            }
            _ => RunOutcome::NotRunnable {
                reason: format!("import {import_id} was changed by someone else; run stops"),
            },
        })
    }
}

enum PageError {
    Run(RunError),
    /// The stored record changed under this run (cancel, or another holder).
    Lost,
}

impl From<RunError> for PageError {
    fn from(e: RunError) -> Self {
        Self::Run(e)
    }
}

/// Randomness for ids without a dependency: the clock's nanoseconds mixed with a counter.
fn random_u32() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos() as u64;
    let c = COUNTER.fetch_add(1, Ordering::Relaxed) as u64;
    let mut x = nanos ^ c.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x as u32
}

#[cfg(test)]
mod tests;
