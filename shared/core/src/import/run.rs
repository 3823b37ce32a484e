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
mod tests {
    use super::*;
    use crate::import::model::Checkpoint;
    use crate::import::ports::{DeletedWindow, MemoryContinuation, MemoryImportStore};
    use crate::import::ports::{ReadErrorKind, RestPage};
    use crate::mapping::store::{MemoryMappingStore, StoredMapping};
    use crate::queue::{MemoryQueue, PublishPolicy};
    use async_trait::async_trait;
    use serde_json::{Value, json};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// Pages of `per_page` records `r00000..` in Id order; `bad` makes the record at that index
    /// lack its Id; `permanent_error` makes every read fail with a non-retryable error. Cursors
    /// (`nextRecordsUrl`, Bulk locators) are the next index; `expire_cursors` makes them all
    /// gone, as Salesforce after 15 minutes idle (REST) or 7 days (Bulk). A key query (`Id >
    /// 'rNNNNN'`) starts after that record; `page_delay` makes every page slow.
    #[derive(Debug, Default)]
    struct FakeReader {
        total: usize,
        per_page: usize,
        bad: Option<usize>,
        permanent_error: bool,
        page_delay: Duration,
        expire_cursors: AtomicBool,
        /// Cursors answer with another object's records (a locator that names another query).
        foreign_cursors: AtomicBool,
        key_queries: AtomicUsize,
        jobs: AtomicUsize,
    }

    fn id(i: usize) -> String {
        format!("r{i:05}")
    }

    impl FakeReader {
        fn new(total: usize, per_page: usize) -> Self {
            Self { total, per_page, ..Self::default() }
        }

        async fn page(&self, start: usize) -> Result<RestPage, ReadError> {
            tokio::time::sleep(self.page_delay).await;
            if self.permanent_error {
                return Err(ReadError {
                    operation: "query",
                    message: "MALFORMED_QUERY".into(),
                    retryable: false,
                    kind: ReadErrorKind::Other,
                    source: None,
                });
            }
            let end = (start + self.per_page).min(self.total);
            let records = (start..end)
                .map(|i| {
                    let mut r = json!({"Id": id(i), "Name": format!("n{i}"), "SystemModstamp": "2026-11-28T10:00:00.000Z"});
                    if Some(i) == self.bad
                        && let Value::Object(m) = &mut r
                    {
                        m.remove("Id");
                    }
                    match r {
                        Value::Object(m) => m,
                        _ => unreachable!(),
                    }
                })
                .collect();
            Ok(RestPage { records, next: (end < self.total).then(|| end.to_string()) })
        }

        /// Where a query starts: after its key, if it has one.
        fn start_of(&self, soql: &str) -> usize {
            match soql.split_once("Id > 'r") {
                Some((_, rest)) => {
                    self.key_queries.fetch_add(1, Ordering::SeqCst);
                    rest[..5].parse::<usize>().map_or(0, |n| n + 1)
                }
                None => 0,
            }
        }

        fn gone(&self, kind: ReadErrorKind) -> Result<RestPage, ReadError> {
            Err(ReadError {
                operation: "query page",
                message: "INVALID_QUERY_LOCATOR: invalid query locator".into(),
                retryable: false,
                kind,
                source: None,
            })
        }
    }

    #[async_trait]
    impl SalesforceReader for FakeReader {
        async fn org_id(&self) -> Result<String, ReadError> {
            Ok("00Dxx0000001gPFEAY".into())
        }
        async fn count(&self, _: &str, _: Option<&str>) -> Result<u64, ReadError> {
            Ok(self.total as u64)
        }
        async fn query_first(&self, soql: &str, _: u32) -> Result<RestPage, ReadError> {
            assert!(soql.ends_with("ORDER BY Id"), "{soql}");
            self.page(self.start_of(soql)).await
        }
        async fn query_next(&self, next: &str) -> Result<RestPage, ReadError> {
            if self.expire_cursors.load(Ordering::SeqCst) {
                return self.gone(ReadErrorKind::CursorExpired);
            }
            let mut page = self.page(next.parse().unwrap_or(0)).await?;
            if self.foreign_cursors.load(Ordering::SeqCst) {
                for r in &mut page.records {
                    r.insert("attributes".into(), json!({"type": "Other__c"}));
                    r.insert("Id".into(), json!("zzz-not-this-import"));
                }
            }
            Ok(page)
        }
        async fn bulk_start(&self, soql: &str) -> Result<String, ReadError> {
            let n = self.jobs.fetch_add(1, Ordering::SeqCst);
            // The job's first page starts after the key: remembered in the job id.
            Ok(format!("750job{n}-{}", self.start_of(soql)))
        }
        async fn bulk_page(
            &self,
            job: &str,
            locator: Option<&str>,
            _: u32,
        ) -> Result<RestPage, ReadError> {
            if self.expire_cursors.load(Ordering::SeqCst) {
                self.expire_cursors.store(false, Ordering::SeqCst);
                return self.gone(ReadErrorKind::JobGone);
            }
            let first = job.rsplit_once('-').and_then(|(_, s)| s.parse().ok()).unwrap_or(0);
            self.page(locator.and_then(|l| l.parse().ok()).unwrap_or(first)).await
        }
        async fn deleted(
            &self,
            _: &str,
            start: OffsetDateTime,
            end: OffsetDateTime,
        ) -> Result<DeletedWindow, ReadError> {
            Ok(DeletedWindow {
                records: Vec::new(),
                earliest_date_available: start,
                latest_date_covered: end,
            })
        }
        async fn outbound_messages(
            &self,
        ) -> Result<Vec<crate::salesforce_setup::LiveOutboundMessage>, ReadError> {
            Ok(Vec::new())
        }
        async fn flows(
            &self,
            _: &[String],
        ) -> Result<Vec<crate::salesforce_setup::LiveFlow>, ReadError> {
            Ok(Vec::new())
        }
    }

    async fn make_runner(
        reader: FakeReader,
        with_mapping: bool,
    ) -> (ImportRunner, Arc<MemoryQueue>, Arc<FakeReader>) {
        let mappings = Arc::new(MemoryMappingStore::new());
        if with_mapping {
            let mapping = serde_norway::from_str(
                "salesforce_object: X__c\nhubspot_object: p1_x\nid_property: sfid\nstate: enabled\nfields:\n  - {salesforce: Name, hubspot: name}\n",
            )
            .unwrap();
            mappings
                .put(
                    &StoredMapping {
                        mapping,
                        version: 1,
                        updated_at: OffsetDateTime::now_utc(),
                        enabled_at: Some(OffsetDateTime::now_utc()),
                        outbound_fields: None,
                    },
                    None,
                )
                .await
                .unwrap();
        }
        let queue = Arc::new(MemoryQueue::new());
        let reader = Arc::new(reader);
        let runner = ImportRunner {
            store: Arc::new(MemoryImportStore::new()),
            mappings,
            reader: reader.clone(),
            publisher: Publisher::new(queue.clone(), PublishPolicy::default()),
            continuation: Arc::new(MemoryContinuation::new()),
            settings: RunSettings::default(),
        };
        (runner, queue, reader)
    }

    fn record(total: u64, threshold: u64) -> ImportRecord {
        ImportRecord::new(
            "imp-1".into(),
            "X__c".into(),
            None,
            total,
            threshold,
            OffsetDateTime::now_utc(),
        )
    }

    /// The record ids on the queue, with how often each is there.
    fn enqueued(queue: &MemoryQueue) -> std::collections::BTreeMap<String, usize> {
        let mut seen = std::collections::BTreeMap::new();
        for body in queue.messages() {
            let item = crate::work_item::WorkItem::from_json(&body).unwrap();
            *seen.entry(item.record_id).or_insert(0) += 1;
        }
        seen
    }

    #[tokio::test]
    async fn bulk_and_rest_runs_complete() {
        for threshold in [1, 1_000_000] {
            let (runner, queue, _) = make_runner(FakeReader::new(45, 10), true).await;
            let out = start(&runner, &record(45, threshold)).await;
            assert_eq!(out, RunOutcome::Completed { enqueued: 45, pages: 5 });
            assert_eq!(queue.messages().len(), 45);
            let stored = runner.store.get("imp-1").await.unwrap().unwrap();
            assert_eq!(stored.holder(OffsetDateTime::now_utc()), Holder::Finished);
        }
    }

    /// A resume after a pause longer than Salesforce keeps its cursors: REST queries on from
    /// the key, Bulk creates the job again from the key; nothing is missed, nothing re-sent.
    #[tokio::test]
    async fn expired_cursors_fall_back_to_the_key() {
        for threshold in [1_000_000, 1] {
            let (mut runner, queue, reader) = make_runner(FakeReader::new(95, 10), true).await;
            runner.settings.max_pages_per_run = Some(3);
            let out = start(&runner, &record(95, threshold)).await;
            assert!(matches!(out, RunOutcome::HandedOver { enqueued: 30, .. }), "{out:?}");
            let stored = runner.store.get("imp-1").await.unwrap().unwrap();
            assert_eq!(stored.checkpoint.key(), Some(Some("r00029")), "{:?}", stored.checkpoint);
            // The pause: the cursors are gone.
            reader.expire_cursors.store(true, Ordering::SeqCst);
            runner.settings.max_pages_per_run = None;
            let out = runner.run("imp-1", "b", None).await.unwrap();
            assert!(matches!(out, RunOutcome::Completed { enqueued: 65, .. }), "{out:?}");
            let seen = enqueued(&queue);
            assert_eq!(seen.len(), 95, "every record");
            assert!(seen.values().all(|&n| n == 1), "none twice: {seen:?}");
            if threshold == 1 {
                assert_eq!(reader.jobs.load(Ordering::SeqCst), 2, "the job made again");
            }
            assert!(reader.key_queries.load(Ordering::SeqCst) >= 1);
        }
    }

    /// A checkpointed cursor that now answers with another object's records is not followed.
    #[tokio::test]
    async fn a_cursor_answering_for_another_object_is_replaced_by_the_key() {
        let (mut runner, queue, reader) = make_runner(FakeReader::new(45, 10), true).await;
        runner.settings.max_pages_per_run = Some(2);
        let out = start(&runner, &record(45, 1_000_000)).await;
        assert!(matches!(out, RunOutcome::HandedOver { .. }), "{out:?}");
        reader.foreign_cursors.store(true, Ordering::SeqCst);
        runner.settings.max_pages_per_run = None;
        let out = runner.run("imp-1", "b", None).await.unwrap();
        assert!(matches!(out, RunOutcome::Completed { .. }), "{out:?}");
        let seen = enqueued(&queue);
        assert_eq!(seen.len(), 45, "{seen:?}");
        assert!(seen.values().all(|&n| n == 1));
    }

    /// A REST cursor older than `cursor_max_idle` is not even tried; a checkpoint of the
    /// previous version (no key) starts again from the first record when its cursor is gone.
    #[tokio::test]
    async fn old_cursors_and_old_checkpoints() {
        let (runner, queue, reader) = make_runner(FakeReader::new(25, 10), true).await;
        let mut r = record(25, 1_000_000);
        r.checkpoint = Checkpoint::Rest {
            ordered: true,
            last_id: Some(id(9)),
            next_records_url: Some("10".into()),
            cursor_used: Some(OffsetDateTime::now_utc() - time::Duration::minutes(30)),
        };
        let out = start(&runner, &r).await;
        assert!(matches!(out, RunOutcome::Completed { enqueued: 15, .. }), "{out:?}");
        assert_eq!(reader.key_queries.load(Ordering::SeqCst), 1);
        assert_eq!(enqueued(&queue).len(), 15);

        let (runner, queue, reader) = make_runner(FakeReader::new(25, 10), true).await;
        reader.expire_cursors.store(true, Ordering::SeqCst);
        let mut r = record(25, 1_000_000);
        r.checkpoint = serde_json::from_str(r#"{"kind":"rest","next_records_url":"10"}"#).unwrap();
        let out = start(&runner, &r).await;
        assert!(matches!(out, RunOutcome::Completed { enqueued: 25, .. }), "{out:?}");
        assert_eq!(enqueued(&queue).len(), 25, "from the first record");
    }

    /// A runner of import `imp-1` of `total` records, 10 a page each read in `page_delay`, holding
    /// its lease for `lease` and renewing it every 100 ms.
    async fn leased(
        total: usize,
        page_delay: Duration,
        lease: Duration,
    ) -> (ImportRunner, Arc<MemoryQueue>) {
        let mut reader = FakeReader::new(total, 10);
        reader.page_delay = page_delay;
        let (mut runner, queue, _) = make_runner(reader, true).await;
        runner.settings.lease = lease;
        runner.settings.renew_every = Duration::from_millis(100);
        let r = record(total as u64, 1_000_000);
        runner.store.put(&r, None).await.unwrap();
        (runner, queue)
    }

    /// Stores the import `r` and runs it once, as holder `a`.
    async fn start(runner: &ImportRunner, r: &ImportRecord) -> RunOutcome {
        runner.store.put(r, None).await.unwrap();
        runner.run("imp-1", "a", None).await.unwrap()
    }

    fn run_in_background(
        runner: &ImportRunner,
        holder: &'static str,
    ) -> tokio::task::JoinHandle<Result<RunOutcome, RunError>> {
        let runner = runner.clone();
        tokio::spawn(async move { runner.run("imp-1", holder, None).await })
    }

    /// While a long page is read, the lease is renewed: nobody else can claim the import; a
    /// cancel meanwhile stops the run at its next renewal.
    #[tokio::test]
    async fn the_lease_is_renewed_during_a_long_page_and_a_cancel_stops_it() {
        let (runner, _) = leased(30, Duration::from_secs(3), Duration::from_secs(2)).await;
        let task = run_in_background(&runner, "dev-1");
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let stored = runner.store.get("imp-1").await.unwrap().unwrap();
        assert!(stored.started.is_some());
        assert!(stored.lease_renewed > stored.started, "renewed during the first page: {stored:?}");
        // A second runner is refused: the lease is alive although the first page is longer.
        let second = runner.run("imp-1", "dev-2", None).await.unwrap();
        assert!(matches!(second, RunOutcome::NotRunnable { .. }), "{second:?}");
        // A cancel: the run stops at its next renewal, inside the page.
        let current = runner.store.get("imp-1").await.unwrap().unwrap();
        let cancelled = current.cancelled(OffsetDateTime::now_utc()).unwrap();
        runner.store.put(&cancelled, Some(current.revision)).await.unwrap();
        let out =
            tokio::time::timeout(Duration::from_secs(30), task).await.unwrap().unwrap().unwrap();
        assert_eq!(out, RunOutcome::Cancelled);
    }

    /// A runner that dies mid-page (the task aborted, as a Lambda killed at its hard limit)
    /// never lets go: its lease runs out, and then a second runner takes the import over and
    /// completes it; every record is on the queue, the page in flight at most twice.
    #[tokio::test]
    async fn a_dead_runner_is_taken_over_once_its_lease_runs_out() {
        let (runner, queue) =
            leased(50, Duration::from_millis(100), Duration::from_millis(500)).await;
        let task = run_in_background(&runner, "lambda-req-1");
        // Wait for two pages, then kill it inside the third.
        loop {
            let r = runner.store.get("imp-1").await.unwrap().unwrap();
            if r.enqueued >= 20 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        task.abort();
        let died = Instant::now();
        let _ = task.await;
        let dead = runner.store.get("imp-1").await.unwrap().unwrap();
        let dead_until = dead.lease_until.unwrap();
        // Refused while the dead runner's lease runs; taken over after.
        let mut takeover = None;
        while takeover.is_none() {
            match runner.run("imp-1", "lambda-req-2", None).await.unwrap() {
                RunOutcome::NotRunnable { .. } => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                out => takeover = Some(out),
            }
            assert!(died.elapsed() < Duration::from_secs(60), "never taken over");
        }
        let waited = died.elapsed();
        println!("death to takeover: {waited:?} (lease 500 ms, renewed every 100 ms)");
        assert!(
            OffsetDateTime::now_utc() >= dead_until,
            "not before the dead runner's lease ran out"
        );
        assert!(matches!(takeover, Some(RunOutcome::Completed { .. })), "{takeover:?}");
        let seen = enqueued(&queue);
        assert_eq!(seen.len(), 50, "every record");
        assert!(seen.values().all(|&n| n <= 2));
    }

    #[tokio::test]
    async fn permanent_problems_fail_the_import() {
        // A record without Id.
        let mut reader = FakeReader::new(30, 10);
        reader.bad = Some(15);
        let (runner, queue, _) = make_runner(reader, true).await;
        let out = start(&runner, &record(30, 1000)).await;
        assert!(matches!(out, RunOutcome::Failed { .. }), "{out:?}");
        assert_eq!(queue.messages().len(), 10, "the pages before it are queued");
        let stored = runner.store.get("imp-1").await.unwrap().unwrap();
        assert_eq!(stored.status, ImportStatus::Failed);
        assert!(stored.last_error.unwrap().contains("no Id"));

        // A non-retryable Salesforce error.
        let mut reader = FakeReader::new(30, 10);
        reader.permanent_error = true;
        let (runner, _, _) = make_runner(reader, true).await;
        let out = start(&runner, &record(30, 1000)).await;
        assert!(
            matches!(out, RunOutcome::Failed { ref error } if error.contains("MALFORMED_QUERY")),
            "{out:?}"
        );

        // No mapping applied.
        let (runner, _, _) = make_runner(FakeReader::new(30, 10), false).await;
        let out = start(&runner, &record(30, 1000)).await;
        assert!(matches!(out, RunOutcome::Failed { .. }), "{out:?}");
        assert!(runner.create("X__c", None, 10, false, OffsetDateTime::now_utc()).await.is_err());
    }

    #[test]
    fn runner_ids_are_unique_to_the_process() {
        let a = runner_id("dev");
        assert!(a.starts_with(&format!("dev-{}-", std::process::id())), "{a}");
        assert_ne!(a, runner_id("dev"));
    }

    #[tokio::test]
    async fn a_childs_import_waits_for_its_parents_and_is_started_by_it() {
        let (mut runner, queue, _) = make_runner(FakeReader::new(5, 10), true).await;
        let continuation = Arc::new(MemoryContinuation::new());
        runner.continuation = continuation.clone();
        let child_mapping = serde_norway::from_str(
            "salesforce_object: Y__c\nhubspot_object: p1_y\nid_property: sfid\nstate: enabled\nfields:\n  - {salesforce: Name, hubspot: name}\nassociations:\n  - lookup: X__c\n    to: p1_x\n    find_parent_by: {mapping: X__c}\n",
        )
        .unwrap();
        runner
            .mappings
            .put(
                &StoredMapping {
                    mapping: child_mapping,
                    version: 1,
                    updated_at: OffsetDateTime::now_utc(),
                    enabled_at: None,
                    outbound_fields: None,
                },
                None,
            )
            .await
            .unwrap();
        let t0 = OffsetDateTime::now_utc();
        let at = |id: &str, object: &str, created| {
            ImportRecord::new(id.into(), object.into(), None, 5, 1_000, created)
        };
        // Recorded together (as `sfhs dev --import` does), the parent's first.
        let parent = at("imp-1", "X__c", t0);
        let child = at("imp-2", "Y__c", t0);
        runner.store.put(&parent, None).await.unwrap();
        runner.store.put(&child, None).await.unwrap();

        let out = runner.run("imp-2", "r1", None).await.unwrap();
        let RunOutcome::AfterParents { reason } = out else {
            panic!("{out:?}");
        };
        assert!(reason.contains("imp-1") && reason.contains("X__c"), "{reason}");
        let waiting = runner.store.get("imp-2").await.unwrap().unwrap();
        assert!(waiting.holder(OffsetDateTime::now_utc()).is_claimable());
        assert!(queue.is_empty(), "nothing of the child is read yet");

        // The parent's import enqueues everything, then starts the child's.
        let out = runner.run("imp-1", "r1", None).await.unwrap();
        assert!(matches!(out, RunOutcome::Completed { enqueued: 5, .. }), "{out:?}");
        assert_eq!(continuation.take(), ["imp-2"]);
        let out = runner.run("imp-2", "r1", None).await.unwrap();
        assert!(matches!(out, RunOutcome::Completed { enqueued: 5, .. }), "{out:?}");
        let objects: Vec<String> = queue
            .messages()
            .iter()
            .map(|b| crate::work_item::WorkItem::from_json(b).unwrap().sobject)
            .collect();
        assert_eq!(
            objects,
            [["X__c"; 5], ["Y__c"; 5]].concat(),
            "the parents ahead of the children"
        );

        // A child's import recorded before its parent's does not wait (a cycle never blocks).
        let early = at("imp-3", "Y__c", t0 + time::Duration::seconds(1));
        let late = at("imp-4", "X__c", t0 + time::Duration::seconds(2));
        runner.store.put(&early, None).await.unwrap();
        runner.store.put(&late, None).await.unwrap();
        let out = runner.run("imp-3", "r1", None).await.unwrap();
        assert!(matches!(out, RunOutcome::Completed { .. }), "{out:?}");
    }
}
