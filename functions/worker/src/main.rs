//! The worker Lambda: builds its configuration and clients once, then serves SQS batches.

use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use lambda_runtime::service_fn;
use sfhs_aws::config::WorkerConfig;
use sfhs_aws::dynamo::DynamoMappingStore;
use sfhs_aws::imports::DynamoImportStore;
use sfhs_aws::ledger::{DynamoErrorStore, DynamoLedger};
use sfhs_aws::secrets::Secrets;
use sfhs_aws::visibility::RetryDelays;
use sfhs_core::app::{self, SyncPorts, SyncSettings};
use sfhs_core::import::ImportStore;
use sfhs_core::sync::EngineConfig;
use sfhs_hubspot::{ApiVersion, ClientConfig, HubSpotClient, SecretToken};
use sfhs_worker::{Deps, handler};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sfhs_aws::telemetry::init();
    let cfg = WorkerConfig::from_env()?;
    let aws = sfhs_aws::load_aws_config().await;
    let secrets = Secrets::new(aws_sdk_secretsmanager::Client::new(&aws));
    let token = secrets
        .string(&cfg.hubspot_token_secret_arn)
        .await
        .context("reading the HubSpot token")?;
    let mut hs = ClientConfig::new(&cfg.hubspot_base_url, SecretToken::new(token));
    hs.api_version = ApiVersion::from_str(&cfg.hubspot_api_version)
        .map_err(|e| anyhow::anyhow!("SFHS_HUBSPOT_API_VERSION: {e}"))?;
    hs.reserved_share = cfg.hubspot_reserved_share;
    let hubspot = HubSpotClient::new(hs).context("building the HubSpot client")?;
    let dynamo = aws_sdk_dynamodb::Client::new(&aws);
    let mappings = DynamoMappingStore::new(dynamo.clone(), &cfg.mappings_table);
    let mut tuning = EngineConfig::new(format!("worker-{}", uuid::Uuid::new_v4()));
    tuning.lease = cfg.lease;
    tuning.parent_wait = cfg.parent_wait;
    tuning.max_receives = cfg.max_receives;
    let delays = (!cfg.retry_base.is_zero()).then(|| {
        RetryDelays::new(
            aws_sdk_sqs::Client::new(&aws),
            cfg.retry_base,
            cfg.retry_max,
        )
    });
    let imports = match &cfg.imports_table {
        Some(t) => {
            Some(Arc::new(DynamoImportStore::new(dynamo.clone(), t)) as Arc<dyn ImportStore>)
        }
        None => {
            tracing::warn!("SFHS_IMPORTS_TABLE is not set: import counters are not kept");
            None
        }
    };
    let engine = app::engine(
        SyncPorts {
            mappings: Arc::new(mappings),
            ledger: Arc::new(DynamoLedger::new(dynamo.clone(), &cfg.records_table)),
            hubspot: Arc::new(hubspot),
            errors: Arc::new(DynamoErrorStore::new(dynamo, &cfg.errors_table)),
            imports,
        },
        SyncSettings {
            engine: tuning,
            mappings_cache: cfg.mappings_cache,
        },
    );
    let deps = Deps { delays, engine };
    tracing::info!(
        records = %cfg.records_table,
        hubspot = %cfg.hubspot_base_url,
        "worker ready"
    );
    lambda_runtime::run(service_fn(|event| handler(&deps, event))).await
}
