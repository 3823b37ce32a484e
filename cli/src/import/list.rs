//! `sfhs import list`: the imports, newest first.

use std::process::ExitCode;

use serde_json::json;
use sfhs_core::import::progress::Progress;
use time::OffsetDateTime;

use super::{Common, imports_store};

pub(super) async fn run(common: &Common) -> anyhow::Result<ExitCode> {
    let all = imports_store(common).await?.list().await?;
    let now = OffsetDateTime::now_utc();
    if common.output.json {
        let rows: Vec<_> =
            all.iter().map(|r| json!({"import": r, "progress": Progress::of(r, now)})).collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if all.is_empty() {
        println!("no imports");
    } else {
        println!(
            "{:<30} {:<20} {:<10} {:>9} {:>9} {:>9} {:>9} {:>7}  started",
            "id", "object", "status", "total", "enqueued", "synced", "unchanged", "failed"
        );
        for r in &all {
            println!(
                "{:<30} {:<20} {:<10} {:>9} {:>9} {:>9} {:>9} {:>7}  {}",
                r.id,
                r.object,
                r.status.as_str(),
                r.total,
                r.enqueued,
                r.synced,
                r.unchanged,
                r.failed,
                r.started.map_or_else(|| "-".to_owned(), |s| s.to_string())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
