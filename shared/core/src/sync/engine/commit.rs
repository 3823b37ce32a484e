//! Stage 6, commit: written and unchanged records are committed in the ledger (waiting children
//! go back, or become errors once they waited too long), the others release their lease, error
//! records are stored; then the import counters.

use std::collections::BTreeMap;

use futures::stream::{self, StreamExt};
use time::OffsetDateTime;
use tracing::Instrument;

use super::batch::{Batch, Progress, Tally, Wait};
use super::context::Context;
use super::job::{Job, JobState, Lease};
use crate::sync::RecordKey;
use crate::sync::ports::{Commit, ErrorCategory, ErrorRecord, LedgerError, Release};
use crate::work_item::{Op, Source};

/// How one record ended.
#[derive(Debug, Default)]
struct Settled {
    /// The message id to hand back.
    back: Option<String>,
    waiting: bool,
    failed: bool,
    deleted: bool,
    lost: bool,
    /// How an acked import item ended, for its import's counters.
    import: Option<(String, Tally)>,
    /// Committed as waiting for these parents (ledger keys), its message handed back.
    waits: Option<Wait>,
    /// Committed in HubSpot: its ledger key, for the children that may wait for it.
    committed: Option<RecordKey>,
}

/// What the ledger step of one record decided.
#[derive(Default)]
struct LedgerStep {
    back: bool,
    waiting: bool,
    /// The waiting child's error once it waited too long.
    error: Option<ErrorRecord>,
}

/// What the ledger is to do for one record, decided before any call, so that the batch's
/// commits go to the ledger together ([`crate::sync::ports::Ledger::commit_all`]).
enum LedgerAction {
    Commit(Commit),
    /// Give the lease back; `quiet`: a failure is not worth a warning.
    Release {
        hubspot_id: Option<String>,
        quiet: bool,
    },
    Nothing,
}

/// One job with its ledger step decided.
struct Planned {
    job: Job,
    span: tracing::Span,
    step: LedgerStep,
    action: LedgerAction,
    unchanged: bool,
    written_delete: bool,
    in_hubspot: bool,
}

/// Settles every job of the batch: each one's ledger step decided, the commits written
/// together, then each record settled (error records, releases, import counters).
pub(super) async fn commit(ctx: &Context, batch: &mut Batch) {
    let planned: Vec<Planned> =
        std::mem::take(&mut batch.jobs).into_iter().map(|j| plan(ctx, j)).collect();
    let commits: Vec<(&RecordKey, &Commit)> = planned
        .iter()
        .filter_map(|p| match &p.action {
            LedgerAction::Commit(c) => Some((&p.job.key, c)),
            _ => None,
        })
        .collect();
    let mut answers = ctx
        .ledger
        .commit_all(&ctx.config.owner, &commits, ctx.config.concurrency.max(1))
        .await
        .into_iter();
    let answered: Vec<(Planned, Option<Result<bool, LedgerError>>)> = planned
        .into_iter()
        .map(|p| {
            let answer =
                matches!(p.action, LedgerAction::Commit(_)).then(|| answers.next()).flatten();
            (p, answer)
        })
        .collect();
    let settled: Vec<Settled> = stream::iter(answered)
        .map(|(p, answer)| {
            let span = p.span.clone();
            settle(ctx, p, answer).instrument(span)
        })
        .buffer_unordered(ctx.config.concurrency.max(1))
        .collect()
        .await;
    for d in settled {
        batch.report.waiting += u64::from(d.waiting);
        if let Some(w) = d.waits {
            batch.waiting.push(w.message_id.clone());
            batch.waits.push(w);
        }
        if let Some(key) = d.committed
            && batch.parent_objects.contains(key.object())
        {
            batch.committed_parents.push(key);
        }
        batch.report.failed += u64::from(d.failed);
        batch.report.tombstoned += u64::from(d.deleted);
        batch.report.lost_leases += u64::from(d.lost);
        if let Some((id, how)) = d.import {
            batch.tally(&id, how);
        }
        batch.retry.extend(d.back);
    }
}

/// Decides one job's ledger step (in its record's span).
fn plan(ctx: &Context, mut j: Job) -> Planned {
    let span = tracing::info_span!(
        "record",
        message_id = %j.message.message_id,
        key = %j.key,
        version = %j.version,
        op = ?j.item.op,
    );
    let state = std::mem::replace(&mut j.state, JobState::Dropped);
    let unchanged = matches!(state, JobState::Unchanged { .. });
    let written_delete = matches!(state, JobState::Written { .. }) && j.item.op == Op::Delete;
    let in_hubspot = match &state {
        JobState::Written { hubspot_id, .. } => hubspot_id.is_some(),
        JobState::Unchanged { lease } => lease.prior.hubspot_id.is_some(),
        _ => false,
    } && j.item.op != Op::Delete;
    let (step, action) = span.in_scope(|| ledger_step(ctx, &j, state));
    Planned { job: j, span, step, action, unchanged, written_delete, in_hubspot }
}

async fn settle(
    ctx: &Context,
    p: Planned,
    committed: Option<Result<bool, LedgerError>>,
) -> Settled {
    let Planned { job: j, step, action, unchanged, written_delete, in_hubspot, .. } = p;
    match (action, committed) {
        (LedgerAction::Commit(_), Some(Ok(true))) => {
            tracing::debug!(waiting = step.waiting, "committed");
        }
        (LedgerAction::Commit(_), answer) => {
            let lost = matches!(answer, Some(Ok(false)));
            match answer {
                Some(Err(e)) => tracing::warn!(error = %e, "commit failed; back to the queue"),
                _ => tracing::warn!("lease lost before the commit; back to the queue"),
            }
            return Settled { back: Some(j.message.message_id), lost, ..Settled::default() };
        }
        (LedgerAction::Release { hubspot_id, quiet }, _) => {
            release(ctx, &j, hubspot_id.as_deref(), quiet).await;
        }
        (LedgerAction::Nothing, _) => {}
    }
    let mut back = step.back;
    let failed = step.error.is_some();
    if let Some(rec) = &step.error {
        tracing::warn!(category = rec.category.as_str(), field = ?rec.field, message = %rec.message, "record failed; error recorded");
        if let Err(e) = ctx.errors.put(rec).await {
            tracing::warn!(error = %e, "could not record the error; back to the queue");
            back = true;
        }
    }
    // Import counters: acked records only (synced, or stale = a newer version is there;
    // failed = an error record).
    let import = match &j.item.source {
        Source::Import { import_id, .. } if !back => {
            let how = match (failed, unchanged) {
                (true, _) => Tally::Failed,
                (false, true) => Tally::Unchanged,
                (false, false) => Tally::Synced,
            };
            Some((import_id.clone(), how))
        }
        _ => None,
    };
    let waits = (step.waiting && step.back && step.error.is_none()).then(|| Wait {
        child: j.key.clone(),
        parents: j.awaits.clone(),
        message_id: j.message.message_id.clone(),
    });
    Settled {
        back: back.then_some(j.message.message_id),
        waiting: step.waiting,
        failed,
        deleted: written_delete,
        lost: false,
        import,
        waits,
        committed: in_hubspot.then_some(j.key),
    }
}

/// What one record's ledger step is: commit (written, unchanged) or release (back, failed),
/// with the error record to store.
fn ledger_step(ctx: &Context, j: &Job, state: JobState) -> (LedgerStep, LedgerAction) {
    let mut step = LedgerStep::default();
    let action = match state {
        JobState::Written { lease, hubspot_id, error } => {
            let (s, commit) = commit_of(ctx, j, &lease, hubspot_id, false);
            step = s;
            // A child that waited too long reports that rather than an association's failure.
            step.error = step.error.or(error);
            LedgerAction::Commit(commit)
        }
        JobState::Unchanged { lease } => {
            let hubspot_id = lease.prior.hubspot_id.clone();
            let (s, commit) = commit_of(ctx, j, &lease, hubspot_id, true);
            step = s;
            LedgerAction::Commit(commit)
        }
        JobState::Retry { reason, lease, hubspot_id, error } => {
            if !reason.is_empty() {
                tracing::info!(reason = %reason, "back to the queue");
            }
            step.back = true;
            step.error = error;
            match lease {
                Some(_) => LedgerAction::Release { hubspot_id, quiet: false },
                None => LedgerAction::Nothing,
            }
        }
        JobState::Failed { error, lease } => {
            step.error = Some(error);
            match lease {
                Some(_) => LedgerAction::Release { hubspot_id: None, quiet: false },
                None => LedgerAction::Nothing,
            }
        }
        JobState::Dropped => LedgerAction::Nothing,
        JobState::Pending => {
            step.back = true;
            LedgerAction::Nothing
        }
        JobState::Claimed(_) => {
            step.back = true;
            LedgerAction::Release { hubspot_id: None, quiet: true }
        }
    };
    (step, action)
}

/// The commit of a written or unchanged record, and its step (a waiting child goes back, or
/// becomes an error once it waited too long).
fn commit_of(
    ctx: &Context,
    j: &Job,
    lease: &Lease,
    hubspot_id: Option<String>,
    unchanged: bool,
) -> (LedgerStep, Commit) {
    let mut step = LedgerStep::default();
    if !j.waiting_for.is_empty() {
        step.waiting = true;
        match waited_too_long(ctx, j) {
            Some(rec) => step.error = Some(rec),
            None => step.back = true,
        }
    }
    let deleted = j.item.op == Op::Delete;
    let commit = Commit {
        version: j.version,
        hubspot_id: if deleted { lease.prior.hubspot_id.clone() } else { hubspot_id },
        parents: if deleted { BTreeMap::new() } else { j.parents.clone() },
        deleted,
        waiting: step.waiting,
        digest: if deleted || step.waiting { None } else { j.digest.clone() },
        unchanged,
        wake: if step.waiting { j.message.wake.clone() } else { None },
    };
    (step, commit)
}

/// The error record of a child still waiting for its parent on the queue's last delivery, or
/// after `parent_wait`; `None` while it may wait on.
fn waited_too_long(ctx: &Context, j: &Job) -> Option<ErrorRecord> {
    let parent_wait =
        time::Duration::try_from(ctx.config.parent_wait).unwrap_or(time::Duration::MAX);
    let receives = j.message.receive_count;
    let last = ctx.config.max_receives > 0 && receives >= ctx.config.max_receives;
    let waiting = j.waiting_for.join(", ");
    let msg = if last {
        format!(
            "waiting for parent {waiting}: still missing at delivery {receives} (the queue's last); sync the parent, then replay"
        )
    } else if OffsetDateTime::now_utc() - j.item.received_at > parent_wait {
        format!(
            "waiting for parent {waiting} for longer than {} s; sync the parent, then replay",
            ctx.config.parent_wait.as_secs()
        )
    } else {
        return None;
    };
    let field = j.waiting_for.first().cloned();
    Some(j.error_record(ErrorCategory::Association, field, None, msg))
}

async fn release(ctx: &Context, j: &Job, hubspot_id: Option<&str>, quiet: bool) {
    if let Err(e) = ctx.ledger.release(&j.key, Release::new(&ctx.config.owner, hubspot_id)).await
        && !quiet
    {
        tracing::warn!(error = %e, "lease release failed (it expires)");
    }
}

/// Adds this batch's import outcomes to the import records (best effort: a failure is
/// logged, the batch is not retried for it, which would count the others twice).
pub(super) async fn record_progress(ctx: &Context, progress: Progress) {
    let Some(store) = &ctx.imports else {
        return;
    };
    for (id, p) in progress {
        if let Err(e) = store.record_progress(&id, p).await {
            tracing::warn!(import_id = %id, synced = p.synced, failed = p.failed, unchanged = p.unchanged, error = %e, "import counters not updated");
        }
    }
}
