//! Imports follow the mappings' parent order (invariant 13): an import of an object whose
//! mapping finds parents through another mapping (`find_parent_by: mapping`) does not start
//! while an import of a parent object recorded no later is still enqueueing; that one, once
//! every page is on the queue, starts it (through the continuation: a fresh invocation in AWS,
//! a task in `sfhs dev`). The queue then holds the parents ahead of their children, and a fresh
//! import of both makes no child wait in the common case.
//!
//! Only imports recorded before the child's count (by time, then id), so that two mappings that
//! are each other's parents never wait for each other: the later one waits.

use time::OffsetDateTime;

use super::{ImportRunner, RunError};
use crate::import::model::ImportRecord;
use crate::mapping::{FindParentBy, Mapping};

/// The objects `mapping` finds parents in through other mappings (lowercased, itself left out).
fn parent_objects(mapping: &Mapping) -> Vec<String> {
    let own = mapping.salesforce_object.to_ascii_lowercase();
    let mut out: Vec<String> = mapping
        .associations
        .iter()
        .filter_map(|a| match &a.find_parent_by {
            FindParentBy::Mapping(object) => Some(object.to_ascii_lowercase()),
            FindParentBy::Property(_) => None,
        })
        .filter(|o| *o != own)
        .collect();
    out.sort();
    out.dedup();
    out
}

impl ImportRunner {
    /// Why `import` must wait for a parent object's import (the first one unfinished), or `None`.
    pub(super) async fn waiting_for_parents(
        &self,
        import: &ImportRecord,
    ) -> Result<Option<String>, RunError> {
        let Some(stored) = self.mappings.get(&import.object).await.map_err(RunError::Mapping)?
        else {
            return Ok(None);
        };
        let parents = parent_objects(&stored.mapping);
        if parents.is_empty() {
            return Ok(None);
        }
        let first = self.store.list().await?.into_iter().find(|other| {
            other.id != import.id
                && !other.status.is_final()
                && (other.created, &other.id) < (import.created, &import.id)
                && parents.contains(&other.object.to_ascii_lowercase())
        });
        Ok(first.map(|p| {
        format!(
            "it waits for import {} of its parent object {} ({} of {} records enqueued): parents go first; that import starts it once every page is on the queue",
            p.id, p.object, p.enqueued, p.total
        )
    }))
    }

    /// Once every page of `finished` (an import of a parent object) is on the queue: the imports
    /// of its children that waited for it, handed to the continuation to run now. Best effort: one
    /// not handed over is started by the scheduled tick.
    pub(super) async fn start_children(&self, finished: &ImportRecord) {
        let object = finished.object.to_ascii_lowercase();
        let (mappings, imports) = match (self.mappings.list().await, self.store.list().await) {
            (Ok(m), Ok(i)) => (m, i),
            (Err(e), _) => {
                tracing::warn!(error = %e, "mappings unreadable: the children's imports wait for the tick");
                return;
            }
            (_, Err(e)) => {
                tracing::warn!(error = %e, "imports unreadable: the children's imports wait for the tick");
                return;
            }
        };
        let children: Vec<String> = mappings
            .iter()
            .filter(|m| parent_objects(&m.mapping).contains(&object))
            .map(|m| m.mapping.salesforce_object.to_ascii_lowercase())
            .collect();
        let now = OffsetDateTime::now_utc();
        for waiting in imports.iter().filter(|i| {
            children.contains(&i.object.to_ascii_lowercase())
                && (i.created, &i.id) > (finished.created, &finished.id)
                && i.holder(now).is_claimable()
        }) {
            match self.continuation.continue_import(&waiting.id).await {
                Ok(()) => {
                    tracing::info!(import_id = %waiting.id, parent = %finished.id, "the parent's records are enqueued: the child's import starts");
                }
                Err(e) => {
                    tracing::warn!(import_id = %waiting.id, error = %e, "could not start the child's import; the scheduled tick does");
                }
            }
        }
    }
}
