//! The delete sweep: outbound messages never report deletes, so Salesforce's deleted-records
//! windows are read per mapping with `on_delete: archive`, from the mapping's checkpoint, and
//! turned into delete work items on the live queue.

use serde::Serialize;
use time::OffsetDateTime;

use super::model::{SweepGap, SweepState};
use super::ports::{ImportStore, SalesforceReader};
use super::records::delete_item;
use crate::mapping::store::{MappingStore, StoreError};
use crate::mapping::{OnDelete, State};
use crate::queue::Publisher;

/// What the sweep did for one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SweepOutcome {
    /// Deletes from `from` to `to` enqueued (or, dry run, found).
    Swept {
        #[serde(with = "time::serde::rfc3339")]
        from: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        to: OffsetDateTime,
        deletes: usize,
        /// Deletes Salesforce no longer has: run a reconcile.
        #[serde(skip_serializing_if = "Option::is_none")]
        gap: Option<SweepGap>,
    },
    /// `on_delete: keep`: HubSpot is left untouched.
    Kept,
    /// The mapping is paused.
    Paused,
    /// This object failed; the others went on. Its checkpoint did not move.
    Failed { error: String, retryable: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweepObjectReport {
    pub object: String,
    #[serde(flatten)]
    pub outcome: SweepOutcome,
}

impl SweepObjectReport {
    /// One sentence for people: what the sweep did for this object (`verb`: "enqueued", or
    /// "would enqueue" in a dry run). A gap adds a second sentence.
    pub fn describe(&self, verb: &str) -> String {
        use super::progress::human_time;
        let o = &self.object;
        match &self.outcome {
            SweepOutcome::Swept { from, to, deletes, gap } => {
                let plural = if *deletes == 1 { "" } else { "s" };
                let mut s = format!(
                    "{o}: {verb} {deletes} delete{plural} made from {} to {}.",
                    human_time(*from),
                    human_time(*to)
                );
                if let Some(g) = gap {
                    s.push_str(&format!(
                        " GAP: Salesforce no longer has the deletes from {} to {}; run `sfhs reconcile {o}`.",
                        human_time(g.from),
                        human_time(g.to)
                    ));
                }
                s
            }
            SweepOutcome::Kept => format!("{o}: on_delete is keep, HubSpot is left untouched."),
            SweepOutcome::Paused => format!("{o}: the mapping is paused, not swept."),
            SweepOutcome::Failed { error, retryable } => format!(
                "{o}: FAILED ({}): {error}",
                super::after_failure(*retryable, "the next sweep tries again")
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub dry_run: bool,
    pub objects: Vec<SweepObjectReport>,
}

impl SweepReport {
    pub fn deletes(&self) -> usize {
        self.objects
            .iter()
            .map(|o| match o.outcome {
                SweepOutcome::Swept { deletes, .. } => deletes,
                _ => 0,
            })
            .sum()
    }

    pub fn gaps(&self) -> usize {
        self.objects
            .iter()
            .filter(|o| matches!(o.outcome, SweepOutcome::Swept { gap: Some(_), .. }))
            .count()
    }

    pub fn failures(&self) -> usize {
        self.objects.iter().filter(|o| matches!(o.outcome, SweepOutcome::Failed { .. })).count()
    }
}

/// Sweeps every enabled mapping once. `publisher` publishes onto the live queue; `dry_run`
/// reads and reports without enqueueing or moving checkpoints.
pub async fn sweep(
    mappings: &dyn MappingStore,
    store: &dyn ImportStore,
    reader: &dyn SalesforceReader,
    publisher: &Publisher,
    now: OffsetDateTime,
    dry_run: bool,
) -> Result<SweepReport, StoreError> {
    let mut objects = Vec::new();
    let org_id = reader.org_id().await;
    for stored in mappings.list().await? {
        let object = stored.mapping.salesforce_object.clone();
        let outcome = match (stored.mapping.state, stored.mapping.on_delete) {
            (State::Paused, _) => SweepOutcome::Paused,
            (State::Enabled, OnDelete::Keep) => SweepOutcome::Kept,
            (State::Enabled, OnDelete::Archive) => match &org_id {
                Err(e) => {
                    SweepOutcome::Failed { error: e.to_string(), retryable: e.is_retryable() }
                }
                Ok(org_id) => {
                    let since = stored.enabled_at.unwrap_or(stored.updated_at);
                    sweep_one(store, reader, publisher, org_id, &object, since, now, dry_run)
                        .await
                        .unwrap_or_else(|(error, retryable)| SweepOutcome::Failed {
                            error,
                            retryable,
                        })
                }
            },
        };
        match &outcome {
            SweepOutcome::Swept { gap: Some(gap), .. } => tracing::warn!(
                object,
                gap_from = %gap.from,
                gap_to = %gap.to,
                metric = "SweepGap",
                "deletes were missed: Salesforce no longer has them; run a reconcile"
            ),
            SweepOutcome::Swept { deletes, .. } => {
                tracing::info!(object, deletes, dry_run, "deletes swept");
            }
            SweepOutcome::Failed { error, .. } => {
                tracing::error!(object, error, "delete sweep failed");
            }
            SweepOutcome::Kept | SweepOutcome::Paused => {}
        }
        objects.push(SweepObjectReport { object, outcome });
    }
    Ok(SweepReport { dry_run, objects })
}

#[allow(clippy::too_many_arguments)]
async fn sweep_one(
    store: &dyn ImportStore,
    reader: &dyn SalesforceReader,
    publisher: &Publisher,
    org_id: &str,
    object: &str,
    enabled_at: OffsetDateTime,
    now: OffsetDateTime,
    dry_run: bool,
) -> Result<SweepOutcome, (String, bool)> {
    let fail = |e: &dyn std::error::Error, retryable: bool| (e.to_string(), retryable);
    let state = store.get_sweep(object).await.map_err(|e| fail(&e, e.is_retryable()))?;
    let from = state.as_ref().map_or(enabled_at, |s| s.checkpoint);
    let window = reader.deleted(object, from, now).await.map_err(|e| fail(&e, e.is_retryable()))?;
    let gap = (window.earliest_date_available > from).then_some(SweepGap {
        from,
        to: window.earliest_date_available,
        detected_at: now,
    });
    let to = window.latest_date_covered.max(from);
    let deletes = window.records.len();
    if dry_run {
        return Ok(SweepOutcome::Swept { from, to, deletes, gap });
    }
    // Each delete carries its deletion time as its version (Salesforce's deletedDate, as
    // `LastModifiedDate`, which versions fall back to), so it is ordered against the record's
    // updates: an update made before the delete is stale, an undelete's later update wins.
    let items: Vec<_> = window
        .records
        .iter()
        .map(|(id, deleted_at)| {
            let mut item = delete_item(org_id, object, id, now);
            if let Ok(at) = deleted_at.format(&time::format_description::well_known::Rfc3339) {
                item.fields.insert("LastModifiedDate".into(), Some(at));
            }
            item
        })
        .collect();
    publisher.publish(&items).await.map_err(|e| fail(&e, true))?;
    // What the catch-up keeps in the same state stays as it is.
    let base = state.clone().unwrap_or_else(|| SweepState::new(object, from, now));
    let mut base = base;
    base.remember_deletes(&window.records, now);
    let next = SweepState {
        checkpoint: to,
        gap: gap.clone().or(base.gap.clone()),
        last_sweep: now,
        deletes_enqueued: base.deletes_enqueued + deletes as u64,
        revision: state.as_ref().map_or(1, |s| s.revision + 1),
        ..base
    };
    store
        .put_sweep(&next, state.as_ref().map(|s| s.revision))
        .await
        .map_err(|e| fail(&e, e.is_retryable()))?;
    Ok(SweepOutcome::Swept { from, to, deletes, gap })
}
