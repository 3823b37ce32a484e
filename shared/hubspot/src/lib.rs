//! The production HubSpot CRM client of sfhs.
//!
//! One [`HubSpotClient`] per process, cloned into every task: it holds one `reqwest` client
//! (rustls, timeouts), one process-wide [`RateLimiter`] sized from HubSpot's
//! `X-HubSpot-RateLimit-*` headers, search's own limiter, and caches of schemas, properties
//! and association labels. Calls are retried with backoff and jitter on rolling-window 429s,
//! 423, 477 (honouring `Retry-After`), 5xx and transport failures; a `DAILY` 429 is never
//! retried and surfaces as [`Error::DailyLimit`] with the reset time. Batch answers are split
//! into per-record successes and [`RecordFailure`]s.
//!
//! The public API uses only this crate's types (and `serde_json::Value` for raw schema JSON).

mod cache;
mod client;
mod config;
pub mod domain;
mod error;
mod limiter;
mod types;
mod writer;

pub use client::{
    BATCH_SIZE, ClientStats, HubSpotClient, SEARCH_CAP, SEARCH_PAGE, dedup_keep_last,
};
pub use config::{ApiVersion, ClientConfig, RetryPolicy, SecretToken};
pub use error::{ApiErrorBody, BoxError, Error, ErrorItem, RecordFailure};
pub use limiter::{LimiterStats, Permit, RateHeaders, RateLimiter, SearchLimiter};
pub use types::{
    AccountDetails, ArchiveOutcome, AssociationCategory, AssociationLabel, AssociationPair,
    AssociationType, BatchOutcome, CreateInput, ObjectRecord, ObjectSchema, Property,
    PropertyOption, SchemaAssociation, SchemaLabels, UpsertInput,
};
pub use writer::category as error_category;
