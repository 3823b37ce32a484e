//! Driving sync engines the way SQS and Lambda would, in memory: a queue whose messages are taken
//! in batches and, when handed back, delivered again later in another order; concurrent workers;
//! totals of their batch reports.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sfhs_core::queue::{EntryFailure, QueueEntry, QueueError, WorkQueue};
use sfhs_core::sync::{BatchReport, Engine, InMessage};
use sfhs_core::work_item::WorkItem;

/// A small deterministic generator (xorshift64*).
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % (n.max(1) as u64)).unwrap_or(0)
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for k in (1..items.len()).rev() {
            let j = self.below(k + 1);
            items.swap(k, j);
        }
    }
}

/// An SQS-like queue in memory.
#[derive(Debug, Default)]
pub struct MemQueue {
    messages: Mutex<VecDeque<InMessage>>,
    in_flight: AtomicUsize,
    deliveries: AtomicUsize,
    next_id: AtomicUsize,
}

impl MemQueue {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<InMessage>> {
        self.messages.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Puts work items on the queue.
    pub fn push(&self, items: &[WorkItem]) {
        let mut q = self.lock();
        for it in items {
            let n = self.next_id.fetch_add(1, Ordering::SeqCst);
            q.push_back(InMessage {
                message_id: format!("m{n}"),
                body: it.to_json(),
                receive_count: 1,
            });
        }
    }

    /// Takes up to `n` messages (they are in flight until [`MemQueue::done`]).
    pub fn take(&self, n: usize) -> Vec<InMessage> {
        let mut q = self.lock();
        let n = n.min(q.len());
        let batch: Vec<InMessage> = q.drain(..n).collect();
        self.in_flight.fetch_add(batch.len(), Ordering::SeqCst);
        self.deliveries.fetch_add(batch.len(), Ordering::SeqCst);
        batch
    }

    /// Acknowledges a batch: the messages in `retry` go back (at the back, receive count + 1).
    pub fn done(&self, batch: Vec<InMessage>, retry: &[String]) {
        let mut q = self.lock();
        let n = batch.len();
        for mut m in batch {
            if retry.contains(&m.message_id) {
                m.receive_count += 1;
                q.push_back(m);
            }
        }
        self.in_flight.fetch_sub(n, Ordering::SeqCst);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Nothing queued and nothing in flight.
    pub fn drained(&self) -> bool {
        self.is_empty() && self.in_flight.load(Ordering::SeqCst) == 0
    }

    pub fn deliveries(&self) -> usize {
        self.deliveries.load(Ordering::SeqCst)
    }
}

/// The import's publisher can write to it, as it writes to SQS.
#[async_trait::async_trait]
impl WorkQueue for MemQueue {
    async fn send_batch(&self, entries: &[QueueEntry]) -> Result<Vec<EntryFailure>, QueueError> {
        let mut q = self.lock();
        for e in entries {
            let n = self.next_id.fetch_add(1, Ordering::SeqCst);
            q.push_back(InMessage {
                message_id: format!("m{n}"),
                body: e.body.clone(),
                receive_count: 1,
            });
        }
        Ok(Vec::new())
    }
}

/// A load harness's setting: the variable `name` as a number, else `default`.
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs one task per engine until the queue drains (panics after `timeout`). Each task takes
/// batches of 1 to `max_batch` messages. Returns the totals of every batch.
pub async fn run_until_drained(
    engines: Vec<Arc<Engine>>,
    queue: Arc<MemQueue>,
    max_batch: usize,
    seed: u64,
    timeout: Duration,
) -> BatchReport {
    let totals = Arc::new(Mutex::new(BatchReport::default()));
    let mut tasks = Vec::new();
    for (w, engine) in engines.into_iter().enumerate() {
        let queue = queue.clone();
        let totals = totals.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(seed ^ (0xABCD_0000 + w as u64 * 7919));
            let deadline = tokio::time::Instant::now() + timeout;
            while !queue.drained() {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the queue never drained ({} left)",
                    queue.len()
                );
                let batch = queue.take(1 + rng.below(max_batch));
                if batch.is_empty() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                let result = engine.process(batch.clone()).await;
                totals
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .add(&result.report);
                queue.done(batch, &result.retry);
            }
        }));
    }
    for t in tasks {
        t.await.expect("a worker task panicked");
    }
    totals
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}
