use std::error::Error as StdError;

use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

/// An AWS call that failed, reduced to what callers decide on: the service's error code, a
/// message, and whether trying again can help. The original error is kept as the source.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {code}: {message}")]
pub struct SdkFailure {
    pub operation: &'static str,
    pub code: String,
    pub message: String,
    pub retryable: bool,
    #[source]
    pub source: Box<dyn StdError + Send + Sync>,
}

/// Error codes that mean "slow down" or "try again" across AWS services.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "KmsThrottled",
];

/// Classifies an SDK error: transport problems, timeouts, 5xx and throttling are retryable;
/// everything the service blames on the request is not.
pub fn classify<E, R>(operation: &'static str, err: SdkError<E, R>) -> SdkFailure
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let (code, message, retryable) = match &err {
        SdkError::TimeoutError(_) => ("Timeout".to_owned(), "the call timed out".to_owned(), true),
        SdkError::DispatchFailure(d) => {
            ("DispatchFailure".to_owned(), format!("could not reach the service: {d:?}"), true)
        }
        SdkError::ResponseError(_) => (
            "ResponseError".to_owned(),
            "the service's response could not be read".to_owned(),
            true,
        ),
        SdkError::ConstructionFailure(_) => {
            ("ConstructionFailure".to_owned(), "the request could not be built".to_owned(), false)
        }
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let code = e.code().unwrap_or("Unknown").to_owned();
            let message = e.message().unwrap_or("no message").to_owned();
            let retryable = RETRYABLE_CODES.contains(&code.as_str());
            (code, message, retryable)
        }
        _ => ("Unknown".to_owned(), err.to_string(), true),
    };
    SdkFailure { operation, code, message, retryable, source: Box::new(err) }
}

/// Whether a DynamoDB (or any) call failed on its condition expression: the expected outcome of
/// an optimistic write that lost, not a failure of the service.
pub fn is_conditional_check_failed<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    matches!(err, SdkError::ServiceError(ctx) if ctx.err().code() == Some("ConditionalCheckFailedException"))
}

// The domain's store errors, from a classified SDK failure: the message, whether a retry can
// help, and the failure itself as the source. One place for every adapter.

impl From<SdkFailure> for sfhs_core::mapping::store::StoreError {
    fn from(f: SdkFailure) -> Self {
        Self::unavailable(f.retryable, f)
    }
}

impl From<SdkFailure> for sfhs_core::import::ports::ImportStoreError {
    fn from(f: SdkFailure) -> Self {
        Self::unavailable(f.retryable, f)
    }
}

impl From<SdkFailure> for sfhs_core::sync::LedgerError {
    fn from(f: SdkFailure) -> Self {
        Self::caused_by(f.operation, f.retryable, f)
    }
}

impl From<SdkFailure> for sfhs_core::sync::ErrorStoreError {
    fn from(f: SdkFailure) -> Self {
        Self::caused_by(f.retryable, f)
    }
}
