//! The composition root: the use cases assembled from adapters (`Arc<dyn Port>`s) and typed
//! settings, in one place. The Lambdas' `main`s, `sfhs dev`, `sfhs demo` and the tests build
//! through it (as zero-to-production's `Application::build` serves `main` and the tests alike),
//! so that what runs in AWS and what is tested are wired the same way. It builds no adapter and
//! reads no environment: the callers do, from their configuration.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::import::run::RunError;
use crate::import::{
    Continuation, ImportRunner, ImportStore, ImportStoreError, RunOutcome, RunSettings,
    SalesforceReader, SweepReport, sweep,
};
use crate::mapping::sent::{self, SentCheck};
use crate::mapping::store::{CachedMappings, MappingStore, StoreError};
use crate::queue::{PublishPolicy, Publisher, WorkQueue};
use crate::sync::{Engine, EngineConfig, ErrorStore, HubSpotWriter, Ledger};
use crate::webhook::{UrlSecret, WebhookPolicy};

/// What the sync engine reads and writes through.
#[derive(Clone)]
pub struct SyncPorts {
    /// The applied mappings (cached by the engine for [`SyncSettings::mappings_cache`]).
    pub mappings: Arc<dyn MappingStore>,
    pub ledger: Arc<dyn Ledger>,
    pub hubspot: Arc<dyn HubSpotWriter>,
    pub errors: Arc<dyn ErrorStore>,
    /// Where import counters are kept; `None`: they are not.
    pub imports: Option<Arc<dyn ImportStore>>,
}

impl std::fmt::Debug for SyncPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncPorts")
            .field("imports", &self.imports.is_some())
            .finish_non_exhaustive()
    }
}

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub engine: EngineConfig,
    /// How long the applied mappings are cached.
    pub mappings_cache: Duration,
}

/// The sync engine (the worker's use case).
pub fn engine(ports: SyncPorts, settings: SyncSettings) -> Engine {
    let engine = Engine::new(
        Arc::new(CachedMappings::new(ports.mappings, settings.mappings_cache)),
        ports.ledger,
        ports.hubspot,
        ports.errors,
        settings.engine,
    );
    match ports.imports {
        Some(imports) => engine.with_imports(imports),
        None => engine,
    }
}

/// What imports and the delete sweep read and write through.
#[derive(Clone)]
pub struct ImportPorts {
    pub store: Arc<dyn ImportStore>,
    pub mappings: Arc<dyn MappingStore>,
    pub reader: Arc<dyn SalesforceReader>,
    /// Where imported records go.
    pub import_queue: Arc<dyn WorkQueue>,
    /// Where the sweep's deletes go.
    pub live_queue: Arc<dyn WorkQueue>,
    /// How a run near its deadline hands over.
    pub continuation: Arc<dyn Continuation>,
}

impl std::fmt::Debug for ImportPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportPorts").finish_non_exhaustive()
    }
}

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
        Self {
            webhook_url: None,
            every: Duration::from_secs(300),
        }
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
}

/// Imports and the delete sweep.
pub fn imports(ports: ImportPorts, settings: RunSettings, publish: PublishPolicy) -> Imports {
    Imports::new(
        ImportRunner {
            store: ports.store,
            mappings: ports.mappings,
            reader: ports.reader,
            publisher: Publisher::new(ports.import_queue, publish.clone()),
            continuation: ports.continuation,
            settings,
        },
        Publisher::new(ports.live_queue, publish),
    )
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
    pub sent_fields: SentCheck,
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
            let mut last = self
                .sent_read_at
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !force && last.is_some_and(|t| t.elapsed() < self.sent_fields.every) {
                return SentCheck::NotDue;
            }
            *last = Some(Instant::now());
        }
        let messages = match self.runner.reader.outbound_messages().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outbound messages; what they send is not refreshed");
                return SentCheck::Failed {
                    error: e.to_string(),
                    retryable: e.is_retryable(),
                };
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
            Err(e) => SentCheck::Failed {
                error: e.to_string(),
                retryable: e.is_retryable(),
            },
        }
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
        for record in self.runner.store.list().await?.iter().rev() {
            let holder = record.holder(now);
            if holder.is_claimable() {
                tracing::info!(import_id = %record.id, ?holder, "resuming a waiting import");
                let outcome = self.runner.run(&record.id, invocation_id, deadline).await?;
                return Ok(Some((record.id.clone(), outcome)));
            }
        }
        Ok(None)
    }

    /// The scheduled tick: Salesforce's deletes onto the live queue, what the outbound
    /// messages send refreshed when due ([`check_sent_fields`](Self::check_sent_fields)), then
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
        let sent_fields = self.check_sent_fields(false).await;
        let resumed = self.resume_one(invocation_id, deadline).await?;
        Ok(Tick {
            sweep: report,
            sent_fields,
            resumed,
        })
    }
}

/// Who may send outbound messages, and how big they may be.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Org ids allowed to send (15 or 18 characters).
    pub allowed_org_ids: Vec<String>,
    /// The secret expected in the `secret_param` query parameter; `None`: only the org id
    /// authenticates senders.
    pub url_secret: Option<UrlSecret>,
    pub secret_param: String,
    pub max_body_bytes: usize,
    pub publish: PublishPolicy,
}

/// The webhook's use case: its policy and the live queue's publisher.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub policy: WebhookPolicy,
    pub publisher: Publisher,
}

/// The webhook, publishing onto `live_queue`.
pub fn webhook(settings: WebhookSettings, live_queue: Arc<dyn WorkQueue>) -> Webhook {
    Webhook {
        policy: WebhookPolicy::new(
            &settings.allowed_org_ids,
            settings.url_secret,
            &settings.secret_param,
            settings.max_body_bytes,
        ),
        publisher: Publisher::new(live_queue, settings.publish),
    }
}
