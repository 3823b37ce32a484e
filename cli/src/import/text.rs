//! An import for people: its record, who holds it, where it resumes, how a run ended.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use sfhs_core::import::progress::{Progress, human_duration};
use sfhs_core::import::{Checkpoint, Holder, ImportRecord, ImportStatus, RunOutcome};
use time::OffsetDateTime;

/// What a run of an import ended with, for people.
pub(crate) fn outcome_text(outcome: &RunOutcome) -> String {
    match outcome {
        RunOutcome::Completed { enqueued, pages } => {
            format!("completed: {enqueued} records enqueued in {}", pages_text(*pages))
        }
        RunOutcome::HandedOver { enqueued, pages } => {
            format!("handed over to a fresh run after {enqueued} records in {}", pages_text(*pages))
        }
        RunOutcome::Cancelled => "cancelled".to_owned(),
        RunOutcome::NotRunnable { reason } => format!("not run: {reason}"),
        RunOutcome::Failed { error } => format!("failed: {error}"),
        RunOutcome::AfterParents { reason } => format!("not started yet: {reason}"),
    }
}

fn pages_text(pages: usize) -> String {
    match pages {
        1 => "1 page".to_owned(),
        n => format!("{n} pages"),
    }
}

/// Who holds the import and why it waits, for people.
pub(super) fn holder_text(r: &ImportRecord, now: OffsetDateTime) -> String {
    let clock = |t: OffsetDateTime| format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
    let ago = |t: OffsetDateTime| {
        human_duration(Duration::from_secs(u64::try_from((now - t).whole_seconds()).unwrap_or(0)))
    };
    match r.holder(now) {
        Holder::Finished => format!("{}: nobody runs it any more", r.status.as_str()),
        Holder::Held { owner, until, renewed } => format!(
            "held by {owner} until {} UTC{}",
            clock(until),
            renewed.map_or(String::new(), |t| format!(" (renewed {} ago)", ago(t)))
        ),
        Holder::Abandoned { owner, until } => format!(
            "held by a runner that stopped renewing ({owner}; its lease ran out at {} UTC, {} ago); the next tick takes it over (`sfhs import resume {}` now)",
            clock(until),
            ago(until),
            r.id
        ),
        Holder::Free { started: false } => format!(
            "pending: the next scheduled tick starts it (`sfhs import resume {}` now)",
            r.id
        ),
        Holder::Free { started: true } => format!(
            "waiting for a runner ({}): the hand-over invocation or the next tick resumes it from its checkpoint (`sfhs import resume {}` now)",
            if r.last_error.is_some() { "let go after a retryable error" } else { "handed over" },
            r.id
        ),
    }
}

pub(super) fn exit_for(record: &ImportRecord) -> ExitCode {
    if record.status == ImportStatus::Failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// Where a resume continues, for people.
fn checkpoint_text(c: &Checkpoint) -> Option<String> {
    let key = match c.key() {
        Some(Some(id)) => format!("after {id} (in Id order)"),
        Some(None) => "from the first record".to_owned(),
        None => {
            "from the first record (a checkpoint of an older version, without a key)".to_owned()
        }
    };
    match c {
        Checkpoint::Start | Checkpoint::Rest { next_records_url: None, .. } => Some(key),
        Checkpoint::Rest { .. } => {
            Some(format!("at the query cursor while Salesforce keeps it, else {key}"))
        }
        Checkpoint::Bulk { job_id, .. } => Some(format!(
            "in Bulk job {job_id} while its results are kept, else in a new job {key}"
        )),
        Checkpoint::Done => None,
    }
}

pub(super) fn print_one(r: &ImportRecord, as_json: bool) -> anyhow::Result<()> {
    let progress = Progress::of(r, OffsetDateTime::now_utc());
    if as_json {
        let holder = r.holder(OffsetDateTime::now_utc());
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"import": r, "progress": progress, "holder": holder})
            )?
        );
        return Ok(());
    }
    println!("import   {}", r.id);
    println!(
        "object   {}{}",
        r.object,
        r.filter.as_ref().map_or(String::new(), |f| format!(" WHERE {f}"))
    );
    println!("status   {} ({} method)", r.status.as_str(), r.method.as_str());
    if !r.status.is_final() {
        println!("runner   {}", holder_text(r, OffsetDateTime::now_utc()));
        if let Some(line) = checkpoint_text(&r.checkpoint) {
            println!("resumes  {line}");
        }
    }
    println!(
        "progress {} of {} synced or failed ({:.1}%), {} enqueued; synced {}, failed {}",
        progress.done, r.total, progress.percent, r.enqueued, r.synced, r.failed
    );
    if r.unchanged > 0 || r.force {
        println!(
            "         {} of the synced were unchanged in HubSpot (no write){}",
            r.unchanged,
            if r.force { "; --force: every record is written" } else { "" }
        );
    }
    if let Some(rate) = progress.rate_per_second {
        println!("rate     {rate:.1} records/s");
    }
    if let Some(eta) = progress.eta_seconds {
        println!("eta      {}", human_duration(Duration::from_secs(eta)));
    }
    if let Some(s) = r.started {
        println!("started  {s}");
    }
    if let Some(f) = r.finished {
        println!("finished {f}");
    }
    if let Some(e) = &r.last_error {
        println!("error    {e}");
    }
    if r.failed > 0 {
        println!("         {} records failed: see `sfhs errors list`", r.failed);
    }
    Ok(())
}
