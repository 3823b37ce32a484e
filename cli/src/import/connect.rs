//! What the import commands connect to: the stores, Salesforce, the import queue, and the import
//! function's runner in this process.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use sfhs_core::import::ports::ImportStore;
use sfhs_core::import::run::runner_id;
use sfhs_core::import::{ImportRecord, ImportRunner, MemoryContinuation, RunOutcome, RunSettings};
use sfhs_core::mapping::store::MappingStore;
use sfhs_core::queue::{PublishPolicy, Publisher};
use sfhs_salesforce::ClientReader;

use super::Common;

pub async fn imports_store(common: &Common) -> anyhow::Result<Arc<dyn ImportStore>> {
    let Some(table) = &common.imports_table else {
        bail!(
            "no imports table: pass --imports-table or set SFHS_IMPORTS_TABLE (the ImportsTable stack output)"
        );
    };
    Ok(Arc::new(crate::deployed::aws().await.import_store(table)))
}

pub async fn mapping_store(common: &Common) -> anyhow::Result<Arc<dyn MappingStore>> {
    let Some(table) = &common.mappings_table else {
        bail!(
            "no mappings table: pass --mappings-table or set SFHS_MAPPINGS_TABLE (the MappingsTable stack output)"
        );
    };
    Ok(Arc::new(crate::deployed::aws().await.mapping_store(table)))
}

/// The import `id`, or an error that says how to find one.
pub(super) async fn stored_import(
    store: &dyn ImportStore,
    id: &str,
) -> anyhow::Result<ImportRecord> {
    store.get(id).await?.with_context(|| format!("no import {id} (see `sfhs import list`)"))
}

pub fn reader(common: &Common) -> anyhow::Result<ClientReader> {
    let client = common.live.salesforce()?.context(
        "no Salesforce connection: set SFHS_SALESFORCE_LOGIN_URL, SFHS_SALESFORCE_CLIENT_ID and a secret or key",
    )?;
    Ok(ClientReader::new(client))
}

pub async fn sqs_publisher(queue_url: &str) -> Publisher {
    Publisher::new(
        Arc::new(crate::deployed::aws().await.queue(queue_url)),
        PublishPolicy::default(),
    )
}

/// The import function's runner in this process: it reads Salesforce with the operator's
/// connection and publishes with `publisher`; a run near its deadline hands over to
/// `continuation`, which the caller drains. `page_size` records per REST page (Bulk: 5 times it).
pub(super) async fn runner_here(
    common: &Common,
    store: Arc<dyn ImportStore>,
    publisher: Publisher,
    continuation: &Arc<MemoryContinuation>,
    page_size: u32,
) -> anyhow::Result<ImportRunner> {
    Ok(ImportRunner {
        store,
        mappings: mapping_store(common).await?,
        reader: Arc::new(reader(common)?),
        publisher,
        continuation: continuation.clone(),
        settings: RunSettings {
            rest_page_size: page_size,
            bulk_page_size: page_size.saturating_mul(5),
            ..RunSettings::default()
        },
    })
}

/// Runs an import in this process until it is final, following its hand-overs and then the
/// imports of its children that waited for it (parents go first).
pub(super) async fn run_here(
    runner: &ImportRunner,
    continuation: &MemoryContinuation,
    id: &str,
) -> anyhow::Result<()> {
    let owner = runner_id("cli");
    let mut next = vec![id.to_owned()];
    while let Some(id) = next.pop() {
        match runner.run(&id, &owner, None).await? {
            RunOutcome::HandedOver { .. } | RunOutcome::Completed { .. } => {}
            RunOutcome::Cancelled => {}
            RunOutcome::NotRunnable { reason } => bail!(reason),
            RunOutcome::Failed { error } => {
                eprintln!("sfhs: import {id} failed: {error}");
            }
            RunOutcome::AfterParents { reason } => {
                eprintln!("sfhs: import {id} is not started yet: {reason}");
            }
        }
        next.extend(continuation.take());
    }
    Ok(())
}
