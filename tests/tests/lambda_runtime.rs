//! Each function's real binary run as Lambda runs it: started with the template's environment
//! variables (resolved to this test's resources and simulators), signed with a principal that
//! has only the template's policy for it (`sfhs_tests::iam`), polling Lambda's runtime API
//! (`sfhs_tests::runtime`) for one event, which it handles end to end against moto and the
//! simulators:
//! - webhook: an API Gateway HTTP API event carrying an outbound message -> the SOAP ack, and the
//!   work item on the live queue;
//! - worker: an SQS event with a work item -> the record in the HubSpot simulator, the ledger
//!   committed;
//! - import: the schedule's sweep event -> a delete on the live queue; an import event -> the
//!   records on the import queue.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};
use sfhs_aws::imports::DynamoImportStore;
use sfhs_aws::ledger::DynamoLedger;
use sfhs_core::import::ImportStatus;
use sfhs_core::import::ports::ImportStore;
use sfhs_core::sync::{Ledger, RecordKey};
use sfhs_core::work_item::WorkItem;
use sfhs_tests::iam::{
    Stack, StackInput, iam_moto, import_world, put_mapping, put_mappings, salesforce,
};
use sfhs_tests::portal::{
    INVOICE, LINE, TOKEN, records_by_salesforce_id, setup_portal, start_hubspot,
};
use sfhs_tests::runtime::{Function, Outcome, binary};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const ORG: &str = "00Dxx0000001gPFEAY";

/// The function `id` of the template, started from binary `bin` under the runtime API.
async fn start(stack: &Stack, id: &str, bin: &str, name: &str) -> Function {
    let keys = stack.principal(id).await;
    let mut env = stack.environment(id);
    env.extend(keys.child_env(&stack.endpoint));
    let timeout = stack
        .property(id, "Timeout")
        .and_then(|t| t.as_str().and_then(|s| s.parse().ok()).or(t.as_u64()))
        .expect("the template gives the function a timeout");
    let memory = stack
        .property(id, "MemorySize")
        .and_then(|t| t.as_str().and_then(|s| s.parse().ok()).or(t.as_u64()))
        .expect("the template gives the function a memory size");
    Function::start(&binary(bin), name, Duration::from_secs(timeout), memory, env).await
}

fn response(outcome: Outcome, f: &Function) -> Value {
    match outcome {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("{} answered an error: {e}\n{}", f.name, f.logs()),
    }
}

/// A work item as the webhook makes it from an outbound message of invoice `record` changed at
/// `version` (its `SystemModstamp`), received now.
fn outbound_item(record: &str, fields: Value, version: OffsetDateTime) -> Value {
    work_item("Invoice__c", record, fields, version)
}

/// A work item of `sobject` as the webhook makes it.
fn work_item(sobject: &str, record: &str, mut fields: Value, version: OffsetDateTime) -> Value {
    let rfc3339 = |t: OffsetDateTime| t.format(&Rfc3339).expect("a time formats");
    fields["SystemModstamp"] = json!(rfc3339(version));
    json!({
        "v": 1,
        "op": "upsert",
        "org_id": ORG,
        "sobject": sobject,
        "record_id": record,
        "fields": fields,
        "source": {"type": "outbound_message", "notification_id": "04lxx0000000002AAK"},
        "received_at": rfc3339(OffsetDateTime::now_utc())
    })
}

/// The SQS event Lambda hands the worker for `item`, taken from the stack's live queue.
fn sqs_event(stack: &Stack, item: &Value) -> Value {
    let live_arn = format!(
        "arn:aws:sqs:us-east-1:123456789012:{}",
        stack.reference("LiveQueue").rsplit('/').next().unwrap()
    );
    let sent = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).to_string();
    json!({"Records": [{
        "messageId": "6f0b8e5e-0000-4000-8000-000000000001",
        "receiptHandle": "AQEBtest",
        "body": item.to_string(),
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": sent,
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": sent
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": live_arn,
        "awsRegion": "us-east-1"
    }]})
}

fn outbound_message(record_id: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>{ORG}</OrganizationId><ActionId>04kxx00000000blCAA</ActionId><SessionId xsi:nil="true"/><EnterpriseUrl>https://x/c</EnterpriseUrl><PartnerUrl>https://x/u</PartnerUrl><Notification><Id>04lxx0000000001AAK</Id><sObject xsi:type="sf:Invoice__c" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>{record_id}</sf:Id><sf:Name>INV-0042</sf:Name><sf:Amount__c>42.5</sf:Amount__c><sf:SystemModstamp>2026-12-01T10:00:00.000Z</sf:SystemModstamp></sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_binary_acks_an_outbound_message_once_it_is_on_the_live_queue() {
    let stack = Stack::create(StackInput {
        secrets: vec![("UrlSecret", "s3cr3t".into())],
        parameters: vec![("AllowedOrgIds", ORG.into())],
    })
    .await;
    let mut f = start(&stack, "WebhookFunction", "webhook", "sfhs-webhook").await;
    let record = "a01xx0000000042AAG";
    let event = sfhs_tests::events::http_api_event(
        "POST",
        "secret=s3cr3t",
        outbound_message(record).as_bytes(),
    );
    let outcome = f.invoke(event).await;
    let answer = response(outcome, &f);
    assert_eq!(answer["statusCode"], json!(200), "{answer}\n{}", f.logs());
    let body = answer["body"].as_str().unwrap_or_default();
    assert!(body.contains("<Ack>true</Ack>"), "{body}");
    let queued = sfhs_tests::aws::drain(
        &aws_sdk_sqs::Client::new(&stack.admin),
        stack.reference("LiveQueue"),
    )
    .await;
    assert_eq!(queued.len(), 1);
    let item = WorkItem::from_json(&queued[0]).unwrap();
    assert_eq!((item.sobject.as_str(), item.record_id.as_str()), ("Invoice__c", record));

    // The same process serves the next event: a wrong secret is refused, nothing enqueued.
    let event = sfhs_tests::events::http_api_event(
        "POST",
        "secret=wrong",
        outbound_message(record).as_bytes(),
    );
    let answer = response(f.invoke(event).await, &f);
    assert_eq!(answer["statusCode"], json!(403), "{answer}");
    assert!(f.is_running());
    assert!(
        f.logs().contains("\"NotificationsEnqueued\""),
        "the webhook's EMF line is written: {}",
        f.logs()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn worker_binary_writes_an_sqs_batch_to_hubspot() {
    let (hs, client) = start_hubspot(10_000).await;
    setup_portal(&hs.base_url(), &client).await;
    let stack = Stack::create(StackInput::hubspot(&hs.base_url())).await;
    put_mapping(&stack).await;
    let mut f = start(&stack, "WorkerFunction", "worker", "sfhs-worker").await;
    let record = "a01xx0000000043AAG";
    // The record changed a minute ago, after `put_mapping` enabled the mapping (ten minutes
    // ago): both from the clock the worker reads, so that the version is never older than the
    // enable time, whatever the date.
    let now = OffsetDateTime::now_utc();
    let fields = json!({"Id": record, "Name": "INV-0043", "Amount__c": "43"});
    let event = sqs_event(&stack, &outbound_item(record, fields, now - time::Duration::minutes(1)));
    let answer = response(f.invoke(event).await, &f);
    assert_eq!(answer["batchItemFailures"], json!([]), "{answer}\n{}", f.logs());
    let in_hubspot = records_by_salesforce_id(&hs, INVOICE);
    let written = in_hubspot
        .get(record)
        .unwrap_or_else(|| panic!("{record} is not in HubSpot: {in_hubspot:?}\n{}", f.logs()));
    assert_eq!(written["properties"]["invoice_number"], json!("INV-0043"), "{written}");
    let ledger = DynamoLedger::new(
        aws_sdk_dynamodb::Client::new(&stack.admin),
        stack.reference("RecordsTable"),
    );
    let key = RecordKey::new("Invoice__c", record);
    let entries = ledger.get_many(std::slice::from_ref(&key)).await.unwrap();
    let entry = entries.get(&key).unwrap_or_else(|| panic!("no ledger entry {key}: {entries:?}"));
    assert!(entry.hubspot_id.is_some(), "{entry:?}");
    // The batch's EMF line, and the per-object one the dashboard reads.
    let logs = f.logs();
    assert!(logs.contains("\"Upserted\""), "{logs}");
    assert!(
        logs.lines()
            .any(|l| l.contains("\"Object\":\"Invoice__c\"") && l.contains("\"RecordsSettled\":1")),
        "{logs}"
    );
}

/// One poll of the live queue as Lambda's SQS event source does it: the visible messages (with
/// their receipt handles and receive counts) handed to the function as one event, then deleted
/// unless the function answered them as batch item failures. The bodies handed over.
async fn poll_live(stack: &Stack, f: &mut Function) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(&stack.admin);
    let url = stack.reference("LiveQueue");
    let got = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(180)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let messages = got.messages();
    if messages.is_empty() {
        return Vec::new();
    }
    let arn = format!("arn:aws:sqs:us-east-1:123456789012:{}", url.rsplit('/').next().unwrap());
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let count = m
                .attributes()
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
                })
                .cloned()
                .unwrap_or_else(|| "1".into());
            json!({
                "messageId": m.message_id(), "receiptHandle": m.receipt_handle(),
                "body": m.body(), "attributes": {"ApproximateReceiveCount": count},
                "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": arn, "awsRegion": "us-east-1"
            })
        })
        .collect();
    let answer = response(f.invoke(json!({ "Records": records })).await, f);
    let failed: Vec<&str> = answer["batchItemFailures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x["itemIdentifier"].as_str())
        .collect();
    for m in messages {
        if !failed.contains(&m.message_id().unwrap_or_default()) {
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .unwrap();
        }
    }
    messages.iter().map(|m| m.body().unwrap_or_default().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn worker_binary_wakes_a_waiting_child_when_its_parent_commits() {
    let (hs, client) = start_hubspot(10_000).await;
    setup_portal(&hs.base_url(), &client).await;
    let stack = Stack::create(StackInput::hubspot(&hs.base_url())).await;
    put_mappings(&stack, &["Invoice__c", "Invoice_Line__c"]).await;
    let mut f = start(&stack, "WorkerFunction", "worker", "sfhs-worker").await;
    let sqs = aws_sdk_sqs::Client::new(&stack.admin);
    let send = |item: Value| {
        sqs.send_message()
            .queue_url(stack.reference("LiveQueue"))
            .message_body(item.to_string())
            .send()
    };
    let (invoice, line) = ("a01xx0000000077AAG", "a02xx0000000078AAG");
    let changed = OffsetDateTime::now_utc() - time::Duration::minutes(1);

    // The line's outbound message comes first: it is written and waits for its invoice.
    send(work_item(
        "Invoice_Line__c",
        line,
        json!({"Id": line, "Name": "L-78", "Invoice__c": invoice}),
        changed,
    ))
    .await
    .unwrap();
    assert_eq!(poll_live(&stack, &mut f).await.len(), 1);
    assert!(
        poll_live(&stack, &mut f).await.is_empty(),
        "the waiting child is away for its re-check (a minute)\n{}",
        f.logs()
    );

    // The invoice's message: its commit wakes the line, delivered on the next poll.
    send(outbound_item(
        invoice,
        json!({"Id": invoice, "Name": "INV-77", "Amount__c": "77"}),
        changed,
    ))
    .await
    .unwrap();
    assert_eq!(poll_live(&stack, &mut f).await.len(), 1);
    let committed = std::time::Instant::now();
    let mut woken = Vec::new();
    while woken.is_empty() && committed.elapsed() < Duration::from_secs(5) {
        woken = poll_live(&stack, &mut f).await;
    }
    let took = committed.elapsed();
    eprintln!("the parent's batch answered -> the woken child's batch answered: {took:?}");
    assert_eq!(woken.len(), 1, "the child is delivered at once\n{}", f.logs());
    assert!(woken[0].contains(line));
    assert!(took < Duration::from_secs(5), "{took:?}");
    let lines = records_by_salesforce_id(&hs, LINE);
    let child = lines[line]["id"].as_str().unwrap().to_owned();
    let linked =
        client.read_associations(LINE, INVOICE, std::slice::from_ref(&child)).await.unwrap();
    let parent = records_by_salesforce_id(&hs, INVOICE)[invoice]["id"].as_str().unwrap().to_owned();
    assert_eq!(linked.get(&child), Some(&vec![parent]), "{linked:?}");
    let logs = f.logs();
    assert!(
        logs.lines().any(|l| l.contains("\"Woken\":1")),
        "the batch's EMF line counts the wake: {logs}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn import_binary_sweeps_deletes_and_runs_an_import() {
    let sf = salesforce(250).await;
    let gone = sf.handle().ids("Invoice__c")[0].clone();
    sf.handle()
        .delete_at("Invoice__c", &gone, OffsetDateTime::now_utc() - time::Duration::minutes(5))
        .unwrap();
    let stack = Stack::create(StackInput {
        secrets: vec![("SalesforceSecret", sfhs_tests::iam::salesforce_secret())],
        parameters: vec![
            ("SalesforceLoginUrl", sf.base_url().to_owned()),
            ("SalesforceClientId", sfhs_salesforce_sim::DEFAULT_CLIENT_ID.into()),
        ],
    })
    .await;
    put_mapping(&stack).await;
    let name = stack.reference("ImportFunction").to_owned();
    let mut f = start(&stack, "ImportFunction", "import", &name).await;

    // The EventBridge schedule's input (template: Events.Sweep.Input).
    let answer = response(f.invoke(json!({"sweep": true})).await, &f);
    assert_eq!(answer["deletes"], json!(1), "{answer}\n{}", f.logs());
    // The same tick caught up (the ledger read under the function's own policy): nothing was
    // changed since the mapping was enabled, so nothing was missed; its EMF line says so.
    assert_eq!(answer["caught_up"], json!(0), "{answer}\n{}", f.logs());
    assert_eq!(answer["catch_up"]["objects"][0]["outcome"], json!("read"), "{answer}");
    assert!(
        f.logged(|l| l.contains("\"CaughtUp\":0") && l.contains("\"Function\":\"import\"")).await,
        "{}",
        f.logs()
    );
    // And it checked the set-up (issue 34): nothing deployed in this org sends the mapping's
    // changes, so the drift is one warning, stored under the function's own policy, and the
    // metric the SetupDrift alarm reads says so.
    assert_eq!(answer["drift"]["outcome"], json!("checked"), "{answer}");
    assert_eq!(
        answer["drift"]["drift"][0]["component"],
        json!("outbound message Invoice__c.sfhs_sync"),
        "{answer}"
    );
    assert!(
        f.logged(|l| l.contains("\"SetupDrift\":1") && l.contains("\"Function\":\"import\"")).await,
        "{}",
        f.logs()
    );
    let live = sfhs_tests::aws::drain(
        &aws_sdk_sqs::Client::new(&stack.admin),
        stack.reference("LiveQueue"),
    )
    .await;
    assert_eq!(live.len(), 1);
    assert!(live[0].contains(&gone), "{}", live[0]);

    // `sfhs import start` records an import (operator's credentials); the function runs it.
    let created = import_world(&stack, &iam_moto().admin)
        .await
        .runner
        .create("Invoice__c", None, 50_000, false, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let answer = response(f.invoke(json!({"import_id": created.id})).await, &f);
    let imports = DynamoImportStore::new(
        aws_sdk_dynamodb::Client::new(&stack.admin),
        stack.reference("ImportsTable"),
    );
    let done = imports.get(&created.id).await.unwrap().unwrap();
    assert_eq!(done.status, ImportStatus::Completed, "{answer}\n{}", f.logs());
    let queued = sfhs_tests::aws::drain(
        &aws_sdk_sqs::Client::new(&stack.admin),
        stack.reference("ImportQueue"),
    )
    .await;
    assert_eq!(queued.len() as u64, done.enqueued, "{answer}");
    assert_eq!(queued.len(), 249, "the 250 invoices but the deleted one");
    sf.shutdown().await;
}

/// Issue 30 (b), the Lambda path with no `--table` step: an outbound message made by hand in
/// Setup posts to the stack's endpoint; the import function's scheduled tick reads what it sends
/// and records it with the mapping (under the template's policy); the worker then clears a
/// property whose field Salesforce emptied (absent from the notification), and keeps one the
/// message does not send.
#[tokio::test(flavor = "multi_thread")]
async fn the_tick_reads_a_message_made_in_setup_and_the_worker_then_clears_emptied_fields() {
    let sf = salesforce(3).await;
    let (hs, client) = start_hubspot(10_000).await;
    setup_portal(&hs.base_url(), &client).await;
    let stack = Stack::create(StackInput {
        secrets: vec![
            ("SalesforceSecret", sfhs_tests::iam::salesforce_secret()),
            ("HubSpotTokenSecret", TOKEN.into()),
        ],
        parameters: vec![
            ("SalesforceLoginUrl", sf.base_url().to_owned()),
            ("SalesforceClientId", sfhs_salesforce_sim::DEFAULT_CLIENT_ID.into()),
            ("HubSpotBaseUrl", hs.base_url()),
        ],
    })
    .await;
    put_mapping(&stack).await;
    let endpoint = stack
        .environment("ImportFunction")
        .into_iter()
        .find_map(|(k, v)| (k == "SFHS_WEBHOOK_URL").then_some(v))
        .expect("the template gives the import function the endpoint");
    assert!(
        endpoint.starts_with("https://")
            && endpoint.ends_with(".execute-api.us-east-1.amazonaws.com/outbound"),
        "{endpoint}"
    );
    // Made in Setup: any name, Notes__c sent, Amount__c not.
    sf.handle()
        .make_outbound_message_in_setup(
            "Invoice__c",
            "Invoice_to_HubSpot",
            &["Id", "Name", "Status__c", "Notes__c", "Account__c", "SystemModstamp"],
            &format!("{endpoint}?secret=s"),
        )
        .unwrap();

    let name = stack.reference("ImportFunction").to_owned();
    let mut import = start(&stack, "ImportFunction", "import", &name).await;
    let answer = response(import.invoke(json!({"sweep": true})).await, &import);
    let sent = &answer["sent_fields"];
    assert_eq!(sent["check"], "read", "{answer}\n{}", import.logs());
    assert_eq!(sent["mappings"][0]["object"], "Invoice__c", "{sent}");
    assert_eq!(sent["mappings"][0]["outcome"], "recorded", "{sent}");
    // The next tick within the interval does not read the org again.
    let answer = response(import.invoke(json!({"sweep": true})).await, &import);
    assert_eq!(answer["sent_fields"]["check"], "not_due", "{answer}");

    let mut worker = start(&stack, "WorkerFunction", "worker", "sfhs-worker").await;
    let record = "a01xx0000000044AAG";
    let now = OffsetDateTime::now_utc();
    let full =
        json!({"Id": record, "Name": "INV-0044", "Amount__c": "44", "Notes__c": "call first"});
    let emptied = json!({"Id": record, "Name": "INV-0044"});
    for (fields, version) in [(full, 2), (emptied, 1)] {
        let item = outbound_item(record, fields, now - time::Duration::minutes(version));
        let answer = response(worker.invoke(sqs_event(&stack, &item)).await, &worker);
        assert_eq!(answer["batchItemFailures"], json!([]), "{answer}\n{}", worker.logs());
    }
    let written = records_by_salesforce_id(&hs, INVOICE)[record].clone();
    let notes = &written["properties"]["notes"];
    assert!(
        notes.is_null() || notes == "",
        "Notes__c emptied in Salesforce empties HubSpot: {written}\n{}",
        worker.logs()
    );
    assert_eq!(
        written["properties"]["amount"],
        json!("44"),
        "Amount__c is not sent by the message: kept"
    );
    sf.shutdown().await;
}
