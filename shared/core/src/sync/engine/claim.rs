//! Stage 2, claim: take each record's lease in the ledger, newer versions only.

use std::time::Instant;

use time::OffsetDateTime;

use super::batch::Batch;
use super::context::Context;
use super::job::{JobState, Lease};
use crate::sync::ports::{Claim, ClaimRequest};
use crate::sync::version::millis;
use crate::sync::{RecordKey, Version};
use crate::work_item::{Op, Source};

/// Pending jobs become claimed (with the ledger's prior entry), dropped (stale) or go back
/// (lease held elsewhere, ledger unavailable).
pub(super) async fn claim(ctx: &Context, batch: &mut Batch) {
    let now = millis(OffsetDateTime::now_utc());
    let lease = i64::try_from(ctx.config.lease.as_millis()).unwrap_or(i64::MAX / 4);
    let owner = ctx.config.owner.as_str();
    let ledger = &ctx.ledger;
    let wanted: Vec<(usize, &RecordKey, Version, bool, bool)> = batch
        .jobs
        .iter()
        .enumerate()
        .map(|(i, j)| {
            // A reconcile repairs records HubSpot lost at a version the ledger applied; an
            // import may carry a version the ledger applied under another mapping (the
            // digest then tells whether HubSpot's content changes); a catch-up item is a
            // change the ledger has not applied, or a child of an undeleted parent to link again.
            let replay = matches!(
                j.item.source,
                Source::Reconcile | Source::Import { .. } | Source::CatchUp | Source::Undelete
            ) && j.item.op == Op::Upsert;
            let revive = matches!(j.item.source, Source::Undelete) && j.item.op == Op::Upsert;
            (i, &j.key, j.version, replay, revive)
        })
        .collect();
    let requests: Vec<ClaimRequest<'_>> = wanted
        .iter()
        .map(|(_, key, version, replay, revive)| {
            ClaimRequest::new(key, *version, owner, now, lease).replayed(*replay).reviving(*revive)
        })
        .collect();
    let answers = ledger.claim_all(&requests, ctx.config.concurrency.max(1)).await;
    let answers: Vec<_> = wanted.iter().map(|w| w.0).zip(answers).collect();
    for (i, answer) in answers {
        let j = &mut batch.jobs[i];
        match answer {
            Ok(Claim::Claimed(prior)) => {
                // An undelete over a tombstone is committed above the deletion's version, so
                // that the delete delivered again stays stale.
                if prior.deleted
                    && let Some(deleted) = prior.version
                    && matches!(j.item.source, Source::Undelete)
                {
                    j.version = j.version.max(deleted.after());
                }
                j.state = JobState::Claimed(Lease { at: Instant::now(), prior });
            }
            Ok(Claim::Stale { stored, deleted }) => {
                batch.report.dropped_stale += 1;
                tracing::debug!(key = %j.key, version = %j.version, %stored, deleted, "stale version dropped");
                j.state = JobState::Dropped;
            }
            Ok(Claim::Leased { owner, until }) => {
                batch.report.leased += 1;
                j.retry(format!("lease held by {owner} until {until}"));
            }
            Err(e) => {
                tracing::warn!(key = %j.key, error = %e, "claim failed");
                j.retry(format!("claim failed: {e}"));
            }
        }
    }
}
