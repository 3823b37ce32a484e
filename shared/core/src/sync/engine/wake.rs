//! Stage 7, wake: a parent's commit wakes the children waiting for it (invariant 13). A child
//! committed as waiting is noted under each parent it waits for; a parent committed in HubSpot
//! takes the children noted under it, and those still waiting have their messages made
//! deliverable at once (the queue's wake handle each one's ledger entry keeps). Only with a
//! [`Waker`](crate::sync::Waker): without one, children look again after the re-check delay.
//!
//! The race between a child noting itself and its parent committing is closed on the child's
//! side: after noting itself, it reads its parents again, and one that committed meanwhile sends
//! it back at once instead of to the re-check.

use std::collections::HashSet;

use super::batch::Batch;
use super::context::Context;
use crate::sync::RecordKey;

pub(super) async fn wake(ctx: &Context, batch: &mut Batch) {
    let Some(waker) = &ctx.waker else {
        return;
    };
    note_waiting(ctx, batch).await;
    let parents = std::mem::take(&mut batch.committed_parents);
    if parents.is_empty() {
        return;
    }
    let children = match ctx.ledger.take_waiters(&parents).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, parents = parents.len(), "could not read the waiting children; they look again after their re-check");
            return;
        }
    };
    if children.is_empty() {
        return;
    }
    let handles: Vec<String> = match ctx.ledger.get_many(&children).await {
        Ok(entries) => entries.into_values().filter(|e| e.waiting).filter_map(|e| e.wake).collect(),
        Err(e) => {
            tracing::warn!(error = %e, children = children.len(), "could not read the waiting children; they look again after their re-check");
            return;
        }
    };
    if handles.is_empty() {
        return;
    }
    let woken = waker.wake(&handles).await;
    batch.report.woken += woken as u64;
    tracing::info!(woken, of = handles.len(), "children woken by their parents' commit");
}

/// Notes each waiting child under its parents, then reads the parents: a child whose parent
/// committed in HubSpot meanwhile is no longer handed back for the re-check.
async fn note_waiting(ctx: &Context, batch: &mut Batch) {
    let waits = std::mem::take(&mut batch.waits);
    let pairs: Vec<(RecordKey, RecordKey)> =
        waits.iter().flat_map(|w| w.parents.iter().map(|p| (p.clone(), w.child.clone()))).collect();
    if pairs.is_empty() {
        return;
    }
    if let Err(e) = ctx.ledger.add_waiters(&pairs, ctx.config.parent_wait).await {
        tracing::warn!(error = %e, "could not note the waiting children; they look again after their re-check");
        return;
    }
    let parents: Vec<RecordKey> = pairs.iter().map(|(p, _)| p.clone()).collect();
    let arrived: HashSet<RecordKey> = match ctx.ledger.get_many(&parents).await {
        Ok(entries) => entries
            .into_iter()
            .filter(|(_, e)| !e.deleted && e.hubspot_id.is_some())
            .map(|(k, _)| k)
            .collect(),
        Err(_) => return,
    };
    for w in waits {
        if w.parents.iter().any(|p| arrived.contains(p)) {
            tracing::info!(child = %w.child, "its parent committed meanwhile; back at once");
            batch.waiting.retain(|id| *id != w.message_id);
        }
    }
}
