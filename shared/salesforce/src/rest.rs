//! REST API calls: describe, count, query with paging, record create/update/delete, deleted records.

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use reqwest::Method;
use serde::Deserialize;
use time::{Duration as TimeDuration, OffsetDateTime};

use crate::client::{Client, Target};
use crate::datetime;
use crate::error::Error;
use crate::types::{
    DeletedPage, DeletedRecord, GlobalSObject, QueryOptions, QueryResultPage, Record,
    SObjectDescribe,
};

/// How far back Salesforce keeps deleted-record ids.
pub const DELETED_RETENTION: TimeDuration = TimeDuration::days(15);

pub(crate) fn check_name(kind: &str, name: &str) -> Result<(), Error> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::InvalidInput(format!("invalid {kind} {name:?}")));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryPage {
    total_size: u64,
    done: bool,
    next_records_url: Option<String>,
    #[serde(default)]
    records: Vec<Record>,
}

#[derive(Deserialize)]
struct GlobalDescribe {
    sobjects: Vec<GlobalSObject>,
}

#[derive(Deserialize)]
struct CreateResult {
    id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeletedBody {
    deleted_records: Vec<DeletedRecord>,
    #[serde(with = "crate::datetime::serde_req")]
    earliest_date_available: OffsetDateTime,
    #[serde(with = "crate::datetime::serde_req")]
    latest_date_covered: OffsetDateTime,
}

enum Cursor {
    Start,
    Next(String),
    Done,
}

impl Client {
    /// `GET /sobjects/` (describeGlobal).
    pub async fn describe_global(&self) -> Result<Vec<GlobalSObject>, Error> {
        let body: GlobalDescribe = self.get_data("sobjects/", "describeGlobal").await?;
        Ok(body.sobjects)
    }

    /// `GET /sobjects/{object}/describe`.
    pub async fn describe(&self, object: &str) -> Result<SObjectDescribe, Error> {
        check_name("object name", object)?;
        self.get_data(&format!("sobjects/{object}/describe"), "describe").await
    }

    /// `SELECT COUNT() FROM {object} [WHERE {condition}]`: the number of records.
    pub async fn count(&self, object: &str, condition: Option<&str>) -> Result<u64, Error> {
        check_name("object name", object)?;
        let mut soql = format!("SELECT COUNT() FROM {object}");
        if let Some(cond) = condition.map(str::trim).filter(|c| !c.is_empty()) {
            soql.push_str(" WHERE ");
            soql.push_str(cond);
        }
        let page: QueryPage =
            self.get_json(Target::Data("query"), &[("q", soql)], &[], "count query").await?;
        Ok(page.total_size)
    }

    /// Runs a SOQL query and streams its records, following `nextRecordsUrl` page by page (one
    /// page in memory at a time).
    pub fn query(
        &self,
        soql: &str,
        options: QueryOptions,
    ) -> BoxStream<'static, Result<Record, Error>> {
        let client = self.clone();
        let soql = soql.to_owned();
        let headers = options.headers();
        let endpoint = options.endpoint();
        stream::try_unfold(Cursor::Start, move |cursor| {
            let client = client.clone();
            let soql = soql.clone();
            let headers = headers.clone();
            async move {
                let page: QueryPage = match cursor {
                    Cursor::Done => return Ok(None),
                    Cursor::Start => {
                        client
                            .get_json(
                                Target::Data(endpoint),
                                &[("q", soql)],
                                &headers,
                                "query page",
                            )
                            .await?
                    }
                    Cursor::Next(url) => {
                        client.get_json(Target::Path(&url), &[], &headers, "query page").await?
                    }
                };
                let next = match (page.done, page.next_records_url) {
                    (false, Some(url)) => Cursor::Next(url),
                    _ => Cursor::Done,
                };
                Ok(Some((page.records, next)))
            }
        })
        .map_ok(|records| stream::iter(records.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    /// One page of a REST query: the first one of `soql` (`next_records_url` `None`) or the
    /// one at a `nextRecordsUrl`, for callers that checkpoint between pages (the import).
    pub async fn query_page(
        &self,
        soql: &str,
        next_records_url: Option<&str>,
        options: QueryOptions,
    ) -> Result<QueryResultPage, Error> {
        let headers = options.headers();
        let endpoint = options.endpoint();
        let page: QueryPage = match next_records_url {
            None => {
                self.get_json(
                    Target::Data(endpoint),
                    &[("q", soql.to_owned())],
                    &headers,
                    "query page",
                )
                .await?
            }
            Some(url) => self.get_json(Target::Path(url), &[], &headers, "query page").await?,
        };
        Ok(QueryResultPage {
            total_size: page.total_size,
            next_records_url: if page.done { None } else { page.next_records_url },
            records: page.records,
        })
    }

    /// `GET /sobjects/{object}/{id}` (all fields, or the listed ones).
    pub async fn get_record(
        &self,
        object: &str,
        id: &str,
        fields: &[&str],
    ) -> Result<Record, Error> {
        check_name("object name", object)?;
        check_name("record id", id)?;
        let query = if fields.is_empty() { Vec::new() } else { vec![("fields", fields.join(","))] };
        self.get_json(Target::Data(&format!("sobjects/{object}/{id}")), &query, &[], "record").await
    }

    /// `POST /sobjects/{object}`: creates a record, returns its id.
    pub async fn create(&self, object: &str, fields: &serde_json::Value) -> Result<String, Error> {
        check_name("object name", object)?;
        let reply =
            self.data_call(Method::POST, &format!("sobjects/{object}"), Some(fields)).await?;
        let created: CreateResult = serde_json::from_slice(&reply.body)
            .map_err(|source| Error::Decode { context: "create result", source })?;
        Ok(created.id)
    }

    /// `PATCH /sobjects/{object}/{id}`.
    pub async fn update(
        &self,
        object: &str,
        id: &str,
        fields: &serde_json::Value,
    ) -> Result<(), Error> {
        check_name("object name", object)?;
        check_name("record id", id)?;
        self.data_call(Method::PATCH, &format!("sobjects/{object}/{id}"), Some(fields)).await?;
        Ok(())
    }

    /// `DELETE /sobjects/{object}/{id}`.
    pub async fn delete(&self, object: &str, id: &str) -> Result<(), Error> {
        check_name("object name", object)?;
        check_name("record id", id)?;
        self.data_call(Method::DELETE, &format!("sobjects/{object}/{id}"), None).await?;
        Ok(())
    }

    /// One call of `GET /sobjects/{object}/deleted/?start=&end=` (no clamping, no splitting).
    pub async fn deleted_window(
        &self,
        object: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> Result<DeletedPage, Error> {
        check_name("object name", object)?;
        let body: DeletedBody = self
            .get_json(
                Target::Data(&format!("sobjects/{object}/deleted/")),
                &[
                    ("start", datetime::format_request(start)),
                    ("end", datetime::format_request(end)),
                ],
                &[],
                "deleted records",
            )
            .await?;
        Ok(DeletedPage {
            window_start: start,
            window_end: end,
            records: body.deleted_records,
            earliest_date_available: body.earliest_date_available,
            latest_date_covered: body.latest_date_covered,
        })
    }

    /// Deleted records between `start` and `end`, as a stream of windows in time order.
    ///
    /// `start` is clamped to Salesforce's 15-day retention (check
    /// [`DeletedPage::missed_since`]), `end` to now; a window that hits `EXCEEDED_ID_LIMIT`
    /// (600,000 ids) is split in two, down to one minute (Salesforce ignores seconds).
    pub fn deleted(
        &self,
        object: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> BoxStream<'static, Result<DeletedPage, Error>> {
        let client = self.clone();
        let object = object.to_owned();
        let now = OffsetDateTime::now_utc();
        let earliest = now - DELETED_RETENTION + TimeDuration::minutes(1);
        let start = start.max(earliest);
        let end = end.min(now);
        let windows = if start < end { vec![(start, end)] } else { Vec::new() };
        stream::try_unfold(windows, move |mut windows| {
            let client = client.clone();
            let object = object.clone();
            async move {
                while let Some((from, to)) = windows.pop() {
                    match client.deleted_window(&object, from, to).await {
                        Ok(page) => return Ok(Some((page, windows))),
                        Err(e) if e.error_code() == Some("EXCEEDED_ID_LIMIT") => {
                            let minutes = (to - from).whole_minutes();
                            if minutes < 2 {
                                return Err(e);
                            }
                            let mid = from + TimeDuration::minutes(minutes / 2);
                            tracing::debug!(%object, "EXCEEDED_ID_LIMIT: splitting the window");
                            // Later half below, earlier half on top: time order is kept.
                            windows.push((mid, to));
                            windows.push((from, mid));
                        }
                        Err(e) => return Err(e),
                    }
                }
                Ok(None)
            }
        })
        .boxed()
    }
}
