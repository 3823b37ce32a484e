//! `sfhs import ...`: count, start, list, show, resume, cancel imports of existing records; and
//! `sfhs deletes sweep` (in `deletes.rs`). See `docs/import.md`. One module per subcommand;
//! `connect` builds what they connect to, `text` says an import for people.
//!
//! Exit statuses: 0 done, 1 problems (a failed import, a refused cancel), 2 could not run.

mod cancel;
mod connect;
mod count;
mod list;
mod resume;
mod show;
mod start;
mod text;

use std::process::ExitCode;

use clap::{Args as ClapArgs, Subcommand};

pub use connect::{imports_store, mapping_store, reader, sqs_publisher};
pub(crate) use text::outcome_text;

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
    #[command(flatten)]
    pub output: crate::output::Output,
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
    Count(count::Args),
    /// Record an import; the import function runs it (or this process, with --local).
    Start(start::Args),
    /// The imports, newest first.
    List,
    /// One import: progress, rate, ETA, and its records the worker could not write.
    Show(show::Args),
    /// Stop an import; what is on the queue already still syncs.
    Cancel(cancel::Args),
    /// Resume an import that no live runner holds (pending, handed over, or abandoned by a
    /// runner that stopped renewing its lease) now: invoke the import function for it, or run
    /// it in this process with --local. Refused while a live runner holds it.
    Resume(resume::Args),
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let common = &args.common;
    match &args.command {
        Command::Count(a) => count::run(common, a).await,
        Command::Start(a) => start::run(common, a).await,
        Command::List => list::run(common).await,
        Command::Show(a) => show::run(common, a).await,
        Command::Resume(a) => resume::run(common, a).await,
        Command::Cancel(a) => cancel::run(common, a).await,
    }
}
