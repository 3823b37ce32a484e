//! Load harness of the worker (issue 6, "Performance"): the sync engine against the HubSpot
//! simulator with HubSpot's real budget, the queue and the stores in memory (HubSpot is the
//! bottleneck being measured).
//!
//! ```sh
//! cargo run -p sfhs-tests --bin worker-load                      # 100,000 records, 190 calls / 10 s
//! SFHS_LOAD_RECORDS=20000 SFHS_LOAD_WINDOW_MS=1000 cargo run -p sfhs-tests --bin worker-load
//! ```
//!
//! Phase 1, backlog: `SFHS_LOAD_RECORDS` invoice lines (one mapping with one association, to
//! invoices synced beforehand) worked by `SFHS_LOAD_WORKERS` workers (separate clients, like Lambda
//! instances) in batches of `SFHS_LOAD_BATCH`. Phase 2, steady: 50 records per second for
//! `SFHS_LOAD_STEADY_SECONDS`, taken with a batching window of `SFHS_LOAD_WINDOW_SECONDS`; latency
//! from the receive time to the HubSpot write (per batch, its slowest record).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use sfhs_core::drive::{Backoff, Driver};
use sfhs_core::outbound::Fields;
use sfhs_core::sync::memory::{MemoryErrorStore, MemoryLedger};
use sfhs_core::sync::{Engine, LedgerEntry, RecordKey, Version};
use sfhs_core::work_item::{Op, Source, WORK_ITEM_VERSION, WorkItem};
use sfhs_hubspot::{HubSpotClient, UpsertInput};
use sfhs_hubspot_sim::HubSpotSim;
use sfhs_tests::drive::{MemQueue, knob};
use sfhs_tests::portal::{
    INVOICE, LINE, client_config, engine, mappings, memory_store, setup_portal,
};
use time::OffsetDateTime;

fn line(i: usize, parent: &str) -> WorkItem {
    let mut fields = Fields::new();
    fields.insert("SystemModstamp".into(), Some("2026-11-28T10:00:00.000Z".into()));
    fields.insert("Name".into(), Some(format!("L-{i}")));
    fields.insert("Quantity__c".into(), Some(format!("{}.0", i % 20)));
    fields.insert("Invoice__c".into(), Some(parent.to_owned()));
    WorkItem {
        v: WORK_ITEM_VERSION,
        op: Op::Upsert,
        org_id: "00D5g000001SIMu".into(),
        sobject: "Invoice_Line__c".into(),
        record_id: format!("a02L{i:014}"),
        fields,
        source: Source::OutboundMessage { notification_id: format!("04l{i}"), action_id: None },
        received_at: OffsetDateTime::now_utc(),
    }
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

#[allow(clippy::cast_precision_loss, clippy::print_stdout)]
#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let records = usize::try_from(knob("SFHS_LOAD_RECORDS", 100_000))?;
    let window = Duration::from_millis(knob("SFHS_LOAD_WINDOW_MS", 10_000));
    let limit = u32::try_from(knob("SFHS_LOAD_LIMIT", 190))?;
    let workers = usize::try_from(knob("SFHS_LOAD_WORKERS", 5))?;
    let batch = usize::try_from(knob("SFHS_LOAD_BATCH", 100))?;
    let steady_secs = knob("SFHS_LOAD_STEADY_SECONDS", 30);
    let batching_window = Duration::from_secs(knob("SFHS_LOAD_WINDOW_SECONDS", 1));
    let parents = 1_000;

    let sim = HubSpotSim::builder().burst_limit(limit).burst_window(window).start().await?;
    let setup = HubSpotClient::new(client_config(&sim.base_url()))?;
    setup_portal(&sim.base_url(), &setup).await;
    let line_mapping = mappings().remove(1);
    let store = memory_store(mappings()).await;
    drop(line_mapping);
    let ledger = Arc::new(MemoryLedger::new());
    let errors = Arc::new(MemoryErrorStore::new());

    // The parents: invoices synced before (in HubSpot and in the ledger).
    let inputs: Vec<UpsertInput> = (0..parents)
        .map(|p| UpsertInput::new(format!("a01P{p:014}"), [("invoice_number", format!("P-{p}"))]))
        .collect();
    let out = setup
        .batch_upsert(INVOICE, "salesforce_id", inputs)
        .await
        .context("seed the parent invoices")?;
    for r in &out.successes {
        let sf = r.get("salesforce_id").unwrap_or_default();
        ledger.insert(
            &RecordKey::new("Invoice__c", sf),
            LedgerEntry {
                version: Some(Version(1)),
                hubspot_id: Some(r.id.clone()),
                ..LedgerEntry::default()
            },
        );
    }
    let parent_ids: Vec<String> = (0..parents).map(|p| format!("a01P{p:014}")).collect();

    let mut engines: Vec<Arc<Engine>> = Vec::new();
    for w in 0..workers {
        let mut cfg = client_config(&sim.base_url());
        cfg.retry = sfhs_hubspot::RetryPolicy::default();
        cfg.initial_burst_limit = limit / u32::try_from(workers.max(1))?;
        cfg.initial_burst_window = window;
        engines.push(Arc::new(engine(
            store.clone(),
            ledger.clone(),
            Arc::new(HubSpotClient::new(cfg)?),
            errors.clone(),
            &format!("w{w}"),
            Duration::from_secs(3600),
        )));
    }

    // Phase 1: the backlog.
    let queue = Arc::new(MemQueue::new());
    let items: Vec<WorkItem> = (0..records).map(|i| line(i, &parent_ids[i % parents])).collect();
    queue.push(&items);
    drop(items);
    sim.reset_counters();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for e in &engines {
        let (driver, queue) = (Driver::new(e.clone(), Backoff::DEPLOYED), queue.clone());
        tasks.push(tokio::spawn(async move {
            let mut total = sfhs_core::sync::BatchReport::default();
            while !queue.drained() {
                let Some(d) = driver.once(queue.as_ref(), batch).await? else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                total.add(&d.result.report);
            }
            anyhow::Ok(total)
        }));
    }
    let mut t = sfhs_core::sync::BatchReport::default();
    for task in tasks {
        t.add(&task.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let c = sim.counters();
    let upserts = c.endpoint_calls("batch/upsert");
    let creates = c.endpoint_calls("{object_type}/batch/create");
    let assoc = c.endpoint_calls("associations");
    let allowed = f64::from(limit) * elapsed / window.as_secs_f64();
    let ceiling = f64::from(limit) * 100.0 / window.as_secs_f64();
    let rate = records as f64 / elapsed;
    println!(
        "== backlog: {records} records, 1 mapping with 1 association, {workers} workers, batches of {batch}, budget {limit} calls / {} ms",
        window.as_millis()
    );
    println!("elapsed                         {elapsed:.1} s");
    println!(
        "records per write call          {:.1} (creates and upserts)",
        records as f64 / (upserts + creates).max(1) as f64
    );
    println!(
        "HubSpot calls                   {} (creates with their associations {creates}, upserts {upserts}, association calls {assoc}); allowed in that time {allowed:.0}",
        c.calls
    );
    println!(
        "throughput                      {rate:.0} records/s = {:.1}% of the ceiling {ceiling:.0} (calls allowed x 100)",
        100.0 * rate / ceiling
    );
    println!(
        "429s                            {} = {:.2}% of calls",
        c.status(429),
        100.0 * c.status(429) as f64 / c.calls.max(1) as f64
    );
    println!(
        "failed / error records / lost   {} / {} / {}",
        t.failed,
        errors.records().len(),
        records as u64 - t.upserted.min(records as u64)
    );
    let synced =
        sim.records(LINE).iter().filter(|r| r["archived"] != serde_json::json!(true)).count();
    println!("HubSpot line records            {synced}");

    // Phase 2: steady 50 records per second, batching window.
    sim.reset_counters();
    let steady = Arc::new(MemQueue::new());
    let producer = {
        let steady = steady.clone();
        let parent_ids = parent_ids.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            for k in 0..(steady_secs * 10) {
                tick.tick().await;
                let base = 10_000_000 + usize::try_from(k).unwrap_or(0) * 5;
                let items: Vec<WorkItem> =
                    (base..base + 5).map(|i| line(i, &parent_ids[i % parents])).collect();
                steady.push(&items);
            }
        })
    };
    let mut latencies: Vec<(f64, u64)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(steady_secs + 60);
    let mut window_start = Instant::now();
    let steady_driver = Driver::new(engines[0].clone(), Backoff::DEPLOYED);
    while Instant::now() < deadline {
        if producer.is_finished() && steady.drained() {
            break;
        }
        if steady.len() < batch && window_start.elapsed() < batching_window {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        let taken = steady_driver.once(steady.as_ref(), batch).await?;
        window_start = Instant::now();
        let Some(d) = taken else {
            continue;
        };
        let r = &d.result.report;
        latencies.push((r.latency_received_ms_max, r.written));
    }
    latencies.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: u64 = latencies.iter().map(|l| l.1).sum();
    let mut seen = 0;
    let mut p99 = 0.0;
    for (ms, n) in &latencies {
        seen += n;
        if seen as f64 >= 0.99 * total as f64 {
            p99 = *ms;
            break;
        }
    }
    println!(
        "== steady: 50 records/s for {steady_secs} s, batching window {} s, batches of up to {batch}",
        batching_window.as_secs()
    );
    println!("records written                 {total}");
    println!(
        "p99 receive -> HubSpot write    {p99:.0} ms (each record counted at its batch's slowest)"
    );
    println!("peak RSS (whole process: harness, simulator, stores)  {:.0} MiB", peak_rss_mib());
    sim.shutdown().await;
    let by_status: BTreeMap<u16, u64> = c.by_status;
    println!("backlog calls by status: {by_status:?}");
    Ok(())
}
