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
//!
//! `ends`: Salesforce and HubSpot, real or simulated; `mappings`: the mapping files loaded,
//! checked and applied; `tasks`: the use cases and what runs in the background (workers, imports,
//! the sweep's tick); `http`: `/status` and `/imports/OBJECT` beside the webhook; `report`: what
//! is said on stderr.

mod ends;
mod http;
mod mappings;
mod report;
mod tasks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args as ClapArgs;
use sfhs_core::app::{self, WebhookSettings};
use sfhs_core::outbound::DEFAULT_MAX_BODY_BYTES;
use sfhs_core::queue::PublishPolicy;
use sfhs_core::webhook::UrlSecret;
use sfhs_local::LocalWorld;

use crate::live::LiveArgs;

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
    /// Other org ids allowed to send (15 or 18 characters); repeat for several. The connected
    /// org is always allowed: its id is read from its token response (the simulator's, without
    /// SFHS_SALESFORCE_LOGIN_URL).
    #[arg(long = "org-id")]
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

fn step(text: &str) {
    eprintln!("sfhs dev: {text}");
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    sfhs_aws::telemetry::init();
    let world = open_world(&args)?;
    let mappings = mappings::load(args.mappings.as_deref())?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    let query = if args.secret.is_some() { "?secret=..." } else { "" };
    let webhook_url = format!("http://{addr}/outbound");
    // First on stdout, before anything else: scripts and tests read it.
    println!("{webhook_url}{query}");
    {
        use std::io::Write as _;
        std::io::stdout().flush().ok();
    }
    let ends = ends::Ends::connect(&args, &mappings, &world.store).await?;
    mappings::apply(&args, &ends, mappings, &world.store, &webhook_url).await?;
    let (use_cases, handed_on) = tasks::UseCases::build(&args, &world, &ends, &webhook_url).await;
    let webhook = app::webhook(
        WebhookSettings {
            allowed_org_ids: ends.org_ids.clone(),
            url_secret: args.secret.clone().map(UrlSecret::new),
            secret_param: "secret".to_owned(),
            max_body_bytes: args.max_body_bytes,
            publish: PublishPolicy::default(),
        },
        Arc::new(world.live.clone()),
    );
    step(&format!(
        "send outbound messages to {webhook_url}{query} (orgs: {})",
        ends.org_ids.join(", ")
    ));
    step(&format!("HubSpot: {}; Salesforce: {}", ends.hubspot, ends.salesforce));
    step(&format!(
        "store: {} (GET http://{addr}/status; POST http://{addr}/imports/OBJECT starts an import)",
        LocalWorld::store_path(&args.data_dir).display()
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = use_cases.start(&args, &world, handed_on, &stop).await?;
    let app = Arc::new(http::App {
        world,
        deps: use_cases.deps,
        webhook_url,
        hubspot: ends.hubspot.clone(),
        salesforce: ends.salesforce.clone(),
    });
    axum::serve(listener, http::router(app, webhook))
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    stop.store(true, Ordering::SeqCst);
    step("stopping; what is queued stays on disk");
    for t in tasks {
        t.abort();
    }
    drop(ends);
    Ok(())
}

/// Opens the store; what a previous sfhs dev held when it stopped is free again at once, not
/// after its leases and visibility timeouts run out.
fn open_world(args: &Args) -> anyhow::Result<LocalWorld> {
    let world = LocalWorld::open(&args.data_dir)
        .with_context(|| format!("cannot open the store in {}", args.data_dir.display()))?;
    let (leases, messages) = world.recover()?;
    if leases + messages > 0 {
        step(&format!(
            "a previous sfhs dev stopped holding {leases} records and {messages} queued messages (taken or put off): they go on now"
        ));
    }
    Ok(world)
}
