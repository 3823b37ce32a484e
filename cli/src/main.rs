//! `sfhs`: the operator tool.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod deletes;
mod demo;
mod deployed;
mod dev;
mod errors;
mod generate;
mod import;
mod live;
mod mappings;
mod outbound;
mod output;
mod preview;
mod reconcile;
mod salesforce;
mod setup;
mod sim;
mod simulated;
mod status;
mod webhook;

/// Operate the Salesforce -> HubSpot custom-object sync.
#[derive(Debug, Parser)]
#[command(name = "sfhs", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Salesforce outbound messages: parse one and print it as JSON.
    #[command(subcommand)]
    Outbound(outbound::Command),
    /// Mapping files: validate, plan, apply, enable, pause, list, show.
    Mappings(mappings::Args),
    /// Salesforce set-up from the mappings: outbound messages and flows (plan, apply).
    Salesforce(salesforce::Args),
    /// The whole product locally in one process: the webhook over HTTP, the worker on both
    /// queues, imports and the delete sweep, on an embedded store kept on disk; against the
    /// simulators, or a real HubSpot portal and Salesforce org when credentials are given.
    Dev(dev::Args),
    /// The whole product end to end on the simulators, with no setup; exit 0 only if HubSpot
    /// matches Salesforce.
    Demo(demo::Args),
    /// From nothing to syncing: connect, map each Salesforce object to a HubSpot object (created
    /// from the describe), deletes, associations, fields, review, then the mapping files and the
    /// Salesforce side, then the import and the sync run here; asked in a terminal, or answered
    /// from --answers FILE or flags.
    Setup(setup::Args),
    /// Run a simulator of HubSpot or Salesforce.
    #[command(subcommand)]
    Sim(sim::Command),
    /// Import existing Salesforce records: count, start (--force rewrites unchanged records),
    /// list, show, cancel, resume.
    Import(import::Args),
    /// Salesforce deletes: sweep them onto the live queue now, as the scheduled sweep does.
    Deletes(deletes::Args),
    /// Compare an object in Salesforce, the ledger and HubSpot; enqueue the repairs.
    Reconcile(reconcile::Args),
    /// Records the worker could not write: list, show, replay.
    Errors(errors::Args),
    /// Per object: synced (and unchanged), deleted, waiting, last sync; errors; fields the outbound
    /// message is not known to send; queue depths.
    Status(status::Args),
}

/// Exit statuses: 0 done, 1 problems found, 2 could not run (bad input, bad usage).
fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Outbound(cmd) => outbound::run(cmd),
        Command::Mappings(args) => serve(mappings::run(args)),
        Command::Salesforce(args) => serve(salesforce::run(args)),
        Command::Demo(args) => serve(demo::run(args)),
        Command::Dev(args) => serve(async { dev::run(args).await.map(|()| ExitCode::SUCCESS) }),
        Command::Setup(args) => serve(setup::run(args)),
        Command::Sim(cmd) => serve(async { sim::run(cmd).await.map(|()| ExitCode::SUCCESS) }),
        Command::Import(args) => serve(import::run(args)),
        Command::Deletes(args) => serve(deletes::run(args)),
        Command::Reconcile(args) => serve(reconcile::run(args)),
        Command::Errors(args) => serve(errors::run(args)),
        Command::Status(args) => serve(status::run(args)),
    }
}

/// Runs an async command; an error (it could not run) is exit status 2.
fn serve(fut: impl std::future::Future<Output = anyhow::Result<ExitCode>>) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sfhs: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(fut) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sfhs: {e:#}");
            ExitCode::from(2)
        }
    }
}
