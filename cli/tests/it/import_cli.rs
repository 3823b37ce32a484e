//! `sfhs import` and `sfhs deletes sweep` end to end: the real binary, the Salesforce simulator
//! over HTTP, DynamoDB and SQS on moto's server.

use std::collections::HashSet;
use std::process::{Command, Output};

use serde_json::Value;
use sfhs_aws::dynamo::{DynamoMappingStore, create_table};
use sfhs_aws::ledger::DynamoErrorStore;
use sfhs_core::mapping::store::{MappingStore, StoredMapping};
use sfhs_core::sync::{ErrorCategory, ErrorRecord, ErrorStore};
use sfhs_core::work_item::{Op, Source, WorkItem};
use sfhs_salesforce_sim::{SeedSize, SimBuilder};
use sfhs_tests::aws::{child_env, create_queue, drain, dynamodb, sqs};
use sfhs_tests::moto::{moto, unique};
use time::OffsetDateTime;

const INVOICE: &str = r#"
salesforce_object: Invoice__c
hubspot_object: p1_invoice
id_property: salesforce_id
state: enabled
fields:
  - {salesforce: Name, hubspot: name}
  - {salesforce: Amount__c, hubspot: amount}
associations:
  - lookup: Account__c
    to: companies
    find_parent_by: {property: salesforceaccountid}
"#;

struct Env {
    salesforce: String,
    imports: String,
    mappings: String,
    import_queue: String,
    live_queue: String,
}

fn sfhs(e: &Env, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfhs"))
        .args(args)
        .envs(child_env(&moto().endpoint))
        .envs(sfhs_tests::sims::salesforce_env(&e.salesforce))
        .env("SFHS_IMPORTS_TABLE", &e.imports)
        .env("SFHS_MAPPINGS_TABLE", &e.mappings)
        .env("SFHS_IMPORT_QUEUE_URL", &e.import_queue)
        .env("SFHS_LIVE_QUEUE_URL", &e.live_queue)
        .output()
        .expect("run sfhs")
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn count_start_list_show_cancel_and_sweep() {
    let sim = SimBuilder::new()
        .seed_size(SeedSize { accounts: 10, invoices: 300, lines: 0, shipments: 0 })
        .start()
        .await
        .expect("salesforce sim");
    let endpoint = &moto().endpoint;
    let db = dynamodb(endpoint);
    let q = sqs(endpoint);
    let e = Env {
        salesforce: sim.base_url().to_owned(),
        imports: unique("imports"),
        mappings: unique("mappings"),
        import_queue: create_queue(&q, &unique("import")).await,
        live_queue: create_queue(&q, &unique("live")).await,
    };
    create_table(&db, &e.imports).await.expect("imports table");
    create_table(&db, &e.mappings).await.expect("mappings table");
    let now = OffsetDateTime::now_utc();
    DynamoMappingStore::new(db.clone(), &e.mappings)
        .put(
            &StoredMapping {
                mapping: serde_norway::from_str(INVOICE).expect("mapping"),
                version: 1,
                updated_at: now,
                enabled_at: Some(now - time::Duration::minutes(30)),
                outbound_fields: None,
            },
            None,
        )
        .await
        .expect("mapping stored");

    // count: the total and the estimate (creates carrying their associations; upserts and one
    // association batch each when HubSpot has the records).
    let o = sfhs(&e, &["import", "count", "Invoice__c", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&o);
    assert_eq!(v["estimate"]["total"], 300);
    assert_eq!(v["estimate"]["calls"], 3);
    assert_eq!(v["estimate"]["calls_if_in_hubspot"], 6);
    let o = sfhs(&e, &["import", "count", "Invoice__c", "--where", "Amount__c < 0"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("Invoice__c: 0 records"), "{}", text(&o));

    // start --local: read in this process, onto the import queue.
    let o = sfhs(&e, &["import", "start", "Invoice__c", "--local", "--page-size", "200", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&o);
    let id = v["import"]["id"].as_str().expect("id").to_owned();
    assert_eq!(v["import"]["status"], "completed");
    assert_eq!(v["import"]["enqueued"], 300);
    let bodies = drain(&q, &e.import_queue).await;
    let ids: HashSet<String> =
        bodies.iter().map(|b| WorkItem::from_json(b).expect("work item").record_id).collect();
    assert_eq!((bodies.len(), ids.len()), (300, 300));

    let o = sfhs(&e, &["import", "list"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains(&id) && text(&o).contains("completed"), "{}", text(&o));
    let o = sfhs(&e, &["import", "show", &id]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("300 enqueued"), "{}", text(&o));
    // With the errors table: the import's records the worker could not write (one here, as the
    // worker records it; another import's error is not listed).
    let errors_table = unique("errors");
    create_table(&db, &errors_table).await.expect("errors table");
    let errors = DynamoErrorStore::new(db.clone(), &errors_table);
    let mine = WorkItem::from_json(&bodies[0]).expect("work item");
    let mut other = mine.clone();
    other.record_id = "a0Xother".into();
    other.source = Source::Import { import_id: "imp-other".into(), force: false };
    for (item, message) in [(&mine, "not an option"), (&other, "elsewhere")] {
        errors
            .put(&ErrorRecord {
                id: format!("invoice__c#{}", item.record_id),
                category: ErrorCategory::Picklist,
                object: "Invoice__c".into(),
                record_id: item.record_id.clone(),
                field: Some("Status__c -> status".into()),
                value: Some("Weird".into()),
                message: message.into(),
                attempts: 1,
                work_item: item.to_json(),
                at: OffsetDateTime::now_utc(),
            })
            .await
            .expect("error record");
    }
    let o = sfhs(&e, &["import", "show", &id, "--errors-table", &errors_table]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("1 record(s) could not be written")
            && text(&o).contains(&mine.record_id)
            && text(&o).contains("[picklist] Status__c -> status: not an option")
            && !text(&o).contains("elsewhere"),
        "{}",
        text(&o)
    );
    let o = sfhs(&e, &["import", "cancel", &id]);
    assert_eq!(o.status.code(), Some(1), "a completed import cannot be cancelled");
    let o = sfhs(&e, &["import", "show", "imp-nope"]);
    assert_eq!(o.status.code(), Some(2));

    // start without --local: recorded, pending, then cancelled.
    let o = sfhs(&e, &["import", "start", "Invoice__c", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let pending = json(&o)["import"]["id"].as_str().expect("id").to_owned();
    assert_eq!(json(&o)["import"]["status"], "pending");
    let o = sfhs(&e, &["import", "cancel", &pending, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(json(&o)["import"]["status"], "cancelled");

    // deletes sweep: dry run, then for real.
    let handle = sim.handle();
    let gone: Vec<String> = handle.ids("Invoice__c").into_iter().take(3).collect();
    for id in &gone {
        handle.delete_at("Invoice__c", id, now - time::Duration::minutes(10)).expect("delete");
    }
    let o = sfhs(&e, &["deletes", "sweep", "--dry-run"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("would enqueue 3 deletes"), "{}", text(&o));
    assert!(drain(&q, &e.live_queue).await.is_empty());
    let o = sfhs(&e, &["deletes", "sweep", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(json(&o)["objects"][0]["deletes"], 3);
    let items: Vec<WorkItem> = drain(&q, &e.live_queue)
        .await
        .iter()
        .map(|b| WorkItem::from_json(b).expect("work item"))
        .collect();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|i| i.op == Op::Delete && gone.contains(&i.record_id)));
    let o = sfhs(&e, &["deletes", "sweep"]);
    assert!(text(&o).contains("enqueued 0 deletes"), "{}", text(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_finds_missing_stale_and_orphans_and_enqueues_the_repairs() {
    use sfhs_hubspot::UpsertInput;
    use sfhs_tests::portal::{INVOICE as HS_INVOICE, TOKEN, mappings, setup_portal, start_hubspot};

    let sim = SimBuilder::new()
        .seed_size(SeedSize { accounts: 5, invoices: 40, lines: 0, shipments: 0 })
        .start()
        .await
        .expect("salesforce sim");
    let (hs, client) = start_hubspot(190).await;
    setup_portal(&hs.base_url(), &client).await;
    let endpoint = &moto().endpoint;
    let db = dynamodb(endpoint);
    let q = sqs(endpoint);
    let e = Env {
        salesforce: sim.base_url().to_owned(),
        imports: unique("imports"),
        mappings: unique("mappings"),
        import_queue: create_queue(&q, &unique("import")).await,
        live_queue: create_queue(&q, &unique("live")).await,
    };
    let records = unique("records");
    for t in [&e.mappings, &records] {
        create_table(&db, t).await.expect("table");
    }
    let invoice = mappings()
        .into_iter()
        .find(|m| m.salesforce_object == "Invoice__c")
        .expect("invoice mapping");
    let now = OffsetDateTime::now_utc();
    DynamoMappingStore::new(db.clone(), &e.mappings)
        .put(
            &StoredMapping {
                mapping: invoice,
                version: 1,
                updated_at: now,
                enabled_at: Some(now),
                outbound_fields: None,
            },
            None,
        )
        .await
        .expect("mapping stored");
    // HubSpot has one of the invoices (unknown to the ledger: stale) and one Salesforce lost.
    let ids = sim.ids("Invoice__c");
    client
        .batch_upsert(
            HS_INVOICE,
            "salesforce_id",
            vec![
                UpsertInput::new(ids[0].clone(), [("invoice_number", "old")]),
                UpsertInput::new("a00000000000GONE", [("invoice_number", "gone")]),
            ],
        )
        .await
        .expect("seed HubSpot");

    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sfhs"))
            .arg("reconcile")
            .args(args)
            .envs(child_env(endpoint))
            .envs(sfhs_tests::sims::salesforce_env(&e.salesforce))
            .env("SFHS_MAPPINGS_TABLE", &e.mappings)
            .env("SFHS_RECORDS_TABLE", &records)
            .env("SFHS_IMPORT_QUEUE_URL", &e.import_queue)
            .env("SFHS_HUBSPOT_BASE_URL", hs.base_url())
            .env("SFHS_HUBSPOT_TOKEN", TOKEN)
            .output()
            .expect("run sfhs")
    };
    let o = run(&["Invoice__c", "--dry-run", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = json(&o);
    assert_eq!(
        (&r["salesforce"], &r["hubspot"], &r["missing"], &r["stale"], &r["orphans"]),
        (&Value::from(40), &Value::from(2), &Value::from(39), &Value::from(1), &Value::from(1)),
        "{r}"
    );
    assert_eq!(r["orphan_ids"][0], "a00000000000GONE");
    assert!(drain(&q, &e.import_queue).await.is_empty());

    let o = run(&["Invoice__c"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("enqueued 40 upserts and 1 deletes"), "{}", text(&o));
    let items: Vec<WorkItem> = drain(&q, &e.import_queue)
        .await
        .iter()
        .map(|b| WorkItem::from_json(b).expect("work item"))
        .collect();
    assert_eq!(items.len(), 41);
    let deletes: Vec<&WorkItem> = items.iter().filter(|i| i.op == Op::Delete).collect();
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].record_id, "a00000000000GONE");

    // An unknown object is a clear error, exit 2.
    let o = run(&["Nope__c", "--dry-run"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("no mapping of \"Nope__c\""), "{}", text(&o));
}

/// Issue 16: `sfhs import show` says who holds an import and why it waits; `sfhs import resume`
/// refuses an import a live runner holds, and takes over one whose runner stopped renewing,
/// reading on from the key (the cursor is long gone) onto the queue.
#[tokio::test(flavor = "multi_thread")]
async fn show_says_who_holds_an_import_and_resume_takes_over_a_dead_runners() {
    use sfhs_core::import::{Checkpoint, ImportStore as _};

    let sim = SimBuilder::new()
        .seed_size(SeedSize { accounts: 10, invoices: 300, lines: 0, shipments: 0 })
        .start()
        .await
        .expect("salesforce sim");
    let endpoint = &moto().endpoint;
    let db = dynamodb(endpoint);
    let q = sqs(endpoint);
    let e = Env {
        salesforce: sim.base_url().to_owned(),
        imports: unique("imports"),
        mappings: unique("mappings"),
        import_queue: create_queue(&q, &unique("import")).await,
        live_queue: create_queue(&q, &unique("live")).await,
    };
    create_table(&db, &e.imports).await.expect("imports table");
    create_table(&db, &e.mappings).await.expect("mappings table");
    let now = OffsetDateTime::now_utc();
    DynamoMappingStore::new(db.clone(), &e.mappings)
        .put(
            &StoredMapping {
                mapping: serde_norway::from_str(INVOICE).expect("mapping"),
                version: 1,
                updated_at: now,
                enabled_at: Some(now),
                outbound_fields: None,
            },
            None,
        )
        .await
        .expect("mapping stored");
    let store = sfhs_aws::imports::DynamoImportStore::new(db.clone(), &e.imports);

    let o = sfhs(&e, &["import", "start", "Invoice__c", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let id = json(&o)["import"]["id"].as_str().expect("id").to_owned();
    let o = sfhs(&e, &["import", "show", &id]);
    assert!(text(&o).contains("pending: the next scheduled tick starts it"), "{}", text(&o));

    // A live runner holds it: shown, and resume is refused.
    let pending = store.get(&id).await.expect("get").expect("stored");
    let now = OffsetDateTime::now_utc();
    let held =
        pending.claim("dev-4711-beef", now, now + time::Duration::minutes(1)).expect("claim");
    store.put(&held, Some(pending.revision)).await.expect("held");
    let o = sfhs(&e, &["import", "show", &id]);
    let shown = text(&o);
    assert!(
        shown.contains("held by dev-4711-beef until") && shown.contains("(renewed "),
        "{shown}"
    );
    let o = sfhs(&e, &["import", "show", &id, "--json"]);
    assert_eq!(json(&o)["holder"]["state"], "held", "{}", text(&o));
    let o = sfhs(&e, &["import", "resume", &id, "--local"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("cannot be resumed: held by dev-4711-beef"), "{}", text(&o));

    // The runner died after 100 records, its cursor 20 minutes old: its lease ran out.
    let mut sorted = sim.handle().ids("Invoice__c");
    sorted.sort();
    let last = sorted[99].clone();
    let mut dead = held.advanced(
        Checkpoint::Rest {
            ordered: true,
            last_id: Some(last.clone()),
            next_records_url: Some("/services/data/v62.0/query/01g5g00000GONE-200".into()),
            cursor_used: Some(now - time::Duration::minutes(20)),
        },
        100,
    );
    dead.lease_until = Some(now - time::Duration::seconds(5));
    store.put(&dead, Some(held.revision)).await.expect("dead");
    let o = sfhs(&e, &["import", "show", &id]);
    let shown = text(&o);
    assert!(
        shown.contains("held by a runner that stopped renewing (dev-4711-beef")
            && shown.contains("the next tick takes it over")
            && shown.contains(&format!("after {last}")),
        "{shown}"
    );
    let o = sfhs(&e, &["import", "resume", &id, "--local", "--page-size", "200", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v = json(&o);
    assert_eq!(v["import"]["status"], "completed", "{v:#}");
    assert_eq!(v["import"]["enqueued"], 300);
    let queued: HashSet<String> = drain(&q, &e.import_queue)
        .await
        .iter()
        .map(|b| WorkItem::from_json(b).expect("work item").record_id)
        .collect();
    let expected: HashSet<String> = sorted[100..].iter().cloned().collect();
    assert_eq!(queued, expected, "read on after the key, none before it");
}
