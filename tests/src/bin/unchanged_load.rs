//! Load harness of "write to HubSpot only what changed" (invariant 10): HubSpot calls per record
//! for edits that change nothing HubSpot holds, against the HubSpot simulator over HTTP, the
//! ledger and queue in memory, the production client and engine.
//!
//! ```sh
//! cargo run --release -p sfhs-tests --bin unchanged-load         # 100,000 invoices
//! SFHS_LOAD_RECORDS=10000 cargo run -p sfhs-tests --bin unchanged-load
//! ```
//!
//! Phases, each over every record, in full batches of `SFHS_LOAD_BATCH` (100, the live queue's
//! batch size in the template):
//! 1. the first sync (creates; not measured for this issue);
//! 2. an edit of a field no mapping maps (target: 0 calls);
//! 3. an edit that sets the values the record already has (target: 0 calls);
//! 4. a real change of a mapped field (target: 0.01 calls a record, 100 records a call);
//! 5. a mapping change that alters nothing HubSpot holds, then a re-import of every record
//!    (target: 0 writes).
//!
//! The simulator's budget is raised (HubSpot calls are counted, not paced, here).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use sfhs_core::mapping::store::{MappingStore, StoredMapping};
use sfhs_core::sync::memory::{MemoryErrorStore, MemoryLedger};
use sfhs_core::sync::{BatchReport, Engine, InMessage};
use sfhs_core::work_item::{Source, WorkItem};
use sfhs_hubspot::HubSpotClient;
use sfhs_hubspot_sim::HubSpotSim;
use sfhs_tests::drive::knob;
use sfhs_tests::items::outbound_item;
use sfhs_tests::portal::{client_config, engine, mappings, memory_store, setup_portal};

fn invoice(i: usize, second: i64, name: &str, note: Option<&str>, source: &Source) -> WorkItem {
    let amount = format!("{}.5", i % 1000);
    let status = if i.is_multiple_of(2) { "Paid" } else { "Void" };
    let item = outbound_item(
        "Invoice__c",
        &format!("a01U{i:014}"),
        second,
        &[
            ("Name", Some(name)),
            ("Amount__c", Some(&amount)),
            ("Status__c", Some(status)),
            ("Description__c", note),
        ],
    );
    WorkItem { source: source.clone(), ..item }
}

/// Runs every item through the engine in full batches; what the batches reported.
async fn run(engine: &Engine, items: Vec<WorkItem>, batch: usize) -> anyhow::Result<BatchReport> {
    let mut total = BatchReport::default();
    let mut pending: Vec<InMessage> = items
        .iter()
        .enumerate()
        .map(|(n, i)| InMessage {
            message_id: format!("m{n}"),
            body: i.to_json(),
            receive_count: 1,
            wake: None,
        })
        .collect();
    for _ in 0..20 {
        if pending.is_empty() {
            return Ok(total);
        }
        let mut again = Vec::new();
        for chunk in pending.chunks(batch) {
            let r = engine.process(chunk.to_vec()).await;
            total.add(&r.report);
            again.extend(chunk.iter().filter(|m| r.retry.contains(&m.message_id)).cloned());
        }
        pending = again;
    }
    anyhow::bail!("{} messages still retried", pending.len())
}

struct Phase {
    name: &'static str,
    records: usize,
    calls: u64,
    writes: u64,
    unchanged: u64,
    seconds: f64,
}

impl Phase {
    #[allow(clippy::cast_precision_loss)]
    fn per_record(&self) -> f64 {
        self.calls as f64 / self.records as f64
    }
}

#[tokio::main]
#[allow(clippy::print_stdout, clippy::too_many_lines)]
async fn main() -> anyhow::Result<()> {
    let records = usize::try_from(knob("SFHS_LOAD_RECORDS", 100_000))?;
    let batch = usize::try_from(knob("SFHS_LOAD_BATCH", 100))?;
    let sim = HubSpotSim::builder()
        .burst_limit(1_000_000)
        .daily_limit(100_000_000)
        .start()
        .await
        .context("HubSpot simulator")?;
    let client = HubSpotClient::new(client_config(&sim.base_url()))?;
    setup_portal(&sim.base_url(), &client).await;
    let mut mapping = mappings().remove(0);
    mapping.associations.clear();
    let store = memory_store(vec![mapping.clone()]).await;
    let e = engine(
        store.clone(),
        Arc::new(MemoryLedger::new()),
        Arc::new(client.clone()),
        Arc::new(MemoryErrorStore::new()),
        "load",
        Duration::from_secs(600),
    );
    let live = Source::OutboundMessage { notification_id: "04l".into(), action_id: None };
    let import = Source::Import { import_id: "reimport".into(), force: false };
    let mut phases = Vec::new();
    let mut measure = async |name: &'static str, items: Vec<WorkItem>| -> anyhow::Result<()> {
        let before = sim.counters().calls;
        let started = Instant::now();
        let r = run(&e, items, batch).await?;
        anyhow::ensure!(r.failed == 0, "{name}: {} failed", r.failed);
        phases.push(Phase {
            name,
            records,
            calls: sim.counters().calls - before,
            writes: r.upserted,
            unchanged: r.unchanged,
            seconds: started.elapsed().as_secs_f64(),
        });
        Ok(())
    };
    let name = |i: usize| format!("INV-{i}");
    measure(
        "first sync (creates)",
        (0..records).map(|i| invoice(i, 1, &name(i), None, &live)).collect(),
    )
    .await?;
    measure(
        "edits of unmapped fields",
        (0..records).map(|i| invoice(i, 2, &name(i), Some("a note"), &live)).collect(),
    )
    .await?;
    measure(
        "edits with the same values",
        (0..records).map(|i| invoice(i, 3, &name(i), None, &live)).collect(),
    )
    .await?;
    measure(
        "real changes",
        (0..records).map(|i| invoice(i, 4, &format!("{}-v2", name(i)), None, &live)).collect(),
    )
    .await?;
    // A mapping change that alters nothing HubSpot holds: a value map for a value no record has.
    let current = store.get("Invoice__c").await?.context("the invoice mapping")?;
    let mut changed = current.mapping.clone();
    changed.fields[0].value_map.insert("never".into(), "seen".into());
    store
        .put(
            &StoredMapping { mapping: changed, version: current.version + 1, ..current.clone() },
            Some(current.version),
        )
        .await?;
    tokio::time::sleep(Duration::from_millis(1100)).await; // the engine's mapping cache
    measure(
        "re-import after a no-op mapping change",
        (0..records).map(|i| invoice(i, 4, &format!("{}-v2", name(i)), None, &import)).collect(),
    )
    .await?;

    println!("{records} invoices, batches of {batch}; HubSpot calls counted by the simulator\n");
    println!(
        "{:<40} {:>10} {:>10} {:>10} {:>16} {:>9}",
        "phase", "calls", "written", "unchanged", "calls per record", "seconds"
    );
    for p in &phases {
        println!(
            "{:<40} {:>10} {:>10} {:>10} {:>16.4} {:>9.1}",
            p.name,
            p.calls,
            p.writes,
            p.unchanged,
            p.per_record(),
            p.seconds
        );
    }
    sim.shutdown().await;
    Ok(())
}
