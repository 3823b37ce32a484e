//! A queue on disk with SQS's delivery rules: a received message is invisible for a visibility
//! timeout, then delivered again unless it was acknowledged; each delivery counts.

use std::time::Duration;

use async_trait::async_trait;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use sfhs_core::drive::{Deliveries, Driven, Driver};
use sfhs_core::queue::{EntryFailure, QueueEntry, QueueError, WorkQueue};
use sfhs_core::sync::{InMessage, Waker};
use time::OffsetDateTime;

use crate::{LocalError, LocalStore, META, QUEUES, get_in, put_in};

/// A message as received: its id (for [`LocalQueue::ack`] and [`LocalQueue::retry`]), body and
/// delivery count.
pub type Received = InMessage;

#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    body: String,
    receive_count: u32,
    visible_at_ms: i64,
}

/// One named queue of a [`LocalStore`].
#[derive(Debug, Clone)]
pub struct LocalQueue {
    store: LocalStore,
    name: String,
}

fn now_ms() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

impl LocalQueue {
    pub fn new(store: &LocalStore, name: &str) -> Self {
        Self { store: store.clone(), name: name.to_owned() }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn prefix(&self) -> String {
        format!("{}#", self.name)
    }

    /// Puts bodies on the queue, in order.
    pub fn push(&self, bodies: &[String]) -> Result<(), LocalError> {
        let seq_key = format!("seq#{}", self.name);
        self.store.write("enqueue", |tx| {
            let mut meta = tx.open_table(META).map_err(|e| LocalError::storage("enqueue", e))?;
            let mut next: u64 = get_in(&meta, "sequence", &seq_key)?.unwrap_or(0);
            let mut q = tx.open_table(QUEUES).map_err(|e| LocalError::storage("enqueue", e))?;
            let now = now_ms();
            for body in bodies {
                next += 1;
                let key = format!("{}{next:020}", self.prefix());
                put_in(
                    &mut q,
                    &key,
                    &Stored { body: body.clone(), receive_count: 0, visible_at_ms: now },
                )?;
            }
            put_in(&mut meta, &seq_key, &next)
        })
    }

    /// Takes up to `max` visible messages, oldest first; each is invisible for `visibility`.
    pub fn receive(&self, max: usize, visibility: Duration) -> Result<Vec<Received>, LocalError> {
        let prefix = self.prefix();
        let end = format!("{}$", self.name);
        self.store.write_table("receive", QUEUES, |q| {
            let now = now_ms();
            let picked = select(q, &prefix, &end, max, |m| m.visible_at_ms <= now)?;
            let mut out = Vec::with_capacity(picked.len());
            for (key, mut m) in picked {
                m.receive_count += 1;
                m.visible_at_ms = now + ms(visibility);
                put_in(q, &key, &m)?;
                out.push(InMessage {
                    wake: Some(key.clone()),
                    message_id: key,
                    body: m.body,
                    receive_count: m.receive_count,
                });
            }
            Ok(out)
        })
    }

    /// Removes delivered messages (unknown ids are fine).
    pub fn ack(&self, ids: &[String]) -> Result<(), LocalError> {
        self.store.write_table("ack", QUEUES, |q| {
            for id in ids {
                q.remove(id.as_str()).map_err(|e| LocalError::storage("ack", e))?;
            }
            Ok(())
        })
    }

    /// Makes a delivered message visible again after `delay` (SQS's ChangeMessageVisibility).
    pub fn retry(&self, id: &str, delay: Duration) -> Result<(), LocalError> {
        self.store.write_table("retry", QUEUES, |q| {
            if let Some(mut m) = get_in::<Stored>(q, "queued message", id)? {
                m.visible_at_ms = now_ms() + ms(delay);
                put_in(q, id, &m)?;
            }
            Ok(())
        })
    }

    /// How many messages are visible now, counting no further than `up_to` (cheap to poll).
    pub fn ready(&self, up_to: usize) -> Result<usize, LocalError> {
        let prefix = self.prefix();
        let end = format!("{}$", self.name);
        let now = now_ms();
        self.store.read(QUEUES, |t| {
            let mut n = 0;
            for row in t
                .range(prefix.as_str()..end.as_str())
                .map_err(|e| LocalError::storage("count", e))?
            {
                if n >= up_to {
                    break;
                }
                let (k, v) = row.map_err(|e| LocalError::storage("count", e))?;
                let m: Stored =
                    serde_json::from_str(v.value()).map_err(|source| LocalError::Corrupt {
                        what: "queued message",
                        key: k.value().to_owned(),
                        source,
                    })?;
                if m.visible_at_ms <= now {
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    /// Whether the queue holds no message at all, visible or not (one key read: cheap to poll).
    pub fn is_empty(&self) -> Result<bool, LocalError> {
        let prefix = self.prefix();
        let end = format!("{}$", self.name);
        self.store.read(QUEUES, |t| {
            let mut rows = t
                .range(prefix.as_str()..end.as_str())
                .map_err(|e| LocalError::storage("count", e))?;
            Ok(rows.next().is_none())
        })
    }

    /// Makes every message visible now (those a stopped process had taken, and those put off
    /// for later); returns how many were not. For a process that starts on the store: no one
    /// else can hold them (the file is locked while open).
    pub fn release_all(&self) -> Result<u64, LocalError> {
        let prefix = self.prefix();
        let end = format!("{}$", self.name);
        self.store.write_table("release", QUEUES, |q| {
            let now = now_ms();
            let hidden = select(q, &prefix, &end, usize::MAX, |m| m.visible_at_ms > now)?;
            let n = hidden.len() as u64;
            for (key, mut m) in hidden {
                m.visible_at_ms = now;
                put_in(q, &key, &m)?;
            }
            Ok(n)
        })
    }

    /// Messages on the queue: (visible now, in flight or delayed).
    pub fn depth(&self) -> Result<(u64, u64), LocalError> {
        let now = now_ms();
        let prefix = self.prefix();
        let mut visible = 0;
        let mut hidden = 0;
        for (key, m) in self.store.all::<Stored>(QUEUES, "queued message")? {
            if !key.starts_with(&prefix) {
                continue;
            }
            if m.visible_at_ms <= now {
                visible += 1;
            } else {
                hidden += 1;
            }
        }
        Ok((visible, hidden))
    }
}

/// Up to `max` messages of the key range `[prefix, end)` that `keep`, oldest first.
fn select(
    q: &redb::Table<'_, &'static str, &'static str>,
    prefix: &str,
    end: &str,
    max: usize,
    keep: impl Fn(&Stored) -> bool,
) -> Result<Vec<(String, Stored)>, LocalError> {
    let mut out = Vec::new();
    for row in q.range(prefix..end).map_err(|e| LocalError::storage("scan the queue", e))? {
        if out.len() >= max {
            break;
        }
        let (k, v) = row.map_err(|e| LocalError::storage("scan the queue", e))?;
        let key = k.value().to_owned();
        let m: Stored = serde_json::from_str(v.value()).map_err(|source| LocalError::Corrupt {
            what: "queued message",
            key: key.clone(),
            source,
        })?;
        if keep(&m) {
            out.push((key, m));
        }
    }
    Ok(out)
}

#[async_trait]
impl WorkQueue for LocalQueue {
    async fn send_batch(&self, entries: &[QueueEntry]) -> Result<Vec<EntryFailure>, QueueError> {
        let bodies: Vec<String> = entries.iter().map(|e| e.body.clone()).collect();
        self.push(&bodies).map_err(|e| queue_error("enqueue", e))?;
        Ok(Vec::new())
    }
}

fn queue_error(operation: &'static str, e: LocalError) -> QueueError {
    QueueError { operation, message: e.to_string(), retryable: true, source: Some(Box::new(e)) }
}

/// Waking on disk: a handle is a queued message's id (in any of the store's queues), made
/// visible now; one acked meanwhile is skipped.
#[async_trait]
impl Waker for LocalStore {
    async fn wake(&self, handles: &[String]) -> usize {
        let woken = self.write_table("wake", QUEUES, |q| {
            let now = now_ms();
            let mut n = 0;
            for id in handles {
                if let Some(mut m) = get_in::<Stored>(q, "queued message", id)?
                    && m.visible_at_ms > now
                {
                    m.visible_at_ms = now;
                    put_in(q, id, &m)?;
                    n += 1;
                }
            }
            Ok(n)
        });
        woken.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not wake the waiting messages; they look again after their re-check");
            0
        })
    }
}

/// A [`LocalQueue`] as the queue driver takes from it (`sfhs_core::drive`): each message taken is
/// invisible for `visibility` (it comes back after a crash), a message that failed its last
/// delivery goes to `dead`.
#[derive(Debug, Clone)]
pub struct LocalDeliveries {
    pub queue: LocalQueue,
    pub dead: LocalQueue,
    pub visibility: Duration,
}

#[async_trait]
impl Deliveries for LocalDeliveries {
    async fn take(&self, max: usize) -> Result<Vec<InMessage>, QueueError> {
        self.queue.receive(max, self.visibility).map_err(|e| queue_error("receive", e))
    }

    async fn ack(&self, message_ids: &[String]) -> Result<(), QueueError> {
        self.queue.ack(message_ids).map_err(|e| queue_error("ack", e))
    }

    async fn retry(&self, message: &InMessage, delay: Duration) -> Result<(), QueueError> {
        self.queue.retry(&message.message_id, delay).map_err(|e| queue_error("retry", e))
    }

    async fn dead_letter(&self, message: &InMessage) -> Result<(), QueueError> {
        self.dead
            .push(std::slice::from_ref(&message.body))
            .map_err(|e| queue_error("dead-letter", e))
    }
}

/// The worker of one local queue, as `sfhs dev` runs it: `in_flight` batches at once, each taken
/// as soon as `batch` messages wait, or once `window` has passed since the lane first saw
/// messages waiting (SQS's batching window), all driven by the one queue driver and so sharing
/// its engine and its HubSpot client's rate limiter, as concurrent Lambda invocations share
/// HubSpot's budget (the ledger's claims keep one record's versions in order between them). The
/// lanes run in this task (measured: as separate tasks, their store writes contend and the
/// import is slower; docs/performance.md). `on_batch` sees each driven batch (each message's
/// fate). Runs until `stop`.
pub async fn work(
    driver: &Driver,
    deliveries: &LocalDeliveries,
    batch: usize,
    window: Duration,
    in_flight: usize,
    stop: &AtomicBool,
    on_batch: impl Fn(&Driven) + Sync,
) {
    let gate = std::sync::Mutex::new(());
    let lanes = (0..in_flight.max(1))
        .map(|_| lane(driver, deliveries, &gate, batch, window, stop, &on_batch));
    futures::future::join_all(lanes).await;
}

/// A lane's view of the queue: it takes only when at least `min` messages are ready, the check
/// and the take under one lock (`gate`), so that lanes never split a batch between them.
struct Lane<'a> {
    deliveries: &'a LocalDeliveries,
    gate: &'a std::sync::Mutex<()>,
    min: usize,
}

#[async_trait]
impl Deliveries for Lane<'_> {
    async fn take(&self, max: usize) -> Result<Vec<InMessage>, QueueError> {
        let _taking = self.gate.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let queue = &self.deliveries.queue;
        let ready = queue.ready(max).map_err(|e| queue_error("receive", e))?;
        if ready < self.min.min(max) {
            return Ok(Vec::new());
        }
        queue.receive(max, self.deliveries.visibility).map_err(|e| queue_error("receive", e))
    }

    async fn ack(&self, message_ids: &[String]) -> Result<(), QueueError> {
        self.deliveries.ack(message_ids).await
    }

    async fn retry(&self, message: &InMessage, delay: Duration) -> Result<(), QueueError> {
        self.deliveries.retry(message, delay).await
    }

    async fn dead_letter(&self, message: &InMessage) -> Result<(), QueueError> {
        self.deliveries.dead_letter(message).await
    }
}

/// One batch at a time: the loop each of [`work`]'s lanes runs.
async fn lane(
    driver: &Driver,
    deliveries: &LocalDeliveries,
    gate: &std::sync::Mutex<()>,
    batch: usize,
    window: Duration,
    stop: &AtomicBool,
    on_batch: &(impl Fn(&Driven) + Sync),
) {
    const POLL: Duration = Duration::from_millis(200);
    // When this lane first saw messages waiting, fewer than a batch: as SQS's batching window,
    // the window runs from the first message, not from the lane's last batch, so that an idle
    // lane does not take the first few messages of a growing queue as a batch of its own.
    let mut gathering: Option<std::time::Instant> = None;
    while !stop.load(AtomicOrdering::SeqCst) {
        let visible = deliveries.queue.ready(batch).unwrap_or(0);
        if visible == 0 {
            gathering = None;
            tokio::time::sleep(POLL).await;
            continue;
        }
        let since = *gathering.get_or_insert_with(std::time::Instant::now);
        let min = if visible >= batch {
            batch
        } else if since.elapsed() >= window {
            1
        } else {
            tokio::time::sleep(POLL).await;
            continue;
        };
        let lane = Lane { deliveries, gate, min };
        match driver.once(&lane, batch).await {
            Ok(Some(driven)) => {
                gathering = None;
                on_batch(&driven);
            }
            // Another lane took them first.
            Ok(None) => tokio::time::sleep(POLL / 4).await,
            Err(e) => {
                tracing::warn!(queue = deliveries.queue.name(), error = %e, "receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
