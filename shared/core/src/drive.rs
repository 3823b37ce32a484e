//! The one queue driver: take a batch, let the engine process it, then settle every message:
//! ack what is done, hand back what must be tried again after the one [`Backoff`], and move to the
//! dead-letter queue what failed its last delivery. In AWS, Lambda's event source mapping and
//! SQS do this around the worker's handler (the same backoff: `sfhs_aws::visibility`); `sfhs
//! dev` (its queues on disk), `sfhs demo` and the tests (in memory) drive the engine with
//! [`Driver`] over a [`Deliveries`] port.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::queue::QueueError;
use crate::sync::{BatchResult, Engine, InMessage};

/// How long a handed-back message waits before its next delivery: after a failure, `base x
/// 2^(receive count - 1)`, at most `max`; a child waiting for its parent, `recheck` (its
/// parent's commit wakes it before that).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    pub recheck: Duration,
}

impl Backoff {
    /// As deployed: 5 s, doubling, at most 15 minutes (the template's `SFHS_RETRY_BASE_SECONDS`
    /// and `SFHS_RETRY_MAX_SECONDS`); a waiting child looks again after a minute
    /// (`SFHS_WAIT_RECHECK_SECONDS`).
    pub const DEPLOYED: Self = Self {
        base: Duration::from_secs(5),
        max: Duration::from_secs(900),
        recheck: Duration::from_secs(60),
    };

    /// The delay before delivery number `receive_count + 1`.
    pub fn delay(&self, receive_count: u32) -> Duration {
        let factor = 1u32 << receive_count.saturating_sub(1).min(20);
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// A queue the driver takes batches from and settles them on.
#[async_trait]
pub trait Deliveries: Send + Sync {
    /// Up to `max` visible messages, invisible to other takers until settled (or until their
    /// visibility runs out, as on SQS).
    async fn take(&self, max: usize) -> Result<Vec<InMessage>, QueueError>;
    /// Deletes these messages.
    async fn ack(&self, message_ids: &[String]) -> Result<(), QueueError>;
    /// Makes `message` visible again after `delay` (its receive count goes up on delivery).
    async fn retry(&self, message: &InMessage, delay: Duration) -> Result<(), QueueError>;
    /// Puts `message` on the dead-letter queue (the driver then acks it here).
    async fn dead_letter(&self, message: &InMessage) -> Result<(), QueueError>;
}

/// What became of one message of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Processed: acked.
    Done,
    /// Handed back: delivered again after this delay.
    Again(Duration),
    /// Failed at its last delivery: on the dead-letter queue.
    DeadLettered,
}

/// One driven batch: the engine's result and each message's fate.
#[derive(Debug)]
pub struct Driven {
    pub result: BatchResult,
    pub fates: Vec<(InMessage, Fate)>,
}

/// Drives an engine over a queue.
#[derive(Debug, Clone)]
pub struct Driver {
    engine: Arc<Engine>,
    backoff: Backoff,
}

impl Driver {
    /// Dead-letters after the engine's `max_receives` deliveries (never when 0).
    pub fn new(engine: Arc<Engine>, backoff: Backoff) -> Self {
        Self { engine, backoff }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Takes up to `max` messages, processes them and settles each; `None` when the queue had
    /// none. A failure to settle is logged and never loses a message: it comes back when its
    /// visibility runs out.
    pub async fn once(
        &self,
        queue: &dyn Deliveries,
        max: usize,
    ) -> Result<Option<Driven>, QueueError> {
        let batch = queue.take(max).await?;
        if batch.is_empty() {
            return Ok(None);
        }
        let result = self.engine.process(batch.clone()).await;
        let max_receives = self.engine.config().max_receives;
        let mut acked = Vec::new();
        let mut fates = Vec::with_capacity(batch.len());
        for m in batch {
            let fate = if !result.retry.contains(&m.message_id) {
                acked.push(m.message_id.clone());
                Fate::Done
            } else if max_receives > 0 && m.receive_count >= max_receives {
                match queue.dead_letter(&m).await {
                    Ok(()) => {
                        acked.push(m.message_id.clone());
                        Fate::DeadLettered
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, message_id = %m.message_id, "could not dead-letter the message; it comes back");
                        Fate::Again(self.backoff.delay(m.receive_count))
                    }
                }
            } else {
                let delay = if result.waiting.contains(&m.message_id) {
                    self.backoff.recheck
                } else {
                    self.backoff.delay(m.receive_count)
                };
                if let Err(e) = queue.retry(&m, delay).await {
                    tracing::warn!(error = %e, message_id = %m.message_id, "could not delay the message; it comes back after its visibility timeout");
                }
                Fate::Again(delay)
            };
            fates.push((m, fate));
        }
        if !acked.is_empty()
            && let Err(e) = queue.ack(&acked).await
        {
            tracing::warn!(error = %e, "ack failed; the messages come back");
        }
        Ok(Some(Driven { result, fates }))
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use std::time::Duration;

    #[test]
    fn the_backoff_doubles_from_its_base_up_to_its_cap() {
        let b = Backoff::DEPLOYED;
        let secs: Vec<u64> = (1..=10).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 320, 640, 900, 900]);
        assert_eq!(b.delay(0), Duration::from_secs(5));
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(900));
    }
}
