//! The webhook Lambda: builds its configuration and clients once, then serves requests.

use std::sync::Arc;

use lambda_http::service_fn;
use sfhs_aws::config::WebhookConfig;
use sfhs_aws::secrets::Secrets;
use sfhs_aws::sqs::SqsQueue;
use sfhs_core::app::{self, WebhookSettings};
use sfhs_core::webhook::UrlSecret;
use sfhs_webhook::{Deps, handler};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    sfhs_aws::telemetry::init();
    let cfg = WebhookConfig::from_env()?;
    let aws = sfhs_aws::load_aws_config().await;
    let url_secret = match &cfg.url_secret_arn {
        Some(arn) => {
            let secrets = Secrets::new(aws_sdk_secretsmanager::Client::new(&aws));
            Some(UrlSecret::new(secrets.string(arn).await?))
        }
        None => {
            tracing::warn!("SFHS_URL_SECRET_ARN is not set: only the org id authenticates senders");
            None
        }
    };
    let queue = SqsQueue::new(aws_sdk_sqs::Client::new(&aws), &cfg.live_queue_url);
    let deps: Deps = app::webhook(
        WebhookSettings {
            allowed_org_ids: cfg.allowed_org_ids.clone(),
            url_secret,
            secret_param: cfg.secret_param.clone(),
            max_body_bytes: cfg.max_body_bytes,
            publish: cfg.publish.clone(),
        },
        Arc::new(queue),
    );
    tracing::info!(
        queue = %cfg.live_queue_url,
        orgs = cfg.allowed_org_ids.len(),
        "webhook ready"
    );
    lambda_http::run(service_fn(|req| handler(&deps, req))).await
}
