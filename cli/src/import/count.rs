//! `sfhs import count`: how many records an import would bring, and its cost.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args as ClapArgs;
use serde_json::json;
use sfhs_core::import::ports::SalesforceReader as _;
use sfhs_core::import::progress::{Estimate, human_duration};

use super::{Common, mapping_store, reader};

#[derive(Debug, ClapArgs)]
pub(super) struct Args {
    /// The Salesforce object of an applied mapping, e.g. Invoice__c.
    object: String,
    /// A SOQL condition (without WHERE).
    #[arg(long = "where")]
    condition: Option<String>,
    /// HubSpot calls allowed per 10 seconds for this system.
    #[arg(long, default_value_t = 190)]
    rate_limit: u64,
}

pub(super) async fn run(common: &Common, args: &Args) -> anyhow::Result<ExitCode> {
    let object = &args.object;
    let total = reader(common)?.count(object, args.condition.as_deref()).await?;
    let associations = match &common.mappings_table {
        Some(_) => mapping_store(common)
            .await?
            .get(object)
            .await?
            .map_or(0, |m| m.mapping.associations.len()),
        None => 0,
    };
    let e = Estimate::new(total, associations, args.rate_limit);
    if common.output.json {
        println!("{}", serde_json::to_string_pretty(&json!({"object": object, "estimate": e}))?);
        return Ok(ExitCode::SUCCESS);
    }
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
    Ok(ExitCode::SUCCESS)
}
