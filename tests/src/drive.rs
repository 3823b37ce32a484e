//! Driving sync engines the way SQS and Lambda would, in memory: a queue whose messages are taken
//! in batches and, when handed back, delivered again later in another order; concurrent workers,
//! each the one queue driver (`sfhs_core::drive`); totals of their batch reports.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sfhs_core::drive::{Backoff, Driver};
use sfhs_core::sync::{BatchReport, Engine};

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

/// The in-memory queue the tests drive engines over: `sfhs_core::queue::MemoryQueue`, which
/// publishers send to and the queue driver takes from.
pub type MemQueue = sfhs_core::queue::MemoryQueue;

/// A load harness's setting: the variable `name` as a number, else `default`.
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
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
        let driver = Driver::new(engine, Backoff::DEPLOYED);
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(seed ^ (0xABCD_0000 + w as u64 * 7919));
            let deadline = tokio::time::Instant::now() + timeout;
            while !queue.drained() {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the queue never drained ({} left)",
                    queue.len()
                );
                let taken = driver
                    .once(queue.as_ref(), 1 + rng.below(max_batch))
                    .await
                    .expect("a memory queue does not fail");
                let Some(driven) = taken else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                totals.lock().unwrap_or_else(PoisonError::into_inner).add(&driven.result.report);
            }
        }));
    }
    for t in tasks {
        t.await.expect("a worker task panicked");
    }
    totals.lock().unwrap_or_else(PoisonError::into_inner).clone()
}
