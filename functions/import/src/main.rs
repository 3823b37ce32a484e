//! The import Lambda: builds its configuration and clients once, then handles events
//! (`{"import_id"}`: run an import; the EventBridge schedule: sweep deletes, resume imports).

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use sfhs_aws::config::{ImportConfig, credentials_from_secret};
use sfhs_aws::continuation::LambdaContinuation;
use sfhs_aws::dynamo::DynamoMappingStore;
use sfhs_aws::imports::DynamoImportStore;
use sfhs_aws::secrets::Secrets;
use sfhs_aws::sqs::SqsQueue;
use sfhs_core::app::{self, ImportPorts};
use sfhs_core::import::ports::Continuation;
use sfhs_import::{Deps, ScheduledContinuation, deadline_from_epoch_ms, handle};
use sfhs_salesforce::ClientReader;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sfhs_aws::telemetry::init();
    let cfg = ImportConfig::from_env()?;
    let aws = sfhs_aws::load_aws_config().await;
    let secret = Secrets::new(aws_sdk_secretsmanager::Client::new(&aws))
        .string(&cfg.salesforce_secret_arn)
        .await?;
    let credentials = credentials_from_secret(&cfg.salesforce_client_id, &secret)?;
    drop(secret);
    let mut salesforce =
        sfhs_salesforce::Config::new(cfg.salesforce_login_url.clone(), credentials);
    salesforce.api_version = cfg.salesforce_api_version.clone();
    let client = sfhs_salesforce::Client::new(salesforce)?;
    let dynamo = aws_sdk_dynamodb::Client::new(&aws);
    // Near its deadline a run hands over to a fresh invocation of this function.
    let continuation: Arc<dyn Continuation> = match std::env::var("AWS_LAMBDA_FUNCTION_NAME") {
        Ok(name) if !name.is_empty() => Arc::new(LambdaContinuation::new(
            aws_sdk_lambda::Client::new(&aws),
            name,
        )),
        _ => Arc::new(ScheduledContinuation),
    };
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let deps: Deps = app::imports(
        ImportPorts {
            store: Arc::new(DynamoImportStore::new(dynamo.clone(), &cfg.imports_table)),
            mappings: Arc::new(DynamoMappingStore::new(dynamo, &cfg.mappings_table)),
            reader: Arc::new(ClientReader::new(client)),
            import_queue: Arc::new(SqsQueue::new(sqs.clone(), &cfg.import_queue_url)),
            live_queue: Arc::new(SqsQueue::new(sqs, &cfg.live_queue_url)),
            continuation,
        },
        cfg.run.clone(),
        cfg.publish.clone(),
    )
    .with_sent_fields(cfg.sent_fields.clone());
    tracing::info!(
        imports = %cfg.imports_table,
        bulk_threshold = cfg.bulk_threshold,
        "import function ready"
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let deps = &deps;
        async move {
            let deadline = deadline_from_epoch_ms(event.context.deadline);
            let result = handle(
                deps,
                &event.payload,
                &event.context.request_id,
                Some(deadline),
            )
            .await;
            if let Err(e) = &result {
                tracing::error!(error = %e, retryable = e.is_retryable(), "import event failed");
            }
            result
        }
    }))
    .await
}
