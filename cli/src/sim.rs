//! `sfhs sim ...`: the project's simulators as standalone servers. Each prints its base URL as the
//! first line on stdout and serves until Ctrl-C.

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
        Command::Hubspot(args) => sfhs_hubspot_sim::cli::run(args).await,
        Command::Salesforce(args) => sfhs_salesforce_sim::cli::run(args).await,
    }
}
