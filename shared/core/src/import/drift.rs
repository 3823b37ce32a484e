//! The drift check: at most every [`DriftSettings::every`], the org's outbound
//! messages and sfhs's flows are read back and held against the enabled mappings
//! ([`crate::salesforce_setup::drift`]). What differs is stored on each object's sweep state, where
//! `sfhs status` reads it, logged with the metric `SetupDrift`, and clears itself once the org
//! matches again. Its cost: one Tooling API query for the messages, one per outbound message in
//! the org, one for the flows and one per active sfhs flow, per check.

use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use super::model::SweepState;
use super::ports::{ImportStore, ImportStoreError, SalesforceReader};
use crate::mapping::State;
use crate::mapping::store::{MappingStore, StoreError, StoredMapping};
use crate::salesforce_setup::{self, Drift};

/// How often the drift check reads the org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftSettings {
    /// At most this often (`SFHS_DRIFT_SECONDS`, default an hour).
    pub every: Duration,
    /// This deployment's outbound message endpoint: the message that posts there is the one
    /// checked (see [`crate::salesforce_setup::find_message`]).
    pub webhook_url: Option<String>,
}

impl Default for DriftSettings {
    fn default() -> Self {
        Self { every: Duration::from_secs(3600), webhook_url: None }
    }
}

/// What a drift check did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DriftCheck {
    /// Not due: `standing` is the drift the last check stored.
    NotDue { standing: usize },
    /// The org was read; `drift` is what differs now (empty: it matches).
    Checked { drift: Vec<Drift> },
    /// The org or the store could not be read: `standing` is what the last check stored.
    Failed { error: String, retryable: bool, standing: usize },
}

impl DriftCheck {
    /// The drift known after this check (the metric `SetupDrift`).
    pub fn count(&self) -> usize {
        match self {
            Self::NotDue { standing } | Self::Failed { standing, .. } => *standing,
            Self::Checked { drift } => drift.len(),
        }
    }
}

/// Checks the set-up drift of every enabled mapping when due at `now`.
pub async fn check(
    settings: &DriftSettings,
    mappings: &dyn MappingStore,
    store: &dyn ImportStore,
    reader: &dyn SalesforceReader,
    now: OffsetDateTime,
) -> Result<DriftCheck, StoreError> {
    let all = mappings.list().await?;
    let enabled: Vec<&StoredMapping> =
        all.iter().filter(|m| m.mapping.state == State::Enabled).collect();
    let mut states = Vec::with_capacity(enabled.len());
    for m in &enabled {
        match store.get_sweep(&m.mapping.salesforce_object).await {
            Ok(s) => states.push(s),
            Err(e) => return Ok(failed(&e.to_string(), e.is_retryable(), 0)),
        }
    }
    let standing: usize = states.iter().flatten().map(|s| s.drift.len()).sum();
    let every = time::Duration::try_from(settings.every).unwrap_or(time::Duration::MAX);
    let due = states
        .iter()
        .any(|s| s.as_ref().and_then(|s| s.drift_checked).is_none_or(|t| now - t >= every));
    if enabled.is_empty() || !due {
        return Ok(DriftCheck::NotDue { standing });
    }
    let messages = match reader.outbound_messages().await {
        Ok(m) => m,
        Err(e) => return Ok(failed(&e.to_string(), e.is_retryable(), standing)),
    };
    let names: Vec<String> =
        enabled.iter().map(|m| salesforce_setup::flow_name(&m.mapping.salesforce_object)).collect();
    let flows = match reader.flows(&names).await {
        Ok(f) => f,
        Err(e) => return Ok(failed(&e.to_string(), e.is_retryable(), standing)),
    };
    let mappings: Vec<&crate::mapping::Mapping> = enabled.iter().map(|m| &m.mapping).collect();
    let drift =
        salesforce_setup::drift(&mappings, &messages, &flows, settings.webhook_url.as_deref());
    for d in &drift {
        tracing::warn!(
            object = %d.object,
            component = %d.component,
            problem = %d.problem,
            metric = "SetupDrift",
            "the Salesforce set-up differs from what the mapping needs: {}",
            d.fix
        );
    }
    for (m, state) in enabled.iter().zip(states) {
        let object = &m.mapping.salesforce_object;
        let found: Vec<Drift> =
            drift.iter().filter(|d| d.object.eq_ignore_ascii_case(object)).cloned().collect();
        if let Err(e) = store_drift(store, m, state, found, now).await {
            return Ok(failed(&e.to_string(), e.is_retryable(), standing));
        }
    }
    Ok(DriftCheck::Checked { drift })
}

fn failed(error: &str, retryable: bool, standing: usize) -> DriftCheck {
    tracing::warn!(error, "the drift check could not read the org or its store");
    DriftCheck::Failed { error: error.to_owned(), retryable, standing }
}

/// Stores `found` on the object's sweep state; read again once if a sweep wrote it meanwhile.
async fn store_drift(
    store: &dyn ImportStore,
    m: &StoredMapping,
    mut state: Option<SweepState>,
    found: Vec<Drift>,
    now: OffsetDateTime,
) -> Result<(), ImportStoreError> {
    let object = &m.mapping.salesforce_object;
    for attempt in 0..2 {
        let mut next = state
            .clone()
            .unwrap_or_else(|| SweepState::new(object, m.enabled_at.unwrap_or(m.updated_at), now));
        next.drift_since = match (found.is_empty(), next.drift_since) {
            (true, _) => None,
            (false, Some(since)) => Some(since),
            (false, None) => Some(now),
        };
        next.drift.clone_from(&found);
        next.drift_checked = Some(now);
        next.revision = state.as_ref().map_or(1, |s| s.revision + 1);
        match store.put_sweep(&next, state.as_ref().map(|s| s.revision)).await {
            Err(ImportStoreError::Conflict { .. }) if attempt == 0 => {
                state = store.get_sweep(object).await?;
            }
            other => return other,
        }
    }
    Ok(())
}
