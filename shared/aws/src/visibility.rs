//! Growing delays for messages the worker hands back: with `ReportBatchItemFailures` a failed
//! message becomes visible again after the queue's visibility timeout, always the same. The worker
//! sets each one's visibility to `base x 2^(receive count - 1)` (capped) instead, so that a child
//! waiting for its parent, or a record behind a long outage, is retried less and less often.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;
use sfhs_core::drive::Backoff;

use crate::sdk_error::classify;

/// SQS's longest visibility timeout (12 hours).
pub const MAX_VISIBILITY: Duration = Duration::from_secs(43_200);

/// One message to delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delay {
    /// The queue's ARN (`eventSourceARN` of the SQS event record).
    pub queue_arn: String,
    pub receipt_handle: String,
    /// `ApproximateReceiveCount`.
    pub receive_count: u32,
}

/// Sets growing visibility timeouts on handed-back messages.
#[derive(Debug, Clone)]
pub struct RetryDelays {
    client: aws_sdk_sqs::Client,
    backoff: Backoff,
}

/// The queue URL of an SQS ARN (`arn:aws:sqs:REGION:ACCOUNT:NAME`).
pub fn queue_url_from_arn(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", partition, "sqs", region, account, name] if !name.is_empty() => {
            let domain = if partition.starts_with("aws-cn") {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            Some(format!("https://sqs.{region}.{domain}/{account}/{name}"))
        }
        _ => None,
    }
}

impl RetryDelays {
    pub fn new(client: aws_sdk_sqs::Client, base: Duration, max: Duration) -> Self {
        Self {
            client,
            backoff: Backoff {
                base,
                max: max.min(MAX_VISIBILITY),
            },
        }
    }

    /// The delay before delivery number `receive_count + 1` (the one backoff of
    /// `sfhs_core::drive`).
    pub fn delay(&self, receive_count: u32) -> Duration {
        self.backoff.delay(receive_count)
    }

    /// Sets the visibility of each message (10 per call, per queue). Returns how many were set;
    /// the others keep the queue's visibility timeout (failures are logged, never fatal).
    pub async fn apply(&self, delays: &[Delay]) -> usize {
        let mut by_queue: BTreeMap<String, Vec<&Delay>> = BTreeMap::new();
        for d in delays {
            match queue_url_from_arn(&d.queue_arn) {
                Some(url) => by_queue.entry(url).or_default().push(d),
                None => tracing::warn!(arn = %d.queue_arn, "not an SQS queue ARN; no retry delay"),
            }
        }
        let mut applied = 0;
        for (url, items) in by_queue {
            for chunk in items.chunks(10) {
                let mut request = self
                    .client
                    .change_message_visibility_batch()
                    .queue_url(&url);
                for (i, d) in chunk.iter().enumerate() {
                    let secs =
                        i32::try_from(self.delay(d.receive_count).as_secs()).unwrap_or(i32::MAX);
                    match ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&d.receipt_handle)
                        .visibility_timeout(secs)
                        .build()
                    {
                        Ok(entry) => request = request.entries(entry),
                        Err(e) => tracing::warn!(error = %e, "visibility entry not built"),
                    }
                }
                match request.send().await {
                    Ok(out) => {
                        applied += out.successful().len();
                        for f in out.failed() {
                            tracing::warn!(code = %f.code(), message = ?f.message(), "retry delay not set");
                        }
                    }
                    Err(e) => {
                        let f = classify("ChangeMessageVisibilityBatch", e);
                        tracing::warn!(error = %f, "retry delays not set; the queue's visibility timeout applies");
                    }
                }
            }
        }
        applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_delays() {
        assert_eq!(
            queue_url_from_arn("arn:aws:sqs:eu-west-1:123456789012:sfhs-live").as_deref(),
            Some("https://sqs.eu-west-1.amazonaws.com/123456789012/sfhs-live")
        );
        assert_eq!(queue_url_from_arn("arn:aws:sns:eu-west-1:1:x"), None);
        let conf = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .build();
        let d = RetryDelays::new(
            aws_sdk_sqs::Client::from_conf(conf),
            Duration::from_secs(5),
            Duration::from_secs(900),
        );
        assert_eq!(d.delay(1), Duration::from_secs(5));
        assert_eq!(d.delay(2), Duration::from_secs(10));
        assert_eq!(d.delay(4), Duration::from_secs(40));
        assert_eq!(d.delay(30), Duration::from_secs(900));
    }
}
