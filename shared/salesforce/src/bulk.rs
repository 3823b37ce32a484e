//! Bulk API 2.0 query jobs: create, poll with backoff, stream CSV result pages by locator.

use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use reqwest::Method;
use serde_json::json;

use bytes::Bytes;

use crate::client::{Client, Payload, Target, transport};
use crate::error::Error;
use crate::rest::check_name;
use crate::types::{BulkJob, BulkOperation, CsvRecord, JobState, PollPolicy};

/// Rows of one result page, parsed as the body arrives: only the current chunk and the current
/// row are held, never the page.
struct CsvPage {
    url: String,
    body: BoxStream<'static, Result<Bytes, reqwest::Error>>,
    chunk: Bytes,
    pos: usize,
    eof: bool,
    reader: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
}

impl CsvPage {
    fn new(url: String, body: BoxStream<'static, Result<Bytes, reqwest::Error>>) -> CsvPage {
        CsvPage {
            url,
            body,
            chunk: Bytes::new(),
            pos: 0,
            eof: false,
            reader: csv_core::Reader::new(),
            out: vec![0; 4096],
            ends: vec![0; 64],
        }
    }

    /// The next row's cells, or `None` at the end of the page.
    async fn next_row(&mut self) -> Result<Option<Vec<String>>, Error> {
        let (mut out_len, mut ends_len) = (0, 0);
        loop {
            if self.pos >= self.chunk.len() && !self.eof {
                match self.body.next().await {
                    Some(Ok(chunk)) => {
                        self.chunk = chunk;
                        self.pos = 0;
                        continue;
                    }
                    Some(Err(e)) => return Err(transport(&self.url, e)),
                    // An empty input tells csv-core that the data ended.
                    None => self.eof = true,
                }
            }
            let input = self.chunk.get(self.pos..).unwrap_or_default();
            let (result, n_in, n_out, n_ends) = self.reader.read_record(
                input,
                &mut self.out[out_len..],
                &mut self.ends[ends_len..],
            );
            self.pos += n_in;
            out_len += n_out;
            ends_len += n_ends;
            match result {
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => {
                    let len = self.out.len() * 2;
                    self.out.resize(len, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len() * 2;
                    self.ends.resize(len, 0);
                }
                csv_core::ReadRecordResult::Record => {
                    let mut cells = Vec::with_capacity(ends_len);
                    let mut start = 0;
                    for &end in &self.ends[..ends_len] {
                        let cell =
                            String::from_utf8(self.out[start..end].to_vec()).map_err(|source| {
                                Error::Csv {
                                    message: "a cell is not UTF-8".into(),
                                    source: Some(source),
                                }
                            })?;
                        cells.push(cell);
                        start = end;
                    }
                    return Ok(Some(cells));
                }
                csv_core::ReadRecordResult::End => return Ok(None),
            }
        }
    }
}

enum Cursor {
    Open(Option<String>),
    Page { page: Box<CsvPage>, headers: Option<Vec<String>>, next: Option<String> },
    Done,
}

#[cfg(test)]
async fn parse_csv_page(body: &[u8]) -> Result<Vec<CsvRecord>, Error> {
    let chunks: Vec<Result<Bytes, reqwest::Error>> =
        body.chunks(3).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    let mut page = CsvPage::new("test".into(), stream::iter(chunks).boxed());
    let mut headers = None;
    let mut rows = Vec::new();
    while let Some(cells) = page.next_row().await? {
        match &headers {
            None => headers = Some(cells),
            Some(h) => rows.push(to_record(h, cells)?),
        }
    }
    Ok(rows)
}

fn to_record(headers: &[String], cells: Vec<String>) -> Result<CsvRecord, Error> {
    if cells.len() != headers.len() {
        return Err(Error::Csv {
            message: format!("a row has {} cells, the header {}", cells.len(), headers.len()),
            source: None,
        });
    }
    Ok(headers
        .iter()
        .cloned()
        .zip(cells)
        .map(|(h, v)| (h, if v.is_empty() { None } else { Some(v) }))
        .collect())
}

impl Client {
    /// `POST /jobs/query`: creates a query job.
    pub async fn create_query_job(
        &self,
        soql: &str,
        operation: BulkOperation,
    ) -> Result<BulkJob, Error> {
        let body = json!({
            "operation": operation.as_str(),
            "query": soql,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        });
        let reply =
            self.request(Method::POST, Target::Data("jobs/query"), &[], Some(&body), &[]).await?;
        serde_json::from_slice(&reply.body)
            .map_err(|source| Error::Decode { context: "bulk job create", source })
    }

    /// `GET /jobs/query/{id}`.
    pub async fn query_job(&self, id: &str) -> Result<BulkJob, Error> {
        check_name("job id", id)?;
        self.get_data(&format!("jobs/query/{id}"), "bulk job").await
    }

    /// `PATCH /jobs/query/{id}` with `state: Aborted`.
    pub async fn abort_query_job(&self, id: &str) -> Result<BulkJob, Error> {
        check_name("job id", id)?;
        let reply = self
            .request(
                Method::PATCH,
                Target::Data(&format!("jobs/query/{id}")),
                &[],
                Some(&json!({"state": "Aborted"})),
                &[],
            )
            .await?;
        serde_json::from_slice(&reply.body)
            .map_err(|source| Error::Decode { context: "bulk job abort", source })
    }

    /// Polls a job with exponential backoff until `JobComplete`; `Failed`/`Aborted` is an error.
    pub async fn wait_for_query_job(&self, id: &str, policy: PollPolicy) -> Result<BulkJob, Error> {
        let started = tokio::time::Instant::now();
        let mut delay = policy.initial;
        loop {
            let job = self.query_job(id).await?;
            match job.state {
                JobState::JobComplete => return Ok(job),
                JobState::Failed | JobState::Aborted => {
                    return Err(Error::BulkJobFailed {
                        id: job.id,
                        state: job.state.to_string(),
                        message: job.error_message,
                    });
                }
                _ => {}
            }
            let waited = started.elapsed();
            if waited >= policy.timeout {
                return Err(Error::BulkJobTimeout { id: id.to_owned(), waited });
            }
            tokio::time::sleep(delay.min(policy.timeout.saturating_sub(waited))).await;
            delay = (delay * 2).min(policy.max).max(Duration::from_millis(1));
        }
    }

    /// Streams a completed job's results: `GET /jobs/query/{id}/results?maxRecords=&locator=`
    /// page by page until `Sforce-Locator` is the literal `null`. Rows are parsed while each page
    /// downloads: only the current chunk and row are in memory.
    pub fn query_job_results(
        &self,
        id: &str,
        max_records: Option<u32>,
    ) -> BoxStream<'static, Result<CsvRecord, Error>> {
        let client = self.clone();
        let id = id.to_owned();
        stream::try_unfold(Cursor::Open(None), move |mut cursor| {
            let client = client.clone();
            let id = id.clone();
            async move {
                loop {
                    cursor = match cursor {
                        Cursor::Done => return Ok(None),
                        Cursor::Open(locator) => {
                            let (page, next) =
                                client.results_page(&id, locator.as_deref(), max_records).await?;
                            Cursor::Page { page: Box::new(page), headers: None, next }
                        }
                        Cursor::Page { mut page, headers, next } => {
                            match (page.next_row().await?, headers) {
                                (Some(cells), None) => {
                                    Cursor::Page { page, headers: Some(cells), next }
                                }
                                (Some(cells), Some(h)) => {
                                    let record = to_record(&h, cells)?;
                                    return Ok(Some((
                                        record,
                                        Cursor::Page { page, headers: Some(h), next },
                                    )));
                                }
                                (None, _) => match next {
                                    Some(l) => Cursor::Open(Some(l)),
                                    None => Cursor::Done,
                                },
                            }
                        }
                    };
                }
            }
        })
        .boxed()
    }

    /// The results of a completed job from `locator` (`None`: the first page) as CSV being
    /// downloaded, and the next page's locator (`None` after the last: `Sforce-Locator` empty or
    /// the literal `null`).
    async fn results_page(
        &self,
        id: &str,
        locator: Option<&str>,
        max_records: Option<u32>,
    ) -> Result<(CsvPage, Option<String>), Error> {
        check_name("job id", id)?;
        let mut query = Vec::new();
        if let Some(n) = max_records {
            query.push(("maxRecords", n.max(1).to_string()));
        }
        if let Some(l) = locator {
            query.push(("locator", l.to_owned()));
        }
        let (resp, url) = self
            .send_payload(
                Method::GET,
                Target::Data(&format!("jobs/query/{id}/results")),
                &query,
                Payload::None,
                &[("Accept", "text/csv".to_owned())],
            )
            .await?;
        let next = resp
            .headers()
            .get("sforce-locator")
            .and_then(|v| v.to_str().ok())
            .filter(|l| !l.is_empty() && *l != "null")
            .map(str::to_owned);
        Ok((CsvPage::new(url, resp.bytes_stream().boxed()), next))
    }

    /// One page of a completed job's results (`locator` `None`: the first page) and the next
    /// page's locator (`None` after the last page), for callers that checkpoint between pages.
    /// The page's rows are held in memory: bound them with `max_records`.
    pub async fn query_job_results_page(
        &self,
        id: &str,
        locator: Option<&str>,
        max_records: Option<u32>,
    ) -> Result<(Vec<CsvRecord>, Option<String>), Error> {
        let (mut page, next) = self.results_page(id, locator, max_records).await?;
        let mut rows = Vec::new();
        let mut headers: Option<Vec<String>> = None;
        while let Some(cells) = page.next_row().await? {
            match &headers {
                None => headers = Some(cells),
                Some(h) => rows.push(to_record(h, cells)?),
            }
        }
        Ok((rows, next))
    }

    /// Create, wait, stream: the whole Bulk API 2.0 query in one stream.
    pub fn bulk_query(
        &self,
        soql: &str,
        operation: BulkOperation,
        policy: PollPolicy,
        max_records: Option<u32>,
    ) -> BoxStream<'static, Result<CsvRecord, Error>> {
        let client = self.clone();
        let soql = soql.to_owned();
        stream::once(async move {
            let job = client.create_query_job(&soql, operation).await?;
            let job = client.wait_for_query_job(&job.id, policy).await?;
            Ok::<_, Error>(client.query_job_results(&job.id, max_records))
        })
        .try_flatten()
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn csv_quoted_newlines_across_chunks() {
        let page = parse_csv_page(
            "\"Id\",\"Notes__c\"\n\"a\",\"line 1\nline 2 ✓\"\n\"b\",\"\"".as_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(page.len(), 2);
        assert_eq!(page[0]["Notes__c"].as_deref(), Some("line 1\nline 2 ✓"));
        assert_eq!(page[1]["Notes__c"], None);
        assert!(parse_csv_page(b"\"a\",\"b\"\n\"1\"\n").await.is_err());
    }

    #[tokio::test]
    async fn csv_empty_cell_is_null() {
        let page = parse_csv_page(b"\"Id\",\"Name\",\"Note__c\"\n\"001\",\"A, \"\"B\"\"\",\"\"\n")
            .await
            .unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0]["Name"].as_deref(), Some("A, \"B\""));
        assert_eq!(page[0]["Note__c"], None);
    }
}
