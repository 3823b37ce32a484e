//! `sfhs import cancel`: stop an import; what is on the queue already still syncs.

use std::process::ExitCode;

use clap::Args as ClapArgs;
use time::OffsetDateTime;

use super::connect::stored_import;
use super::text::print_one;
use super::{Common, imports_store};

#[derive(Debug, ClapArgs)]
pub(super) struct Args {
    /// The import id (from `sfhs import list`).
    id: String,
}

pub(super) async fn run(common: &Common, args: &Args) -> anyhow::Result<ExitCode> {
    let id = &args.id;
    let store = imports_store(common).await?;
    let record = stored_import(store.as_ref(), id).await?;
    match record.cancelled(OffsetDateTime::now_utc()) {
        Ok(next) => {
            store.put(&next, Some(record.revision)).await?;
            print_one(&next, common.output.json)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("sfhs: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
