//! The AWS side of sfhs: typed configuration from the environment, telemetry set-up, the
//! adapters that own every AWS SDK type (SQS, DynamoDB, Secrets Manager, Lambda), and the world
//! each Lambda builds from them ([`world`]). The domain (`sfhs-core`) never
//! sees an SDK type: conversions happen here.

pub mod config;
pub mod continuation;
pub mod dynamo;
pub mod imports;
pub mod ledger;
pub mod secrets;
pub mod sqs;
pub mod telemetry;
pub mod visibility;
pub mod world;

mod sdk_error;

pub use sdk_error::{SdkFailure, classify};

/// Loads the shared AWS configuration (region, credentials, `AWS_ENDPOINT_URL`) once per process.
pub async fn load_aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await
}
