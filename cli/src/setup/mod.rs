//! `sfhs setup`: from nothing to syncing, HubSpot's own custom-object sync wizard as one
//! command. Its screens, in the seed's order: connect (who and where), map each object (an
//! existing HubSpot object, or one created from the describe with the associations its lookups
//! need), the delete rule, the lookups kept as associations, the field pairs, the review (errors
//! block: nothing is written), then the files, enabled or saved for later, and the Salesforce
//! side (plan, or apply). It writes ordinary mapping files; run again, it starts from them.
//!
//! Answered from an answers file or flags; the screens that ask in a terminal come next.

mod answers;
mod connect;
mod files;
mod object;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::Args as ClapArgs;
use sfhs_core::mapping::Mapping;
use sfhs_core::mapping::schema::SfObject;
use sfhs_core::mapping::validate::{Severity, Source, validate_offline};
use sfhs_core::salesforce_setup;

pub use answers::{Answers, ObjectAnswers, SalesforceStep};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Directory the mapping files go to (created if needed); run again, it starts from them.
    dir: PathBuf,
    /// Answer every screen from this YAML file instead of asking (docs/setup.md).
    #[arg(long)]
    answers: Option<PathBuf>,
    /// Without --answers: a Salesforce object to map, with the seed's defaults (a HubSpot
    /// object created from the describe, deletes archived, every lookup); repeat for several.
    #[arg(long = "object", value_name = "OBJECT")]
    objects: Vec<String>,
    /// Without --answers: enable the mappings (default: saved for later, paused).
    #[arg(long)]
    enable: bool,
    /// Without --answers: the Salesforce side once the files are written.
    #[arg(long, value_enum, default_value = "skip")]
    salesforce: SalesforceStep,
    #[command(flatten)]
    setup: crate::salesforce::SetupArgs,
    #[command(flatten)]
    live: crate::live::LiveArgs,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let answers = match (&args.answers, args.objects.is_empty()) {
        (Some(path), _) => Answers::read(path)?,
        (None, false) => Answers::of_flags(&args.objects, args.enable, args.salesforce),
        (None, true) => bail!(
            "name the objects to map: --answers FILE, or --object OBJECT (repeat); docs/setup.md"
        ),
    };
    let ends = connect::connect(&args.live).await?;
    for line in &ends.said {
        println!("{line}");
    }
    let described = describe_all(&ends.salesforce, &answers).await?;
    let mut mappings = Vec::new();
    for (a, sf) in &described {
        let existing = files::existing(&args.dir, &sf.name)?;
        let built = object::build(&ends, sf, a, existing).await?;
        println!("{}:", sf.name);
        for line in &built.done {
            println!("  {line}");
        }
        mappings.push(built.mapping);
    }
    if !review(&ends, &args.dir, &mappings).await? {
        println!(
            "Nothing written: fix what the review found (the answers, or the objects), then run setup again."
        );
        return Ok(ExitCode::from(1));
    }
    for path in files::write_all(&args.dir, &mappings)? {
        println!("wrote {}", path.display());
    }
    salesforce_step(&args, &ends, &mappings, answers.salesforce).await
}

/// Each object's describe, parents before the objects whose lookups point to them (so that a
/// child's association finds its parent's HubSpot object).
async fn describe_all(
    client: &sfhs_salesforce::Client,
    answers: &Answers,
) -> anyhow::Result<Vec<(ObjectAnswers, SfObject)>> {
    let mut described = Vec::new();
    for a in &answers.objects {
        let Some(sf) = sfhs_salesforce::domain::describe(client, &a.salesforce).await? else {
            bail!(
                "Salesforce has no object {} (its API name, e.g. Invoice__c)",
                a.salesforce
            );
        };
        described.push((a.clone(), sf));
    }
    Ok(parents_first(described))
}

fn parents_first(mut left: Vec<(ObjectAnswers, SfObject)>) -> Vec<(ObjectAnswers, SfObject)> {
    let mut out: Vec<(ObjectAnswers, SfObject)> = Vec::new();
    while !left.is_empty() {
        let ready = left
            .iter()
            .position(|(_, sf)| {
                sfhs_core::mapping::generate::lookup_targets(sf)
                    .iter()
                    .all(|t| {
                        t.eq_ignore_ascii_case(&sf.name)
                            || !left.iter().any(|(_, o)| o.name.eq_ignore_ascii_case(t))
                    })
            })
            .unwrap_or(0);
        out.push(left.remove(ready));
    }
    out
}

/// The review screen: every problem, offline and against both live schemas; `false` when one
/// is an error.
async fn review(
    ends: &connect::Ends,
    dir: &std::path::Path,
    mappings: &[Mapping],
) -> anyhow::Result<bool> {
    let files: Vec<(String, Mapping)> = mappings
        .iter()
        .map(|m| {
            (
                files::path_of(dir, &m.salesforce_object)
                    .display()
                    .to_string(),
                m.clone(),
            )
        })
        .collect();
    let sources: Vec<Source<'_>> = files
        .iter()
        .map(|(file, mapping)| Source { file, mapping })
        .collect();
    let mut problems = validate_offline(&sources);
    let live = crate::live::Sources::new(
        Some(ends.hubspot.clone()),
        Some(ends.salesforce.clone()),
        ends.native_synced.clone(),
    );
    problems.extend(live.check_all(&files).await?.problems);
    for p in &problems {
        println!("{p}");
    }
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    println!(
        "review: {errors} error(s), {} warning(s)",
        problems.len() - errors
    );
    Ok(errors == 0)
}

/// The Salesforce side of the enabled mappings: the plan, and the deploy when asked.
async fn salesforce_step(
    args: &Args,
    ends: &connect::Ends,
    mappings: &[Mapping],
    step: SalesforceStep,
) -> anyhow::Result<ExitCode> {
    if step == SalesforceStep::Skip {
        println!(
            "Next: `sfhs salesforce plan {0}` then `apply {0}`; run the sync with `sfhs dev --mappings {0}` or apply the files to the stack (`sfhs mappings apply {0}`).",
            args.dir.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let refs: Vec<&Mapping> = mappings.iter().collect();
    let cfg = crate::salesforce::config(&args.setup, &args.live)?;
    let types = crate::salesforce::field_types(&ends.salesforce, &refs).await?;
    let setups = salesforce_setup::desired(&refs, &cfg, &types);
    let changes = crate::salesforce::read_plan(&ends.salesforce, &setups).await?;
    crate::salesforce::print_plan(&changes, &refs, false)?;
    if step == SalesforceStep::Plan {
        return Ok(ExitCode::SUCCESS);
    }
    let outcome = crate::salesforce::deploy(
        &ends.salesforce,
        &setups,
        &cfg,
        false,
        Duration::from_secs(600),
        None,
    )
    .await;
    crate::salesforce::report_deploy(outcome, &changes, false, false)
}
