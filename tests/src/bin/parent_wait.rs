//! Load harness of issue 32: parents and their children imported together, as `sfhs dev` runs
//! them (its world on disk, `sfhs_local::LocalWorld`; its two queue workers, `sfhs_local::work`,
//! batches of 100 or 1 s; its import runs and their continuation), against the Salesforce
//! simulator (invoices, two lines each) and the HubSpot simulator at HubSpot's budget; killed
//! in the middle of the import (every task stopped where it is, the store closed, nothing let
//! go) and started again on the same store, as a restarted `sfhs dev` is.
//!
//! ```sh
//! cargo run -p sfhs-tests --bin parent-wait                       # 5,000 invoices, killed 1 s in
//! SFHS_LOAD_KILL_MS=0 cargo run -p sfhs-tests --bin parent-wait   # a fresh import, not killed
//! # issue 37: a far HubSpot, several batches in flight, release build
//! SFHS_LOAD_KILL_MS=0 SFHS_LOAD_LATENCY_MS=150 SFHS_LOAD_IN_FLIGHT=8 \
//!   cargo run --release -p sfhs-tests --bin parent-wait
//! ```
//!
//! Knobs: `SFHS_LOAD_INVOICES` (5,000; twice as many lines), `SFHS_LOAD_KILL_MS` (1,000; 0: no
//! kill), `SFHS_LOAD_BURST` (HubSpot calls per 10 s, 190), `SFHS_LOAD_LINES_FIRST=1` (the lines'
//! import recorded first: it does not wait for the invoices', so lines run ahead and wait for
//! their invoices, which wake them), `SFHS_LOAD_IN_FLIGHT` (8: batches in flight per queue, as
//! `sfhs dev --batches-in-flight`), `SFHS_LOAD_LATENCY_MS` (0: added to every HubSpot call). It
//! prints the records per second against HubSpot's ceiling and the 429s. It checks that HubSpot
//! ends up with
//! every invoice and line, each line linked to its invoice, no error record; and prints the time
//! from the restart (or start) to convergence, the deliveries per line, and the time from an
//! invoice's commit to the commit of each line that waited for it (p50, p99, max).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use sfhs_core::app::{self, Imports, SyncSettings};
use sfhs_core::drive::{Backoff, Driven, Driver, Fate};
use sfhs_core::import::{InProcessContinuation, RunOutcome, RunSettings};
use sfhs_core::mapping::store::{MappingStore, next_version};
use sfhs_core::queue::PublishPolicy;
use sfhs_core::sync::{EngineConfig, ErrorStore};
use sfhs_core::work_item::WorkItem;
use sfhs_hubspot::{ClientConfig, HubSpotClient, SecretToken};
use sfhs_hubspot_sim::{Fault, FaultKind, HubSpotSim};
use sfhs_local::LocalWorld;
use sfhs_salesforce_sim::{SeedSize, Sim, SimBuilder};
use sfhs_tests::drive::knob;
use sfhs_tests::portal::{INVOICE, LINE, TOKEN, mappings, seed_companies, setup_portal};
use time::OffsetDateTime;
use tokio::task::JoinSet;

/// One message's end in a batch.
#[derive(Debug, Clone)]
struct Journey {
    at: Instant,
    object: String,
    id: String,
    /// A line's invoice.
    parent: Option<String>,
    delivery: u32,
    done: bool,
}

type Journal = Arc<Mutex<Vec<Journey>>>;

fn note(journal: &Journal, driven: &Driven) {
    let at = Instant::now();
    let mut j = journal.lock().unwrap_or_else(PoisonError::into_inner);
    for (m, fate) in &driven.fates {
        let Ok(item) = WorkItem::from_json(&m.body) else {
            continue;
        };
        j.push(Journey {
            at,
            parent: item.fields.get("Invoice__c").and_then(|v| v.as_ref().map(ToString::to_string)),
            object: item.sobject,
            id: item.record_id,
            delivery: m.receive_count,
            done: matches!(fate, Fate::Done),
        });
    }
}

/// One `sfhs dev` process: its world, workers and import runs.
struct Node {
    world: LocalWorld,
    stop: Arc<AtomicBool>,
    tasks: JoinSet<()>,
    runs: Runs,
}

/// The import runs of a node (spawned by its start and by its continuation).
type Runs = Arc<Mutex<JoinSet<()>>>;

impl Node {
    /// Opens the store in `dir` as a starting `sfhs dev` does (what a stopped one held let
    /// go), then runs its workers, and either starts the imports of both objects together or
    /// resumes the unfinished ones.
    async fn start(
        dir: &Path,
        owner: &str,
        hubspot: &HubSpotClient,
        sf: &Sim,
        journal: &Journal,
        fresh: Option<&[&str]>,
        in_flight: usize,
    ) -> anyhow::Result<Self> {
        let world = LocalWorld::open(dir)?;
        let (leases, messages) = world.recover()?;
        println!(
            "  {owner}: {leases} leases and {messages} messages a stopped process held, let go"
        );
        let mut config = EngineConfig::new(owner);
        config.max_receives = 8;
        let engine = Arc::new(app::engine(
            world.sync_ports(Arc::new(hubspot.clone())),
            SyncSettings { engine: config, mappings_cache: Duration::from_secs(5) },
        ));
        let (continuation, mut handed_on) = InProcessContinuation::new();
        let imports = app::imports(
            world.import_ports(
                sfhs_tests::sims::salesforce_reader(sf.base_url())?,
                Arc::new(continuation),
            ),
            RunSettings::default(),
            PublishPolicy::default(),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = JoinSet::new();
        let driver = Driver::new(engine, Backoff::DEPLOYED);
        for (_, deliveries) in world.deliveries(Duration::from_secs(60)) {
            let (driver, stop, journal) = (driver.clone(), stop.clone(), journal.clone());
            tasks.spawn(async move {
                sfhs_local::work(
                    &driver,
                    &deliveries,
                    100,
                    Duration::from_secs(1),
                    in_flight,
                    &stop,
                    |d| note(&journal, d),
                )
                .await;
            });
        }
        let runs: Runs = Arc::default();
        let run = |imports: &Imports, id: String| {
            let (imports, owner) = (imports.clone(), owner.to_owned());
            runs.lock().unwrap_or_else(PoisonError::into_inner).spawn(async move {
                match imports.runner.run(&id, &owner, None).await {
                    Ok(RunOutcome::AfterParents { reason }) => {
                        println!("  import {id}: {reason}");
                    }
                    Ok(outcome) => println!("  import {id}: {outcome:?}"),
                    Err(e) => println!("  import {id} failed: {e}"),
                }
            });
        };
        if let Some(objects) = fresh {
            for object in objects {
                let record = imports
                    .runner
                    .create(object, None, 50_000, false, OffsetDateTime::now_utc())
                    .await?;
                run(&imports, record.id);
            }
        } else {
            for (record, _) in imports.let_go_of_unfinished(OffsetDateTime::now_utc()).await? {
                run(&imports, record.id);
            }
        }
        {
            let runs = runs.clone();
            let imports = imports.clone();
            let owner = owner.to_owned();
            tasks.spawn(async move {
                while let Some(id) = handed_on.recv().await {
                    let (imports, owner) = (imports.clone(), owner.clone());
                    runs.lock().unwrap_or_else(PoisonError::into_inner).spawn(async move {
                        let outcome = imports.runner.run(&id, &owner, None).await;
                        println!("  import {id} (handed on): {outcome:?}");
                    });
                }
            });
        }
        Ok(Self { world, stop, tasks, runs })
    }

    /// Stops every task where it is (as SIGKILL would), which closes the store.
    async fn kill(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.tasks.shutdown().await;
        let mut runs =
            std::mem::take(&mut *self.runs.lock().unwrap_or_else(PoisonError::into_inner));
        runs.shutdown().await;
    }

    /// Whether every record is synced in the ledger (none waiting) and the queues are empty.
    /// Cheap while a queue holds anything (one key read); the ledger is read only once they are
    /// empty: reading 30,000 entries and messages every 100 ms took CPU from the workers measured.
    fn converged(&self, invoices: usize, lines: usize) -> anyhow::Result<bool> {
        for q in self.world.queues() {
            if !q.is_empty()? {
                return Ok(false);
            }
        }
        let mut synced: HashMap<String, usize> = HashMap::new();
        for (key, e) in self.world.store.ledger_entries()? {
            if e.version.is_some() && e.hubspot_id.is_some() && !e.waiting && !e.deleted {
                *synced.entry(key.object().to_owned()).or_default() += 1;
            }
        }
        Ok(synced.get("invoice__c") == Some(&invoices)
            && synced.get("invoice_line__c") == Some(&lines))
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
#[allow(clippy::print_stdout)]
async fn main() -> anyhow::Result<()> {
    let invoices = usize::try_from(knob("SFHS_LOAD_INVOICES", 5_000))?;
    let kill_ms = knob("SFHS_LOAD_KILL_MS", 1_000);
    let burst = u32::try_from(knob("SFHS_LOAD_BURST", 190))?;
    let lines_first = knob("SFHS_LOAD_LINES_FIRST", 0) == 1;
    let in_flight = usize::try_from(knob("SFHS_LOAD_IN_FLIGHT", 8))?;
    let latency_ms = knob("SFHS_LOAD_LATENCY_MS", 0);
    let sf = SimBuilder::new()
        .seed_size(SeedSize { accounts: 100, invoices, lines: invoices * 2, shipments: 0 })
        .start()
        .await
        .context("start the Salesforce simulator")?;
    let hs = HubSpotSim::builder()
        .burst_limit(burst)
        .start()
        .await
        .context("start the HubSpot simulator")?;
    let hubspot = HubSpotClient::new(ClientConfig::new(hs.base_url(), SecretToken::new(TOKEN)))?;
    setup_portal(&hs.base_url(), &hubspot).await;
    seed_companies(&hs, &sf.ids("Account")).await;
    if latency_ms > 0 {
        // A HubSpot far away: every call answers `latency_ms` later.
        hs.inject(Fault::new(FaultKind::Latency).latency(latency_ms));
    }
    hs.reset_counters();
    let dir: PathBuf = std::env::temp_dir().join(sfhs_tests::moto::unique("sfhs-parent-wait"));
    {
        let world = LocalWorld::open(&dir)?;
        let enabled = OffsetDateTime::now_utc() - time::Duration::minutes(10);
        for m in mappings() {
            MappingStore::put(&world.store, &next_version(None, m, enabled), None).await?;
        }
    }
    let lines = sf.ids("Invoice_Line__c").len();
    println!(
        "== {} invoices, {lines} lines, imported together{}; HubSpot at {burst} calls / 10 s, {latency_ms} ms a call; {in_flight} batches in flight per queue; {}",
        sf.ids("Invoice__c").len(),
        if lines_first { " (the lines' import recorded first)" } else { "" },
        if kill_ms == 0 {
            "not killed".to_owned()
        } else {
            format!("killed {kill_ms} ms in, then started again")
        }
    );
    let journal: Journal = Arc::default();
    let started = Instant::now();
    let order: &[&str] = if lines_first {
        &["Invoice_Line__c", "Invoice__c"]
    } else {
        &["Invoice__c", "Invoice_Line__c"]
    };
    let mut node =
        Node::start(&dir, "dev-1", &hubspot, &sf, &journal, Some(order), in_flight).await?;
    let mut since = started;
    if kill_ms > 0 {
        tokio::time::sleep(Duration::from_millis(kill_ms)).await;
        node.kill().await;
        println!("  killed at {:.1?}", started.elapsed());
        since = Instant::now();
        node = Node::start(&dir, "dev-2", &hubspot, &sf, &journal, None, in_flight).await?;
    }
    let deadline = Duration::from_secs(knob("SFHS_LOAD_TIMEOUT_S", 600));
    let invoices = sf.ids("Invoice__c").len();
    while !node.converged(invoices, lines)? {
        if since.elapsed() > deadline {
            bail!("not converged {deadline:?} after the (re)start");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = since.elapsed();
    let errors = ErrorStore::list(&node.world.store).await?.len();
    node.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "converged {took:.1?} after the {} ({:.1?} in all)",
        if kill_ms > 0 { "restart" } else { "start" },
        started.elapsed()
    );
    let counters = hs.counters();
    #[allow(clippy::cast_precision_loss)]
    let rate = (invoices + lines) as f64 / took.as_secs_f64();
    let ceiling = f64::from(burst) * 10.0;
    println!(
        "throughput: {} records in {took:.1?} = {rate:.0} records/s = {:.2} of HubSpot's ceiling ({ceiling:.0} records/s); {} HubSpot calls, {} answered 429",
        invoices + lines,
        rate / ceiling,
        counters.calls,
        counters.status(429)
    );
    for (endpoint, by_status) in &counters.by_endpoint {
        println!("  {endpoint}: {}", by_status.values().sum::<u64>());
    }
    ensure!(errors == 0, "{errors} error records");
    check_hubspot(&hs, &hubspot, &sf, invoices, lines).await?;
    report(&journal.lock().unwrap_or_else(PoisonError::into_inner));
    Ok(())
}

/// HubSpot holds every invoice and line, each line linked to its invoice (and to nothing else).
#[allow(clippy::print_stdout)]
async fn check_hubspot(
    hs: &sfhs_hubspot_sim::RunningSim,
    hubspot: &HubSpotClient,
    sf: &Sim,
    invoices: usize,
    lines: usize,
) -> anyhow::Result<()> {
    let by_sf = |object: &str| -> BTreeMap<String, String> {
        hs.records(object)
            .into_iter()
            .filter(|r| r["archived"] != serde_json::json!(true))
            .filter_map(|r| {
                Some((
                    r["properties"]["salesforce_id"].as_str()?.to_owned(),
                    r["id"].as_str()?.to_owned(),
                ))
            })
            .collect()
    };
    let (hs_invoices, hs_lines) = (by_sf(INVOICE), by_sf(LINE));
    ensure!(
        hs_invoices.len() == invoices && hs_lines.len() == lines,
        "HubSpot holds {} invoices and {} lines",
        hs_invoices.len(),
        hs_lines.len()
    );
    let handle = sf.handle();
    let ids: Vec<String> = hs_lines.values().cloned().collect();
    let mut linked = BTreeMap::new();
    for chunk in ids.chunks(100) {
        linked.extend(hubspot.read_associations(LINE, INVOICE, chunk).await?);
    }
    let mut wrong = 0;
    for (line, hs_line) in &hs_lines {
        let invoice = handle
            .get("Invoice_Line__c", line)
            .and_then(|r| r.get("Invoice__c").and_then(|v| v.as_str().map(str::to_owned)));
        let want: Vec<String> =
            invoice.and_then(|i| hs_invoices.get(&i).cloned()).into_iter().collect();
        if linked.get(hs_line).cloned().unwrap_or_default() != want {
            wrong += 1;
        }
    }
    ensure!(wrong == 0, "{wrong} lines not linked to exactly their invoice");
    println!("HubSpot: {invoices} invoices and {lines} lines, every line linked to its invoice");
    Ok(())
}

/// Deliveries per line, and from an invoice's commit to the commit of each line that waited.
#[allow(clippy::print_stdout)]
fn report(journal: &[Journey]) {
    let mut deliveries: HashMap<&str, u32> = HashMap::new();
    let mut waited: HashMap<&str, (Instant, &str)> = HashMap::new();
    let mut waiting: std::collections::HashSet<&str> = Default::default();
    let mut invoice_done: HashMap<&str, Instant> = HashMap::new();
    for j in journal {
        if j.object == "Invoice__c" && j.done {
            invoice_done.entry(&j.id).or_insert(j.at);
        }
        if j.object != "Invoice_Line__c" {
            continue;
        }
        let d = deliveries.entry(&j.id).or_default();
        *d = (*d).max(j.delivery);
        if !j.done {
            waiting.insert(&j.id);
        } else if let Some(parent) = &j.parent {
            waited.insert(&j.id, (j.at, parent));
        }
    }
    let over = |n: u32| deliveries.values().filter(|d| **d > n).count();
    println!(
        "lines: {} delivered; more than once: {}; more than 3 times: {}; most deliveries of one: {}",
        deliveries.len(),
        over(1),
        over(3),
        deliveries.values().max().copied().unwrap_or(0)
    );
    let mut gaps: Vec<Duration> = waiting
        .iter()
        .filter_map(|id| {
            let (done, parent) = waited.get(id)?;
            Some(done.saturating_duration_since(*invoice_done.get(parent)?))
        })
        .collect();
    gaps.sort();
    println!(
        "lines that waited: {}; their invoice's commit -> their commit: p50 {:.1?}, p99 {:.1?}, max {:.1?}",
        gaps.len(),
        percentile(&gaps, 0.5),
        percentile(&gaps, 0.99),
        gaps.last().copied().unwrap_or_default()
    );
}
