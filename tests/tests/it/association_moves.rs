//! Invariant 4 through the worker, on a HubSpot simulator that answers association writes in
//! the shapes HubSpot documents (`batch/create` and `batch/associate/default` answer
//! differently): when a lookup moves to another parent, HubSpot ends with exactly the new
//! association and the ledger with the new parent; when a lookup is cleared, with none.
//!
//! Both association kinds are covered: invoice -> company is unlabelled (associate/default),
//! line -> invoice carries a label (batch/create, and inline on create).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use sfhs_core::sync::memory::{MemoryErrorStore, MemoryLedger};
use sfhs_core::work_item::WorkItem;
use sfhs_hubspot::HubSpotClient;
use sfhs_tests::drive::{MemQueue, run_until_drained};
use sfhs_tests::items::outbound_item;
use sfhs_tests::portal::{
    INVOICE, LINE, client_config, engine, mappings, memory_store, records_by_salesforce_id,
    seed_companies, setup_portal, start_hubspot,
};

fn item(sobject: &str, id: &str, version: i64, fields: &[(&str, Option<&str>)]) -> WorkItem {
    outbound_item(sobject, id, version, fields)
}

fn invoice(id: &str, version: i64, account: Option<&str>) -> WorkItem {
    item(
        "Invoice__c",
        id,
        version,
        &[("Name", Some(id)), ("Amount__c", Some("10.5")), ("Account__c", account)],
    )
}

fn line(id: &str, version: i64, invoice: Option<&str>) -> WorkItem {
    item(
        "Invoice_Line__c",
        id,
        version,
        &[("Name", Some(id)), ("Quantity__c", Some("2")), ("Invoice__c", invoice)],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_and_cleared_lookups_leave_exactly_the_new_association() {
    let (sim, client) = start_hubspot(100_000).await;
    setup_portal(&sim.base_url(), &client).await;
    let accounts = ["001A00000000001AAA".to_owned(), "001A00000000002AAA".to_owned()];
    let companies: BTreeMap<String, String> =
        seed_companies(&sim, &accounts).await.into_iter().collect();
    let (i1, i2) = ("a01A00000000001AAA", "a01A00000000002AAA");
    let (l1, l2) = ("a02A00000000001AAA", "a02A00000000002AAA");

    let store = memory_store(mappings()).await;
    let ledger = Arc::new(MemoryLedger::new());
    let errors = Arc::new(MemoryErrorStore::new());
    let worker = Arc::new(engine(
        store,
        ledger.clone(),
        Arc::new(HubSpotClient::new(client_config(&sim.base_url())).unwrap()),
        errors.clone(),
        "w1",
        Duration::from_secs(600),
    ));
    let queue = Arc::new(MemQueue::new());
    let run = |queue: Arc<MemQueue>| {
        run_until_drained(vec![worker.clone()], queue, 100, 7, Duration::from_secs(60))
    };

    // 1. Invoices on account 1 (i2 too), both lines on invoice 1.
    queue.push(&[invoice(i1, 1, Some(&accounts[0])), invoice(i2, 1, Some(&accounts[0]))]);
    run(queue.clone()).await;
    queue.push(&[line(l1, 1, Some(i1)), line(l2, 1, Some(i1))]);
    run(queue.clone()).await;

    let hs_invoices = records_by_salesforce_id(&sim, INVOICE);
    let hs_lines = records_by_salesforce_id(&sim, LINE);
    let hs = |m: &BTreeMap<String, serde_json::Value>, id: &str| -> String {
        m[id]["id"].as_str().unwrap().to_owned()
    };
    let (h_i1, h_i2) = (hs(&hs_invoices, i1), hs(&hs_invoices, i2));
    let (h_l1, h_l2) = (hs(&hs_lines, l1), hs(&hs_lines, l2));
    let (c1, c2) = (companies[&accounts[0]].clone(), companies[&accounts[1]].clone());

    let lines_now =
        client.read_associations(LINE, INVOICE, &[h_l1.clone(), h_l2.clone()]).await.unwrap();
    assert_eq!(lines_now.get(&h_l1), Some(&vec![h_i1.clone()]));
    assert_eq!(lines_now.get(&h_l2), Some(&vec![h_i1.clone()]));
    let invoices_now = client
        .read_associations(INVOICE, "companies", &[h_i1.clone(), h_i2.clone()])
        .await
        .unwrap();
    assert_eq!(invoices_now.get(&h_i1), Some(&vec![c1.clone()]));

    // 2. Line 1 moves to invoice 2, line 2's lookup is cleared; invoice 1 moves to account 2,
    //    invoice 2's account is cleared.
    queue.push(&[
        line(l1, 2, Some(i2)),
        line(l2, 2, None),
        invoice(i1, 2, Some(&accounts[1])),
        invoice(i2, 2, None),
    ]);
    let report = run(queue.clone()).await;
    assert_eq!(report.failed, 0, "{report:?}");
    assert!(errors.records().is_empty(), "{:?}", errors.records());

    let lines_after =
        client.read_associations(LINE, INVOICE, &[h_l1.clone(), h_l2.clone()]).await.unwrap();
    assert_eq!(lines_after.get(&h_l1), Some(&vec![h_i2.clone()]), "line 1: only the new invoice");
    assert_eq!(lines_after.get(&h_l2), None, "line 2: no invoice left");
    let invoices_after = client
        .read_associations(INVOICE, "companies", &[h_i1.clone(), h_i2.clone()])
        .await
        .unwrap();
    assert_eq!(
        invoices_after.get(&h_i1),
        Some(&vec![c2.clone()]),
        "invoice 1: only the new company"
    );
    assert_eq!(invoices_after.get(&h_i2), None, "invoice 2: no company left");

    // The ledger holds the new parents, and none for the cleared lookups.
    let parent = |key: &str, lookup: &str| {
        ledger
            .entry(key)
            .unwrap()
            .parents
            .get(lookup)
            .map(|p| (p.salesforce_id.clone(), p.hubspot_id.clone()))
    };
    assert_eq!(
        parent(&format!("invoice_line__c#{l1}"), "Invoice__c"),
        Some((i2.to_owned(), Some(h_i2.clone())))
    );
    assert_eq!(parent(&format!("invoice_line__c#{l2}"), "Invoice__c"), None);
    assert_eq!(
        parent(&format!("invoice__c#{i1}"), "Account__c"),
        Some((accounts[1].clone(), Some(c2.clone())))
    );
    assert_eq!(parent(&format!("invoice__c#{i2}"), "Account__c"), None);
    sim.shutdown().await;
}
