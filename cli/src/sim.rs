//! `sfhs sim ...`: the project's simulators as standalone servers. Each prints its base URL as the
//! first line on stdout and serves until Ctrl-C.

use std::io::Write as _;

use anyhow::Context as _;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// A HubSpot simulator: schemas, records, search, associations, rate limits and faults.
    Hubspot(sfhs_hubspot_sim::cli::Args),
    /// A Salesforce simulator: a seeded org, OAuth, describe, SOQL, Bulk API 2.0, deleted
    /// records, and outbound messages sent to --outbound-url.
    Salesforce(sfhs_salesforce_sim::cli::Args),
}

pub async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Hubspot(args) => {
            let sim = sfhs_hubspot_sim::cli::start(args).await?;
            until_ctrl_c(&sim.base_url()).await?;
            sim.shutdown().await;
        }
        Command::Salesforce(args) => {
            let sim = sfhs_salesforce_sim::cli::start(args).await?;
            until_ctrl_c(sim.base_url()).await?;
            sim.shutdown().await;
        }
    }
    Ok(())
}

/// Prints the base URL as the first line on stdout, then waits for Ctrl-C.
async fn until_ctrl_c(base_url: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{base_url}").context("writing the base URL")?;
    out.flush().context("flushing stdout")?;
    drop(out);
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")
}
