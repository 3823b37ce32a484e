//! `sfhs demo`: the main job end to end with no setup, in one process.
//!
//! It starts both simulators, creates the HubSpot custom objects from the Salesforce describe,
//! applies and enables the example mappings, imports the existing records, then changes, creates
//! and deletes records in Salesforce so that outbound messages (through the real webhook use case)
//! and a delete sweep flow through the real sync engine, and finally compares HubSpot with
//! Salesforce record by record. Exit status 0 only when they match.
//!
//! Queues, the ledger and the stores are in memory here; in AWS they are SQS and DynamoDB.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args as ClapArgs;
use serde_json::{Value, json};
use sfhs_core::app::{self, SyncSettings, WebhookSettings};
use sfhs_core::drive::{Backoff, Driver};
use sfhs_core::import::convert::fields_of;
use sfhs_core::import::progress::human_duration;
use sfhs_core::import::{RunOutcome, RunSettings, sweep};
use sfhs_core::mapping::generate::{hubspot_schema, object_name};
use sfhs_core::mapping::schema::SfObject;
use sfhs_core::mapping::store::{MappingStore, next_version};
use sfhs_core::mapping::transform::properties;
use sfhs_core::mapping::{FindParentBy, Mapping, parse_yaml};
use sfhs_core::memory::{MemoryQueue, MemoryWorld};
use sfhs_core::outbound::DEFAULT_MAX_BODY_BYTES;
use sfhs_core::queue::PublishPolicy;
use sfhs_core::sync::{BatchReport, EngineConfig, ErrorStore};
use sfhs_hubspot::HubSpotClient;
use sfhs_hubspot_sim::HubSpotSim;
use sfhs_salesforce::ClientReader;
use sfhs_salesforce_sim::{OutboundTiming, SeedSize, SimBuilder};
use time::OffsetDateTime;

pub(crate) const EXAMPLE_MAPPINGS: [(&str, &str); 2] = [
    (
        "invoice.yaml",
        include_str!("../../examples/mappings/invoice.yaml"),
    ),
    (
        "invoice_line.yaml",
        include_str!("../../examples/mappings/invoice_line.yaml"),
    ),
];

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Invoices in the seeded Salesforce org (each with about two lines).
    #[arg(long, default_value_t = 200)]
    invoices: usize,
    /// Write every request the HubSpot simulator received to FILE, one JSON object a line
    /// (`method`, `path`, `query`, `body`): what the product sends to HubSpot, for audit and for
    /// the conformance suite, which checks each body against HubSpot's SDK.
    #[arg(long, value_name = "FILE")]
    hubspot_requests: Option<std::path::PathBuf>,
}

struct Pipeline {
    driver: Driver,
    queue: Arc<MemoryQueue>,
    totals: BatchReport,
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

async fn serve_webhook(webhook: app::Webhook) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/outbound", listener.local_addr()?);
    let router = crate::webhook::router(webhook, crate::webhook::Report::Quiet);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(url)
}

fn step(n: u32, text: &str) {
    println!("{n}. {text}");
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    // HubSpot and the webhook.
    let hs = HubSpotSim::builder()
        .start()
        .await
        .context("HubSpot simulator")?;
    let client = crate::simulated::hubspot_client(&hs.base_url())?;
    let world = MemoryWorld::new();
    let webhook_url = serve_webhook(app::webhook(
        WebhookSettings {
            allowed_org_ids: vec![sfhs_salesforce_sim::DEFAULT_ORG_ID.to_owned()],
            url_secret: None,
            secret_param: "secret".to_owned(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            publish: PublishPolicy::default(),
        },
        world.live.clone(),
    ))
    .await?;
    // Salesforce; its outbound messages are set up from the mappings (step 2).
    let sf = SimBuilder::new()
        .seed_size(SeedSize {
            accounts: 20,
            invoices: args.invoices,
            lines: args.invoices * 2,
            shipments: 0,
        })
        .outbound_timing(OutboundTiming::scaled(1000.0))
        .start()
        .await
        .context("Salesforce simulator")?;
    let sf_client = crate::simulated::salesforce_client(sf.base_url())?;
    println!(
        "HubSpot simulator {}, Salesforce simulator {}, webhook {webhook_url}",
        hs.base_url(),
        sf.base_url()
    );

    step(
        1,
        "create the HubSpot custom objects from the Salesforce describe",
    );
    let accounts = sf.ids("Account");
    let describes = simulated_portal(
        &client,
        &hs.base_url(),
        &sf_client,
        &["Invoice__c", "Invoice_Line__c"],
        &accounts,
        &|line| println!("{line}"),
    )
    .await?;

    step(
        2,
        "apply and enable the example mappings, then set Salesforce up from them (outbound messages and flows, deployed through the Metadata API)",
    );
    let store = world.mappings.clone();
    let enabled_at = OffsetDateTime::now_utc() - time::Duration::minutes(10);
    let mut mappings: Vec<Mapping> = Vec::new();
    for (file, text) in EXAMPLE_MAPPINGS {
        let m = parse_yaml(file, text).map_err(|p| anyhow::anyhow!("{p}"))?;
        store
            .put(&next_version(None, m.clone(), enabled_at), None)
            .await?;
        mappings.push(m);
    }
    for line in
        crate::salesforce::set_up_org(&sf_client, &mappings, &webhook_url, None, store.as_ref())
            .await?
    {
        println!("   {line}");
    }
    let mut config = EngineConfig::new("demo");
    config.parent_wait = Duration::from_secs(600);
    let engine = app::engine(
        world.sync_ports(Arc::new(client.clone())),
        SyncSettings {
            engine: config,
            mappings_cache: Duration::from_secs(1),
        },
    );

    step(3, "import the existing records");
    let importing = app::imports(
        world.import_ports(Arc::new(ClientReader::new(sf_client.clone()))),
        RunSettings::default(),
        PublishPolicy::default(),
    );
    let runner = &importing.runner;
    let mut pipeline = Pipeline {
        driver: Driver::new(Arc::new(engine), Backoff::DEPLOYED),
        queue: world.import.clone(),
        totals: BatchReport::default(),
    };
    for object in ["Invoice__c", "Invoice_Line__c"] {
        let record = runner
            .create(object, None, 50_000, false, OffsetDateTime::now_utc())
            .await?;
        match runner.run(&record.id, "demo", None).await? {
            RunOutcome::Completed { .. } => {}
            other => bail!(
                "the import of {object} did not complete: {}",
                crate::import::outcome_text(&other)
            ),
        }
        pipeline.drain(Duration::from_secs(120)).await?;
        println!("   {object}: {} records imported", record.total);
    }

    step(
        4,
        "change, create and delete records in Salesforce (outbound messages and a sweep)",
    );
    let handle = sf.handle();
    let invoices = sf.ids("Invoice__c");
    for id in invoices.iter().take(5) {
        handle
            .update(
                "Invoice__c",
                id,
                json!({"Name": format!("EDITED {id}"), "Amount__c": 4242.5}),
            )
            .map_err(sim)?;
    }
    let mut new_ids = Vec::new();
    for i in 0..3 {
        let inv = handle.create("Invoice__c", json!({"Name": format!("NEW-{i}"), "Account__c": accounts[i % accounts.len()], "Status__c": "Sent", "Amount__c": 10.5})).map_err(sim)?;
        handle.create("Invoice_Line__c", json!({"Name": format!("NEW-{i}-L1"), "Invoice__c": inv, "Quantity__c": 2.0, "Unit_Price__c": 5.25})).map_err(sim)?;
        new_ids.push(inv);
    }
    // Associations that follow their lookups: a line moved to another invoice, a line whose
    // invoice is cleared, an invoice moved to another account.
    let lines = sf.ids("Invoice_Line__c");
    let parent_of = |id: &str| {
        handle.get("Invoice_Line__c", id).and_then(|row| {
            row.get("Invoice__c")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    };
    if let (Some(moved), Some(cleared)) = (lines.first(), lines.get(1)) {
        let current = parent_of(moved);
        let other = invoices
            .iter()
            .take(invoices.len().saturating_sub(1))
            .find(|i| Some(i.as_str()) != current.as_deref())
            .context("another invoice")?;
        handle
            .update("Invoice_Line__c", moved, json!({"Invoice__c": other}))
            .map_err(sim)?;
        handle
            .update("Invoice_Line__c", cleared, json!({"Invoice__c": null}))
            .map_err(sim)?;
    }
    if let Some(invoice) = invoices.get(5) {
        handle
            .update(
                "Invoice__c",
                invoice,
                json!({"Account__c": accounts[accounts.len() - 1]}),
            )
            .map_err(sim)?;
    }
    // Edits of a field no mapping maps: Salesforce sends them, HubSpot is not written.
    for id in lines.iter().skip(2).take(3) {
        handle
            .update("Invoice_Line__c", id, json!({"Discount__c": 0.5}))
            .map_err(sim)?;
    }
    let deleted = invoices[invoices.len() - 1].clone();
    handle
        .delete_at(
            "Invoice__c",
            &deleted,
            OffsetDateTime::now_utc() - time::Duration::minutes(2),
        )
        .map_err(sim)?;
    if !sf.wait_outbound_idle(Duration::from_secs(60)).await {
        bail!("Salesforce's outbound messages were not all acknowledged");
    }
    pipeline.queue = world.live.clone();
    pipeline.drain(Duration::from_secs(120)).await?;
    let swept = sweep(
        store.as_ref(),
        world.imports.as_ref(),
        runner.reader.as_ref(),
        &importing.live,
        OffsetDateTime::now_utc(),
        false,
    )
    .await?;
    pipeline.drain(Duration::from_secs(60)).await?;
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

    step(5, "compare HubSpot with Salesforce, record by record");
    let mut mismatches = Vec::new();
    let mut compared = 0;
    let mut associations_checked = 0;
    for m in &mappings {
        let hs_object = sfhs_hubspot::domain::describe(&client, &m.hubspot_object)
            .await?
            .context("HubSpot object")?;
        let in_hubspot: BTreeMap<String, Value> = hs
            .records(&hs_object.object_type_id)
            .into_iter()
            .filter_map(|r| {
                r["properties"][&m.id_property]
                    .as_str()
                    .map(|id| (id.to_owned(), r.clone()))
            })
            .collect();
        let ids = sf.ids(&m.salesforce_object);
        for id in &ids {
            compared += 1;
            let Some(row) = handle.get(&m.salesforce_object, id) else {
                continue;
            };
            let raw: serde_json::Map<String, Value> = row.into_iter().collect();
            let fields = fields_of(&raw);
            let expected = properties(
                m,
                &hs_object,
                describes.get(&m.salesforce_object),
                id,
                |name| {
                    fields
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .and_then(|(_, v)| v.as_deref())
                },
            )
            .map_err(|e| {
                let problems: Vec<String> = e.iter().map(ToString::to_string).collect();
                anyhow::anyhow!("{id}: {}", problems.join("; "))
            })?;
            let Some(record) = in_hubspot.get(id) else {
                mismatches.push(format!("{} {id}: missing in HubSpot", m.salesforce_object));
                continue;
            };
            if record["archived"] == json!(true) {
                mismatches.push(format!("{} {id}: archived in HubSpot", m.salesforce_object));
            }
            for (name, want) in &expected {
                let got = record["properties"][name].as_str().unwrap_or_default();
                if got != want && !same_number(got, want) {
                    mismatches.push(format!(
                        "{} {id}: {name} is \"{got}\" in HubSpot, \"{want}\" expected",
                        m.salesforce_object
                    ));
                }
            }
        }
        // Associations: each record linked to exactly the parent its lookup names.
        for am in &m.associations {
            let parent_key = match &am.find_parent_by {
                FindParentBy::Mapping(object) => mappings
                    .iter()
                    .find(|p| p.salesforce_object.eq_ignore_ascii_case(object))
                    .map(|p| p.id_property.clone())
                    .with_context(|| format!("no mapping of {object}"))?,
                FindParentBy::Property(property) => property.clone(),
            };
            let parents: BTreeMap<String, String> = hs
                .records(&am.to)
                .into_iter()
                .filter(|r| r["archived"] != json!(true))
                .filter_map(|r| {
                    Some((
                        r["properties"][&parent_key].as_str()?.to_owned(),
                        r["id"].as_str()?.to_owned(),
                    ))
                })
                .collect();
            let live: Vec<(&String, String)> = ids
                .iter()
                .filter_map(|id| {
                    let r = in_hubspot.get(id)?;
                    (r["archived"] != json!(true))
                        .then(|| r["id"].as_str().map(|h| (id, h.to_owned())))
                        .flatten()
                })
                .collect();
            let hs_ids: Vec<String> = live.iter().map(|(_, h)| h.clone()).collect();
            let linked = client
                .read_associations(&hs_object.object_type_id, &am.to, &hs_ids)
                .await?;
            for (id, hs_id) in &live {
                let lookup = handle.get(&m.salesforce_object, id).and_then(|row| {
                    let raw: serde_json::Map<String, Value> = row.into_iter().collect();
                    fields_of(&raw)
                        .into_iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(&am.lookup))
                        .and_then(|(_, v)| v)
                        .filter(|v| !v.is_empty())
                });
                let want: Vec<String> = lookup
                    .as_ref()
                    .and_then(|v| parents.get(v))
                    .cloned()
                    .into_iter()
                    .collect();
                let mut got = linked.get(hs_id).cloned().unwrap_or_default();
                got.sort();
                if got != want {
                    mismatches.push(format!(
                        "{} {id}: associated with {} in HubSpot, {} expected ({} = {})",
                        m.salesforce_object,
                        ids_text(&got),
                        ids_text(&want),
                        am.lookup,
                        lookup.as_deref().unwrap_or("empty")
                    ));
                } else if !want.is_empty() {
                    associations_checked += 1;
                }
            }
        }
        let extra = in_hubspot
            .iter()
            .filter(|(id, r)| r["archived"] != json!(true) && !ids.contains(id))
            .count();
        if extra > 0 {
            mismatches.push(format!(
                "{}: {extra} HubSpot records whose Salesforce record is gone",
                m.salesforce_object
            ));
        }
    }
    let error_records = world.errors.list().await?;
    let t = &pipeline.totals;
    println!("\nSummary");
    println!("  records compared          {compared}");
    println!(
        "  associations checked      {associations_checked} (each record linked to the parent its lookup names)"
    );
    println!(
        "  written to HubSpot        {} ({} created)",
        t.upserted, t.created
    );
    println!(
        "  unchanged (not written)   {} (HubSpot held them as they are)",
        t.unchanged
    );
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
    println!("  error records             {}", error_records.len());
    let took = started.elapsed();
    println!(
        "  took                      {}",
        if took < Duration::from_secs(60) {
            format!("{:.1}s", took.as_secs_f64())
        } else {
            human_duration(took)
        }
    );
    for e in error_records.iter().take(10) {
        println!("  error: {} {} {}", e.object, e.record_id, e.message);
    }
    for m in mismatches.iter().take(20) {
        println!("  mismatch: {m}");
    }
    if let Some(path) = &args.hubspot_requests {
        write_requests(path, &hs.requests())?;
        println!("  HubSpot requests written  {}", path.display());
    }
    sf.shutdown().await;
    hs.shutdown().await;
    if mismatches.is_empty() && error_records.is_empty() && t.archived >= 1 {
        println!("\nHubSpot matches Salesforce.");
        Ok(ExitCode::SUCCESS)
    } else {
        println!(
            "\nHubSpot does NOT match Salesforce ({} mismatches, {} errors).",
            mismatches.len(),
            error_records.len()
        );
        Ok(ExitCode::from(1))
    }
}

/// Writes the simulator's request log as JSON lines.
fn write_requests(
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
    out.flush()
        .with_context(|| format!("writing {}", path.display()))
}

/// Makes a fresh HubSpot simulator look like a customer's portal for `objects`: a custom object
/// per Salesforce object, created from its describe (lookups to objects created before become
/// association types), and companies for `accounts` as HubSpot's own Salesforce integration
/// keeps them (`salesforceaccountid`). Returns the describes.
pub(crate) async fn simulated_portal(
    client: &HubSpotClient,
    hubspot_base_url: &str,
    sf_client: &sfhs_salesforce::Client,
    objects: &[&str],
    accounts: &[String],
    say: &dyn Fn(&str),
) -> anyhow::Result<BTreeMap<String, SfObject>> {
    let mut describes = BTreeMap::new();
    let mut created_types: BTreeMap<String, String> = BTreeMap::new();
    for object in objects {
        let d = sfhs_salesforce::domain::describe(sf_client, object)
            .await?
            .with_context(|| format!("Salesforce has no object {object}"))?;
        let mut schema = hubspot_schema(&d, &object_name(object));
        for target in d.fields.iter().flat_map(|f| f.reference_to.iter()) {
            if let (Some(type_id), Some(list)) = (
                created_types.get(target),
                schema["associatedObjects"].as_array_mut(),
            ) {
                list.push(json!(type_id));
            }
        }
        let created = client.create_schema(&schema).await?;
        created_types.insert((*object).to_owned(), created.object_type_id.clone());
        say(&format!(
            "   {object} -> {} ({})",
            created
                .fully_qualified_name
                .as_deref()
                .unwrap_or(&created.name),
            created.object_type_id
        ));
        describes.insert((*object).to_owned(), d);
    }
    let inputs: Vec<Value> = accounts
        .iter()
        .map(|a| json!({"properties": {"name": format!("Account {a}"), "salesforceaccountid": a}}))
        .collect();
    let http = reqwest::Client::new();
    for chunk in inputs.chunks(100) {
        http.post(format!(
            "{hubspot_base_url}/crm/objects/2026-09/companies/batch/create"
        ))
        .bearer_auth(sfhs_hubspot_sim::DEFAULT_TOKEN)
        .json(&json!({ "inputs": chunk }))
        .send()
        .await?
        .error_for_status()?;
    }
    say(&format!(
        "   {} companies synced by HubSpot's own integration",
        accounts.len()
    ));
    Ok(describes)
}

fn sim(e: sfhs_salesforce_sim::SfError) -> anyhow::Error {
    anyhow::anyhow!(
        "the Salesforce simulator refused a change: {}: {}",
        e.code,
        e.message
    )
}

/// HubSpot record ids for people: `none`, or the ids separated by commas.
fn ids_text(ids: &[String]) -> String {
    if ids.is_empty() {
        "none".to_owned()
    } else {
        ids.join(", ")
    }
}

/// Numbers compare by value (`10.50` in Salesforce is `10.5` in HubSpot).
fn same_number(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() < 1e-9,
        _ => false,
    }
}
