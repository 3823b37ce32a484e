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

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::convert::{import_soql, to_work_item};
use super::model::SweepState;
use super::ports::{ImportStore, ReadError, SalesforceReader};
use crate::mapping::State;
use crate::mapping::store::{MappingStore, StoreError, StoredMapping};
use crate::queue::Publisher;
use crate::sync::ports::{Ledger, LedgerEntry, ledger_key};
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
            CatchUpOutcome::Read {
                from,
                to,
                changed,
                caught_up,
            } => format!(
                "{o}: {changed} changed from {} to {}; {caught_up} the push had missed, now on the queue.",
                human_time(*from),
                human_time(*to)
            ),
            CatchUpOutcome::NotDue => format!("{o}: caught up recently; not due."),
            CatchUpOutcome::Paused => format!("{o}: the mapping is paused, not caught up."),
            CatchUpOutcome::Failed { error, retryable } => format!(
                "{o}: catch-up FAILED ({}): {error}",
                if *retryable {
                    "the next tick tries again"
                } else {
                    "fix the cause"
                }
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
        self.objects
            .iter()
            .map(|o| match o.outcome {
                CatchUpOutcome::Read { caught_up, .. } => caught_up,
                _ => 0,
            })
            .sum()
    }

    pub fn failures(&self) -> usize {
        self.objects
            .iter()
            .filter(|o| matches!(o.outcome, CatchUpOutcome::Failed { .. }))
            .count()
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
        for stored in mappings.list().await? {
            let object = stored.mapping.salesforce_object.clone();
            let outcome = match (&stored.mapping.state, &org_id) {
                (State::Paused, _) => CatchUpOutcome::Paused,
                (State::Enabled, Err(e)) => CatchUpOutcome::Failed {
                    error: e.to_string(),
                    retryable: e.is_retryable(),
                },
                (State::Enabled, Ok(org_id)) => self
                    .one(store, reader, live, org_id, &stored, now)
                    .await
                    .unwrap_or_else(|(error, retryable)| CatchUpOutcome::Failed {
                        error,
                        retryable,
                    }),
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

    async fn one(
        &self,
        store: &dyn ImportStore,
        reader: &dyn SalesforceReader,
        live: &Publisher,
        org_id: &str,
        stored: &StoredMapping,
        now: OffsetDateTime,
    ) -> Result<CatchUpOutcome, Failure> {
        let object = &stored.mapping.salesforce_object;
        let state = store
            .get_sweep(object)
            .await
            .map_err(|e| (e.to_string(), e.is_retryable()))?;
        let every = time::Duration::try_from(self.settings.every).unwrap_or(time::Duration::MAX);
        if state
            .as_ref()
            .and_then(|s| s.last_catch_up)
            .is_some_and(|last| now - last < every)
        {
            return Ok(CatchUpOutcome::NotDue);
        }
        let enabled = stored.enabled_at.unwrap_or(stored.updated_at);
        let checkpoint = state
            .as_ref()
            .and_then(|s| s.caught_up_to)
            .unwrap_or(enabled);
        let span = |d: Duration| time::Duration::try_from(d).unwrap_or(time::Duration::ZERO);
        let from = checkpoint - span(self.settings.overlap);
        let to = (now - span(self.settings.settle)).max(checkpoint);
        let items = self
            .changed(reader, org_id, stored, from, to, now)
            .await
            .map_err(|e| (e.to_string(), e.is_retryable()))?;
        let changed = items.len();
        let missed = self.missed(items, &stored.mapping.version_field).await?;
        let caught_up = missed.len();
        live.publish(&missed)
            .await
            .map_err(|e| (e.to_string(), true))?;
        let mut next = state
            .clone()
            .unwrap_or_else(|| SweepState::new(object, enabled, now));
        next.caught_up_to = Some(to);
        next.last_catch_up = Some(now);
        next.caught_up += caught_up as u64;
        if caught_up > 0 {
            next.last_caught_up = Some(now);
        }
        next.revision = state.as_ref().map_or(1, |s| s.revision + 1);
        store
            .put_sweep(&next, state.as_ref().map(|s| s.revision))
            .await
            .map_err(|e| (e.to_string(), e.is_retryable()))?;
        Ok(CatchUpOutcome::Read {
            from,
            to,
            changed,
            caught_up,
        })
    }

    /// The records of `stored`'s object whose version is in `(from, to]`, as work items.
    async fn changed(
        &self,
        reader: &dyn SalesforceReader,
        org_id: &str,
        stored: &StoredMapping,
        from: OffsetDateTime,
        to: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Vec<WorkItem>, ReadError> {
        let m = &stored.mapping;
        let literal = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
        let filter = format!(
            "{v} > {} AND {v} <= {}",
            literal(from),
            literal(to),
            v = m.version_field
        );
        let soql = import_soql(m, Some(&filter));
        let mut page = reader.query_first(&soql, 2000).await?;
        let mut items = Vec::new();
        loop {
            for raw in &page.records {
                match to_work_item(raw, org_id, &m.salesforce_object, Source::CatchUp, now) {
                    Ok(item) => items.push(item),
                    Err(e) => {
                        tracing::warn!(object = %m.salesforce_object, error = %e, "a changed record could not be read; skipped")
                    }
                }
            }
            match page.next.take() {
                Some(next) => page = reader.query_next(&next).await?,
                None => return Ok(items),
            }
        }
    }

    /// Of `items`, those the ledger has not applied at their version.
    async fn missed(
        &self,
        items: Vec<WorkItem>,
        version_field: &str,
    ) -> Result<Vec<WorkItem>, Failure> {
        let keys: Vec<String> = items
            .iter()
            .map(|i| ledger_key(&i.sobject, &i.record_id))
            .collect();
        let mut entries: HashMap<String, LedgerEntry> = HashMap::new();
        for chunk in keys.chunks(100) {
            entries.extend(
                self.ledger
                    .get_many(chunk)
                    .await
                    .map_err(|e| (e.to_string(), e.is_retryable()))?,
            );
        }
        Ok(items
            .into_iter()
            .zip(keys)
            .filter(|(item, key)| {
                let version = record_version(item, version_field).0;
                entries
                    .get(key)
                    .and_then(|e| e.version)
                    .is_none_or(|applied| applied < version)
            })
            .map(|(item, _)| item)
            .collect())
    }
}
