//! `sfhs mappings ...`: mapping files in git, validated, planned, applied, enabled or paused.
//!
//! Exit statuses: 0 done, 1 problems found (validation errors, a plan with changes for
//! `plan --exit-code`), 2 could not run (unreadable files, store unreachable).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Args as ClapArgs, Subcommand};
use serde::Serialize;
use sfhs_core::import::progress::human_time;
use sfhs_core::mapping::sent::AbsentFields;
use sfhs_core::mapping::store::{MappingStore, StoredMapping, key, next_version};
use sfhs_core::mapping::validate::{Source, has_errors, validate_offline};
use sfhs_core::mapping::{Mapping, Problem, Severity, State, parse_yaml};
use time::OffsetDateTime;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

/// What the mapping commands and `sfhs salesforce` work with: the applied mappings' table, the
/// live schemas, and how to print.
#[derive(Debug, ClapArgs)]
pub struct Common {
    /// DynamoDB table holding the applied mappings (a stack output).
    #[arg(long, global = true, env = "SFHS_MAPPINGS_TABLE")]
    pub table: Option<String>,
    #[command(flatten)]
    pub live: crate::live::LiveArgs,
    #[command(flatten)]
    pub output: crate::output::Output,
}

impl Common {
    /// The applied mappings, when their table is named.
    pub async fn named_store(&self) -> Option<Arc<dyn MappingStore>> {
        let table = self.table.as_ref()?;
        Some(Arc::new(crate::deployed::aws().await.mapping_store(table)))
    }

    /// The applied mappings, or an error that says how to name their table.
    pub async fn store(&self) -> anyhow::Result<Arc<dyn MappingStore>> {
        self.named_store().await.context(
            "no mappings table: pass --table or set SFHS_MAPPINGS_TABLE (the MappingsTable stack output)",
        )
    }
}

/// What `plan` takes, here and in `sfhs salesforce plan`.
#[derive(Debug, ClapArgs)]
pub struct PlanArgs {
    /// Directory of mapping files (`*.yaml`, `*.yml`).
    pub dir: PathBuf,
    /// Exit with status 1 when there are changes.
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check mapping files; every problem is listed with file, field and fix. Against the live
    /// HubSpot schema and Salesforce describe too, when they are configured.
    Validate {
        /// Directory of mapping files (`*.yaml`, `*.yml`).
        dir: PathBuf,
    },
    /// Show what `apply` would change in the store.
    Plan(PlanArgs),
    /// Validate, then write the mappings of DIR to the store (errors block it).
    Apply {
        /// Directory of mapping files (`*.yaml`, `*.yml`).
        dir: PathBuf,
    },
    /// Start syncing an object: only changes made from now on flow.
    Enable {
        /// The Salesforce object of an applied mapping, e.g. Invoice__c.
        object: String,
    },
    /// Stop syncing an object; the mapping is kept.
    Pause {
        /// The Salesforce object of an applied mapping, e.g. Invoice__c.
        object: String,
    },
    /// The applied mappings.
    List,
    /// One applied mapping.
    Show {
        /// The Salesforce object of an applied mapping, e.g. Invoice__c.
        object: String,
    },
    /// Print the JSON Schema of mapping files (for editor completion).
    Schema,
    /// The mapping as understood, then sample records turned into the exact HubSpot request,
    /// each marked create, update or unchanged.
    Preview(crate::preview::PreviewArgs),
    /// Build a HubSpot custom-object schema (or a starter mapping) from the Salesforce describe.
    SchemaGenerate(crate::generate::GenerateArgs),
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    match &args.command {
        Command::Validate { dir } => {
            validate(dir, &args.common.live, args.common.output.json).await
        }
        Command::Schema => {
            println!("{}", serde_json::to_string_pretty(&sfhs_core::mapping::json_schema())?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Preview(p) => {
            let sources = crate::live::Sources::connect(&args.common.live)?;
            let mapping = match &p.dir {
                Some(dir) => load_dir(dir)?
                    .files
                    .into_iter()
                    .map(|(_, m)| m)
                    .find(|m| m.salesforce_object.eq_ignore_ascii_case(&p.object))
                    .with_context(|| format!("no mapping of {} in {}", p.object, dir.display()))?,
                None => {
                    let store = args.common.store().await?;
                    store
                        .get(&p.object)
                        .await?
                        .with_context(|| {
                            format!("no mapping for {}; apply one first, or pass --dir", p.object)
                        })?
                        .mapping
                }
            };
            crate::preview::preview(mapping, &sources, p, args.common.output.json).await
        }
        Command::SchemaGenerate(g) => {
            let sources = crate::live::Sources::connect(&args.common.live)?;
            crate::generate::generate(&sources, g, args.common.output.json).await
        }
        Command::Plan(PlanArgs { dir, exit_code }) => {
            let store = args.common.store().await?;
            plan(store.as_ref(), dir, args.common.output.json, *exit_code).await
        }
        Command::Apply { dir } => {
            let store = args.common.store().await?;
            apply(store.as_ref(), dir, &args.common.live, args.common.output.json).await
        }
        Command::Enable { object } => {
            let store = args.common.store().await?;
            set_state(store.as_ref(), object, State::Enabled, args.common.output.json).await
        }
        Command::Pause { object } => {
            let store = args.common.store().await?;
            set_state(store.as_ref(), object, State::Paused, args.common.output.json).await
        }
        Command::List => {
            let store = args.common.store().await?;
            list(store.as_ref(), args.common.output.json).await
        }
        Command::Show { object } => {
            let store = args.common.store().await?;
            show(store.as_ref(), object, args.common.output.json).await
        }
    }
}

/// Mapping files of a directory, sorted by name.
pub(crate) struct Loaded {
    pub(crate) files: Vec<(String, Mapping)>,
    pub(crate) problems: Vec<Problem>,
    /// What the worker does with an absent field, per enabled mapping (when the org's outbound
    /// messages were read).
    pub(crate) absent: Vec<AbsentFields>,
}

async fn load_and_check(dir: &Path, live: &crate::live::LiveArgs) -> anyhow::Result<Loaded> {
    let mut loaded = load_dir(dir)?;
    let sources = crate::live::Sources::connect(live)?;
    if sources.is_configured() {
        let checked = sources.check_all(&loaded.files).await?;
        loaded.problems.extend(checked.problems);
        loaded.absent = checked.absent;
    }
    Ok(loaded)
}

pub(crate) fn load_dir(dir: &Path) -> anyhow::Result<Loaded> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("{} holds no mapping file (*.yaml, *.yml)", dir.display());
    }
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let name = path.display().to_string();
        match parse_yaml(&name, &text) {
            Ok(m) => files.push((name, m)),
            Err(p) => problems.push(p),
        }
    }
    let sources: Vec<Source<'_>> =
        files.iter().map(|(file, mapping)| Source { file, mapping }).collect();
    problems.extend(validate_offline(&sources));
    Ok(Loaded { files, problems, absent: Vec::new() })
}

pub(crate) fn print_problems(problems: &[Problem]) {
    for p in problems {
        eprintln!("{p}");
    }
    let errors = problems.iter().filter(|p| p.severity == Severity::Error).count();
    let warnings = problems.len() - errors;
    eprintln!("{errors} error(s), {warnings} warning(s)");
}

async fn validate(
    dir: &Path,
    live: &crate::live::LiveArgs,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let loaded = load_and_check(dir, live).await?;
    if json {
        crate::output::print_json(&serde_json::json!({
            "files": loaded.files.iter().map(|(f, _)| f).collect::<Vec<_>>(),
            "problems": loaded.problems,
            "absent_fields": loaded.absent,
            "valid": !has_errors(&loaded.problems),
        }))?;
    } else {
        print_problems(&loaded.problems);
        for a in &loaded.absent {
            println!("{}", a.describe());
        }
        if !has_errors(&loaded.problems) {
            println!("{} mapping(s) valid", loaded.files.len());
        }
    }
    Ok(if has_errors(&loaded.problems) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
enum Change {
    Create,
    Update,
    Unchanged,
    /// Stored but not in the directory: left as is.
    NotInDirectory,
}

#[derive(Debug, Serialize)]
struct PlanLine {
    object: String,
    change: Change,
    /// Top-level keys that differ.
    differences: Vec<String>,
    stored_version: Option<u64>,
}

fn differences(a: &Mapping, b: &Mapping) -> Vec<String> {
    let (a, b) =
        (serde_json::to_value(a).unwrap_or_default(), serde_json::to_value(b).unwrap_or_default());
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return vec![];
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).cloned().collect()
}

async fn compute_plan(
    store: &dyn MappingStore,
    files: &[(String, Mapping)],
) -> anyhow::Result<Vec<PlanLine>> {
    let stored: BTreeMap<String, StoredMapping> =
        store.list().await?.into_iter().map(|m| (m.key(), m)).collect();
    let mut lines = Vec::new();
    for (_, m) in files {
        let line = match stored.get(&key(&m.salesforce_object)) {
            None => PlanLine {
                object: m.salesforce_object.clone(),
                change: Change::Create,
                differences: vec![],
                stored_version: None,
            },
            Some(s) => {
                let diff = differences(&s.mapping, m);
                PlanLine {
                    object: m.salesforce_object.clone(),
                    change: if diff.is_empty() { Change::Unchanged } else { Change::Update },
                    differences: diff,
                    stored_version: Some(s.version),
                }
            }
        };
        lines.push(line);
    }
    for (k, s) in &stored {
        if !files.iter().any(|(_, m)| &key(&m.salesforce_object) == k) {
            lines.push(PlanLine {
                object: s.mapping.salesforce_object.clone(),
                change: Change::NotInDirectory,
                differences: vec![],
                stored_version: Some(s.version),
            });
        }
    }
    Ok(lines)
}

fn print_plan(lines: &[PlanLine]) {
    for l in lines {
        match l.change {
            Change::Create => println!("+ create  {}", l.object),
            Change::Update => println!(
                "~ update  {} (v{}): {}",
                l.object,
                l.stored_version.unwrap_or(0),
                l.differences.join(", ")
            ),
            Change::Unchanged => println!("  same    {}", l.object),
            Change::NotInDirectory => {
                println!("? kept    {} (stored, not in the directory; left as is)", l.object)
            }
        }
    }
}

async fn plan(
    store: &dyn MappingStore,
    dir: &Path,
    json: bool,
    exit_code: bool,
) -> anyhow::Result<ExitCode> {
    let loaded = load_dir(dir)?;
    if !loaded.problems.is_empty() && !json {
        print_problems(&loaded.problems);
    }
    let lines = compute_plan(store, &loaded.files).await?;
    if json {
        crate::output::print_json(
            &serde_json::json!({"plan": lines, "problems": loaded.problems}),
        )?;
    } else {
        print_plan(&lines);
    }
    let changes = lines.iter().any(|l| matches!(l.change, Change::Create | Change::Update));
    Ok(if has_errors(&loaded.problems) || (exit_code && changes) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn apply(
    store: &dyn MappingStore,
    dir: &Path,
    live: &crate::live::LiveArgs,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let loaded = load_and_check(dir, live).await?;
    if has_errors(&loaded.problems) {
        if json {
            crate::output::print_json(
                &serde_json::json!({"applied": [], "problems": loaded.problems}),
            )?;
        } else {
            print_problems(&loaded.problems);
            eprintln!("nothing applied: fix the errors first");
        }
        return Ok(ExitCode::from(1));
    }
    let lines = compute_plan(store, &loaded.files).await?;
    let sent = sent_fields(live, &loaded.files).await?;
    let now = OffsetDateTime::now_utc();
    let mut applied = Vec::new();
    for (_, m) in &loaded.files {
        let current = store.get(&m.salesforce_object).await?;
        let known = sent.get(&key(&m.salesforce_object));
        if current.as_ref().is_some_and(|c| {
            &c.mapping == m && (known.is_none() || c.outbound_fields.as_ref() == known)
        }) {
            continue;
        }
        let mut next = next_version(current.as_ref(), m.clone(), now);
        if let Some(fields) = known {
            next.outbound_fields = Some(fields.clone());
        }
        store.put(&next, current.as_ref().map(|c| c.version)).await?;
        applied.push(serde_json::json!({"object": m.salesforce_object, "version": next.version, "state": m.state}));
    }
    if json {
        crate::output::print_json(
            &serde_json::json!({"applied": applied, "problems": loaded.problems}),
        )?;
    } else {
        if !loaded.problems.is_empty() {
            print_problems(&loaded.problems);
        }
        print_plan(&lines);
        println!("{} mapping(s) written", applied.len());
    }
    Ok(ExitCode::SUCCESS)
}

/// What each mapping's outbound message sends, read back from the org when Salesforce is
/// configured (and readable): the worker then clears a field absent from a message only when
/// the message is known to send it.
async fn sent_fields(
    live: &crate::live::LiveArgs,
    files: &[(String, Mapping)],
) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let mut out = BTreeMap::new();
    let client = if live.offline { None } else { live.salesforce()? };
    let Some(client) = client else {
        return Ok(out);
    };
    let messages = match client.outbound_messages(None).await {
        Ok(m) => m,
        Err(e) if e.is_insufficient_access() => {
            eprintln!(
                "warning: cannot read the org's outbound messages ({e}); what they send is not recorded, so the worker leaves absent fields as they are"
            );
            return Ok(out);
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context("cannot read the org's outbound messages"));
        }
    };
    for (_, m) in files {
        if let Some(found) = sfhs_core::salesforce_setup::find_message(
            &m.salesforce_object,
            &messages,
            live.webhook_url.as_deref(),
        ) {
            out.insert(key(&m.salesforce_object), found.fields.clone());
        }
    }
    Ok(out)
}

async fn set_state(
    store: &dyn MappingStore,
    object: &str,
    state: State,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let Some(current) = store.get(object).await? else {
        bail!("no mapping for {object}; apply one first (`sfhs mappings apply DIR`)");
    };
    if current.mapping.state == state {
        if !json {
            println!("{} is already {}", current.mapping.salesforce_object, state.as_str());
        }
        print_json_if(json, &current)?;
        return Ok(ExitCode::SUCCESS);
    }
    if state == State::Enabled {
        let all = store.list().await?;
        let sources: Vec<Source<'_>> = all
            .iter()
            .map(|s| Source { file: s.mapping.salesforce_object.as_str(), mapping: &s.mapping })
            .collect();
        let problems: Vec<Problem> = validate_offline(&sources)
            .into_iter()
            .filter(|p| p.file.eq_ignore_ascii_case(object))
            .collect();
        if has_errors(&problems) {
            print_problems(&problems);
            eprintln!("{object} not enabled: fix the errors first");
            return Ok(ExitCode::from(1));
        }
    }
    let mut mapping = current.mapping.clone();
    mapping.state = state;
    let next = next_version(Some(&current), mapping, OffsetDateTime::now_utc());
    store.put(&next, Some(current.version)).await?;
    if !json {
        match state {
            State::Enabled => println!(
                "{} enabled: changes made from now on sync (existing records: `sfhs import start {}`)",
                next.mapping.salesforce_object, next.mapping.salesforce_object
            ),
            State::Paused => println!(
                "{} paused: nothing syncs until it is enabled again",
                next.mapping.salesforce_object
            ),
        }
    }
    print_json_if(json, &next)?;
    Ok(ExitCode::SUCCESS)
}

fn print_json_if(json: bool, value: &impl Serialize) -> anyhow::Result<()> {
    if json {
        crate::output::print_json(value)?;
    }
    Ok(())
}

async fn list(store: &dyn MappingStore, json: bool) -> anyhow::Result<ExitCode> {
    let all = store.list().await?;
    if json {
        crate::output::print_json(&all)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<28} {:<28} {:<8} {:<8} {:>7}",
        "SALESFORCE", "HUBSPOT", "STATE", "DELETES", "VERSION"
    );
    for s in &all {
        let m = &s.mapping;
        let deletes = match m.on_delete {
            sfhs_core::mapping::OnDelete::Archive => "archive",
            sfhs_core::mapping::OnDelete::Keep => "keep",
        };
        println!(
            "{:<28} {:<28} {:<8} {:<8} {:>7}",
            m.salesforce_object,
            m.hubspot_object,
            m.state.as_str(),
            deletes,
            s.version
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(store: &dyn MappingStore, object: &str, json: bool) -> anyhow::Result<ExitCode> {
    let Some(s) = store.get(object).await? else {
        bail!("no mapping for {object}; apply one first (`sfhs mappings apply DIR`)");
    };
    if json {
        crate::output::print_json(&s)?;
    } else {
        println!(
            "# version {}, updated {}, {}",
            s.version,
            human_time(s.updated_at),
            match s.enabled_at {
                Some(at) => format!("enabled since {}", human_time(at)),
                None => "paused".to_owned(),
            }
        );
        print!("{}", serde_norway::to_string(&s.mapping)?);
    }
    Ok(ExitCode::SUCCESS)
}
