//! The import runner against a fake Salesforce reader and the in-memory stores and queue.

use super::*;
use crate::import::model::Checkpoint;
use crate::import::ports::{DeletedWindow, MemoryContinuation, MemoryImportStore};
use crate::import::ports::{ReadErrorKind, RestPage};
use crate::mapping::store::{MemoryMappingStore, StoredMapping};
use crate::queue::{MemoryQueue, PublishPolicy};
use async_trait::async_trait;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Pages of `per_page` records `r00000..` in Id order; `bad` makes the record at that index
/// lack its Id; `permanent_error` makes every read fail with a non-retryable error. Cursors
/// (`nextRecordsUrl`, Bulk locators) are the next index; `expire_cursors` makes them all
/// gone, as Salesforce after 15 minutes idle (REST) or 7 days (Bulk). A key query (`Id >
/// 'rNNNNN'`) starts after that record; `page_delay` makes every page slow.
#[derive(Debug, Default)]
struct FakeReader {
    total: usize,
    per_page: usize,
    bad: Option<usize>,
    permanent_error: bool,
    page_delay: Duration,
    expire_cursors: AtomicBool,
    /// Cursors answer with another object's records (a locator that names another query).
    foreign_cursors: AtomicBool,
    key_queries: AtomicUsize,
    jobs: AtomicUsize,
}

fn id(i: usize) -> String {
    format!("r{i:05}")
}

impl FakeReader {
    fn new(total: usize, per_page: usize) -> Self {
        Self { total, per_page, ..Self::default() }
    }

    async fn page(&self, start: usize) -> Result<RestPage, ReadError> {
        tokio::time::sleep(self.page_delay).await;
        if self.permanent_error {
            return Err(ReadError {
                operation: "query",
                message: "MALFORMED_QUERY".into(),
                retryable: false,
                kind: ReadErrorKind::Other,
                source: None,
            });
        }
        let end = (start + self.per_page).min(self.total);
        let records = (start..end)
            .map(|i| {
                let mut r = json!({"Id": id(i), "Name": format!("n{i}"), "SystemModstamp": "2026-11-28T10:00:00.000Z"});
                if Some(i) == self.bad
                    && let Value::Object(m) = &mut r
                {
                    m.remove("Id");
                }
                match r {
                    Value::Object(m) => m,
                    _ => unreachable!(),
                }
            })
            .collect();
        Ok(RestPage { records, next: (end < self.total).then(|| end.to_string()) })
    }

    /// Where a query starts: after its key, if it has one.
    fn start_of(&self, soql: &str) -> usize {
        match soql.split_once("Id > 'r") {
            Some((_, rest)) => {
                self.key_queries.fetch_add(1, Ordering::SeqCst);
                rest[..5].parse::<usize>().map_or(0, |n| n + 1)
            }
            None => 0,
        }
    }

    fn gone(&self, kind: ReadErrorKind) -> Result<RestPage, ReadError> {
        Err(ReadError {
            operation: "query page",
            message: "INVALID_QUERY_LOCATOR: invalid query locator".into(),
            retryable: false,
            kind,
            source: None,
        })
    }
}

#[async_trait]
impl SalesforceReader for FakeReader {
    async fn org_id(&self) -> Result<String, ReadError> {
        Ok("00Dxx0000001gPFEAY".into())
    }
    async fn count(&self, _: &str, _: Option<&str>) -> Result<u64, ReadError> {
        Ok(self.total as u64)
    }
    async fn query_first(&self, soql: &str, _: u32) -> Result<RestPage, ReadError> {
        assert!(soql.ends_with("ORDER BY Id"), "{soql}");
        self.page(self.start_of(soql)).await
    }
    async fn query_next(&self, next: &str) -> Result<RestPage, ReadError> {
        if self.expire_cursors.load(Ordering::SeqCst) {
            return self.gone(ReadErrorKind::CursorExpired);
        }
        let mut page = self.page(next.parse().unwrap_or(0)).await?;
        if self.foreign_cursors.load(Ordering::SeqCst) {
            for r in &mut page.records {
                r.insert("attributes".into(), json!({"type": "Other__c"}));
                r.insert("Id".into(), json!("zzz-not-this-import"));
            }
        }
        Ok(page)
    }
    async fn bulk_start(&self, soql: &str) -> Result<String, ReadError> {
        let n = self.jobs.fetch_add(1, Ordering::SeqCst);
        // The job's first page starts after the key: remembered in the job id.
        Ok(format!("750job{n}-{}", self.start_of(soql)))
    }
    async fn bulk_page(
        &self,
        job: &str,
        locator: Option<&str>,
        _: u32,
    ) -> Result<RestPage, ReadError> {
        if self.expire_cursors.load(Ordering::SeqCst) {
            self.expire_cursors.store(false, Ordering::SeqCst);
            return self.gone(ReadErrorKind::JobGone);
        }
        let first = job.rsplit_once('-').and_then(|(_, s)| s.parse().ok()).unwrap_or(0);
        self.page(locator.and_then(|l| l.parse().ok()).unwrap_or(first)).await
    }
    async fn deleted(
        &self,
        _: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Result<DeletedWindow, ReadError> {
        Ok(DeletedWindow {
            records: Vec::new(),
            earliest_date_available: start,
            latest_date_covered: end,
        })
    }
    async fn outbound_messages(
        &self,
    ) -> Result<Vec<crate::salesforce_setup::LiveOutboundMessage>, ReadError> {
        Ok(Vec::new())
    }
    async fn flows(
        &self,
        _: &[String],
    ) -> Result<Vec<crate::salesforce_setup::LiveFlow>, ReadError> {
        Ok(Vec::new())
    }
}

async fn make_runner(
    reader: FakeReader,
    with_mapping: bool,
) -> (ImportRunner, Arc<MemoryQueue>, Arc<FakeReader>) {
    let mappings = Arc::new(MemoryMappingStore::new());
    if with_mapping {
        let mapping = serde_norway::from_str(
            "salesforce_object: X__c\nhubspot_object: p1_x\nid_property: sfid\nstate: enabled\nfields:\n  - {salesforce: Name, hubspot: name}\n",
        )
        .unwrap();
        mappings
            .put(
                &StoredMapping {
                    mapping,
                    version: 1,
                    updated_at: OffsetDateTime::now_utc(),
                    enabled_at: Some(OffsetDateTime::now_utc()),
                    outbound_fields: None,
                },
                None,
            )
            .await
            .unwrap();
    }
    let queue = Arc::new(MemoryQueue::new());
    let reader = Arc::new(reader);
    let runner = ImportRunner {
        store: Arc::new(MemoryImportStore::new()),
        mappings,
        reader: reader.clone(),
        publisher: Publisher::new(queue.clone(), PublishPolicy::default()),
        continuation: Arc::new(MemoryContinuation::new()),
        settings: RunSettings::default(),
    };
    (runner, queue, reader)
}

fn record(total: u64, threshold: u64) -> ImportRecord {
    ImportRecord::new(
        "imp-1".into(),
        "X__c".into(),
        None,
        total,
        threshold,
        OffsetDateTime::now_utc(),
    )
}

/// The record ids on the queue, with how often each is there.
fn enqueued(queue: &MemoryQueue) -> std::collections::BTreeMap<String, usize> {
    let mut seen = std::collections::BTreeMap::new();
    for body in queue.messages() {
        let item = crate::work_item::WorkItem::from_json(&body).unwrap();
        *seen.entry(item.record_id).or_insert(0) += 1;
    }
    seen
}

/// Stores the import `r` and runs it once, as holder `a`.
async fn start(runner: &ImportRunner, r: &ImportRecord) -> RunOutcome {
    runner.store.put(r, None).await.unwrap();
    runner.run("imp-1", "a", None).await.unwrap()
}

mod checkpoints;
mod leases;
mod outcomes;
