//! The Salesforce reader port (`sfhs_core::import::SalesforceReader`) over this crate's client.

use crate::{BulkOperation, Client, Error, PollPolicy, QueryOptions};
use async_trait::async_trait;
use futures::TryStreamExt;
use serde_json::Value;
use sfhs_core::import::ports::{
    DeletedWindow, ReadError, ReadErrorKind, RestPage, SalesforceReader,
};
use sfhs_core::import::records::RawRecord;
use sfhs_core::salesforce_setup::{LiveFlow, LiveOutboundMessage};
use time::OffsetDateTime;
use tokio::sync::OnceCell;

/// Reads Salesforce through the production client.
#[derive(Debug, Clone)]
pub struct ClientReader {
    client: Client,
    poll: PollPolicy,
    org_id: std::sync::Arc<OnceCell<String>>,
}

impl ClientReader {
    pub fn new(client: Client) -> Self {
        Self { client, poll: PollPolicy::default(), org_id: std::sync::Arc::default() }
    }

    /// How Bulk jobs are polled until complete.
    pub fn with_poll_policy(mut self, poll: PollPolicy) -> Self {
        self.poll = poll;
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn rest_page(page: crate::QueryResultPage) -> RestPage {
    RestPage { records: page.records, next: page.next_records_url }
}

fn read_error(operation: &'static str, e: Error) -> ReadError {
    ReadError {
        operation,
        message: e.to_string(),
        retryable: e.is_retryable(),
        kind: ReadErrorKind::Other,
        source: Some(Box::new(e)),
    }
}

/// A failure to follow a cursor: says whether Salesforce dropped it (the import then reads on
/// from its key).
fn cursor_error(operation: &'static str, e: Error) -> ReadError {
    let kind = if e.is_invalid_query_locator() {
        ReadErrorKind::CursorExpired
    } else if operation == "bulk results" && e.is_bulk_job_gone() {
        ReadErrorKind::JobGone
    } else {
        ReadErrorKind::Other
    };
    ReadError { kind, ..read_error(operation, e) }
}

#[async_trait]
impl SalesforceReader for ClientReader {
    async fn org_id(&self) -> Result<String, ReadError> {
        self.org_id
            .get_or_try_init(|| async {
                self.client.org_id().await.map_err(|e| read_error("login", e))
            })
            .await
            .cloned()
    }

    async fn count(&self, object: &str, condition: Option<&str>) -> Result<u64, ReadError> {
        self.client.count(object, condition).await.map_err(|e| read_error("count", e))
    }

    async fn query_first(&self, soql: &str, page_size: u32) -> Result<RestPage, ReadError> {
        let options = QueryOptions { batch_size: Some(page_size), ..Default::default() };
        self.client
            .query_page(soql, None, options)
            .await
            .map(rest_page)
            .map_err(|e| read_error("query", e))
    }

    async fn query_next(&self, next_records_url: &str) -> Result<RestPage, ReadError> {
        self.client
            .query_page("", Some(next_records_url), QueryOptions::default())
            .await
            .map(rest_page)
            .map_err(|e| cursor_error("query page", e))
    }

    async fn bulk_start(&self, soql: &str) -> Result<String, ReadError> {
        let job = self
            .client
            .create_query_job(soql, BulkOperation::Query)
            .await
            .map_err(|e| read_error("bulk job create", e))?;
        let job = self
            .client
            .wait_for_query_job(&job.id, self.poll)
            .await
            .map_err(|e| read_error("bulk job", e))?;
        Ok(job.id)
    }

    async fn bulk_page(
        &self,
        job_id: &str,
        locator: Option<&str>,
        max_records: u32,
    ) -> Result<RestPage, ReadError> {
        let (rows, next) = self
            .client
            .query_job_results_page(job_id, locator, Some(max_records))
            .await
            .map_err(|e| cursor_error("bulk results", e))?;
        let records = rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|(k, v)| (k, v.map_or(Value::Null, Value::String)))
                    .collect::<RawRecord>()
            })
            .collect();
        Ok(RestPage { records, next })
    }

    async fn deleted(
        &self,
        object: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Result<DeletedWindow, ReadError> {
        let (start, pages) = match self.client.deleted(object, start, end).try_collect().await {
            Ok(pages) => (start, pages),
            // The start is older than what the org keeps (its retention can be shorter than
            // the 15 days the client clamps to): learn `earliestDateAvailable` from a short
            // window and read from there; the gap shows in the result.
            Err(e) if e.error_code() == Some("INVALID_REPLICATION_DATE") => {
                let probe_start = end - time::Duration::minutes(2);
                let probe = self
                    .client
                    .deleted_window(object, probe_start, end)
                    .await
                    .map_err(|e| read_error("deleted records", e))?;
                let earliest = probe.earliest_date_available + time::Duration::minutes(1);
                tracing::warn!(%object, %start, %earliest, "deleted records before earliestDateAvailable are gone");
                let pages: Vec<_> = self
                    .client
                    .deleted(object, earliest, end)
                    .try_collect()
                    .await
                    .map_err(|e| read_error("deleted records", e))?;
                let mut window = merge(earliest, pages);
                window.earliest_date_available =
                    window.earliest_date_available.max(probe.earliest_date_available);
                return Ok(window);
            }
            Err(e) => return Err(read_error("deleted records", e)),
        };
        Ok(merge(start, pages))
    }

    async fn outbound_messages(&self) -> Result<Vec<LiveOutboundMessage>, ReadError> {
        self.client
            .outbound_messages(None)
            .await
            .map_err(|e| read_error("outbound messages (Tooling API)", e))
    }

    async fn flows(&self, names: &[String]) -> Result<Vec<LiveFlow>, ReadError> {
        self.client.flows(names).await.map_err(|e| read_error("flows (Tooling API)", e))
    }
}

fn merge(start: OffsetDateTime, pages: Vec<crate::DeletedPage>) -> DeletedWindow {
    {
        let mut window = DeletedWindow {
            records: Vec::new(),
            earliest_date_available: start,
            latest_date_covered: start,
        };
        for (i, page) in pages.into_iter().enumerate() {
            if i == 0 {
                window.earliest_date_available = page.earliest_date_available;
            }
            window.earliest_date_available =
                window.earliest_date_available.max(page.earliest_date_available);
            window.latest_date_covered = window.latest_date_covered.max(page.latest_date_covered);
            window.records.extend(page.records.into_iter().map(|r| (r.id, r.deleted_date)));
        }
        window
    }
}
