//! Stage 4, write: new records created with their associations, the rest upserted, deletes
//! archived, by HubSpot object in chunks of 100.

use std::collections::BTreeMap;

use super::batch::Batch;
use super::chunks::{CHUNK, WriteCall, call_failed, chunk_calls, send_chunks, settle};
use super::context::Context;
use super::create::create_new;
use crate::mapping::OnDelete;
use crate::sync::ports::{ByProperty, UpsertRecord, Writes};
use crate::work_item::Op;

pub(super) async fn write(ctx: &Context, batch: &mut Batch) {
    // New records with their associations in one call; the rest (and any create refused)
    // are upserted.
    create_new(ctx, batch).await;
    if batch.send_back_on_daily_limit() {
        return;
    }
    upsert(ctx, batch).await;
    if batch.send_back_on_daily_limit() {
        return;
    }
    archive(ctx, batch).await;
}

async fn upsert(ctx: &Context, batch: &mut Batch) {
    let upserts: Vec<usize> =
        (0..batch.jobs.len()).filter(|&i| batch.jobs[i].upsert_in_progress()).collect();
    let calls = chunk_calls(&batch.jobs, &upserts, |_, j| UpsertRecord {
        id: j.item.record_id.clone(),
        properties: j.properties.clone(),
    });
    let hubspot = &ctx.hubspot;
    let answers = send_chunks(ctx, calls, |object, id_property, records| async move {
        hubspot.upsert(Writes { by: ByProperty::new(&object, &id_property), records }).await
    })
    .await;
    settle(ctx, batch, WriteCall::Upsert, answers);
}

/// Deletes: archived (`on_delete: archive`) or kept; both are committed as tombstones.
async fn archive(ctx: &Context, batch: &mut Batch) {
    let mut groups: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, j) in batch.jobs.iter_mut().enumerate() {
        if j.in_progress() && j.item.op == Op::Delete {
            match j.mapping.mapping.on_delete {
                OnDelete::Archive => groups
                    .entry((j.hs_object().to_owned(), j.id_property().to_owned()))
                    .or_default()
                    .push(i),
                OnDelete::Keep => j.written(None),
            }
        }
    }
    let guard = ctx.config.lease / 2;
    for ((object, id_property), idx) in groups {
        for chunk in idx.chunks(CHUNK) {
            let jobs = &mut batch.jobs;
            if batch.report.daily_limit
                || chunk.iter().any(|&i| jobs[i].claimed_at().elapsed() > guard)
            {
                for &i in chunk {
                    jobs[i].retry("lease too short to start the write, or the daily limit");
                }
                continue;
            }
            let ids: Vec<String> = chunk.iter().map(|&i| jobs[i].item.record_id.clone()).collect();
            match ctx.hubspot.archive(ByProperty::new(&object, &id_property), &ids).await {
                Ok(()) => {
                    for &i in chunk {
                        batch.report.archived += 1;
                        batch.jobs[i].written(None);
                    }
                }
                Err(e) => call_failed(ctx, batch, chunk, &e),
            }
        }
    }
}
