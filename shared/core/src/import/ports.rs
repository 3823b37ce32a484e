//! The ports the import run and the sweep need, and in-memory implementations.

use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::model::{ImportRecord, SweepState};
use super::records::RawRecord;
use crate::salesforce_setup::{LiveFlow, LiveOutboundMessage};

#[derive(Debug, thiserror::Error)]
pub enum ImportStoreError {
    #[error(
        "{key} changed meanwhile (expected revision {expected:?}); read it again (another invocation or a cancel wrote it)"
    )]
    Conflict { key: String, expected: Option<u64> },
    #[error("no import {id} (see `sfhs import list`)")]
    NotFound { id: String },
    #[error("the stored item {key} cannot be read: {message}")]
    Corrupt { key: String, message: String },
    #[error("the imports table failed: {message}")]
    Unavailable {
        message: String,
        retryable: bool,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

store_error_methods!(ImportStoreError);

/// The imports/state table: import records and the sweep's per-object state.
///
/// Writes of the import run and the CLI are conditional on the revision; the worker's counters
/// (`synced`, `failed`) are separate atomic additions that neither check nor change it, and that
/// [`ImportStore::put`] never overwrites.
#[async_trait]
pub trait ImportStore: Send + Sync + fmt::Debug {
    /// Writes `next` if the stored revision is `expected` (`None`: the import must not exist).
    /// `synced` and `failed` of `next` are ignored (kept as stored; 0 on create).
    async fn put(&self, next: &ImportRecord, expected: Option<u64>)
    -> Result<(), ImportStoreError>;
    async fn get(&self, id: &str) -> Result<Option<ImportRecord>, ImportStoreError>;
    /// Every import, newest first.
    async fn list(&self) -> Result<Vec<ImportRecord>, ImportStoreError>;
    /// Adds to the worker's counters, atomically. An unknown import: `NotFound`.
    async fn record_progress(
        &self,
        id: &str,
        progress: ImportProgress,
    ) -> Result<(), ImportStoreError>;
    async fn get_sweep(&self, object: &str) -> Result<Option<SweepState>, ImportStoreError>;
    /// Writes `next` if the stored revision is `expected` (`None`: no state yet).
    async fn put_sweep(
        &self,
        next: &SweepState,
        expected: Option<u64>,
    ) -> Result<(), ImportStoreError>;
}

/// The store key of an object's sweep state.
pub fn sweep_key(object: &str) -> String {
    format!("sweep#{}", object.to_ascii_lowercase())
}

/// A Salesforce failure, as the import sees it.
#[derive(Debug, thiserror::Error)]
#[error("Salesforce {operation} failed: {message}")]
pub struct ReadError {
    pub operation: &'static str,
    pub message: String,
    pub retryable: bool,
    /// What the failure means for a checkpoint's cursor.
    pub kind: ReadErrorKind,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ReadError {
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

/// What a Salesforce failure means for the import's checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadErrorKind {
    #[default]
    Other,
    /// The REST cursor (`nextRecordsUrl`) is gone (`INVALID_QUERY_LOCATOR`: Salesforce drops
    /// one idle for 15 minutes): the import queries again from its key.
    CursorExpired,
    /// The Bulk job's results are gone (kept 7 days; 404) or the job stopped: the import creates
    /// the job again from its key.
    JobGone,
}

/// One page of records and where the next one is (`None`: the last page).
#[derive(Debug, Clone, Default)]
pub struct RestPage {
    pub records: Vec<RawRecord>,
    pub next: Option<String>,
}

/// One window of Salesforce's deleted records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedWindow {
    /// `(id, deletedDate)`.
    pub records: Vec<(String, OffsetDateTime)>,
    pub earliest_date_available: OffsetDateTime,
    pub latest_date_covered: OffsetDateTime,
}

/// What the import and the sweep read from Salesforce, page by page so that every page boundary
/// can be checkpointed. The production adapter wraps `sfhs_salesforce::Client`.
#[async_trait]
pub trait SalesforceReader: Send + Sync + fmt::Debug {
    /// The org id work items carry.
    async fn org_id(&self) -> Result<String, ReadError>;
    /// `SELECT COUNT() FROM object [WHERE condition]`.
    async fn count(&self, object: &str, condition: Option<&str>) -> Result<u64, ReadError>;
    /// The first page of a REST query.
    async fn query_first(&self, soql: &str, page_size: u32) -> Result<RestPage, ReadError>;
    /// The page at a `nextRecordsUrl`.
    async fn query_next(&self, next_records_url: &str) -> Result<RestPage, ReadError>;
    /// Creates a Bulk API 2.0 query job and waits until its results can be read; the job id.
    async fn bulk_start(&self, soql: &str) -> Result<String, ReadError>;
    /// One page of a completed job's results (`locator` `None`: the first page); rows as
    /// records (empty cell = null). `next` is the next page's locator.
    async fn bulk_page(
        &self,
        job_id: &str,
        locator: Option<&str>,
        max_records: u32,
    ) -> Result<RestPage, ReadError>;
    /// Deleted records of `object` from `start` to `end` (Salesforce's windows, merged).
    async fn deleted(
        &self,
        object: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Result<DeletedWindow, ReadError>;
    /// The org's outbound messages with the fields each sends (Tooling API
    /// `WorkflowOutboundMessage`), whoever made them.
    async fn outbound_messages(&self) -> Result<Vec<LiveOutboundMessage>, ReadError>;
    /// The flows named `names` the org holds, with their active version's entry conditions and
    /// actions (Tooling API `FlowDefinition`, `Flow`).
    async fn flows(&self, names: &[String]) -> Result<Vec<LiveFlow>, ReadError>;
}

#[derive(Debug, thiserror::Error)]
#[error("could not hand import {import_id} over to a fresh invocation: {message}")]
pub struct ContinuationError {
    pub import_id: String,
    pub message: String,
    pub retryable: bool,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// Starts a fresh run of an import (Lambda: `lambda:Invoke` with `InvocationType=Event` of the
/// import function itself).
#[async_trait]
pub trait Continuation: Send + Sync + fmt::Debug {
    async fn continue_import(&self, import_id: &str) -> Result<(), ContinuationError>;
}

/// The continuation of a process that runs its own imports (`sfhs dev`): each import handed on
/// goes to the process's receiver, which runs it.
#[derive(Debug, Clone)]
pub struct InProcessContinuation {
    to: tokio::sync::mpsc::UnboundedSender<String>,
}

impl InProcessContinuation {
    /// The continuation and the receiver of the import ids it is handed.
    pub fn new() -> (Self, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let (to, from) = tokio::sync::mpsc::unbounded_channel();
        (Self { to }, from)
    }
}

#[async_trait]
impl Continuation for InProcessContinuation {
    async fn continue_import(&self, import_id: &str) -> Result<(), ContinuationError> {
        self.to.send(import_id.to_owned()).map_err(|_| ContinuationError {
            import_id: import_id.to_owned(),
            message: "nothing runs imports any more (the process is stopping)".to_owned(),
            retryable: false,
            source: None,
        })
    }
}

/// What the worker adds to an import's counters for one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportProgress {
    /// Records acked as synced (written, or HubSpot already held them as they are).
    pub synced: u64,
    pub failed: u64,
    /// Of `synced`: records HubSpot already held as they are (nothing written).
    pub unchanged: u64,
}

impl ImportProgress {
    /// Adds these counts to a stored record (the in-memory and local stores).
    pub fn add_to(self, record: &mut ImportRecord) {
        record.synced += self.synced;
        record.failed += self.failed;
        record.unchanged += self.unchanged;
    }
}

pub use crate::memory::{MemoryContinuation, MemoryImportStore};
