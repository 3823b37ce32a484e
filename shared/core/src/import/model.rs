//! The import record and the sweep state, with their transitions.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::serde::rfc3339;

/// Where an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Recorded, not started yet.
    Pending,
    /// An invocation reads Salesforce (or one will resume it from the checkpoint).
    Running,
    /// Every page is on the import queue (the worker may still be syncing).
    Completed,
    /// Stopped on an error that trying again does not fix (`last_error`).
    Failed,
    /// Stopped by an operator.
    Cancelled,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// No further transition.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "running" => Self::Running,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }
}

/// How Salesforce is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportMethod {
    /// REST query, following `nextRecordsUrl`.
    Rest,
    /// Bulk API 2.0 query job, read page by page by locator.
    Bulk,
}

impl ImportMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Bulk => "bulk",
        }
    }

    /// REST below `threshold` records, Bulk from it on.
    pub fn for_total(total: u64, threshold: u64) -> Self {
        if total >= threshold { Self::Bulk } else { Self::Rest }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "rest" => Some(Self::Rest),
            "bulk" => Some(Self::Bulk),
            _ => None,
        }
    }
}

/// Where reading resumes: every page before it is on the queue.
///
/// The checkpoint that does not expire is the **key**: an import reads in `Id` order (`ORDER BY
/// Id`), so `last_id` says that every record up to it is on the queue, and a resume after any
/// pause continues with `Id > last_id` (the import's own filter kept). Salesforce's cursors (the
/// REST `nextRecordsUrl`, a Bulk job's results) are kept too, as an optimisation while they live:
/// Salesforce drops an idle REST cursor after 15 minutes and Bulk results after 7 days.
///
/// `ordered` is `false` for checkpoints written before imports read in Id order (they are still
/// read): their `last_id` is unknown, and a resume whose cursor is gone starts again from the
/// first record (re-sending is harmless: upserts are idempotent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Checkpoint {
    /// Nothing read yet.
    #[default]
    Start,
    /// REST query.
    Rest {
        /// Records are read in Id order, so `last_id` is a key to resume from.
        #[serde(default)]
        ordered: bool,
        /// The Id of the last record on the queue.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_id: Option<String>,
        /// The next page's `nextRecordsUrl`, while Salesforce keeps the cursor.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_records_url: Option<String>,
        /// When the cursor was last used (Salesforce drops it 15 minutes after that).
        #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339::option")]
        cursor_used: Option<OffsetDateTime>,
    },
    /// Bulk API 2.0: the job, and the locator of the next page (`None`: the first page).
    Bulk {
        job_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        locator: Option<String>,
        /// The job reads in Id order, so `last_id` is a key to resume from.
        #[serde(default)]
        ordered: bool,
        /// The Id of the last record on the queue (`None`: none yet of this job's key range).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_id: Option<String>,
    },
    /// Every page read.
    Done,
}

impl Checkpoint {
    /// The key a resume whose cursor is gone continues after: `Some(None)` from the first
    /// record, `Some(Some(id))` after `id`; `None` when the key is unknown (an unordered
    /// checkpoint: start again).
    pub fn key(&self) -> Option<Option<&str>> {
        match self {
            Self::Start => Some(None),
            Self::Rest { ordered, last_id, .. } | Self::Bulk { ordered, last_id, .. } => {
                ordered.then_some(last_id.as_deref())
            }
            Self::Done => None,
        }
    }
}

/// Where a page leaves the key: the last Id of a page read in Id order after `previous`.
/// `None` when the page breaks the order (an id not above the one before it): the key cannot
/// be trusted from then on.
pub fn key_after<'a>(
    previous: Option<&'a str>,
    ids: impl IntoIterator<Item = &'a str>,
) -> Option<Option<&'a str>> {
    let mut last = previous;
    for id in ids {
        if last.is_some_and(|l| id <= l) {
            return None;
        }
        last = Some(id);
    }
    Some(last)
}

/// One import, as stored in the imports table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRecord {
    pub id: String,
    /// The Salesforce object's API name.
    pub object: String,
    /// The SOQL condition (`--where`), without `WHERE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    pub status: ImportStatus,
    pub method: ImportMethod,
    /// `SELECT COUNT()` when the import was recorded.
    pub total: u64,
    /// Work items put on the import queue (pages re-sent after a crash count again).
    pub enqueued: u64,
    /// Added to by the worker (atomic counter; never written by the import run).
    pub synced: u64,
    /// Added to by the worker (atomic counter; never written by the import run).
    pub failed: u64,
    /// Of `synced`: records HubSpot already held as they are (nothing written). Added to by the
    /// worker.
    #[serde(default)]
    pub unchanged: u64,
    /// `sfhs import start --force`: write every record, even one HubSpot holds unchanged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
    #[serde(with = "rfc3339")]
    pub created: OffsetDateTime,
    #[serde(default, with = "rfc3339::option")]
    pub started: Option<OffsetDateTime>,
    #[serde(default, with = "rfc3339::option")]
    pub finished: Option<OffsetDateTime>,
    pub checkpoint: Checkpoint,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The invocation that holds the import, and until when (a crashed holder's lease runs out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_owner: Option<String>,
    #[serde(default, with = "rfc3339::option")]
    pub lease_until: Option<OffsetDateTime>,
    /// When the holder last renewed its lease (a live runner renews it well before it runs out).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rfc3339::option")]
    pub lease_renewed: Option<OffsetDateTime>,
    /// Increases by one on every write by the import run or the CLI (not by the worker's
    /// counters): the optimistic-concurrency token.
    pub revision: u64,
}

/// Who holds an import, as `sfhs import show` and the scheduled tick see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Holder {
    /// `completed`, `failed` or `cancelled`: nobody runs it any more.
    Finished,
    /// A runner holds it and renews its lease while it works.
    Held {
        owner: String,
        #[serde(with = "rfc3339")]
        until: OffsetDateTime,
        #[serde(with = "rfc3339::option")]
        renewed: Option<OffsetDateTime>,
    },
    /// The holder stopped renewing and its lease ran out (it died, or lost its connection): the
    /// next scheduled tick, `sfhs import resume` or `sfhs dev` takes it over.
    Abandoned {
        owner: String,
        #[serde(with = "rfc3339")]
        until: OffsetDateTime,
    },
    /// Nobody holds it: `pending` (not started yet), or `running` and let go (handed over to a
    /// fresh invocation, or after a retryable error); a runner may take it at once.
    Free { started: bool },
}

impl Holder {
    /// A runner may claim the import now.
    pub fn is_claimable(&self) -> bool {
        matches!(self, Self::Abandoned { .. } | Self::Free { .. })
    }
}

/// Why a transition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("import {id} is {status}; it cannot {action}", status = status.as_str())]
    Final { id: String, status: ImportStatus, action: &'static str },
    #[error(
        "import {id} is held by {owner} until {until}; it resumes from its checkpoint after that"
    )]
    Leased { id: String, owner: String, until: OffsetDateTime },
}

impl ImportRecord {
    /// A new pending import. `id` should sort by time (see [`new_import_id`]).
    pub fn new(
        id: String,
        object: String,
        filter: Option<String>,
        total: u64,
        threshold: u64,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            object,
            filter: filter.filter(|f| !f.trim().is_empty()),
            status: ImportStatus::Pending,
            method: ImportMethod::for_total(total, threshold),
            total,
            enqueued: 0,
            synced: 0,
            failed: 0,
            unchanged: 0,
            force: false,
            created: now,
            started: None,
            finished: None,
            checkpoint: Checkpoint::Start,
            last_error: None,
            lease_owner: None,
            lease_until: None,
            lease_renewed: None,
            revision: 0,
        }
    }

    /// This record as a store writes it over `stored` (`None`: a new import): with the worker's
    /// counters (`synced`, `failed`, `unchanged`) as stored, never as written, since only the
    /// worker adds to them, and atomically.
    pub fn over(&self, stored: Option<&ImportRecord>) -> ImportRecord {
        let (synced, failed, unchanged) =
            stored.map_or((0, 0, 0), |s| (s.synced, s.failed, s.unchanged));
        ImportRecord { synced, failed, unchanged, ..self.clone() }
    }

    /// Who holds the import at `now`.
    pub fn holder(&self, now: OffsetDateTime) -> Holder {
        if self.status.is_final() {
            return Holder::Finished;
        }
        match (&self.lease_owner, self.lease_until) {
            (Some(owner), Some(until)) if until > now => {
                Holder::Held { owner: owner.clone(), until, renewed: self.lease_renewed }
            }
            (Some(owner), Some(until)) => Holder::Abandoned { owner: owner.clone(), until },
            _ => Holder::Free { started: self.started.is_some() },
        }
    }

    /// Takes the import for one invocation until `until`: from `pending`, or from `running` when
    /// no lease is held or the holder's lease has run out.
    pub fn claim(
        &self,
        owner: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<Self, TransitionError> {
        if self.status.is_final() {
            return Err(self.final_error("run"));
        }
        if let (Some(holder), Some(lease)) = (&self.lease_owner, self.lease_until)
            && lease > now
            && holder != owner
        {
            return Err(TransitionError::Leased {
                id: self.id.clone(),
                owner: holder.clone(),
                until: lease,
            });
        }
        let mut next = self.clone();
        next.status = ImportStatus::Running;
        next.started = next.started.or(Some(now));
        next.lease_owner = Some(owner.to_owned());
        next.lease_until = Some(until);
        next.lease_renewed = Some(now);
        next.revision += 1;
        Ok(next)
    }

    /// The holder's lease, renewed at `now` until `until` (a write of its own: the revision
    /// changes, so a cancel or a takeover meanwhile makes it fail).
    pub fn renewed(&self, now: OffsetDateTime, until: OffsetDateTime) -> Self {
        let mut next = self.clone().with_lease(now, until);
        next.revision += 1;
        next
    }

    /// The same record with the lease extended (no revision change: combine it with a
    /// transition, e.g. `advanced(..).with_lease(..)`).
    pub fn with_lease(mut self, now: OffsetDateTime, until: OffsetDateTime) -> Self {
        if self.lease_owner.is_some() {
            self.lease_until = Some(until);
            self.lease_renewed = Some(now);
        }
        self
    }

    /// After a page is on the queue: the new checkpoint and count.
    pub fn advanced(&self, checkpoint: Checkpoint, enqueued: u64) -> Self {
        let mut next = self.clone();
        next.checkpoint = checkpoint;
        next.enqueued += enqueued;
        next.revision += 1;
        next
    }

    /// Lets go of the lease (hand-over to a fresh invocation, or after a retryable error).
    pub fn released(&self, error: Option<String>) -> Self {
        let mut next = self.clone();
        next.lease_owner = None;
        next.lease_until = None;
        next.lease_renewed = None;
        if error.is_some() {
            next.last_error = error;
        }
        next.revision += 1;
        next
    }

    /// Every page read: `completed`.
    pub fn completed(&self, now: OffsetDateTime) -> Self {
        let mut next = self.released(None);
        next.status = ImportStatus::Completed;
        next.checkpoint = Checkpoint::Done;
        next.finished = Some(now);
        next
    }

    /// A permanent error: `failed`.
    pub fn failed_with(&self, error: String, now: OffsetDateTime) -> Self {
        let mut next = self.released(Some(error));
        next.status = ImportStatus::Failed;
        next.finished = Some(now);
        next
    }

    /// `sfhs import cancel`: from `pending` or `running`.
    pub fn cancelled(&self, now: OffsetDateTime) -> Result<Self, TransitionError> {
        if self.status.is_final() {
            return Err(self.final_error("be cancelled"));
        }
        let mut next = self.released(None);
        next.status = ImportStatus::Cancelled;
        next.finished = Some(now);
        Ok(next)
    }

    fn final_error(&self, action: &'static str) -> TransitionError {
        TransitionError::Final { id: self.id.clone(), status: self.status, action }
    }
}

/// A time-sortable import id: `imp-<UTC yyyymmddThhmmss>-<8 hex of randomness>`.
pub fn new_import_id(now: OffsetDateTime, random: u32) -> String {
    format!(
        "imp-{:04}{:02}{:02}T{:02}{:02}{:02}-{random:08x}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// Deletes Salesforce no longer reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepGap {
    /// The sweep's checkpoint: deletes after it were expected.
    #[serde(with = "rfc3339")]
    pub from: OffsetDateTime,
    /// `earliestDateAvailable`: deletes before it are gone from Salesforce.
    #[serde(with = "rfc3339")]
    pub to: OffsetDateTime,
    #[serde(with = "rfc3339")]
    pub detected_at: OffsetDateTime,
}

/// The delete sweep's state of one object (item `sweep#<object>` of the imports table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepState {
    pub object: String,
    /// Deletes up to here are on the queue (`latestDateCovered` of the last sweep).
    #[serde(with = "rfc3339")]
    pub checkpoint: OffsetDateTime,
    /// The last gap found, kept until a reconcile clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<SweepGap>,
    #[serde(with = "rfc3339")]
    pub last_sweep: OffsetDateTime,
    /// Delete work items enqueued by sweeps, in total.
    pub deletes_enqueued: u64,
    /// The catch-up's checkpoint: changes (by the mapping's version field) up to here are in the
    /// ledger or on the queue. `None`: not caught up yet (it starts from the enable time).
    #[serde(default, with = "rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub caught_up_to: Option<OffsetDateTime>,
    /// When the catch-up last read this object.
    #[serde(default, with = "rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub last_catch_up: Option<OffsetDateTime>,
    /// Records the push missed, enqueued by catch-ups, in total.
    #[serde(default)]
    pub caught_up: u64,
    /// When the catch-up last found a record the push had missed.
    #[serde(default, with = "rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub last_caught_up: Option<OffsetDateTime>,
    /// The deletes swept in the recycle bin's 15 days (the newest [`RECENT_DELETES_MAX`]): the
    /// catch-up asks Salesforce which of them are live again (an undelete that did not move
    /// their version).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_deletes: Vec<RecentDelete>,
    /// The set-up drift found by the last drift check (empty: the org matches the mapping).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<crate::salesforce_setup::Drift>,
    /// When the drift check last read the org for this object.
    #[serde(default, with = "rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub drift_checked: Option<OffsetDateTime>,
    /// Since when the drift in [`Self::drift`] has been found.
    #[serde(default, with = "rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub drift_since: Option<OffsetDateTime>,
    pub revision: u64,
}

/// How many recent deletes an object's sweep state keeps (the item must stay well below
/// DynamoDB's 400 KB).
pub const RECENT_DELETES_MAX: usize = 4_000;

/// How long Salesforce keeps a deleted record in its recycle bin (an undelete is possible).
pub const RECYCLE_BIN: time::Duration = time::Duration::days(15);

/// A record the sweep found deleted, and when it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentDelete {
    pub id: String,
    #[serde(with = "rfc3339")]
    pub at: OffsetDateTime,
}

impl SweepState {
    /// The state of an object not swept yet: deletes from `since` on, nothing caught up.
    pub fn new(object: &str, since: OffsetDateTime, now: OffsetDateTime) -> Self {
        Self {
            object: object.to_owned(),
            checkpoint: since,
            gap: None,
            last_sweep: now,
            deletes_enqueued: 0,
            caught_up_to: None,
            last_catch_up: None,
            caught_up: 0,
            last_caught_up: None,
            recent_deletes: Vec::new(),
            drift: Vec::new(),
            drift_checked: None,
            drift_since: None,
            revision: 0,
        }
    }

    /// Adds `found` to the recent deletes, keeping those still in the recycle bin at `now`, the
    /// newest [`RECENT_DELETES_MAX`].
    pub fn remember_deletes(&mut self, found: &[(String, OffsetDateTime)], now: OffsetDateTime) {
        self.recent_deletes
            .extend(found.iter().map(|(id, at)| RecentDelete { id: id.clone(), at: *at }));
        self.recent_deletes.retain(|d| now - d.at < RECYCLE_BIN);
        self.recent_deletes.sort_by_key(|d| std::cmp::Reverse(d.at));
        self.recent_deletes.dedup_by(|a, b| a.id == b.id);
        self.recent_deletes.truncate(RECENT_DELETES_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn record() -> ImportRecord {
        ImportRecord::new(
            "imp-1".into(),
            "Invoice__c".into(),
            Some(" ".into()),
            10,
            50_000,
            datetime!(2026-11-28 10:00 UTC),
        )
    }

    #[test]
    fn a_write_keeps_the_workers_counters() {
        let mut stored = record();
        (stored.synced, stored.failed, stored.unchanged) = (7, 2, 5);
        let mut next = record();
        next.enqueued = 10;
        next.revision = 1;
        let written = next.over(Some(&stored));
        assert_eq!((written.synced, written.failed, written.unchanged), (7, 2, 5));
        assert_eq!((written.enqueued, written.revision), (10, 1));
        stored.unchanged = 9;
        let new = stored.over(None);
        assert_eq!((new.synced, new.failed, new.unchanged), (0, 0, 0));
    }

    #[test]
    fn method_follows_the_threshold() {
        assert_eq!(ImportMethod::for_total(49_999, 50_000), ImportMethod::Rest);
        assert_eq!(ImportMethod::for_total(50_000, 50_000), ImportMethod::Bulk);
        let r = record();
        assert_eq!(r.filter, None);
        assert_eq!(r.status, ImportStatus::Pending);
    }

    #[test]
    fn claim_lease_and_transitions() {
        let now = datetime!(2026-11-28 10:00 UTC);
        let until = datetime!(2026-11-28 10:15 UTC);
        let a = record().claim("a", now, until).unwrap();
        assert_eq!(a.status, ImportStatus::Running);
        assert_eq!(a.revision, 1);
        // Another invocation is refused while the lease runs, accepted after it.
        assert!(matches!(a.claim("b", now, until), Err(TransitionError::Leased { .. })));
        let b = a.claim("b", until, datetime!(2026-11-28 10:30 UTC)).unwrap();
        assert_eq!(b.lease_owner.as_deref(), Some("b"));
        assert_eq!(b.started, Some(now));
        // Released: anyone may claim.
        let released = b.released(None);
        assert!(released.claim("c", now, until).is_ok());
        let adv = b.advanced(
            Checkpoint::Rest {
                ordered: true,
                last_id: Some("a01".into()),
                next_records_url: Some("/next".into()),
                cursor_used: Some(now),
            },
            200,
        );
        assert_eq!(adv.enqueued, 200);
        let done = adv.completed(until);
        assert_eq!(done.status, ImportStatus::Completed);
        assert_eq!(done.checkpoint, Checkpoint::Done);
        assert!(done.claim("d", now, until).is_err());
        assert!(done.cancelled(now).is_err());
        let cancelled = adv.cancelled(now).unwrap();
        assert_eq!(cancelled.status, ImportStatus::Cancelled);
        let failed = adv.failed_with("boom".into(), now);
        assert_eq!(failed.last_error.as_deref(), Some("boom"));
        assert!(failed.status.is_final());
    }

    #[test]
    fn ids_sort_by_time_and_serde_round_trips() {
        let a = new_import_id(datetime!(2026-11-28 09:59:59 UTC), 0xffff_ffff);
        let b = new_import_id(datetime!(2026-11-28 10:00:00 UTC), 0);
        assert!(a < b, "{a} {b}");
        assert_eq!(b, "imp-20261128T100000-00000000");
        let r = record().advanced(
            Checkpoint::Bulk {
                job_id: "750x".into(),
                locator: Some("abc".into()),
                ordered: true,
                last_id: Some("a01".into()),
            },
            5,
        );
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<ImportRecord>(&json).unwrap(), r);
        for s in ["pending", "running", "completed", "failed", "cancelled"] {
            assert_eq!(ImportStatus::parse(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn checkpoints_written_before_the_key_are_still_read() {
        // Stored by the previous version: a REST locator, a Bulk job and locator.
        let rest: Checkpoint = serde_json::from_str(
            r#"{"kind":"rest","next_records_url":"/services/data/v62.0/query/01g-2000"}"#,
        )
        .unwrap();
        assert_eq!(
            rest,
            Checkpoint::Rest {
                ordered: false,
                last_id: None,
                next_records_url: Some("/services/data/v62.0/query/01g-2000".into()),
                cursor_used: None,
            }
        );
        assert_eq!(rest.key(), None, "unordered: its key is unknown");
        let bulk: Checkpoint =
            serde_json::from_str(r#"{"kind":"bulk","job_id":"750x","locator":"MTA"}"#).unwrap();
        assert!(matches!(bulk, Checkpoint::Bulk { ordered: false, last_id: None, .. }));
        assert_eq!(Checkpoint::Start.key(), Some(None));
        let keyed = Checkpoint::Bulk {
            job_id: "750y".into(),
            locator: None,
            ordered: true,
            last_id: Some("a01x".into()),
        };
        assert_eq!(keyed.key(), Some(Some("a01x")));
        let json = serde_json::to_string(&keyed).unwrap();
        assert_eq!(serde_json::from_str::<Checkpoint>(&json).unwrap(), keyed);
        // A record stored without `lease_renewed` reads too.
        let mut v = serde_json::to_value(record()).unwrap();
        v.as_object_mut().unwrap().remove("lease_renewed");
        assert_eq!(serde_json::from_value::<ImportRecord>(v).unwrap(), record());
    }

    #[test]
    fn the_key_follows_id_order_and_distrusts_a_break() {
        assert_eq!(key_after(None, ["a1", "a2", "b0"]), Some(Some("b0")));
        assert_eq!(key_after(Some("a0"), ["a1"]), Some(Some("a1")));
        assert_eq!(key_after(Some("a5"), []), Some(Some("a5")), "an empty page keeps it");
        assert_eq!(key_after(Some("a5"), ["a5"]), None, "not above the key");
        assert_eq!(key_after(None, ["a2", "a1"]), None, "out of order");
        // Byte order: upper case before lower case, as Salesforce orders ids.
        assert_eq!(key_after(None, ["a01Z", "a01a"]), Some(Some("a01a")));
    }

    #[test]
    fn holders_are_live_abandoned_or_free() {
        let now = datetime!(2026-11-28 10:00 UTC);
        let r = record();
        assert_eq!(r.holder(now), Holder::Free { started: false });
        assert!(r.holder(now).is_claimable());
        let held = r.claim("dev-1", now, now + time::Duration::minutes(1)).unwrap();
        assert_eq!(held.lease_renewed, Some(now));
        assert!(matches!(held.holder(now), Holder::Held { ref owner, .. } if owner == "dev-1"));
        assert!(!held.holder(now).is_claimable());
        // Renewed: later lease, new revision.
        let later = now + time::Duration::seconds(20);
        let renewed = held.renewed(later, later + time::Duration::minutes(1));
        assert_eq!(renewed.revision, held.revision + 1);
        assert_eq!(renewed.lease_renewed, Some(later));
        assert!(
            renewed.claim("dev-2", now + time::Duration::seconds(70), now).is_err(),
            "the renewal holds it past the first lease"
        );
        // Not renewed: abandoned once the lease ran out, and claimable.
        let after = now + time::Duration::seconds(61);
        assert!(matches!(held.holder(after), Holder::Abandoned { .. }));
        assert!(held.holder(after).is_claimable());
        assert!(held.claim("dev-2", after, after + time::Duration::minutes(1)).is_ok());
        // Let go: free, started.
        assert_eq!(held.released(None).holder(now), Holder::Free { started: true });
        assert_eq!(held.completed(now).holder(now), Holder::Finished);
        // Extending the lease of a released record holds nothing.
        assert_eq!(held.released(None).with_lease(now, after).lease_until, None);
    }
}
