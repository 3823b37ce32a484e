//! `sfhs salesforce plan|apply DIR`: the Salesforce set-up of the mappings as code. For each
//! enabled mapping, an outbound message that sends every mapped field, lookup, the version field
//! and `Id` to this deployment's webhook, and a record-triggered flow that sends it; shown as a
//! difference from what the org holds (Tooling API), deployed through the Metadata API
//! (`deployRequest`), or written to a directory (`--out`) for teams that deploy with the
//! Salesforce CLI.
//!
//! Exit statuses: 0 done, 1 problems found (invalid mappings, a deploy Salesforce refused, a
//! plan with changes for `plan --exit-code`), 2 could not run (no credentials, no permission,
//! a deploy that did not finish in time).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args as ClapArgs, Subcommand};
use serde_json::json;
use sfhs_core::mapping::sent::{self, SentOutcome};
use sfhs_core::mapping::store::MappingStore;
use sfhs_core::mapping::validate::has_errors;
use sfhs_core::mapping::{Mapping, Problem};
use sfhs_core::salesforce_setup::{
    self, ChangeKind, FieldTypes, ObjectSetup, SetupChange, SetupConfig,
};
use sfhs_salesforce::metadata::{ComponentFailure, DeployOptions, package_zip};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    common: crate::mappings::Common,
    #[command(flatten)]
    setup: SetupArgs,
    #[command(subcommand)]
    command: Command,
}

/// Where outbound messages go and as whom.
#[derive(Debug, Clone, ClapArgs)]
pub struct SetupArgs {
    /// The webhook's secret (the `UrlSecretArn` secret's value), sent as a query parameter.
    #[arg(long, global = true, env = "SFHS_URL_SECRET", hide_env_values = true)]
    pub url_secret: Option<String>,
    /// The query parameter that carries the secret.
    #[arg(long, global = true, env = "SFHS_URL_SECRET_PARAM", default_value = "secret")]
    pub url_secret_param: String,
    /// The Salesforce user outbound messages are sent as (a username).
    #[arg(long, global = true, env = "SFHS_SALESFORCE_INTEGRATION_USER")]
    pub integration_user: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// What `apply` would change in Salesforce: per object, its outbound message and its flow.
    Plan(crate::mappings::PlanArgs),
    /// Deploy the outbound messages and flows (all or nothing), or write the package (`--out`).
    ///
    /// With the mappings table (`--table`), record there at once what the deployed outbound
    /// messages send (the stack's tick also reads it from the org, every SentFieldsSeconds), so
    /// that the worker clears absent fields.
    Apply {
        /// Directory of mapping files (`*.yaml`, `*.yml`).
        dir: PathBuf,
        /// Validate the deploy in Salesforce without changing anything.
        #[arg(long)]
        check_only: bool,
        /// Write the Metadata API package (package.xml, workflows/, flows/) to this directory
        /// instead of deploying it (it holds the URL secret: keep it out of git).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Give up waiting for the deploy after this many seconds.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (dir, plan_only) = match &args.command {
        Command::Plan(plan) => (&plan.dir, true),
        Command::Apply { dir, .. } => (dir, false),
    };
    let loaded = crate::mappings::load_dir(dir)?;
    if has_errors(&loaded.problems) {
        report_problems(&loaded.problems, args.common.output.json)?;
        if !args.common.output.json {
            eprintln!(
                "nothing {}: fix the mapping errors first",
                if plan_only { "planned" } else { "applied" }
            );
        }
        return Ok(ExitCode::from(1));
    }
    let mappings: Vec<&Mapping> = loaded.files.iter().map(|(_, m)| m).collect();
    if let Command::Apply { out: Some(out), .. } = &args.command {
        let cfg = config(&args.setup, &args.common.live)?;
        let types = match args.common.live.salesforce()? {
            Some(client) => field_types(&client, &mappings).await?,
            None => {
                if !args.common.output.json
                    && mappings.iter().any(|m| m.salesforce_trigger.is_some())
                {
                    eprintln!(
                        "no Salesforce org to describe: the entry conditions' values are typed from their text (a number as a number); connect the org (SFHS_SALESFORCE_LOGIN_URL) to type them from the fields"
                    );
                }
                FieldTypes::default()
            }
        };
        let setups = salesforce_setup::desired(&mappings, &cfg, &types);
        return write_package(out, &setups, &cfg, args.common.output.json);
    }
    let client = args.common.live.salesforce()?.context(
        "no Salesforce org: set SFHS_SALESFORCE_LOGIN_URL, SFHS_SALESFORCE_CLIENT_ID and credentials (docs/mappings.md), or pass --out DIR to write the package",
    )?;
    let cfg = config(&args.setup, &args.common.live)?;
    let types = field_types(&client, &mappings).await?;
    let setups = salesforce_setup::desired(&mappings, &cfg, &types);
    let changes = read_plan(&client, &setups).await?;
    match args.command {
        Command::Plan(crate::mappings::PlanArgs { exit_code, .. }) => {
            print_plan(&changes, &mappings, args.common.output.json)?;
            let any = changes.iter().any(|c| c.change != ChangeKind::Same);
            Ok(if exit_code && any { ExitCode::from(1) } else { ExitCode::SUCCESS })
        }
        Command::Apply { check_only, timeout, .. } => {
            if !args.common.output.json {
                print_plan(&changes, &mappings, false)?;
            }
            let store = args.common.named_store().await;
            let outcome = deploy(
                &client,
                &setups,
                &cfg,
                check_only,
                Duration::from_secs(timeout),
                store.as_deref(),
            )
            .await;
            report_deploy(outcome, &changes, check_only, args.common.output.json)
        }
    }
}

/// The field types of the objects whose flows have entry conditions, from the org's describe
/// (an object the org lacks is left out: validation names it).
pub async fn field_types(
    client: &sfhs_salesforce::Client,
    mappings: &[&Mapping],
) -> anyhow::Result<FieldTypes> {
    let mut described = Vec::new();
    for m in mappings.iter().filter(|m| m.salesforce_trigger.is_some()) {
        if let Some(o) = sfhs_salesforce::domain::describe(client, &m.salesforce_object)
            .await
            .map_err(unreadable("cannot describe an object with entry conditions"))?
        {
            described.push(o);
        }
    }
    Ok(FieldTypes::of(&described))
}

/// The set-up configuration from the flags (and the live arguments' webhook URL).
pub fn config(setup: &SetupArgs, live: &crate::live::LiveArgs) -> anyhow::Result<SetupConfig> {
    let Some(webhook_url) = live.webhook_url.clone() else {
        bail!(
            "no webhook URL: pass --webhook-url or set SFHS_WEBHOOK_URL (the stack's OutboundMessageUrl output)"
        );
    };
    let Some(integration_user) = setup.integration_user.clone() else {
        bail!(
            "no integration user: pass --integration-user or set SFHS_SALESFORCE_INTEGRATION_USER (the username outbound messages are sent as; docs/deploy.md)"
        );
    };
    Ok(SetupConfig {
        webhook_url,
        url_secret: setup.url_secret.clone(),
        secret_param: setup.url_secret_param.clone(),
        integration_user,
        api_version: live.salesforce_api_version.clone(),
    })
}

/// What a failed read of the org says: with the permission to grant when that is what failed.
fn unreadable(what: &'static str) -> impl FnOnce(sfhs_salesforce::Error) -> anyhow::Error {
    move |e| anyhow::anyhow!(permission_hint(&e, what))
}

fn permission_hint(e: &sfhs_salesforce::Error, what: &str) -> String {
    if e.is_insufficient_access() {
        format!(
            "{what}: the Salesforce user lacks a permission ({e}); give it the sfhs permission set of docs/deploy.md (View Setup and Configuration; Modify Metadata Through Metadata API Functions or Customize Application)"
        )
    } else {
        format!("{what}: {e}")
    }
}

/// The plan against what the org holds.
pub async fn read_plan(
    client: &sfhs_salesforce::Client,
    setups: &[ObjectSetup],
) -> anyhow::Result<Vec<SetupChange>> {
    let messages = client
        .outbound_messages(None)
        .await
        .map_err(unreadable("cannot read the org's outbound messages"))?;
    let names: Vec<String> = setups.iter().map(|s| s.flow.name.clone()).collect();
    let flows = client.flows(&names).await.map_err(unreadable("cannot read the org's flows"))?;
    Ok(salesforce_setup::plan(setups, &messages, &flows))
}

/// Why a deploy did not happen.
#[derive(Debug)]
pub enum DeployOutcome {
    /// Deployed (or validated); the objects whose stored mappings now know what is sent.
    Done {
        id: String,
        recorded: Vec<String>,
        not_recorded: Vec<String>,
    },
    Refused(sfhs_salesforce::Error),
    TimedOut(sfhs_salesforce::Error),
    Failed(anyhow::Error),
}

/// Deploys the set-up and, when it succeeded (not check-only), records what each outbound
/// message sends with the stored mapping (read back from the org).
pub async fn deploy(
    client: &sfhs_salesforce::Client,
    setups: &[ObjectSetup],
    cfg: &SetupConfig,
    check_only: bool,
    timeout: Duration,
    store: Option<&dyn MappingStore>,
) -> DeployOutcome {
    let files = salesforce_setup::package_files(setups, &cfg.api_version);
    let zip = match package_zip(&files) {
        Ok(z) => z,
        Err(e) => return DeployOutcome::Failed(e.into()),
    };
    let poll = Duration::from_millis(500).min(timeout / 10).max(Duration::from_millis(20));
    let result = match client.deploy(&zip, &DeployOptions::new(check_only), timeout, poll).await {
        Ok(r) => r,
        Err(e @ sfhs_salesforce::Error::DeployFailed { .. }) => return DeployOutcome::Refused(e),
        Err(e @ sfhs_salesforce::Error::DeployTimeout { .. }) => return DeployOutcome::TimedOut(e),
        Err(e) => {
            return DeployOutcome::Failed(anyhow::anyhow!(permission_hint(
                &e,
                "the deploy failed"
            )));
        }
    };
    let mut recorded = Vec::new();
    let mut not_recorded = Vec::new();
    if !check_only && let Some(store) = store {
        match record_sent_fields(client, setups, cfg, store).await {
            Ok((r, n)) => {
                recorded = r;
                not_recorded = n;
            }
            Err(e) => return DeployOutcome::Failed(e.context("deployed, but the applied mappings could not be updated with what the outbound messages send; run `sfhs mappings apply DIR` with Salesforce configured")),
        }
    }
    DeployOutcome::Done { id: result.id, recorded, not_recorded }
}

/// Reads the outbound messages back and stores their fields with the applied mappings (the
/// scheduled tick does the same later, for messages changed in Setup too).
async fn record_sent_fields(
    client: &sfhs_salesforce::Client,
    setups: &[ObjectSetup],
    cfg: &SetupConfig,
    store: &dyn MappingStore,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let live = client
        .outbound_messages(None)
        .await
        .map_err(unreadable("cannot read the outbound messages back"))?;
    let objects: Vec<String> = setups.iter().map(|s| s.message.object.clone()).collect();
    let refreshed = sent::refresh(
        store,
        &live,
        Some(&cfg.webhook_url),
        Some(&objects),
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    let mut recorded = Vec::new();
    let mut not_recorded: Vec<String> = objects
        .iter()
        .filter(|o| !refreshed.iter().any(|r| r.object.eq_ignore_ascii_case(o)))
        .cloned()
        .collect();
    for r in refreshed {
        if let SentOutcome::Failed { error } = &r.outcome {
            bail!("{}: {error}", r.object);
        }
        if r.known() {
            recorded.push(r.object);
        } else {
            not_recorded.push(r.object);
        }
    }
    Ok((recorded, not_recorded))
}

fn change_word(c: ChangeKind) -> &'static str {
    match c {
        ChangeKind::Create => "create",
        ChangeKind::Update => "update",
        ChangeKind::Same => "same",
    }
}

pub(crate) fn print_plan(
    changes: &[SetupChange],
    mappings: &[&Mapping],
    json: bool,
) -> anyhow::Result<()> {
    let paused: Vec<&str> = mappings
        .iter()
        .filter(|m| m.state != sfhs_core::mapping::State::Enabled)
        .map(|m| m.salesforce_object.as_str())
        .collect();
    if json {
        crate::output::print_json(&json!({"plan": changes, "paused_not_set_up": paused}))?;
        return Ok(());
    }
    println!("{:<8} {:<26} {:<36} WHAT", "CHANGE", "TYPE", "NAME");
    for c in changes {
        println!(
            "{:<8} {:<26} {:<36} {}",
            change_word(c.change),
            c.component_type,
            c.full_name,
            if c.differences.is_empty() { "-".to_owned() } else { c.differences.join("; ") }
        );
    }
    let creates = changes.iter().filter(|c| c.change == ChangeKind::Create).count();
    let updates = changes.iter().filter(|c| c.change == ChangeKind::Update).count();
    let same = changes.len() - creates - updates;
    println!("{creates} to create, {updates} to update, {same} already as wanted.");
    for p in paused {
        println!(
            "{p} is paused: no outbound message or flow is set up for it until it is enabled."
        );
    }
    Ok(())
}

pub(crate) fn report_deploy(
    outcome: DeployOutcome,
    changes: &[SetupChange],
    check_only: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match outcome {
        DeployOutcome::Done { id, recorded, not_recorded } => {
            if json {
                println!(
                    "{}",
                    json!({"deployed": !check_only, "check_only": check_only, "deploy_id": id, "plan": changes, "recorded": recorded, "not_recorded": not_recorded})
                );
            } else if check_only {
                println!(
                    "Salesforce validated deploy {id}: it would succeed; nothing was changed."
                );
            } else {
                println!("Deployed {id}: {} component(s) in Salesforce as planned.", changes.len());
                if !recorded.is_empty() {
                    println!(
                        "The applied mappings of {} now know what their outbound messages send: absent fields clear HubSpot properties.",
                        recorded.join(", ")
                    );
                }
                if !not_recorded.is_empty() {
                    println!(
                        "Not recorded for {} (no applied mapping, or no --table): the stack's scheduled tick (or `sfhs dev`) reads what the outbound messages send within SentFieldsSeconds (5 minutes by default); until then absent fields are kept in HubSpot.",
                        not_recorded.join(", ")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DeployOutcome::Refused(sfhs_salesforce::Error::DeployFailed {
            id,
            status,
            message,
            failures,
        }) => {
            if json {
                println!(
                    "{}",
                    json!({"deployed": false, "deploy_id": id, "status": status, "message": message, "component_failures": failures})
                );
            } else {
                print_refusal(&id, &status, message.as_deref(), &failures);
            }
            Ok(ExitCode::from(1))
        }
        DeployOutcome::Refused(e) => Err(e.into()),
        DeployOutcome::TimedOut(e) => Err(anyhow::anyhow!(
            "{e}; it is not reported as applied. It may still finish in Salesforce: run `sfhs salesforce plan DIR` to see where the org stands, or apply again with a longer --timeout"
        )),
        DeployOutcome::Failed(e) => Err(e),
    }
}

/// A deploy Salesforce refused, for people: its status, message and each component's problem.
fn print_refusal(id: &str, status: &str, message: Option<&str>, failures: &[ComponentFailure]) {
    eprintln!("Salesforce refused deploy {id} ({status}); nothing was applied.");
    if let Some(m) = message {
        eprintln!("{m}");
    }
    if failures.is_empty() {
        return;
    }
    eprintln!("{:<26} {:<36} {:>5} {:>7}  PROBLEM", "TYPE", "COMPONENT", "LINE", "COLUMN");
    for f in failures {
        eprintln!(
            "{:<26} {:<36} {:>5} {:>7}  {}",
            f.component_type.as_deref().unwrap_or("-"),
            f.full_name,
            f.line_number.map_or("-".to_owned(), |l| l.to_string()),
            f.column_number.map_or("-".to_owned(), |c| c.to_string()),
            f.problem.as_deref().unwrap_or("-")
        );
    }
}

fn report_problems(problems: &[Problem], json: bool) -> anyhow::Result<()> {
    if json {
        crate::output::print_json(&json!({"problems": problems}))?;
    } else {
        crate::mappings::print_problems(problems);
    }
    Ok(())
}

fn write_package(
    out: &Path,
    setups: &[ObjectSetup],
    cfg: &SetupConfig,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let files = salesforce_setup::package_files(setups, &cfg.api_version);
    for (path, content) in &files {
        let target = out.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, content)
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    if json {
        println!(
            "{}",
            json!({"written": files.iter().map(|(p, _)| out.join(p).display().to_string()).collect::<Vec<_>>()})
        );
    } else {
        println!(
            "Wrote {} file(s) for {} object(s) to {} (it holds the URL secret: keep it out of git).",
            files.len(),
            setups.len(),
            out.display()
        );
        println!(
            "Deploy them with the Salesforce CLI: sf project deploy start --metadata-dir {}",
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Sets an org up for `mappings` (their outbound messages and flows, deployed through the
/// Metadata API) and records what the messages send with the applied mappings: how `sfhs demo`
/// and `sfhs dev` set up the simulated org. Returns what it did, as lines for people.
pub async fn set_up_org(
    client: &sfhs_salesforce::Client,
    mappings: &[Mapping],
    webhook_url: &str,
    url_secret: Option<String>,
    store: &dyn MappingStore,
) -> anyhow::Result<Vec<String>> {
    let cfg = SetupConfig {
        webhook_url: webhook_url.to_owned(),
        url_secret,
        secret_param: "secret".to_owned(),
        integration_user: sfhs_salesforce_sim::DEFAULT_USERNAME.to_owned(),
        api_version: client.config().api_version.clone(),
    };
    let refs: Vec<&Mapping> = mappings.iter().collect();
    let types = field_types(client, &refs).await?;
    let setups = salesforce_setup::desired(&refs, &cfg, &types);
    match deploy(client, &setups, &cfg, false, Duration::from_secs(60), Some(store)).await {
        DeployOutcome::Done { id, recorded, .. } => Ok(vec![format!(
            "Salesforce set up from the mappings (deploy {id}): an outbound message and a record-triggered flow for {}",
            recorded.join(", ")
        )]),
        DeployOutcome::Refused(e) | DeployOutcome::TimedOut(e) => {
            Err(anyhow::Error::new(e).context("setting Salesforce up from the mappings failed"))
        }
        DeployOutcome::Failed(e) => {
            Err(e.context("setting Salesforce up from the mappings failed"))
        }
    }
}
