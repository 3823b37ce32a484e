//! `sfhs import start`: record an import; the import function runs it (or this process, with
//! `--local`), optionally followed until every page is enqueued.

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use clap::Args as ClapArgs;
use sfhs_core::import::ports::ImportStore;
use sfhs_core::import::progress::{Progress, human_duration};
use sfhs_core::import::{ImportRecord, MemoryContinuation};
use sfhs_core::queue::{PublishPolicy, Publisher};
use time::OffsetDateTime;

use super::connect::{run_here, runner_here};
use super::text::{exit_for, print_one};
use super::{Common, imports_store, sqs_publisher};

#[derive(Debug, ClapArgs)]
pub(super) struct Args {
    /// The Salesforce object of an applied mapping, e.g. Invoice__c.
    object: String,
    /// A SOQL condition (without WHERE).
    #[arg(long = "where")]
    condition: Option<String>,
    /// Run the import in this process, onto the import queue (`--queue-url`).
    #[arg(long)]
    local: bool,
    /// Wait until every page is enqueued, showing progress (a bar in a terminal, a line per poll
    /// otherwise).
    #[arg(long)]
    wait: bool,
    /// The import queue (with --local).
    #[arg(long, env = "SFHS_IMPORT_QUEUE_URL")]
    queue_url: Option<String>,
    /// Bulk API 2.0 from this many records on; REST query below.
    #[arg(long, env = "SFHS_BULK_THRESHOLD", default_value_t = 50_000)]
    bulk_threshold: u64,
    /// Records per Salesforce page (REST: 200..2000).
    #[arg(long, env = "SFHS_IMPORT_PAGE_SIZE", default_value_t = 2000)]
    page_size: u32,
    /// Write every record to HubSpot, even one HubSpot already holds as it is (by default
    /// those are counted as unchanged and cost no HubSpot call).
    #[arg(long)]
    force: bool,
}

pub(super) async fn run(common: &Common, args: &Args) -> anyhow::Result<ExitCode> {
    let store = imports_store(common).await?;
    let continuation = Arc::new(MemoryContinuation::new());
    let publisher = match (args.local, &args.queue_url) {
        (true, Some(url)) => sqs_publisher(url).await,
        (true, None) => {
            bail!("--local needs the import queue: pass --queue-url or set SFHS_IMPORT_QUEUE_URL")
        }
        // Not used: the import function publishes.
        (false, _) => {
            Publisher::new(Arc::new(sfhs_core::queue::MemoryQueue::new()), PublishPolicy::default())
        }
    };
    let runner =
        runner_here(common, store.clone(), publisher, &continuation, args.page_size).await?;
    let record = runner
        .create(
            &args.object,
            args.condition.as_deref(),
            args.bulk_threshold,
            args.force,
            OffsetDateTime::now_utc(),
        )
        .await?;
    if !common.output.json {
        println!(
            "import {} of {} recorded: {} records, {} method",
            record.id,
            record.object,
            record.total,
            record.method.as_str()
        );
    }
    if args.local {
        run_here(&runner, &continuation, &record.id).await?;
    } else if args.wait {
        follow(store.as_ref(), &record, common.output.json).await?;
    } else if !common.output.json {
        println!(
            "the import function's next scheduled run (every minute by default) starts it (`sfhs import resume {id}` starts it now); follow it with `sfhs import show {id}`",
            id = record.id
        );
    }
    let record = store.get(&record.id).await?.unwrap_or(record);
    print_one(&record, common.output.json)?;
    Ok(exit_for(&record))
}

/// Follows the import until it is final: a bar in a terminal; a line per poll otherwise (logs,
/// CI); nothing with `--json`.
async fn follow(store: &dyn ImportStore, record: &ImportRecord, json: bool) -> anyhow::Result<()> {
    let bar = (!json && std::io::stdout().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(record.total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{bar:40}] {pos}/{len} enqueued ({percent}%), {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    loop {
        let Some(r) = store.get(&record.id).await? else {
            bail!("import {} disappeared", record.id);
        };
        let p = Progress::of(&r, OffsetDateTime::now_utc());
        let eta = p
            .eta_seconds
            .map(|s| format!(", ETA {}", human_duration(Duration::from_secs(s))))
            .unwrap_or_default();
        match &bar {
            Some(bar) => {
                bar.set_position(r.enqueued);
                bar.set_message(format!(
                    "{}: synced {} ({} unchanged), failed {}{eta}",
                    r.status.as_str(),
                    r.synced,
                    r.unchanged,
                    r.failed
                ));
            }
            None if !json => println!(
                "{}: {} of {} enqueued, {} synced ({} unchanged), {} failed{eta}",
                r.status.as_str(),
                r.enqueued,
                r.total,
                r.synced,
                r.unchanged,
                r.failed
            ),
            None => {}
        }
        if r.status.is_final() {
            if let Some(bar) = &bar {
                bar.finish();
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(if bar.is_some() { 1 } else { 5 })).await;
    }
}
