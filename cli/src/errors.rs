//! `sfhs errors list|show|replay`: the records the worker could not write, and sending them again.
//!
//! An error record keeps the work item as received; `replay` puts it back on the live queue (the
//! worker's version check makes that safe even when a newer change has synced since) and removes
//! the record once it is on the queue.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Args as ClapArgs, Subcommand};
use sfhs_core::import::progress::human_time;
use sfhs_core::queue::{PublishPolicy, Publisher, QueueEntry};
use sfhs_core::sync::{ErrorRecord, ErrorStore};
use sfhs_core::work_item::WorkItem;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
    /// The errors table (a stack output).
    #[arg(long, global = true, env = "SFHS_ERRORS_TABLE")]
    table: Option<String>,
    #[command(flatten)]
    output: crate::output::Output,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Error records, newest first.
    List {
        /// Only this Salesforce object.
        #[arg(long)]
        object: Option<String>,
        /// Only this category (validation, conflict, picklist, association, permission, not_found, rate_limit, unknown).
        #[arg(long)]
        category: Option<String>,
    },
    /// One error record in full, with its work item.
    Show {
        /// The error record id (from `sfhs errors list`).
        id: String,
    },
    /// Put error records' work items back on the live queue and remove the records.
    Replay {
        /// The records to replay (ids from `list`).
        ids: Vec<String>,
        /// Every record (of --object, when given).
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// Only the records of this Salesforce object (with --all).
        #[arg(long)]
        object: Option<String>,
        /// The live queue (a stack output).
        #[arg(long, env = "SFHS_LIVE_QUEUE_URL")]
        queue_url: Option<String>,
    },
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Some(table) = &args.table else {
        bail!(
            "no errors table: pass --table or set SFHS_ERRORS_TABLE (the ErrorsTableName stack output)"
        );
    };
    let store = crate::deployed::aws().await.error_store(table);
    match args.command {
        Command::List { object, category } => {
            list(&store, object.as_deref(), category.as_deref(), args.output.json).await
        }
        Command::Show { id } => {
            let record = store.get(&id).await?.with_context(|| format!("no error record {id}"))?;
            if args.output.json {
                crate::output::print_json(&record)?;
            } else {
                println!("{}", serde_json::to_string_pretty(&record)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay { ids, all, object, queue_url } => {
            let Some(queue_url) = queue_url else {
                bail!(
                    "no live queue: pass --queue-url or set SFHS_LIVE_QUEUE_URL (the LiveQueueUrl stack output)"
                );
            };
            let records = chosen(&store, &ids, all, object.as_deref()).await?;
            let queue = crate::deployed::aws().await.queue(&queue_url);
            let publisher = Publisher::new(Arc::new(queue), PublishPolicy::default());
            replay(&store, &publisher, records, args.output.json).await
        }
    }
}

/// The error records of `object` and `category` (each when given), as a table or JSON.
async fn list(
    store: &dyn ErrorStore,
    object: Option<&str>,
    category: Option<&str>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let records: Vec<ErrorRecord> = store
        .list()
        .await?
        .into_iter()
        .filter(|r| object.is_none_or(|o| r.object.eq_ignore_ascii_case(o)))
        .filter(|r| category.is_none_or(|c| r.category.as_str() == c))
        .collect();
    if json {
        crate::output::print_json(&records)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<40} {:<12} {:<20} {:<24} MESSAGE", "ID", "CATEGORY", "FIELD", "AT");
    for r in &records {
        println!(
            "{:<40} {:<12} {:<20} {:<24} {}",
            r.id,
            r.category.as_str(),
            r.field.as_deref().unwrap_or("-"),
            human_time(r.at),
            r.message
        );
    }
    println!("{} error record(s)", records.len());
    Ok(ExitCode::SUCCESS)
}

/// The records to replay: those named, or every one (of `object`, when given) with `--all`.
async fn chosen(
    store: &dyn ErrorStore,
    ids: &[String],
    all: bool,
    object: Option<&str>,
) -> anyhow::Result<Vec<ErrorRecord>> {
    if all {
        return Ok(store
            .list()
            .await?
            .into_iter()
            .filter(|r| object.is_none_or(|o| r.object.eq_ignore_ascii_case(o)))
            .collect());
    }
    if ids.is_empty() {
        bail!("name the records to replay, or pass --all");
    }
    let mut records = Vec::new();
    for id in ids {
        records.push(store.get(id).await?.with_context(|| format!("no error record {id}"))?);
    }
    Ok(records)
}

async fn replay(
    store: &dyn ErrorStore,
    publisher: &Publisher,
    records: Vec<ErrorRecord>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let mut replayed = Vec::new();
    let mut refused = Vec::new();
    for r in records {
        // Only a readable work item can be replayed; an undecodable body stays for inspection.
        if let Err(e) = WorkItem::from_json(&r.work_item) {
            refused.push(serde_json::json!({"id": r.id, "reason": e.to_string()}));
            continue;
        }
        let entry = QueueEntry { id: "0".into(), body: r.work_item.clone() };
        publisher
            .publish_entries(vec![entry])
            .await
            .with_context(|| format!("could not enqueue the work item of {}", r.id))?;
        store.delete(&r.id).await?;
        replayed.push(r.id);
    }
    if json {
        println!("{}", serde_json::json!({"replayed": replayed, "refused": refused}));
    } else {
        for id in &replayed {
            println!("replayed {id}");
        }
        for r in &refused {
            println!(
                "kept {}: {}",
                r["id"].as_str().unwrap_or_default(),
                r["reason"].as_str().unwrap_or_default()
            );
        }
        println!("{} replayed, {} kept", replayed.len(), refused.len());
    }
    Ok(if refused.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
