//! Invariant 10 through the worker on the production adapters: the DynamoDB ledger (moto's
//! server) and the HubSpot client against the simulator. A new version whose content HubSpot
//! already holds costs no HubSpot call; a real change is written; a value that changes and
//! changes back is written twice; a delete after an unchanged edit is archived; two workers racing
//! on one record end on the newest content. HubSpot calls are counted by the simulator.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use sfhs_aws::dynamo::create_table;
use sfhs_aws::ledger::{DynamoErrorStore, DynamoLedger};
use sfhs_core::sync::{Engine, InMessage, Ledger, RecordKey};
use sfhs_core::work_item::{Op, WorkItem};
use sfhs_hubspot::HubSpotClient;
use sfhs_hubspot_sim::RunningSim;
use sfhs_tests::aws::dynamodb;
use sfhs_tests::items::outbound_item;
use sfhs_tests::moto::{moto, unique};
use sfhs_tests::portal::{
    INVOICE, client_config, engine, mappings, memory_store, records_by_salesforce_id, setup_portal,
    start_hubspot,
};

fn invoice(id: &str, second: i64, name: &str, extra: Option<&str>) -> WorkItem {
    // Description__c: a field no mapping maps; Salesforce sends it when the flow's criteria are met.
    outbound_item(
        "Invoice__c",
        id,
        second,
        &[("Name", Some(name)), ("Amount__c", Some("10.5")), ("Description__c", extra)],
    )
}

fn deleted(id: &str, second: i64) -> WorkItem {
    WorkItem { op: Op::Delete, ..invoice(id, second, "", None) }
}

fn msgs(items: &[WorkItem]) -> Vec<InMessage> {
    items
        .iter()
        .enumerate()
        .map(|(n, i)| InMessage {
            message_id: format!("m{n}"),
            body: i.to_json(),
            receive_count: 1,
            wake: None,
        })
        .collect()
}

struct Rig {
    sim: RunningSim,
    ledger: Arc<DynamoLedger>,
    engines: [Arc<Engine>; 2],
}

async fn rig() -> Rig {
    let (sim, client) = start_hubspot(100_000).await;
    setup_portal(&sim.base_url(), &client).await;
    let mut invoice_mapping = mappings().remove(0);
    invoice_mapping.associations.clear();
    let store = memory_store(vec![invoice_mapping]).await;
    let ddb = dynamodb(&moto().endpoint);
    let table = unique("records");
    create_table(&ddb, &table).await.unwrap();
    let ledger = Arc::new(DynamoLedger::new(ddb.clone(), &table));
    let errors_table = unique("errors");
    create_table(&ddb, &errors_table).await.unwrap();
    let errors = Arc::new(DynamoErrorStore::new(ddb, &errors_table));
    let make = |owner: &str| {
        Arc::new(engine(
            store.clone(),
            ledger.clone(),
            Arc::new(HubSpotClient::new(client_config(&sim.base_url())).unwrap()),
            errors.clone(),
            owner,
            Duration::from_secs(600),
        ))
    };
    let engines = [make("w1"), make("w2")];
    Rig { sim, ledger, engines }
}

impl Rig {
    /// Processes `items` on worker `w` until nothing is handed back; the HubSpot calls it took.
    async fn run(&self, w: usize, items: &[WorkItem]) -> (sfhs_core::sync::BatchReport, u64) {
        let before = self.sim.counters().calls;
        let mut report = self.engines[w].process(msgs(items)).await;
        for _ in 0..20 {
            if report.retry.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            report = self.engines[w].process(msgs(items)).await;
        }
        assert!(report.retry.is_empty(), "{report:?}");
        (report.report, self.sim.counters().calls - before)
    }

    fn name(&self, id: &str) -> Option<String> {
        records_by_salesforce_id(&self.sim, INVOICE)
            .get(id)
            .and_then(|r| r["properties"]["invoice_number"].as_str().map(str::to_owned))
    }
}

#[tokio::test]
async fn unchanged_versions_cost_no_hubspot_call_on_dynamodb() {
    let rig = rig().await;
    let (r, calls) = rig.run(0, &[invoice("a1", 1, "A", None)]).await;
    assert_eq!(r.upserted, 1);
    assert!(calls >= 1);

    // An edit of a field no mapping maps, then an edit that sets the values it had.
    let (r, calls) = rig.run(0, &[invoice("a1", 2, "A", Some("note"))]).await;
    assert_eq!((r.unchanged, r.upserted, calls), (1, 0, 0));
    let (r, calls) = rig.run(0, &[invoice("a1", 3, "A", None)]).await;
    assert_eq!((r.unchanged, calls), (1, 0));
    let entry =
        &rig.ledger.get_many(&[RecordKey::new("Invoice__c", "a1")]).await.unwrap()["invoice__c#a1"];
    assert_eq!(
        entry.version,
        Some(sfhs_core::sync::record_version(&invoice("a1", 3, "A", None), "SystemModstamp").0),
        "the unchanged version is committed"
    );
    // `sfhs status` counts it (the ledger's summary).
    let unchanged_now = || async { rig.ledger.summary().await.unwrap()[0].unchanged };
    assert_eq!(unchanged_now().await, 1);

    // A value that changes and changes back: written twice.
    let (r, calls) = rig.run(0, &[invoice("a1", 4, "B", None)]).await;
    assert_eq!((r.upserted, calls), (1, 1));
    assert_eq!(unchanged_now().await, 0, "written again");
    assert_eq!(rig.name("a1").as_deref(), Some("B"));
    let (r, calls) = rig.run(0, &[invoice("a1", 5, "A", None)]).await;
    assert_eq!((r.upserted, calls), (1, 1));
    assert_eq!(rig.name("a1").as_deref(), Some("A"));

    // A delete after an unchanged edit is archived.
    let (r, _) = rig.run(0, &[invoice("a1", 6, "A", Some("x"))]).await;
    assert_eq!(r.unchanged, 1);
    let (r, _) = rig.run(0, &[deleted("a1", 7)]).await;
    assert_eq!(r.archived, 1);
    assert_eq!(rig.name("a1"), None, "archived in HubSpot");
    rig.sim.shutdown().await;
}

#[tokio::test]
async fn two_workers_racing_on_one_record_end_on_the_newest_content() {
    let rig = rig().await;
    rig.run(0, &[invoice("a2", 1, "A", None)]).await;
    // Worker 1 has a real change, worker 2 an unmapped edit of it, at the same moment.
    let (change, unmapped) = ([invoice("a2", 2, "B", None)], [invoice("a2", 3, "B", Some("note"))]);
    let (a, b) = tokio::join!(rig.run(0, &change), rig.run(1, &unmapped));
    let written = a.0.upserted + b.0.upserted;
    println!(
        "race: w1 upserted {} unchanged {} stale {}; w2 upserted {} unchanged {} stale {}",
        a.0.upserted,
        a.0.unchanged,
        a.0.dropped_stale,
        b.0.upserted,
        b.0.unchanged,
        b.0.dropped_stale
    );
    // Whoever claims first writes B; the other finds its version stale (w1) or its content
    // already there (w2): the change costs one write.
    assert_eq!(written, 1);
    assert_eq!(rig.name("a2").as_deref(), Some("B"));
    let entry =
        &rig.ledger.get_many(&[RecordKey::new("Invoice__c", "a2")]).await.unwrap()["invoice__c#a2"];
    assert_eq!(
        entry.version,
        Some(sfhs_core::sync::record_version(&invoice("a2", 3, "B", None), "SystemModstamp").0)
    );
    assert!(entry.lease_owner.is_none());
    rig.sim.shutdown().await;
}
