//! `sfhs dev`: the whole product on this machine, in one process: the webhook over plain HTTP, the
//! worker on the live and import queues, and the import function (imports on demand, the delete
//! sweep and import resumption on a timer), all on an embedded store kept on disk
//! (`--data-dir`), so that a restart loses nothing.
//!
//! HubSpot is the in-process simulator unless a token is given (`SFHS_HUBSPOT_TOKEN`, with
//! `SFHS_HUBSPOT_BASE_URL` for a simulator of your own); Salesforce is the simulator, which sends
//! its outbound messages to this webhook, unless a real org is configured
//! (`SFHS_SALESFORCE_LOGIN_URL` and credentials). Every use case is the one the Lambda functions
//! run; only the framing differs.
//!
//! The first line on stdout is the webhook's URL. Each record's journey is logged on stderr.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use clap::Args as ClapArgs;
use serde_json::{Value, json};
use sfhs_core::app::{self, Imports as Deps, SentFieldsSettings, SyncSettings, WebhookSettings};
use sfhs_core::drive::{Backoff, Driven, Driver, Fate};
use sfhs_core::import::catch_up::CatchUpOutcome;
use sfhs_core::import::progress::human_duration;
use sfhs_core::import::run::runner_id;
use sfhs_core::import::{
    CatchUpSettings, Holder, ImportMethod, ImportStore, InProcessContinuation, RunSettings,
};
use sfhs_core::import::{DriftCheck, DriftSettings};
use sfhs_core::mapping::sent::{SentCheck, SentOutcome};
use sfhs_core::mapping::store::{MappingStore, next_version};
use sfhs_core::mapping::validate::{Source, has_errors, validate_offline};
use sfhs_core::mapping::{Mapping, State as MappingState, parse_yaml};
use sfhs_core::outbound::DEFAULT_MAX_BODY_BYTES;
use sfhs_core::queue::PublishPolicy;
use sfhs_core::sync::{EngineConfig, ErrorStore, InMessage};
use sfhs_core::webhook::UrlSecret;
use sfhs_core::work_item::{Op, WorkItem};
use sfhs_hubspot::HubSpotClient;
use sfhs_hubspot_sim::{HubSpotSim, RunningSim};
use sfhs_local::LocalWorld;
use sfhs_salesforce::ClientReader;
use sfhs_salesforce_sim::{OutboundTiming, SeedSize, SimBuilder};
use time::OffsetDateTime;

use crate::demo::{EXAMPLE_MAPPINGS, simulated_portal};
use crate::live::{LiveArgs, Sources};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Directory of the embedded store (queues, ledger, errors, imports, mappings).
    #[arg(long, default_value = ".sfhs-dev")]
    data_dir: PathBuf,
    /// Directory of mapping files to apply and enable at start (default: the examples, which fit
    /// the simulators).
    #[arg(long)]
    mappings: Option<PathBuf>,
    /// Org ids allowed to send (15 or 18 characters); repeat for several. The Salesforce
    /// simulator's org is always allowed.
    #[arg(long = "org-id", default_value = "00Dxx0000001gPF")]
    org_ids: Vec<String>,
    /// URL secret expected in the `secret` query parameter (none by default in dev).
    #[arg(long, env = "SFHS_DEV_URL_SECRET")]
    secret: Option<String>,
    /// Largest body accepted, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Invoices in the Salesforce simulator's org (each with about two lines).
    #[arg(long, default_value_t = 50)]
    invoices: usize,
    /// Import the existing records of every mapping at start.
    #[arg(long)]
    import: bool,
    /// Accept and queue only: no worker (messages wait on disk for the next run).
    #[arg(long)]
    no_worker: bool,
    /// Seconds between delete sweeps (which also resume unfinished imports); 60 as deployed.
    #[arg(long, default_value_t = 60)]
    sweep_seconds: u64,
    /// Seconds between reads of what the org's outbound messages send (at start, then on the
    /// sweep's tick when this old); 300 as deployed. Each read costs one Tooling API query plus
    /// one per outbound message in the org.
    #[arg(long, default_value_t = 300)]
    sent_fields_seconds: u64,
    /// Seconds between catch-ups of each mapping: the records changed in Salesforce that the push
    /// missed, read back on the sweep's tick; 900 as deployed. Each costs one SOQL query per
    /// object.
    #[arg(long, default_value_t = 900)]
    catch_up_seconds: u64,
    /// Seconds between checks of the Salesforce set-up (each enabled mapping's outbound message
    /// and flow against what it needs: a flow deactivated or narrowed, a field taken off the
    /// message in Setup), on the sweep's tick; 3600 as deployed.
    #[arg(long, default_value_t = 3600)]
    drift_seconds: u64,
    /// HubSpot batches in flight at once per queue (each up to 100 records), sharing the one rate
    /// limiter: enough to keep HubSpot's budget busy whatever its round trip (docs/performance.md
    /// has the measurement that chose the default).
    #[arg(long, default_value_t = DEFAULT_BATCHES_IN_FLIGHT, value_parser = clap::value_parser!(u16).range(1..=32))]
    batches_in_flight: u16,
    /// Records per Salesforce page of an import (REST: 200..2000; Bulk pages are 5 times it).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(200..=2000))]
    import_page_size: u32,
    #[command(flatten)]
    live: LiveArgs,
}

/// Batches in flight per queue unless `--batches-in-flight` says otherwise.
const DEFAULT_BATCHES_IN_FLIGHT: u16 = 8;

/// Deliveries before a message goes to the dead-letter queue (the template's maxReceiveCount).
const MAX_RECEIVES: u32 = 8;
/// How long a taken message stays invisible (it comes back after a crash).
const VISIBILITY: Duration = Duration::from_secs(60);

struct App {
    world: LocalWorld,
    deps: Deps,
    webhook_url: String,
    hubspot: String,
    salesforce: String,
}

fn step(text: &str) {
    eprintln!("sfhs dev: {text}");
}

/// The mapping files of `dir` (`*.yaml`, `*.yml`), or the built-in examples.
fn load_mappings(dir: Option<&Path>) -> anyhow::Result<Vec<Mapping>> {
    let Some(dir) = dir else {
        return EXAMPLE_MAPPINGS
            .iter()
            .map(|(f, t)| parse_yaml(f, t).map_err(|p| anyhow::anyhow!("{p}")))
            .collect();
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the mappings directory {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no mapping files (*.yaml) in {}", dir.display());
    }
    files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            parse_yaml(&p.display().to_string(), &text).map_err(|e| anyhow::anyhow!("{e}"))
        })
        .collect()
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    sfhs_aws::telemetry::init();
    let world = LocalWorld::open(&args.data_dir)
        .with_context(|| format!("cannot open the store in {}", args.data_dir.display()))?;
    let store = world.store.clone();
    // What a previous sfhs dev held when it stopped is free again at once, not after its leases
    // and visibility timeouts run out.
    let (leases, messages) = world.recover()?;
    if leases + messages > 0 {
        step(&format!(
            "a previous sfhs dev stopped holding {leases} records and {messages} queued messages (taken or put off): they go on now"
        ));
    }
    let mappings = load_mappings(args.mappings.as_deref())?;

    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    let query = if args.secret.is_some() {
        "?secret=..."
    } else {
        ""
    };
    let webhook_url = format!("http://{addr}/outbound");
    // First on stdout, before anything else: scripts and tests read it.
    println!("{webhook_url}{query}");
    {
        use std::io::Write as _;
        std::io::stdout().flush().ok();
    }

    // Salesforce: a real org, or the simulator sending its outbound messages here.
    let mut org_ids = args.org_ids.clone();
    let (sf_client, sf_sim, salesforce) = match args.live.salesforce()? {
        Some(client) => (
            client,
            None,
            "your org (SFHS_SALESFORCE_LOGIN_URL)".to_owned(),
        ),
        None => {
            let builder = SimBuilder::new()
                .seed_size(SeedSize {
                    accounts: 10,
                    invoices: args.invoices,
                    lines: args.invoices * 2,
                    shipments: 0,
                })
                .outbound_timing(OutboundTiming::scaled(1000.0));
            // Its outbound messages and flows are deployed from the mappings below.
            let sim = builder.start().await.context("Salesforce simulator")?;
            org_ids.push(sim.org_id());
            let client = crate::simulated::salesforce_client(sim.base_url())?;
            let url = format!("the simulator at {}", sim.base_url());
            (client, Some(sim), url)
        }
    };

    // HubSpot: a token's portal, or the simulator made to look like one.
    let (client, _hs_sim, hubspot): (HubSpotClient, Option<RunningSim>, String) = match args
        .live
        .hubspot_client()?
    {
        Some(client) => (client, None, args.live.hubspot_url.clone()),
        None => {
            let sim = HubSpotSim::builder()
                .start()
                .await
                .context("HubSpot simulator")?;
            let client = crate::simulated::hubspot_client(&sim.base_url())?;
            let accounts = sf_sim
                .as_ref()
                .map(|s| s.ids("Account"))
                .unwrap_or_default();
            let objects: Vec<&str> = mappings
                .iter()
                .map(|m| m.salesforce_object.as_str())
                .collect();
            step("the HubSpot simulator starts empty: creating the objects from the describe");
            simulated_portal(
                &client,
                &sim.base_url(),
                &sf_client,
                &objects,
                &accounts,
                &|line| step(line.trim()),
            )
            .await?;
            // Its records are gone; the ledger's HubSpot ids with them. Queued messages stay.
            let cleared = store.reset_ledger()?;
            if cleared > 0 {
                step(&format!(
                    "the records ledger is reset ({cleared} entries pointed into the previous simulator); queued messages are kept"
                ));
            }
            let url = format!("the simulator at {}", sim.base_url());
            (client, Some(sim), url)
        }
    };

    // The mappings, checked against both live schemas, then applied and enabled.
    let files: Vec<(String, Mapping)> = mappings
        .iter()
        .map(|m| (format!("{}.yaml", m.salesforce_object), m.clone()))
        .collect();
    let sources: Vec<Source<'_>> = files
        .iter()
        .map(|(file, mapping)| Source { file, mapping })
        .collect();
    let mut problems = validate_offline(&sources);
    problems.extend(
        Sources::new(
            Some(client.clone()),
            Some(sf_client.clone()),
            args.live.native_synced.clone(),
        )
        .check(&files)
        .await?,
    );
    for p in &problems {
        step(&p.to_string());
    }
    if has_errors(&problems) {
        bail!(
            "the mappings do not fit the live schemas (above); fix them (`sfhs mappings validate DIR`) or pass --mappings DIR"
        );
    }
    let now = OffsetDateTime::now_utc();
    for m in mappings {
        let current = MappingStore::get(&store, &m.salesforce_object).await?;
        if current.as_ref().map(|c| &c.mapping) != Some(&m) {
            let expected = current.as_ref().map(|c| c.version);
            MappingStore::put(&store, &next_version(current.as_ref(), m, now), expected).await?;
        }
    }
    if sf_sim.is_some() {
        // The simulated org is set up as a real one is: `sfhs salesforce apply`'s deploy.
        let applied: Vec<Mapping> = MappingStore::list(&store)
            .await?
            .into_iter()
            .map(|s| s.mapping)
            .collect();
        for line in crate::salesforce::set_up_org(
            &sf_client,
            &applied,
            &webhook_url,
            args.secret.clone(),
            &store,
        )
        .await?
        {
            step(&line);
        }
    }
    for m in MappingStore::list(&store).await? {
        step(&format!(
            "mapping {} -> {} v{} ({})",
            m.mapping.salesforce_object,
            m.mapping.hubspot_object,
            m.version,
            match m.mapping.state {
                MappingState::Enabled => "enabled",
                MappingState::Paused => "paused",
            }
        ));
    }

    let mut config = EngineConfig::new(format!("dev-{}", std::process::id()));
    config.max_receives = MAX_RECEIVES;
    let engine = Arc::new(app::engine(
        world.sync_ports(Arc::new(client)),
        SyncSettings {
            engine: config,
            mappings_cache: Duration::from_secs(5),
        },
    ));
    // The imports handed on (children's imports once their parents' are enqueued) run here.
    let (continuation, mut handed_on) = InProcessContinuation::new();
    let deps = app::imports(
        world.import_ports(
            Arc::new(ClientReader::new(sf_client)),
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
        // The org posts to the public URL when one is given (a tunnel to this process), else here.
        webhook_url: Some(args.live.webhook_url.clone().unwrap_or(webhook_url.clone())),
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
        webhook_url: Some(args.live.webhook_url.clone().unwrap_or(webhook_url.clone())),
    });
    // What each mapping's outbound message sends, read from the org: empty fields clear HubSpot
    // only where the message is known to send them.
    match deps.check_sent_fields(true).await {
        SentCheck::Read { mappings } => {
            for m in &mappings {
                step(&m.describe());
            }
        }
        other => report_sent_fields(&other),
    }
    let webhook = app::webhook(
        WebhookSettings {
            allowed_org_ids: org_ids.clone(),
            url_secret: args.secret.clone().map(UrlSecret::new),
            secret_param: "secret".to_owned(),
            max_body_bytes: args.max_body_bytes,
            publish: PublishPolicy::default(),
        },
        Arc::new(world.live.clone()),
    );
    let app = Arc::new(App {
        world: world.clone(),
        deps: deps.clone(),
        webhook_url: webhook_url.clone(),
        hubspot: hubspot.clone(),
        salesforce: salesforce.clone(),
    });

    step(&format!(
        "send outbound messages to {webhook_url}{query} (orgs: {})",
        org_ids.join(", ")
    ));
    step(&format!("HubSpot: {hubspot}; Salesforce: {salesforce}"));
    step(&format!(
        "store: {} (GET http://{addr}/status; POST http://{addr}/imports/OBJECT starts an import)",
        LocalWorld::store_path(&args.data_dir).display()
    ));

    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    if args.no_worker {
        step("--no-worker: messages are queued on disk, not synced");
    } else {
        let driver = Driver::new(engine.clone(), Backoff::DEPLOYED);
        let in_flight = usize::from(args.batches_in_flight);
        for (name, deliveries) in world.deliveries(VISIBILITY) {
            let (driver, stop) = (driver.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                // A batch as soon as 100 messages wait, or 1 s after the last (SQS's window);
                // several at once.
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
            }));
        }
    }
    {
        let deps = deps.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(id) = handed_on.recv().await {
                spawn_run(&deps, id);
            }
        }));
    }
    // Imports a previous run left unfinished go on at once, from their checkpoints.
    let resumed = resume_unfinished(&deps).await?;
    if args.import {
        for m in MappingStore::list(&store).await? {
            let object = &m.mapping.salesforce_object;
            if resumed.iter().any(|r| r.eq_ignore_ascii_case(object)) {
                step(&format!(
                    "--import: {object} has an unfinished import, resumed instead of starting another"
                ));
                continue;
            }
            start_import(&deps, object).await?;
        }
    }
    {
        let (deps, stop) = (deps.clone(), stop.clone());
        let every = Duration::from_secs(args.sweep_seconds.max(1));
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            while !stop.load(Ordering::SeqCst) {
                tick.tick().await;
                let owner = runner_id("dev");
                match deps.tick(&owner, None).await {
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
        }));
    }

    let router = Router::new()
        .route("/status", get(status))
        .route("/imports/{object}", post(import))
        .with_state(app)
        .merge(crate::webhook::router(
            webhook,
            crate::webhook::Report::Stderr,
        ));
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    stop.store(true, Ordering::SeqCst);
    step("stopping; what is queued stays on disk");
    for t in tasks {
        t.abort();
    }
    Ok(())
}

/// Says what a tick's read of the outbound messages changed (nothing when nothing changed).
/// The set-up drift a check found, one line each (nothing when not due or unchanged: the
/// warnings stay in `GET /status`).
fn report_drift(check: &DriftCheck) {
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

fn report_sent_fields(check: &SentCheck) {
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

/// Records an import and runs it in the background (the import function's use case).
async fn start_import(deps: &Deps, object: &str) -> anyhow::Result<Value> {
    let record = deps
        .runner
        .create(object, None, 50_000, false, OffsetDateTime::now_utc())
        .await?;
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
            Ok(outcome) => step(&format!(
                "import {id}: {}",
                crate::import::outcome_text(&outcome)
            )),
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

/// Each message's journey through a batch of queue `name`, and the batch's report, on stderr.
fn report_batch(name: &str, driven: &Driven) {
    for (m, fate) in &driven.fates {
        let what = journey_name(m);
        match fate {
            Fate::Done => eprintln!("  {name}: {what}: done"),
            Fate::Again(delay) => {
                eprintln!("  {name}: {what}: again in {}", human_duration(*delay));
            }
            Fate::DeadLettered => eprintln!(
                "  {name}: {what}: dead-lettered after {} deliveries",
                m.receive_count
            ),
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

async fn status(State(app): State<Arc<App>>) -> Response {
    match status_json(&app).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn status_json(app: &App) -> anyhow::Result<Value> {
    let mut queues = serde_json::Map::new();
    for q in app.world.queues() {
        let (visible, hidden) = q.depth()?;
        queues.insert(
            q.name().to_owned(),
            json!({"visible": visible, "in_flight_or_delayed": hidden}),
        );
    }
    let mut ledger: BTreeMap<String, BTreeMap<&str, u64>> = BTreeMap::new();
    for (key, e) in app.world.store.ledger_entries()? {
        let object = key.split('#').next().unwrap_or_default().to_owned();
        let counts = ledger.entry(object).or_default();
        let kind = if e.deleted {
            "deleted"
        } else if e.waiting {
            "waiting"
        } else if e.version.is_some() {
            "synced"
        } else {
            "pending"
        };
        *counts.entry(kind).or_default() += 1;
    }
    let errors = ErrorStore::list(&app.world.store).await?;
    let imports = ImportStore::list(&app.world.store).await?;
    let mut drift = Vec::new();
    for m in app.deps.runner.mappings.list().await? {
        if let Some(s) =
            ImportStore::get_sweep(&app.world.store, &m.mapping.salesforce_object).await?
        {
            drift.extend(s.drift);
        }
    }
    Ok(json!({
        "webhook": app.webhook_url,
        "hubspot": app.hubspot,
        "salesforce": app.salesforce,
        "queues": queues,
        "ledger": ledger,
        "errors": errors.len(),
        "imports": imports,
        "drift": drift,
    }))
}

async fn import(State(app): State<Arc<App>>, UrlPath(object): UrlPath<String>) -> Response {
    match start_import(&app.deps, &object).await {
        Ok(v) => (StatusCode::ACCEPTED, axum::Json(v)).into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": format!("{e:#}")})),
        )
            .into_response(),
    }
}
