//! The public face of the engine: its input, its tuning, what a batch reports.

use std::time::Duration;

use crate::emf::Emf;

/// One queue message.
#[derive(Debug, Clone, Default)]
pub struct InMessage {
    pub message_id: String,
    pub body: String,
    /// Deliveries so far (SQS `ApproximateReceiveCount`), 1 on the first.
    pub receive_count: u32,
    /// How to make this delivery visible again at once once it is handed back (a
    /// [`Waker`](crate::sync::Waker)'s handle): SQS's queue ARN and receipt handle, the local
    /// queue's message id. `None`: it cannot be woken; a waiting child then waits for its
    /// re-check.
    pub wake: Option<String>,
}

/// Tuning of an [`Engine`](super::Engine).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// This worker's lease owner id (unique per process).
    pub owner: String,
    /// How long a claim holds a record. Must exceed the longest HubSpot write (the engine does not
    /// start a write with less than half of it left).
    pub lease: Duration,
    /// How long a child waits for its parent, from `received_at`, before it becomes an error.
    pub parent_wait: Duration,
    /// How long HubSpot schemas are cached.
    pub schema_ttl: Duration,
    /// Ledger calls in flight at once.
    pub concurrency: usize,
    /// HubSpot writes (chunks of 100) in flight at once for one batch: a batch of 1,000 (the
    /// import queue's) goes out in one round, so that few workers keep the budget busy (the
    /// rate limiter still paces them).
    pub write_concurrency: usize,
    /// The queue's `maxReceiveCount` (0: unknown). A child still waiting for its parent on its
    /// last delivery becomes an error record instead of going to the DLQ.
    pub max_receives: u32,
}

impl EngineConfig {
    pub fn new(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            lease: Duration::from_secs(180),
            parent_wait: Duration::from_secs(24 * 3600),
            schema_ttl: Duration::from_secs(60),
            concurrency: 16,
            write_concurrency: 10,
            max_receives: 0,
        }
    }
}

/// What a batch did, for the EMF line and for tests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchReport {
    pub records_in: u64,
    pub undecodable: u64,
    pub dropped_unmapped: u64,
    pub dropped_paused: u64,
    pub dropped_before_enable: u64,
    pub duplicates: u64,
    pub dropped_stale: u64,
    pub leased: u64,
    /// New versions HubSpot already holds as they are (same content digest): committed, not
    /// written.
    pub unchanged: u64,
    pub upserted: u64,
    pub created: u64,
    pub archived: u64,
    pub tombstoned: u64,
    pub associations_created: u64,
    pub associations_removed: u64,
    pub waiting: u64,
    /// Waiting children woken by the commit of their parent in this batch.
    pub woken: u64,
    pub failed: u64,
    pub retried: u64,
    pub lost_leases: u64,
    pub versions_from_received_at: u64,
    pub hubspot_calls: u64,
    pub rate_limited: u64,
    pub daily_limit: bool,
    /// Mapped fields absent from an outbound message that is not known to send them: their
    /// HubSpot properties were left as they are (invariant 9).
    pub fields_not_sent: u64,
    pub written: u64,
    pub latency_version_ms_sum: f64,
    pub latency_version_ms_max: f64,
    pub latency_received_ms_sum: f64,
    pub latency_received_ms_max: f64,
    pub duration_ms: f64,
}

impl BatchReport {
    /// Adds another batch's report to these totals: counts and durations add up, maxima are
    /// kept, the daily-limit flag stays set once any batch met it.
    pub fn add(&mut self, r: &BatchReport) {
        let counts = [
            (&mut self.records_in, r.records_in),
            (&mut self.undecodable, r.undecodable),
            (&mut self.dropped_unmapped, r.dropped_unmapped),
            (&mut self.dropped_paused, r.dropped_paused),
            (&mut self.dropped_before_enable, r.dropped_before_enable),
            (&mut self.duplicates, r.duplicates),
            (&mut self.dropped_stale, r.dropped_stale),
            (&mut self.leased, r.leased),
            (&mut self.unchanged, r.unchanged),
            (&mut self.upserted, r.upserted),
            (&mut self.created, r.created),
            (&mut self.archived, r.archived),
            (&mut self.tombstoned, r.tombstoned),
            (&mut self.associations_created, r.associations_created),
            (&mut self.associations_removed, r.associations_removed),
            (&mut self.waiting, r.waiting),
            (&mut self.woken, r.woken),
            (&mut self.failed, r.failed),
            (&mut self.retried, r.retried),
            (&mut self.lost_leases, r.lost_leases),
            (&mut self.versions_from_received_at, r.versions_from_received_at),
            (&mut self.hubspot_calls, r.hubspot_calls),
            (&mut self.rate_limited, r.rate_limited),
            (&mut self.fields_not_sent, r.fields_not_sent),
            (&mut self.written, r.written),
        ];
        for (total, n) in counts {
            *total += n;
        }
        self.daily_limit |= r.daily_limit;
        self.latency_version_ms_sum += r.latency_version_ms_sum;
        self.latency_version_ms_max = self.latency_version_ms_max.max(r.latency_version_ms_max);
        self.latency_received_ms_sum += r.latency_received_ms_sum;
        self.latency_received_ms_max = self.latency_received_ms_max.max(r.latency_received_ms_max);
        self.duration_ms += r.duration_ms;
    }

    /// The batch's EMF metrics line (namespace `sfhs`, dimension `Function=worker`).
    pub fn to_emf(&self) -> Emf {
        let avg = |sum: f64, n: u64| {
            if n == 0 {
                0.0
            } else {
                #[allow(clippy::cast_precision_loss)]
                let n = n as f64;
                sum / n
            }
        };
        Emf::new("sfhs")
            .dimension("Function", "worker")
            .count("RecordsIn", self.records_in)
            .count("Undecodable", self.undecodable)
            .count("Upserted", self.upserted)
            .count("Unchanged", self.unchanged)
            .count("Created", self.created)
            .count("Archived", self.archived)
            .count("DroppedStale", self.dropped_stale)
            .count("Duplicates", self.duplicates)
            .count("DroppedUnmapped", self.dropped_unmapped + self.dropped_paused)
            .count("DroppedBeforeEnable", self.dropped_before_enable)
            .count("Waiting", self.waiting)
            .count("Woken", self.woken)
            .count("Failed", self.failed)
            .count("Retried", self.retried)
            .count("LeaseHeld", self.leased)
            .count("HubSpotCalls", self.hubspot_calls)
            .count("HubSpot429s", self.rate_limited)
            .count("DailyLimitStop", u64::from(self.daily_limit))
            .count("FieldsNotSent", self.fields_not_sent)
            .millis("LatencyFromVersion", avg(self.latency_version_ms_sum, self.written))
            .millis("LatencyFromVersionMax", self.latency_version_ms_max)
            .millis("LatencyFromReceived", avg(self.latency_received_ms_sum, self.written))
            .millis("LatencyFromReceivedMax", self.latency_received_ms_max)
            .millis("Duration", self.duration_ms)
    }
}

/// The answer for one batch.
#[derive(Debug, Clone, Default)]
pub struct BatchResult {
    /// Message ids to hand back to the queue (batch item failures).
    pub retry: Vec<String>,
    /// Of `retry`: children waiting for a parent. Their parent's commit wakes them; otherwise
    /// they look again after the re-check delay ([`crate::drive::Backoff::recheck`]), not after
    /// the failure backoff.
    pub waiting: Vec<String>,
    pub report: BatchReport,
}

#[cfg(test)]
mod tests {
    use super::BatchReport;

    #[test]
    fn totals_add_counts_keep_maxima_and_the_daily_flag() {
        let mut total =
            BatchReport { upserted: 2, latency_received_ms_max: 40.0, ..BatchReport::default() };
        total.add(&BatchReport {
            upserted: 3,
            unchanged: 4,
            fields_not_sent: 1,
            daily_limit: true,
            latency_received_ms_max: 10.0,
            ..BatchReport::default()
        });
        total.add(&BatchReport::default());
        assert_eq!((total.upserted, total.unchanged, total.fields_not_sent), (5, 4, 1));
        assert!(total.daily_limit);
        assert!((total.latency_received_ms_max - 40.0).abs() < f64::EPSILON);
    }
}
