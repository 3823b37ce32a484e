//! The SQS adapter of the queue port.

use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use sfhs_core::queue::{EntryFailure, QueueEntry, QueueError, WorkQueue};

use crate::sdk_error::classify;

/// Approximate numbers of messages on a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueDepth {
    pub waiting: u64,
    pub in_flight: u64,
}

/// A standard SQS queue, addressed by URL.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self { client, queue_url: queue_url.into() }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// Messages waiting and in flight (SQS's approximate counts).
    pub async fn depth(&self) -> Result<QueueDepth, crate::SdkFailure> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| classify("GetQueueAttributes", e))?;
        let get = |name: A| {
            out.attributes().and_then(|a| a.get(&name)).and_then(|v| v.parse().ok()).unwrap_or(0)
        };
        Ok(QueueDepth {
            waiting: get(A::ApproximateNumberOfMessages),
            in_flight: get(A::ApproximateNumberOfMessagesNotVisible),
        })
    }
}

#[async_trait]
impl WorkQueue for SqsQueue {
    async fn send_batch(&self, entries: &[QueueEntry]) -> Result<Vec<EntryFailure>, QueueError> {
        let mut request = self.client.send_message_batch().queue_url(&self.queue_url);
        for e in entries {
            let entry = SendMessageBatchRequestEntry::builder()
                .id(&e.id)
                .message_body(&e.body)
                .build()
                .map_err(|source| QueueError {
                    operation: "SendMessageBatch",
                    message: format!("entry {} could not be built", e.id),
                    retryable: false,
                    source: Some(Box::new(source)),
                })?;
            request = request.entries(entry);
        }
        let output = request.send().await.map_err(|err| {
            let failure = classify("SendMessageBatch", err);
            QueueError {
                operation: "SendMessageBatch",
                message: format!("{}: {}", failure.code, failure.message),
                retryable: failure.retryable,
                source: Some(Box::new(failure)),
            }
        })?;
        Ok(output
            .failed()
            .iter()
            .map(|f| EntryFailure {
                id: f.id().to_owned(),
                code: f.code().to_owned(),
                message: f.message().unwrap_or_default().to_owned(),
                sender_fault: f.sender_fault(),
            })
            .collect())
    }
}
