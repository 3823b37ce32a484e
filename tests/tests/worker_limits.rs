//! Invariant 5, rate limits: a simulator with a small rolling budget and a large backlog worked by
//! 4 workers (each with its own client and limiter, like Lambda instances): no 429 storm, no record
//! failed for rate reasons, HubSpot calls carry full batches. Then the daily budget runs out:
//! writes stop, every item goes back to the queue, and the batch says so in its metrics.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use sfhs_core::outbound::Fields;
use sfhs_core::sync::memory::{MemoryErrorStore, MemoryLedger};
use sfhs_core::work_item::{Op, Source, WORK_ITEM_VERSION, WorkItem};
use sfhs_hubspot::HubSpotClient;
use sfhs_hubspot_sim::HubSpotSim;
use sfhs_tests::drive::{MemQueue, run_until_drained};
use sfhs_tests::portal::{
    INVOICE, client_config, engine, mappings, memory_store, records_by_salesforce_id, setup_portal,
};
use time::OffsetDateTime;

const RECORDS: usize = 8_000;

/// The two tests measure rates against the clock: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
const LIMIT: u32 = 40;
const WINDOW: Duration = Duration::from_secs(1);

fn item(i: usize) -> WorkItem {
    let mut fields = Fields::new();
    fields.insert("SystemModstamp".into(), Some("2026-11-28T10:00:00.000Z".into()));
    fields.insert("Name".into(), Some(format!("INV-{i}")));
    WorkItem {
        v: WORK_ITEM_VERSION,
        op: Op::Upsert,
        org_id: "00D5g000001SIMu".into(),
        sobject: "Invoice__c".into(),
        record_id: format!("a01L{i:014}"),
        fields,
        source: Source::Import { import_id: "load".into(), force: false },
        received_at: OffsetDateTime::now_utc(),
    }
}

struct Run {
    sim: sfhs_hubspot_sim::RunningSim,
    engines: Vec<Arc<sfhs_core::sync::Engine>>,
    queue: Arc<MemQueue>,
    errors: Arc<MemoryErrorStore>,
    calls: u64,
    rolling_429s: u64,
}

/// Works a backlog of `RECORDS` with 4 engines: each with its own client (separate Lambda
/// instances) or all sharing one (one process).
async fn backlog(shared_client: bool, max_batch: usize) -> Run {
    let sim = HubSpotSim::builder().burst_limit(LIMIT).burst_window(WINDOW).start().await.unwrap();
    let setup = HubSpotClient::new(client_config(&sim.base_url())).unwrap();
    setup_portal(&sim.base_url(), &setup).await;
    let mut invoice = mappings().remove(0);
    invoice.associations.clear();
    let store = memory_store(vec![invoice]).await;
    let ledger = Arc::new(MemoryLedger::new());
    let errors = Arc::new(MemoryErrorStore::new());
    let queue = Arc::new(MemQueue::new());
    let items: Vec<WorkItem> = (0..RECORDS).map(item).collect();
    queue.push(&items);
    sim.reset_counters();

    let client = |share: u32| {
        let mut cfg = client_config(&sim.base_url());
        cfg.retry.rate_limit_wait = None; // the production pause (a tenth of the window)
        // Until the first answer tells it the real budget, each instance starts with a share.
        cfg.initial_burst_limit = LIMIT / share;
        cfg.initial_burst_window = WINDOW;
        HubSpotClient::new(cfg).unwrap()
    };
    let one = client(1);
    let mut engines = Vec::new();
    for w in 0..4 {
        let c = if shared_client { one.clone() } else { client(4) };
        engines.push(Arc::new(engine(
            store.clone(),
            ledger.clone(),
            Arc::new(c),
            errors.clone(),
            &format!("w{w}"),
            Duration::from_secs(600),
        )));
    }
    let started = Instant::now();
    let t =
        run_until_drained(engines.clone(), queue.clone(), max_batch, 7, Duration::from_secs(90))
            .await;
    let elapsed = started.elapsed().as_secs_f64();
    let c = sim.counters();
    let upserts = c.endpoint_calls("batch/upsert");
    #[allow(clippy::cast_precision_loss)]
    let (per_call, per_second, ceiling) = (
        RECORDS as f64 / upserts.max(1) as f64,
        RECORDS as f64 / elapsed,
        f64::from(LIMIT) * 100.0 / WINDOW.as_secs_f64(),
    );
    println!(
        "{} client(s): {RECORDS} records in {elapsed:.2} s: {per_second:.0} records/s (ceiling {ceiling:.0}), {upserts} upsert calls ({per_call:.1} records/call), {} calls in all, {} rolling 429s, engine retries {}, failed {}",
        if shared_client { 1 } else { 4 },
        c.calls,
        c.rate_limited_rolling,
        t.retried,
        t.failed
    );
    assert_eq!(t.failed, 0, "no record failed for rate reasons");
    assert!(errors.records().is_empty(), "{:?}", errors.records());
    assert_eq!(records_by_salesforce_id(&sim, INVOICE).len(), RECORDS);
    assert!(per_call >= 50.0, "full batches: {per_call:.1} records per upsert call");
    Run { sim, engines, queue, errors, calls: c.calls, rolling_429s: c.rate_limited_rolling }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_process_stays_within_the_budget() {
    let _one_at_a_time = SERIAL.lock().await;
    let run = backlog(true, 400).await;
    assert!(
        run.rolling_429s * 100 <= run.calls,
        "at most 1% 429s: {} of {}",
        run.rolling_429s,
        run.calls
    );
    run.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn separate_instances_slow_down_without_failing_records_and_stop_at_the_daily_limit() {
    let _one_at_a_time = SERIAL.lock().await;
    let run = backlog(false, 400).await;
    // Each instance sees the others only through X-HubSpot-RateLimit-Remaining: some 429s (about
    // 10% here, printed; see docs/worker.md), no storm, no failure (asserted in `backlog`).
    assert!(
        run.rolling_429s * 3 <= run.calls,
        "no 429 storm: {} of {}",
        run.rolling_429s,
        run.calls
    );

    // The daily budget runs out: nothing is written, everything goes back, the metric says so.
    let (sim, engines, queue, errors) = (run.sim, run.engines, run.queue, run.errors);
    sim.exhaust_daily();
    queue.push(&(RECORDS..RECORDS + 150).map(item).collect::<Vec<_>>());
    let batch = queue.take(150);
    let first = engines[0].process(batch.clone()).await;
    assert!(first.report.daily_limit);
    assert_eq!(first.retry.len(), 150);
    assert_eq!(first.report.failed, 0);
    let line = first.report.to_emf().to_line(OffsetDateTime::now_utc());
    assert!(line.contains(r#""DailyLimitStop":1.0"#), "{line}");
    let calls = sim.counters().calls;
    let second = engines[0].process(batch).await;
    assert!(second.report.daily_limit);
    assert_eq!(second.retry.len(), 150);
    assert_eq!(sim.counters().calls, calls, "no call to HubSpot until the daily reset");
    assert!(errors.records().is_empty());
    sim.shutdown().await;
}
