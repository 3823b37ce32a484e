//! The import run: claim the import, read Salesforce page by page from the checkpoint, put each
//! page on the import queue, checkpoint, and hand over to a fresh invocation near the deadline.
//!
//! Every page boundary is a checkpoint, written only after the page is on the queue: a crash
//! re-sends at most the page in flight, which is harmless (upserts are idempotent and the
//! worker's ledger drops versions it already has).

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::convert::{ConvertError, import_soql, to_work_item};
use super::model::{Checkpoint, ImportMethod, ImportRecord, ImportStatus, TransitionError};
use super::ports::{
    Continuation, ContinuationError, ImportStore, ImportStoreError, ReadError, RestPage,
    SalesforceReader,
};
use crate::mapping::store::{MappingStore, StoreError};
use crate::queue::{PublishError, Publisher};
use crate::work_item::Source;

/// Knobs of a run.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// REST `batchSize` (Salesforce clamps it to 200..2000).
    pub rest_page_size: u32,
    /// Bulk `maxRecords` per results page (one page is held in memory).
    pub bulk_page_size: u32,
    /// Hand over when less than this is left before the deadline.
    pub deadline_margin: Duration,
    /// The lease when the run has no deadline (in-process runs).
    pub lease_without_deadline: Duration,
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
            lease_without_deadline: Duration::from_secs(15 * 60),
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
    /// Cancelled by an operator (seen at a checkpoint).
    Cancelled,
    /// Nothing to do: the import is final, or another invocation holds it.
    NotRunnable { reason: String },
    /// Stopped on a permanent error; the import is `failed`.
    Failed { error: String },
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
        let mapping = self
            .mappings
            .get(object)
            .await
            .map_err(RunError::Mapping)?
            .ok_or_else(|| {
                RunError::Mapping(StoreError::NotFound {
                    object: object.to_owned(),
                })
            })?;
        let object = mapping.mapping.salesforce_object;
        let total = self.reader.count(&object, filter).await?;
        let id = super::model::new_import_id(now, random_u32());
        let mut record = ImportRecord::new(
            id,
            object,
            filter.map(str::to_owned),
            total,
            bulk_threshold,
            now,
        );
        record.force = force;
        self.store.put(&record, None).await?;
        Ok(record)
    }

    /// Runs the import `import_id` as invocation `owner` until it completes, fails, or the
    /// `deadline` (minus the margin) comes near.
    pub async fn run(
        &self,
        import_id: &str,
        owner: &str,
        deadline: Option<Instant>,
    ) -> Result<RunOutcome, RunError> {
        let Some(stored) = self.store.get(import_id).await? else {
            return Err(ImportStoreError::NotFound {
                id: import_id.to_owned(),
            }
            .into());
        };
        let now = OffsetDateTime::now_utc();
        let lease = deadline.map_or(self.settings.lease_without_deadline, |d| {
            d.saturating_duration_since(Instant::now())
        });
        let mut record = match stored.claim(owner, now, now + lease) {
            Ok(r) => r,
            Err(e @ (TransitionError::Final { .. } | TransitionError::Leased { .. })) => {
                return Ok(RunOutcome::NotRunnable {
                    reason: e.to_string(),
                });
            }
        };
        match self.store.put(&record, Some(stored.revision)).await {
            Ok(()) => {}
            Err(ImportStoreError::Conflict { .. }) => {
                return Ok(RunOutcome::NotRunnable {
                    reason: format!("import {import_id} was claimed or changed meanwhile"),
                });
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(import_id, owner, checkpoint = ?record.checkpoint, "import run claimed");

        match self.pages(&mut record, deadline).await {
            Ok(outcome) => Ok(outcome),
            Err(PageError::Run(e)) => {
                // Let go of the lease so that a retry (or a resume) can claim it at once.
                let released = record.released(Some(e.to_string()));
                let permanent = !e.is_retryable();
                let next = if permanent {
                    record.failed_with(e.to_string(), OffsetDateTime::now_utc())
                } else {
                    released
                };
                if let Err(store_error) = self.store.put(&next, Some(record.revision)).await {
                    tracing::warn!(import_id, error = %store_error, "could not release the import after an error");
                }
                if permanent {
                    tracing::error!(import_id, error = %e, "import failed");
                    Ok(RunOutcome::Failed {
                        error: e.to_string(),
                    })
                } else {
                    Err(e)
                }
            }
            Err(PageError::Lost) => self.lost(import_id).await,
        }
    }

    /// The loop over pages; `record` is kept equal to the stored record.
    async fn pages(
        &self,
        record: &mut ImportRecord,
        deadline: Option<Instant>,
    ) -> Result<RunOutcome, PageError> {
        let mapping = self
            .mappings
            .get(&record.object)
            .await
            .map_err(RunError::Mapping)?
            .ok_or_else(|| {
                RunError::Mapping(StoreError::NotFound {
                    object: record.object.clone(),
                })
            })?
            .mapping;
        let soql = import_soql(&mapping, record.filter.as_deref());
        let org_id = self.reader.org_id().await.map_err(RunError::from)?;
        let mut pages = 0usize;
        let mut enqueued_here = 0u64;
        loop {
            let (page, next): (RestPage, Checkpoint) = match record.checkpoint.clone() {
                Checkpoint::Done => {
                    self.save(record, record.completed(OffsetDateTime::now_utc()))
                        .await?;
                    return Ok(RunOutcome::Completed {
                        enqueued: enqueued_here,
                        pages,
                    });
                }
                Checkpoint::Start if record.method == ImportMethod::Bulk => {
                    let job_id = self
                        .reader
                        .bulk_start(&soql)
                        .await
                        .map_err(RunError::from)?;
                    tracing::info!(import_id = %record.id, job_id, "bulk query job complete");
                    let next = record.advanced(
                        Checkpoint::Bulk {
                            job_id,
                            locator: None,
                        },
                        0,
                    );
                    self.save(record, next).await?;
                    continue;
                }
                Checkpoint::Start => {
                    let page = self
                        .reader
                        .query_first(&soql, self.settings.rest_page_size)
                        .await
                        .map_err(RunError::from)?;
                    let next = rest_next(&page);
                    (page, next)
                }
                Checkpoint::Rest { next_records_url } => {
                    let page = self
                        .reader
                        .query_next(&next_records_url)
                        .await
                        .map_err(RunError::from)?;
                    let next = rest_next(&page);
                    (page, next)
                }
                Checkpoint::Bulk { job_id, locator } => {
                    let page = self
                        .reader
                        .bulk_page(&job_id, locator.as_deref(), self.settings.bulk_page_size)
                        .await
                        .map_err(RunError::from)?;
                    let next = match &page.next {
                        Some(l) => Checkpoint::Bulk {
                            job_id,
                            locator: Some(l.clone()),
                        },
                        None => Checkpoint::Done,
                    };
                    (page, next)
                }
            };

            let received_at = OffsetDateTime::now_utc();
            let mut items = Vec::with_capacity(page.records.len());
            for raw in &page.records {
                let source = Source::Import {
                    import_id: record.id.clone(),
                    force: record.force,
                };
                match to_work_item(raw, &org_id, &record.object, source, received_at) {
                    Ok(item) => items.push(item),
                    Err(e @ ConvertError::MissingId { .. }) => {
                        let error = e.to_string();
                        self.save(
                            record,
                            record.failed_with(error.clone(), OffsetDateTime::now_utc()),
                        )
                        .await?;
                        return Ok(RunOutcome::Failed { error });
                    }
                }
            }
            drop(page);
            for chunk in items.chunks(self.settings.publish_chunk.max(1)) {
                self.publisher
                    .publish(chunk)
                    .await
                    .map_err(RunError::Publish)?;
            }
            let n = items.len() as u64;
            drop(items);
            pages += 1;
            enqueued_here += n;
            let done = next == Checkpoint::Done;
            self.save(record, record.advanced(next, n)).await?;
            tracing::info!(import_id = %record.id, page = pages, records = n, enqueued = record.enqueued, "page enqueued");
            if done {
                continue;
            }
            let near_deadline = deadline.is_some_and(|d| {
                d.saturating_duration_since(Instant::now()) < self.settings.deadline_margin
            });
            let page_cap = self.settings.max_pages_per_run.is_some_and(|m| pages >= m);
            if near_deadline || page_cap {
                self.save(record, record.released(None)).await?;
                self.continuation
                    .continue_import(&record.id)
                    .await
                    .map_err(RunError::from)?;
                tracing::info!(import_id = %record.id, "handed over to a fresh invocation");
                return Ok(RunOutcome::HandedOver {
                    enqueued: enqueued_here,
                    pages,
                });
            }
        }
    }

    /// Writes `next` over `current` (revision check); a conflict means a cancel or another
    /// invocation: this run stops.
    async fn save(&self, current: &mut ImportRecord, next: ImportRecord) -> Result<(), PageError> {
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

fn rest_next(page: &RestPage) -> Checkpoint {
    match &page.next {
        Some(url) => Checkpoint::Rest {
            next_records_url: url.clone(),
        },
        None => Checkpoint::Done,
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
    use crate::import::ports::{DeletedWindow, MemoryContinuation, MemoryImportStore};
    use crate::mapping::store::{MemoryMappingStore, StoredMapping};
    use crate::queue::{MemoryQueue, PublishPolicy};
    use async_trait::async_trait;
    use serde_json::{Value, json};

    /// Pages of `per_page` records `r0..rN`; `bad` makes the record at that index lack its Id;
    /// `permanent_error` makes every read fail with a non-retryable error.
    #[derive(Debug)]
    struct FakeReader {
        total: usize,
        per_page: usize,
        bad: Option<usize>,
        permanent_error: bool,
    }

    impl FakeReader {
        fn page(&self, start: usize) -> Result<RestPage, ReadError> {
            if self.permanent_error {
                return Err(ReadError {
                    operation: "query",
                    message: "MALFORMED_QUERY".into(),
                    retryable: false,
                    source: None,
                });
            }
            let end = (start + self.per_page).min(self.total);
            let records = (start..end)
                .map(|i| {
                    let mut r = json!({"Id": format!("r{i}"), "Name": format!("n{i}"), "SystemModstamp": "2026-11-28T10:00:00.000Z"});
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
            Ok(RestPage {
                records,
                next: (end < self.total).then(|| end.to_string()),
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
        async fn query_first(&self, _: &str, _: u32) -> Result<RestPage, ReadError> {
            self.page(0)
        }
        async fn query_next(&self, next: &str) -> Result<RestPage, ReadError> {
            self.page(next.parse().unwrap_or(0))
        }
        async fn bulk_start(&self, _: &str) -> Result<String, ReadError> {
            Ok("750job".into())
        }
        async fn bulk_page(
            &self,
            _: &str,
            locator: Option<&str>,
            _: u32,
        ) -> Result<RestPage, ReadError> {
            self.page(locator.and_then(|l| l.parse().ok()).unwrap_or(0))
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
    }

    async fn make_runner(
        reader: FakeReader,
        with_mapping: bool,
    ) -> (ImportRunner, Arc<MemoryQueue>) {
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
                    },
                    None,
                )
                .await
                .unwrap();
        }
        let queue = Arc::new(MemoryQueue::new());
        let runner = ImportRunner {
            store: Arc::new(MemoryImportStore::new()),
            mappings,
            reader: Arc::new(reader),
            publisher: Publisher::new(queue.clone(), PublishPolicy::default()),
            continuation: Arc::new(MemoryContinuation::new()),
            settings: RunSettings::default(),
        };
        (runner, queue)
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

    #[tokio::test]
    async fn bulk_and_rest_runs_complete() {
        for threshold in [1, 1_000_000] {
            let reader = FakeReader {
                total: 45,
                per_page: 10,
                bad: None,
                permanent_error: false,
            };
            let (runner, queue) = make_runner(reader, true).await;
            runner
                .store
                .put(&record(45, threshold), None)
                .await
                .unwrap();
            let out = runner.run("imp-1", "a", None).await.unwrap();
            assert_eq!(
                out,
                RunOutcome::Completed {
                    enqueued: 45,
                    pages: 5
                }
            );
            assert_eq!(queue.messages().len(), 45);
        }
    }

    #[tokio::test]
    async fn permanent_problems_fail_the_import() {
        // A record without Id.
        let reader = FakeReader {
            total: 30,
            per_page: 10,
            bad: Some(15),
            permanent_error: false,
        };
        let (runner, queue) = make_runner(reader, true).await;
        runner.store.put(&record(30, 1000), None).await.unwrap();
        let out = runner.run("imp-1", "a", None).await.unwrap();
        assert!(matches!(out, RunOutcome::Failed { .. }), "{out:?}");
        assert_eq!(queue.messages().len(), 10, "the pages before it are queued");
        let stored = runner.store.get("imp-1").await.unwrap().unwrap();
        assert_eq!(stored.status, ImportStatus::Failed);
        assert!(stored.last_error.unwrap().contains("no Id"));

        // A non-retryable Salesforce error.
        let reader = FakeReader {
            total: 30,
            per_page: 10,
            bad: None,
            permanent_error: true,
        };
        let (runner, _) = make_runner(reader, true).await;
        runner.store.put(&record(30, 1000), None).await.unwrap();
        let out = runner.run("imp-1", "a", None).await.unwrap();
        assert!(
            matches!(out, RunOutcome::Failed { ref error } if error.contains("MALFORMED_QUERY")),
            "{out:?}"
        );

        // No mapping applied.
        let reader = FakeReader {
            total: 30,
            per_page: 10,
            bad: None,
            permanent_error: false,
        };
        let (runner, _) = make_runner(reader, false).await;
        runner.store.put(&record(30, 1000), None).await.unwrap();
        let out = runner.run("imp-1", "a", None).await.unwrap();
        assert!(matches!(out, RunOutcome::Failed { .. }), "{out:?}");
        assert!(
            runner
                .create("X__c", None, 10, false, OffsetDateTime::now_utc())
                .await
                .is_err()
        );
    }
}
