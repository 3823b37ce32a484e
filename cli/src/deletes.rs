//! `sfhs deletes sweep [--dry-run]`: Salesforce deletes onto the live queue, now. See
//! `docs/import.md`. Exit statuses: 0 swept, 1 a gap or a failed object, 2 could not run.

use std::process::ExitCode;

use anyhow::bail;
use clap::{Args as ClapArgs, Subcommand};
use sfhs_core::import::sweep;
use time::OffsetDateTime;

use crate::import::{Common, imports_store, mapping_store, reader, sqs_publisher};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// For every enabled mapping with `on_delete: archive`: Salesforce's deleted records since
    /// the last sweep become delete work items on the live queue.
    Sweep {
        /// Print what would be enqueued; enqueue nothing, move no checkpoint.
        #[arg(long)]
        dry_run: bool,
        /// The live queue.
        #[arg(long, env = "SFHS_LIVE_QUEUE_URL")]
        queue_url: Option<String>,
    },
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Command::Sweep { dry_run, queue_url } = &args.command;
    let common = &args.common;
    let publisher = match (queue_url, dry_run) {
        (Some(url), _) => sqs_publisher(url).await,
        (None, true) => sfhs_core::queue::Publisher::new(
            std::sync::Arc::new(sfhs_core::queue::MemoryQueue::new()),
            sfhs_core::queue::PublishPolicy::default(),
        ),
        (None, false) => bail!("no live queue: pass --queue-url or set SFHS_LIVE_QUEUE_URL"),
    };
    let mappings = mapping_store(common).await?;
    let store = imports_store(common).await?;
    let reader = reader(common)?;
    let report = sweep(
        mappings.as_ref(),
        store.as_ref(),
        &reader,
        &publisher,
        OffsetDateTime::now_utc(),
        *dry_run,
    )
    .await?;
    if common.output.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let verb = if *dry_run { "would enqueue" } else { "enqueued" };
        for o in &report.objects {
            println!("{}", o.describe(verb));
        }
    }
    Ok(if report.gaps() + report.failures() > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
