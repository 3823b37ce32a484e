//! Growing delays for messages the worker hands back: with `ReportBatchItemFailures` a failed
//! message becomes visible again after the queue's visibility timeout, always the same. The worker
//! sets each one's visibility to `base x 2^(receive count - 1)` (capped) instead, so that a record
//! behind a long outage is retried less and less often, and a child waiting for its parent looks
//! again after the re-check delay (its parent's commit wakes it before: [`SqsWaker`]).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;
use sfhs_core::drive::Backoff;
use sfhs_core::sync::Waker;

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
    /// A child waiting for its parent: it looks again after the re-check delay, not the
    /// failure backoff.
    pub waiting: bool,
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
            let domain =
                if partition.starts_with("aws-cn") { "amazonaws.com.cn" } else { "amazonaws.com" };
            Some(format!("https://sqs.{region}.{domain}/{account}/{name}"))
        }
        _ => None,
    }
}

impl RetryDelays {
    /// `backoff`'s delays, each at most SQS's longest visibility timeout.
    pub fn new(client: aws_sdk_sqs::Client, backoff: Backoff) -> Self {
        Self {
            client,
            backoff: Backoff {
                max: backoff.max.min(MAX_VISIBILITY),
                recheck: backoff.recheck.min(MAX_VISIBILITY),
                ..backoff
            },
        }
    }

    /// The delay before the next delivery of `d` (the one backoff of `sfhs_core::drive`).
    pub fn delay_of(&self, d: &Delay) -> Duration {
        if d.waiting { self.backoff.recheck } else { self.backoff.delay(d.receive_count) }
    }

    /// Sets the visibility of each message (10 per call, per queue). Returns how many were set;
    /// the others keep the queue's visibility timeout (failures are logged, never fatal).
    pub async fn apply(&self, delays: &[Delay]) -> usize {
        let items: Vec<(&str, &str, Duration)> = delays
            .iter()
            .map(|d| (d.queue_arn.as_str(), d.receipt_handle.as_str(), self.delay_of(d)))
            .collect();
        set_visibility(&self.client, &items, "retry delay").await
    }
}

/// Wakes handed-back messages on SQS: a handle is `{queue ARN} {receipt handle}` (as the worker's
/// handler gives each message), and waking sets the message's visibility to 0, so that the
/// next poll delivers it. A receipt handle of a message received again since, or deleted, is
/// refused by SQS and skipped.
#[derive(Debug, Clone)]
pub struct SqsWaker {
    client: aws_sdk_sqs::Client,
}

impl SqsWaker {
    pub fn new(client: aws_sdk_sqs::Client) -> Self {
        Self { client }
    }

    /// The wake handle of a message received from the queue `queue_arn`.
    pub fn handle(queue_arn: &str, receipt_handle: &str) -> String {
        format!("{queue_arn} {receipt_handle}")
    }
}

#[async_trait::async_trait]
impl Waker for SqsWaker {
    async fn wake(&self, handles: &[String]) -> usize {
        let items: Vec<(&str, &str, Duration)> = handles
            .iter()
            .filter_map(|h| h.split_once(' '))
            .map(|(arn, receipt)| (arn, receipt, Duration::ZERO))
            .collect();
        set_visibility(&self.client, &items, "wake").await
    }
}

/// Sets each `(queue ARN, receipt handle, visibility)`, 10 per call, per queue; how many were
/// set. Failures are logged (`what` names the purpose) and never fatal.
async fn set_visibility(
    client: &aws_sdk_sqs::Client,
    items: &[(&str, &str, Duration)],
    what: &str,
) -> usize {
    let mut by_queue: BTreeMap<String, Vec<(&str, Duration)>> = BTreeMap::new();
    for (arn, receipt, delay) in items {
        match queue_url_from_arn(arn) {
            Some(url) => by_queue.entry(url).or_default().push((receipt, *delay)),
            None => tracing::warn!(arn = %arn, what, "not an SQS queue ARN; visibility not set"),
        }
    }
    let mut applied = 0;
    for (url, items) in by_queue {
        for chunk in items.chunks(10) {
            let mut request = client.change_message_visibility_batch().queue_url(&url);
            for (i, (receipt, delay)) in chunk.iter().enumerate() {
                let secs = i32::try_from(delay.as_secs()).unwrap_or(i32::MAX);
                match ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(*receipt)
                    .visibility_timeout(secs)
                    .build()
                {
                    Ok(entry) => request = request.entries(entry),
                    Err(e) => tracing::warn!(error = %e, what, "visibility entry not built"),
                }
            }
            match request.send().await {
                Ok(out) => {
                    applied += out.successful().len();
                    for f in out.failed() {
                        tracing::warn!(code = %f.code(), message = ?f.message(), what, "visibility not set");
                    }
                }
                Err(e) => {
                    let f = classify("ChangeMessageVisibilityBatch", e);
                    tracing::warn!(error = %f, what, "visibility not set; the queue's visibility timeout applies");
                }
            }
        }
    }
    applied
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
        let d = RetryDelays::new(aws_sdk_sqs::Client::from_conf(conf), Backoff::DEPLOYED);
        let of = |receive_count, waiting| {
            d.delay_of(&Delay {
                queue_arn: String::new(),
                receipt_handle: String::new(),
                receive_count,
                waiting,
            })
            .as_secs()
        };
        assert_eq!([of(1, false), of(2, false), of(4, false), of(30, false)], [5, 10, 40, 900]);
        assert_eq!([of(1, true), of(7, true)], [60, 60], "a waiting child re-checks evenly");
    }
}
