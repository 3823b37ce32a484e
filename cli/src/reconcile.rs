//! `sfhs reconcile OBJECT [--dry-run]`: compares the ids in Salesforce with the ledger and
//! HubSpot, enqueues the repairs (missing or stale records as upserts, HubSpot records whose
//! Salesforce record is gone as deletes when the mapping archives) and prints what it found.
//! See `docs/import.md`. Exit statuses: 0 nothing to repair or repairs enqueued, 1 a dry run
//! found something, 2 could not run.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args as ClapArgs;
use sfhs_core::import::{ReconcileReport, Reconciler};
use sfhs_core::queue::{MemoryQueue, PublishPolicy, Publisher};
use time::OffsetDateTime;

use crate::import::{Common, mapping_store, reader, sqs_publisher};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The Salesforce object of an applied mapping, e.g. Invoice__c.
    object: String,
    /// Print what it finds; enqueue nothing.
    #[arg(long)]
    dry_run: bool,
    /// The queue that takes the repairs: the import queue, so that a large repair does not
    /// starve live sync.
    #[arg(long, env = "SFHS_IMPORT_QUEUE_URL")]
    queue_url: Option<String>,
    /// DynamoDB table of the records ledger (a stack output).
    #[arg(long, env = "SFHS_RECORDS_TABLE")]
    records_table: Option<String>,
    #[command(flatten)]
    common: Common,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let common = &args.common;
    let Some(records_table) = &args.records_table else {
        bail!(
            "no records table: pass --records-table or set SFHS_RECORDS_TABLE (the RecordsTable stack output)"
        );
    };
    let publisher = match (&args.queue_url, args.dry_run) {
        (Some(url), _) => sqs_publisher(url).await,
        (None, true) => Publisher::new(Arc::new(MemoryQueue::new()), PublishPolicy::default()),
        (None, false) => {
            bail!("no queue for the repairs: pass --queue-url or set SFHS_IMPORT_QUEUE_URL")
        }
    };
    let mappings = mapping_store(common).await?;
    let Some(stored) = mappings.get(&args.object).await? else {
        bail!(
            "no mapping of \"{}\" is applied: `sfhs mappings list` shows the applied ones",
            args.object
        );
    };
    let hubspot = common.live.hubspot_client()?.context(
        "no HubSpot connection: set SFHS_HUBSPOT_TOKEN (and SFHS_HUBSPOT_BASE_URL for a simulator)",
    )?;
    let reader = reader(common)?;
    let ledger = crate::deployed::aws().await.ledger(records_table);
    let report = Reconciler {
        reader: &reader,
        hubspot: &hubspot,
        ledger: &ledger,
        publisher: &publisher,
        page_size: 2000,
    }
    .run(&stored.mapping, OffsetDateTime::now_utc(), args.dry_run)
    .await?;
    if common.output.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(if report.dry_run && !report.is_clean() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// The report for people: the counts with the first ids, and what was enqueued.
fn print_report(r: &ReconcileReport) {
    println!(
        "{} -> {}: {} records in Salesforce, {} in HubSpot",
        r.object, r.hubspot_object, r.salesforce, r.hubspot
    );
    let list = |ids: &[String], n: u64| {
        if n == 0 {
            String::new()
        } else if n as usize > ids.len() {
            format!(": {} ...", ids.join(", "))
        } else {
            format!(": {}", ids.join(", "))
        }
    };
    println!("missing in HubSpot    {}{}", r.missing, list(&r.missing_ids, r.missing));
    println!("stale in HubSpot      {}{}", r.stale, list(&r.stale_ids, r.stale));
    println!(
        "gone from Salesforce  {}{}{}",
        r.orphans,
        list(&r.orphan_ids, r.orphans),
        if r.archive_orphans || r.orphans == 0 {
            ""
        } else {
            " (on_delete: keep, left in HubSpot)"
        }
    );
    if r.dry_run {
        println!("dry run: nothing enqueued");
    } else {
        println!(
            "enqueued {} upserts and {} deletes; the worker applies them",
            r.enqueued_upserts, r.enqueued_deletes
        );
    }
}
