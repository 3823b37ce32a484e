//! `sfhs`: the operator tool.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod outbound;

/// Operate the Salesforce -> HubSpot custom-object sync.
#[derive(Debug, Parser)]
#[command(name = "sfhs", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Salesforce outbound messages.
    #[command(subcommand)]
    Outbound(outbound::Command),
}

/// Exit statuses: 0 done, 1 problems found, 2 could not run (bad input, bad usage).
fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Outbound(cmd) => outbound::run(cmd),
    }
}
