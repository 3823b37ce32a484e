//! `sfhs import ...`: count, start, list, show, resume, cancel imports of existing records; and
//! `sfhs deletes sweep` (in `deletes.rs`). See `docs/import.md`.
//!
//! Exit statuses: 0 done, 1 problems (a failed import, a refused cancel), 2 could not run.

use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args as ClapArgs, Subcommand};
use serde_json::json;
use sfhs_core::import::ports::ImportStore;
use sfhs_core::import::ports::SalesforceReader;
use sfhs_core::import::progress::{Estimate, Progress, human_duration};
use sfhs_core::import::run::runner_id;
use sfhs_core::import::{
    Checkpoint, Continuation as _, Holder, ImportRecord, ImportRunner, ImportStatus,
    MemoryContinuation, RunOutcome, RunSettings,
};
use sfhs_core::mapping::store::MappingStore;
use sfhs_core::queue::{PublishPolicy, Publisher};
use sfhs_salesforce::ClientReader;
use time::OffsetDateTime;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    pub common: Common,
}

/// What the import and sweep commands connect to.
#[derive(Debug, Clone, ClapArgs)]
pub struct Common {
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// DynamoDB table of imports and sweep checkpoints (a stack output).
    #[arg(long, global = true, env = "SFHS_IMPORTS_TABLE")]
    pub imports_table: Option<String>,
    /// DynamoDB table of the applied mappings (a stack output).
    #[arg(long, global = true, env = "SFHS_MAPPINGS_TABLE")]
    pub mappings_table: Option<String>,
    #[command(flatten)]
    pub live: crate::live::LiveArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// How many records an import would bring, and what it costs in HubSpot calls and time.
    Count {
        /// The Salesforce object of an applied mapping, e.g. Invoice__c.
        object: String,
        /// A SOQL condition (without WHERE).
        #[arg(long = "where")]
        condition: Option<String>,
        /// HubSpot calls allowed per 10 seconds for this system.
        #[arg(long, default_value_t = 190)]
        rate_limit: u64,
    },
    /// Record an import; the import function runs it (or this process, with --local).
    Start {
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
    },
    /// The imports, newest first.
    List,
    /// One import: progress, rate, ETA, and its records the worker could not write.
    Show {
        /// The import id (from `sfhs import list`).
        id: String,
        /// The errors table (a stack output): lists this import's error records.
        #[arg(long, env = "SFHS_ERRORS_TABLE")]
        errors_table: Option<String>,
    },
    /// Stop an import; what is on the queue already still syncs.
    Cancel {
        /// The import id (from `sfhs import list`).
        id: String,
    },
    /// Resume an import that no live runner holds (pending, handed over, or abandoned by a
    /// runner that stopped renewing its lease) now: invoke the import function for it, or run
    /// it in this process with --local. Refused while a live runner holds it.
    Resume {
        /// The import id (from `sfhs import list`).
        id: String,
        /// Run it in this process, onto the import queue (`--queue-url`).
        #[arg(long)]
        local: bool,
        /// The import queue (with --local).
        #[arg(long, env = "SFHS_IMPORT_QUEUE_URL")]
        queue_url: Option<String>,
        /// The import function to invoke (the ImportFunctionName stack output; without --local).
        #[arg(long, env = "SFHS_IMPORT_FUNCTION")]
        function: Option<String>,
        /// Records per Salesforce page (REST: 200..2000), with --local.
        #[arg(long, env = "SFHS_IMPORT_PAGE_SIZE", default_value_t = 2000)]
        page_size: u32,
    },
}

pub async fn imports_store(common: &Common) -> anyhow::Result<Arc<dyn ImportStore>> {
    let Some(table) = &common.imports_table else {
        bail!(
            "no imports table: pass --imports-table or set SFHS_IMPORTS_TABLE (the ImportsTable stack output)"
        );
    };
    Ok(Arc::new(crate::deployed::aws().await.import_store(table)))
}

pub async fn mapping_store(common: &Common) -> anyhow::Result<Arc<dyn MappingStore>> {
    let Some(table) = &common.mappings_table else {
        bail!(
            "no mappings table: pass --mappings-table or set SFHS_MAPPINGS_TABLE (the MappingsTable stack output)"
        );
    };
    Ok(Arc::new(crate::deployed::aws().await.mapping_store(table)))
}

pub fn reader(common: &Common) -> anyhow::Result<ClientReader> {
    let client = common.live.salesforce()?.context(
        "no Salesforce connection: set SFHS_SALESFORCE_LOGIN_URL, SFHS_SALESFORCE_CLIENT_ID and a secret or key",
    )?;
    Ok(ClientReader::new(client))
}

pub async fn sqs_publisher(queue_url: &str) -> Publisher {
    Publisher::new(
        Arc::new(crate::deployed::aws().await.queue(queue_url)),
        PublishPolicy::default(),
    )
}

/// The import function's runner in this process: it reads Salesforce with the operator's
/// connection and publishes with `publisher`; a run near its deadline hands over to
/// `continuation`, which the caller drains. `page_size` records per REST page (Bulk: 5 times it).
async fn runner_here(
    common: &Common,
    store: Arc<dyn ImportStore>,
    publisher: Publisher,
    continuation: &Arc<MemoryContinuation>,
    page_size: u32,
) -> anyhow::Result<ImportRunner> {
    Ok(ImportRunner {
        store,
        mappings: mapping_store(common).await?,
        reader: Arc::new(reader(common)?),
        publisher,
        continuation: continuation.clone(),
        settings: RunSettings {
            rest_page_size: page_size,
            bulk_page_size: page_size.saturating_mul(5),
            ..RunSettings::default()
        },
    })
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let common = &args.common;
    match &args.command {
        Command::Count {
            object,
            condition,
            rate_limit,
        } => {
            let reader = reader(common)?;
            let total = reader.count(object, condition.as_deref()).await?;
            let associations = match &common.mappings_table {
                Some(_) => mapping_store(common)
                    .await?
                    .get(object)
                    .await?
                    .map_or(0, |m| m.mapping.associations.len()),
                None => 0,
            };
            let e = Estimate::new(total, associations, *rate_limit);
            if common.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({"object": object, "estimate": e}))?
                );
            } else {
                println!("{object}: {total} records");
                println!(
                    "HubSpot calls: {} batch writes, each creating up to 100 records with their {associations} association(s); {} if HubSpot has the records already (+{} association batches)",
                    e.calls, e.calls_if_in_hubspot, e.association_calls
                );
                println!(
                    "duration at {} calls / 10 s: about {} ({} if HubSpot has them)",
                    e.rate_limit_per_10s,
                    human_duration(Duration::from_secs(e.duration_seconds)),
                    human_duration(Duration::from_secs(e.duration_if_in_hubspot_seconds))
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Start {
            object,
            condition,
            local,
            wait,
            queue_url,
            bulk_threshold,
            page_size,
            force,
        } => {
            let store = imports_store(common).await?;
            let continuation = Arc::new(MemoryContinuation::new());
            let publisher = match (local, queue_url) {
                (true, Some(url)) => sqs_publisher(url).await,
                (true, None) => bail!(
                    "--local needs the import queue: pass --queue-url or set SFHS_IMPORT_QUEUE_URL"
                ),
                // Not used: the import function publishes.
                (false, _) => Publisher::new(
                    Arc::new(sfhs_core::queue::MemoryQueue::new()),
                    PublishPolicy::default(),
                ),
            };
            let runner =
                runner_here(common, store.clone(), publisher, &continuation, *page_size).await?;
            let record = runner
                .create(
                    object,
                    condition.as_deref(),
                    *bulk_threshold,
                    *force,
                    OffsetDateTime::now_utc(),
                )
                .await?;
            if !common.json {
                println!(
                    "import {} of {} recorded: {} records, {} method",
                    record.id,
                    record.object,
                    record.total,
                    record.method.as_str()
                );
            }
            if *local {
                run_here(&runner, &continuation, &record.id).await?;
            } else if *wait {
                // A bar in a terminal; a line per poll otherwise (logs, CI).
                let bar = (!common.json && std::io::stdout().is_terminal()).then(|| {
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
                        None if !common.json => println!(
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
                        break;
                    }
                    tokio::time::sleep(Duration::from_secs(if bar.is_some() { 1 } else { 5 }))
                        .await;
                }
            } else if !common.json {
                println!(
                    "the import function's next scheduled run (every minute by default) starts it (`sfhs import resume {id}` starts it now); follow it with `sfhs import show {id}`",
                    id = record.id
                );
            }
            let record = store.get(&record.id).await?.unwrap_or(record);
            print_one(&record, common.json)?;
            Ok(exit_for(&record))
        }
        Command::List => {
            let store = imports_store(common).await?;
            let all = store.list().await?;
            let now = OffsetDateTime::now_utc();
            if common.json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|r| json!({"import": r, "progress": Progress::of(r, now)}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if all.is_empty() {
                println!("no imports");
            } else {
                println!(
                    "{:<30} {:<20} {:<10} {:>9} {:>9} {:>9} {:>9} {:>7}  started",
                    "id", "object", "status", "total", "enqueued", "synced", "unchanged", "failed"
                );
                for r in &all {
                    println!(
                        "{:<30} {:<20} {:<10} {:>9} {:>9} {:>9} {:>9} {:>7}  {}",
                        r.id,
                        r.object,
                        r.status.as_str(),
                        r.total,
                        r.enqueued,
                        r.synced,
                        r.unchanged,
                        r.failed,
                        r.started.map_or_else(|| "-".to_owned(), |s| s.to_string())
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { id, errors_table } => {
            let store = imports_store(common).await?;
            let record = store
                .get(id)
                .await?
                .with_context(|| format!("no import {id} (see `sfhs import list`)"))?;
            let errors = match errors_table {
                Some(table) => Some(import_errors(table, id).await?),
                None => None,
            };
            if common.json {
                let now = OffsetDateTime::now_utc();
                let progress = Progress::of(&record, now);
                let holder = record.holder(now);
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json!({
                        "import": record,
                        "progress": progress,
                        "holder": holder,
                        "errors": errors
                    }))?
                );
            } else {
                print_one(&record, false)?;
                match &errors {
                    Some(errors) if !errors.is_empty() => {
                        println!("errors   {} record(s) could not be written:", errors.len());
                        for e in errors.iter().take(20) {
                            println!(
                                "         {} {} [{}] {}{}",
                                e.object,
                                e.record_id,
                                e.category.as_str(),
                                e.field
                                    .as_ref()
                                    .map(|f| format!("{f}: "))
                                    .unwrap_or_default(),
                                e.message
                            );
                        }
                        println!("         (`sfhs errors show ID`, `sfhs errors replay`)");
                    }
                    Some(_) => println!("errors   none"),
                    None => {}
                }
            }
            Ok(exit_for(&record))
        }
        Command::Resume {
            id,
            local,
            queue_url,
            function,
            page_size,
        } => {
            let store = imports_store(common).await?;
            let record = store
                .get(id)
                .await?
                .with_context(|| format!("no import {id} (see `sfhs import list`)"))?;
            let now = OffsetDateTime::now_utc();
            if !record.holder(now).is_claimable() {
                eprintln!(
                    "sfhs: import {id} cannot be resumed: {}",
                    holder_text(&record, now)
                );
                print_one(&record, common.json)?;
                return Ok(ExitCode::from(1));
            }
            if *local {
                let Some(url) = queue_url else {
                    bail!(
                        "--local needs the import queue: pass --queue-url or set SFHS_IMPORT_QUEUE_URL"
                    );
                };
                let continuation = Arc::new(MemoryContinuation::new());
                let publisher = sqs_publisher(url).await;
                let runner =
                    runner_here(common, store.clone(), publisher, &continuation, *page_size)
                        .await?;
                run_here(&runner, &continuation, id).await?;
            } else {
                let Some(function) = function else {
                    bail!(
                        "resuming needs the import function (--function or SFHS_IMPORT_FUNCTION: the ImportFunctionName stack output), or --local with the import queue"
                    );
                };
                crate::deployed::aws()
                    .await
                    .invoke(function.clone())
                    .continue_import(id)
                    .await?;
                if !common.json {
                    println!(
                        "import {id} handed to {function}: it resumes from its checkpoint now (`sfhs import show {id}`)"
                    );
                }
            }
            let record = store.get(id).await?.unwrap_or(record);
            print_one(&record, common.json)?;
            Ok(exit_for(&record))
        }
        Command::Cancel { id } => {
            let store = imports_store(common).await?;
            let record = store
                .get(id)
                .await?
                .with_context(|| format!("no import {id} (see `sfhs import list`)"))?;
            match record.cancelled(OffsetDateTime::now_utc()) {
                Ok(next) => {
                    store.put(&next, Some(record.revision)).await?;
                    print_one(&next, common.json)?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("sfhs: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// What a run of an import ended with, for people.
pub(crate) fn outcome_text(outcome: &RunOutcome) -> String {
    match outcome {
        RunOutcome::Completed { enqueued, pages } => {
            format!(
                "completed: {enqueued} records enqueued in {}",
                pages_text(*pages)
            )
        }
        RunOutcome::HandedOver { enqueued, pages } => {
            format!(
                "handed over to a fresh run after {enqueued} records in {}",
                pages_text(*pages)
            )
        }
        RunOutcome::Cancelled => "cancelled".to_owned(),
        RunOutcome::NotRunnable { reason } => format!("not run: {reason}"),
        RunOutcome::Failed { error } => format!("failed: {error}"),
        RunOutcome::AfterParents { reason } => format!("not started yet: {reason}"),
    }
}

fn pages_text(pages: usize) -> String {
    match pages {
        1 => "1 page".to_owned(),
        n => format!("{n} pages"),
    }
}

/// Runs an import in this process until it is final, following its hand-overs and then the
/// imports of its children that waited for it (parents go first).
async fn run_here(
    runner: &ImportRunner,
    continuation: &MemoryContinuation,
    id: &str,
) -> anyhow::Result<()> {
    let owner = runner_id("cli");
    let mut next = vec![id.to_owned()];
    while let Some(id) = next.pop() {
        match runner.run(&id, &owner, None).await? {
            RunOutcome::HandedOver { .. } | RunOutcome::Completed { .. } => {}
            RunOutcome::Cancelled => {}
            RunOutcome::NotRunnable { reason } => bail!(reason),
            RunOutcome::Failed { error } => {
                eprintln!("sfhs: import {id} failed: {error}");
            }
            RunOutcome::AfterParents { reason } => {
                eprintln!("sfhs: import {id} is not started yet: {reason}");
            }
        }
        next.extend(continuation.take());
    }
    Ok(())
}

/// Who holds the import and why it waits, for people.
pub fn holder_text(r: &ImportRecord, now: OffsetDateTime) -> String {
    let clock = |t: OffsetDateTime| format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
    let ago = |t: OffsetDateTime| {
        human_duration(Duration::from_secs(
            u64::try_from((now - t).whole_seconds()).unwrap_or(0),
        ))
    };
    match r.holder(now) {
        Holder::Finished => format!("{}: nobody runs it any more", r.status.as_str()),
        Holder::Held {
            owner,
            until,
            renewed,
        } => format!(
            "held by {owner} until {} UTC{}",
            clock(until),
            renewed.map_or(String::new(), |t| format!(" (renewed {} ago)", ago(t)))
        ),
        Holder::Abandoned { owner, until } => format!(
            "held by a runner that stopped renewing ({owner}; its lease ran out at {} UTC, {} ago); the next tick takes it over (`sfhs import resume {}` now)",
            clock(until),
            ago(until),
            r.id
        ),
        Holder::Free { started: false } => format!(
            "pending: the next scheduled tick starts it (`sfhs import resume {}` now)",
            r.id
        ),
        Holder::Free { started: true } => format!(
            "waiting for a runner ({}): the hand-over invocation or the next tick resumes it from its checkpoint (`sfhs import resume {}` now)",
            if r.last_error.is_some() {
                "let go after a retryable error"
            } else {
                "handed over"
            },
            r.id
        ),
    }
}

fn exit_for(record: &ImportRecord) -> ExitCode {
    if record.status == ImportStatus::Failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Where a resume continues, for people.
fn checkpoint_text(c: &Checkpoint) -> Option<String> {
    let key = match c.key() {
        Some(Some(id)) => format!("after {id} (in Id order)"),
        Some(None) => "from the first record".to_owned(),
        None => {
            "from the first record (a checkpoint of an older version, without a key)".to_owned()
        }
    };
    match c {
        Checkpoint::Start
        | Checkpoint::Rest {
            next_records_url: None,
            ..
        } => Some(key),
        Checkpoint::Rest { .. } => Some(format!(
            "at the query cursor while Salesforce keeps it, else {key}"
        )),
        Checkpoint::Bulk { job_id, .. } => Some(format!(
            "in Bulk job {job_id} while its results are kept, else in a new job {key}"
        )),
        Checkpoint::Done => None,
    }
}

/// The error records of an import's work items.
async fn import_errors(
    table: &str,
    import_id: &str,
) -> anyhow::Result<Vec<sfhs_core::sync::ErrorRecord>> {
    use sfhs_core::sync::ErrorStore as _;
    use sfhs_core::work_item::{Source, WorkItem};
    let all = crate::deployed::aws()
        .await
        .error_store(table)
        .list()
        .await?;
    Ok(all
        .into_iter()
        .filter(|e| {
            WorkItem::from_json(&e.work_item).is_ok_and(
                |w| matches!(&w.source, Source::Import { import_id: i, .. } if i == import_id),
            )
        })
        .collect())
}

fn print_one(r: &ImportRecord, as_json: bool) -> anyhow::Result<()> {
    let progress = Progress::of(r, OffsetDateTime::now_utc());
    if as_json {
        let holder = r.holder(OffsetDateTime::now_utc());
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"import": r, "progress": progress, "holder": holder})
            )?
        );
        return Ok(());
    }
    println!("import   {}", r.id);
    println!(
        "object   {}{}",
        r.object,
        r.filter
            .as_ref()
            .map_or(String::new(), |f| format!(" WHERE {f}"))
    );
    println!(
        "status   {} ({} method)",
        r.status.as_str(),
        r.method.as_str()
    );
    if !r.status.is_final() {
        println!("runner   {}", holder_text(r, OffsetDateTime::now_utc()));
        if let Some(line) = checkpoint_text(&r.checkpoint) {
            println!("resumes  {line}");
        }
    }
    println!(
        "progress {} of {} synced or failed ({:.1}%), {} enqueued; synced {}, failed {}",
        progress.done, r.total, progress.percent, r.enqueued, r.synced, r.failed
    );
    if r.unchanged > 0 || r.force {
        println!(
            "         {} of the synced were unchanged in HubSpot (no write){}",
            r.unchanged,
            if r.force {
                "; --force: every record is written"
            } else {
                ""
            }
        );
    }
    if let Some(rate) = progress.rate_per_second {
        println!("rate     {rate:.1} records/s");
    }
    if let Some(eta) = progress.eta_seconds {
        println!("eta      {}", human_duration(Duration::from_secs(eta)));
    }
    if let Some(s) = r.started {
        println!("started  {s}");
    }
    if let Some(f) = r.finished {
        println!("finished {f}");
    }
    if let Some(e) = &r.last_error {
        println!("error    {e}");
    }
    if r.failed > 0 {
        println!(
            "         {} records failed: see `sfhs errors list`",
            r.failed
        );
    }
    Ok(())
}
