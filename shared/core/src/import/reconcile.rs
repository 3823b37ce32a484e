//! `sfhs reconcile OBJECT`: after a gap in the delete sweep (or any doubt), compares the ids in
//! Salesforce with the ledger and HubSpot and repairs through the queue, the way every other
//! write goes: records missing in HubSpot or older there than in Salesforce are enqueued as
//! upserts (the worker's version check keeps it harmless), HubSpot records whose Salesforce
//! record is gone are enqueued as deletes when the mapping says `on_delete: archive`.
//!
//! It reads all of HubSpot's ids of the object first (one call per 100 records), then streams
//! Salesforce's records page by page (the import's query), checking each page against the ledger
//! in one batched read: memory holds the id sets, not the records.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use time::OffsetDateTime;

use super::ports::{ReadError, SalesforceReader};
use super::records::{ConvertError, delete_item, import_soql, to_work_item};
use crate::mapping::{Mapping, OnDelete};
use crate::queue::{PublishError, Publisher};
use crate::sync::{
    ByProperty, HubSpotWriter, Ledger, LedgerError, RecordKey, WriteError, record_version,
};
use crate::work_item::{Source, WorkItem};

/// Ids listed per kind in the report (the counts are complete).
const SAMPLE: usize = 20;

/// What a reconcile found, and what it enqueued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    pub object: String,
    pub hubspot_object: String,
    pub dry_run: bool,
    /// Records in Salesforce, and records of the object in HubSpot.
    pub salesforce: u64,
    pub hubspot: u64,
    /// In Salesforce, not in HubSpot; up to 20 of their Salesforce ids.
    pub missing: u64,
    pub missing_ids: Vec<String>,
    /// In both, but the ledger's applied version is older than Salesforce's (or unknown).
    pub stale: u64,
    pub stale_ids: Vec<String>,
    /// In HubSpot, gone from Salesforce.
    pub orphans: u64,
    pub orphan_ids: Vec<String>,
    /// Whether orphans are archived (`on_delete: archive`) or left (`keep`).
    pub archive_orphans: bool,
    /// Work items put on the queue (0 on a dry run).
    pub enqueued_upserts: u64,
    pub enqueued_deletes: u64,
}

impl ReconcileReport {
    /// Nothing to repair.
    pub fn is_clean(&self) -> bool {
        self.missing + self.stale + self.orphans == 0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("reading Salesforce failed: {0}")]
    Read(#[from] ReadError),
    #[error("listing the HubSpot records failed: {0}")]
    HubSpot(#[from] WriteError),
    #[error("reading the ledger failed: {0}")]
    Ledger(#[from] LedgerError),
    #[error("enqueueing the repairs failed: {0}")]
    Publish(#[from] PublishError),
    #[error(transparent)]
    Convert(#[from] ConvertError),
}

impl ReconcileError {
    /// Whether running it again may succeed (nothing is lost by running it twice).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Read(e) => e.retryable,
            Self::HubSpot(e) => e.is_retryable(),
            Self::Ledger(e) => e.retryable,
            Self::Publish(PublishError::Incomplete { .. }) => true,
            Self::Publish(_) | Self::Convert(_) => false,
        }
    }
}

/// What a reconcile reads and writes through. `publisher` takes the repairs (the import queue:
/// a large repair must not starve live sync); `page_size` is the REST query's batch size.
#[derive(Debug, Clone, Copy)]
pub struct Reconciler<'a> {
    pub reader: &'a dyn SalesforceReader,
    pub hubspot: &'a dyn HubSpotWriter,
    pub ledger: &'a dyn Ledger,
    pub publisher: &'a Publisher,
    pub page_size: u32,
}

impl Reconciler<'_> {
    /// Compares and repairs one mapping's object (`dry_run`: compares only).
    pub async fn run(
        &self,
        mapping: &Mapping,
        now: OffsetDateTime,
        dry_run: bool,
    ) -> Result<ReconcileReport, ReconcileError> {
        let object = mapping.salesforce_object.as_str();
        let mut report = ReconcileReport {
            object: object.to_owned(),
            hubspot_object: mapping.hubspot_object.clone(),
            dry_run,
            archive_orphans: mapping.on_delete == OnDelete::Archive,
            ..ReconcileReport::default()
        };
        let in_hubspot = self
            .hubspot
            .all_values(ByProperty::new(&mapping.hubspot_object, &mapping.id_property))
            .await?;
        report.hubspot = in_hubspot.len() as u64;
        let org_id = self.reader.org_id().await?;
        let mut seen: HashSet<String> = HashSet::with_capacity(in_hubspot.len());
        let soql = import_soql(mapping, None);
        let mut page = self.reader.query_first(&soql, self.page_size).await?;
        loop {
            let mut items: Vec<WorkItem> = Vec::with_capacity(page.records.len());
            for raw in &page.records {
                items.push(to_work_item(raw, &org_id, object, Source::Reconcile, now)?);
            }
            report.salesforce += items.len() as u64;
            for item in &items {
                seen.insert(item.record_id.clone());
            }
            let repairs = self.repairs(mapping, items, &in_hubspot, &mut report).await?;
            if !dry_run && !repairs.is_empty() {
                self.publisher.publish(&repairs).await?;
                report.enqueued_upserts += repairs.len() as u64;
            }
            match page.next.take() {
                Some(next) => page = self.reader.query_next(&next).await?,
                None => break,
            }
        }
        let orphans: Vec<&String> = in_hubspot.keys().filter(|id| !seen.contains(*id)).collect();
        self.orphans(&org_id, object, orphans, now, &mut report).await?;
        Ok(report)
    }

    /// The page's records HubSpot lacks, or holds at a version older than Salesforce's (by the
    /// ledger), counted in the report: what to enqueue again.
    async fn repairs(
        &self,
        mapping: &Mapping,
        items: Vec<WorkItem>,
        in_hubspot: &HashMap<String, String>,
        report: &mut ReconcileReport,
    ) -> Result<Vec<WorkItem>, ReconcileError> {
        let object = mapping.salesforce_object.as_str();
        let keys: Vec<RecordKey> = items
            .iter()
            .filter(|i| in_hubspot.contains_key(&i.record_id))
            .map(|i| RecordKey::new(object, &i.record_id))
            .collect();
        let entries =
            if keys.is_empty() { HashMap::new() } else { self.ledger.get_many(&keys).await? };
        let mut repairs = Vec::new();
        for item in items {
            if !in_hubspot.contains_key(&item.record_id) {
                report.missing += 1;
                sample(&mut report.missing_ids, &item.record_id);
                repairs.push(item);
                continue;
            }
            let (version, _) = record_version(&item, &mapping.version_field);
            let applied =
                entries.get(&RecordKey::new(object, &item.record_id)).and_then(|e| e.version);
            if applied.is_none_or(|v| v < version) {
                report.stale += 1;
                sample(&mut report.stale_ids, &item.record_id);
                repairs.push(item);
            }
        }
        Ok(repairs)
    }

    /// HubSpot's records Salesforce no longer has: counted, and deletes enqueued for them when
    /// the mapping archives and this is no dry run.
    async fn orphans(
        &self,
        org_id: &str,
        object: &str,
        mut orphans: Vec<&String>,
        now: OffsetDateTime,
        report: &mut ReconcileReport,
    ) -> Result<(), ReconcileError> {
        orphans.sort();
        report.orphans = orphans.len() as u64;
        for id in orphans.iter().take(SAMPLE) {
            report.orphan_ids.push((*id).clone());
        }
        if !report.archive_orphans || report.dry_run || orphans.is_empty() {
            return Ok(());
        }
        let deletes: Vec<WorkItem> = orphans
            .iter()
            .map(|id| {
                let mut d = delete_item(org_id, object, id, now);
                d.source = Source::Reconcile;
                d
            })
            .collect();
        for chunk in deletes.chunks(500) {
            self.publisher.publish(chunk).await?;
        }
        report.enqueued_deletes = deletes.len() as u64;
        Ok(())
    }
}

fn sample(ids: &mut Vec<String>, id: &str) {
    if ids.len() < SAMPLE {
        ids.push(id.to_owned());
    }
}
