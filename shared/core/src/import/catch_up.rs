//! The catch-up sweep (invariant 12): what Salesforce failed to push is read back. Outbound
//! messages are dropped after 24 hours of failed deliveries, a flow can be off for a while, and
//! a system change moves a record without a message; so, per enabled mapping and at most every
//! [`CatchUpSettings::every`], the records changed since the mapping's catch-up checkpoint (by
//! its version field, from `overlap` before the checkpoint to `settle` before now) are read with
//! the mapping's fields and compared with the ledger: only those the ledger has not applied at
//! their version go onto the live queue (`source: catch_up`), counted as caught up. Each one is
//! a change the push missed: a symptom (`CaughtUp` metric, alarm, `sfhs status`).
//!
//! With nothing missed the catch-up enqueues nothing and HubSpot sees no call; its cost is one
//! SOQL query per object per run (plus one per further 2,000 changed records) and the ledger
//! reads of the changed records.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::model::SweepState;
use super::ports::{ImportStore, ReadError, SalesforceReader};
use super::records::{import_soql, soql_string, to_work_item};
use crate::mapping::store::{MappingStore, StoreError, StoredMapping};
use crate::mapping::{FindParentBy, Mapping, State};
use crate::queue::Publisher;
use crate::sync::RecordKey;
use crate::sync::ports::{Ledger, LedgerEntry};
use crate::sync::record_version;
use crate::work_item::{Source, WorkItem};

/// How often and how far back the catch-up reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatchUpSettings {
    /// At most this often per object (`SFHS_CATCH_UP_SECONDS`, default 15 minutes).
    pub every: Duration,
    /// Changes younger than this are left to the push (their message may be on its way).
    pub settle: Duration,
    /// Each read starts this long before the checkpoint: commits become visible a little after
    /// their timestamp, and clocks drift.
    pub overlap: Duration,
}

impl Default for CatchUpSettings {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(900),
            settle: Duration::from_secs(120),
            overlap: Duration::from_secs(120),
        }
    }
}

/// What the catch-up did for one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CatchUpOutcome {
    /// Changes from `from` to `to` read; `caught_up` of them were missing from the ledger at
    /// their version and are on the live queue.
    Read {
        #[serde(with = "time::serde::rfc3339")]
        from: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        to: OffsetDateTime,
        changed: usize,
        caught_up: usize,
    },
    /// Read less than `every` ago.
    NotDue,
    /// The mapping is paused.
    Paused,
    /// This object failed; the others went on. Its checkpoint did not move.
    Failed { error: String, retryable: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatchUpObjectReport {
    pub object: String,
    #[serde(flatten)]
    pub outcome: CatchUpOutcome,
}

impl CatchUpObjectReport {
    /// One sentence for people.
    pub fn describe(&self) -> String {
        use super::progress::human_time;
        let o = &self.object;
        match &self.outcome {
            CatchUpOutcome::Read { from, to, changed, caught_up } => format!(
                "{o}: {changed} changed from {} to {}; {caught_up} the push had missed, now on the queue.",
                human_time(*from),
                human_time(*to)
            ),
            CatchUpOutcome::NotDue => format!("{o}: caught up recently; not due."),
            CatchUpOutcome::Paused => format!("{o}: the mapping is paused, not caught up."),
            CatchUpOutcome::Failed { error, retryable } => format!(
                "{o}: catch-up FAILED ({}): {error}",
                super::after_failure(*retryable, "the next tick tries again")
            ),
        }
    }
}

/// What one catch-up did, per object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CatchUpReport {
    pub objects: Vec<CatchUpObjectReport>,
}

impl CatchUpReport {
    /// Records the push missed, enqueued by this run.
    pub fn caught_up(&self) -> usize {
        let read = self.objects.iter().filter_map(|o| match o.outcome {
            CatchUpOutcome::Read { caught_up, .. } => Some(caught_up),
            _ => None,
        });
        read.sum()
    }

    pub fn failures(&self) -> usize {
        self.objects.iter().filter(|o| matches!(o.outcome, CatchUpOutcome::Failed { .. })).count()
    }
}

/// The ports a catch-up reads and writes through.
#[derive(Debug, Clone)]
pub struct CatchUp {
    pub ledger: Arc<dyn Ledger>,
    pub settings: CatchUpSettings,
}

/// One failure of one object: its message, and whether trying again can help.
type Failure = (String, bool);

impl CatchUp {
    /// Catches up every enabled mapping that is due at `now`.
    pub async fn run(
        &self,
        mappings: &dyn MappingStore,
        store: &dyn ImportStore,
        reader: &dyn SalesforceReader,
        live: &Publisher,
        now: OffsetDateTime,
    ) -> Result<CatchUpReport, StoreError> {
        let mut objects = Vec::new();
        let org_id = reader.org_id().await;
        let all = mappings.list().await?;
        for stored in &all {
            let object = stored.mapping.salesforce_object.clone();
            let outcome = match (&stored.mapping.state, &org_id) {
                (State::Paused, _) => CatchUpOutcome::Paused,
                (State::Enabled, Err(e)) => {
                    CatchUpOutcome::Failed { error: e.to_string(), retryable: e.is_retryable() }
                }
                (State::Enabled, Ok(org_id)) => {
                    self.one(store, reader, live, org_id, stored, &all, now).await.unwrap_or_else(
                        |(error, retryable)| CatchUpOutcome::Failed { error, retryable },
                    )
                }
            };
            match &outcome {
                CatchUpOutcome::Read { caught_up, .. } if *caught_up > 0 => tracing::warn!(
                    object,
                    caught_up,
                    metric = "CaughtUp",
                    "changes the push missed were caught up"
                ),
                CatchUpOutcome::Failed { error, .. } => {
                    tracing::error!(object, error, "catch-up failed");
                }
                _ => {}
            }
            objects.push(CatchUpObjectReport { object, outcome });
        }
        Ok(CatchUpReport { objects })
    }

    #[allow(clippy::too_many_arguments)]
    async fn one(
        &self,
        store: &dyn ImportStore,
        reader: &dyn SalesforceReader,
        live: &Publisher,
        org_id: &str,
        stored: &StoredMapping,
        all: &[StoredMapping],
        now: OffsetDateTime,
    ) -> Result<CatchUpOutcome, Failure> {
        let object = &stored.mapping.salesforce_object;
        let state = store.get_sweep(object).await.map_err(|e| (e.to_string(), e.is_retryable()))?;
        let every = time::Duration::try_from(self.settings.every).unwrap_or(time::Duration::MAX);
        if state.as_ref().and_then(|s| s.last_catch_up).is_some_and(|last| now - last < every) {
            return Ok(CatchUpOutcome::NotDue);
        }
        let enabled = stored.enabled_at.unwrap_or(stored.updated_at);
        let (from, to) = self.window(state.as_ref(), enabled, now);
        let read = |e: ReadError| (e.to_string(), e.is_retryable());
        let changed_filter = changed_between(&stored.mapping.version_field, from, to);
        let items = read_items(reader, org_id, &stored.mapping, &changed_filter, now)
            .await
            .map_err(read)?;
        let changed = items.len();
        let seen: HashSet<String> = items.iter().map(|i| i.record_id.clone()).collect();
        let (mut missed, mut revived) = self.missed(items, &stored.mapping.version_field).await?;
        // Records deleted lately and live again although their version did not move: undeleted.
        for mut item in undeleted(reader, org_id, &stored.mapping, state.as_ref(), &seen, now)
            .await
            .map_err(read)?
        {
            item.source = Source::Undelete;
            revived.push(item.record_id.clone());
            missed.push(item);
        }
        let caught_up = missed.len();
        let children = children(reader, org_id, all, object, &revived, now).await.map_err(read)?;
        if !revived.is_empty() {
            tracing::info!(
                object,
                revived = revived.len(),
                children = children.len(),
                "undeleted records: their children are linked to them again"
            );
        }
        live.publish(&[missed, children].concat()).await.map_err(|e| (e.to_string(), true))?;
        let next = caught_up_state(state.as_ref(), object, enabled, now, to, &revived, caught_up);
        store
            .put_sweep(&next, state.as_ref().map(|s| s.revision))
            .await
            .map_err(|e| (e.to_string(), e.is_retryable()))?;
        Ok(CatchUpOutcome::Read { from, to, changed, caught_up })
    }

    /// The window read: from the checkpoint (enabling, the first time) less the overlap, to
    /// `now` less the settling time (never before the checkpoint).
    fn window(
        &self,
        state: Option<&SweepState>,
        enabled: OffsetDateTime,
        now: OffsetDateTime,
    ) -> (OffsetDateTime, OffsetDateTime) {
        let checkpoint = state.and_then(|s| s.caught_up_to).unwrap_or(enabled);
        let span = |d: Duration| time::Duration::try_from(d).unwrap_or(time::Duration::ZERO);
        let from = checkpoint - span(self.settings.overlap);
        let to = (now - span(self.settings.settle)).max(checkpoint);
        (from, to)
    }

    /// Of `items`, those the ledger has not applied at their version; and the ids of those whose
    /// ledger entry is a tombstone (undeleted in Salesforce since).
    async fn missed(
        &self,
        items: Vec<WorkItem>,
        version_field: &str,
    ) -> Result<(Vec<WorkItem>, Vec<String>), Failure> {
        let keys: Vec<RecordKey> =
            items.iter().map(|i| RecordKey::new(&i.sobject, &i.record_id)).collect();
        let mut entries: HashMap<RecordKey, LedgerEntry> = HashMap::new();
        for chunk in keys.chunks(100) {
            entries.extend(
                self.ledger.get_many(chunk).await.map_err(|e| (e.to_string(), e.is_retryable()))?,
            );
        }
        let mut revived = Vec::new();
        let mut missed = Vec::new();
        for (item, key) in items.into_iter().zip(keys) {
            let version = record_version(&item, version_field).0;
            let entry = entries.get(&key);
            if entry.and_then(|e| e.version).is_none_or(|applied| applied < version) {
                if entry.is_some_and(|e| e.deleted) {
                    revived.push(item.record_id.clone());
                }
                missed.push(item);
            }
        }
        Ok((missed, revived))
    }
}

/// The records of `mapping`'s object matching `filter`, read with the mapping's fields, as
/// catch-up work items (page after page).
async fn read_items(
    reader: &dyn SalesforceReader,
    org_id: &str,
    mapping: &Mapping,
    filter: &str,
    now: OffsetDateTime,
) -> Result<Vec<WorkItem>, ReadError> {
    let object = &mapping.salesforce_object;
    let mut page = reader.query_first(&import_soql(mapping, Some(filter)), 2000).await?;
    let mut items = Vec::new();
    loop {
        for raw in &page.records {
            match to_work_item(raw, org_id, object, Source::CatchUp, now) {
                Ok(item) => items.push(item),
                Err(e) => {
                    tracing::warn!(object, error = %e, "a record could not be read; skipped");
                }
            }
        }
        match page.next.take() {
            Some(next) => page = reader.query_next(&next).await?,
            None => return Ok(items),
        }
    }
}

/// Which of `ids` are live records of `mapping`'s object (ordinary queries leave the recycle bin
/// out), read with the mapping's fields.
async fn live_among(
    reader: &dyn SalesforceReader,
    org_id: &str,
    mapping: &Mapping,
    ids: &[String],
    now: OffsetDateTime,
) -> Result<Vec<WorkItem>, ReadError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(200) {
        let quoted: Vec<String> = chunk.iter().map(|id| format!("'{}'", soql_string(id))).collect();
        let filter = format!("Id IN ({})", quoted.join(", "));
        out.extend(read_items(reader, org_id, mapping, &filter, now).await?);
    }
    Ok(out)
}

/// The records of every enabled mapping that finds its parents in `object` (by mapping) whose
/// lookup names one of `parents`: after an undelete HubSpot holds those parents as new records,
/// and these children are linked to them again (catch-up items find their parents anew).
async fn children(
    reader: &dyn SalesforceReader,
    org_id: &str,
    all: &[StoredMapping],
    object: &str,
    parents: &[String],
    now: OffsetDateTime,
) -> Result<Vec<WorkItem>, ReadError> {
    let mut out = Vec::new();
    if parents.is_empty() {
        return Ok(out);
    }
    for child in all.iter().filter(|m| m.mapping.state == State::Enabled) {
        for a in &child.mapping.associations {
            let FindParentBy::Mapping(p) = &a.find_parent_by else {
                continue;
            };
            if !p.eq_ignore_ascii_case(object) {
                continue;
            }
            for chunk in parents.chunks(200) {
                let ids: Vec<String> =
                    chunk.iter().map(|id| format!("'{}'", soql_string(id))).collect();
                let filter = format!("{} IN ({})", a.lookup, ids.join(", "));
                out.extend(read_items(reader, org_id, &child.mapping, &filter, now).await?);
            }
        }
    }
    Ok(out)
}

/// The SOQL condition of the records whose version field is in `(from, to]`.
fn changed_between(version_field: &str, from: OffsetDateTime, to: OffsetDateTime) -> String {
    let literal = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    format!("{version_field} > {} AND {version_field} <= {}", literal(from), literal(to))
}

/// The records deleted lately (the sweep's `recent_deletes`) that are live again although their
/// version did not move (not among `seen`, the changed ones): undeleted in Salesforce.
async fn undeleted(
    reader: &dyn SalesforceReader,
    org_id: &str,
    mapping: &Mapping,
    state: Option<&SweepState>,
    seen: &HashSet<String>,
    now: OffsetDateTime,
) -> Result<Vec<WorkItem>, ReadError> {
    let recent: Vec<String> = state
        .iter()
        .flat_map(|s| &s.recent_deletes)
        .filter(|d| !seen.contains(&d.id))
        .map(|d| d.id.clone())
        .collect();
    live_among(reader, org_id, mapping, &recent, now).await
}

/// The sweep state after a catch-up read to `to`: the revived taken off the recent deletes,
/// the counters and times moved on, the revision next.
fn caught_up_state(
    state: Option<&SweepState>,
    object: &str,
    enabled: OffsetDateTime,
    now: OffsetDateTime,
    to: OffsetDateTime,
    revived: &[String],
    caught_up: usize,
) -> SweepState {
    let mut next = state.cloned().unwrap_or_else(|| SweepState::new(object, enabled, now));
    next.caught_up_to = Some(to);
    next.recent_deletes.retain(|d| !revived.contains(&d.id));
    next.last_catch_up = Some(now);
    next.caught_up += caught_up as u64;
    if caught_up > 0 {
        next.last_caught_up = Some(now);
    }
    next.revision = state.map_or(1, |s| s.revision + 1);
    next
}
