//! Import and delete sweep end to end: the Salesforce simulator read by the import (REST path),
//! work items through the worker engines into the HubSpot simulator; a live change made during
//! the import wins over the older imported version; a record deleted in Salesforce is archived in
//! HubSpot by one sweep; the import's counters add up.

use std::sync::Arc;
use std::time::Duration;

use sfhs_core::import::convert::to_work_item;
use sfhs_core::import::ports::ImportStore;
use sfhs_core::import::{
    ImportRunner, ImportStatus, MemoryContinuation, MemoryImportStore, RunOutcome, RunSettings,
    sweep,
};
use sfhs_core::mapping::store::{MappingStore, MemoryMappingStore, next_version};
use sfhs_core::queue::{MemoryQueue, PublishPolicy, Publisher};
use sfhs_core::sync::memory::{MemoryErrorStore, MemoryLedger};
use sfhs_core::work_item::{Source, WorkItem};
use sfhs_import::salesforce::ClientReader;
use sfhs_salesforce::{Config, Credentials, LoginUrl};
use sfhs_salesforce_sim::{SeedSize, SimBuilder};
use sfhs_tests::drive::{MemQueue, run_until_drained};
use sfhs_tests::portal::{
    INVOICE, engine, mappings, records_by_salesforce_id, seed_companies, setup_portal,
    start_hubspot,
};
use time::OffsetDateTime;

fn items(queue: &MemoryQueue) -> Vec<WorkItem> {
    queue
        .drain()
        .iter()
        .map(|b| WorkItem::from_json(b).expect("a work item"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn imported_records_land_once_live_changes_win_and_deletes_are_archived() {
    let (hs, client) = start_hubspot(190).await;
    setup_portal(&hs.base_url(), &client).await;
    let sf = SimBuilder::new()
        .seed_size(SeedSize {
            accounts: 10,
            invoices: 300,
            lines: 0,
            shipments: 0,
        })
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
    // Enabled ten minutes ago: the delete sweep's first window starts there (Salesforce's deleted
    // records endpoint works in whole minutes, so a window must span minutes to cover anything).
    let enabled = OffsetDateTime::now_utc() - time::Duration::minutes(10);
    store
        .put(&next_version(None, invoice, enabled), None)
        .await
        .unwrap();
    let imports = Arc::new(MemoryImportStore::new());
    let reader = Arc::new(ClientReader::new(
        sfhs_salesforce::Client::new(Config::new(
            LoginUrl::Custom(sf.base_url().to_owned()),
            Credentials::ClientCredentials {
                client_id: "sim-client".into(),
                client_secret: "sim-secret".into(),
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
        settings: RunSettings {
            rest_page_size: 200,
            ..RunSettings::default()
        },
    };

    // The import reads every invoice.
    let record = runner
        .create("Invoice__c", None, 50_000, OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(record.total, 300);
    let outcome = runner.run(&record.id, "import-1", None).await.unwrap();
    assert!(
        matches!(outcome, RunOutcome::Completed { .. }),
        "{outcome:?}"
    );
    let imported = items(&import_queue);
    assert_eq!(imported.len(), 300, "every record once");

    // Meanwhile a record changes in Salesforce: its live version reaches the worker first.
    let changed = imported[7].record_id.clone();
    tokio::time::sleep(Duration::from_millis(5)).await;
    sf.handle()
        .update(
            "Invoice__c",
            &changed,
            serde_json::json!({"Name": "LIVE-EDIT"}),
        )
        .unwrap();
    let row = sf
        .handle()
        .get("Invoice__c", &changed)
        .expect("the changed row");
    let raw: serde_json::Map<String, serde_json::Value> = row.into_iter().collect();
    let mut live = to_work_item(
        &raw,
        &sf.org_id(),
        "Invoice__c",
        "-",
        OffsetDateTime::now_utc(),
    )
    .unwrap();
    live.source = Source::OutboundMessage {
        notification_id: "04lxx00000000001AA".into(),
        action_id: None,
    };

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
    run_until_drained(
        engines.clone(),
        queue.clone(),
        100,
        1,
        Duration::from_secs(120),
    )
    .await;
    queue.push(&imported);
    let report = run_until_drained(
        engines.clone(),
        queue.clone(),
        100,
        2,
        Duration::from_secs(120),
    )
    .await;
    assert_eq!(report.failed, 0);
    assert_eq!(
        report.dropped_stale, 1,
        "the imported copy of the changed record is older"
    );

    let hubspot = records_by_salesforce_id(&hs, INVOICE);
    assert_eq!(
        hubspot.len(),
        300,
        "one HubSpot record per Salesforce record"
    );
    assert_eq!(
        hubspot[&changed]["properties"]["invoice_number"], "LIVE-EDIT",
        "the live change won"
    );
    for item in &imported {
        let name = item
            .fields
            .get("Name")
            .cloned()
            .flatten()
            .unwrap_or_default();
        if item.record_id != changed {
            assert_eq!(
                hubspot[&item.record_id]["properties"]["invoice_number"],
                name.as_str()
            );
        }
    }
    let done = imports
        .get(&record.id)
        .await
        .unwrap()
        .expect("import record");
    assert_eq!(done.status, ImportStatus::Completed);
    assert_eq!(
        done.synced + done.failed,
        300,
        "every imported item counted once"
    );

    // A delete in Salesforce: one sweep enqueues it; the worker archives the HubSpot record.
    let gone = imported[11].record_id.clone();
    sf.handle()
        .delete_at(
            "Invoice__c",
            &gone,
            OffsetDateTime::now_utc() - time::Duration::minutes(5),
        )
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
    run_until_drained(engines, queue, 100, 3, Duration::from_secs(60)).await;
    let hubspot = records_by_salesforce_id(&hs, INVOICE);
    assert!(!hubspot.contains_key(&gone), "archived in HubSpot");
    assert_eq!(hubspot.len(), 299);
    sf.shutdown().await;
    hs.shutdown().await;
}
