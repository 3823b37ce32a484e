//! Secrets Manager: secrets are read once at start-up, never logged.

use crate::sdk_error::{SdkFailure, classify};

/// Reads secret strings from AWS Secrets Manager.
#[derive(Debug, Clone)]
pub struct Secrets {
    client: aws_sdk_secretsmanager::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("could not read secret {secret_id}: {source}")]
    Read {
        secret_id: String,
        #[source]
        source: SdkFailure,
    },
    #[error(
        "secret {secret_id} has no string value (binary secrets are not supported); store the value as a string"
    )]
    NotAString { secret_id: String },
    #[error(
        "secret {secret_id} is empty; put the value in it with `aws secretsmanager put-secret-value`"
    )]
    Empty { secret_id: String },
}

impl Secrets {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self { client }
    }

    /// The secret's current string value, trimmed.
    pub async fn string(&self, secret_id: &str) -> Result<String, SecretError> {
        let out =
            self.client.get_secret_value().secret_id(secret_id).send().await.map_err(|e| {
                SecretError::Read {
                    secret_id: secret_id.to_owned(),
                    source: classify("GetSecretValue", e),
                }
            })?;
        let value = out
            .secret_string()
            .ok_or_else(|| SecretError::NotAString { secret_id: secret_id.to_owned() })?;
        let value = value.trim();
        if value.is_empty() {
            return Err(SecretError::Empty { secret_id: secret_id.to_owned() });
        }
        Ok(value.to_owned())
    }
}
