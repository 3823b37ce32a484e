//! `sfhs import show`: one import's progress, rate, ETA, and its records the worker could not
//! write.

use std::process::ExitCode;

use clap::Args as ClapArgs;
use serde_json::json;
use sfhs_core::import::progress::Progress;
use sfhs_core::sync::ErrorRecord;
use time::OffsetDateTime;

use super::connect::stored_import;
use super::text::{exit_for, print_one};
use super::{Common, imports_store};

#[derive(Debug, ClapArgs)]
pub(super) struct Args {
    /// The import id (from `sfhs import list`).
    id: String,
    /// The errors table (a stack output): lists this import's error records.
    #[arg(long, env = "SFHS_ERRORS_TABLE")]
    errors_table: Option<String>,
}

pub(super) async fn run(common: &Common, args: &Args) -> anyhow::Result<ExitCode> {
    let id = &args.id;
    let record = stored_import(imports_store(common).await?.as_ref(), id).await?;
    let errors = match &args.errors_table {
        Some(table) => Some(import_errors(table, id).await?),
        None => None,
    };
    if common.output.json {
        let now = OffsetDateTime::now_utc();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "import": record,
                "progress": Progress::of(&record, now),
                "holder": record.holder(now),
                "errors": errors
            }))?
        );
    } else {
        print_one(&record, false)?;
        if let Some(errors) = &errors {
            print_errors(errors);
        }
    }
    Ok(exit_for(&record))
}

/// The first 20 error records, under the import.
fn print_errors(errors: &[ErrorRecord]) {
    if errors.is_empty() {
        println!("errors   none");
        return;
    }
    println!("errors   {} record(s) could not be written:", errors.len());
    for e in errors.iter().take(20) {
        println!(
            "         {} {} [{}] {}{}",
            e.object,
            e.record_id,
            e.category.as_str(),
            e.field.as_ref().map(|f| format!("{f}: ")).unwrap_or_default(),
            e.message
        );
    }
    println!("         (`sfhs errors show ID`, `sfhs errors replay`)");
}

/// The error records of an import's work items.
async fn import_errors(table: &str, import_id: &str) -> anyhow::Result<Vec<ErrorRecord>> {
    use sfhs_core::sync::ErrorStore as _;
    use sfhs_core::work_item::{Source, WorkItem};
    let all = crate::deployed::aws().await.error_store(table).list().await?;
    Ok(all
        .into_iter()
        .filter(|e| {
            WorkItem::from_json(&e.work_item).is_ok_and(
                |w| matches!(&w.source, Source::Import { import_id: i, .. } if i == import_id),
            )
        })
        .collect())
}
