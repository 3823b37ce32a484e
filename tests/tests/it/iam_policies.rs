//! Each function's AWS calls, made by its real adapters with only the permissions
//! `infra/template.yaml` grants it: an IAM user per function whose policy is exactly the
//! function's `Policies` (statements resolved to this test's resources, SAM policy templates
//! expanded), on a moto server that authorizes every request (`sfhs_tests::iam`). A call the
//! template does not allow fails here, named, instead of on the first real invocation; each test
//! also shows one call outside the policy refused, so that a permissive server cannot pass it.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde_json::json;
use sfhs_aws::continuation::LambdaContinuation;
use sfhs_aws::imports::DynamoImportStore;
use sfhs_aws::secrets::Secrets;
use sfhs_aws::sqs::SqsQueue;
use sfhs_aws::visibility::{Delay, RetryDelays, SqsWaker};
use sfhs_core::drive::Backoff;
use sfhs_core::import::ports::{ImportProgress, ImportStore};
use sfhs_core::import::{RunOutcome, RunSettings};
use sfhs_core::mapping::store::{MappingStore, next_version};
use sfhs_core::queue::{QueueEntry, WorkQueue};
use sfhs_core::sync::{
    Claim, ClaimRequest, Commit, ErrorCategory, ErrorRecord, ErrorStore, Ledger, ParentKey,
    ParentLink, RecordKey, Release, Version, Waker,
};
use sfhs_tests::iam::{
    Keys, Stack, StackInput, import_world, is_access_denied, put_mapping, salesforce,
};
use time::OffsetDateTime;

fn secrets(keys: &Keys, stack: &Stack) -> Secrets {
    Secrets::new(aws_sdk_secretsmanager::Client::new(&keys.sdk_config(&stack.endpoint)))
}

fn entries(n: usize) -> Vec<QueueEntry> {
    (0..n).map(|i| QueueEntry { id: format!("e{i}"), body: format!("{{\"n\":{i}}}") }).collect()
}

fn denied<T: std::fmt::Debug, E: std::error::Error + 'static>(what: &str, r: Result<T, E>) {
    match r {
        Ok(v) => panic!("{what}: allowed ({v:?}), but the template does not grant it"),
        Err(e) => assert!(is_access_denied(&e), "{what}: failed, but not for IAM: {e:?}"),
    }
}

// ------------------------------------------------------------------ the policies themselves

#[tokio::test]
async fn the_template_policies_are_what_the_tests_grant() {
    let stack = Stack::create(StackInput::default()).await;
    let worker = stack.policy("WorkerFunction").to_string();
    // The SAM poller template expanded onto both queues, with their names resolved.
    for queue in ["LiveQueue", "ImportQueue"] {
        let name = stack.reference(queue).rsplit('/').next().unwrap().to_owned();
        assert!(
            worker.contains(&format!("arn:aws:sqs:us-east-1:123456789012:{name}\"")),
            "{worker}"
        );
    }
    assert!(worker.contains("sqs:ChangeMessageVisibilityBatch"), "{worker}");
    let import = stack.policy("ImportFunction").to_string();
    assert!(
        import.contains(&format!(
            "arn:aws:lambda:us-east-1:123456789012:function:{}-import\"",
            stack.name
        )),
        "{import}"
    );
}

// ------------------------------------------------------------------ webhook

#[tokio::test]
async fn webhook_enqueues_on_the_live_queue() {
    let stack = Stack::create(StackInput::default()).await;
    let keys = stack.principal("WebhookFunction").await;
    let live = stack.aws_as(&keys).queue(stack.reference("LiveQueue"));
    let failures = live.send_batch(&entries(10)).await.unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    let on_queue = sfhs_tests::aws::drain(
        &aws_sdk_sqs::Client::new(&stack.admin),
        stack.reference("LiveQueue"),
    )
    .await;
    assert_eq!(on_queue.len(), 10);

    let import = stack.aws_as(&keys).queue(stack.reference("ImportQueue"));
    denied("webhook SendMessageBatch on the import queue", import.send_batch(&entries(1)).await);
}

#[tokio::test]
async fn webhook_reads_the_url_secret() {
    let stack = Stack::create(StackInput {
        secrets: vec![("UrlSecret", "s3cr3t".into())],
        ..StackInput::default()
    })
    .await;
    let keys = stack.principal("WebhookFunction").await;
    let s = secrets(&keys, &stack);
    assert_eq!(s.string(stack.reference("UrlSecret")).await.unwrap(), "s3cr3t");
    denied(
        "webhook reading the HubSpot token",
        s.string(stack.reference("HubSpotTokenSecret")).await,
    );
}

// ------------------------------------------------------------------ worker

#[tokio::test]
async fn worker_reads_mappings_and_the_hubspot_token() {
    let stack = Stack::create(StackInput {
        secrets: vec![("HubSpotTokenSecret", "pat-na1-x".into())],
        ..StackInput::default()
    })
    .await;
    put_mapping(&stack).await;
    let keys = stack.principal("WorkerFunction").await;
    let store = stack.aws_as(&keys).mapping_store(stack.reference("MappingsTable"));
    assert_eq!(store.list().await.unwrap().len(), 1);
    assert!(store.get("Invoice__c").await.unwrap().is_some());
    assert_eq!(
        secrets(&keys, &stack).string(stack.reference("HubSpotTokenSecret")).await.unwrap(),
        "pat-na1-x"
    );
    // Mappings are the CLI's to write.
    let mapping = store.get("Invoice__c").await.unwrap().unwrap();
    denied(
        "worker PutItem on the mappings table",
        store
            .put(
                &next_version(Some(&mapping), mapping.mapping.clone(), OffsetDateTime::now_utc()),
                Some(mapping.version),
            )
            .await,
    );
    denied(
        "worker reading the Salesforce secret",
        secrets(&keys, &stack).string(stack.reference("SalesforceSecret")).await,
    );
}

#[tokio::test]
async fn worker_claims_and_commits_in_the_ledger() {
    let stack = Stack::create(StackInput::default()).await;
    let keys = stack.principal("WorkerFunction").await;
    let ledger = stack.aws_as(&keys).ledger(stack.reference("RecordsTable"));
    let now = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let key = &RecordKey::new("Invoice__c", "a01000000000001");
    assert!(matches!(
        ledger.claim(&ClaimRequest::new(key, Version(10), "w1", now, 60_000)).await.unwrap(),
        Claim::Claimed(_)
    ));
    let committed = ledger
        .commit(
            key,
            "w1",
            &Commit {
                version: Version(10),
                hubspot_id: Some("901".into()),
                parents: [(
                    "Account__c".to_owned(),
                    ParentLink {
                        salesforce_id: "001000000000001".into(),
                        hubspot_id: Some("77".into()),
                    },
                )]
                .into(),
                deleted: false,
                waiting: false,
                digest: Some("d1".into()),
                unchanged: false,
                wake: None,
            },
        )
        .await
        .unwrap();
    assert!(committed);
    // Children waiting for a parent are noted and taken in the same table.
    let parent = RecordKey::new("Invoice__c", "a01000000000009");
    ledger.add_waiters(&[(parent.clone(), key.clone())], Duration::from_secs(600)).await.unwrap();
    assert_eq!(ledger.take_waiters(&[parent]).await.unwrap(), [key.to_owned()]);
    assert!(matches!(
        ledger.claim(&ClaimRequest::new(key, Version(11), "w1", now, 60_000)).await.unwrap(),
        Claim::Claimed(_)
    ));
    ledger.release(key, Release::new("w1", Some("901"))).await.unwrap();
    let got = ledger.get_many(std::slice::from_ref(key)).await.unwrap();
    assert_eq!(got[key].hubspot_id.as_deref(), Some("901"));
    assert_eq!(got[key].version, Some(Version(10)));

    // The mappings table is read-only to the worker.
    let mappings = stack.aws_as(&keys).ledger(stack.reference("MappingsTable"));
    denied(
        "worker UpdateItem (claim) on the mappings table",
        mappings.claim(&ClaimRequest::new(key, Version(1), "w1", now, 60_000)).await,
    );
}

#[tokio::test]
async fn worker_remembers_parents_found_by_property() {
    let stack = Stack::create(StackInput::default()).await;
    let keys = stack.principal("WorkerFunction").await;
    let ledger = stack.aws_as(&keys).ledger(stack.reference("RecordsTable"));
    let found: Vec<(ParentKey, String)> = (0..30)
        .map(|i| {
            (
                ParentKey::new("companies", "salesforceaccountid", &format!("001{i:012}")),
                format!("{}", 5000 + i),
            )
        })
        .collect();
    ledger.put_parents(&found, Duration::from_secs(86_400)).await.unwrap();
    let keys_only: Vec<ParentKey> = found.iter().map(|(k, _)| k.clone()).collect();
    let back = ledger.get_parents(&keys_only).await.unwrap();
    assert_eq!(back.len(), 30);
    assert_eq!(back[&found[7].0], "5007");
}

#[tokio::test]
async fn worker_writes_error_records() {
    let stack = Stack::create(StackInput::default()).await;
    let keys = stack.principal("WorkerFunction").await;
    let errors = stack.aws_as(&keys).error_store(stack.reference("ErrorsTable"));
    let record = ErrorRecord {
        id: "invoice__c#a01000000000002".into(),
        category: ErrorCategory::Validation,
        object: "Invoice__c".into(),
        record_id: "a01000000000002".into(),
        field: Some("amount".into()),
        value: Some("ten".into()),
        message: "not a number".into(),
        attempts: 1,
        work_item: "{}".into(),
        at: OffsetDateTime::now_utc(),
    };
    errors.put(&record).await.unwrap();
    assert_eq!(errors.get(&record.id).await.unwrap().unwrap().field.as_deref(), Some("amount"));
    // Deleting (replay) is the CLI's.
    denied("worker DeleteItem on the errors table", errors.delete(&record.id).await);
}

#[tokio::test]
async fn worker_counts_import_progress() {
    let sf = salesforce(20).await;
    let stack = Stack::create(StackInput::salesforce(&sf)).await;
    put_mapping(&stack).await;
    let admin_keys = sfhs_tests::iam::iam_moto().admin.clone();
    let created = import_world(&stack, &admin_keys)
        .await
        .runner
        .create("Invoice__c", None, 50_000, false, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let keys = stack.principal("WorkerFunction").await;
    let store = stack.aws_as(&keys).import_store(stack.reference("ImportsTable"));
    store
        .record_progress(&created.id, ImportProgress { synced: 3, failed: 1, unchanged: 1 })
        .await
        .unwrap();
    let admin = DynamoImportStore::new(
        aws_sdk_dynamodb::Client::new(&stack.admin),
        stack.reference("ImportsTable"),
    );
    let after = admin.get(&created.id).await.unwrap().unwrap();
    assert_eq!((after.synced, after.failed), (3, 1));
    sf.shutdown().await;
}

#[tokio::test]
async fn worker_polls_and_delays_retries_on_both_queues() {
    let stack = Stack::create(StackInput::default()).await;
    let keys = stack.principal("WorkerFunction").await;
    let admin_sqs = aws_sdk_sqs::Client::new(&stack.admin);
    let worker = stack.aws_as(&keys);
    let worker_sqs = worker.sqs();
    for queue in ["LiveQueue", "ImportQueue"] {
        let url = stack.reference(queue);
        SqsQueue::new(admin_sqs.clone(), url).send_batch(&entries(3)).await.unwrap();
        // Lambda's poller receives and deletes with the function's role.
        let got = worker_sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .unwrap();
        let messages = got.messages();
        assert_eq!(messages.len(), 3, "{queue}");
        let arn = format!("arn:aws:sqs:us-east-1:123456789012:{}", url.rsplit('/').next().unwrap());
        let delays: Vec<Delay> = messages[..2]
            .iter()
            .map(|m| Delay {
                queue_arn: arn.clone(),
                receipt_handle: m.receipt_handle().unwrap().to_owned(),
                receive_count: 2,
                waiting: false,
            })
            .collect();
        let retry = RetryDelays::new(worker_sqs.clone(), Backoff::DEPLOYED);
        assert_eq!(retry.apply(&delays).await, 2, "{queue}: visibility changed");
        // A parent's commit wakes a waiting child: the same call, with a visibility of 0.
        let waker = SqsWaker::new(worker_sqs.clone());
        assert_eq!(
            waker.wake(&[SqsWaker::handle(&arn, &delays[0].receipt_handle)]).await,
            1,
            "{queue}: woken"
        );
        assert_eq!(retry.apply(&delays[..1]).await, 1, "{queue}: delayed again");
        worker_sqs
            .delete_message()
            .queue_url(url)
            .receipt_handle(messages[2].receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
        let depth = worker.queue(url).depth().await.unwrap();
        assert_eq!(depth.in_flight, 2, "{queue}: {depth:?}");
    }
    // The worker never enqueues.
    denied(
        "worker SendMessageBatch on the live queue",
        worker.queue(stack.reference("LiveQueue")).send_batch(&entries(1)).await,
    );
}

// ------------------------------------------------------------------ import

#[tokio::test]
async fn import_runs_enqueues_and_hands_over_to_itself() {
    let sf = salesforce(300).await;
    let stack = Stack::create(StackInput::salesforce(&sf)).await;
    put_mapping(&stack).await;
    let admin_keys = sfhs_tests::iam::iam_moto().admin.clone();
    // `sfhs import start` (the operator's credentials) records the import.
    let created = import_world(&stack, &admin_keys)
        .await
        .runner
        .create("Invoice__c", None, 50_000, false, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let keys = stack.principal("ImportFunction").await;
    // The function's own world: one page per run, so that it hands over to itself.
    let mut function = import_world(&stack, &keys).await.runner;
    function.settings =
        RunSettings { rest_page_size: 200, max_pages_per_run: Some(1), ..function.settings };
    assert_eq!(function.store.list().await.unwrap().len(), 1);
    let outcome = function.run(&created.id, "inv-1", None).await.unwrap();
    // The hand-over is lambda:InvokeFunction on itself; a refused invoke would be an error here.
    assert!(matches!(outcome, RunOutcome::HandedOver { enqueued: 200, .. }), "{outcome:?}");
    let outcome = function.run(&created.id, "inv-2", None).await.unwrap();
    assert!(matches!(outcome, RunOutcome::Completed { .. }), "{outcome:?}");
    let queued = sfhs_tests::aws::drain(
        &aws_sdk_sqs::Client::new(&stack.admin),
        stack.reference("ImportQueue"),
    )
    .await;
    assert_eq!(queued.len(), 300);
    let stored = function.store.get(&created.id).await.unwrap().unwrap();
    assert_eq!(stored.enqueued, 300);

    // Invoking another function is refused.
    let other = LambdaContinuation::new(
        aws_sdk_lambda::Client::new(&keys.sdk_config(&stack.endpoint)),
        "some-other-function",
    );
    let e = sfhs_core::import::ports::Continuation::continue_import(&other, &created.id)
        .await
        .unwrap_err();
    // (moto answers this one in XML, which the SDK cannot read: the denial is in the raw answer.)
    assert!(format!("{e:?}").contains("AccessDenied"), "{e:?}");
    sf.shutdown().await;
}

#[tokio::test]
async fn import_sweeps_deletes_onto_the_live_queue() {
    let sf = salesforce(5).await;
    let stack = Stack::create(StackInput::salesforce(&sf)).await;
    put_mapping(&stack).await;
    let gone = sf.handle().ids("Invoice__c")[0].clone();
    sf.handle()
        .delete_at("Invoice__c", &gone, OffsetDateTime::now_utc() - time::Duration::minutes(5))
        .unwrap();
    let keys = stack.principal("ImportFunction").await;
    assert!(
        secrets(&keys, &stack)
            .string(stack.reference("SalesforceSecret"))
            .await
            .unwrap()
            .contains(sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET)
    );
    // The function's world as its `main` builds it, signed with its own policy.
    let deps = import_world(&stack, &keys).await;
    let answer =
        sfhs_import::handle(&deps, &json!({"sweep": true}), "inv-sweep", None).await.unwrap();
    assert_eq!(answer["deletes"], json!(1), "{answer}");
    let on_live = sfhs_tests::aws::drain(
        &aws_sdk_sqs::Client::new(&stack.admin),
        stack.reference("LiveQueue"),
    )
    .await;
    assert_eq!(on_live.len(), 1);
    assert!(on_live[0].contains(&gone), "{}", on_live[0]);
    assert!(
        deps.runner.store.get_sweep("Invoice__c").await.unwrap().is_some(),
        "the sweep's checkpoint is stored"
    );

    // The import function reads the ledger (the catch-up compares with it) but never writes
    // it, and never reads the HubSpot token.
    let ledger = stack.aws_as(&keys).ledger(stack.reference("RecordsTable"));
    assert!(ledger.get_many(&[RecordKey::new("Invoice__c", "x")]).await.unwrap().is_empty());
    denied(
        "import UpdateItem (claim) on the records table",
        ledger
            .claim(&ClaimRequest::new(
                &RecordKey::new("Invoice__c", "x"),
                Version(1),
                "import",
                OffsetDateTime::now_utc().unix_timestamp() * 1000,
                60_000,
            ))
            .await,
    );
    denied(
        "import reading the HubSpot token",
        secrets(&keys, &stack).string(stack.reference("HubSpotTokenSecret")).await,
    );
    sf.shutdown().await;
}
