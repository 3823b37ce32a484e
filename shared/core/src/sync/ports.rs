//! The ports the sync engine needs: the ledger (records table), the HubSpot writer, the error
//! store. Each has an in-memory implementation in [`super::memory`] and a real adapter elsewhere
//! (DynamoDB in `sfhs-aws`, the HubSpot client in `sfhs-hubspot`).

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use async_trait::async_trait;
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::mapping::schema::HsObject;
pub use crate::sync::keys::{ParentKey, RecordKey};
pub use crate::sync::version::Version;

/// A boxed error source, kept for the cause chain.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

// ----- ledger ------------------------------------------------------------------------------------

/// The parent a lookup points to, as applied in HubSpot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
    /// The parent's Salesforce id (the lookup's value).
    pub salesforce_id: String,
    /// The parent's HubSpot id once the association exists; `None` while the child waits for
    /// the parent to sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hubspot_id: Option<String>,
}

/// One record of the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The newest applied version.
    pub version: Option<Version>,
    /// The HubSpot record id.
    pub hubspot_id: Option<String>,
    /// Current parent per lookup field.
    pub parents: BTreeMap<String, ParentLink>,
    /// Tombstone: `version` is the deletion's version.
    pub deleted: bool,
    /// The version's values are written but an association waits for its parent: the same
    /// version may be claimed again.
    pub waiting: bool,
    pub lease_owner: Option<String>,
    /// Lease expiry (epoch milliseconds).
    pub lease_until: Option<i64>,
    /// What HubSpot holds of the record as this ledger last wrote it (properties as sent and
    /// associations; see [`crate::sync::digest`]). `None`: unknown, the next version is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The newest version changed nothing HubSpot holds: it was committed without a write.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unchanged: bool,
    /// While `waiting`: how to wake the queue message that waits ([`InMessage::wake`]), for
    /// the commit of its parent ([`Waker`]).
    ///
    /// [`InMessage::wake`]: crate::sync::InMessage::wake
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wake: Option<String>,
}

impl LedgerEntry {
    /// Releases the lease if the release's owner holds it, the version unchanged (what
    /// [`Ledger::release`] does in every store); with a HubSpot id, the record was written in
    /// this attempt, so the id is kept and the digest forgotten. `false` (nothing changed) when
    /// the owner does not hold the lease.
    pub fn release(&mut self, release: Release<'_>) -> bool {
        if self.lease_owner.as_deref() != Some(release.owner) {
            return false;
        }
        self.lease_owner = None;
        self.lease_until = None;
        if let Some(h) = release.hubspot_id {
            self.hubspot_id = Some(h.to_owned());
            self.digest = None;
        }
        true
    }
}

/// A lease given back without a commit: who gives it back, and the HubSpot id the record was
/// written with in this attempt, if it was (its association or its commit still to come).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release<'a> {
    pub owner: &'a str,
    pub hubspot_id: Option<&'a str>,
}

impl<'a> Release<'a> {
    pub fn new(owner: &'a str, hubspot_id: Option<&'a str>) -> Self {
        Self { owner, hubspot_id }
    }
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The record is leased to the caller; the entry as it was before the claim.
    Claimed(LedgerEntry),
    /// The ledger holds this version or a newer one (or a newer tombstone).
    Stale { stored: Version, deleted: bool },
    /// Another worker holds the lease.
    Leased { owner: String, until: i64 },
}

/// What a commit writes (the lease is released with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub version: Version,
    pub hubspot_id: Option<String>,
    pub parents: BTreeMap<String, ParentLink>,
    pub deleted: bool,
    pub waiting: bool,
    /// The content digest of what was written; `None` when it is not known to be complete in
    /// HubSpot (a delete, a record waiting for a parent).
    pub digest: Option<String>,
    /// This version changed nothing HubSpot holds: committed without a write.
    pub unchanged: bool,
    /// While `waiting`: the waiting message's wake handle.
    pub wake: Option<String>,
}

impl Commit {
    /// The entry this commit leaves in the ledger, its lease released.
    pub fn entry(&self) -> LedgerEntry {
        LedgerEntry {
            version: Some(self.version),
            hubspot_id: self.hubspot_id.clone(),
            parents: self.parents.clone(),
            deleted: self.deleted,
            waiting: self.waiting,
            lease_owner: None,
            lease_until: None,
            digest: self.digest.clone(),
            unchanged: self.unchanged,
            wake: self.wake.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("records ledger: {operation} failed: {message}")]
pub struct LedgerError {
    pub operation: &'static str,
    pub message: String,
    pub retryable: bool,
    #[source]
    pub source: Option<BoxError>,
}

impl LedgerError {
    /// `operation` failed because of `source`, whose text is the message.
    pub fn caused_by(
        operation: &'static str,
        retryable: bool,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self { operation, message: source.to_string(), retryable, source: Some(Box::new(source)) }
    }

    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

/// A worker's claim of one record: lease it to `owner` for `lease_ms` from `now_ms`, to write
/// `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimRequest<'a> {
    pub key: &'a RecordKey,
    pub version: Version,
    /// A repair of a record HubSpot lost, whose version the ledger has applied (a reconcile,
    /// or an import): the same version may be claimed again.
    pub replay: bool,
    /// The record is live in Salesforce although the ledger holds its tombstone (an undelete):
    /// a tombstone gives way whatever its version.
    pub revive: bool,
    pub owner: &'a str,
    pub now_ms: i64,
    pub lease_ms: i64,
}

impl<'a> ClaimRequest<'a> {
    pub fn new(
        key: &'a RecordKey,
        version: Version,
        owner: &'a str,
        now_ms: i64,
        lease_ms: i64,
    ) -> Self {
        Self { key, version, replay: false, revive: false, owner, now_ms, lease_ms }
    }

    /// The same claim as a replay.
    #[must_use]
    pub fn replayed(self, replay: bool) -> Self {
        Self { replay, ..self }
    }

    /// The same claim, over a tombstone whatever its version (an undelete).
    #[must_use]
    pub fn reviving(self, revive: bool) -> Self {
        Self { revive, ..self }
    }

    /// `entry` once this claim is granted: leased to its owner.
    pub fn leased(&self, mut entry: LedgerEntry) -> LedgerEntry {
        entry.lease_owner = Some(self.owner.to_owned());
        entry.lease_until = Some(self.now_ms + self.lease_ms);
        entry
    }
}

/// The claim rule every [`Ledger`] applies (DynamoDB, the local store, memory): what a claim of
/// `version` by `owner` at `now_ms` answers given the stored entry. `None`: the claim is
/// granted; `Stale`: the ledger holds this version or a newer one (unless a replay, or a child
/// still waiting for its parent); `Leased`: another owner holds the record until `until`.
pub fn decide_claim(entry: Option<&LedgerEntry>, claim: &ClaimRequest<'_>) -> Option<Claim> {
    let ClaimRequest { version, replay, revive, owner, now_ms, .. } = *claim;
    let e = entry?;
    if let Some(stored) = e.version
        && !(revive && e.deleted)
        && (stored > version || (stored == version && !e.waiting && !replay))
    {
        return Some(Claim::Stale { stored, deleted: e.deleted });
    }
    match (&e.lease_owner, e.lease_until) {
        (Some(o), Some(until)) if o != owner && until >= now_ms => {
            Some(Claim::Leased { owner: o.clone(), until })
        }
        _ => None,
    }
}

/// Runs `calls`, `concurrency` at a time (at least one); the answers in the calls' order.
async fn in_order<F: std::future::Future>(calls: Vec<F>, concurrency: usize) -> Vec<F::Output> {
    futures::stream::iter(calls).buffered(concurrency.max(1)).collect().await
}

/// The records table.
#[async_trait]
pub trait Ledger: Send + Sync + fmt::Debug {
    /// Leases the record to the claim's owner until `now_ms + lease_ms` if the lease is free,
    /// expired or the owner's, AND the stored version is older than the claim's (or equal while
    /// `waiting`, or when `replay`): [`decide_claim`].
    async fn claim(&self, claim: &ClaimRequest<'_>) -> Result<Claim, LedgerError>;

    /// Writes the record's new state and releases the lease, if `owner` still holds it.
    /// `Ok(false)`: the lease was lost (nothing written).
    async fn commit(
        &self,
        key: &RecordKey,
        owner: &str,
        commit: &Commit,
    ) -> Result<bool, LedgerError>;

    /// [`Self::claim`] for each request: one answer per request, in their order. The default
    /// claims each, `concurrency` at a time (DynamoDB has no conditional batch write); a store
    /// that writes many records in one transaction does so (the local store: one commit, where
    /// one per record made 30,000 serialised commits of an import's 30,000 records).
    async fn claim_all(
        &self,
        claims: &[ClaimRequest<'_>],
        concurrency: usize,
    ) -> Vec<Result<Claim, LedgerError>> {
        // The calls made first (boxed, not started), then run: a closure inside the stream
        // would make the future's lifetimes too narrow for `Send`.
        let calls: Vec<_> = claims.iter().map(|c| self.claim(c)).collect();
        in_order(calls, concurrency).await
    }

    /// [`Self::commit`] for each `(key, commit)` by `owner`: one answer per commit, in their
    /// order; the default commits each, `concurrency` at a time, as [`Self::claim_all`].
    async fn commit_all(
        &self,
        owner: &str,
        commits: &[(&RecordKey, &Commit)],
        concurrency: usize,
    ) -> Vec<Result<bool, LedgerError>> {
        let calls: Vec<_> = commits.iter().map(|(key, c)| self.commit(key, owner, c)).collect();
        in_order(calls, concurrency).await
    }

    /// Releases the lease without changing the record's version (no-op if the release's owner
    /// does not hold it). With a HubSpot id, the record was written to HubSpot in this attempt,
    /// so the next attempt upserts it instead of creating it again; the stored digest is then
    /// forgotten, since HubSpot may hold other content now.
    async fn release(&self, key: &RecordKey, release: Release<'_>) -> Result<(), LedgerError>;

    /// Reads entries (absent keys are left out).
    async fn get_many(
        &self,
        keys: &[RecordKey],
    ) -> Result<HashMap<RecordKey, LedgerEntry>, LedgerError>;

    /// HubSpot ids of parents found by a property, by [`ParentKey`], remembered by any worker
    /// and not expired (absent keys are left out).
    async fn get_parents(
        &self,
        keys: &[ParentKey],
    ) -> Result<HashMap<ParentKey, String>, LedgerError>;

    /// Remembers parents found by a property, `(parent key, HubSpot id)`, for `ttl`.
    async fn put_parents(
        &self,
        found: &[(ParentKey, String)],
        ttl: std::time::Duration,
    ) -> Result<(), LedgerError>;

    /// Notes that children wait for parents: `(parent's ledger key, child's ledger key)`, kept
    /// for `ttl` at least (a child that waits longer is an error record by then).
    async fn add_waiters(
        &self,
        waits: &[(RecordKey, RecordKey)],
        ttl: std::time::Duration,
    ) -> Result<(), LedgerError>;

    /// Takes (and forgets) the children noted as waiting for `parents`: their ledger keys.
    async fn take_waiters(&self, parents: &[RecordKey]) -> Result<Vec<RecordKey>, LedgerError>;
}

// ----- waking --------------------------------------------------------------------------------

/// Makes waiting queue messages deliverable now: the commit of a parent wakes the children
/// that wait for it, instead of leaving them to their re-check. The handles are what the queue
/// gave each message ([`crate::sync::InMessage::wake`]): on SQS the queue and receipt handle
/// (a visibility of 0), on disk the message id.
#[async_trait]
pub trait Waker: Send + Sync + fmt::Debug {
    /// Wakes what it can; a handle gone stale (the message was received again, or deleted) is
    /// skipped: the message's next delivery notes it again. Returns how many were woken.
    async fn wake(&self, handles: &[String]) -> usize;
}

// ----- errors table ------------------------------------------------------------------------------

/// Why a record could not be synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCategory {
    Validation,
    /// A unique value another HubSpot record holds (live, or archived and keeping it).
    Conflict,
    Picklist,
    Association,
    Permission,
    NotFound,
    RateLimit,
    Unknown,
}

impl ErrorCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Validation => "validation",
            Self::Conflict => "conflict",
            Self::Picklist => "picklist",
            Self::Association => "association",
            Self::Permission => "permission",
            Self::NotFound => "not_found",
            Self::RateLimit => "rate_limit",
            Self::Unknown => "unknown",
        }
    }
}

/// One record that failed permanently, with what is needed to understand and replay it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRecord {
    /// `{sobject lowercased}#{record id}` (the newest error of a record replaces older ones), or
    /// `undecodable#{message id}`.
    pub id: String,
    pub category: ErrorCategory,
    /// The Salesforce object (empty when the message could not be read).
    pub object: String,
    pub record_id: String,
    pub field: Option<String>,
    pub value: Option<String>,
    pub message: String,
    /// Deliveries of the message so far.
    pub attempts: u32,
    /// The work item as received (the raw body when it could not be read), for replay.
    pub work_item: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, thiserror::Error)]
#[error("errors table: {message}")]
pub struct ErrorStoreError {
    pub message: String,
    pub retryable: bool,
    #[source]
    pub source: Option<BoxError>,
}

impl ErrorStoreError {
    /// The errors table failed because of `source`, whose text is the message.
    pub fn caused_by(
        retryable: bool,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self { message: source.to_string(), retryable, source: Some(Box::new(source)) }
    }

    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

/// The errors table.
#[async_trait]
pub trait ErrorStore: Send + Sync + fmt::Debug {
    async fn put(&self, record: &ErrorRecord) -> Result<(), ErrorStoreError>;
    /// Every error record, newest first.
    async fn list(&self) -> Result<Vec<ErrorRecord>, ErrorStoreError>;
    async fn get(&self, id: &str) -> Result<Option<ErrorRecord>, ErrorStoreError>;
    /// Removes a record (after a successful replay).
    async fn delete(&self, id: &str) -> Result<(), ErrorStoreError>;
}

// ----- HubSpot -----------------------------------------------------------------------------------

/// One record to upsert: `id` is the Salesforce id (the id property's value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpsertRecord {
    pub id: String,
    pub properties: BTreeMap<String, String>,
}

/// A record to create with the associations it is created with (`id` as in [`UpsertRecord`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRecord {
    pub id: String,
    pub properties: BTreeMap<String, String>,
    pub associations: Vec<NewAssociation>,
}

/// An association made with a created record: to the HubSpot record `to_id` of object `to`,
/// with the label's type (`None`: the unlabelled type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAssociation {
    pub to: String,
    pub to_id: String,
    pub label: Option<String>,
}

/// A record HubSpot wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upserted {
    pub hubspot_id: String,
    pub created: bool,
}

/// A record (or pair) HubSpot refused while the rest of the call went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteFailure {
    pub category: ErrorCategory,
    pub property: Option<String>,
    pub value: Option<String>,
    pub message: String,
    pub retryable: bool,
}

/// How a whole HubSpot call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteErrorKind {
    /// The daily budget is spent: stop writing until `reset_at`.
    DailyLimit { reset_at: OffsetDateTime },
    /// 429s, 5xx, timeouts that outlasted the client's retries.
    Retryable,
    /// The request itself is refused (auth, scopes, a vanished object).
    Permanent { category: ErrorCategory },
}

#[derive(Debug, thiserror::Error)]
#[error("HubSpot {operation} failed: {message}")]
pub struct WriteError {
    pub operation: &'static str,
    pub kind: WriteErrorKind,
    pub message: String,
    #[source]
    pub source: Option<BoxError>,
}

impl WriteError {
    pub fn is_retryable(&self) -> bool {
        self.kind == WriteErrorKind::Retryable
    }
}

/// What each record of a write came to, by its id (the id property's value); a record absent
/// from it is not known to be written.
pub type WriteOutcomes = HashMap<String, Result<Upserted, WriteFailure>>;

/// Call counters of a writer, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    pub calls: u64,
    pub rate_limited: u64,
}

/// Records of a HubSpot object type named by one property's values: the mapping's unique id
/// property when records are written or archived, a lookup's parent property when they are
/// searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByProperty<'a> {
    /// The object type's name or id, as the mapping names it.
    pub object: &'a str,
    pub property: &'a str,
}

impl<'a> ByProperty<'a> {
    pub fn new(object: &'a str, property: &'a str) -> Self {
        Self { object, property }
    }
}

/// Records of one object type to write in one call, named by the unique id property.
#[derive(Debug, Clone, PartialEq)]
pub struct Writes<'a, R> {
    pub by: ByProperty<'a>,
    pub records: Vec<R>,
}

/// The object types associations join: from the child's type to the parent's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Between<'a> {
    pub from: &'a str,
    pub to: &'a str,
}

/// The association type a batch of pairs is written with: between two object types, with a
/// label (`None`: HubSpot's default, unlabelled type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssociationKind<'a> {
    pub between: Between<'a>,
    pub label: Option<&'a str>,
}

impl<'a> AssociationKind<'a> {
    pub fn new(from: &'a str, to: &'a str, label: Option<&'a str>) -> Self {
        Self { between: Between { from, to }, label }
    }
}

/// What the engine needs of HubSpot.
#[async_trait]
pub trait HubSpotWriter: Send + Sync + fmt::Debug {
    /// The object's schema (`Ok(None)` when it does not exist).
    async fn describe(&self, object: &str) -> Result<Option<HsObject>, WriteError>;

    /// Upserts by the unique id property. One result per input id (inputs have unique ids).
    async fn upsert(&self, batch: Writes<'_, UpsertRecord>) -> Result<WriteOutcomes, WriteError>;

    /// Creates records, each with its associations, in one call (one result per input id).
    /// A whole-call `Permanent` error (one of the values of the id property exists already, an
    /// association type HubSpot lacks) writes nothing: the caller upserts those records instead.
    async fn create(&self, batch: Writes<'_, CreateRecord>) -> Result<WriteOutcomes, WriteError>;

    /// Archives the records holding `ids` in the id property; ids HubSpot does not have are fine.
    async fn archive(&self, by: ByProperty<'_>, ids: &[String]) -> Result<(), WriteError>;

    /// Creates associations `(from HubSpot id, to HubSpot id)` of the kind. Returns the pairs
    /// that failed.
    async fn associate(
        &self,
        kind: AssociationKind<'_>,
        pairs: &[(String, String)],
    ) -> Result<Vec<((String, String), WriteFailure)>, WriteError>;

    /// Removes every association between each pair, whatever its label.
    async fn unassociate(
        &self,
        between: Between<'_>,
        pairs: &[(String, String)],
    ) -> Result<(), WriteError>;

    /// HubSpot ids of the records whose property holds one of `values` (value -> HubSpot id;
    /// values not found are absent). Batched by the implementation.
    async fn find_by_property(
        &self,
        by: ByProperty<'_>,
        values: &[String],
    ) -> Result<HashMap<String, String>, WriteError>;

    /// Every live record's value of the property (value -> HubSpot id): one call per 100
    /// records, for reconciling, never on the sync path.
    async fn all_values(&self, by: ByProperty<'_>) -> Result<HashMap<String, String>, WriteError>;

    fn stats(&self) -> WriterStats {
        WriterStats::default()
    }
}
