//! The queue port, its in-memory implementation, and the publisher that puts work items on a
//! queue completely or reports failure.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;

use crate::work_item::WorkItem;

/// SQS's most entries in one `SendMessageBatch` call.
pub const MAX_BATCH_ENTRIES: usize = 10;

/// One message to send: an id unique within its batch, and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    pub id: String,
    pub body: String,
}

/// An entry the queue refused in a batch that otherwise went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFailure {
    pub id: String,
    pub code: String,
    pub message: String,
    /// The queue blames the request (sending it again will not help).
    pub sender_fault: bool,
}

/// A whole call to the queue failed.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct QueueError {
    pub operation: &'static str,
    pub message: String,
    pub retryable: bool,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl QueueError {
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

/// A message queue that takes batches of up to [`MAX_BATCH_ENTRIES`] entries.
#[async_trait]
pub trait WorkQueue: Send + Sync + fmt::Debug {
    /// Sends one batch. `Ok` lists the entries that failed; the others are on the queue.
    async fn send_batch(&self, entries: &[QueueEntry]) -> Result<Vec<EntryFailure>, QueueError>;
}

/// Limits and retry policy of a [`Publisher`].
#[derive(Debug, Clone)]
pub struct PublishPolicy {
    /// Largest message body the queue takes (bytes). SQS: 262,144 by default.
    pub max_message_bytes: usize,
    /// Largest sum of bodies in one batch call (bytes).
    pub max_batch_bytes: usize,
    /// Tries per entry, the first included.
    pub max_attempts: u32,
    /// Pause before the second try; doubled for each further try.
    pub first_backoff: Duration,
}

impl Default for PublishPolicy {
    fn default() -> Self {
        Self {
            max_message_bytes: 262_144,
            max_batch_bytes: 262_144,
            max_attempts: 4,
            first_backoff: Duration::from_millis(50),
        }
    }
}

/// Why items could not all be enqueued.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(
        "work item for record {record_id} is {size} bytes, over the queue's limit of {limit} bytes"
    )]
    TooLarge { record_id: String, size: usize, limit: usize },
    #[error("{failed} of {total} work items could not be enqueued; last problem: {last}")]
    Incomplete { failed: usize, total: usize, last: String },
}

/// Puts work items on a queue: chunks them into batches by count and size, sends the batches in
/// parallel, and sends again the entries a batch reports as failed, with backoff. It succeeds only
/// when every item is on the queue.
#[derive(Debug, Clone)]
pub struct Publisher {
    queue: Arc<dyn WorkQueue>,
    policy: PublishPolicy,
}

/// What a successful publish did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublishReport {
    pub items: usize,
    pub calls: usize,
    pub retried_entries: usize,
}

impl Publisher {
    pub fn new(queue: Arc<dyn WorkQueue>, policy: PublishPolicy) -> Self {
        Self { queue, policy }
    }

    pub fn policy(&self) -> &PublishPolicy {
        &self.policy
    }

    /// Enqueues every item, or fails. On failure some items may be on the queue already: the
    /// consumer is idempotent, and the caller must make the producer send them all again.
    pub async fn publish(&self, items: &[WorkItem]) -> Result<PublishReport, PublishError> {
        let mut entries = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let body = item.to_json();
            if body.len() > self.policy.max_message_bytes {
                return Err(PublishError::TooLarge {
                    record_id: item.record_id.clone(),
                    size: body.len(),
                    limit: self.policy.max_message_bytes,
                });
            }
            entries.push(QueueEntry { id: i.to_string(), body });
        }
        self.publish_entries(entries).await
    }

    /// Enqueues prepared entries (ids unique across `entries`).
    pub async fn publish_entries(
        &self,
        entries: Vec<QueueEntry>,
    ) -> Result<PublishReport, PublishError> {
        let total = entries.len();
        let batches = self.chunk(entries);
        let results = join_all(batches.into_iter().map(|b| self.send_with_retries(b))).await;
        let mut report = PublishReport { items: total, ..PublishReport::default() };
        let mut failed = 0;
        let mut last = None;
        for r in results {
            report.calls += r.calls;
            report.retried_entries += r.retried;
            failed += r.failed;
            if r.last_problem.is_some() {
                last = r.last_problem;
            }
        }
        if failed > 0 {
            return Err(PublishError::Incomplete { failed, total, last: last.unwrap_or_default() });
        }
        Ok(report)
    }

    fn chunk(&self, entries: Vec<QueueEntry>) -> Vec<Vec<QueueEntry>> {
        let mut batches = Vec::new();
        let mut current: Vec<QueueEntry> = Vec::new();
        let mut bytes = 0;
        for e in entries {
            let size = e.body.len();
            if !current.is_empty()
                && (current.len() == MAX_BATCH_ENTRIES
                    || bytes + size > self.policy.max_batch_bytes)
            {
                batches.push(std::mem::take(&mut current));
                bytes = 0;
            }
            bytes += size;
            current.push(e);
        }
        if !current.is_empty() {
            batches.push(current);
        }
        batches
    }

    async fn send_with_retries(&self, mut pending: Vec<QueueEntry>) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        for attempt in 1..=self.policy.max_attempts.max(1) {
            if attempt > 1 {
                let factor = 1u32 << (attempt - 2).min(10);
                tokio::time::sleep(self.policy.first_backoff * factor).await;
                outcome.retried += pending.len();
            }
            outcome.calls += 1;
            match self.queue.send_batch(&pending).await {
                Ok(failures) if failures.is_empty() => return outcome,
                Ok(failures) => {
                    let permanent = failures.iter().find(|f| f.sender_fault);
                    let problem = failures
                        .first()
                        .map(|f| format!("entry refused: {} ({})", f.message, f.code));
                    outcome.last_problem = problem;
                    if let Some(p) = permanent {
                        tracing::warn!(code = %p.code, message = %p.message, "queue refused an entry (sender fault); not retrying");
                        outcome.failed = failures.len();
                        return outcome;
                    }
                    let failed_ids: std::collections::HashSet<&str> =
                        failures.iter().map(|f| f.id.as_str()).collect();
                    pending.retain(|e| failed_ids.contains(e.id.as_str()));
                    tracing::warn!(
                        attempt,
                        failed = pending.len(),
                        "queue reported failed entries; sending them again"
                    );
                }
                Err(e) => {
                    tracing::warn!(attempt, error = %e, retryable = e.is_retryable(), "queue call failed");
                    outcome.last_problem = Some(e.to_string());
                    if !e.is_retryable() {
                        break;
                    }
                }
            }
        }
        outcome.failed = pending.len();
        outcome
    }
}

#[derive(Debug, Default)]
struct BatchOutcome {
    calls: usize,
    retried: usize,
    failed: usize,
    last_problem: Option<String>,
}

pub use crate::memory::MemoryQueue;

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(n: usize, size: usize) -> Vec<QueueEntry> {
        (0..n).map(|i| QueueEntry { id: i.to_string(), body: format!("{i:0>size$}") }).collect()
    }

    fn publisher(q: &Arc<MemoryQueue>, policy: PublishPolicy) -> Publisher {
        Publisher::new(q.clone(), policy)
    }

    fn fast() -> PublishPolicy {
        PublishPolicy { first_backoff: Duration::from_millis(1), ..PublishPolicy::default() }
    }

    #[tokio::test]
    async fn chunks_by_count_and_by_size() {
        let q = Arc::new(MemoryQueue::new());
        let report = publisher(&q, fast()).publish_entries(entries(25, 10)).await.unwrap();
        assert_eq!(report.calls, 3);
        assert_eq!(q.messages().len(), 25);

        let q = Arc::new(MemoryQueue::new());
        let policy = PublishPolicy { max_batch_bytes: 100, ..fast() };
        let report = publisher(&q, policy).publish_entries(entries(10, 40)).await.unwrap();
        assert_eq!(report.calls, 5, "two 40-byte bodies fit in 100 bytes, three do not");
        let mut got = q.messages();
        got.sort();
        assert_eq!(got.len(), 10);
    }

    #[tokio::test]
    async fn resends_entries_that_failed_and_whole_calls_that_failed() {
        let q = Arc::new(MemoryQueue::new());
        q.fail_next_entries(3);
        q.fail_next_calls(1);
        let report = publisher(&q, fast()).publish_entries(entries(10, 5)).await.unwrap();
        assert_eq!(q.messages().len(), 10);
        assert!(report.retried_entries >= 3);
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts_and_on_sender_faults() {
        // Three entries to a queue set up by `fault`: the error, and the calls made.
        async fn three_to(fault: impl FnOnce(&MemoryQueue)) -> (PublishError, usize) {
            let q = Arc::new(MemoryQueue::new());
            fault(&q);
            let err = publisher(&q, fast()).publish_entries(entries(3, 5)).await.unwrap_err();
            (err, q.calls())
        }
        let (err, calls) = three_to(|q| q.fail_next_calls(100)).await;
        assert!(matches!(err, PublishError::Incomplete { failed: 3, total: 3, .. }), "{err}");
        assert_eq!(calls, 4);

        let (err, calls) = three_to(|q| q.reject_next_entries(1)).await;
        assert!(matches!(err, PublishError::Incomplete { failed: 1, .. }), "{err}");
        assert_eq!(calls, 1, "a sender fault is not retried");
    }
}
