//! One record of a batch and the state it is in.

use std::collections::BTreeMap;
use std::mem;
use std::time::Instant;

use time::OffsetDateTime;

use super::report::InMessage;
use crate::mapping::store::StoredMapping;
use crate::sync::ports::{ErrorCategory, ErrorRecord, LedgerEntry, ParentLink};
use crate::sync::{RecordKey, Version};
use crate::work_item::{Op, Source, WorkItem};

/// The lease this worker holds on a record: when it was taken, and what the ledger held then.
#[derive(Debug)]
pub(super) struct Lease {
    pub(super) at: Instant,
    pub(super) prior: LedgerEntry,
}

/// Where a job is. Each stage moves jobs forward; only `Pending` and `Claimed` are in progress.
#[derive(Debug)]
pub(super) enum JobState {
    /// Decoded, mapped, the newest of its record in the batch; not claimed yet.
    Pending,
    /// This worker holds the lease.
    Claimed(Lease),
    /// HubSpot holds this version (upserted, created, archived, or kept on delete): commit it.
    /// `error`: an association failed for good (the record is committed and reported).
    Written { lease: Lease, hubspot_id: Option<String>, error: Option<ErrorRecord> },
    /// HubSpot already holds this content (the ledger's digest): commit the version, write
    /// nothing.
    Unchanged { lease: Lease },
    /// Back to the queue; the lease, if held, is released keeping `hubspot_id`.
    Retry {
        reason: String,
        lease: Option<Lease>,
        hubspot_id: Option<String>,
        error: Option<ErrorRecord>,
    },
    /// Permanent failure before anything was written: error record, ack.
    Failed { error: ErrorRecord, lease: Option<Lease> },
    /// Stale: nothing to do, ack.
    Dropped,
}

#[derive(Debug)]
pub(super) struct Job {
    pub(super) message: InMessage,
    pub(super) item: WorkItem,
    pub(super) mapping: StoredMapping,
    pub(super) key: RecordKey,
    pub(super) version: Version,
    /// The HubSpot properties (in-progress upserts, once converted).
    pub(super) properties: BTreeMap<String, String>,
    /// The parent per lookup as this version leaves it.
    pub(super) parents: BTreeMap<String, ParentLink>,
    /// "lookup parent" of each parent not synced yet.
    pub(super) waiting_for: Vec<String>,
    /// The ledger keys of the parents not synced yet that a mapping of this project syncs (their
    /// commit wakes this job's message).
    pub(super) awaits: Vec<RecordKey>,
    /// The content digest of `properties` and the associations (once converted).
    pub(super) digest: Option<String>,
    pub(super) state: JobState,
}

impl Job {
    pub(super) fn new(
        message: InMessage,
        item: WorkItem,
        mapping: StoredMapping,
        key: RecordKey,
        version: Version,
    ) -> Self {
        Self {
            message,
            item,
            mapping,
            key,
            version,
            properties: BTreeMap::new(),
            parents: BTreeMap::new(),
            waiting_for: Vec::new(),
            awaits: Vec::new(),
            digest: None,
            state: JobState::Pending,
        }
    }

    /// Still to be written: pending or claimed.
    pub(super) fn in_progress(&self) -> bool {
        matches!(self.state, JobState::Pending | JobState::Claimed(_))
    }

    /// In progress, an upsert.
    pub(super) fn upsert_in_progress(&self) -> bool {
        self.in_progress() && self.item.op == Op::Upsert
    }

    /// What the work item says of a lookup: `Some(parent)` (`None` inside: no parent), or
    /// `None` when an outbound message lacks the lookup and is not known to send it, so its
    /// absence says nothing and the association is left as it is (invariant 9).
    pub(super) fn lookup_sent(&self, lookup: &str) -> Option<Option<String>> {
        if field_value(&self.item, lookup).is_none()
            && not_known_sent(&self.item, &self.mapping, lookup)
        {
            return None;
        }
        Some(lookup_value(&self.item, lookup))
    }

    /// The lease of a claimed job.
    pub(super) fn claimed(&self) -> Option<&Lease> {
        match &self.state {
            JobState::Claimed(l) => Some(l),
            _ => None,
        }
    }

    /// The lease held, in whatever state.
    pub(super) fn lease(&self) -> Option<&Lease> {
        match &self.state {
            JobState::Claimed(lease)
            | JobState::Written { lease, .. }
            | JobState::Unchanged { lease } => Some(lease),
            JobState::Retry { lease, .. } | JobState::Failed { lease, .. } => lease.as_ref(),
            JobState::Pending | JobState::Dropped => None,
        }
    }

    /// Written: its lease and HubSpot id.
    pub(super) fn written_as(&self) -> Option<(&Lease, Option<&str>)> {
        match &self.state {
            JobState::Written { lease, hubspot_id, .. } => Some((lease, hubspot_id.as_deref())),
            _ => None,
        }
    }

    /// When the lease was taken (now for an unclaimed job).
    pub(super) fn claimed_at(&self) -> Instant {
        self.claimed().map_or_else(Instant::now, |l| l.at)
    }

    /// A claimed job is written; HubSpot gave it `hubspot_id` (none for an archive or a kept
    /// delete).
    pub(super) fn written(&mut self, hubspot_id: Option<String>) {
        if let JobState::Claimed(lease) = mem::replace(&mut self.state, JobState::Dropped) {
            self.state = JobState::Written { lease, hubspot_id, error: None };
        }
    }

    /// A claimed job's content is in HubSpot already.
    pub(super) fn unchanged(&mut self) {
        if let JobState::Claimed(lease) = mem::replace(&mut self.state, JobState::Dropped) {
            self.state = JobState::Unchanged { lease };
        }
    }

    /// Back to the queue (a job in progress or written; others keep their state).
    pub(super) fn retry(&mut self, why: impl Into<String>) {
        let reason = why.into();
        self.state = match mem::replace(&mut self.state, JobState::Dropped) {
            JobState::Pending => {
                JobState::Retry { reason, lease: None, hubspot_id: None, error: None }
            }
            JobState::Claimed(lease) => {
                JobState::Retry { reason, lease: Some(lease), hubspot_id: None, error: None }
            }
            JobState::Written { lease, hubspot_id, error } => {
                JobState::Retry { reason, lease: Some(lease), hubspot_id, error }
            }
            other => other,
        };
    }

    /// A permanent failure: a job in progress fails; a written or returning one keeps its state
    /// and carries the error record.
    pub(super) fn fail(
        &mut self,
        category: ErrorCategory,
        field: Option<String>,
        value: Option<String>,
        message: String,
    ) {
        let record = self.error_record(category, field, value, message);
        self.state = match mem::replace(&mut self.state, JobState::Dropped) {
            JobState::Pending => JobState::Failed { error: record, lease: None },
            JobState::Claimed(lease) | JobState::Failed { lease: Some(lease), .. } => {
                JobState::Failed { error: record, lease: Some(lease) }
            }
            JobState::Failed { lease: None, .. } => JobState::Failed { error: record, lease: None },
            JobState::Written { lease, hubspot_id, .. } => {
                JobState::Written { lease, hubspot_id, error: Some(record) }
            }
            JobState::Retry { reason, lease, hubspot_id, .. } => {
                JobState::Retry { reason, lease, hubspot_id, error: Some(record) }
            }
            other => other,
        };
    }

    pub(super) fn error_record(
        &self,
        category: ErrorCategory,
        field: Option<String>,
        value: Option<String>,
        message: String,
    ) -> ErrorRecord {
        ErrorRecord {
            id: self.key.to_string(),
            category,
            object: self.item.sobject.clone(),
            record_id: self.item.record_id.clone(),
            field,
            value,
            message,
            attempts: self.message.receive_count,
            work_item: self.message.body.clone(),
            at: OffsetDateTime::now_utc(),
        }
    }

    pub(super) fn hs_object(&self) -> &str {
        &self.mapping.mapping.hubspot_object
    }

    pub(super) fn id_property(&self) -> &str {
        &self.mapping.mapping.id_property
    }
}

/// A field's value in a work item (names compared without case when not found as they are).
pub(super) fn field_value<'a>(item: &'a WorkItem, name: &str) -> Option<&'a Option<String>> {
    item.fields
        .get(name)
        .or_else(|| item.fields.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// A lookup's value: Salesforce leaves null fields out of outbound messages, so absent, nil and
/// blank all mean "no parent".
pub(super) fn lookup_value(item: &WorkItem, lookup: &str) -> Option<String> {
    field_value(item, lookup).cloned().flatten().filter(|v| !v.trim().is_empty())
}

/// A field absent from an outbound-message notification whose message is not known to send it:
/// absent does not mean null there. Imports and reconciles select every field.
pub(super) fn not_known_sent(item: &WorkItem, mapping: &StoredMapping, field: &str) -> bool {
    matches!(item.source, Source::OutboundMessage { .. }) && !mapping.outbound_sends(field)
}
