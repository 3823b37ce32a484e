//! What the demo prints at the end: the figures, the first errors and mismatches, the verdict;
//! and the HubSpot simulator's request log, on request.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use sfhs_core::import::progress::human_duration;
use sfhs_core::sync::{BatchReport, ErrorRecord};

use super::compare::Comparison;

pub(super) fn print(c: &Comparison, t: &BatchReport, errors: &[ErrorRecord], took: Duration) {
    println!("\nSummary");
    println!("  records compared          {}", c.compared);
    println!(
        "  associations checked      {} (each record linked to the parent its lookup names)",
        c.associations_checked
    );
    println!("  written to HubSpot        {} ({} created)", t.upserted, t.created);
    println!("  unchanged (not written)   {} (HubSpot held them as they are)", t.unchanged);
    println!(
        "  associations created      {} (removed {})",
        t.associations_created, t.associations_removed
    );
    println!("  archived (deletes)        {}", t.archived);
    println!("  stale versions dropped    {}", t.dropped_stale);
    println!("  HubSpot calls             {}", t.hubspot_calls);
    if t.written > 0 {
        #[allow(clippy::cast_precision_loss)]
        let avg = t.latency_received_ms_sum / t.written as f64;
        println!(
            "  latency receipt -> write  avg {avg:.0} ms, max {:.0} ms",
            t.latency_received_ms_max
        );
    }
    println!("  error records             {}", errors.len());
    println!(
        "  took                      {}",
        if took < Duration::from_secs(60) {
            format!("{:.1}s", took.as_secs_f64())
        } else {
            human_duration(took)
        }
    );
    for e in errors.iter().take(10) {
        println!("  error: {} {} {}", e.object, e.record_id, e.message);
    }
    for m in c.mismatches.iter().take(20) {
        println!("  mismatch: {m}");
    }
}

/// HubSpot matches Salesforce (no mismatch, no error record, the delete archived): 0; else 1.
pub(super) fn verdict(c: &Comparison, errors: &[ErrorRecord], t: &BatchReport) -> ExitCode {
    if c.mismatches.is_empty() && errors.is_empty() && t.archived >= 1 {
        println!("\nHubSpot matches Salesforce.");
        ExitCode::SUCCESS
    } else {
        println!(
            "\nHubSpot does NOT match Salesforce ({} mismatches, {} errors).",
            c.mismatches.len(),
            errors.len()
        );
        ExitCode::from(1)
    }
}

/// Writes the simulator's request log as JSON lines.
pub(super) fn write_requests(
    path: &std::path::Path,
    requests: &[sfhs_hubspot_sim::RecordedRequest],
) -> anyhow::Result<()> {
    use std::io::Write as _;
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for r in requests {
        serde_json::to_writer(&mut out, r)?;
        out.write_all(b"\n")?;
    }
    out.flush().with_context(|| format!("writing {}", path.display()))
}
