//! The batch flow: decode, mappings, collapse, claim, convert, upsert/archive, associations,
//! commit. See the module documentation of [`super`] and `docs/worker.md`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::stream::{self, StreamExt};
use time::OffsetDateTime;
use tracing::Instrument;

use super::digest::content_digest;
use super::ports::{
    Claim, Commit, CreateRecord, ErrorCategory, ErrorRecord, ErrorStore, HubSpotWriter, Ledger,
    LedgerEntry, NewAssociation, ParentLink, UpsertRecord, Upserted, WriteError, WriteErrorKind,
    WriteFailure, ledger_key, parent_key,
};
use super::version::{VersionSource, millis, record_version};
use crate::emf::Emf;
use crate::import::{ImportProgress, ImportStore};
use crate::mapping::convert::{ConversionError, convert, infer_sf_type};
use crate::mapping::schema::HsObject;
use crate::mapping::store::{CachedMappings, StoredMapping, key as mapping_key};
use crate::mapping::{FindParentBy, OnDelete, State};
use crate::work_item::{Op, Source, WorkItem, WorkItemError};

/// HubSpot's largest batch.
const CHUNK: usize = 100;
/// Most entries kept in the cache of parents found by property.
const PARENT_CACHE_MAX: usize = 200_000;
/// How long a parent found by a property is remembered in the ledger for every worker (a
/// parent merged or deleted in HubSpot meanwhile fails its association, which is an error
/// record to replay once the memory has expired).
const PARENT_MEMORY: Duration = Duration::from_secs(24 * 3600);
/// How long an object's records are upserted rather than created after a create call found
/// records HubSpot already had (records this ledger does not know: a lost commit, a migration).
const CREATE_BACKOFF: Duration = Duration::from_secs(600);

/// Which association of which job: (job index, association index).
type Slot = (usize, usize);

/// One queue message.
#[derive(Debug, Clone)]
pub struct InMessage {
    pub message_id: String,
    pub body: String,
    /// Deliveries so far (SQS `ApproximateReceiveCount`), 1 on the first.
    pub receive_count: u32,
}

/// Tuning of an [`Engine`].
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// This worker's lease owner id (unique per process).
    pub owner: String,
    /// How long a claim holds a record. Must exceed the longest HubSpot write (the engine does not
    /// start a write with less than half of it left).
    pub lease: Duration,
    /// How long a child waits for its parent, from `received_at`, before it becomes an error.
    pub parent_wait: Duration,
    /// How long HubSpot schemas are cached.
    pub schema_ttl: Duration,
    /// Ledger calls in flight at once.
    pub concurrency: usize,
    /// HubSpot writes (chunks of 100) in flight at once for one batch: a batch of 1,000 (the
    /// import queue's) goes out in one round, so that few workers keep the budget busy (the
    /// rate limiter still paces them).
    pub write_concurrency: usize,
    /// The queue's `maxReceiveCount` (0: unknown). A child still waiting for its parent on its
    /// last delivery becomes an error record instead of going to the DLQ.
    pub max_receives: u32,
}

impl EngineConfig {
    pub fn new(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            lease: Duration::from_secs(180),
            parent_wait: Duration::from_secs(24 * 3600),
            schema_ttl: Duration::from_secs(60),
            concurrency: 16,
            write_concurrency: 10,
            max_receives: 0,
        }
    }
}

/// What a batch did, for the EMF line and for tests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchReport {
    pub records_in: u64,
    pub undecodable: u64,
    pub dropped_unmapped: u64,
    pub dropped_paused: u64,
    pub dropped_before_enable: u64,
    pub duplicates: u64,
    pub dropped_stale: u64,
    pub leased: u64,
    /// New versions HubSpot already holds as they are (same content digest): committed, not
    /// written.
    pub unchanged: u64,
    pub upserted: u64,
    pub created: u64,
    pub archived: u64,
    pub tombstoned: u64,
    pub associations_created: u64,
    pub associations_removed: u64,
    pub waiting: u64,
    pub failed: u64,
    pub retried: u64,
    pub lost_leases: u64,
    pub versions_from_received_at: u64,
    pub hubspot_calls: u64,
    pub rate_limited: u64,
    pub daily_limit: bool,
    /// Mapped fields absent from an outbound message that is not known to send them: their
    /// HubSpot properties were left as they are (invariant 9).
    pub fields_not_sent: u64,
    pub written: u64,
    pub latency_version_ms_sum: f64,
    pub latency_version_ms_max: f64,
    pub latency_received_ms_sum: f64,
    pub latency_received_ms_max: f64,
    pub duration_ms: f64,
}

impl BatchReport {
    /// The batch's EMF metrics line (namespace `sfhs`, dimension `Function=worker`).
    pub fn to_emf(&self) -> Emf {
        let avg = |sum: f64, n: u64| {
            if n == 0 {
                0.0
            } else {
                #[allow(clippy::cast_precision_loss)]
                let n = n as f64;
                sum / n
            }
        };
        Emf::new("sfhs")
            .dimension("Function", "worker")
            .count("RecordsIn", self.records_in)
            .count("Undecodable", self.undecodable)
            .count("Upserted", self.upserted)
            .count("Unchanged", self.unchanged)
            .count("Created", self.created)
            .count("Archived", self.archived)
            .count("DroppedStale", self.dropped_stale)
            .count("Duplicates", self.duplicates)
            .count(
                "DroppedUnmapped",
                self.dropped_unmapped + self.dropped_paused,
            )
            .count("DroppedBeforeEnable", self.dropped_before_enable)
            .count("Waiting", self.waiting)
            .count("Failed", self.failed)
            .count("Retried", self.retried)
            .count("LeaseHeld", self.leased)
            .count("HubSpotCalls", self.hubspot_calls)
            .count("HubSpot429s", self.rate_limited)
            .count("DailyLimitStop", u64::from(self.daily_limit))
            .count("FieldsNotSent", self.fields_not_sent)
            .millis(
                "LatencyFromVersion",
                avg(self.latency_version_ms_sum, self.written),
            )
            .millis("LatencyFromVersionMax", self.latency_version_ms_max)
            .millis(
                "LatencyFromReceived",
                avg(self.latency_received_ms_sum, self.written),
            )
            .millis("LatencyFromReceivedMax", self.latency_received_ms_max)
            .millis("Duration", self.duration_ms)
    }
}

/// The answer for one batch.
#[derive(Debug, Clone, Default)]
pub struct BatchResult {
    /// Message ids to hand back to the queue (batch item failures).
    pub retry: Vec<String>,
    pub report: BatchReport,
}

/// The sync engine. Build it once per process; `process` may run concurrently.
#[derive(Debug)]
pub struct Engine {
    mappings: Arc<CachedMappings>,
    ledger: Arc<dyn Ledger>,
    hubspot: Arc<dyn HubSpotWriter>,
    errors: Arc<dyn ErrorStore>,
    config: EngineConfig,
    schemas: Mutex<HashMap<String, (Instant, Arc<HsObject>)>>,
    parents_by_property: Mutex<HashMap<(String, String, String), String>>,
    /// HubSpot object -> until when its new records are upserted instead of created.
    create_backoff: Mutex<HashMap<String, Instant>>,
    daily_until: Mutex<Option<OffsetDateTime>>,
    imports: Option<Arc<dyn ImportStore>>,
}

#[derive(Debug, Clone, PartialEq)]
enum St {
    /// Claimed, in progress.
    Active,
    /// Hand back to the queue.
    Retry(String),
    /// Permanent failure before anything was written: error record, ack.
    Failed,
    /// Written (or archived); commit.
    Written,
    /// HubSpot already holds this content (the ledger's digest): commit the version, write
    /// nothing.
    Unchanged,
    /// Stale: nothing to do, ack.
    Dropped,
}

#[derive(Debug)]
struct Job {
    message_id: String,
    body: String,
    receive_count: u32,
    item: WorkItem,
    mapping: StoredMapping,
    key: String,
    version: i64,
    claimed: bool,
    claimed_at: Instant,
    prior: LedgerEntry,
    properties: BTreeMap<String, String>,
    hubspot_id: Option<String>,
    parents: BTreeMap<String, ParentLink>,
    waiting_for: Vec<String>,
    /// The content digest of `properties` and the associations (active upserts, once converted).
    digest: Option<String>,
    error: Option<ErrorRecord>,
    st: St,
}

/// Import id -> what this batch adds to its counters.
type Progress = HashMap<String, ImportProgress>;

/// How an import's record ended, for its counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tally {
    Synced,
    Unchanged,
    Failed,
}

fn tally(progress: &mut Progress, import_id: &str, how: Tally) {
    let e = progress.entry(import_id.to_owned()).or_default();
    match how {
        Tally::Synced => e.synced += 1,
        Tally::Unchanged => {
            e.synced += 1;
            e.unchanged += 1;
        }
        Tally::Failed => e.failed += 1,
    }
}

fn count(progress: &mut Progress, item: &WorkItem, synced: bool) {
    if let Source::Import { import_id, .. } = &item.source {
        let how = if synced { Tally::Synced } else { Tally::Failed };
        tally(progress, import_id, how);
    }
}

/// Whether a work item is written even when HubSpot holds its content already: a reconcile
/// repairs what was changed by hand in HubSpot; `import start --force` rewrites everything.
fn rewrites(item: &WorkItem) -> bool {
    matches!(
        item.source,
        Source::Reconcile | Source::Import { force: true, .. }
    )
}

/// Invariant 10: a record whose new version converts to what the ledger last wrote (same
/// digest, nothing pending) is not written again; it is committed at its new version.
fn skip_unchanged(jobs: &mut [Job], report: &mut BatchReport) {
    for j in jobs
        .iter_mut()
        .filter(|j| j.st == St::Active && j.item.op == Op::Upsert && !rewrites(&j.item))
    {
        let p = &j.prior;
        if j.digest.is_some()
            && p.digest == j.digest
            && !p.deleted
            && !p.waiting
            && p.hubspot_id.is_some()
        {
            j.hubspot_id = p.hubspot_id.clone();
            j.parents = p.parents.clone();
            j.st = St::Unchanged;
            report.unchanged += 1;
        }
    }
}

/// How one record ended.
#[derive(Debug, Default)]
struct Done {
    /// The message id to hand back.
    back: Option<String>,
    waiting: bool,
    failed: bool,
    deleted: bool,
    lost: bool,
    /// How an acked import item ended, for its import's counters.
    import: Option<(String, Tally)>,
}

/// (child HubSpot id, parent HubSpot id, job index).
type PairOf = (String, String, usize);
/// (child HubSpot id, parent HubSpot id, job index, association index).
type NewPair = (String, String, usize, usize);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Job {
    fn retry(&mut self, why: impl Into<String>) {
        if matches!(self.st, St::Active | St::Written) {
            self.st = St::Retry(why.into());
        }
    }

    fn fail(
        &mut self,
        category: ErrorCategory,
        field: Option<String>,
        value: Option<String>,
        message: String,
    ) {
        self.error = Some(self.error_record(category, field, value, message));
        if self.st == St::Active {
            self.st = St::Failed;
        }
    }

    fn error_record(
        &self,
        category: ErrorCategory,
        field: Option<String>,
        value: Option<String>,
        message: String,
    ) -> ErrorRecord {
        ErrorRecord {
            id: self.key.clone(),
            category,
            object: self.item.sobject.clone(),
            record_id: self.item.record_id.clone(),
            field,
            value,
            message,
            attempts: self.receive_count,
            work_item: self.body.clone(),
            at: OffsetDateTime::now_utc(),
        }
    }

    fn hs_object(&self) -> &str {
        &self.mapping.mapping.hubspot_object
    }

    fn id_property(&self) -> &str {
        &self.mapping.mapping.id_property
    }
}

fn field_value<'a>(item: &'a WorkItem, name: &str) -> Option<&'a Option<String>> {
    item.fields.get(name).or_else(|| {
        item.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// A field absent from an outbound-message notification whose message is not known to send it:
/// absent does not mean null there. Imports and reconciles select every field.
fn not_known_sent(item: &WorkItem, mapping: &StoredMapping, field: &str) -> bool {
    matches!(item.source, Source::OutboundMessage { .. }) && !mapping.outbound_sends(field)
}

/// Per-record results of one HubSpot write, by Salesforce id.
type Outcomes = HashMap<String, Result<Upserted, WriteFailure>>;

/// One HubSpot write of up to 100 records of one object: the jobs it carries (`idx`), their
/// payload in the same order, and the oldest claim among them.
struct ChunkCall<R> {
    object: String,
    id_property: String,
    idx: Vec<usize>,
    records: Vec<R>,
    oldest_claim: Instant,
}

/// Why a chunk was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NotSent {
    DailyLimit,
    LeaseShort,
}

impl NotSent {
    fn reason(self) -> &'static str {
        match self {
            Self::DailyLimit => "HubSpot daily limit reached",
            Self::LeaseShort => "lease too short to start the write",
        }
    }
}

/// The jobs `idx` grouped by (HubSpot object, id property), in chunks of [`CHUNK`], each record
/// made by `record`.
fn chunk_calls<R>(jobs: &[Job], idx: &[usize], record: impl Fn(&Job) -> R) -> Vec<ChunkCall<R>> {
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for &i in idx {
        let j = &jobs[i];
        groups
            .entry((j.hs_object().to_owned(), j.id_property().to_owned()))
            .or_default()
            .push(i);
    }
    let mut calls = Vec::new();
    for ((object, id_property), members) in groups {
        for chunk in members.chunks(CHUNK) {
            calls.push(ChunkCall {
                object: object.clone(),
                id_property: id_property.clone(),
                idx: chunk.to_vec(),
                records: chunk.iter().map(|&i| record(&jobs[i])).collect(),
                oldest_claim: chunk
                    .iter()
                    .map(|&i| jobs[i].claimed_at)
                    .min()
                    .unwrap_or_else(Instant::now),
            });
        }
    }
    calls
}

/// A lookup's value: Salesforce leaves null fields out of outbound messages, so absent, nil and
/// blank all mean "no parent".
fn lookup_value(item: &WorkItem, lookup: &str) -> Option<String> {
    field_value(item, lookup)
        .cloned()
        .flatten()
        .filter(|v| !v.trim().is_empty())
}

/// Records a write HubSpot confirmed: counters, latencies, the HubSpot id.
fn written(j: &mut Job, up: Upserted, report: &mut BatchReport, now_ms: i64) {
    report.upserted += 1;
    report.created += u64::from(up.created);
    #[allow(clippy::cast_precision_loss)]
    {
        let lv = (now_ms - j.version).max(0) as f64;
        let lr = (now_ms - millis(j.item.received_at)).max(0) as f64;
        report.written += 1;
        report.latency_version_ms_sum += lv;
        report.latency_version_ms_max = report.latency_version_ms_max.max(lv);
        report.latency_received_ms_sum += lr;
        report.latency_received_ms_max = report.latency_received_ms_max.max(lr);
    }
    j.hubspot_id = Some(up.hubspot_id);
    j.st = St::Written;
}

fn conversion_category(e: &ConversionError) -> ErrorCategory {
    match e {
        ConversionError::NotAnOption { .. } => ErrorCategory::Picklist,
        _ => ErrorCategory::Validation,
    }
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
            mappings,
            ledger,
            hubspot,
            errors,
            config,
            schemas: Mutex::new(HashMap::new()),
            parents_by_property: Mutex::new(HashMap::new()),
            create_backoff: Mutex::new(HashMap::new()),
            daily_until: Mutex::new(None),
            imports: None,
        }
    }

    /// Keeps the counters (`synced`, `failed`) of the imports whose items pass through.
    #[must_use]
    pub fn with_imports(mut self, imports: Arc<dyn ImportStore>) -> Self {
        self.imports = Some(imports);
        self
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Processes one batch. Never fails: what cannot be done now is in `retry`.
    pub async fn process(&self, messages: Vec<InMessage>) -> BatchResult {
        let started = Instant::now();
        let before = self.hubspot.stats();
        let mut report = BatchReport {
            records_in: messages.len() as u64,
            ..BatchReport::default()
        };
        let mut retry: Vec<String> = Vec::new();
        let mut progress = Progress::default();
        let mut jobs = self
            .prepare(messages, &mut report, &mut retry, &mut progress)
            .await;

        if self.daily_stopped(&mut report) {
            // No claim, no call: everything waits for the daily reset.
            for j in &mut jobs {
                j.retry("HubSpot daily limit reached");
            }
        } else {
            self.claim(&mut jobs, &mut report).await;
            self.convert(&mut jobs, &mut report).await;
            skip_unchanged(&mut jobs, &mut report);
            self.write(&mut jobs, &mut report).await;
            self.associate(&mut jobs, &mut report).await;
        }
        self.finish(jobs, &mut report, &mut retry, &mut progress)
            .await;
        self.record_progress(progress).await;

        let after = self.hubspot.stats();
        report.hubspot_calls = after.calls.saturating_sub(before.calls);
        report.rate_limited = after.rate_limited.saturating_sub(before.rate_limited);
        report.retried = retry.len() as u64;
        report.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        BatchResult { retry, report }
    }

    /// Adds this batch's import outcomes to the import records (best effort: a failure is
    /// logged, the batch is not retried for it, which would count the others twice).
    async fn record_progress(&self, progress: Progress) {
        let Some(store) = &self.imports else {
            return;
        };
        for (id, p) in progress {
            if let Err(e) = store.record_progress(&id, p).await {
                tracing::warn!(import_id = %id, synced = p.synced, failed = p.failed, unchanged = p.unchanged, error = %e, "import counters not updated");
            }
        }
    }

    fn daily_stopped(&self, report: &mut BatchReport) -> bool {
        let mut d = lock(&self.daily_until);
        match *d {
            Some(until) if OffsetDateTime::now_utc() < until => {
                report.daily_limit = true;
                true
            }
            Some(_) => {
                *d = None;
                false
            }
            None => false,
        }
    }

    fn note_daily(&self, e: &WriteError, report: &mut BatchReport) {
        if let WriteErrorKind::DailyLimit { reset_at } = e.kind {
            *lock(&self.daily_until) = Some(reset_at);
            report.daily_limit = true;
            tracing::error!(%reset_at, "HubSpot daily API limit reached: writes stop until the reset; every record goes back to the queue");
        }
    }

    /// Decode, mapping filters, versions, collapse.
    async fn prepare(
        &self,
        messages: Vec<InMessage>,
        report: &mut BatchReport,
        retry: &mut Vec<String>,
        progress: &mut Progress,
    ) -> Vec<Job> {
        let mut decoded = Vec::with_capacity(messages.len());
        for m in messages {
            match WorkItem::from_json(&m.body) {
                Ok(item) => decoded.push((m, item)),
                Err(WorkItemError::UnknownVersion { version }) => {
                    tracing::warn!(message_id = %m.message_id, version, "work item of an unknown schema version; back to the queue (DLQ after maxReceiveCount)");
                    retry.push(m.message_id);
                }
                Err(e) => {
                    report.undecodable += 1;
                    report.failed += 1;
                    tracing::error!(message_id = %m.message_id, error = %e, "undecodable message; recorded as an error");
                    let rec = ErrorRecord {
                        id: format!("undecodable#{}", m.message_id),
                        category: ErrorCategory::Unknown,
                        object: String::new(),
                        record_id: String::new(),
                        field: None,
                        value: None,
                        message: e.to_string(),
                        attempts: m.receive_count,
                        work_item: m.body.clone(),
                        at: OffsetDateTime::now_utc(),
                    };
                    if let Err(e) = self.errors.put(&rec).await {
                        tracing::warn!(error = %e, "could not record the error; back to the queue");
                        retry.push(m.message_id);
                    }
                }
            }
        }
        if decoded.is_empty() {
            return Vec::new();
        }
        let mappings = match self.mappings.get().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "mappings unavailable; the whole batch goes back to the queue");
                retry.extend(decoded.into_iter().map(|(m, _)| m.message_id));
                return Vec::new();
            }
        };
        let mut by_key: HashMap<String, usize> = HashMap::new();
        let mut jobs: Vec<Job> = Vec::new();
        for (m, item) in decoded {
            let Some(stored) = mappings.get(&mapping_key(&item.sobject)) else {
                count(progress, &item, false);
                report.dropped_unmapped += 1;
                tracing::debug!(sobject = %item.sobject, "no mapping; dropped");
                continue;
            };
            if stored.mapping.state != State::Enabled {
                count(progress, &item, false);
                report.dropped_paused += 1;
                continue;
            }
            let (version, source) = record_version(&item, &stored.mapping.version_field);
            // A delete without a version (a reconcile's orphan) is ordered by its receipt; no
            // outbound message can be changed to carry one, so there is nothing to advise.
            if source == VersionSource::ReceivedAt && item.op == Op::Upsert {
                report.versions_from_received_at += 1;
                tracing::warn!(
                    sobject = %item.sobject, record_id = %item.record_id, field = %stored.mapping.version_field,
                    "no readable version field: ordering by receive time (select SystemModstamp in the outbound message)"
                );
            }
            if matches!(item.source, Source::OutboundMessage { .. })
                && let Some(enabled_at) = stored.enabled_at
                && version < millis(enabled_at)
            {
                report.dropped_before_enable += 1;
                continue;
            }
            let key = ledger_key(&item.sobject, &item.record_id);
            let job = Job {
                message_id: m.message_id,
                body: m.body,
                receive_count: m.receive_count,
                mapping: stored.clone(),
                key: key.clone(),
                version,
                claimed: false,
                claimed_at: Instant::now(),
                prior: LedgerEntry::default(),
                properties: BTreeMap::new(),
                hubspot_id: None,
                parents: BTreeMap::new(),
                waiting_for: Vec::new(),
                digest: None,
                error: None,
                st: St::Active,
                item,
            };
            match by_key.get(&key) {
                Some(&i) => {
                    report.duplicates += 1;
                    let rank = |j: &Job| (j.version, j.item.op == Op::Delete, j.item.received_at);
                    // The superseded one is acked: synced by the newer version.
                    if rank(&job) > rank(&jobs[i]) {
                        count(progress, &jobs[i].item, true);
                        jobs[i] = job;
                    } else {
                        count(progress, &job.item, true);
                    }
                }
                None => {
                    by_key.insert(key, jobs.len());
                    jobs.push(job);
                }
            }
        }
        jobs
    }

    async fn claim(&self, jobs: &mut [Job], report: &mut BatchReport) {
        let now = millis(OffsetDateTime::now_utc());
        let lease = i64::try_from(self.config.lease.as_millis()).unwrap_or(i64::MAX / 4);
        let owner = self.config.owner.as_str();
        let ledger = &self.ledger;
        let wanted: Vec<(usize, String, i64, bool)> = jobs
            .iter()
            .enumerate()
            .map(|(i, j)| {
                // A reconcile repairs records HubSpot lost at a version the ledger applied; an
                // import may carry a version the ledger applied under another mapping (the
                // digest then tells whether HubSpot's content changes).
                let replay = matches!(j.item.source, Source::Reconcile | Source::Import { .. })
                    && j.item.op == Op::Upsert;
                (i, j.key.clone(), j.version, replay)
            })
            .collect();
        let answers: Vec<_> = stream::iter(wanted)
            .map(|(i, key, version, replay)| async move {
                (
                    i,
                    ledger.claim(&key, version, replay, owner, now, lease).await,
                )
            })
            .buffer_unordered(self.config.concurrency.max(1))
            .collect()
            .await;
        for (i, answer) in answers {
            let j = &mut jobs[i];
            match answer {
                Ok(Claim::Claimed(prior)) => {
                    j.claimed = true;
                    j.claimed_at = Instant::now();
                    j.prior = prior;
                }
                Ok(Claim::Stale { stored, deleted }) => {
                    report.dropped_stale += 1;
                    tracing::debug!(key = %j.key, version = j.version, stored, deleted, "stale version dropped");
                    j.st = St::Dropped;
                }
                Ok(Claim::Leased { owner, until }) => {
                    report.leased += 1;
                    j.retry(format!("lease held by {owner} until {until}"));
                }
                Err(e) => {
                    tracing::warn!(key = %j.key, error = %e, "claim failed");
                    j.retry(format!("claim failed: {e}"));
                }
            }
        }
    }

    async fn schema(&self, object: &str) -> Result<Option<Arc<HsObject>>, WriteError> {
        if let Some((at, o)) = lock(&self.schemas).get(object)
            && at.elapsed() < self.config.schema_ttl
        {
            return Ok(Some(o.clone()));
        }
        let found = self.hubspot.describe(object).await?;
        Ok(found.map(|o| {
            let o = Arc::new(o);
            lock(&self.schemas).insert(object.to_owned(), (Instant::now(), o.clone()));
            o
        }))
    }

    /// Salesforce values -> HubSpot properties, for active upserts.
    async fn convert(&self, jobs: &mut [Job], report: &mut BatchReport) {
        let mut objects: Vec<String> = jobs
            .iter()
            .filter(|j| j.st == St::Active && j.item.op == Op::Upsert)
            .map(|j| j.hs_object().to_owned())
            .collect();
        objects.sort();
        objects.dedup();
        let mut schemas: HashMap<String, Result<Option<Arc<HsObject>>, WriteError>> =
            HashMap::new();
        for o in objects {
            let s = self.schema(&o).await;
            schemas.insert(o, s);
        }
        for j in jobs
            .iter_mut()
            .filter(|j| j.st == St::Active && j.item.op == Op::Upsert)
        {
            let object = match schemas.get(j.hs_object()) {
                Some(Ok(Some(o))) => o.clone(),
                Some(Ok(None)) => {
                    let msg = format!(
                        "HubSpot object {} does not exist (deleted or renamed?); fix the mapping and replay",
                        j.hs_object()
                    );
                    j.fail(ErrorCategory::NotFound, None, None, msg);
                    continue;
                }
                Some(Err(e)) if matches!(e.kind, WriteErrorKind::Permanent { .. }) => {
                    let category = match e.kind {
                        WriteErrorKind::Permanent { category } => category,
                        _ => ErrorCategory::Unknown,
                    };
                    j.fail(category, None, None, e.to_string());
                    continue;
                }
                Some(Err(e)) => {
                    j.retry(format!("HubSpot schema unavailable: {e}"));
                    continue;
                }
                None => {
                    j.retry("HubSpot schema unavailable");
                    continue;
                }
            };
            let mut props = BTreeMap::new();
            props.insert(j.id_property().to_owned(), j.item.record_id.clone());
            let mut problem = None;
            for rule in &j.mapping.mapping.fields {
                // Salesforce leaves null fields out of outbound messages: absent is null (the
                // property is cleared, or gets the field's default), but only when the message
                // is known to send the field. Otherwise the property is left as it is and the
                // gap reported (invariant 9).
                let sent = field_value(&j.item, &rule.salesforce);
                if sent.is_none() && not_known_sent(&j.item, &j.mapping, &rule.salesforce) {
                    report.fields_not_sent += 1;
                    tracing::warn!(object = %j.mapping.mapping.salesforce_object, field = %rule.salesforce, property = %rule.hubspot, "field not in the outbound message and not known to be sent by it: HubSpot property left as it is (run `sfhs salesforce apply`)");
                    continue;
                }
                let value = sent.cloned().flatten();
                let Some(prop) = object.property(&rule.hubspot) else {
                    problem = Some((
                        ErrorCategory::NotFound,
                        rule.salesforce.clone(),
                        value.clone(),
                        format!(
                            "HubSpot property {} of {} does not exist (deleted?); restore it or fix the mapping, then replay",
                            rule.hubspot,
                            j.hs_object()
                        ),
                    ));
                    break;
                };
                let sf = infer_sf_type(prop, value.as_deref());
                match convert(value.as_deref(), &sf, prop, rule) {
                    Ok(v) => {
                        props.insert(rule.hubspot.clone(), v);
                    }
                    Err(e) => {
                        problem = Some((
                            conversion_category(&e),
                            rule.salesforce.clone(),
                            value.clone(),
                            format!("{} -> {}: {e}", rule.salesforce, rule.hubspot),
                        ));
                        break;
                    }
                }
            }
            match problem {
                Some((category, field, value, message)) => {
                    j.fail(category, Some(field), value, message);
                }
                None => {
                    j.digest = Some(content_digest(
                        j.hs_object(),
                        &props,
                        &j.mapping.mapping.associations,
                        |a| lookup_value(&j.item, &a.lookup),
                    ));
                    j.properties = props;
                }
            }
        }
    }

    /// Upserts and archives, by HubSpot object, in chunks of 100.
    async fn write(&self, jobs: &mut [Job], report: &mut BatchReport) {
        // New records with their associations in one call; the rest (and any create refused)
        // are upserted.
        self.create_new(jobs, report).await;
        if report.daily_limit {
            for j in jobs.iter_mut().filter(|j| j.st == St::Active) {
                j.retry("HubSpot daily limit reached");
            }
            return;
        }

        // Upserts.
        let upserts: Vec<usize> = (0..jobs.len())
            .filter(|&i| jobs[i].st == St::Active && jobs[i].item.op == Op::Upsert)
            .collect();
        let calls = chunk_calls(jobs, &upserts, |j| UpsertRecord {
            id: j.item.record_id.clone(),
            properties: j.properties.clone(),
        });
        let hubspot = &self.hubspot;
        let results = self
            .send_chunks(calls, |object, id_property, records| async move {
                hubspot.upsert(&object, &id_property, records).await
            })
            .await;
        let now_ms = millis(OffsetDateTime::now_utc());
        for (_, idx, result) in results {
            let result = match result {
                Ok(r) => r,
                Err(not_sent) => {
                    for i in idx {
                        jobs[i].retry(not_sent.reason());
                    }
                    continue;
                }
            };
            match result {
                Ok(mut outcomes) => {
                    for i in idx {
                        let j = &mut jobs[i];
                        match outcomes.remove(&j.item.record_id) {
                            Some(Ok(up)) => written(j, up, report, now_ms),
                            Some(Err(f)) if f.retryable => j.retry(f.message),
                            Some(Err(f)) => {
                                let WriteFailure {
                                    category,
                                    property,
                                    value,
                                    message,
                                    ..
                                } = f;
                                let field = property.map(|p| {
                                    j.mapping
                                        .mapping
                                        .fields
                                        .iter()
                                        .find(|r| r.hubspot == p)
                                        .map_or(p, |r| format!("{} -> {}", r.salesforce, r.hubspot))
                                });
                                j.fail(category, field, value, message);
                            }
                            None => j.retry("HubSpot answered without this record"),
                        }
                    }
                }
                Err(e) => {
                    self.note_daily(&e, report);
                    for i in idx {
                        self.call_failed(&mut jobs[i], &e);
                    }
                }
            }
        }
        if report.daily_limit {
            for j in jobs.iter_mut().filter(|j| j.st == St::Active) {
                j.retry("HubSpot daily limit reached");
            }
            return;
        }

        // Deletes.
        let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
        for (i, j) in jobs.iter_mut().enumerate() {
            if j.st == St::Active && j.item.op == Op::Delete {
                match j.mapping.mapping.on_delete {
                    OnDelete::Archive => groups
                        .entry((j.hs_object().to_owned(), j.id_property().to_owned()))
                        .or_default()
                        .push(i),
                    OnDelete::Keep => j.st = St::Written,
                }
            }
        }
        let guard = self.config.lease / 2;
        for ((object, id_property), idx) in groups {
            for chunk in idx.chunks(CHUNK) {
                if report.daily_limit || chunk.iter().any(|&i| jobs[i].claimed_at.elapsed() > guard)
                {
                    for &i in chunk {
                        jobs[i].retry("lease too short to start the write, or the daily limit");
                    }
                    continue;
                }
                let ids: Vec<String> = chunk
                    .iter()
                    .map(|&i| jobs[i].item.record_id.clone())
                    .collect();
                match self.hubspot.archive(&object, &id_property, &ids).await {
                    Ok(()) => {
                        for &i in chunk {
                            report.archived += 1;
                            jobs[i].st = St::Written;
                        }
                    }
                    Err(e) => {
                        self.note_daily(&e, report);
                        for &i in chunk {
                            self.call_failed(&mut jobs[i], &e);
                        }
                    }
                }
            }
        }
    }

    /// Creates the records HubSpot has never had from this ledger (no HubSpot id, no tombstone)
    /// whose parents are all known, each with its associations, in one `create` call per 100
    /// records instead of an upsert and an association call. Records it cannot create this way
    /// stay `Active` for the upsert path: parents not found yet, a refused value (the upsert
    /// reports it), or a whole call refused because HubSpot had some of them already (then the
    /// object's records are upserted for [`CREATE_BACKOFF`]).
    async fn create_new(&self, jobs: &mut [Job], report: &mut BatchReport) {
        let now = Instant::now();
        let candidates: Vec<usize> = {
            let mut backoff = lock(&self.create_backoff);
            backoff.retain(|_, until| *until > now);
            jobs.iter()
                .enumerate()
                .filter(|(_, j)| {
                    j.st == St::Active
                        && j.item.op == Op::Upsert
                        && j.prior.hubspot_id.is_none()
                        && !j.prior.deleted
                        && !backoff.contains_key(j.hs_object())
                })
                .map(|(i, _)| i)
                .collect()
        };
        if candidates.is_empty() {
            return;
        }
        let mut wanted: Vec<(Slot, String)> = Vec::new();
        for &i in &candidates {
            let j = &jobs[i];
            for (a, am) in j.mapping.mapping.associations.iter().enumerate() {
                if let Some(parent) = lookup_value(&j.item, &am.lookup) {
                    wanted.push(((i, a), parent));
                }
            }
        }
        let found = self
            .resolve_parents(jobs, &wanted, &HashMap::new(), report)
            .await;
        let mut links: HashMap<usize, Vec<(usize, String, String)>> = HashMap::new();
        let mut blocked: Vec<usize> = Vec::new();
        for ((i, a), parent) in wanted {
            match found.get(&(i, a)) {
                Some(Ok(Some(h))) => links.entry(i).or_default().push((a, parent, h.clone())),
                _ => blocked.push(i),
            }
        }
        let creatable: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|i| !blocked.contains(i))
            .collect();
        let calls = chunk_calls(jobs, &creatable, |j| CreateRecord {
            id: j.item.record_id.clone(),
            properties: j.properties.clone(),
            associations: Vec::new(),
        });
        // The associations each record is created with.
        let calls: Vec<ChunkCall<CreateRecord>> = calls
            .into_iter()
            .map(|mut c| {
                for (record, &i) in c.records.iter_mut().zip(&c.idx) {
                    let am = &jobs[i].mapping.mapping.associations;
                    record.associations = links
                        .get(&i)
                        .into_iter()
                        .flatten()
                        .map(|(a, _, h)| NewAssociation {
                            to: am[*a].to.clone(),
                            to_id: h.clone(),
                            label: am[*a].label.clone(),
                        })
                        .collect();
                }
                c
            })
            .collect();
        let hubspot = &self.hubspot;
        // A chunk not sent leaves its records Active: the upsert path checks the lease and the
        // daily stop again.
        let results = self
            .send_chunks(calls, |object, id_property, records| async move {
                hubspot.create(&object, &id_property, records).await
            })
            .await;
        let now_ms = millis(OffsetDateTime::now_utc());
        for (object, idx, result) in results {
            match result {
                Err(_) => {}
                Ok(Ok(mut outcomes)) => {
                    for i in idx {
                        let j = &mut jobs[i];
                        match outcomes.remove(&j.item.record_id) {
                            Some(Ok(up)) => {
                                written(j, up, report, now_ms);
                                for (a, parent, h) in links.remove(&i).unwrap_or_default() {
                                    let lookup = j.mapping.mapping.associations[a].lookup.clone();
                                    report.associations_created += 1;
                                    j.parents.insert(
                                        lookup,
                                        ParentLink {
                                            salesforce_id: parent,
                                            hubspot_id: Some(h),
                                        },
                                    );
                                }
                            }
                            Some(Err(f)) if f.retryable => j.retry(f.message),
                            // Refused or missing: the upsert path writes it or reports why.
                            Some(Err(_)) | None => {}
                        }
                    }
                }
                Ok(Err(e)) => match e.kind {
                    WriteErrorKind::Permanent { .. } => {
                        tracing::info!(
                            object = %object,
                            error = %e,
                            "create refused; upserting this object's new records for a while"
                        );
                        lock(&self.create_backoff).insert(object, Instant::now() + CREATE_BACKOFF);
                    }
                    _ => {
                        self.note_daily(&e, report);
                        for i in idx {
                            jobs[i].retry(e.to_string());
                        }
                    }
                },
            }
        }
    }

    /// HubSpot ids of the parents `wanted` names (Salesforce ids): written in this batch
    /// (`local`, by ledger key), from the ledger (mapping lookups) or from a HubSpot property
    /// (batched and cached). `Ok(None)`: not synced yet; `Err`: the lookup itself failed.
    async fn resolve_parents(
        &self,
        jobs: &[Job],
        wanted: &[(Slot, String)],
        local: &HashMap<String, String>,
        report: &mut BatchReport,
    ) -> HashMap<Slot, Result<Option<String>, String>> {
        let mut ledger_keys: Vec<String> = Vec::new();
        let mut by_property: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
        for ((i, a), parent) in wanted {
            let am = &jobs[*i].mapping.mapping.associations[*a];
            match &am.find_parent_by {
                FindParentBy::Mapping(obj) => {
                    let k = ledger_key(obj, parent);
                    if !local.contains_key(&k) {
                        ledger_keys.push(k);
                    }
                }
                FindParentBy::Property(prop) => {
                    let ck = (am.to.clone(), prop.clone(), parent.clone());
                    if !lock(&self.parents_by_property).contains_key(&ck) {
                        by_property
                            .entry((am.to.clone(), prop.clone()))
                            .or_default()
                            .push(parent.clone());
                    }
                }
            }
        }
        ledger_keys.sort();
        ledger_keys.dedup();
        let from_ledger = if ledger_keys.is_empty() {
            Ok(HashMap::new())
        } else {
            self.ledger.get_many(&ledger_keys).await
        };
        let mut property_errors: HashMap<(String, String), String> = HashMap::new();
        // What any worker found before (the ledger: no search after a cold start), then
        // HubSpot's search for the rest, remembered for the others.
        let keys: Vec<String> = by_property
            .iter()
            .flat_map(|((to, prop), values)| values.iter().map(|v| parent_key(to, prop, v)))
            .collect();
        let remembered = if keys.is_empty() {
            HashMap::new()
        } else {
            self.ledger.get_parents(&keys).await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "remembered parents unavailable; searching HubSpot");
                HashMap::new()
            })
        };
        for ((to, prop), mut values) in by_property {
            values.sort();
            values.dedup();
            let mut missing = Vec::new();
            {
                let mut cache = lock(&self.parents_by_property);
                if cache.len() > PARENT_CACHE_MAX {
                    cache.clear();
                }
                for v in values {
                    match remembered.get(&parent_key(&to, &prop, &v)) {
                        Some(h) => {
                            cache.insert((to.clone(), prop.clone(), v), h.clone());
                        }
                        None => missing.push(v),
                    }
                }
            }
            if missing.is_empty() {
                continue;
            }
            match self.hubspot.find_by_property(&to, &prop, &missing).await {
                Ok(found) => {
                    let remember: Vec<(String, String)> = found
                        .iter()
                        .map(|(v, h)| (parent_key(&to, &prop, v), h.clone()))
                        .collect();
                    {
                        let mut cache = lock(&self.parents_by_property);
                        for (v, id) in found {
                            cache.insert((to.clone(), prop.clone(), v), id);
                        }
                    }
                    if !remember.is_empty()
                        && let Err(e) = self.ledger.put_parents(&remember, PARENT_MEMORY).await
                    {
                        tracing::warn!(error = %e, "could not remember the parents found");
                    }
                }
                Err(e) => {
                    self.note_daily(&e, report);
                    property_errors.insert((to, prop), e.to_string());
                }
            }
        }
        let mut out = HashMap::with_capacity(wanted.len());
        for ((i, a), parent) in wanted {
            let am = &jobs[*i].mapping.mapping.associations[*a];
            let id = match &am.find_parent_by {
                FindParentBy::Mapping(obj) => {
                    let k = ledger_key(obj, parent);
                    if let Some(h) = local.get(&k) {
                        Ok(Some(h.clone()))
                    } else {
                        match &from_ledger {
                            Ok(m) => Ok(m
                                .get(&k)
                                .filter(|e| !e.deleted)
                                .and_then(|e| e.hubspot_id.clone())),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                }
                FindParentBy::Property(prop) => {
                    if let Some(e) = property_errors.get(&(am.to.clone(), prop.clone())) {
                        Err(e.clone())
                    } else {
                        Ok(lock(&self.parents_by_property)
                            .get(&(am.to.clone(), prop.clone(), parent.clone()))
                            .cloned())
                    }
                }
            };
            out.insert((*i, *a), id);
        }
        out
    }

    /// Sends chunks up to `write_concurrency` at a time. A chunk starts only with half of its
    /// records' leases left, and not after the daily limit stopped another chunk of this batch.
    async fn send_chunks<R, F, Fut>(
        &self,
        calls: Vec<ChunkCall<R>>,
        send: F,
    ) -> Vec<(
        String,
        Vec<usize>,
        Result<Result<Outcomes, WriteError>, NotSent>,
    )>
    where
        F: Fn(String, String, Vec<R>) -> Fut,
        Fut: std::future::Future<Output = Result<Outcomes, WriteError>>,
    {
        let guard = self.config.lease / 2;
        let stop = std::sync::atomic::AtomicBool::new(false);
        let (stop, send) = (&stop, &send);
        stream::iter(calls)
            .map(|c| async move {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return (c.object, c.idx, Err(NotSent::DailyLimit));
                }
                if c.oldest_claim.elapsed() > guard {
                    return (c.object, c.idx, Err(NotSent::LeaseShort));
                }
                let r = send(c.object.clone(), c.id_property, c.records).await;
                if let Err(e) = &r
                    && matches!(e.kind, WriteErrorKind::DailyLimit { .. })
                {
                    stop.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                (c.object, c.idx, Ok(r))
            })
            .buffer_unordered(self.config.write_concurrency.max(1))
            .collect()
            .await
    }

    fn call_failed(&self, j: &mut Job, e: &WriteError) {
        match e.kind {
            WriteErrorKind::Permanent { category } => {
                j.fail(category, None, None, e.to_string());
            }
            _ => j.retry(e.to_string()),
        }
    }

    /// Makes associations match lookups for written upserts.
    async fn associate(&self, jobs: &mut [Job], report: &mut BatchReport) {
        // Batch-local HubSpot ids, by ledger key: parents written in this batch.
        let local: HashMap<String, String> = jobs
            .iter()
            .filter(|j| j.st == St::Written && j.item.op == Op::Upsert)
            .filter_map(|j| j.hubspot_id.clone().map(|h| (j.key.clone(), h)))
            .collect();

        // What each job needs: (job, lookup, new parent sf id or None) plus carried links.
        struct Need {
            job: usize,
            assoc: usize,
            new: Option<String>,
            old: Option<String>,
        }
        let mut needs: Vec<Need> = Vec::new();
        for (i, j) in jobs.iter_mut().enumerate() {
            if !(j.st == St::Written && j.item.op == Op::Upsert) {
                continue;
            }
            let same_record = !j.prior.deleted && j.prior.hubspot_id == j.hubspot_id;
            for (a, am) in j.mapping.mapping.associations.iter().enumerate() {
                let prior = if same_record {
                    j.prior.parents.get(&am.lookup).cloned()
                } else {
                    None
                };
                // Salesforce leaves null fields out of outbound messages: absent is null.
                let new = lookup_value(&j.item, &am.lookup);
                // Made with the record by `create`.
                if let (Some(done), Some(n)) = (j.parents.get(&am.lookup), &new)
                    && done.salesforce_id == *n
                    && done.hubspot_id.is_some()
                {
                    continue;
                }
                if let (Some(p), Some(n)) = (&prior, &new)
                    && p.salesforce_id == *n
                    && p.hubspot_id.is_some()
                {
                    j.parents.insert(am.lookup.clone(), p.clone());
                    continue;
                }
                needs.push(Need {
                    job: i,
                    assoc: a,
                    new,
                    old: prior.and_then(|p| p.hubspot_id),
                });
            }
        }
        if needs.is_empty() {
            return;
        }

        // Resolve parents: through the ledger (mapping) or a HubSpot property, batched.
        let wanted: Vec<(Slot, String)> = needs
            .iter()
            .filter_map(|n| n.new.clone().map(|p| ((n.job, n.assoc), p)))
            .collect();
        let found = self.resolve_parents(jobs, &wanted, &local, report).await;
        let mut resolved: HashMap<Slot, Option<String>> = HashMap::new();
        for ((i, a), parent) in wanted {
            match found.get(&(i, a)) {
                Some(Ok(id)) => {
                    resolved.insert((i, a), id.clone());
                }
                Some(Err(e)) => jobs[i].retry(format!("finding parent {parent} failed: {e}")),
                None => jobs[i].retry(format!("finding parent {parent} failed")),
            }
        }

        // Archive old associations, create new ones, grouped by (from, to, label).
        let mut removals: BTreeMap<(String, String), Vec<PairOf>> = BTreeMap::new();
        let mut creations: BTreeMap<(String, String, Option<String>), Vec<NewPair>> =
            BTreeMap::new();
        for n in &needs {
            let j = &mut jobs[n.job];
            if j.st != St::Written {
                continue;
            }
            let Some(child) = j.hubspot_id.clone() else {
                continue;
            };
            let am = j.mapping.mapping.associations[n.assoc].clone();
            let new_hs = resolved.get(&(n.job, n.assoc)).cloned().flatten();
            if let Some(old) = &n.old
                && new_hs.as_ref() != Some(old)
            {
                removals
                    .entry((j.hs_object().to_owned(), am.to.clone()))
                    .or_default()
                    .push((child.clone(), old.clone(), n.job));
            }
            match (&n.new, new_hs) {
                (None, _) => {}
                (Some(parent), None) => {
                    j.waiting_for.push(format!("{} {parent}", am.lookup));
                    j.parents.insert(
                        am.lookup.clone(),
                        ParentLink {
                            salesforce_id: parent.clone(),
                            hubspot_id: None,
                        },
                    );
                }
                (Some(_), Some(p)) if n.old.as_ref() == Some(&p) => {
                    // Same HubSpot parent (the lookup's id changed form): nothing to do.
                    j.parents.insert(
                        am.lookup.clone(),
                        ParentLink {
                            salesforce_id: n.new.clone().unwrap_or_default(),
                            hubspot_id: Some(p),
                        },
                    );
                }
                (Some(_), Some(p)) => {
                    creations
                        .entry((j.hs_object().to_owned(), am.to.clone(), am.label.clone()))
                        .or_default()
                        .push((child.clone(), p, n.job, n.assoc));
                }
            }
        }
        for ((from, to), pairs) in removals {
            for chunk in pairs.chunks(CHUNK) {
                let p: Vec<(String, String)> = chunk
                    .iter()
                    .map(|(a, b, _)| (a.clone(), b.clone()))
                    .collect();
                match self.hubspot.unassociate(&from, &to, &p).await {
                    Ok(()) => report.associations_removed += p.len() as u64,
                    Err(e) => {
                        self.note_daily(&e, report);
                        for (_, _, i) in chunk {
                            jobs[*i].retry(format!("removing the old association failed: {e}"));
                        }
                    }
                }
            }
        }
        for ((from, to, label), pairs) in creations {
            for chunk in pairs.chunks(CHUNK) {
                let p: Vec<(String, String)> = chunk
                    .iter()
                    .map(|(a, b, _, _)| (a.clone(), b.clone()))
                    .collect();
                match self
                    .hubspot
                    .associate(&from, &to, &p, label.as_deref())
                    .await
                {
                    Ok(failures) => {
                        for (child, parent, i, a) in chunk {
                            let j = &mut jobs[*i];
                            let am = &j.mapping.mapping.associations[*a];
                            let lookup = am.lookup.clone();
                            let sf_parent = field_value(&j.item, &lookup)
                                .cloned()
                                .flatten()
                                .or_else(|| {
                                    j.prior
                                        .parents
                                        .get(&lookup)
                                        .map(|p| p.salesforce_id.clone())
                                })
                                .unwrap_or_default();
                            match failures
                                .iter()
                                .find(|((c, p), _)| c == child && p == parent)
                            {
                                None => {
                                    report.associations_created += 1;
                                    j.parents.insert(
                                        lookup,
                                        ParentLink {
                                            salesforce_id: sf_parent,
                                            hubspot_id: Some(parent.clone()),
                                        },
                                    );
                                }
                                Some((_, f)) if f.retryable => j.retry(f.message.clone()),
                                Some((_, f)) => {
                                    let rec = j.error_record(
                                        ErrorCategory::Association,
                                        Some(lookup),
                                        Some(sf_parent),
                                        f.message.clone(),
                                    );
                                    j.error = Some(rec);
                                }
                            }
                        }
                    }
                    Err(e) => {
                        self.note_daily(&e, report);
                        for (_, _, i, _) in chunk {
                            let j = &mut jobs[*i];
                            match e.kind {
                                WriteErrorKind::Permanent { category } => {
                                    let rec = j.error_record(
                                        category,
                                        None,
                                        None,
                                        format!("association failed: {e}"),
                                    );
                                    j.error = Some(rec);
                                }
                                _ => j.retry(format!("association failed: {e}")),
                            }
                        }
                    }
                }
            }
        }
    }

    /// Commits what was written, releases what was not, records errors.
    async fn finish(
        &self,
        jobs: Vec<Job>,
        report: &mut BatchReport,
        retry: &mut Vec<String>,
        progress: &mut Progress,
    ) {
        let now = OffsetDateTime::now_utc();
        let owner = self.config.owner.as_str();
        let parent_wait =
            time::Duration::try_from(self.config.parent_wait).unwrap_or(time::Duration::MAX);
        let outcomes: Vec<Option<String>> = stream::iter(jobs)
            .map(|mut j| async move {
                let span = tracing::info_span!(
                    "record",
                    message_id = %j.message_id,
                    key = %j.key,
                    version = j.version,
                    op = ?j.item.op,
                );
                async move {
                    let mut back = false;
                    let mut waiting = false;
                    let mut failed = false;
                    match &j.st {
                        St::Written | St::Unchanged => {
                            if !j.waiting_for.is_empty() {
                                waiting = true;
                                let last = self.config.max_receives > 0
                                    && j.receive_count >= self.config.max_receives;
                                if last || now - j.item.received_at > parent_wait {
                                    let msg = if last {
                                        format!(
                                            "waiting for parent {}: still missing at delivery {} (the queue's last); sync the parent, then replay",
                                            j.waiting_for.join(", "),
                                            j.receive_count
                                        )
                                    } else {
                                        format!(
                                            "waiting for parent {} for longer than {} s; sync the parent, then replay",
                                            j.waiting_for.join(", "),
                                            self.config.parent_wait.as_secs()
                                        )
                                    };
                                    j.error = Some(j.error_record(
                                        ErrorCategory::Association,
                                        j.waiting_for.first().cloned(),
                                        None,
                                        msg,
                                    ));
                                } else {
                                    back = true;
                                }
                            }
                            let deleted = j.item.op == Op::Delete;
                            let commit = Commit {
                                version: j.version,
                                hubspot_id: if deleted {
                                    j.prior.hubspot_id.clone()
                                } else {
                                    j.hubspot_id.clone()
                                },
                                parents: if deleted { BTreeMap::new() } else { j.parents.clone() },
                                deleted,
                                waiting,
                                digest: if deleted || waiting { None } else { j.digest.clone() },
                            };
                            match self.ledger.commit(&j.key, owner, &commit).await {
                                Ok(true) => tracing::debug!(waiting, "committed"),
                                Ok(false) => {
                                    tracing::warn!("lease lost before the commit; back to the queue");
                                    return Done {
                                        back: Some(j.message_id),
                                        lost: true,
                                        ..Done::default()
                                    };
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "commit failed; back to the queue");
                                    return Done {
                                        back: Some(j.message_id),
                                        ..Done::default()
                                    };
                                }
                            }
                        }
                        St::Retry(why) => {
                            if !why.is_empty() {
                                tracing::info!(reason = %why, "back to the queue");
                            }
                            back = true;
                            if j.claimed
                                && let Err(e) = self
                                    .ledger
                                    .release(&j.key, owner, j.hubspot_id.as_deref())
                                    .await
                            {
                                tracing::warn!(error = %e, "lease release failed (it expires)");
                            }
                        }
                        St::Failed => {
                            if j.claimed
                                && let Err(e) = self
                                    .ledger
                                    .release(&j.key, owner, j.hubspot_id.as_deref())
                                    .await
                            {
                                tracing::warn!(error = %e, "lease release failed (it expires)");
                            }
                        }
                        St::Dropped => {}
                        St::Active => {
                            back = true;
                            if j.claimed {
                                let _ = self.ledger.release(&j.key, owner, None).await;
                            }
                        }
                    }
                    if let Some(rec) = &j.error {
                        failed = true;
                        tracing::warn!(category = rec.category.as_str(), field = ?rec.field, message = %rec.message, "record failed; error recorded");
                        if let Err(e) = self.errors.put(rec).await {
                            tracing::warn!(error = %e, "could not record the error; back to the queue");
                            back = true;
                        }
                    }
                    let deleted = j.st == St::Written && j.item.op == Op::Delete;
                    // Import counters: acked records only (synced, or stale = a newer version is
                    // there; failed = an error record).
                    let import = match &j.item.source {
                        Source::Import { import_id, .. } if !back => {
                            let how = if failed {
                                Tally::Failed
                            } else if j.st == St::Unchanged {
                                Tally::Unchanged
                            } else {
                                Tally::Synced
                            };
                            Some((import_id.clone(), how))
                        }
                        _ => None,
                    };
                    Done {
                        back: back.then_some(j.message_id),
                        waiting,
                        failed,
                        deleted,
                        lost: false,
                        import,
                    }
                }
                .instrument(span)
                .await
            })
            .buffer_unordered(self.config.concurrency.max(1))
            .map(|d| {
                report.waiting += u64::from(d.waiting);
                report.failed += u64::from(d.failed);
                report.tombstoned += u64::from(d.deleted);
                report.lost_leases += u64::from(d.lost);
                if let Some((id, how)) = d.import {
                    tally(progress, &id, how);
                }
                d.back
            })
            .collect()
            .await;
        retry.extend(outcomes.into_iter().flatten());
    }
}

#[cfg(test)]
mod not_sent_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod unchanged_tests;
