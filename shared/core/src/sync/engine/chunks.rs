//! HubSpot writes in chunks of up to 100 records, and what their answers do to the jobs: the
//! one place where create and upsert outcomes are settled.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use futures::stream::{self, StreamExt};
use time::OffsetDateTime;

use super::batch::Batch;
use super::context::Context;
use super::job::Job;
use super::report::BatchReport;
use crate::sync::ports::{
    ErrorCategory, Upserted, WriteError, WriteErrorKind, WriteFailure, WriteOutcomes,
};
use crate::sync::version::millis;

/// HubSpot's largest batch.
pub(super) const CHUNK: usize = 100;

/// One HubSpot write of up to 100 records of one object: the jobs it carries (`idx`), their
/// payload in the same order, and the oldest claim among them.
pub(super) struct ChunkCall<R> {
    pub(super) object: String,
    id_property: String,
    pub(super) idx: Vec<usize>,
    pub(super) records: Vec<R>,
    oldest_claim: Instant,
}

/// Why a chunk was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NotSent {
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

/// What became of one chunk.
pub(super) struct ChunkAnswer {
    object: String,
    idx: Vec<usize>,
    result: Result<Result<WriteOutcomes, WriteError>, NotSent>,
}

/// Which call a chunk went out with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WriteCall {
    /// New records with their associations: what it cannot write stays in progress for the
    /// upsert.
    Create,
    Upsert,
}

/// The jobs `idx` grouped by (HubSpot object, id property), in chunks of [`CHUNK`], each record
/// made by `record` from the job and its index.
pub(super) fn chunk_calls<R>(
    jobs: &[Job],
    idx: &[usize],
    record: impl Fn(usize, &Job) -> R,
) -> Vec<ChunkCall<R>> {
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for &i in idx {
        let j = &jobs[i];
        groups.entry((j.hs_object().to_owned(), j.id_property().to_owned())).or_default().push(i);
    }
    let mut calls = Vec::new();
    for ((object, id_property), members) in groups {
        for chunk in members.chunks(CHUNK) {
            calls.push(ChunkCall {
                object: object.clone(),
                id_property: id_property.clone(),
                idx: chunk.to_vec(),
                records: chunk.iter().map(|&i| record(i, &jobs[i])).collect(),
                oldest_claim: chunk
                    .iter()
                    .map(|&i| jobs[i].claimed_at())
                    .min()
                    .unwrap_or_else(Instant::now),
            });
        }
    }
    calls
}

/// Sends chunks up to `write_concurrency` at a time. A chunk starts only with half of its
/// records' leases left, and not after the daily limit stopped another chunk of this batch.
pub(super) async fn send_chunks<R, F, Fut>(
    ctx: &Context,
    calls: Vec<ChunkCall<R>>,
    send: F,
) -> Vec<ChunkAnswer>
where
    F: Fn(String, String, Vec<R>) -> Fut,
    Fut: Future<Output = Result<WriteOutcomes, WriteError>>,
{
    let guard = ctx.config.lease / 2;
    let stop = AtomicBool::new(false);
    let (stop, send) = (&stop, &send);
    stream::iter(calls)
        .map(|c| async move {
            let answer =
                |result| ChunkAnswer { object: c.object.clone(), idx: c.idx.clone(), result };
            if stop.load(Ordering::SeqCst) {
                return answer(Err(NotSent::DailyLimit));
            }
            if c.oldest_claim.elapsed() > guard {
                return answer(Err(NotSent::LeaseShort));
            }
            let r = send(c.object.clone(), c.id_property.clone(), c.records).await;
            if let Err(e) = &r
                && matches!(e.kind, WriteErrorKind::DailyLimit { .. })
            {
                stop.store(true, Ordering::SeqCst);
            }
            answer(Ok(r))
        })
        .buffer_unordered(ctx.config.write_concurrency.max(1))
        .collect()
        .await
}

/// Applies HubSpot's answers to the jobs they carried.
pub(super) fn settle(ctx: &Context, batch: &mut Batch, call: WriteCall, answers: Vec<ChunkAnswer>) {
    let now_ms = millis(OffsetDateTime::now_utc());
    for a in answers {
        let mut outcomes = match a.result {
            // A create not sent leaves its records in progress: the upsert checks the lease
            // and the daily stop again.
            Err(_) if call == WriteCall::Create => continue,
            Err(not_sent) => {
                for i in a.idx {
                    batch.jobs[i].retry(not_sent.reason());
                }
                continue;
            }
            Ok(Err(e)) if call == WriteCall::Create && is_permanent(&e) => {
                tracing::info!(object = %a.object, error = %e, "create refused; upserting this object's new records for a while");
                ctx.create_backoff.start(a.object);
                continue;
            }
            Ok(Err(e)) => {
                call_failed(ctx, batch, &a.idx, &e);
                continue;
            }
            Ok(Ok(outcomes)) => outcomes,
        };
        for i in a.idx {
            let j = &mut batch.jobs[i];
            let outcome = outcomes.remove(&j.item.record_id);
            settle_record(j, outcome, call, &mut batch.report, now_ms);
        }
    }
}

fn is_permanent(e: &WriteError) -> bool {
    matches!(e.kind, WriteErrorKind::Permanent { .. })
}

fn settle_record(
    j: &mut Job,
    outcome: Option<Result<Upserted, WriteFailure>>,
    call: WriteCall,
    report: &mut BatchReport,
    now_ms: i64,
) {
    match outcome {
        Some(Ok(up)) => written(j, up, report, now_ms),
        Some(Err(f)) if f.retryable => j.retry(f.message),
        // A create refused or unanswered: the upsert writes it or reports why.
        Some(Err(_)) | None if call == WriteCall::Create => {}
        Some(Err(f)) => {
            let message = held_by_archived(j, &f).unwrap_or(f.message);
            let WriteFailure { category, property, value, .. } = f;
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

/// An upsert by the id property can only conflict on it with a record that does not answer to
/// it: an archived HubSpot record that keeps its unique value (HubSpot does not document whether
/// it does). No API restores an archived record, so the operator must, then replay.
fn held_by_archived(j: &Job, f: &WriteFailure) -> Option<String> {
    if f.category != ErrorCategory::Conflict || f.property.as_deref() != Some(j.id_property()) {
        return None;
    }
    let known = j
        .lease()
        .and_then(|l| l.prior.hubspot_id.as_deref())
        .map_or_else(String::new, |id| format!(" (HubSpot id {id}, as last synced)"));
    Some(format!(
        "HubSpot refused to write {} {} anew: an archived {} record{known} keeps {}={}. \
         Restore that record in HubSpot (its recycle bin keeps it for 90 days after the delete), \
         then replay this error with `sfhs errors replay {}`. HubSpot said: {}",
        j.item.sobject,
        j.item.record_id,
        j.hs_object(),
        j.id_property(),
        j.item.record_id,
        j.key,
        f.message
    ))
}

/// A whole call failed: its records fail (permanent) or go back; the daily limit stops writes.
pub(super) fn call_failed(ctx: &Context, batch: &mut Batch, idx: &[usize], e: &WriteError) {
    ctx.daily.note(e, &mut batch.report);
    for &i in idx {
        let j = &mut batch.jobs[i];
        match e.kind {
            WriteErrorKind::Permanent { category } => j.fail(category, None, None, e.to_string()),
            _ => j.retry(e.to_string()),
        }
    }
}

/// Records a write HubSpot confirmed: counters, latencies, the HubSpot id.
fn written(j: &mut Job, up: Upserted, report: &mut BatchReport, now_ms: i64) {
    report.upserted += 1;
    report.created += u64::from(up.created);
    #[allow(clippy::cast_precision_loss)]
    {
        let lv = (now_ms - j.version.millis()).max(0) as f64;
        let lr = (now_ms - millis(j.item.received_at)).max(0) as f64;
        report.written += 1;
        report.latency_version_ms_sum += lv;
        report.latency_version_ms_max = report.latency_version_ms_max.max(lv);
        report.latency_received_ms_sum += lr;
        report.latency_received_ms_max = report.latency_received_ms_max.max(lr);
    }
    j.written(Some(up.hubspot_id));
}
