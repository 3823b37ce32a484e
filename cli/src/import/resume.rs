//! `sfhs import resume`: resume an import that no live runner holds, through the import function
//! or in this process (`--local`).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use clap::Args as ClapArgs;
use sfhs_core::import::ports::ImportStore;
use sfhs_core::import::{Continuation as _, MemoryContinuation};
use time::OffsetDateTime;

use super::connect::stored_import;
use super::connect::{run_here, runner_here};
use super::text::{exit_for, holder_text, print_one};
use super::{Common, imports_store, sqs_publisher};

#[derive(Debug, ClapArgs)]
pub(super) struct Args {
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
}

pub(super) async fn run(common: &Common, args: &Args) -> anyhow::Result<ExitCode> {
    let id = &args.id;
    let store = imports_store(common).await?;
    let record = stored_import(store.as_ref(), id).await?;
    let now = OffsetDateTime::now_utc();
    if !record.holder(now).is_claimable() {
        eprintln!("sfhs: import {id} cannot be resumed: {}", holder_text(&record, now));
        print_one(&record, common.output.json)?;
        return Ok(ExitCode::from(1));
    }
    if args.local {
        resume_here(common, args, store.clone()).await?;
    } else {
        hand_to_function(common, args).await?;
    }
    let record = store.get(id).await?.unwrap_or(record);
    print_one(&record, common.output.json)?;
    Ok(exit_for(&record))
}

/// Runs the import in this process, onto the import queue.
async fn resume_here(
    common: &Common,
    args: &Args,
    store: Arc<dyn ImportStore>,
) -> anyhow::Result<()> {
    let Some(url) = &args.queue_url else {
        bail!("--local needs the import queue: pass --queue-url or set SFHS_IMPORT_QUEUE_URL");
    };
    let continuation = Arc::new(MemoryContinuation::new());
    let publisher = sqs_publisher(url).await;
    let runner = runner_here(common, store, publisher, &continuation, args.page_size).await?;
    run_here(&runner, &continuation, &args.id).await
}

/// Invokes the import function for the import: it resumes from its checkpoint.
async fn hand_to_function(common: &Common, args: &Args) -> anyhow::Result<()> {
    let Some(function) = &args.function else {
        bail!(
            "resuming needs the import function (--function or SFHS_IMPORT_FUNCTION: the ImportFunctionName stack output), or --local with the import queue"
        );
    };
    crate::deployed::aws().await.invoke(function.clone()).continue_import(&args.id).await?;
    if !common.output.json {
        println!(
            "import {id} handed to {function}: it resumes from its checkpoint now (`sfhs import show {id}`)",
            id = args.id
        );
    }
    Ok(())
}
