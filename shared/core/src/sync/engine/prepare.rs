//! Stage 1, prepare: decode the messages, keep what an enabled mapping covers, version each
//! record, collapse duplicates to the newest version.

use std::collections::HashMap;

use time::OffsetDateTime;

use super::batch::Batch;
use super::context::Context;
use super::job::Job;
use super::report::InMessage;
use crate::mapping::store::{StoredMapping, key as mapping_key};
use crate::mapping::{FindParentBy, State};
use crate::sync::RecordKey;
use crate::sync::ports::{ErrorCategory, ErrorRecord};
use crate::sync::version::{Version, VersionSource, record_version};
use crate::work_item::{Op, Source, WorkItem, WorkItemError};

/// Fills `batch.jobs`; what cannot be decoded is an error record, what cannot be read now
/// goes back.
pub(super) async fn prepare(ctx: &Context, messages: Vec<InMessage>, batch: &mut Batch) {
    let decoded = decode(ctx, messages, batch).await;
    if decoded.is_empty() {
        return;
    }
    let mappings = match ctx.mappings.get().await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "mappings unavailable; the whole batch goes back to the queue");
            batch.retry.extend(decoded.into_iter().map(|(m, _)| m.message_id));
            return;
        }
    };
    batch.parent_objects = mappings
        .values()
        .flat_map(|m| &m.mapping.associations)
        .filter_map(|a| match &a.find_parent_by {
            FindParentBy::Mapping(object) => Some(object.to_ascii_lowercase()),
            FindParentBy::Property(_) => None,
        })
        .collect();
    let mut by_key: HashMap<RecordKey, usize> = HashMap::new();
    for (m, item) in decoded {
        let Some(stored) = mappings.get(&mapping_key(&item.sobject)) else {
            batch.count(&item, false);
            batch.report.dropped_unmapped += 1;
            tracing::debug!(sobject = %item.sobject, "no mapping; dropped");
            continue;
        };
        if let Some(job) = to_job(m, item, stored, batch) {
            collapse(job, &mut by_key, batch);
        }
    }
}

async fn decode(
    ctx: &Context,
    messages: Vec<InMessage>,
    batch: &mut Batch,
) -> Vec<(InMessage, WorkItem)> {
    let mut decoded = Vec::with_capacity(messages.len());
    for m in messages {
        match WorkItem::from_json(&m.body) {
            Ok(item) => decoded.push((m, item)),
            Err(WorkItemError::UnknownVersion { version }) => {
                tracing::warn!(message_id = %m.message_id, version, "work item of an unknown schema version; back to the queue (DLQ after maxReceiveCount)");
                batch.retry.push(m.message_id);
            }
            Err(e) => {
                batch.report.undecodable += 1;
                batch.report.failed += 1;
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
                if let Err(e) = ctx.errors.put(&rec).await {
                    tracing::warn!(error = %e, "could not record the error; back to the queue");
                    batch.retry.push(m.message_id);
                }
            }
        }
    }
    decoded
}

/// The job of a mapped item, unless its mapping is paused or the item predates enabling.
fn to_job(m: InMessage, item: WorkItem, stored: &StoredMapping, batch: &mut Batch) -> Option<Job> {
    if stored.mapping.state != State::Enabled {
        batch.count(&item, false);
        batch.report.dropped_paused += 1;
        return None;
    }
    let (version, source) = record_version(&item, &stored.mapping.version_field);
    // A delete without a version (a reconcile's orphan) is ordered by its receipt; no
    // outbound message can be changed to carry one, so there is nothing to advise.
    if source == VersionSource::ReceivedAt && item.op == Op::Upsert {
        batch.report.versions_from_received_at += 1;
        tracing::warn!(
            sobject = %item.sobject, record_id = %item.record_id, field = %stored.mapping.version_field,
            "no readable version field: ordering by receive time (select SystemModstamp in the outbound message)"
        );
    }
    if matches!(item.source, Source::OutboundMessage { .. })
        && let Some(enabled_at) = stored.enabled_at
        && version < Version::at(enabled_at)
    {
        batch.report.dropped_before_enable += 1;
        return None;
    }
    let key = RecordKey::new(&item.sobject, &item.record_id);
    Some(Job::new(m, item, stored.clone(), key, version))
}

/// Keeps the newest version of each record; the superseded one is acked (synced by the newer).
fn collapse(job: Job, by_key: &mut HashMap<RecordKey, usize>, batch: &mut Batch) {
    let Some(&i) = by_key.get(&job.key) else {
        by_key.insert(job.key.clone(), batch.jobs.len());
        batch.jobs.push(job);
        return;
    };
    batch.report.duplicates += 1;
    let rank = |j: &Job| (j.version, j.item.op == Op::Delete, j.item.received_at);
    if rank(&job) > rank(&batch.jobs[i]) {
        let old = std::mem::replace(&mut batch.jobs[i], job);
        batch.count(&old.item, true);
    } else {
        batch.count(&job.item, true);
    }
}
