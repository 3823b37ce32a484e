//! `sfhs demo`: the main job end to end with no setup, in one process.
//!
//! It starts both simulators, creates the HubSpot custom objects from the Salesforce describe,
//! applies and enables the example mappings, imports the existing records, then changes, creates
//! and deletes records in Salesforce so that outbound messages (through the real webhook use case)
//! and a delete sweep flow through the real sync engine, and finally compares HubSpot with
//! Salesforce record by record. Exit status 0 only when they match.
//!
//! Queues, the ledger and the stores are in memory here; in AWS they are SQS and DynamoDB.
//! `stage`: the simulators and the webhook; `scenario`: steps 2 to 4; `compare`: step 5;
//! `summary`: what is printed at the end.

mod compare;
mod scenario;
mod stage;
mod summary;

use std::process::ExitCode;
use std::time::Instant;

use clap::Args as ClapArgs;
use sfhs_core::sync::ErrorStore as _;

pub(crate) use stage::{EXAMPLE_MAPPINGS, simulated_portal};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Invoices in the seeded Salesforce org (each with about two lines).
    #[arg(long, default_value_t = 200)]
    invoices: usize,
    /// Write every request the HubSpot simulator received to FILE, one JSON object a line
    /// (`method`, `path`, `query`, `body`): what the product sends to HubSpot, for audit and for
    /// the conformance suite, which checks each body against HubSpot's SDK.
    #[arg(long, value_name = "FILE")]
    hubspot_requests: Option<std::path::PathBuf>,
}

fn step(n: u32, text: &str) {
    println!("{n}. {text}");
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let stage = stage::Stage::start(args.invoices).await?;
    step(1, "create the HubSpot custom objects from the Salesforce describe");
    let describes = stage.portal().await?;
    step(
        2,
        "apply and enable the example mappings, then set Salesforce up from them (outbound messages and flows, deployed through the Metadata API)",
    );
    let mut scenario = scenario::Scenario::enable(&stage).await?;
    step(3, "import the existing records");
    scenario.import().await?;
    step(4, "change, create and delete records in Salesforce (outbound messages and a sweep)");
    scenario.change().await?;
    step(5, "compare HubSpot with Salesforce, record by record");
    let comparison = compare::compare(&stage, &scenario.mappings, &describes).await?;
    let errors = stage.world.errors.list().await?;
    let totals = &scenario.pipeline.totals;
    summary::print(&comparison, totals, &errors, started.elapsed());
    if let Some(path) = &args.hubspot_requests {
        summary::write_requests(path, &stage.hs.requests())?;
        println!("  HubSpot requests written  {}", path.display());
    }
    let code = summary::verdict(&comparison, &errors, totals);
    drop(scenario);
    stage.shutdown().await;
    Ok(code)
}
