//! The AWS world: each Lambda's adapters, built once per cold start from its typed configuration,
//! then assembled into its use case by `sfhs_core::app`. A Lambda's `main` reads its config,
//! calls one of [`webhook`], [`worker`] or [`imports`], and runs its handler.
//!
//! `sfhs dev` builds the same use cases over its store on disk, `sfhs demo` and the unit tests
//! over memory, and the tests over moto and the simulators; all through `sfhs_core::app`.

use std::sync::Arc;

use sfhs_core::app::{self, ImportPorts, Imports, Webhook, WebhookSettings};
use sfhs_core::import::ports::{Continuation, ContinuationError};
use sfhs_core::sync::Engine;
use sfhs_core::webhook::UrlSecret;

use crate::config::{ImportConfig, WebhookConfig, credentials_from_secret};
use crate::continuation::LambdaContinuation;
use crate::dynamo::DynamoMappingStore;
use crate::imports::DynamoImportStore;
use crate::ledger::{DynamoErrorStore, DynamoLedger};
use crate::secrets::Secrets;
use crate::sqs::SqsQueue;
use crate::visibility::RetryDelays;

/// Why a function could not start (its `main` returns it; Lambda reports an init error).
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// The AWS clients of one process: one SDK configuration (region, credentials,
/// `AWS_ENDPOINT_URL`), loaded once.
#[derive(Debug, Clone)]
pub struct Aws {
    sdk: aws_config::SdkConfig,
}

impl Aws {
    /// The process's configuration: region, credentials and endpoint from the environment.
    pub async fn load() -> Self {
        Self::from_sdk(crate::load_aws_config().await)
    }

    /// Clients from a given configuration (the tests sign with a function's own keys).
    pub fn from_sdk(sdk: aws_config::SdkConfig) -> Self {
        Self { sdk }
    }

    /// The applied mappings in `table` (the MappingsTable).
    pub fn mapping_store(&self, table: &str) -> DynamoMappingStore {
        DynamoMappingStore::new(self.dynamodb(), table)
    }

    /// The imports and sweep checkpoints in `table` (the ImportsTable).
    pub fn import_store(&self, table: &str) -> DynamoImportStore {
        DynamoImportStore::new(self.dynamodb(), table)
    }

    /// The records ledger in `table` (the RecordsTable).
    pub fn ledger(&self, table: &str) -> DynamoLedger {
        DynamoLedger::new(self.dynamodb(), table)
    }

    /// The error records in `table` (the ErrorsTable).
    pub fn error_store(&self, table: &str) -> DynamoErrorStore {
        DynamoErrorStore::new(self.dynamodb(), table)
    }

    /// The SQS queue at `url`.
    pub fn queue(&self, url: &str) -> SqsQueue {
        SqsQueue::new(self.sqs(), url)
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk)
    }

    /// A secret's value (never logged).
    pub async fn secret(&self, arn: &str) -> Result<String, StartError> {
        Ok(Secrets::new(aws_sdk_secretsmanager::Client::new(&self.sdk)).string(arn).await?)
    }

    /// The hand-over near a deadline: a fresh invocation of `function` (this function, in
    /// Lambda), else the scheduled resume tick.
    pub fn continuation(&self, function: Option<&str>) -> Arc<dyn Continuation> {
        match function {
            Some(name) => Arc::new(self.invoke(name)),
            None => Arc::new(ScheduledContinuation),
        }
    }

    /// Hands an import to a fresh invocation of `function` (its name or ARN).
    pub fn invoke(&self, function: impl Into<String>) -> LambdaContinuation {
        LambdaContinuation::new(aws_sdk_lambda::Client::new(&self.sdk), function)
    }
}

/// The webhook: the URL secret from Secrets Manager, the live queue on SQS.
pub async fn webhook(cfg: &WebhookConfig) -> Result<Webhook, StartError> {
    webhook_on(&Aws::load().await, cfg).await
}

/// [`webhook`] on given clients (the tests: signed with the function's own policy).
pub async fn webhook_on(aws: &Aws, cfg: &WebhookConfig) -> Result<Webhook, StartError> {
    let url_secret = match &cfg.url_secret_arn {
        Some(arn) => Some(UrlSecret::new(aws.secret(arn).await?)),
        None => {
            tracing::warn!("SFHS_URL_SECRET_ARN is not set: only the org id authenticates senders");
            None
        }
    };
    let deps = app::webhook(
        WebhookSettings {
            allowed_org_ids: cfg.allowed_org_ids.clone(),
            url_secret,
            secret_param: cfg.secret_param.clone(),
            max_body_bytes: cfg.max_body_bytes,
            publish: cfg.publish.clone(),
        },
        Arc::new(aws.queue(&cfg.live_queue_url)),
    );
    tracing::info!(queue = %cfg.live_queue_url, orgs = cfg.allowed_org_ids.len(), "webhook ready");
    Ok(deps)
}

/// What the worker's handler needs.
#[derive(Debug)]
pub struct Worker {
    pub engine: Engine,
    /// Growing delays for handed-back messages; `None`: the queue's visibility timeout.
    pub delays: Option<RetryDelays>,
}

/// The worker: the HubSpot client (its token from Secrets Manager), the ledger, mappings,
/// errors and import counters on DynamoDB, the retry delays on SQS.
#[cfg(feature = "worker")]
pub async fn worker(cfg: &crate::config::WorkerConfig) -> Result<Worker, StartError> {
    worker_on(&Aws::load().await, cfg).await
}

/// [`worker`] on given clients (the tests: signed with the function's own policy).
#[cfg(feature = "worker")]
pub async fn worker_on(aws: &Aws, cfg: &crate::config::WorkerConfig) -> Result<Worker, StartError> {
    use crate::visibility::SqsWaker;
    use sfhs_core::app::{SyncPorts, SyncSettings};
    use sfhs_core::drive::Backoff;
    use sfhs_core::import::ImportStore;
    use sfhs_core::sync::EngineConfig;
    use sfhs_hubspot::{ApiVersion, ClientConfig, HubSpotClient, SecretToken};
    use std::str::FromStr as _;
    let token = aws.secret(&cfg.hubspot_token_secret_arn).await?;
    let mut hs = ClientConfig::new(&cfg.hubspot_base_url, SecretToken::new(token));
    hs.api_version = ApiVersion::from_str(&cfg.hubspot_api_version)
        .map_err(|e| format!("SFHS_HUBSPOT_API_VERSION: {e}"))?;
    hs.reserved_share = cfg.hubspot_reserved_share;
    let imports = match &cfg.imports_table {
        Some(t) => Some(Arc::new(aws.import_store(t)) as Arc<dyn ImportStore>),
        None => {
            tracing::warn!("SFHS_IMPORTS_TABLE is not set: import counters are not kept");
            None
        }
    };
    let mut engine = EngineConfig::new(format!("worker-{}", uuid::Uuid::new_v4()));
    engine.lease = cfg.lease;
    engine.parent_wait = cfg.parent_wait;
    engine.max_receives = cfg.max_receives;
    let engine = app::engine(
        SyncPorts {
            mappings: Arc::new(aws.mapping_store(&cfg.mappings_table)),
            ledger: Arc::new(aws.ledger(&cfg.records_table)),
            hubspot: Arc::new(HubSpotClient::new(hs)?),
            errors: Arc::new(aws.error_store(&cfg.errors_table)),
            imports,
            waker: Some(Arc::new(SqsWaker::new(aws.sqs()))),
        },
        SyncSettings { engine, mappings_cache: cfg.mappings_cache },
    );
    let delays = (!cfg.retry_base.is_zero()).then(|| {
        RetryDelays::new(
            aws.sqs(),
            Backoff { base: cfg.retry_base, max: cfg.retry_max, recheck: cfg.wait_recheck },
        )
    });
    tracing::info!(records = %cfg.records_table, hubspot = %cfg.hubspot_base_url, "worker ready");
    Ok(Worker { engine, delays })
}

/// The import function: the Salesforce client (its key from Secrets Manager), imports and
/// mappings on DynamoDB, both queues on SQS, the hand-over to a fresh invocation.
pub async fn imports(cfg: &ImportConfig) -> Result<Imports, StartError> {
    imports_on(&Aws::load().await, cfg).await
}

/// [`imports`] on given clients (the tests: signed with the function's own policy).
pub async fn imports_on(aws: &Aws, cfg: &ImportConfig) -> Result<Imports, StartError> {
    let secret = aws.secret(&cfg.salesforce_secret_arn).await?;
    let credentials = credentials_from_secret(&cfg.salesforce_client_id, &secret)?;
    drop(secret);
    let mut salesforce =
        sfhs_salesforce::Config::new(cfg.salesforce_login_url.clone(), credentials);
    salesforce.api_version = cfg.salesforce_api_version.clone();
    let client = sfhs_salesforce::Client::new(salesforce)?;
    let deps = app::imports(
        ImportPorts {
            store: Arc::new(aws.import_store(&cfg.imports_table)),
            mappings: Arc::new(aws.mapping_store(&cfg.mappings_table)),
            reader: Arc::new(sfhs_salesforce::ClientReader::new(client)),
            import_queue: Arc::new(aws.queue(&cfg.import_queue_url)),
            live_queue: Arc::new(aws.queue(&cfg.live_queue_url)),
            continuation: aws.continuation(cfg.function_name.as_deref()),
        },
        cfg.run.clone(),
        cfg.publish.clone(),
    )
    .with_sent_fields(cfg.sent_fields.clone())
    .with_drift(cfg.drift.clone());
    let deps = match &cfg.records_table {
        Some(table) => deps.with_catch_up(Arc::new(aws.ledger(table)), cfg.catch_up),
        None => {
            tracing::warn!("SFHS_RECORDS_TABLE is not set: no catch-up of what the push missed");
            deps
        }
    };
    tracing::info!(imports = %cfg.imports_table, bulk_threshold = cfg.bulk_threshold, "import function ready");
    Ok(deps)
}

/// The continuation without a function to invoke: the import is checkpointed with its lease let
/// go, and the scheduled resume tick (EventBridge, every minute) resumes it. In Lambda the
/// function uses [`LambdaContinuation`] instead.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScheduledContinuation;

#[async_trait::async_trait]
impl Continuation for ScheduledContinuation {
    async fn continue_import(&self, import_id: &str) -> Result<(), ContinuationError> {
        tracing::info!(import_id, "handed over: the next scheduled tick resumes the import");
        Ok(())
    }
}
