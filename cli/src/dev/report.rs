//! What `sfhs dev` says on stderr: each message's journey through a batch, and what the sweep's
//! tick found (the outbound messages' fields, the set-up's drift, the catch-up).

use sfhs_core::drive::{Driven, Fate};
use sfhs_core::import::DriftCheck;
use sfhs_core::import::progress::human_duration;
use sfhs_core::mapping::sent::{SentCheck, SentOutcome};
use sfhs_core::sync::InMessage;
use sfhs_core::work_item::{Op, WorkItem};

use super::step;

/// Each message's journey through a batch of queue `name`, and the batch's report, on stderr.
pub(super) fn report_batch(name: &str, driven: &Driven) {
    for (m, fate) in &driven.fates {
        let what = journey_name(m);
        match fate {
            Fate::Done => eprintln!("  {name}: {what}: done"),
            Fate::Again(delay) => {
                eprintln!("  {name}: {what}: again in {}", human_duration(*delay));
            }
            Fate::DeadLettered => {
                eprintln!("  {name}: {what}: dead-lettered after {} deliveries", m.receive_count)
            }
        }
    }
    let (r, again) = (&driven.result.report, driven.result.retry.len());
    eprintln!(
        "sfhs dev: {name} batch of {}: {} written ({} created), {} archived, {} associations, {} waiting, {} woken, {} failed, {} stale, {again} again; {} HubSpot calls",
        r.records_in,
        r.upserted,
        r.created,
        r.archived,
        r.associations_created,
        r.waiting,
        r.woken,
        r.failed,
        r.dropped_stale,
        r.hubspot_calls
    );
}

fn journey_name(m: &InMessage) -> String {
    match WorkItem::from_json(&m.body) {
        Ok(i) => format!(
            "{} {} {} (delivery {})",
            match i.op {
                Op::Upsert => "upsert",
                Op::Delete => "delete",
            },
            i.sobject,
            i.record_id,
            m.receive_count
        ),
        Err(_) => format!("message {} (not a work item)", m.message_id),
    }
}

/// The set-up drift a check found, one line each (nothing when not due or unchanged: the
/// warnings stay in `GET /status`).
pub(super) fn report_drift(check: &DriftCheck) {
    match check {
        DriftCheck::Checked { drift } => {
            for d in drift {
                step(&format!(
                    "warning: {}: the Salesforce set-up differs: {} {}. Fix: {}.",
                    d.object, d.component, d.problem, d.fix
                ));
            }
        }
        DriftCheck::Failed { error, .. } => step(&format!(
            "cannot check the Salesforce set-up ({error}); give the Salesforce user View Setup and Configuration (docs/deploy.md)"
        )),
        DriftCheck::NotDue { .. } => {}
    }
}

/// Says what a tick's read of the outbound messages changed (nothing when nothing changed).
pub(super) fn report_sent_fields(check: &SentCheck) {
    match check {
        SentCheck::NotDue => {}
        SentCheck::Read { mappings } => {
            for m in mappings {
                if !matches!(
                    m.outcome,
                    SentOutcome::Same { .. } | SentOutcome::NoMessage { before: None }
                ) {
                    step(&m.describe());
                }
            }
        }
        SentCheck::Failed { error, .. } => step(&format!(
            "cannot read the org's outbound messages ({error}); empty fields are cleared only where a message was known to send them (give the Salesforce user View Setup and Configuration, docs/deploy.md)"
        )),
    }
}
