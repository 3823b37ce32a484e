//! Load harness of the import (issue 7, "Performance"): the import function reads the Salesforce
//! simulator (Bulk API 2.0 above the threshold), its work items go through sync engines into the
//! HubSpot simulator at HubSpot's real budget; and the import function's own memory, measured with
//! a counting allocator, at two sizes.
//!
//! ```sh
//! cargo run --release -p sfhs-tests --bin import-load        # 200,000 invoices, 190 calls / 10 s
//! SFHS_LOAD_RECORDS=20000 SFHS_LOAD_WINDOW_MS=1000 cargo run -p sfhs-tests --bin import-load
//! ```
//!
//! Phase 1, memory: the import of `SFHS_LOAD_RECORDS / 10` and of `SFHS_LOAD_RECORDS` invoices
//! into a queue that only counts (in AWS the queue is SQS, outside the function); the peak of
//! heap allocated during each run above what was allocated before it (the simulator's records are
//! allocated before; its per-request buffers are counted, so this is an upper bound). Phase 2,
//! throughput: the import of `SFHS_LOAD_RECORDS` invoices, each with an association to its
//! company (found by `salesforceaccountid`), worked by `SFHS_LOAD_WORKERS` engines (default 2) with
//! their own clients in batches of `SFHS_LOAD_BATCH` (default 1,000), as the template's import
//! queue runs them (`ImportMaxConcurrency` 2, `BatchSize` 1,000), from an in-memory queue, from the
//! import's start until the last record is in HubSpot.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use peak_alloc::PeakAlloc;
use sfhs_core::drive::{Backoff, Driver};
use sfhs_core::import::{
    ImportRunner, MemoryContinuation, MemoryImportStore, RunOutcome, RunSettings,
};
use sfhs_core::mapping::store::{MappingStore, MemoryMappingStore, next_version};
use sfhs_core::queue::{EntryFailure, PublishPolicy, Publisher, QueueEntry, QueueError, WorkQueue};
use sfhs_core::sync::memory::{MemoryErrorStore, MemoryLedger};
use sfhs_core::sync::{BatchReport, Engine};
use sfhs_hubspot::HubSpotClient;
use sfhs_hubspot_sim::HubSpotSim;
use sfhs_salesforce::ClientReader;
use sfhs_salesforce_sim::{SeedSize, Sim, SimBuilder};
use sfhs_tests::drive::{MemQueue, knob};
use sfhs_tests::portal::{INVOICE, client_config, engine, mappings, seed_companies, setup_portal};
use time::OffsetDateTime;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// Imports of at least this many records use Bulk API 2.0 (the function's default).
const BULK_THRESHOLD: u64 = 50_000;

/// A queue that only counts what it is sent.
#[derive(Debug, Default)]
struct CountingQueue {
    entries: AtomicU64,
    bytes: AtomicU64,
}

#[async_trait::async_trait]
impl WorkQueue for CountingQueue {
    async fn send_batch(&self, entries: &[QueueEntry]) -> Result<Vec<EntryFailure>, QueueError> {
        self.entries.fetch_add(entries.len() as u64, Ordering::Relaxed);
        let bytes: usize = entries.iter().map(|e| e.body.len()).sum();
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        Ok(Vec::new())
    }
}

async fn salesforce(invoices: usize, accounts: usize) -> anyhow::Result<Sim> {
    SimBuilder::new()
        .seed_size(SeedSize { accounts, invoices, lines: 0, shipments: 0 })
        .start()
        .await
        .context("start the Salesforce simulator")
}

fn reader(sim: &Sim) -> anyhow::Result<Arc<ClientReader>> {
    url_reader(sim.base_url())
}

async fn invoice_store() -> anyhow::Result<Arc<MemoryMappingStore>> {
    let store = Arc::new(MemoryMappingStore::new());
    let invoice = mappings()
        .into_iter()
        .find(|m| m.salesforce_object == "Invoice__c")
        .context("the invoice mapping")?;
    store.put(&next_version(None, invoice, OffsetDateTime::now_utc()), None).await?;
    Ok(store)
}

fn runner(
    sim: &Sim,
    store: Arc<MemoryMappingStore>,
    queue: Arc<dyn WorkQueue>,
) -> anyhow::Result<ImportRunner> {
    Ok(ImportRunner {
        store: Arc::new(MemoryImportStore::new()),
        mappings: store,
        reader: reader(sim)?,
        publisher: Publisher::new(queue, PublishPolicy::default()),
        continuation: Arc::new(MemoryContinuation::new()),
        settings: RunSettings::default(),
    })
}

/// Runs one import to its end; returns (records enqueued, path).
async fn import(runner: &ImportRunner) -> anyhow::Result<(u64, &'static str)> {
    let record =
        runner.create("Invoice__c", None, BULK_THRESHOLD, false, OffsetDateTime::now_utc()).await?;
    let path = if record.total >= BULK_THRESHOLD { "Bulk API 2.0" } else { "REST" };
    match runner.run(&record.id, "load", None).await? {
        RunOutcome::Completed { enqueued, .. } => Ok((enqueued, path)),
        other => anyhow::bail!("the import did not complete: {other:?}"),
    }
}

/// The Salesforce simulator in a child process (this program, `serve-salesforce N`), so that
/// this process's allocations are the import function's alone.
struct ChildSim {
    child: std::process::Child,
    url: String,
}

impl Drop for ChildSim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn child_salesforce(invoices: usize) -> anyhow::Result<ChildSim> {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .arg("serve-salesforce")
        .arg(invoices.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("start the simulator process")?;
    let out = child.stdout.take().context("the child's stdout")?;
    let mut url = String::new();
    std::io::BufReader::new(out).read_line(&mut url)?;
    let url = url.trim().to_owned();
    anyhow::ensure!(!url.is_empty(), "the simulator printed no address");
    Ok(ChildSim { child, url })
}

#[allow(clippy::print_stdout)]
async fn serve_salesforce(invoices: usize) -> anyhow::Result<()> {
    let sim = salesforce(invoices, 200).await?;
    println!("{}", sim.base_url());
    std::future::pending::<()>().await;
    Ok(())
}

fn url_reader(url: &str) -> anyhow::Result<Arc<ClientReader>> {
    Ok(sfhs_tests::sims::salesforce_reader(url)?)
}

#[allow(clippy::cast_precision_loss, clippy::print_stdout)]
async fn memory_phase(records: usize) -> anyhow::Result<()> {
    println!(
        "== import function memory (counting allocator; the simulator in another process, the queue only counts)"
    );
    for n in [records / 10, records] {
        let sim = child_salesforce(n)?;
        let queue = Arc::new(CountingQueue::default());
        let r = ImportRunner {
            store: Arc::new(MemoryImportStore::new()),
            mappings: invoice_store().await?,
            reader: url_reader(&sim.url)?,
            publisher: Publisher::new(queue.clone(), PublishPolicy::default()),
            continuation: Arc::new(MemoryContinuation::new()),
            settings: RunSettings::default(),
        };
        let before = HEAP.current_usage();
        HEAP.reset_peak_usage();
        let started = Instant::now();
        let (enqueued, path) = import(&r).await?;
        let peak = HEAP.peak_usage().saturating_sub(before);
        println!(
            "{n:>7} invoices via {path:<12}: {enqueued} enqueued ({:.1} MiB of bodies) in {:.1} s; heap peak above the start {:.1} MiB",
            queue.bytes.load(Ordering::Relaxed) as f64 / 1_048_576.0,
            started.elapsed().as_secs_f64(),
            peak as f64 / 1_048_576.0
        );
        drop(r);
        drop(sim);
    }
    Ok(())
}

#[allow(clippy::cast_precision_loss, clippy::print_stdout)]
#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve-salesforce") {
        let n = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(1000);
        return serve_salesforce(n).await;
    }
    let records = usize::try_from(knob("SFHS_LOAD_RECORDS", 200_000))?;
    let window = Duration::from_millis(knob("SFHS_LOAD_WINDOW_MS", 10_000));
    let limit = u32::try_from(knob("SFHS_LOAD_LIMIT", 190))?;
    let workers = usize::try_from(knob("SFHS_LOAD_WORKERS", 2))?;
    let batch = usize::try_from(knob("SFHS_LOAD_BATCH", 1000))?;
    let accounts = 500;

    memory_phase(records).await?;

    // Phase 2: throughput through the worker.
    let sf = salesforce(records, accounts).await?;
    let hs = HubSpotSim::builder().burst_limit(limit).burst_window(window).start().await?;
    let setup = HubSpotClient::new(client_config(&hs.base_url()))?;
    setup_portal(&hs.base_url(), &setup).await;
    seed_companies(&hs, &sf.ids("Account")).await;
    let store = invoice_store().await?;
    let ledger = Arc::new(MemoryLedger::new());
    let errors = Arc::new(MemoryErrorStore::new());
    let mut engines: Vec<Arc<Engine>> = Vec::new();
    let mut clients: Vec<Arc<HubSpotClient>> = Vec::new();
    for w in 0..workers {
        let mut cfg = client_config(&hs.base_url());
        cfg.retry = sfhs_hubspot::RetryPolicy::default();
        cfg.initial_burst_limit = limit / u32::try_from(workers.max(1))?;
        cfg.initial_burst_window = window;
        let client = Arc::new(HubSpotClient::new(cfg)?);
        clients.push(client.clone());
        engines.push(Arc::new(engine(
            store.clone(),
            ledger.clone(),
            client,
            errors.clone(),
            &format!("w{w}"),
            Duration::from_secs(3600),
        )));
    }
    let queue = Arc::new(MemQueue::new());
    let r = runner(&sf, store.clone(), queue.clone())?;
    hs.reset_counters();
    let started = Instant::now();
    let importing = tokio::spawn(async move { import(&r).await });
    // Every 10 s: records written so far, HubSpot calls and 429s (where the time goes).
    let written = Arc::new(AtomicU64::new(0));
    let monitor = {
        let (written, counters, clients) = (written.clone(), hs.sim().clone(), clients.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            tick.tick().await;
            let t0 = Instant::now();
            loop {
                tick.tick().await;
                let c = counters.counters();
                let shares: Vec<String> =
                    clients.iter().map(|c| c.limiter().stats().capacity.to_string()).collect();
                println!(
                    "  t={:>4.0} s  written {:>7}  calls {:>5}  searches {:>4}  429s rolling {:>3} search {:>3}  capacities {}",
                    t0.elapsed().as_secs_f64(),
                    written.load(Ordering::Relaxed),
                    c.calls,
                    c.endpoint_calls("search"),
                    c.rate_limited_rolling,
                    c.rate_limited_search,
                    shares.join("/")
                );
            }
        })
    };
    let mut tasks = Vec::new();
    for e in &engines {
        let driver = Driver::new(e.clone(), Backoff::DEPLOYED);
        let (queue, written) = (queue.clone(), written.clone());
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        tasks.push((
            done.clone(),
            tokio::spawn(async move {
                let mut total = BatchReport::default();
                loop {
                    let Some(d) = driver.once(queue.as_ref(), batch).await? else {
                        if done.load(Ordering::SeqCst) && queue.drained() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    };
                    written.fetch_add(d.result.report.written, Ordering::Relaxed);
                    total.add(&d.result.report);
                }
                anyhow::Ok(total)
            }),
        ));
    }
    let (enqueued, path) = importing.await??;
    let import_secs = started.elapsed().as_secs_f64();
    let mut t = BatchReport::default();
    for (done, task) in tasks {
        done.store(true, Ordering::SeqCst);
        t.add(&task.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    monitor.abort();
    let c = hs.counters();
    let writes = c.endpoint_calls("{object_type}/batch/create") + c.endpoint_calls("batch/upsert");
    let allowed = f64::from(limit) * elapsed / window.as_secs_f64();
    let ceiling = f64::from(limit) * 100.0 / window.as_secs_f64();
    let rate = records as f64 / elapsed;
    let synced =
        hs.records(INVOICE).iter().filter(|r| r["archived"] != serde_json::json!(true)).count();
    println!(
        "== import through the worker: {records} invoices via {path}, 1 association each (by property), {workers} workers, budget {limit} calls / {} ms",
        window.as_millis()
    );
    println!("enqueued by the import          {enqueued} in {import_secs:.1} s");
    println!("elapsed until the last write    {elapsed:.1} s");
    println!(
        "HubSpot calls                   {} ({writes} writes, {:.1} records each; {} searches); allowed in that time {allowed:.0}",
        c.calls,
        records as f64 / writes.max(1) as f64,
        c.endpoint_calls("search")
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
    println!("failed / error records          {} / {}", t.failed, errors.records().len());
    println!("HubSpot invoice records         {synced} of {records}");
    hs.shutdown().await;
    sf.shutdown().await;
    anyhow::ensure!(synced == records, "records missing in HubSpot");
    Ok(())
}
