//! A batch in flight: its jobs, its report, the messages to hand back, its import progress.

use std::collections::{HashMap, HashSet};

use super::job::Job;
use super::report::BatchReport;
use crate::import::ImportProgress;
use crate::sync::RecordKey;
use crate::work_item::{Source, WorkItem};

/// Import id -> what this batch adds to its counters.
pub(super) type Progress = HashMap<String, ImportProgress>;

/// How an import's record ended, for its counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tally {
    Synced,
    Unchanged,
    Failed,
}

#[derive(Debug, Default)]
pub(super) struct Batch {
    pub(super) jobs: Vec<Job>,
    pub(super) report: BatchReport,
    /// Message ids to hand back to the queue.
    pub(super) retry: Vec<String>,
    /// Of `retry`: children waiting for a parent (handed back for the re-check delay).
    pub(super) waiting: Vec<String>,
    pub(super) progress: Progress,
    /// Lowercased Salesforce objects some mapping finds parents in (by mapping): their commits
    /// may wake children.
    pub(super) parent_objects: HashSet<String>,
    /// Children committed as waiting, for the wake stage.
    pub(super) waits: Vec<Wait>,
    /// Ledger keys of records of `parent_objects` committed in HubSpot by this batch.
    pub(super) committed_parents: Vec<RecordKey>,
}

/// A child committed as waiting for parents.
#[derive(Debug)]
pub(super) struct Wait {
    pub(super) child: RecordKey,
    /// The ledger keys of the parents it waits for.
    pub(super) parents: Vec<RecordKey>,
    pub(super) message_id: String,
}

impl Batch {
    pub(super) fn new(records_in: usize) -> Self {
        Self {
            report: BatchReport { records_in: records_in as u64, ..BatchReport::default() },
            ..Self::default()
        }
    }

    /// Once HubSpot's daily limit has stopped writes, every job still in progress goes back to
    /// the queue. Returns whether it did.
    pub(super) fn send_back_on_daily_limit(&mut self) -> bool {
        if !self.report.daily_limit {
            return false;
        }
        for j in self.jobs.iter_mut().filter(|j| j.in_progress()) {
            j.retry("HubSpot daily limit reached");
        }
        true
    }

    pub(super) fn tally(&mut self, import_id: &str, how: Tally) {
        let e = self.progress.entry(import_id.to_owned()).or_default();
        match how {
            Tally::Synced => e.synced += 1,
            Tally::Unchanged => {
                e.synced += 1;
                e.unchanged += 1;
            }
            Tally::Failed => e.failed += 1,
        }
    }

    /// Counts an item acked without a write: synced (superseded) or failed (dropped).
    pub(super) fn count(&mut self, item: &WorkItem, synced: bool) {
        if let Source::Import { import_id, .. } = &item.source {
            let how = if synced { Tally::Synced } else { Tally::Failed };
            self.tally(import_id, how);
        }
    }
}
