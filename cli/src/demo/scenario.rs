//! Steps 2 to 4 of the demo: the mappings enabled and Salesforce set up from them, the existing
//! records imported, then records changed, created and deleted in Salesforce and delivered
//! (outbound messages through the webhook, the delete sweep).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use sfhs_core::app::{self, Imports, SyncSettings};
use sfhs_core::drive::{Backoff, Driver};
use sfhs_core::import::progress::human_duration;
use sfhs_core::import::{RunOutcome, RunSettings, sweep};
use sfhs_core::mapping::store::{MappingStore as _, next_version};
use sfhs_core::mapping::{Mapping, parse_yaml};
use sfhs_core::memory::MemoryQueue;
use sfhs_core::queue::PublishPolicy;
use sfhs_core::sync::{BatchReport, EngineConfig};
use sfhs_salesforce::ClientReader;
use sfhs_salesforce_sim::SimHandle;
use time::OffsetDateTime;

use super::stage::{EXAMPLE_MAPPINGS, OBJECTS, Stage};

/// The engine over one in-memory queue at a time, with what it did so far.
pub(super) struct Pipeline {
    driver: Driver,
    queue: Arc<MemoryQueue>,
    pub totals: BatchReport,
}

impl Pipeline {
    /// Drives the engine over the queue until it is empty (the one queue driver; handed-back
    /// messages come back at once, after a 200 ms pause).
    async fn drain(&mut self, limit: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        while let Some(driven) = self.driver.once(self.queue.as_ref(), 100).await? {
            self.totals.add(&driven.result.report);
            if driven.result.retry.is_empty() {
                continue;
            }
            if started.elapsed() > limit {
                bail!(
                    "{} messages were still being retried after {}",
                    self.queue.len() + driven.result.retry.len(),
                    human_duration(limit)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }
}

/// The demo's mappings at work on its stage.
pub(super) struct Scenario<'a> {
    stage: &'a Stage,
    pub mappings: Vec<Mapping>,
    importing: Imports,
    pub pipeline: Pipeline,
}

impl<'a> Scenario<'a> {
    /// Step 2: the example mappings applied and enabled (ten minutes ago), Salesforce set up
    /// from them; the engine and the imports ready.
    pub async fn enable(stage: &'a Stage) -> anyhow::Result<Self> {
        let store = stage.world.mappings.clone();
        let enabled_at = OffsetDateTime::now_utc() - time::Duration::minutes(10);
        let mut mappings: Vec<Mapping> = Vec::new();
        for (file, text) in EXAMPLE_MAPPINGS {
            let m = parse_yaml(file, text).map_err(|p| anyhow::anyhow!("{p}"))?;
            store.put(&next_version(None, m.clone(), enabled_at), None).await?;
            mappings.push(m);
        }
        let lines = crate::salesforce::set_up_org(
            &stage.sf_client,
            &mappings,
            &stage.webhook_url,
            None,
            store.as_ref(),
        )
        .await?;
        for line in lines {
            println!("   {line}");
        }
        let mut config = EngineConfig::new("demo");
        config.parent_wait = Duration::from_secs(600);
        let engine = app::engine(
            stage.world.sync_ports(Arc::new(stage.client.clone())),
            SyncSettings { engine: config, mappings_cache: Duration::from_secs(1) },
        );
        let importing = app::imports(
            stage.world.import_ports(Arc::new(ClientReader::new(stage.sf_client.clone()))),
            RunSettings::default(),
            PublishPolicy::default(),
        );
        Ok(Self {
            stage,
            mappings,
            importing,
            pipeline: Pipeline {
                driver: Driver::new(Arc::new(engine), Backoff::DEPLOYED),
                queue: stage.world.import.clone(),
                totals: BatchReport::default(),
            },
        })
    }

    /// Step 3: each object's existing records imported and synced, parents first.
    pub async fn import(&mut self) -> anyhow::Result<()> {
        let runner = &self.importing.runner;
        for object in OBJECTS {
            let record =
                runner.create(object, None, 50_000, false, OffsetDateTime::now_utc()).await?;
            match runner.run(&record.id, "demo", None).await? {
                RunOutcome::Completed { .. } => {}
                other => bail!(
                    "the import of {object} did not complete: {}",
                    crate::import::outcome_text(&other)
                ),
            }
            self.pipeline.drain(Duration::from_secs(120)).await?;
            println!("   {object}: {} records imported", record.total);
        }
        Ok(())
    }

    /// Step 4: records changed in Salesforce, their outbound messages synced, then the delete
    /// sweep's.
    pub async fn change(&mut self) -> anyhow::Result<()> {
        let sf = &self.stage.sf;
        change_in_salesforce(sf)?;
        if !sf.wait_outbound_idle(Duration::from_secs(60)).await {
            bail!("Salesforce's outbound messages were not all acknowledged");
        }
        self.pipeline.queue = self.stage.world.live.clone();
        self.pipeline.drain(Duration::from_secs(120)).await?;
        let swept = sweep(
            self.stage.world.mappings.as_ref(),
            self.stage.world.imports.as_ref(),
            self.importing.runner.reader.as_ref(),
            &self.importing.live,
            OffsetDateTime::now_utc(),
            false,
        )
        .await?;
        self.pipeline.drain(Duration::from_secs(60)).await?;
        let outbound = sf.outbound_counters();
        println!(
            "   5 invoices edited, 3 invoices with a line created, 1 line moved to another invoice and 1 cleared,\n   1 invoice moved to another account, 3 lines edited in a field no mapping maps, 1 invoice deleted."
        );
        println!(
            "   Salesforce sent {} notifications in {} outbound messages ({} retried); the webhook acknowledged {}.",
            outbound.notifications_queued,
            outbound.messages_sent,
            outbound.messages_retried,
            outbound.notifications_acked
        );
        for o in &swept.objects {
            println!("   Delete sweep: {}", o.describe("enqueued"));
        }
        Ok(())
    }
}

/// What an admin and the users do in Salesforce meanwhile: invoices edited and created (with a
/// line each), lookups moved and cleared, a field no mapping maps edited, an invoice deleted.
fn change_in_salesforce(sf: &sfhs_salesforce_sim::Sim) -> anyhow::Result<()> {
    let handle = sf.handle();
    let invoices = sf.ids("Invoice__c");
    let accounts = sf.ids("Account");
    let lines = sf.ids("Invoice_Line__c");
    for id in invoices.iter().take(5) {
        handle
            .update("Invoice__c", id, json!({"Name": format!("EDITED {id}"), "Amount__c": 4242.5}))
            .map_err(sim)?;
    }
    for i in 0..3 {
        let inv = handle.create("Invoice__c", json!({"Name": format!("NEW-{i}"), "Account__c": accounts[i % accounts.len()], "Status__c": "Sent", "Amount__c": 10.5})).map_err(sim)?;
        handle.create("Invoice_Line__c", json!({"Name": format!("NEW-{i}-L1"), "Invoice__c": inv, "Quantity__c": 2.0, "Unit_Price__c": 5.25})).map_err(sim)?;
    }
    move_lookups(&handle, &invoices, &lines, &accounts)?;
    // Edits of a field no mapping maps: Salesforce sends them, HubSpot is not written.
    for id in lines.iter().skip(2).take(3) {
        handle.update("Invoice_Line__c", id, json!({"Discount__c": 0.5})).map_err(sim)?;
    }
    let deleted = invoices.last().context("an invoice to delete")?;
    handle
        .delete_at("Invoice__c", deleted, OffsetDateTime::now_utc() - time::Duration::minutes(2))
        .map_err(sim)?;
    Ok(())
}

/// Associations that follow their lookups: a line moved to another invoice, a line whose
/// invoice is cleared, an invoice moved to another account.
fn move_lookups(
    handle: &SimHandle,
    invoices: &[String],
    lines: &[String],
    accounts: &[String],
) -> anyhow::Result<()> {
    let parent_of = |id: &str| {
        handle
            .get("Invoice_Line__c", id)
            .and_then(|row| row.get("Invoice__c").and_then(Value::as_str).map(str::to_owned))
    };
    if let (Some(moved), Some(cleared)) = (lines.first(), lines.get(1)) {
        let current = parent_of(moved);
        let other = invoices
            .iter()
            .take(invoices.len().saturating_sub(1))
            .find(|i| Some(i.as_str()) != current.as_deref())
            .context("another invoice")?;
        handle.update("Invoice_Line__c", moved, json!({"Invoice__c": other})).map_err(sim)?;
        handle.update("Invoice_Line__c", cleared, json!({"Invoice__c": null})).map_err(sim)?;
    }
    if let (Some(invoice), Some(account)) = (invoices.get(5), accounts.last()) {
        handle.update("Invoice__c", invoice, json!({"Account__c": account})).map_err(sim)?;
    }
    Ok(())
}

fn sim(e: sfhs_salesforce_sim::SfError) -> anyhow::Error {
    anyhow::anyhow!("the Salesforce simulator refused a change: {}: {}", e.code, e.message)
}
