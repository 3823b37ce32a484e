//! The webhook Lambda: its configuration, its world (`sfhs_aws::world::webhook`), its handler.

use lambda_http::service_fn;
use sfhs_aws::config::WebhookConfig;
use sfhs_webhook::handler;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    sfhs_aws::telemetry::init();
    let deps = sfhs_aws::world::webhook(&WebhookConfig::from_env()?).await?;
    lambda_http::run(service_fn(|req| handler(&deps, req))).await
}
