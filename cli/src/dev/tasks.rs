//! The use cases `sfhs dev` runs on its store (the engine, the imports with their sent-fields,
//! catch-up and drift checks), and what runs in the background: a worker per queue, the imports
//! handed on, those a previous run left unfinished, and the sweep's tick.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use sfhs_core::app::{self, Imports as Deps, SentFieldsSettings, SyncSettings};
use sfhs_core::drive::{Backoff, Driver};
use sfhs_core::import::catch_up::CatchUpOutcome;
use sfhs_core::import::run::runner_id;
use sfhs_core::import::{
    CatchUpSettings, DriftSettings, Holder, ImportMethod, InProcessContinuation, RunSettings,
};
use sfhs_core::mapping::sent::SentCheck;
use sfhs_core::mapping::store::MappingStore;
use sfhs_core::queue::PublishPolicy;
use sfhs_core::sync::{Engine, EngineConfig};
use sfhs_local::LocalWorld;
use sfhs_salesforce::ClientReader;
use time::OffsetDateTime;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

use super::ends::Ends;
use super::report::{report_batch, report_drift, report_sent_fields};
use super::{Args, MAX_RECEIVES, VISIBILITY, step};

/// The engine and the import use cases on the local world.
pub(super) struct UseCases {
    engine: Arc<Engine>,
    pub deps: Deps,
}

impl UseCases {
    /// Builds them, and reads what each mapping's outbound message sends (empty fields clear
    /// HubSpot only where the message is known to send them). The receiver takes the imports
    /// handed on (children's imports once their parents' are enqueued).
    pub async fn build(
        args: &Args,
        world: &LocalWorld,
        ends: &Ends,
        webhook_url: &str,
    ) -> (Self, UnboundedReceiver<String>) {
        let mut config = EngineConfig::new(format!("dev-{}", std::process::id()));
        config.max_receives = MAX_RECEIVES;
        let engine = Arc::new(app::engine(
            world.sync_ports(Arc::new(ends.client.clone())),
            SyncSettings { engine: config, mappings_cache: Duration::from_secs(5) },
        ));
        let (continuation, handed_on) = InProcessContinuation::new();
        // The org posts to the public URL when one is given (a tunnel to this process), else here.
        let public_url = args.live.webhook_url.clone().unwrap_or_else(|| webhook_url.to_owned());
        let deps = app::imports(
            world.import_ports(
                Arc::new(ClientReader::new(ends.sf_client.clone())),
                Arc::new(continuation),
            ),
            RunSettings {
                rest_page_size: args.import_page_size,
                bulk_page_size: args.import_page_size.saturating_mul(5),
                ..RunSettings::default()
            },
            PublishPolicy::default(),
        )
        .with_sent_fields(SentFieldsSettings {
            webhook_url: Some(public_url.clone()),
            every: Duration::from_secs(args.sent_fields_seconds.max(1)),
        })
        .with_catch_up(
            Arc::new(world.store.clone()),
            CatchUpSettings {
                every: Duration::from_secs(args.catch_up_seconds.max(1)),
                ..CatchUpSettings::default()
            },
        )
        .with_drift(DriftSettings {
            every: Duration::from_secs(args.drift_seconds.max(1)),
            webhook_url: Some(public_url),
        });
        match deps.check_sent_fields(true).await {
            SentCheck::Read { mappings } => {
                for m in &mappings {
                    step(&m.describe());
                }
            }
            other => report_sent_fields(&other),
        }
        (Self { engine, deps }, handed_on)
    }

    /// Starts the background: the workers (unless `--no-worker`), the imports handed on, the
    /// unfinished imports resumed and those `--import` asks for, the sweep's tick.
    pub async fn start(
        &self,
        args: &Args,
        world: &LocalWorld,
        mut handed_on: UnboundedReceiver<String>,
        stop: &Arc<AtomicBool>,
    ) -> anyhow::Result<Vec<JoinHandle<()>>> {
        let mut tasks = if args.no_worker {
            step("--no-worker: messages are queued on disk, not synced");
            Vec::new()
        } else {
            self.workers(args, world, stop)
        };
        let deps = self.deps.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(id) = handed_on.recv().await {
                spawn_run(&deps, id);
            }
        }));
        // Imports a previous run left unfinished go on at once, from their checkpoints.
        let resumed = resume_unfinished(&self.deps).await?;
        if args.import {
            self.import_all(&resumed).await?;
        }
        tasks.push(self.ticks(Duration::from_secs(args.sweep_seconds.max(1)), stop));
        Ok(tasks)
    }

    /// A worker per queue: a batch as soon as 100 messages wait, or 1 s after the first (SQS's
    /// window); `--batches-in-flight` at once.
    fn workers(
        &self,
        args: &Args,
        world: &LocalWorld,
        stop: &Arc<AtomicBool>,
    ) -> Vec<JoinHandle<()>> {
        let driver = Driver::new(self.engine.clone(), Backoff::DEPLOYED);
        let in_flight = usize::from(args.batches_in_flight);
        world
            .deliveries(VISIBILITY)
            .into_iter()
            .map(|(name, deliveries)| {
                let (driver, stop) = (driver.clone(), stop.clone());
                tokio::spawn(async move {
                    sfhs_local::work(
                        &driver,
                        &deliveries,
                        100,
                        Duration::from_secs(1),
                        in_flight,
                        &stop,
                        |driven| report_batch(name, driven),
                    )
                    .await;
                })
            })
            .collect()
    }

    /// `--import`: every mapping's import, but for those resumed.
    async fn import_all(&self, resumed: &[String]) -> anyhow::Result<()> {
        for m in MappingStore::list(self.deps.runner.mappings.as_ref()).await? {
            let object = &m.mapping.salesforce_object;
            if resumed.iter().any(|r| r.eq_ignore_ascii_case(object)) {
                step(&format!(
                    "--import: {object} has an unfinished import, resumed instead of starting another"
                ));
                continue;
            }
            start_import(&self.deps, object).await?;
        }
        Ok(())
    }

    /// The import function's tick, `every`: sent fields, drift, catch-up, the delete sweep and
    /// import resumption.
    fn ticks(&self, every: Duration, stop: &Arc<AtomicBool>) -> JoinHandle<()> {
        let (deps, stop) = (self.deps.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            while !stop.load(Ordering::SeqCst) {
                tick.tick().await;
                match deps.tick(&runner_id("dev"), None).await {
                    Ok(tick) => {
                        report_sent_fields(&tick.sent_fields);
                        report_drift(&tick.drift);
                        for o in &tick.catch_up.objects {
                            if matches!(
                                o.outcome,
                                CatchUpOutcome::Failed { .. }
                                    | CatchUpOutcome::Read { caught_up: 1.., .. }
                            ) {
                                step(&o.describe());
                            }
                        }
                        tracing::info!(
                            deletes = tick.sweep.deletes(),
                            gaps = tick.sweep.gaps(),
                            resumed = tick.resumed.as_ref().map_or("-", |(id, _)| id.as_str()),
                            "sweep"
                        );
                    }
                    Err(e) => tracing::warn!(error = %e, "sweep failed"),
                }
            }
        })
    }
}

/// Records an import and runs it in the background (the import function's use case).
pub(super) async fn start_import(deps: &Deps, object: &str) -> anyhow::Result<Value> {
    let record = deps.runner.create(object, None, 50_000, false, OffsetDateTime::now_utc()).await?;
    step(&format!(
        "import {} of {}: {} records (read with the {} API)",
        record.id,
        record.object,
        record.total,
        match record.method {
            ImportMethod::Rest => "REST",
            ImportMethod::Bulk => "Bulk",
        }
    ));
    spawn_run(deps, record.id.clone());
    Ok(serde_json::to_value(&record)?)
}

/// Runs an import in the background as a runner of this process (`dev-<pid>-<hex>`: its lease
/// names this process, and a restarted dev knows it is gone).
fn spawn_run(deps: &Deps, id: String) {
    let runner = deps.runner.clone();
    tokio::spawn(async move {
        match runner.run(&id, &runner_id("dev"), None).await {
            Ok(outcome) => step(&format!("import {id}: {}", crate::import::outcome_text(&outcome))),
            Err(e) => step(&format!("import {id} failed: {e}")),
        }
    });
}

/// At start, the imports a previous run left unfinished: this process holds the store alone
/// (the store file is locked while open), so a lease still held is a previous `sfhs dev`'s that
/// was stopped or killed: it is let go, and every unfinished import runs again from its
/// checkpoint at once. The objects of the resumed imports.
async fn resume_unfinished(deps: &Deps) -> anyhow::Result<Vec<String>> {
    let mut objects = Vec::new();
    for (record, holder) in deps.let_go_of_unfinished(OffsetDateTime::now_utc()).await? {
        let id = record.id.clone();
        match holder {
            Holder::Held { owner, .. } | Holder::Abandoned { owner, .. } => step(&format!(
                "import {id} of {} ({} of {} enqueued) was held by {owner}, a previous sfhs dev that stopped: resuming it from its checkpoint",
                record.object, record.enqueued, record.total
            )),
            _ => step(&format!(
                "import {id} of {} ({} of {} enqueued) waits: resuming it",
                record.object, record.enqueued, record.total
            )),
        }
        objects.push(record.object.clone());
        spawn_run(deps, id);
    }
    Ok(objects)
}
