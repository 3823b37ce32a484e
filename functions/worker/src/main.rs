//! The worker Lambda: its configuration, its world (`sfhs_aws::world::worker`), its handler.

use lambda_runtime::service_fn;
use sfhs_aws::config::WorkerConfig;
use sfhs_worker::handler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sfhs_aws::telemetry::init();
    let deps = sfhs_aws::world::worker(&WorkerConfig::from_env()?).await?;
    lambda_runtime::run(service_fn(|event| handler(&deps, event))).await
}
