//! End to end over real HTTP: the Salesforce simulator sends outbound messages -> the webhook use
//! case (behind a small axum listener) -> SQS on moto -> two workers (the sync engine on the
//! DynamoDB ledger, errors and mappings tables on moto) -> the HubSpot simulator. HubSpot's final
//! state is checked record by record against Salesforce's, associations included (parent after
//! child, lookup changed, lookup cleared, parent in a native-synced object).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde_json::{Value, json};
use sfhs_aws::dynamo::{DynamoMappingStore, create_table};
use sfhs_aws::ledger::{DynamoErrorStore, DynamoLedger};
use sfhs_aws::sqs::SqsQueue;
use sfhs_core::mapping::store::MappingStore;
use sfhs_core::outbound::DEFAULT_MAX_BODY_BYTES;
use sfhs_core::queue::{PublishPolicy, Publisher};
use sfhs_core::sync::ErrorStore as _;
use sfhs_core::sync::{Engine, InMessage};
use sfhs_core::webhook::WebhookPolicy;
use sfhs_hubspot::HubSpotClient;
use sfhs_hubspot_sim::RunningSim;
use sfhs_salesforce_sim::{OutboundConfig, OutboundTiming, SeedSize, SimBuilder, SimHandle};
use sfhs_tests::aws::{create_queue, dynamodb, sqs};
use sfhs_tests::moto::{moto, unique};
use sfhs_tests::portal::{
    INVOICE, LINE, engine, mappings as portal_mappings, records_by_salesforce_id, seed_companies,
    setup_portal, start_hubspot, stored,
};

/// One worker: receive up to 10, process, delete what is done, make the rest visible again soon.
async fn worker_loop(engine: Arc<Engine>, client: aws_sdk_sqs::Client, url: String) {
    loop {
        let Ok(out) = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(30)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
        else {
            continue;
        };
        let messages = out.messages().to_vec();
        if messages.is_empty() {
            continue;
        }
        let handles: BTreeMap<String, String> = messages
            .iter()
            .map(|m| {
                (
                    m.message_id().unwrap_or_default().to_owned(),
                    m.receipt_handle().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let batch: Vec<InMessage> = messages
            .iter()
            .map(|m| InMessage {
                message_id: m.message_id().unwrap_or_default().to_owned(),
                body: m.body().unwrap_or_default().to_owned(),
                receive_count: m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1),
                wake: None,
            })
            .collect();
        let result = engine.process(batch).await;
        for (id, handle) in handles {
            if result.retry.contains(&id) {
                let _ = client
                    .change_message_visibility()
                    .queue_url(&url)
                    .receipt_handle(handle)
                    .visibility_timeout(1)
                    .send()
                    .await;
            } else {
                let _ = client.delete_message().queue_url(&url).receipt_handle(handle).send().await;
            }
        }
    }
}

fn text(row: &sfhs_salesforce_sim::Row, field: &str) -> Option<String> {
    match row.get(field) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn num(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

struct Check<'a> {
    sf: &'a SimHandle,
    hs: &'a RunningSim,
    client: &'a HubSpotClient,
    companies: &'a BTreeMap<String, String>,
    errors: &'a DynamoErrorStore,
}

impl Check<'_> {
    /// Ok when HubSpot holds exactly Salesforce's state for these records.
    async fn state(&self, invoices: &[String], lines: &[String]) -> Result<(), String> {
        let hs_inv = records_by_salesforce_id(self.hs, INVOICE);
        let hs_lines = records_by_salesforce_id(self.hs, LINE);
        let mut inv_ids = BTreeMap::new();
        for id in invoices {
            let row = self.sf.get("Invoice__c", id).ok_or("no sf row")?;
            let rec = hs_inv.get(id).ok_or(format!("invoice {id} not in HubSpot"))?;
            let p = &rec["properties"];
            if p["invoice_number"].as_str().map(str::to_owned) != text(&row, "Name") {
                return Err(format!(
                    "invoice {id}: name {} vs {:?}",
                    p["invoice_number"],
                    row.get("Name")
                ));
            }
            if num(row.get("Amount__c")) != num(p.get("amount")) {
                return Err(format!(
                    "invoice {id}: amount {} vs {:?}",
                    p["amount"],
                    row.get("Amount__c")
                ));
            }
            let status = text(&row, "Status__c").map(|s| match s.as_str() {
                "Paid" => "paid".to_owned(),
                "Void" => "void".to_owned(),
                other => other.to_owned(),
            });
            if p["status"].as_str().map(str::to_owned) != status.or(Some("open".into())) {
                return Err(format!("invoice {id}: status {}", p["status"]));
            }
            let hs_id = rec["id"].as_str().unwrap_or_default().to_owned();
            let assoc = self
                .client
                .read_associations(INVOICE, "companies", std::slice::from_ref(&hs_id))
                .await
                .map_err(|e| e.to_string())?;
            let want: Vec<String> = text(&row, "Account__c")
                .and_then(|a| self.companies.get(&a).cloned())
                .into_iter()
                .collect();
            if assoc.get(&hs_id).cloned().unwrap_or_default() != want {
                return Err(format!("invoice {id}: companies {assoc:?} vs {want:?}"));
            }
            inv_ids.insert(id.clone(), hs_id);
        }
        let all_inv = hs_inv.clone();
        for id in lines {
            let row = self.sf.get("Invoice_Line__c", id).ok_or("no sf row")?;
            let rec = hs_lines.get(id).ok_or(format!("line {id} not in HubSpot"))?;
            if rec["properties"]["line_name"].as_str().map(str::to_owned) != text(&row, "Name") {
                return Err(format!("line {id}: name"));
            }
            if num(row.get("Quantity__c")) != num(rec["properties"].get("quantity")) {
                return Err(format!("line {id}: quantity"));
            }
            let hs_id = rec["id"].as_str().unwrap_or_default().to_owned();
            let assoc = self
                .client
                .read_associations(LINE, INVOICE, std::slice::from_ref(&hs_id))
                .await
                .map_err(|e| e.to_string())?;
            let want: Vec<String> = text(&row, "Invoice__c")
                .and_then(|i| all_inv.get(&i).and_then(|r| r["id"].as_str().map(str::to_owned)))
                .into_iter()
                .collect();
            if text(&row, "Invoice__c").is_some() && want.is_empty() {
                return Err(format!("line {id}: parent not synced yet"));
            }
            if assoc.get(&hs_id).cloned().unwrap_or_default() != want {
                return Err(format!("line {id}: invoices {assoc:?} vs {want:?}"));
            }
        }
        // No duplicates: one HubSpot record per Salesforce id (archived ones included).
        for object in [INVOICE, LINE] {
            let all = self.hs.records(object);
            let mut ids: Vec<&str> =
                all.iter().filter_map(|r| r["properties"]["salesforce_id"].as_str()).collect();
            let n = ids.len();
            ids.sort_unstable();
            ids.dedup();
            if ids.len() != n {
                return Err(format!("{object}: duplicate records"));
            }
        }
        Ok(())
    }

    async fn wait(&self, invoices: &[String], lines: &[String]) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let r = self.state(invoices, lines).await;
            match r {
                Ok(()) => return,
                Err(e) if tokio::time::Instant::now() > deadline => {
                    let mut recorded = Vec::new();
                    for id in invoices {
                        recorded.push(self.errors.get(&format!("invoice__c#{id}")).await);
                    }
                    panic!(
                        "HubSpot never matched Salesforce: {e}; outbound {:?}; errors {recorded:?}",
                        self.sf.outbound_counters()
                    )
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn salesforce_to_hubspot_over_real_http() {
    // AWS on moto: the live queue and the three tables.
    let sqs_client = sqs(&moto().endpoint);
    let queue_url = create_queue(&sqs_client, &unique("live")).await;
    let ddb = dynamodb(&moto().endpoint);
    let (mappings_t, records_t, errors_t) =
        (unique("mappings"), unique("records"), unique("errors"));
    for t in [&mappings_t, &records_t, &errors_t] {
        create_table(&ddb, t).await.unwrap();
    }
    let mappings = Arc::new(DynamoMappingStore::new(ddb.clone(), &mappings_t));
    for m in portal_mappings() {
        mappings.put(&stored(m), None).await.unwrap();
    }

    // HubSpot: the portal, with companies synced by HubSpot's own integration.
    let (hs, client) = start_hubspot(190).await;
    setup_portal(&hs.base_url(), &client).await;

    // Salesforce: a small seeded org sending outbound messages for invoices and lines.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/outbound", listener.local_addr().unwrap());
    let sf = SimBuilder::new()
        .seed_size(SeedSize { accounts: 10, invoices: 10, lines: 10, shipments: 0 })
        .outbound(OutboundConfig::all_fields("Invoice__c", &url))
        .outbound(OutboundConfig::all_fields("Invoice_Line__c", &url))
        .outbound_timing(OutboundTiming::scaled(1000.0))
        .start()
        .await
        .unwrap();
    let accounts = sf.ids("Account");
    let companies: BTreeMap<String, String> =
        seed_companies(&hs, &accounts).await.into_iter().collect();
    sfhs_tests::webhook::serve(
        listener,
        sfhs_core::app::Webhook {
            policy: WebhookPolicy::new([sf.org_id()], None, "secret", DEFAULT_MAX_BODY_BYTES),
            publisher: Publisher::new(
                Arc::new(SqsQueue::new(sqs_client.clone(), &queue_url)),
                PublishPolicy::default(),
            ),
        },
    )
    .await;

    // Two workers sharing the ledger.
    let mut workers = Vec::new();
    for owner in ["w1", "w2"] {
        let e = Arc::new(engine(
            mappings.clone(),
            Arc::new(DynamoLedger::new(ddb.clone(), &records_t)),
            Arc::new(client.clone()),
            Arc::new(DynamoErrorStore::new(ddb.clone(), &errors_t)),
            owner,
            Duration::from_secs(600),
        ));
        workers.push(tokio::spawn(worker_loop(e, sqs_client.clone(), queue_url.clone())));
    }
    let errors = DynamoErrorStore::new(ddb.clone(), &errors_t);
    let check = Check { sf: &sf, hs: &hs, client: &client, companies: &companies, errors: &errors };

    // 1. A line of a seeded invoice that never synced: it waits (parent after child).
    let seeded_invoice = sf.ids("Invoice__c")[0].clone();
    let waiting_line = sf
        .create(
            "Invoice_Line__c",
            json!({"Name": "WAIT-1", "Invoice__c": seeded_invoice, "Quantity__c": 3.0}),
        )
        .unwrap();
    // 2. New invoices (each on a company) and their lines.
    let mut invoices = Vec::new();
    for i in 0..6 {
        invoices.push(
            sf.create(
                "Invoice__c",
                json!({"Name": format!("E2E-{i}"), "Account__c": accounts[i % accounts.len()],
                       "Status__c": if i % 2 == 0 { "Paid" } else { "Draft" },
                       "Amount__c": 100.25 * f64::from(u8::try_from(i).unwrap_or(0))}),
            )
            .unwrap(),
        );
    }
    let mut lines = Vec::new();
    for (i, inv) in invoices.iter().enumerate() {
        lines.push(
            sf.create(
                "Invoice_Line__c",
                json!({"Name": format!("E2E-L{i}"), "Invoice__c": inv, "Quantity__c": 1.0 + f64::from(u8::try_from(i).unwrap_or(0))}),
            )
            .unwrap(),
        );
    }
    check.wait(&invoices, &lines).await;
    let hs_wait = records_by_salesforce_id(&hs, LINE);
    assert!(hs_wait.contains_key(&waiting_line), "the waiting line's values are written");

    // 3. The parent syncs (an edit sends it): the waiting line completes.
    sf.update("Invoice__c", &seeded_invoice, json!({"Name": "SEEDED-EDITED"})).unwrap();
    let mut all_invoices = invoices.clone();
    all_invoices.push(seeded_invoice.clone());
    let mut all_lines = lines.clone();
    all_lines.push(waiting_line.clone());
    check.wait(&all_invoices, &all_lines).await;

    // 4. Edits: values, a lookup changed, a lookup cleared, an account changed.
    sf.update("Invoice__c", &invoices[0], json!({"Amount__c": 999.5, "Name": "E2E-0-v2"})).unwrap();
    sf.update("Invoice__c", &invoices[1], json!({"Account__c": accounts[5]})).unwrap();
    sf.update("Invoice_Line__c", &lines[0], json!({"Invoice__c": invoices[1]})).unwrap();
    sf.update("Invoice_Line__c", &lines[1], json!({"Invoice__c": null})).unwrap();
    check.wait(&all_invoices, &all_lines).await;
    assert!(sf.wait_outbound_idle(Duration::from_secs(10)).await);
    // Everything acked by the webhook is applied: the final state holds.
    tokio::time::sleep(Duration::from_millis(500)).await;
    check.state(&all_invoices, &all_lines).await.unwrap();
    let sent = sf.outbound_counters();
    println!("salesforce outbound: {sent:?}");
    println!("hubspot calls: {:?}", client.stats());
    for id in all_invoices.iter().chain(&all_lines) {
        let key_inv = format!("invoice__c#{id}");
        let key_line = format!("invoice_line__c#{id}");
        assert!(errors.get(&key_inv).await.unwrap().is_none());
        assert!(errors.get(&key_line).await.unwrap().is_none());
    }
    for w in workers {
        w.abort();
    }
    sf.shutdown().await;
    hs.shutdown().await;
}
