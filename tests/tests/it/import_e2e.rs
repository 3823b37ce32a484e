//! Import and delete sweep end to end: 25,000 invoices of the Salesforce simulator read by the
//! import (REST path; the Bulk path at 200,000 is `tests/src/bin/import_load.rs`), work items
//! through the worker engines into the HubSpot simulator; a live change made during
//! the import wins over the older imported version; a record deleted in Salesforce is archived in
//! HubSpot by one sweep; the import's counters add up. What the push missed (outbound messages
//! dropped while the webhook refused) is caught up, and nothing else.

use std::sync::Arc;
use std::time::Duration;

use sfhs_core::app::{self, Imports, SyncSettings, WebhookSettings};
use sfhs_core::drive::{Backoff, Driver, Fate};
use sfhs_core::import::CatchUpSettings;
use sfhs_core::import::ports::ImportStore;
use sfhs_core::import::records::to_work_item;
use sfhs_core::import::{
    ImportRunner, ImportStatus, MemoryContinuation, MemoryImportStore, Reconciler, RunOutcome,
    RunSettings, sweep,
};
use sfhs_core::mapping::store::{MappingStore, MemoryMappingStore, next_version};
use sfhs_core::memory::MemoryWorld;
use sfhs_core::queue::{MemoryQueue, PublishPolicy, Publisher, QueueEntry};
use sfhs_core::sync::EngineConfig;
use sfhs_core::sync::ErrorStore;
use sfhs_core::sync::HubSpotWriter;
use sfhs_core::sync::memory::{MemoryErrorStore, MemoryLedger};
use sfhs_core::sync::ports::ErrorCategory;
use sfhs_core::work_item::{Source, WorkItem};
use sfhs_hubspot::HubSpotClient;
use sfhs_hubspot_sim::ArchivedUniqueValues;
use sfhs_salesforce::ClientReader;
use sfhs_salesforce::{Config, Credentials, LoginUrl};
use sfhs_salesforce_sim::Sim;
use sfhs_salesforce_sim::{SeedSize, SimBuilder};
use sfhs_tests::drive::{MemQueue, run_until_drained};
use sfhs_tests::portal::{
    INVOICE, engine, mappings, records_by_salesforce_id, seed_companies, setup_portal,
    start_hubspot,
};
use time::OffsetDateTime;

/// Invoices imported (the 25,000).
const INVOICES: usize = 25_000;

fn items(queue: &MemoryQueue) -> Vec<WorkItem> {
    queue.drain().iter().map(|b| WorkItem::from_json(b).expect("a work item")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn imported_records_land_once_live_changes_win_and_deletes_are_archived() {
    // A generous budget: 25,000 records are 250 creates (the real budget is the load harness's).
    let (hs, client) = start_hubspot(1900).await;
    setup_portal(&hs.base_url(), &client).await;
    let sf = SimBuilder::new()
        .seed_size(SeedSize { accounts: 10, invoices: INVOICES, lines: 0, shipments: 0 })
        .start()
        .await
        .expect("salesforce simulator");
    seed_companies(&hs, &sf.ids("Account")).await;

    // The invoice mapping, enabled before the import (imports are not cut off by enabled_at).
    let store = Arc::new(MemoryMappingStore::new());
    let invoice = mappings()
        .into_iter()
        .find(|m| m.salesforce_object == "Invoice__c")
        .expect("invoice mapping");
    let invoice_mapping = invoice.clone();
    // Enabled ten minutes ago: the delete sweep's first window starts there (Salesforce's deleted
    // records endpoint works in whole minutes, so a window must span minutes to cover anything).
    let enabled = OffsetDateTime::now_utc() - time::Duration::minutes(10);
    store.put(&next_version(None, invoice, enabled), None).await.unwrap();
    let imports = Arc::new(MemoryImportStore::new());
    let reader = Arc::new(ClientReader::new(
        sfhs_salesforce::Client::new(Config::new(
            LoginUrl::Custom(sf.base_url().to_owned()),
            Credentials::ClientCredentials {
                client_id: sfhs_salesforce_sim::DEFAULT_CLIENT_ID.into(),
                client_secret: sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET.into(),
            },
        ))
        .expect("salesforce client"),
    ));
    let import_queue = Arc::new(MemoryQueue::new());
    let runner = ImportRunner {
        store: imports.clone(),
        mappings: store.clone(),
        reader: reader.clone(),
        publisher: Publisher::new(import_queue.clone(), PublishPolicy::default()),
        continuation: Arc::new(MemoryContinuation::new()),
        settings: RunSettings { rest_page_size: 2000, ..RunSettings::default() },
    };

    // The import reads every invoice.
    let record =
        runner.create("Invoice__c", None, 50_000, false, OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!(record.total, INVOICES as u64);
    let outcome = runner.run(&record.id, "import-1", None).await.unwrap();
    assert!(matches!(outcome, RunOutcome::Completed { .. }), "{outcome:?}");
    let imported = items(&import_queue);
    assert_eq!(imported.len(), INVOICES, "every record once");

    // Meanwhile a record changes in Salesforce: its live version reaches the worker first.
    let changed = imported[7].record_id.clone();
    tokio::time::sleep(Duration::from_millis(5)).await;
    sf.handle().update("Invoice__c", &changed, serde_json::json!({"Name": "LIVE-EDIT"})).unwrap();
    let row = sf.handle().get("Invoice__c", &changed).expect("the changed row");
    let raw: serde_json::Map<String, serde_json::Value> = row.into_iter().collect();
    let mut live = to_work_item(
        &raw,
        &sf.org_id(),
        "Invoice__c",
        Source::Reconcile,
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    live.source =
        Source::OutboundMessage { notification_id: "04lxx00000000001AA".into(), action_id: None };

    // One ledger for all engines (as in AWS).
    let ledger = Arc::new(MemoryLedger::new());
    let errors = Arc::new(MemoryErrorStore::new());
    let engines: Vec<_> = (0..4)
        .map(|w| {
            Arc::new(
                engine(
                    store.clone(),
                    ledger.clone(),
                    Arc::new(client.clone()),
                    errors.clone(),
                    &format!("w{w}"),
                    Duration::from_secs(600),
                )
                .with_imports(imports.clone()),
            )
        })
        .collect();
    let queue = Arc::new(MemQueue::new());
    queue.push(std::slice::from_ref(&live));
    run_until_drained(engines.clone(), queue.clone(), 100, 1, Duration::from_secs(120)).await;
    queue.push(&imported);
    let report =
        run_until_drained(engines.clone(), queue.clone(), 100, 2, Duration::from_secs(120)).await;
    assert_eq!(report.failed, 0);
    assert_eq!(report.dropped_stale, 1, "the imported copy of the changed record is older");

    let hubspot = records_by_salesforce_id(&hs, INVOICE);
    assert_eq!(hubspot.len(), INVOICES, "one HubSpot record per Salesforce record");
    assert_eq!(
        hubspot[&changed]["properties"]["invoice_number"], "LIVE-EDIT",
        "the live change won"
    );
    for item in &imported {
        let name = item.fields.get("Name").cloned().flatten().unwrap_or_default();
        if item.record_id != changed {
            assert_eq!(hubspot[&item.record_id]["properties"]["invoice_number"], name.as_str());
        }
    }
    let done = imports.get(&record.id).await.unwrap().expect("import record");
    assert_eq!(done.status, ImportStatus::Completed);
    assert_eq!(done.synced + done.failed, INVOICES as u64, "every imported item counted once");

    // A delete in Salesforce: one sweep enqueues it; the worker archives the HubSpot record.
    let gone = imported[11].record_id.clone();
    sf.handle()
        .delete_at("Invoice__c", &gone, OffsetDateTime::now_utc() - time::Duration::minutes(5))
        .unwrap();
    let live_queue = Arc::new(MemoryQueue::new());
    let report = sweep(
        store.as_ref(),
        imports.as_ref(),
        reader.as_ref(),
        &Publisher::new(live_queue.clone(), PublishPolicy::default()),
        OffsetDateTime::now_utc(),
        false,
    )
    .await
    .unwrap();
    let deletes = items(&live_queue);
    assert_eq!(deletes.len(), 1, "{report:?}");
    queue.push(&deletes);
    run_until_drained(engines.clone(), queue.clone(), 100, 3, Duration::from_secs(60)).await;
    let hubspot = records_by_salesforce_id(&hs, INVOICE);
    assert!(!hubspot.contains_key(&gone), "archived in HubSpot");
    assert_eq!(hubspot.len(), INVOICES - 1);

    // Drift the sweep cannot see: Salesforce no longer has some deletes (they are older than
    // its retention: a gap), records changed without an outbound message, records HubSpot lost.
    let now = OffsetDateTime::now_utc();
    let lost_deletes: Vec<String> = imported[20..25].iter().map(|i| i.record_id.clone()).collect();
    for id in &lost_deletes {
        sf.handle().delete_at("Invoice__c", id, now - time::Duration::days(20)).unwrap();
    }
    let silent: Vec<String> = imported[30..33].iter().map(|i| i.record_id.clone()).collect();
    for id in &silent {
        sf.handle()
            .update("Invoice__c", id, serde_json::json!({"Name": format!("SILENT-{id}")}))
            .unwrap();
    }
    let lost_in_hubspot: Vec<String> =
        imported[40..42].iter().map(|i| i.record_id.clone()).collect();
    client.batch_archive_by_property(INVOICE, "salesforce_id", &lost_in_hubspot).await.unwrap();
    // The sweep reports the gap (a fresh sweep state starts at the mapping's enable time, ten
    // minutes ago; Salesforce here keeps deletes for two).
    sf.handle().update_knobs(|k| k.deleted_retention = Duration::from_secs(120));
    let gap_report = sweep(
        store.as_ref(),
        &MemoryImportStore::new(),
        reader.as_ref(),
        &Publisher::new(Arc::new(MemoryQueue::new()), PublishPolicy::default()),
        now,
        true,
    )
    .await
    .unwrap();
    assert_eq!(gap_report.gaps(), 1, "{gap_report:?}");

    // A dry run finds every kind and enqueues nothing.
    let repairs = Arc::new(MemoryQueue::new());
    let repair_publisher = Publisher::new(repairs.clone(), PublishPolicy::default());
    let writer: &dyn HubSpotWriter = &client;
    let reconciler = Reconciler {
        reader: reader.as_ref(),
        hubspot: writer,
        ledger: ledger.as_ref(),
        publisher: &repair_publisher,
        page_size: 2000,
    };
    let dry = reconciler.run(&invoice_mapping, now, true).await.unwrap();
    assert_eq!((dry.missing, dry.stale, dry.orphans), (2, 3, 5), "{dry:?}");
    assert_eq!(dry.salesforce, (INVOICES - 1 - 5) as u64);
    assert!(repairs.drain().is_empty());
    let mut orphans = lost_deletes.clone();
    orphans.sort();
    assert_eq!(dry.orphan_ids, orphans);

    // For real: the repairs go through the worker; HubSpot then matches Salesforce.
    let fixed = reconciler.run(&invoice_mapping, now, false).await.unwrap();
    assert_eq!((fixed.enqueued_upserts, fixed.enqueued_deletes), (5, 5));
    queue.push(&items(&repairs));
    let report = run_until_drained(engines, queue, 100, 4, Duration::from_secs(60)).await;
    assert_eq!(report.failed, 0);
    let hubspot = records_by_salesforce_id(&hs, INVOICE);
    assert_eq!(hubspot.len(), INVOICES - 1 - 5);
    for id in &lost_deletes {
        assert!(!hubspot.contains_key(id), "{id} archived");
    }
    for id in &lost_in_hubspot {
        assert!(hubspot.contains_key(id), "{id} back in HubSpot");
    }
    for id in &silent {
        assert_eq!(hubspot[id]["properties"]["invoice_number"], format!("SILENT-{id}").as_str());
    }
    let again = reconciler.run(&invoice_mapping, OffsetDateTime::now_utc(), true).await.unwrap();
    assert!(again.is_clean(), "{again:?}");
    sf.shutdown().await;
    hs.shutdown().await;
}

/// One process's use cases over `world`, as the catch-up tests run them: the sync engine on
/// HubSpot behind the one queue driver, and imports reading `sf` that catch up whenever asked.
fn catching_up(world: &MemoryWorld, client: &HubSpotClient, sf: &Sim) -> (Driver, Imports) {
    let driver = Driver::new(
        Arc::new(app::engine(
            world.sync_ports(Arc::new(client.clone())),
            SyncSettings {
                engine: EngineConfig::new("w1"),
                mappings_cache: Duration::from_secs(1),
            },
        )),
        Backoff::DEPLOYED,
    );
    let reader = sfhs_tests::sims::salesforce_reader(sf.base_url()).expect("a valid fixture");
    let imports =
        app::imports(world.import_ports(reader), RunSettings::default(), PublishPolicy::default())
            .with_catch_up(
                world.ledger.clone(),
                CatchUpSettings {
                    every: Duration::ZERO,
                    settle: Duration::ZERO,
                    ..CatchUpSettings::default()
                },
            );
    (driver, imports)
}

/// The Salesforce simulator with `invoices` and `lines` (two accounts, seeded as companies in
/// `hs`), and a memory world whose two mappings were enabled ten minutes ago: the sweep's and the
/// catch-up's first windows start there.
#[allow(clippy::unwrap_used)]
async fn enabled_world(
    hs: &sfhs_hubspot_sim::RunningSim,
    invoices: usize,
    lines: usize,
) -> (Sim, MemoryWorld) {
    let sf = SimBuilder::new()
        .seed_size(SeedSize { accounts: 2, invoices, lines, shipments: 0 })
        .start()
        .await
        .expect("salesforce simulator");
    seed_companies(hs, &sf.ids("Account")).await;
    let world = MemoryWorld::new();
    let enabled = OffsetDateTime::now_utc() - time::Duration::minutes(10);
    for m in mappings() {
        world.mappings.put(&next_version(None, m, enabled), None).await.unwrap();
    }
    (sf, world)
}

/// Imports `objects` one after the other, each drained through the engine before the next.
#[allow(clippy::unwrap_used)]
async fn import_all(imports: &Imports, driver: &Driver, world: &MemoryWorld, objects: &[&str]) {
    for object in objects {
        let record = imports
            .runner
            .create(object, None, 50_000, false, OffsetDateTime::now_utc())
            .await
            .unwrap();
        imports.runner.run(&record.id, "t", None).await.unwrap();
        drain(driver, &[&world.import, &world.live]).await;
    }
}

/// Drives the engine over `queues`, in order, until each is empty.
async fn drain(driver: &Driver, queues: &[&Arc<MemoryQueue>]) {
    for queue in queues {
        while driver.once(queue.as_ref(), 100).await.expect("the memory queue answers").is_some() {}
    }
}

/// Drives the engine over `queue` until it is empty or holds only children waiting for a parent
/// (the memory queue hands them back at once, where SQS would wait the re-check).
async fn drain_until_waiting(driver: &Driver, queue: &Arc<MemoryQueue>) {
    while let Some(driven) =
        driver.once(queue.as_ref(), 100).await.expect("the memory queue answers")
    {
        if driven.fates.iter().all(|(m, fate)| {
            matches!(fate, Fate::Again(_)) && driven.result.waiting.contains(&m.message_id)
        }) {
            return;
        }
    }
}

/// Issue 33: the webhook refuses (down, a rotated secret) for longer than Salesforce retries,
/// while 1,000 invoices change: every outbound message is dropped. After it comes back, one
/// catch-up finds the 1,000 changes the ledger has not applied, and the worker brings them to
/// HubSpot; no manual step. Then a day of changes pushed as they should be (96 catch-ups, one
/// per 15 minutes, compressed): the catch-up enqueues nothing, so HubSpot sees no call from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn what_the_push_missed_is_caught_up_and_nothing_else() {
    use sfhs_salesforce_sim::{OutboundConfig, OutboundTiming};

    const CHANGED: usize = 1_000;
    let (hs, client) = start_hubspot(1900).await;
    setup_portal(&hs.base_url(), &client).await;
    // Salesforce retries for 24 hours, here scaled to 4.3 s.
    let sf = SimBuilder::new()
        .seed_size(SeedSize { accounts: 10, invoices: CHANGED, lines: 0, shipments: 0 })
        .outbound_timing(OutboundTiming::scaled(20_000.0))
        .start()
        .await
        .expect("salesforce simulator");
    seed_companies(&hs, &sf.ids("Account")).await;
    let world = MemoryWorld::new();
    let invoice = mappings()
        .into_iter()
        .find(|m| m.salesforce_object == "Invoice__c")
        .expect("invoice mapping");
    // Applied now: the catch-up starts from here.
    world.mappings.put(&sfhs_tests::portal::stored(invoice), None).await.unwrap();
    let webhook = sfhs_tests::webhook::serve(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        app::webhook(
            WebhookSettings {
                allowed_org_ids: vec![sf.org_id()],
                url_secret: None,
                secret_param: "secret".into(),
                max_body_bytes: sfhs_core::outbound::DEFAULT_MAX_BODY_BYTES,
                publish: PublishPolicy::default(),
            },
            world.live.clone(),
        ),
    )
    .await;
    sf.configure_outbound(OutboundConfig::all_fields("Invoice__c", &webhook.url)).unwrap();
    let (driver, imports) = catching_up(&world, &client, &sf);

    // The outage: every change's message is refused until Salesforce gives up.
    webhook.refuse(true);
    let ids = sf.ids("Invoice__c");
    for (i, id) in ids.iter().enumerate() {
        sf.update("Invoice__c", id, serde_json::json!({"Name": format!("MISSED-{i}")})).unwrap();
    }
    assert!(sf.wait_outbound_idle(Duration::from_secs(60)).await);
    assert_eq!(sf.outbound_counters().notifications_dropped, CHANGED as u64);
    assert!(world.live.is_empty(), "nothing reached the queue");
    webhook.refuse(false);

    // One catch-up: the 1,000 changes, on the live queue; the worker writes them.
    let report = imports.catch_up(OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!(report.caught_up(), CHANGED, "{report:?}");
    drain(&driver, &[&world.live]).await;
    let in_hubspot = records_by_salesforce_id(&hs, INVOICE);
    let right = ids
        .iter()
        .enumerate()
        .filter(|(i, id)| {
            in_hubspot
                .get(*id)
                .is_some_and(|r| r["properties"]["invoice_number"] == format!("MISSED-{i}"))
        })
        .count();
    assert_eq!(right, CHANGED);
    let state = world.imports.get_sweep("Invoice__c").await.unwrap().unwrap();
    assert_eq!(state.caught_up, CHANGED as u64);

    // A day of changes pushed as they should be: the catch-up finds nothing missing.
    let calls = client.stats().requests;
    let used = sf.api_used();
    let mut caught_up = 0;
    for round in 0..96 {
        for id in ids.iter().skip(round * 10).take(10) {
            sf.update("Invoice__c", id, serde_json::json!({"Name": format!("DAY-{round}")}))
                .unwrap();
        }
        assert!(sf.wait_outbound_idle(Duration::from_secs(30)).await);
        drain(&driver, &[&world.live]).await;
        let report = imports.catch_up(OffsetDateTime::now_utc()).await.unwrap();
        caught_up += report.caught_up();
        assert!(world.live.is_empty(), "round {round}: {report:?}");
    }
    assert_eq!(caught_up, 0);
    let salesforce_calls = sf.api_used() - used;
    println!(
        "a day of catch-ups (96, one object): {salesforce_calls} Salesforce API calls, 0 enqueued; HubSpot calls for the pushes: {}",
        client.stats().requests - calls
    );
    assert!(salesforce_calls <= 2 * 96, "{salesforce_calls}");
}

/// Issue 33: a record deleted in Salesforce (archived in HubSpot by the sweep), then undeleted:
/// no outbound message, and the `deleted` resource does not say so; the catch-up finds it, and it
/// is back in HubSpot with its values and its company, and its lines linked to it again. Whether
/// Salesforce's undelete moves the record's SystemModstamp is unverified: both are run. What
/// HubSpot's upsert meets when an archived record kept the id is unverified too (no API restores
/// one): with the value released, a new record; with the archived record restored by the upsert,
/// the same one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_undeleted_record_is_back_in_hubspot_with_its_associations_and_its_childrens() {
    undelete(true, ArchivedUniqueValues::Released).await;
    undelete(false, ArchivedUniqueValues::Released).await;
    undelete(true, ArchivedUniqueValues::Restored).await;
}

/// Issue 33, the third answer: HubSpot refuses the upsert while the archived record keeps the id
/// (409). The record becomes an error record that says to restore the archived record in HubSpot
/// and replay; once an operator has (HubSpot's UI), the replay brings it back with its lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_undeleted_record_held_by_an_archived_one_is_an_error_until_restored_and_replayed() {
    undelete(true, ArchivedUniqueValues::Held).await;
}

/// One undelete scenario: Salesforce's stamps moved or not, HubSpot's archived record as
/// `archived`.
#[allow(clippy::unwrap_used)]
async fn undelete(moves_stamps: bool, archived: ArchivedUniqueValues) {
    let (hs, client) = start_hubspot(1900).await;
    hs.update_config(|c| c.archived_unique_values = archived);
    setup_portal(&hs.base_url(), &client).await;
    let (sf, world) = enabled_world(&hs, 3, 6).await;
    sf.update_knobs(|k| {
        k.deleted_granularity = Duration::from_millis(1);
        k.undelete_moves_stamps = moves_stamps;
    });
    let (driver, imports) = catching_up(&world, &client, &sf);
    import_all(&imports, &driver, &world, &["Invoice__c", "Invoice_Line__c"]).await;
    let handle = sf.handle();
    let invoice = sf.ids("Invoice__c")[0].clone();
    let lines: Vec<String> = sf
        .ids("Invoice_Line__c")
        .into_iter()
        .filter(|l| {
            handle.get("Invoice_Line__c", l).and_then(|r| r.get("Invoice__c").cloned())
                == Some(serde_json::json!(invoice))
        })
        .collect();
    assert!(!lines.is_empty(), "the invoice has lines");
    let linked_to = |hs_invoice: String| {
        let client = client.clone();
        let hs_lines: Vec<String> = lines
            .iter()
            .filter_map(|l| {
                records_by_salesforce_id(&hs, sfhs_tests::portal::LINE)
                    .get(l)
                    .and_then(|r| r["id"].as_str().map(str::to_owned))
            })
            .collect();
        async move {
            let linked = client
                .read_associations(sfhs_tests::portal::LINE, INVOICE, &hs_lines)
                .await
                .unwrap();
            hs_lines.iter().filter(|l| linked.get(*l) == Some(&vec![hs_invoice.clone()])).count()
        }
    };
    let before =
        records_by_salesforce_id(&hs, INVOICE)[&invoice]["id"].as_str().unwrap().to_owned();
    assert_eq!(linked_to(before.clone()).await, lines.len());

    // Deleted: the sweep archives it in HubSpot.
    sf.delete_at("Invoice__c", &invoice, OffsetDateTime::now_utc() - time::Duration::minutes(2))
        .unwrap();
    let swept = imports.tick("t", None).await.unwrap();
    assert_eq!(swept.sweep.deletes(), 1, "{:?}", swept.sweep);
    drain(&driver, &[&world.import, &world.live]).await;
    assert!(!records_by_salesforce_id(&hs, INVOICE).contains_key(&invoice));

    // Undeleted: nothing is sent; the catch-up finds it.
    sf.undelete("Invoice__c", &invoice).unwrap();
    let report = imports.catch_up(OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!(report.caught_up(), 1, "stamps moved: {moves_stamps}: {report:?}");
    if archived == ArchivedUniqueValues::Held {
        // The invoice is refused; its lines wait for it. (Not applied, it stays due: a catch-up
        // whose window still holds its change offers it again.)
        drain_until_waiting(&driver, &world.live).await;
    } else {
        drain(&driver, &[&world.import, &world.live]).await;
        // Found once: the next catch-up finds nothing more.
        let report = imports.catch_up(OffsetDateTime::now_utc()).await.unwrap();
        assert_eq!(report.caught_up(), 0, "stamps moved: {moves_stamps}: {report:?}");
    }
    if archived == ArchivedUniqueValues::Held {
        assert!(!records_by_salesforce_id(&hs, INVOICE).contains_key(&invoice));
        let key = format!("invoice__c#{invoice}");
        let error = world.errors.get(&key).expect("an error record for the invoice");
        assert_eq!(error.category, ErrorCategory::Conflict, "{error:?}");
        assert!(
            error.message.contains(&format!("HubSpot id {before}"))
                && error.message.contains("Restore that record in HubSpot")
                && error.message.contains(&format!("sfhs errors replay {key}")),
            "{}",
            error.message
        );
        // The operator restores it in HubSpot's recycle bin, then replays, as `sfhs errors
        // replay` does: the work item back on the live queue, the error record gone.
        hs.restore(INVOICE, before.parse().unwrap()).unwrap();
        Publisher::new(world.live.clone(), PublishPolicy::default())
            .publish_entries(vec![QueueEntry { id: "0".into(), body: error.work_item.clone() }])
            .await
            .unwrap();
        world.errors.delete(&key).await.unwrap();
        drain(&driver, &[&world.live]).await;
        assert!(world.errors.get(&key).is_none(), "{:?}", world.errors.get(&key));
    }
    let back = records_by_salesforce_id(&hs, INVOICE);
    let back = back.get(&invoice).expect("the invoice is back in HubSpot");
    let name = handle.get("Invoice__c", &invoice).unwrap()["Name"].clone();
    assert_eq!(back["properties"]["invoice_number"], name);
    let back_id = back["id"].as_str().unwrap().to_owned();
    if archived == ArchivedUniqueValues::Released {
        assert_ne!(back_id, before, "a new HubSpot record");
    } else {
        assert_eq!(back_id, before, "the archived HubSpot record, restored");
    }
    assert_eq!(linked_to(back_id).await, lines.len(), "its lines point at it again ({archived:?})");
}

/// Issue 34: an admin deactivates the invoices' flow in Setup, then ten invoices change. No
/// outbound message is sent; the next drift check (one interval, here at once) reports the flow
/// (the metric's value, and the warning stored where `sfhs status` reads it); the set-up deployed
/// again, as `sfhs salesforce apply` does, clears it; the catch-up brings the ten changes to
/// HubSpot. Then a mapped field taken off the message in Setup is reported the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[allow(clippy::unwrap_used)]
async fn a_flow_deactivated_in_setup_is_reported_until_applied_and_its_changes_arrive() {
    use sfhs_core::import::{DriftCheck, DriftSettings};
    use sfhs_core::salesforce_setup::{self, SetupConfig};
    use sfhs_salesforce::metadata::{DeployOptions, package_zip};

    let (hs, client) = start_hubspot(1900).await;
    setup_portal(&hs.base_url(), &client).await;
    let (sf, world) = enabled_world(&hs, 20, 0).await;
    let hook = "http://127.0.0.1:9/outbound";
    let (driver, imports) = catching_up(&world, &client, &sf);
    let imports = imports
        .with_drift(DriftSettings { every: Duration::ZERO, webhook_url: Some(hook.to_owned()) });
    import_all(&imports, &driver, &world, &["Invoice__c"]).await;

    // `sfhs salesforce apply`: the outbound messages and flows deployed.
    let sfc = sfhs_tests::sims::salesforce_client(sf.base_url()).unwrap();
    let all = mappings();
    let cfg = SetupConfig {
        webhook_url: hook.into(),
        url_secret: None,
        secret_param: "secret".into(),
        integration_user: sfhs_salesforce_sim::DEFAULT_USERNAME.into(),
        api_version: "62.0".into(),
    };
    let zip = package_zip(&salesforce_setup::package_files(
        &salesforce_setup::desired(
            &all.iter().collect::<Vec<_>>(),
            &cfg,
            &salesforce_setup::FieldTypes::default(),
        ),
        "62.0",
    ))
    .unwrap();
    let apply = || async {
        let r = sfc
            .deploy(
                &zip,
                &DeployOptions::new(false),
                Duration::from_secs(5),
                Duration::from_millis(20),
            )
            .await
            .unwrap();
        assert!(r.success, "{r:?}");
    };
    apply().await;
    let check = imports.check_drift(OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!(check, DriftCheck::Checked { drift: vec![] }, "as applied");

    // In Setup: the invoices' flow deactivated; then ten invoices change.
    let handle = sf.handle();
    handle.deactivate_flow_in_setup("sfhs_Invoice_c").unwrap();
    let sent_before = handle.outbound_counters().notifications_queued;
    let changed: Vec<String> = sf.ids("Invoice__c").into_iter().take(10).collect();
    for (i, id) in changed.iter().enumerate() {
        handle.update("Invoice__c", id, serde_json::json!({"Amount__c": 5000 + i})).unwrap();
    }
    assert_eq!(
        handle.outbound_counters().notifications_queued,
        sent_before,
        "a deactivated flow sends nothing"
    );
    let check = imports.check_drift(OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!(check.count(), 1, "the metric SetupDrift: {check:?}");
    let state = world.imports.get_sweep("Invoice__c").await.unwrap().unwrap();
    assert_eq!(state.drift.len(), 1, "{:?}", state.drift);
    assert_eq!(state.drift[0].component, "flow sfhs_Invoice_c");
    assert!(state.drift[0].problem.contains("is not active"));
    assert!(state.drift[0].fix.contains("sfhs salesforce apply"));
    let since = state.drift_since.expect("since when");
    // Still there at the next check, since the same time.
    imports.check_drift(OffsetDateTime::now_utc()).await.unwrap();
    let state = world.imports.get_sweep("Invoice__c").await.unwrap().unwrap();
    assert_eq!(state.drift_since, Some(since));

    // `sfhs salesforce apply` again: the warning clears; the catch-up brings the changes.
    apply().await;
    let check = imports.check_drift(OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!(check, DriftCheck::Checked { drift: vec![] });
    let state = world.imports.get_sweep("Invoice__c").await.unwrap().unwrap();
    assert!(state.drift.is_empty() && state.drift_since.is_none());
    let report = imports.catch_up(OffsetDateTime::now_utc()).await.unwrap();
    assert_eq!(report.caught_up(), 10, "{report:?}");
    drain(&driver, &[&world.live]).await;
    let in_hubspot = records_by_salesforce_id(&hs, INVOICE);
    for (i, id) in changed.iter().enumerate() {
        assert_eq!(
            in_hubspot[id]["properties"]["amount"],
            serde_json::json!((5000 + i).to_string()),
            "{id}"
        );
    }

    // In Setup: Amount__c taken off the invoices' outbound message.
    handle
        .edit_outbound_message_in_setup(
            "Invoice__c",
            "sfhs_sync",
            &["Id", "Account__c", "Name", "Notes__c", "Status__c", "SystemModstamp"],
        )
        .unwrap();
    let check = imports.check_drift(OffsetDateTime::now_utc()).await.unwrap();
    let DriftCheck::Checked { drift } = check else {
        panic!("checked: {check:?}");
    };
    assert_eq!(drift.len(), 1, "{drift:?}");
    assert_eq!(drift[0].component, "outbound message Invoice__c.sfhs_sync");
    assert!(drift[0].problem.starts_with("does not send Amount__c"), "{}", drift[0].problem);
}
