//! The composition root: the use cases assembled from adapters (`Arc<dyn Port>`s) and typed
//! settings, in one place. The Lambdas' `main`s, `sfhs dev`, `sfhs demo` and the tests build
//! through it (as zero-to-production's `Application::build` serves `main` and the tests alike),
//! so that what runs in AWS and what is tested are wired the same way. It builds no adapter and
//! reads no environment: the callers do, from their configuration.

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::import::run::RunError;
use crate::import::{
    Continuation, ImportRunner, ImportStore, ImportStoreError, RunOutcome, RunSettings,
    SalesforceReader, SweepReport, sweep,
};
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

/// The import function's use cases: run an import, resume a waiting one, sweep deletes.
#[derive(Debug, Clone)]
pub struct Imports {
    /// Reads Salesforce, publishes onto the import queue, stores imports.
    pub runner: ImportRunner,
    /// Publishes the sweep's deletes onto the live queue.
    pub live: Publisher,
}

/// Imports and the delete sweep.
pub fn imports(ports: ImportPorts, settings: RunSettings, publish: PublishPolicy) -> Imports {
    Imports {
        runner: ImportRunner {
            store: ports.store,
            mappings: ports.mappings,
            reader: ports.reader,
            publisher: Publisher::new(ports.import_queue, publish.clone()),
            continuation: ports.continuation,
            settings,
        },
        live: Publisher::new(ports.live_queue, publish),
    }
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

impl Imports {
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

    /// The scheduled sweep: Salesforce's deletes onto the live queue, then
    /// [`resume_one`](Self::resume_one).
    pub async fn sweep_and_resume(
        &self,
        invocation_id: &str,
        deadline: Option<Instant>,
    ) -> Result<(SweepReport, Resumed), TickError> {
        let report = sweep(
            self.runner.mappings.as_ref(),
            self.runner.store.as_ref(),
            self.runner.reader.as_ref(),
            &self.live,
            OffsetDateTime::now_utc(),
            false,
        )
        .await?;
        let resumed = self.resume_one(invocation_id, deadline).await?;
        Ok((report, resumed))
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
