//! The run's pages, by checkpoint kind: where the checkpoint says to read next (a REST query
//! from the key or its cursor, a Bulk job's results from their locator, a Bulk job to create),
//! each page turned into work items and put on the import queue, then the checkpoint after it;
//! near the deadline, the import handed over to a fresh invocation.

use std::ops::ControlFlow;
use std::time::Instant;

use time::OffsetDateTime;

use super::{Held, ImportRunner, PageError, RunError, RunOutcome};
use crate::import::model::{Checkpoint, ImportMethod, ImportRecord, key_after};
use crate::import::ports::{ReadErrorKind, RestPage};
use crate::import::records::{ConvertError, RawRecord, import_soql_after, to_work_item};
use crate::mapping::Mapping;
use crate::mapping::store::StoreError;
use crate::work_item::Source;

/// What an import reads: the mapping's fields with the import's filter.
struct Query<'a> {
    mapping: &'a Mapping,
    filter: Option<&'a str>,
}

impl Query<'_> {
    /// Its SOQL for the records after the key `after` (`None`: from the first record), in key
    /// order.
    fn after(&self, after: Option<&str>) -> String {
        import_soql_after(self.mapping, self.filter, after)
    }
}

/// Where a checkpoint leads.
enum Step {
    /// A page to enqueue, and the checkpoint after it.
    Page(RestPage, Checkpoint),
    /// No page: the checkpoint moves on (a Bulk job created, or created again).
    Moved(Checkpoint),
    /// Every page is on the queue.
    Done,
}

impl ImportRunner {
    /// The loop over pages.
    pub(super) async fn pages(
        &self,
        held: &Held,
        deadline: Option<Instant>,
    ) -> Result<RunOutcome, PageError> {
        let (object, filter) = {
            let r = held.record.lock().await;
            (r.object.clone(), r.filter.clone())
        };
        let mapping = self
            .mappings
            .get(&object)
            .await
            .map_err(RunError::Mapping)?
            .ok_or_else(|| RunError::Mapping(StoreError::NotFound { object }))?
            .mapping;
        let query = Query { mapping: &mapping, filter: filter.as_deref() };
        let org_id = self.reader.org_id().await.map_err(RunError::from)?;
        let mut pages = 0usize;
        let mut enqueued_here = 0u64;
        loop {
            let record = held.snapshot().await;
            let (page, next) = match self.next_step(&record, &query).await? {
                Step::Done => {
                    self.save(held, deadline, |r| r.completed(OffsetDateTime::now_utc())).await?;
                    return Ok(RunOutcome::Completed { enqueued: enqueued_here, pages });
                }
                Step::Moved(next) => {
                    self.save(held, deadline, |r| r.advanced(next, 0)).await?;
                    continue;
                }
                Step::Page(page, next) => (page, next),
            };
            let n = match self.enqueue(held, deadline, &record, page, &org_id).await? {
                ControlFlow::Continue(n) => n,
                ControlFlow::Break(failed) => return Ok(failed),
            };
            pages += 1;
            enqueued_here += n;
            let done = next == Checkpoint::Done;
            self.save(held, deadline, |r| r.advanced(next, n)).await?;
            tracing::info!(import_id = %record.id, page = pages, records = n, enqueued = record.enqueued + n, "page enqueued");
            if !done && self.hand_over_due(deadline, pages) {
                self.save(held, deadline, |r| r.released(None)).await?;
                self.continuation.continue_import(&record.id).await.map_err(RunError::from)?;
                tracing::info!(import_id = %record.id, "handed over to a fresh invocation");
                return Ok(RunOutcome::HandedOver { enqueued: enqueued_here, pages });
            }
        }
    }

    /// Whether this run stops after this page and hands over: its deadline (less the margin)
    /// is near, or it read as many pages as a run may.
    fn hand_over_due(&self, deadline: Option<Instant>, pages: usize) -> bool {
        let near_deadline = deadline.is_some_and(|d| {
            d.saturating_duration_since(Instant::now()) < self.settings.deadline_margin
        });
        near_deadline || self.settings.max_pages_per_run.is_some_and(|m| pages >= m)
    }

    /// Where the record's checkpoint leads.
    async fn next_step(&self, record: &ImportRecord, query: &Query<'_>) -> Result<Step, PageError> {
        match record.checkpoint.clone() {
            Checkpoint::Done => Ok(Step::Done),
            Checkpoint::Start if record.method == ImportMethod::Bulk => {
                Ok(Step::Moved(self.bulk_job(query, None).await?))
            }
            Checkpoint::Start => {
                let page = self.rest_first(&query.after(None)).await?;
                let next = rest_next(&record.id, &page, Some(None));
                Ok(Step::Page(page, next))
            }
            Checkpoint::Rest { ordered, last_id, next_records_url, cursor_used } => {
                let key = ordered.then_some(last_id.as_deref());
                let cursor = next_records_url.as_deref().map(|url| (url, cursor_used));
                self.rest_step(record, query, key, cursor).await
            }
            Checkpoint::Bulk { job_id, locator, ordered, last_id } => {
                let key = ordered.then_some(last_id.as_deref());
                self.bulk_step(record, query, key, &job_id, locator.as_deref()).await
            }
        }
    }

    /// A REST page: from the query cursor while Salesforce keeps it (and it is this import's),
    /// else from the key (an unordered, older checkpoint has none: from the first record).
    async fn rest_step(
        &self,
        record: &ImportRecord,
        query: &Query<'_>,
        key: Option<Option<&str>>,
        cursor: Option<(&str, Option<OffsetDateTime>)>,
    ) -> Result<Step, PageError> {
        if let Some(page) = self.at_cursor(record, key, cursor).await? {
            let next = rest_next(&record.id, &page, key);
            return Ok(Step::Page(page, next));
        }
        let after = key.flatten();
        let page = self.rest_first(&query.after(after)).await?;
        let next = rest_next(&record.id, &page, Some(after));
        Ok(Step::Page(page, next))
    }

    /// The page at the query cursor; `None` when there is none, it is too old to try, Salesforce
    /// dropped it, or it answers with another object's records.
    async fn at_cursor(
        &self,
        record: &ImportRecord,
        key: Option<Option<&str>>,
        cursor: Option<(&str, Option<OffsetDateTime>)>,
    ) -> Result<Option<RestPage>, RunError> {
        let Some((url, used)) = cursor else {
            return Ok(None);
        };
        let idle = used.map(|t| OffsetDateTime::now_utc() - t);
        if idle.is_some_and(|i| i >= self.settings.cursor_max_idle) {
            tracing::info!(import_id = %record.id, ?idle, ?key, "the query cursor is too old to try; reading on from the key");
            return Ok(None);
        }
        match self.reader.query_next(url).await {
            Ok(page) if of_object(&page, &record.object) => Ok(Some(page)),
            Ok(_) => {
                tracing::warn!(import_id = %record.id, ?key, "the query cursor answers with another object's records (not this import's cursor any more); reading on from the key");
                Ok(None)
            }
            Err(e) if e.kind == ReadErrorKind::CursorExpired => {
                tracing::info!(import_id = %record.id, ?key, "Salesforce dropped the query cursor; reading on from the key");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A page of a Bulk job's results; the job created again from the key once its results are
    /// gone.
    async fn bulk_step(
        &self,
        record: &ImportRecord,
        query: &Query<'_>,
        key: Option<Option<&str>>,
        job_id: &str,
        locator: Option<&str>,
    ) -> Result<Step, PageError> {
        match self.reader.bulk_page(job_id, locator, self.settings.bulk_page_size).await {
            Ok(page) => {
                let next = match &page.next {
                    Some(l) => {
                        let (ordered, last_id) = advance_key(&record.id, &page, key);
                        Checkpoint::Bulk {
                            job_id: job_id.to_owned(),
                            locator: Some(l.clone()),
                            ordered,
                            last_id,
                        }
                    }
                    None => Checkpoint::Done,
                };
                Ok(Step::Page(page, next))
            }
            Err(e) if e.kind == ReadErrorKind::JobGone => {
                let after = key.flatten();
                tracing::warn!(import_id = %record.id, job_id, ?after, error = %e, "the Bulk job's results are gone; creating the job again from the key");
                Ok(Step::Moved(self.bulk_job(query, after).await?))
            }
            Err(e) => Err(RunError::from(e).into()),
        }
    }

    /// The page's records as work items on the import queue: how many (`Continue`), or the
    /// import failed on a record without an Id (`Break`, saved as failed).
    async fn enqueue(
        &self,
        held: &Held,
        deadline: Option<Instant>,
        record: &ImportRecord,
        page: RestPage,
        org_id: &str,
    ) -> Result<ControlFlow<RunOutcome, u64>, PageError> {
        let received_at = OffsetDateTime::now_utc();
        let mut items = Vec::with_capacity(page.records.len());
        for raw in &page.records {
            let source = Source::Import { import_id: record.id.clone(), force: record.force };
            match to_work_item(raw, org_id, &record.object, source, received_at) {
                Ok(item) => items.push(item),
                Err(e @ ConvertError::MissingId { .. }) => {
                    let error = e.to_string();
                    self.save(held, deadline, |r| {
                        r.failed_with(error.clone(), OffsetDateTime::now_utc())
                    })
                    .await?;
                    return Ok(ControlFlow::Break(RunOutcome::Failed { error }));
                }
            }
        }
        drop(page);
        for chunk in items.chunks(self.settings.publish_chunk.max(1)) {
            self.publisher.publish(chunk).await.map_err(RunError::Publish)?;
        }
        Ok(ControlFlow::Continue(items.len() as u64))
    }

    /// A REST query's first page.
    async fn rest_first(&self, soql: &str) -> Result<RestPage, RunError> {
        Ok(self.reader.query_first(soql, self.settings.rest_page_size).await?)
    }

    /// Creates a Bulk query job after the key `after`, waits for it, and says where to read.
    async fn bulk_job(
        &self,
        query: &Query<'_>,
        after: Option<&str>,
    ) -> Result<Checkpoint, RunError> {
        let job_id = self.reader.bulk_start(&query.after(after)).await?;
        tracing::info!(job_id, ?after, "bulk query job complete");
        Ok(Checkpoint::Bulk {
            job_id,
            locator: None,
            ordered: true,
            last_id: after.map(str::to_owned),
        })
    }
}

/// Whether the records of a REST page are of `object` (`attributes.type`, whose case may differ;
/// records without it pass): a cursor checkpointed long ago must still be this import's.
fn of_object(page: &RestPage, object: &str) -> bool {
    page.records.iter().all(|r| {
        r.get("attributes")
            .and_then(|a| a.get("type"))
            .and_then(serde_json::Value::as_str)
            .is_none_or(|t| t.eq_ignore_ascii_case(object))
    })
}

fn record_id(record: &RawRecord) -> Option<&str> {
    record.iter().find(|(k, _)| k.eq_ignore_ascii_case("Id")).and_then(|(_, v)| v.as_str())
}

/// The key after `page`, read after `key` (`None`: no usable key): `(ordered, last_id)`.
fn advance_key(
    import_id: &str,
    page: &RestPage,
    key: Option<Option<&str>>,
) -> (bool, Option<String>) {
    let Some(previous) = key else {
        return (false, None);
    };
    match key_after(previous, page.records.iter().filter_map(record_id)) {
        Some(last) => (true, last.map(str::to_owned)),
        None => {
            tracing::warn!(
                import_id,
                "a page came out of Id order: no key from here on (a resume whose cursor is gone starts again from the first record)"
            );
            (false, None)
        }
    }
}

/// The REST checkpoint after `page`, read after `key`.
fn rest_next(import_id: &str, page: &RestPage, key: Option<Option<&str>>) -> Checkpoint {
    match &page.next {
        Some(url) => {
            let (ordered, last_id) = advance_key(import_id, page, key);
            Checkpoint::Rest {
                ordered,
                last_id,
                next_records_url: Some(url.clone()),
                cursor_used: Some(OffsetDateTime::now_utc()),
            }
        }
        None => Checkpoint::Done,
    }
}
