//! The work queue in memory.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;

use crate::drive::Deliveries;
use crate::queue::{EntryFailure, MAX_BATCH_ENTRIES, QueueEntry, QueueError, WorkQueue};
use crate::sync::InMessage;
use crate::work_item::WorkItem;

/// The in-memory queue of unit tests, `sfhs demo` and the load harnesses: publishers send to it
/// (with injectable faults), the queue driver takes from it (`sfhs_core::drive`). A message taken
/// is in flight until acked or handed back; one handed back is delivered again at once, at the
/// back of the queue (later, and in another order), whatever the backoff says, so that nothing
/// waits minutes in memory.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    inner: Mutex<MemoryQueueState>,
}

#[derive(Debug, Default)]
struct MemoryQueueState {
    messages: VecDeque<InMessage>,
    in_flight: usize,
    deliveries: usize,
    next_id: u64,
    dead: Vec<InMessage>,
    calls: usize,
    fail_calls: usize,
    fail_entries: usize,
    reject_entries: usize,
}

impl MemoryQueueState {
    fn enqueue(&mut self, body: String) {
        self.next_id += 1;
        let id = format!("m{}", self.next_id);
        self.messages.push_back(InMessage {
            wake: Some(id.clone()),
            message_id: id,
            body,
            receive_count: 1,
        });
    }
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next `n` calls fail as a whole (retryable).
    pub fn fail_next_calls(&self, n: usize) {
        self.lock().fail_calls = n;
    }

    /// The next `n` entries are reported failed (retryable, not a sender fault).
    pub fn fail_next_entries(&self, n: usize) {
        self.lock().fail_entries = n;
    }

    /// The next `n` entries are refused as the sender's fault (not retryable).
    pub fn reject_next_entries(&self, n: usize) {
        self.lock().reject_entries = n;
    }

    /// Bodies waiting on the queue, in arrival order.
    pub fn messages(&self) -> Vec<String> {
        self.lock().messages.iter().map(|m| m.body.clone()).collect()
    }

    /// Takes every waiting body off the queue.
    pub fn drain(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().messages).into_iter().map(|m| m.body).collect()
    }

    /// Puts work items on the queue (as the webhook or an import would).
    pub fn push(&self, items: &[WorkItem]) {
        let mut s = self.lock();
        for it in items {
            s.enqueue(it.to_json());
        }
    }

    /// Takes up to `n` messages; they are in flight until acked or handed back.
    pub fn take(&self, n: usize) -> Vec<InMessage> {
        let mut s = self.lock();
        let n = n.min(s.messages.len());
        let batch: Vec<InMessage> = s.messages.drain(..n).collect();
        s.in_flight += batch.len();
        s.deliveries += batch.len();
        batch
    }

    /// Messages waiting (not in flight).
    pub fn len(&self) -> usize {
        self.lock().messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Nothing waiting and nothing in flight.
    pub fn drained(&self) -> bool {
        let s = self.lock();
        s.messages.is_empty() && s.in_flight == 0
    }

    /// Messages taken so far, redeliveries included.
    pub fn deliveries(&self) -> usize {
        self.lock().deliveries
    }

    /// Messages that failed their last delivery.
    pub fn dead_letters(&self) -> Vec<InMessage> {
        self.lock().dead.clone()
    }

    pub fn calls(&self) -> usize {
        self.lock().calls
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryQueueState> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Deliveries for MemoryQueue {
    async fn take(&self, max: usize) -> Result<Vec<InMessage>, QueueError> {
        Ok(MemoryQueue::take(self, max))
    }

    async fn ack(&self, message_ids: &[String]) -> Result<(), QueueError> {
        let mut s = self.lock();
        s.in_flight = s.in_flight.saturating_sub(message_ids.len());
        Ok(())
    }

    async fn retry(&self, message: &InMessage, _delay: Duration) -> Result<(), QueueError> {
        let mut s = self.lock();
        let mut again = message.clone();
        again.receive_count += 1;
        s.messages.push_back(again);
        s.in_flight = s.in_flight.saturating_sub(1);
        Ok(())
    }

    async fn dead_letter(&self, message: &InMessage) -> Result<(), QueueError> {
        self.lock().dead.push(message.clone());
        Ok(())
    }
}

#[async_trait]
impl WorkQueue for MemoryQueue {
    async fn send_batch(&self, entries: &[QueueEntry]) -> Result<Vec<EntryFailure>, QueueError> {
        let mut s = self.lock();
        s.calls += 1;
        if entries.is_empty() || entries.len() > MAX_BATCH_ENTRIES {
            return Err(QueueError {
                operation: "SendMessageBatch",
                message: format!("{} entries; 1 to {MAX_BATCH_ENTRIES} allowed", entries.len()),
                retryable: false,
                source: None,
            });
        }
        if s.fail_calls > 0 {
            s.fail_calls -= 1;
            return Err(QueueError {
                operation: "SendMessageBatch",
                message: "injected failure".into(),
                retryable: true,
                source: None,
            });
        }
        let mut failures = Vec::new();
        for e in entries {
            if s.reject_entries > 0 {
                s.reject_entries -= 1;
                failures.push(EntryFailure {
                    id: e.id.clone(),
                    code: "InvalidMessageContents".into(),
                    message: "injected rejection".into(),
                    sender_fault: true,
                });
            } else if s.fail_entries > 0 {
                s.fail_entries -= 1;
                failures.push(EntryFailure {
                    id: e.id.clone(),
                    code: "InternalError".into(),
                    message: "injected failure".into(),
                    sender_fault: false,
                });
            } else {
                s.enqueue(e.body.clone());
            }
        }
        Ok(failures)
    }
}
