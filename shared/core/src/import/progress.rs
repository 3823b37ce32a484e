//! Progress, rate and ETA of an import, and the estimate `sfhs import count` prints.

use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;

use super::model::{ImportRecord, ImportStatus};

/// HubSpot's batch size: records per upsert call (and per association batch).
pub const RECORDS_PER_CALL: u64 = 100;

/// An import's progress at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    pub total: u64,
    pub enqueued: u64,
    /// Synced + failed (the worker's counters).
    pub done: u64,
    /// `done / total` in percent (100 when the total is 0), at most 100.
    pub percent: f64,
    /// Records done per second since the import started.
    pub rate_per_second: Option<f64>,
    /// Time left at that rate.
    pub eta_seconds: Option<u64>,
}

impl Progress {
    pub fn of(record: &ImportRecord, now: OffsetDateTime) -> Self {
        let done = record.synced + record.failed;
        let percent = if record.total == 0 {
            100.0
        } else {
            (done as f64 * 100.0 / record.total as f64).min(100.0)
        };
        let end = record.finished.unwrap_or(now);
        let elapsed = record.started.map(|s| (end - s).as_seconds_f64()).filter(|s| *s > 0.0);
        let rate_per_second = elapsed.map(|s| done as f64 / s).filter(|r| *r > 0.0);
        let remaining = record.total.saturating_sub(done);
        let eta_seconds = match (record.status, rate_per_second) {
            (ImportStatus::Cancelled | ImportStatus::Failed, _) => None,
            (_, _) if remaining == 0 => Some(0),
            (_, Some(rate)) => Some((remaining as f64 / rate).ceil() as u64),
            (_, None) => None,
        };
        Self {
            total: record.total,
            enqueued: record.enqueued,
            done,
            percent,
            rate_per_second,
            eta_seconds,
        }
    }
}

/// What an import of `total` records costs in HubSpot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Estimate {
    pub total: u64,
    /// Batch writes: `ceil(total / 100)`. Records new to HubSpot are created with their
    /// associations in these calls.
    pub write_calls: u64,
    /// Association batches for records HubSpot has already (upserted, then associated):
    /// `ceil(total / 100)` per association of the mapping.
    pub association_calls: u64,
    /// Calls when the records are new to HubSpot (a first import).
    pub calls: u64,
    /// Calls when HubSpot has them all already (a re-import).
    pub calls_if_in_hubspot: u64,
    /// Calls per 10 seconds allowed to this system.
    pub rate_limit_per_10s: u64,
    /// At that rate, if nothing else uses the budget: for `calls`, and for
    /// `calls_if_in_hubspot`.
    pub duration_seconds: u64,
    pub duration_if_in_hubspot_seconds: u64,
}

impl Estimate {
    pub fn new(total: u64, associations: usize, rate_limit_per_10s: u64) -> Self {
        let write_calls = total.div_ceil(RECORDS_PER_CALL);
        let association_calls = write_calls * associations as u64;
        let calls = write_calls;
        let calls_if_in_hubspot = write_calls + association_calls;
        let rate = rate_limit_per_10s.max(1);
        Self {
            total,
            write_calls,
            association_calls,
            calls,
            calls_if_in_hubspot,
            rate_limit_per_10s: rate,
            duration_seconds: (calls * 10).div_ceil(rate),
            duration_if_in_hubspot_seconds: (calls_if_in_hubspot * 10).div_ceil(rate),
        }
    }
}

/// `1h 02m 03s`, `4m 05s`, `6s`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m {sec:02}s"),
        (h, m, sec) => format!("{h}h {m:02}m {sec:02}s"),
    }
}

/// `2026-11-30 23:26:05 UTC`: a time for people (seconds, no fraction, the offset named).
pub fn human_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::model::ImportRecord;

    #[test]
    fn times_for_people() {
        assert_eq!(
            human_time(datetime!(2026-11-30 23:26:05.520740466 +01:00)),
            "2026-11-30 22:26:05 UTC"
        );
    }
    use time::macros::datetime;

    #[test]
    fn estimate_rounds_up_and_counts_associations() {
        let e = Estimate::new(25_001, 1, 190);
        assert_eq!(e.write_calls, 251);
        assert_eq!(e.calls, 251, "new records carry their associations");
        assert_eq!(e.duration_seconds, 14); // 2510 / 190 = 13.2
        assert_eq!(e.association_calls, 251);
        assert_eq!(e.calls_if_in_hubspot, 502);
        assert_eq!(e.duration_if_in_hubspot_seconds, 27); // 5020 / 190 = 26.4
        assert_eq!(Estimate::new(0, 2, 0).calls, 0);
    }

    #[test]
    fn progress_rate_and_eta() {
        let start = datetime!(2026-11-28 10:00 UTC);
        let mut r = ImportRecord::new("i".into(), "X".into(), None, 1000, 50_000, start);
        let p = Progress::of(&r, start);
        assert_eq!((p.done, p.rate_per_second, p.eta_seconds), (0, None, None));
        r.status = ImportStatus::Running;
        r.started = Some(start);
        r.synced = 240;
        r.failed = 10;
        let p = Progress::of(&r, datetime!(2026-11-28 10:00:50 UTC));
        assert_eq!(p.done, 250);
        assert_eq!(p.percent, 25.0);
        assert_eq!(p.rate_per_second, Some(5.0));
        assert_eq!(p.eta_seconds, Some(150));
        r.synced = 990;
        let p = Progress::of(&r, datetime!(2026-11-28 10:01:40 UTC));
        assert_eq!((p.percent, p.eta_seconds), (100.0, Some(0)));
        assert_eq!(human_duration(Duration::from_secs(3723)), "1h 02m 03s");
        assert_eq!(human_duration(Duration::from_secs(65)), "1m 05s");
        assert_eq!(human_duration(Duration::from_secs(6)), "6s");
    }
}
