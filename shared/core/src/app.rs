//! The composition root: the use cases assembled from adapters (`Arc<dyn Port>`s) and typed
//! settings, in one place. The Lambdas' `main`s, `sfhs dev`, `sfhs demo` and the tests build
//! through it (as zero-to-production's `Application::build` serves `main` and the tests alike),
//! so that what runs in AWS and what is tested are wired the same way. It builds no adapter and
//! reads no environment: the callers do, from their configuration (the Lambdas in
//! `sfhs_aws::world`). The use cases themselves live in the domain (`sync`, `import::tick`,
//! `webhook`).

use std::sync::Arc;
use std::time::Duration;

use crate::import::{Continuation, ImportRunner, ImportStore, RunSettings, SalesforceReader};
use crate::mapping::store::{CachedMappings, MappingStore};
use crate::queue::{PublishPolicy, Publisher, WorkQueue};
use crate::sync::{Engine, EngineConfig, ErrorStore, HubSpotWriter, Ledger, Waker};
use crate::webhook::{UrlSecret, WebhookPolicy};

pub use crate::import::tick::{Imports, Resumed, SentFieldsSettings, Tick, TickError};

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
    /// Wakes children waiting for a parent when it commits; `None`: they wait for their
    /// re-check.
    pub waker: Option<Arc<dyn Waker>>,
}

impl std::fmt::Debug for SyncPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncPorts")
            .field("imports", &self.imports.is_some())
            .field("waker", &self.waker.is_some())
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
    let engine = match ports.imports {
        Some(imports) => engine.with_imports(imports),
        None => engine,
    };
    match ports.waker {
        Some(waker) => engine.with_waker(waker),
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
