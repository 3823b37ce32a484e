//! `sfhs setup`: from nothing to syncing, HubSpot's own custom-object sync wizard as one
//! command. Its screens, in the seed's order: connect (who and where), map each object (an
//! existing HubSpot object, or one created from the describe with the associations its lookups
//! need), the delete rule, the lookups kept as associations, the field pairs, the review (errors
//! block: nothing is written), then the files, enabled or saved for later, and the Salesforce
//! side (plan, or apply). It writes ordinary mapping files; run again, it starts from them.
//!
//! Asked screen by screen in a terminal (`ask`), or answered from an answers file or flags; at
//! the end, the records counted and the sync started here (`run_here`), when asked to.

mod answers;
mod ask;
mod connect;
mod files;
mod object;
mod run_here;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::Args as ClapArgs;
use sfhs_core::mapping::schema::SfObject;
use sfhs_core::mapping::validate::Severity;
use sfhs_core::mapping::{Mapping, State};
use sfhs_core::salesforce_setup;

pub use answers::{Answers, ObjectAnswers, SalesforceStep, SyncStep};

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

/// How the screens are answered.
enum Mode {
    /// From an answers file or flags.
    Answered(Answers),
    /// In the terminal, screen by screen.
    Asked,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match walk(&args).await {
        Err(e) if matches!(e.downcast_ref::<ask::Stop>(), Some(ask::Stop::Cancelled)) => {
            println!("{e}");
            Ok(ExitCode::from(1))
        }
        other => other,
    }
}

async fn walk(args: &Args) -> anyhow::Result<ExitCode> {
    let mode = mode(args)?;
    let ends = connect::connect(&args.live).await?;
    for line in &ends.said {
        println!("{line}");
    }
    let answers = match &mode {
        Mode::Answered(a) => a.clone(),
        Mode::Asked => asked(&ends).await?,
    };
    let asked = matches!(mode, Mode::Asked);
    let mut mappings = Vec::new();
    for (a, sf) in &describe_all(&ends.salesforce, &answers).await? {
        let existing = files::existing(&args.dir, &sf.name)?;
        let mut built = object::build(&ends, sf, a, existing).await?;
        println!("{}:", sf.name);
        for line in &built.done {
            println!("  {line}");
        }
        if asked {
            ask::refine(&mut built.mapping)?;
        }
        mappings.push(built.mapping);
    }
    if !review(&ends, &args.dir, &mappings).await? {
        println!(
            "Nothing written: fix what the review found (the answers, or the objects), then run setup again."
        );
        return Ok(ExitCode::from(1));
    }
    let step = if asked { last_screens(&ends, &mut mappings).await? } else { answers.salesforce };
    for path in files::write_all(&args.dir, &mappings)? {
        println!("wrote {}", path.display());
    }
    let code = salesforce_step(args, &ends, &mappings, step, asked).await?;
    if code != ExitCode::SUCCESS || !mappings.iter().any(|m| m.state == State::Enabled) {
        return Ok(code);
    }
    for line in run_here::counts(&ends.salesforce, &mappings).await? {
        println!("{line}");
    }
    let here = if asked { ask::sync_here()? } else { answers.sync == SyncStep::Here };
    if here {
        run_here::run(&args.dir, run_here::listen_addr(args.live.webhook_url.as_deref())).await?;
    }
    Ok(ExitCode::SUCCESS)
}

fn mode(args: &Args) -> anyhow::Result<Mode> {
    use std::io::IsTerminal as _;
    Ok(match (&args.answers, args.objects.is_empty()) {
        (Some(path), _) => Mode::Answered(Answers::read(path)?),
        (None, false) => {
            Mode::Answered(Answers::of_flags(&args.objects, args.enable, args.salesforce))
        }
        (None, true) if std::io::stdin().is_terminal() => Mode::Asked,
        (None, true) => bail!(
            "no terminal to ask in: answer with --answers FILE, or --object OBJECT (repeat); docs/setup.md"
        ),
    })
}

/// Screens 1 and 2 asked: go on, the objects, each one's HubSpot object and delete rule.
async fn asked(ends: &connect::Ends) -> anyhow::Result<Answers> {
    if !ask::go_on()? {
        return Err(ask::Stop::Cancelled.into());
    }
    let mut available: Vec<(String, String, bool)> = ends
        .salesforce
        .describe_global()
        .await?
        .into_iter()
        .filter(|o| o.queryable)
        .map(|o| (o.name, o.label, o.custom))
        .collect();
    available.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    let chosen = ask::objects(&available)?;
    // Nothing is created until every object is answered: the portal's objects, read once.
    let portal = ends.hubspot.schemas().await?;
    let mut objects = Vec::new();
    for sf in chosen {
        objects.push(ask::object(&sf, &portal, ends.portal_id)?);
    }
    Ok(Answers { objects, salesforce: SalesforceStep::Skip, sync: SyncStep::Later })
}

/// Screens 7 and 8 asked: the preview, enable or save, and whether to deploy the Salesforce
/// side the enabled mappings need.
async fn last_screens(
    ends: &connect::Ends,
    mappings: &mut [Mapping],
) -> anyhow::Result<SalesforceStep> {
    if ask::preview()? {
        let sources = crate::live::Sources::new(
            Some(ends.hubspot.clone()),
            Some(ends.salesforce.clone()),
            ends.native_synced.clone(),
        );
        for m in mappings.iter() {
            let args = crate::preview::PreviewArgs {
                object: m.salesforce_object.clone(),
                dir: None,
                from_outbound: None,
                limit: Some(1),
            };
            crate::preview::preview(m.clone(), &sources, &args, false).await?;
        }
    }
    let enable = ask::enable()?;
    for m in mappings.iter_mut() {
        m.state = if enable { State::Enabled } else { State::Paused };
    }
    Ok(if enable { SalesforceStep::Plan } else { SalesforceStep::Skip })
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
            bail!("Salesforce has no object {} (its API name, e.g. Invoice__c)", a.salesforce);
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
                sfhs_core::mapping::generate::lookup_targets(sf).iter().all(|t| {
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
        .map(|m| (files::path_of(dir, &m.salesforce_object).display().to_string(), m.clone()))
        .collect();
    let problems = crate::live::Sources::new(
        Some(ends.hubspot.clone()),
        Some(ends.salesforce.clone()),
        ends.native_synced.clone(),
    )
    .check(&files)
    .await?;
    for p in &problems {
        println!("{p}");
    }
    let errors = problems.iter().filter(|p| p.severity == Severity::Error).count();
    println!("review: {errors} error(s), {} warning(s)", problems.len() - errors);
    Ok(errors == 0)
}

/// The Salesforce side of the enabled mappings: the plan, and the deploy when answered so (or,
/// in the terminal, confirmed).
async fn salesforce_step(
    args: &Args,
    ends: &connect::Ends,
    mappings: &[Mapping],
    step: SalesforceStep,
    asked: bool,
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
    let deploy_now = match step {
        SalesforceStep::Apply => true,
        _ if asked => ask::deploy()?,
        _ => false,
    };
    if !deploy_now {
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
