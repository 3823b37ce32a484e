//! The import function's scheduled use cases: the tick (the delete sweep, what the outbound
//! messages send, an import left without a runner resumed) and running one import. Assembled by
//! [`crate::app::imports`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::catch_up::{CatchUp, CatchUpReport, CatchUpSettings};
use super::drift::{self, DriftCheck, DriftSettings};
use super::run::RunError;
use super::{Holder, ImportRecord, ImportRunner, ImportStoreError, RunOutcome, SweepReport, sweep};
use crate::mapping::sent::{self, SentCheck};
use crate::mapping::store::StoreError;
use crate::queue::Publisher;

/// How the scheduled tick keeps what the outbound messages send fresh (see
/// [`crate::mapping::sent`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentFieldsSettings {
    /// This deployment's outbound message endpoint (`SFHS_WEBHOOK_URL`): the messages that post
    /// there are read, whatever their name; `None`: only the one `sfhs salesforce apply` names.
    pub webhook_url: Option<String>,
    /// The org's messages are read at most this often (each read: one Tooling API query, plus one
    /// per outbound message in the org).
    pub every: Duration,
}

impl Default for SentFieldsSettings {
    fn default() -> Self {
        Self { webhook_url: None, every: Duration::from_secs(300) }
    }
}

/// The import function's use cases: run an import, resume a waiting one, sweep deletes, keep
/// what the outbound messages send fresh.
#[derive(Debug, Clone)]
pub struct Imports {
    /// Reads Salesforce, publishes onto the import queue, stores imports.
    pub runner: ImportRunner,
    /// Publishes the sweep's deletes onto the live queue.
    pub live: Publisher,
    pub sent_fields: SentFieldsSettings,
    /// When this process last read the org's outbound messages.
    sent_read_at: Arc<Mutex<Option<Instant>>>,
    /// Reads back what the push missed; `None`: no catch-up (no ledger to compare with).
    pub catch_up: Option<CatchUp>,
    /// How often the set-up drift is checked.
    pub drift: DriftSettings,
}

/// Why a scheduled tick could not run.
#[derive(Debug, thiserror::Error)]
pub enum TickError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Mappings(#[from] StoreError),
    #[error(transparent)]
    Store(#[from] ImportStoreError),
}

/// The import that a tick resumed, and how its run ended.
pub type Resumed = Option<(String, RunOutcome)>;

/// What a scheduled tick did.
#[derive(Debug)]
pub struct Tick {
    pub sweep: SweepReport,
    pub catch_up: CatchUpReport,
    pub sent_fields: SentCheck,
    pub drift: DriftCheck,
    pub resumed: Resumed,
}

impl Imports {
    /// The use cases over `runner`, publishing the sweep's deletes with `live`; what the
    /// outbound messages send is read with [`SentFieldsSettings::default`].
    pub fn new(runner: ImportRunner, live: Publisher) -> Self {
        Self {
            runner,
            live,
            sent_fields: SentFieldsSettings::default(),
            sent_read_at: Arc::default(),
            catch_up: None,
            drift: DriftSettings::default(),
        }
    }

    /// Checks the set-up drift with `settings` (see [`super::drift`]).
    #[must_use]
    pub fn with_drift(mut self, settings: DriftSettings) -> Self {
        self.drift = settings;
        self
    }

    /// The set-up drift check now, when due.
    pub async fn check_drift(&self, now: OffsetDateTime) -> Result<DriftCheck, TickError> {
        Ok(drift::check(
            &self.drift,
            self.runner.mappings.as_ref(),
            self.runner.store.as_ref(),
            self.runner.reader.as_ref(),
            now,
        )
        .await?)
    }

    /// Catches up what the push missed on each tick (see [`super::catch_up`]), comparing with
    /// `ledger`.
    #[must_use]
    pub fn with_catch_up(
        mut self,
        ledger: Arc<dyn crate::sync::Ledger>,
        settings: CatchUpSettings,
    ) -> Self {
        self.catch_up = Some(CatchUp { ledger, settings });
        self
    }

    /// The catch-up now, for every mapping that is due (none without a catch-up).
    pub async fn catch_up(&self, now: OffsetDateTime) -> Result<CatchUpReport, TickError> {
        match &self.catch_up {
            None => Ok(CatchUpReport::default()),
            Some(c) => Ok(c
                .run(
                    self.runner.mappings.as_ref(),
                    self.runner.store.as_ref(),
                    self.runner.reader.as_ref(),
                    &self.live,
                    now,
                )
                .await?),
        }
    }

    /// Reads the outbound messages from `sent_fields.webhook_url` and the interval.
    #[must_use]
    pub fn with_sent_fields(mut self, settings: SentFieldsSettings) -> Self {
        self.sent_fields = settings;
        self
    }

    /// Reads the org's outbound messages and stores what each mapping's sends (see
    /// [`crate::mapping::sent`]); unless `force`, only when the last read of this process is
    /// [`SentFieldsSettings::every`] old. A failure is reported, not raised: the tick goes on.
    pub async fn check_sent_fields(&self, force: bool) -> SentCheck {
        {
            let mut last =
                self.sent_read_at.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !force && last.is_some_and(|t| t.elapsed() < self.sent_fields.every) {
                return SentCheck::NotDue;
            }
            *last = Some(Instant::now());
        }
        let messages = match self.runner.reader.outbound_messages().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outbound messages; what they send is not refreshed");
                return SentCheck::Failed { error: e.to_string(), retryable: e.is_retryable() };
            }
        };
        match sent::refresh(
            self.runner.mappings.as_ref(),
            &messages,
            self.sent_fields.webhook_url.as_deref(),
            None,
            OffsetDateTime::now_utc(),
        )
        .await
        {
            Ok(mappings) => SentCheck::Read { mappings },
            Err(e) => SentCheck::Failed { error: e.to_string(), retryable: e.is_retryable() },
        }
    }

    /// For a process that holds its store alone (`sfhs dev` at start): every unfinished import,
    /// its lease let go if a stopped process still held it, with who held it. The caller runs
    /// them again from their checkpoints.
    pub async fn let_go_of_unfinished(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(ImportRecord, Holder)>, TickError> {
        let store = &self.runner.store;
        let mut out = Vec::new();
        for record in store.list().await? {
            let holder = record.holder(now);
            match holder {
                Holder::Finished => continue,
                Holder::Held { .. } | Holder::Abandoned { .. } => {
                    store.put(&record.released(None), Some(record.revision)).await?;
                }
                Holder::Free { .. } => {}
            }
            out.push((record, holder));
        }
        Ok(out)
    }

    /// The scheduled continuation: the oldest import that waits for a runner (pending, handed
    /// over, or abandoned by a runner that stopped renewing its lease) is run here, one per
    /// tick. `None` when none waits.
    pub async fn resume_one(
        &self,
        invocation_id: &str,
        deadline: Option<Instant>,
    ) -> Result<Resumed, TickError> {
        let now = OffsetDateTime::now_utc();
        // Newest first in the store: resume the oldest waiting one.
        // One whose parents go first is passed over for the next.
        for record in self.runner.store.list().await?.iter().rev() {
            let holder = record.holder(now);
            if holder.is_claimable() {
                tracing::info!(import_id = %record.id, ?holder, "resuming a waiting import");
                let outcome = self.runner.run(&record.id, invocation_id, deadline).await?;
                if matches!(outcome, RunOutcome::AfterParents { .. }) {
                    continue;
                }
                return Ok(Some((record.id.clone(), outcome)));
            }
        }
        Ok(None)
    }

    /// The scheduled tick: Salesforce's deletes onto the live queue, the changes the push missed
    /// when due ([`catch_up`](Self::catch_up)), what the outbound messages send refreshed when
    /// due ([`check_sent_fields`](Self::check_sent_fields)), the set-up drift when due
    /// ([`check_drift`](Self::check_drift)), then
    /// [`resume_one`](Self::resume_one).
    pub async fn tick(
        &self,
        invocation_id: &str,
        deadline: Option<Instant>,
    ) -> Result<Tick, TickError> {
        let report = sweep(
            self.runner.mappings.as_ref(),
            self.runner.store.as_ref(),
            self.runner.reader.as_ref(),
            &self.live,
            OffsetDateTime::now_utc(),
            false,
        )
        .await?;
        let catch_up = self.catch_up(OffsetDateTime::now_utc()).await?;
        let sent_fields = self.check_sent_fields(false).await;
        let drift = self.check_drift(OffsetDateTime::now_utc()).await?;
        let resumed = self.resume_one(invocation_id, deadline).await?;
        Ok(Tick { sweep: report, catch_up, sent_fields, drift, resumed })
    }
}
