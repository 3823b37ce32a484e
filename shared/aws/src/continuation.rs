//! The hand-over in Lambda: near its deadline a run checkpoints, lets go of its lease and asks
//! for a fresh invocation of this same function (`Invoke`, InvocationType `Event`, payload
//! `{"import_id": "..."}`), which resumes from the checkpoint at once with a fresh 15 minutes.
//! If that call fails, the scheduled resume tick (every minute) still resumes the import.

use crate::classify;
use async_trait::async_trait;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use serde_json::json;
use sfhs_core::import::ports::{Continuation, ContinuationError};

/// Invokes the import function asynchronously.
#[derive(Debug, Clone)]
pub struct LambdaContinuation {
    client: aws_sdk_lambda::Client,
    function: String,
}

impl LambdaContinuation {
    /// `function`: this function's name or ARN (in Lambda, `AWS_LAMBDA_FUNCTION_NAME`).
    pub fn new(client: aws_sdk_lambda::Client, function: impl Into<String>) -> Self {
        Self { client, function: function.into() }
    }

    pub fn function(&self) -> &str {
        &self.function
    }
}

#[async_trait]
impl Continuation for LambdaContinuation {
    async fn continue_import(&self, import_id: &str) -> Result<(), ContinuationError> {
        let payload = json!({ "import_id": import_id }).to_string();
        let result = self
            .client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await;
        match result {
            Ok(out) => {
                tracing::info!(
                    import_id,
                    function = %self.function,
                    status = out.status_code(),
                    "handed over to a fresh invocation"
                );
                Ok(())
            }
            Err(e) => {
                let f = classify("Invoke", e);
                Err(ContinuationError {
                    import_id: import_id.to_owned(),
                    message: format!(
                        "invoking {} to continue the import failed ({}): {}; the scheduled tick resumes it",
                        self.function, f.code, f.message
                    ),
                    retryable: f.retryable,
                    source: Some(Box::new(f)),
                })
            }
        }
    }
}
