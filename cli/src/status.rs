//! `sfhs status`: per object, what is synced, waiting and failed, when it last synced, and how
//! deep the queues are.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args as ClapArgs;
use serde_json::{Value, json};
use sfhs_aws::ledger::ObjectSummary;
use sfhs_core::import::progress::human_time;
use sfhs_core::import::{ImportStore as _, SweepState};
use sfhs_core::mapping::sent::AbsentFields;
use sfhs_core::mapping::store::{MappingStore, StoredMapping};
use sfhs_core::mapping::{OnDelete, State};
use sfhs_core::sync::ErrorStore;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// DynamoDB table of the applied mappings (a stack output).
    #[arg(long, env = "SFHS_MAPPINGS_TABLE")]
    mappings_table: Option<String>,
    /// DynamoDB table of the records ledger (a stack output).
    #[arg(long, env = "SFHS_RECORDS_TABLE")]
    records_table: Option<String>,
    /// DynamoDB table of the records the worker could not write (a stack output).
    #[arg(long, env = "SFHS_ERRORS_TABLE")]
    errors_table: Option<String>,
    /// DynamoDB table of imports and sweeps (a stack output): with it, what the catch-up found
    /// that the push missed, per object.
    #[arg(long, env = "SFHS_IMPORTS_TABLE")]
    imports_table: Option<String>,
    /// Queues to report (name=URL), e.g. live=https://sqs..., import=..., live-dlq=...
    #[arg(long = "queue", value_parser = parse_queue)]
    queues: Vec<(String, String)>,
    #[command(flatten)]
    output: crate::output::Output,
}

/// An RFC 3339 time as people read it (`2026-12-01 10:00:00 UTC`); as given when it is not one.
fn readable_time(at: &str) -> String {
    time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .map_or_else(|_| at.to_owned(), human_time)
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn parse_queue(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(n, u)| (n.to_owned(), u.to_owned()))
        .ok_or_else(|| format!("\"{s}\": expected NAME=URL"))
}

/// What status reads: the applied mappings, the ledger's summary per object, the error
/// records per object, the sweep states (with `--imports-table`) and the queues' depths.
struct Read {
    mappings: Vec<StoredMapping>,
    ledger: BTreeMap<String, ObjectSummary>,
    errors: BTreeMap<String, u64>,
    sweeps: BTreeMap<String, SweepState>,
    depths: Vec<Value>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let read = read(&args).await?;
    let objects: Vec<Value> = read.mappings.iter().map(|m| object(m, &read)).collect();
    if args.output.json {
        println!("{}", json!({"objects": objects, "queues": read.depths}));
        return Ok(ExitCode::SUCCESS);
    }
    print_table(&objects);
    print_warnings(&read);
    for d in &read.depths {
        println!(
            "queue {}: {} waiting, {} in flight",
            d["queue"].as_str().unwrap_or_default(),
            d["waiting"],
            d["in_flight"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn read(args: &Args) -> anyhow::Result<Read> {
    let (Some(mappings_table), Some(records_table), Some(errors_table)) =
        (&args.mappings_table, &args.records_table, &args.errors_table)
    else {
        bail!("set SFHS_MAPPINGS_TABLE, SFHS_RECORDS_TABLE and SFHS_ERRORS_TABLE (stack outputs)");
    };
    let aws = crate::deployed::aws().await;
    let mappings = aws.mapping_store(mappings_table).list().await?;
    let ledger = aws
        .ledger(records_table)
        .summary()
        .await?
        .into_iter()
        .map(|s| (s.object.clone(), s))
        .collect();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for e in aws.error_store(errors_table).list().await? {
        *errors.entry(e.object.to_ascii_lowercase()).or_default() += 1;
    }
    let mut sweeps = BTreeMap::new();
    if let Some(table) = &args.imports_table {
        let store = aws.import_store(table);
        for m in &mappings {
            if let Some(s) = store.get_sweep(&m.mapping.salesforce_object).await? {
                sweeps.insert(m.key(), s);
            }
        }
    }
    let mut depths = Vec::new();
    for (name, url) in &args.queues {
        let depth = aws.queue(url).depth().await?;
        depths.push(json!({"queue": name, "waiting": depth.waiting, "in_flight": depth.in_flight}));
    }
    Ok(Read { mappings, ledger, errors, sweeps, depths })
}

/// One object's line, as `--json` prints it.
fn object(m: &StoredMapping, read: &Read) -> Value {
    let key = m.key();
    let l = read.ledger.get(&key).cloned().unwrap_or_default();
    let sweep = read.sweeps.get(&key);
    json!({
        "object": m.mapping.salesforce_object,
        "hubspot_object": m.mapping.hubspot_object,
        "state": m.mapping.state.as_str(),
        "deletes": match m.mapping.on_delete {
            OnDelete::Archive => "archived in HubSpot",
            OnDelete::Keep => "kept in HubSpot (on_delete: keep)",
        },
        "synced": l.synced,
        "unchanged": l.unchanged,
        "deleted": l.deleted,
        "waiting": l.waiting,
        "errors": read.errors.get(&key).copied().unwrap_or(0),
        "last_sync": l.last_sync,
        "fields_not_known_sent": if m.mapping.state == State::Enabled { m.fields_not_known_sent() } else { Vec::new() },
        "absent_fields": absent(m),
        "caught_up": sweep.map(|s| s.caught_up),
        "last_caught_up": sweep.and_then(|s| s.last_caught_up).map(rfc3339),
        "last_catch_up": sweep.and_then(|s| s.last_catch_up).map(rfc3339),
        "drift": sweep.map(|s| s.drift.clone()).unwrap_or_default(),
        "drift_since": sweep.and_then(|s| s.drift_since).map(rfc3339),
        "drift_checked": sweep.and_then(|s| s.drift_checked).map(rfc3339),
    })
}

/// The objects as an aligned table.
fn print_table(objects: &[Value]) {
    println!(
        "{:<24} {:<8} {:>8} {:>9} {:>8} {:>8} {:>7}  {:<26} DELETES",
        "OBJECT", "STATE", "SYNCED", "UNCHANGED", "DELETED", "WAITING", "ERRORS", "LAST SYNC"
    );
    for o in objects {
        println!(
            "{:<24} {:<8} {:>8} {:>9} {:>8} {:>8} {:>7}  {:<26} {}",
            o["object"].as_str().unwrap_or_default(),
            o["state"].as_str().unwrap_or_default(),
            o["synced"],
            o["unchanged"],
            o["deleted"],
            o["waiting"],
            o["errors"],
            o["last_sync"].as_str().map_or_else(|| "-".to_owned(), readable_time),
            o["deletes"].as_str().unwrap_or_default(),
        );
    }
}

/// Under the table: absent fields, what the catch-up found, the set-up's drift.
fn print_warnings(read: &Read) {
    for a in read.mappings.iter().filter_map(absent) {
        println!("{}", a.describe());
    }
    for m in &read.mappings {
        if let Some(s) = read.sweeps.get(&m.key()).filter(|s| s.caught_up > 0) {
            println!(
                "{}: the catch-up found {} changes the push had missed, the last at {}; outbound messages were dropped (the webhook refused them for 24 hours) or the flow was off: check the webhook's alarms and `sfhs salesforce plan`.",
                m.mapping.salesforce_object,
                s.caught_up,
                s.last_caught_up.map_or_else(|| "-".to_owned(), human_time)
            );
        }
    }
    for m in &read.mappings {
        let Some(s) = read.sweeps.get(&m.key()).filter(|s| !s.drift.is_empty()) else {
            continue;
        };
        let since = s.drift_since.map_or_else(|| "-".to_owned(), human_time);
        for d in &s.drift {
            println!(
                "warning: {}: the Salesforce set-up differs since {since}: {} {}. Fix: {}.",
                d.object, d.component, d.problem, d.fix
            );
        }
    }
}

/// What the worker does with an absent field of an enabled mapping (see [`AbsentFields`]).
fn absent(m: &StoredMapping) -> Option<AbsentFields> {
    (m.mapping.state == State::Enabled)
        .then(|| AbsentFields::of(&m.mapping, m.outbound_fields.as_deref()))
}
