//! Peak memory of the worker for its largest batch: one engine, in-memory stores, one batch of
//! `SFHS_LOAD_BATCH` work items (default 10,000, SQS's largest Lambda batch; Lambda's 6 MB payload
//! bounds it too), against a HubSpot simulator running in another process so that only the
//! worker's memory is measured.
//!
//! ```sh
//! sfhs sim hubspot --burst-limit 100000 &     # prints its base URL
//! cargo run -p sfhs-tests --bin worker-batch-memory -- http://127.0.0.1:PORT
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use sfhs_core::outbound::Fields;
use sfhs_core::sync::memory::{MemoryErrorStore, MemoryLedger};
use sfhs_core::sync::{InMessage, LedgerEntry, RecordKey, Version};
use sfhs_core::work_item::{Op, Source, WORK_ITEM_VERSION, WorkItem};
use sfhs_hubspot::{HubSpotClient, UpsertInput};
use sfhs_tests::portal::{INVOICE, client_config, engine, mappings, memory_store, setup_portal};
use time::OffsetDateTime;

fn status_kib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
        })
        .unwrap_or(0.0)
}

#[allow(clippy::cast_precision_loss, clippy::print_stdout)]
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let base =
        std::env::args().nth(1).context("usage: worker-batch-memory HUBSPOT_SIM_BASE_URL")?;
    let size: usize =
        std::env::var("SFHS_LOAD_BATCH").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let setup = HubSpotClient::new(client_config(&base))?;
    setup_portal(&base, &setup).await;
    let parents: Vec<String> = (0..100).map(|p| format!("a01M{p:014}")).collect();
    let out = setup
        .batch_upsert(
            INVOICE,
            "salesforce_id",
            parents
                .iter()
                .map(|p| UpsertInput::new(p.clone(), [("invoice_number", p.clone())]))
                .collect(),
        )
        .await?;
    let ledger = Arc::new(MemoryLedger::new());
    for r in &out.successes {
        ledger.insert(
            &RecordKey::new("Invoice__c", r.get("salesforce_id").unwrap_or_default()),
            LedgerEntry {
                version: Some(Version(1)),
                hubspot_id: Some(r.id.clone()),
                ..LedgerEntry::default()
            },
        );
    }
    let e = engine(
        memory_store(mappings()).await,
        ledger,
        Arc::new(HubSpotClient::new(client_config(&base))?),
        Arc::new(MemoryErrorStore::new()),
        "mem",
        Duration::from_secs(3600),
    );
    let before = status_kib("VmRSS:");
    let batch: Vec<InMessage> = (0..size)
        .map(|i| {
            let mut fields = Fields::new();
            fields.insert("SystemModstamp".into(), Some("2026-11-28T10:00:00.000Z".into()));
            fields.insert("Name".into(), Some(format!("L-{i}")));
            fields.insert("Quantity__c".into(), Some("3.0".into()));
            fields.insert("Unit_Price__c".into(), Some("12.5".into()));
            fields.insert("Invoice__c".into(), Some(parents[i % parents.len()].clone()));
            let item = WorkItem {
                v: WORK_ITEM_VERSION,
                op: Op::Upsert,
                org_id: "00D5g000001SIMu".into(),
                sobject: "Invoice_Line__c".into(),
                record_id: format!("a02M{i:014}"),
                fields,
                source: Source::OutboundMessage {
                    notification_id: format!("04l{i:015}"),
                    action_id: Some("04k000000000001AAA".into()),
                },
                received_at: OffsetDateTime::now_utc(),
            };
            InMessage {
                message_id: format!("{i:08}-0000-0000-0000-000000000000"),
                body: item.to_json(),
                receive_count: 1,
                wake: None,
            }
        })
        .collect();
    let bytes: usize = batch.iter().map(|m| m.body.len()).sum();
    let started = Instant::now();
    let r = e.process(batch).await;
    println!(
        "batch of {size} work items ({:.1} MB of bodies): upserted {}, associations {}, retried {}, failed {}, {} HubSpot calls, {:.2} s",
        bytes as f64 / 1e6,
        r.report.upserted,
        r.report.associations_created,
        r.retry.len(),
        r.report.failed,
        r.report.hubspot_calls,
        started.elapsed().as_secs_f64()
    );
    println!(
        "RSS before the batch {:.1} MiB, peak (VmHWM) {:.1} MiB",
        before / 1024.0,
        status_kib("VmHWM:") / 1024.0
    );
    Ok(())
}
