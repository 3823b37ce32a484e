//! The import Lambda: its configuration, its world (`sfhs_aws::world::imports`), its handler
//! (`{"import_id"}`: run an import; the EventBridge schedule: the tick).

use lambda_runtime::service_fn;
use sfhs_aws::config::ImportConfig;
use sfhs_import::serve;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sfhs_aws::telemetry::init();
    let deps = sfhs_aws::world::imports(&ImportConfig::from_env()?).await?;
    lambda_runtime::run(service_fn(|event| serve(&deps, event))).await
}
