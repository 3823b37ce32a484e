//! Knobs of the simulator, including the answers to what HubSpot does not document.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How the simulator answers a batch that partly failed (batch read/update with missing ids,
/// batch create with `objectWriteTraceId`s, association batches).
///
/// HubSpot documents `207 Multi-Status`; whether the 2026-09 APIs still do, or fold the errors into a
/// `200`, is unverified, so both are available.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PartialStatus {
    #[default]
    MultiStatus,
    Ok,
}

/// What an archived record does with its unique values, and so what an upsert by one of them
/// meets. HubSpot does not document it (docs/hubspot.md): each answer is available.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ArchivedUniqueValues {
    /// Released when the record is archived: an upsert by one creates a second record.
    #[default]
    Released,
    /// Kept: an upsert by one restores the archived record and updates it (`new: false`); a create
    /// or an update claiming one answers 409 `CONFLICT`.
    Restored,
    /// Kept until the record is restored (HubSpot's UI, within 90 days; [`crate::Sim::restore`]):
    /// every write claiming one answers 409 `CONFLICT` naming the archived record.
    Held,
}

/// Configuration of one simulated portal.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SimConfig {
    /// Tokens that authenticate with every scope.
    pub tokens: Vec<String>,
    /// Tokens that authenticate but lack the CRM scopes: every call answers 403 `MISSING_SCOPES`.
    pub scopeless_tokens: Vec<String>,
    pub portal_id: u64,
    /// Calls per rolling window per token (HubSpot: 100, 190 or 250 per 10 s).
    pub burst_limit: u32,
    /// Length of the rolling window; 10 s at HubSpot, shorter in tests. Reported as
    /// `X-HubSpot-RateLimit-Interval-Milliseconds`.
    #[serde(with = "millis")]
    pub burst_window: Duration,
    /// Calls per day for the portal (all tokens together).
    pub daily_limit: u64,
    /// Search requests per second for the portal (HubSpot: 5).
    pub search_per_second: u32,
    /// Time before a newly created record shows up in search results (HubSpot: "a few moments").
    #[serde(with = "millis")]
    pub search_indexing_delay: Duration,
    /// Whether search calls also consume the rolling 10-second budget. Unverified; default `false`
    /// (search has its own limit and answers without rate-limit headers).
    pub search_counts_toward_burst: bool,
    pub partial_status: PartialStatus,
    /// `Retry-After` (seconds) sent with a rolling-window 429. Unverified whether HubSpot sends one;
    /// default none.
    pub retry_after_on_429: Option<u64>,
    /// Input limit of association batch create/archive. Unverified (100 to 2,000); default 100,
    /// the strict answer.
    pub association_batch_limit: usize,
    /// What an archived record does with its unique values. Unverified; default
    /// [`ArchivedUniqueValues::Released`].
    #[serde(default)]
    pub archived_unique_values: ArchivedUniqueValues,
    /// Seed of the generator that decides share-of-calls faults.
    pub seed: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            tokens: vec![crate::DEFAULT_TOKEN.into()],
            scopeless_tokens: vec![],
            portal_id: 12_345_678,
            burst_limit: 190,
            burst_window: Duration::from_secs(10),
            daily_limit: 1_000_000,
            search_per_second: 5,
            search_indexing_delay: Duration::ZERO,
            search_counts_toward_burst: false,
            partial_status: PartialStatus::MultiStatus,
            retry_after_on_429: None,
            association_batch_limit: 100,
            archived_unique_values: ArchivedUniqueValues::Released,
            seed: 0x5eed,
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}
