//! Salesforce API client for sfhs.
//!
//! - OAuth 2.0 JWT bearer (RS256) and client credentials; the token is cached and refreshed once
//!   on `401 INVALID_SESSION_ID`; every call goes to the token's `instance_url`.
//! - describe / describeGlobal, `SELECT COUNT()`, REST query as a [`futures::Stream`] following
//!   `nextRecordsUrl`, record create/update/delete.
//! - Bulk API 2.0 query jobs streamed page by page by `Sforce-Locator`.
//! - Deleted records by time window (15-day retention, `EXCEEDED_ID_LIMIT` split).
//! - API usage from `Sforce-Limit-Info`, with an optional stop at a share of the allocation.
//! - The import's Salesforce reader port over this client ([`reader::ClientReader`]).
//! - Metadata API deploys (REST `deployRequest`) and Tooling API reads of outbound messages and
//!   flows ([`metadata`]).

mod bulk;
mod client;
pub mod datetime;
pub mod domain;
mod error;
pub mod metadata;
pub mod reader;
mod rest;
mod types;

pub use client::Client;
pub use error::{ApiError, Error};
pub use reader::ClientReader;
pub use rest::DELETED_RETENTION;
/// A field's type, as the domain names it (describe answers it).
pub use sfhs_core::mapping::schema::SfType;
pub use types::{
    ApiUsage, BulkJob, BulkOperation, Config, Credentials, CsvRecord, DeletedPage, DeletedRecord,
    FieldDescribe, GlobalSObject, JobState, LoginUrl, PicklistValue, PollPolicy, QueryOptions,
    QueryResultPage, Record, SObjectDescribe, Token,
};
