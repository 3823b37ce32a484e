//! The import run and the delete sweep against the Salesforce simulator over HTTP, onto
//! in-memory queues and stores.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sfhs_core::import::ports::{ImportProgress, ImportStore, ImportStoreError};
use sfhs_core::import::{
    ImportMethod, ImportRecord, ImportRunner, ImportStatus, MemoryContinuation, MemoryImportStore,
    RunOutcome, RunSettings, SweepOutcome, SweepState, sweep,
};
use sfhs_core::mapping::Mapping;
use sfhs_core::mapping::store::{MappingStore, MemoryMappingStore, StoredMapping};
use sfhs_core::queue::{MemoryQueue, PublishPolicy, Publisher};
use sfhs_core::work_item::{Op, Source, WorkItem};
use sfhs_salesforce::ClientReader;
use sfhs_salesforce::{Config, Credentials, LoginUrl, PollPolicy};
use sfhs_salesforce_sim::{SeedSize, Sim, SimBuilder};
use time::OffsetDateTime;

const INVOICE: &str = r#"
salesforce_object: Invoice__c
hubspot_object: p1_invoice
id_property: salesforce_id
state: enabled
fields:
  - {salesforce: Name, hubspot: name}
  - {salesforce: Amount__c, hubspot: amount}
  - {salesforce: Status__c, hubspot: status}
  - {salesforce: Paid__c, hubspot: paid}
associations:
  - lookup: Account__c
    to: companies
    find_parent_by: {property: salesforceaccountid}
"#;

const ACCOUNT_KEEP: &str = r#"
salesforce_object: Account
hubspot_object: companies
id_property: salesforce_id
state: enabled
on_delete: keep
fields:
  - {salesforce: Name, hubspot: name}
"#;

/// Records of the REST and Bulk import tests: `SFHS_IMPORT_TEST_RECORDS` (default 25,000, the
/// issue's figure).
fn test_records() -> usize {
    std::env::var("SFHS_IMPORT_TEST_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(25_000)
}

async fn sim(invoices: usize) -> Sim {
    SimBuilder::new()
        .seed_size(SeedSize { accounts: 20, invoices, lines: 0, shipments: 0 })
        .start()
        .await
        .expect("simulator starts")
}

fn reader(sim: &Sim) -> ClientReader {
    let client = sfhs_salesforce::Client::new(Config::new(
        LoginUrl::Custom(sim.base_url().to_owned()),
        Credentials::ClientCredentials {
            client_id: sfhs_salesforce_sim::DEFAULT_CLIENT_ID.into(),
            client_secret: sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET.into(),
        },
    ))
    .expect("client builds");
    ClientReader::new(client).with_poll_policy(PollPolicy {
        initial: Duration::from_millis(5),
        max: Duration::from_millis(20),
        timeout: Duration::from_secs(30),
    })
}

async fn mappings(enabled_at: OffsetDateTime) -> Arc<MemoryMappingStore> {
    let store = Arc::new(MemoryMappingStore::new());
    for yaml in [INVOICE, ACCOUNT_KEEP] {
        let mapping: Mapping = serde_norway::from_str(yaml).expect("mapping parses");
        store
            .put(
                &StoredMapping {
                    mapping,
                    version: 1,
                    updated_at: enabled_at,
                    enabled_at: Some(enabled_at),
                    outbound_fields: None,
                },
                None,
            )
            .await
            .expect("mapping stored");
    }
    store
}

struct Rig {
    runner: ImportRunner,
    queue: Arc<MemoryQueue>,
    continuation: Arc<MemoryContinuation>,
}

async fn rig(sim: &Sim, store: Arc<dyn ImportStore>, settings: RunSettings) -> Rig {
    let queue = Arc::new(MemoryQueue::new());
    let continuation = Arc::new(MemoryContinuation::new());
    let runner = ImportRunner {
        store,
        mappings: mappings(OffsetDateTime::now_utc()).await,
        reader: Arc::new(reader(sim)),
        publisher: Publisher::new(queue.clone(), PublishPolicy::default()),
        continuation: continuation.clone(),
        settings,
    };
    Rig { runner, queue, continuation }
}

fn settings(page: u32) -> RunSettings {
    RunSettings { rest_page_size: page, bulk_page_size: page, ..RunSettings::default() }
}

/// Runs an import to its end, following hand-overs as the Lambda continuation would.
async fn run_to_end(rig: &Rig, id: &str) -> usize {
    let mut runs = 0;
    let mut next = Some(id.to_owned());
    while let Some(id) = next.take() {
        runs += 1;
        let outcome =
            rig.runner.run(&id, &format!("inv-{runs}"), None).await.expect("run succeeds");
        match outcome {
            RunOutcome::Completed { .. } => {}
            RunOutcome::HandedOver { .. } => {
                next = rig.continuation.take().into_iter().next();
                assert!(next.is_some(), "a hand-over asks for a continuation");
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    runs
}

fn counts(queue: &MemoryQueue) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for body in queue.messages() {
        let item = WorkItem::from_json(&body).expect("work item");
        *seen.entry(item.record_id).or_insert(0) += 1;
    }
    seen
}

async fn assert_all_once(sim: &Sim, rig: &Rig, record: &ImportRecord) {
    let seen = counts(&rig.queue);
    let ids = sim.handle().ids("Invoice__c");
    assert_eq!(seen.len(), ids.len(), "every record enqueued");
    assert!(ids.iter().all(|id| seen.get(id) == Some(&1)), "exactly once");
    let stored = rig.runner.store.get(&record.id).await.expect("store").expect("import stored");
    assert_eq!(stored.status, ImportStatus::Completed);
    assert_eq!(stored.enqueued, ids.len() as u64);
    assert_eq!(stored.total, ids.len() as u64);
    assert!(stored.finished.is_some() && stored.lease_owner.is_none());
}

#[tokio::test]
async fn rest_import_enqueues_every_record_once() {
    let sim = sim(test_records()).await;
    let rig = rig(&sim, Arc::new(MemoryImportStore::new()), settings(400)).await;
    let record = rig
        .runner
        .create("invoice__c", None, 50_000, false, OffsetDateTime::now_utc())
        .await
        .expect("import recorded");
    assert_eq!(record.method, ImportMethod::Rest);
    assert_eq!(record.object, "Invoice__c");
    assert_eq!(run_to_end(&rig, &record.id).await, 1);
    assert_all_once(&sim, &rig, &record).await;

    // The work items carry the import, the version field, the mapped fields and the lookup.
    let item = WorkItem::from_json(&rig.queue.messages()[0]).expect("work item");
    assert_eq!(item.op, Op::Upsert);
    assert_eq!(item.source, Source::Import { import_id: record.id.clone(), force: false });
    for field in ["SystemModstamp", "Name", "Amount__c", "Status__c", "Paid__c", "Account__c"] {
        assert!(item.fields.contains_key(field), "{field} in {:?}", item.fields);
    }
    assert!(matches!(
        item.fields.get("Paid__c"),
        Some(Some(v)) if v == "true" || v == "false"
    ));
    assert_eq!(item.org_id.len(), 18);
    println!("rest: {} items in {} SQS calls", rig.queue.messages().len(), rig.queue.calls());
}

#[tokio::test]
async fn bulk_import_with_hand_overs_enqueues_every_record_once() {
    let sim = sim(test_records()).await;
    let mut s = settings((test_records() / 8).max(100) as u32);
    s.max_pages_per_run = Some(3);
    let rig = rig(&sim, Arc::new(MemoryImportStore::new()), s).await;
    let record = rig
        .runner
        .create("Invoice__c", Some("Amount__c >= 0"), 1000, false, OffsetDateTime::now_utc())
        .await
        .expect("import recorded");
    assert_eq!(record.method, ImportMethod::Bulk);
    let runs = run_to_end(&rig, &record.id).await;
    assert!(runs >= 3, "handed over {runs} times");
    println!("bulk: {runs} invocations");
    assert_all_once(&sim, &rig, &record).await;
}

/// An imports store whose n-th write fails: a crash after a page is on the queue and before its
/// checkpoint is stored.
#[derive(Debug)]
struct CrashingStore {
    inner: MemoryImportStore,
    writes: AtomicUsize,
    crash_at: usize,
}

#[async_trait]
impl ImportStore for CrashingStore {
    async fn put(
        &self,
        next: &ImportRecord,
        expected: Option<u64>,
    ) -> Result<(), ImportStoreError> {
        if self.writes.fetch_add(1, Ordering::SeqCst) + 1 == self.crash_at {
            return Err(ImportStoreError::Unavailable {
                message: "simulated crash".into(),
                retryable: true,
                source: None,
            });
        }
        self.inner.put(next, expected).await
    }
    async fn get(&self, id: &str) -> Result<Option<ImportRecord>, ImportStoreError> {
        self.inner.get(id).await
    }
    async fn list(&self) -> Result<Vec<ImportRecord>, ImportStoreError> {
        self.inner.list().await
    }
    async fn record_progress(
        &self,
        id: &str,
        progress: ImportProgress,
    ) -> Result<(), ImportStoreError> {
        self.inner.record_progress(id, progress).await
    }
    async fn get_sweep(&self, object: &str) -> Result<Option<SweepState>, ImportStoreError> {
        self.inner.get_sweep(object).await
    }
    async fn put_sweep(
        &self,
        next: &SweepState,
        expected: Option<u64>,
    ) -> Result<(), ImportStoreError> {
        self.inner.put_sweep(next, expected).await
    }
}

#[tokio::test]
async fn import_crashed_at_a_random_page_resumes_from_its_checkpoint() {
    let sim = sim(2500).await;
    // Writes: 1 create, 2 claim, then one checkpoint per page (7 pages of 400).
    let crash_at = 3 + (OffsetDateTime::now_utc().nanosecond() as usize % 6);
    println!("crash at store write {crash_at}");
    let store = Arc::new(CrashingStore {
        inner: MemoryImportStore::new(),
        writes: AtomicUsize::new(0),
        crash_at,
    });
    let rig = rig(&sim, store, settings(400)).await;
    let record = rig
        .runner
        .create("Invoice__c", None, 50_000, false, OffsetDateTime::now_utc())
        .await
        .expect("import recorded");
    let err = rig.runner.run(&record.id, "first", None).await.expect_err("the crash stops the run");
    assert!(err.is_retryable());
    let crashed = rig.runner.store.get(&record.id).await.unwrap().unwrap();
    assert_eq!(crashed.status, ImportStatus::Running);
    assert!(crashed.lease_owner.is_none(), "the lease was let go");
    assert!(crashed.last_error.is_some());
    // The retry resumes from the checkpoint.
    let outcome = rig.runner.run(&record.id, "retry", None).await.unwrap();
    assert!(matches!(outcome, RunOutcome::Completed { .. }), "{outcome:?}");
    let seen = counts(&rig.queue);
    let ids = sim.handle().ids("Invoice__c");
    assert_eq!(seen.len(), ids.len(), "every record landed");
    let duplicates: usize = seen.values().map(|n| n - 1).sum();
    assert!(duplicates <= 400, "only the page in flight is sent twice: {duplicates}");
    println!("duplicates after the crash: {duplicates}");
    let done = rig.runner.store.get(&record.id).await.unwrap().unwrap();
    assert_eq!(done.status, ImportStatus::Completed);
}

#[tokio::test]
async fn cancel_stops_the_run_and_a_second_runner_is_refused() {
    let sim = sim(1000).await;
    let mut s = settings(200);
    s.max_pages_per_run = Some(1);
    let rig = rig(&sim, Arc::new(MemoryImportStore::new()), s).await;
    let record = rig
        .runner
        .create("Invoice__c", None, 50_000, false, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let first = rig.runner.run(&record.id, "a", None).await.unwrap();
    assert!(matches!(first, RunOutcome::HandedOver { pages: 1, .. }));
    // A lease held by another invocation refuses a second runner.
    let stored = rig.runner.store.get(&record.id).await.unwrap().unwrap();
    let now = OffsetDateTime::now_utc();
    let held = stored.claim("other", now, now + time::Duration::minutes(5)).unwrap();
    rig.runner.store.put(&held, Some(stored.revision)).await.unwrap();
    let refused = rig.runner.run(&record.id, "b", None).await.unwrap();
    assert!(matches!(refused, RunOutcome::NotRunnable { .. }), "{refused:?}");
    // Cancelled: a run does nothing more.
    let cancelled = held.cancelled(now).unwrap();
    rig.runner.store.put(&cancelled, Some(held.revision)).await.unwrap();
    let after = rig.runner.run(&record.id, "c", None).await.unwrap();
    assert!(matches!(after, RunOutcome::NotRunnable { .. }), "{after:?}");
    assert_eq!(rig.queue.messages().len(), 200);
}

#[tokio::test]
async fn sweep_enqueues_deletes_once_and_reports_gaps() {
    let sim = sim(200).await;
    let handle = sim.handle();
    let now = OffsetDateTime::now_utc();
    let maps = mappings(now - time::Duration::minutes(30)).await;
    let store = MemoryImportStore::new();
    let reader = reader(&sim);
    let live = Arc::new(MemoryQueue::new());
    let publisher = Publisher::new(live.clone(), PublishPolicy::default());
    let deleted: Vec<String> = handle.ids("Invoice__c").into_iter().take(5).collect();
    for id in &deleted {
        handle.delete_at("Invoice__c", id, now - time::Duration::minutes(10)).expect("deleted");
    }
    let account = handle.ids("Account").remove(0);
    handle.delete_at("Account", &account, now - time::Duration::minutes(10)).expect("deleted");

    // A dry run finds them and changes nothing.
    let dry = sweep(maps.as_ref(), &store, &reader, &publisher, now, true).await.unwrap();
    assert_eq!(dry.deletes(), 5);
    assert!(live.messages().is_empty());
    assert!(store.get_sweep("Invoice__c").await.unwrap().is_none());

    let report = sweep(maps.as_ref(), &store, &reader, &publisher, now, false).await.unwrap();
    println!("{}", serde_json::to_string(&report).unwrap());
    assert_eq!(report.deletes(), 5);
    assert_eq!(report.gaps(), 0);
    let by_object: HashMap<_, _> =
        report.objects.iter().map(|o| (o.object.as_str(), &o.outcome)).collect();
    assert_eq!(by_object["Account"], &SweepOutcome::Kept);
    let mut items: Vec<WorkItem> =
        live.messages().iter().map(|b| WorkItem::from_json(b).unwrap()).collect();
    items.sort_by(|a, b| a.record_id.cmp(&b.record_id));
    let mut expected = deleted.clone();
    expected.sort();
    assert_eq!(items.iter().map(|i| i.record_id.clone()).collect::<Vec<_>>(), expected);
    assert!(items.iter().all(|i| i.op == Op::Delete
        && i.source == Source::DeleteSweep
        && i.sobject == "Invoice__c"));
    // Each delete is versioned by its deletion time (to the minute), not by its receipt.
    for i in &items {
        let (version, source) = sfhs_core::sync::record_version(i, "SystemModstamp");
        assert_eq!(source, sfhs_core::sync::VersionSource::LastModifiedDate);
        let deleted_at = (now - time::Duration::minutes(10)).unix_timestamp() * 1000;
        assert!((version.millis() - deleted_at).abs() <= 60_000, "{version} vs {deleted_at}");
    }
    let state = store.get_sweep("Invoice__c").await.unwrap().unwrap();
    assert!(state.checkpoint > now - time::Duration::minutes(2), "{state:?}");
    assert_eq!(state.deletes_enqueued, 5);

    // The next sweep starts at the checkpoint: nothing again.
    let again = sweep(maps.as_ref(), &store, &reader, &publisher, OffsetDateTime::now_utc(), false)
        .await
        .unwrap();
    assert_eq!(again.deletes(), 0);
    assert_eq!(live.messages().len(), 5);

    // Salesforce keeps deletes for less than the time since the checkpoint: a gap.
    handle.update_knobs(|k| k.deleted_retention = Duration::from_secs(20 * 60));
    let old = mappings(now - time::Duration::minutes(60)).await;
    let gap_store = MemoryImportStore::new();
    let gap_queue = Arc::new(MemoryQueue::new());
    let gap_publisher = Publisher::new(gap_queue.clone(), PublishPolicy::default());
    let report =
        sweep(old.as_ref(), &gap_store, &reader, &gap_publisher, OffsetDateTime::now_utc(), false)
            .await
            .unwrap();
    println!("{}", serde_json::to_string(&report).unwrap());
    assert_eq!(report.gaps(), 1, "{report:?}");
    assert_eq!(report.deletes(), 5, "what is still available is swept");
    let state = gap_store.get_sweep("Invoice__c").await.unwrap().unwrap();
    let gap = state.gap.expect("the gap is recorded");
    assert_eq!(gap.from, now - time::Duration::minutes(60));
    assert!(gap.to > gap.from);
}

#[tokio::test]
async fn handler_runs_imports_and_the_scheduled_tick_sweeps_and_resumes() {
    use serde_json::json;
    use sfhs_import::{Deps, ScheduledContinuation, handle};

    let sim = sim(900).await;
    let mut s = settings(300);
    s.max_pages_per_run = Some(1);
    let mut rig = rig(&sim, Arc::new(MemoryImportStore::new()), s).await;
    rig.runner.continuation = Arc::new(ScheduledContinuation);
    let live = Arc::new(MemoryQueue::new());
    let deps =
        Deps::new(rig.runner.clone(), Publisher::new(live.clone(), PublishPolicy::default()));
    let record = deps
        .runner
        .create("Invoice__c", None, 50_000, false, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(900);
    let out =
        handle(&deps, &json!({"import_id": record.id}), "req-1", Some(deadline)).await.unwrap();
    assert_eq!(out["outcome"], "handed_over", "{out}");
    // Scheduled ticks resume it until it completes.
    let tick = json!({"source": "aws.events", "detail-type": "Scheduled Event"});
    let mut ticks = 0;
    loop {
        ticks += 1;
        let out = handle(&deps, &tick, &format!("tick-{ticks}"), Some(deadline)).await.unwrap();
        assert_eq!(out["gaps"], 0, "{out}");
        if out["resumed"]["outcome"] == "completed" {
            break;
        }
        assert!(ticks < 10, "{out}");
    }
    assert_eq!(counts(&rig.queue).len(), 900);
    assert!(counts(&rig.queue).values().all(|n| *n == 1));
    let err = handle(&deps, &json!({"hello": 1}), "req-2", None).await.unwrap_err();
    assert!(!err.is_retryable());
}

/// A queue that hangs once it holds `hang_at` messages: the runner is then inside a page, with
/// part of it on the queue, when the test kills it.
#[derive(Debug)]
struct HangingQueue {
    inner: Arc<MemoryQueue>,
    hang_at: usize,
    hung: tokio::sync::Notify,
}

#[async_trait]
impl sfhs_core::queue::WorkQueue for HangingQueue {
    async fn send_batch(
        &self,
        entries: &[sfhs_core::queue::QueueEntry],
    ) -> Result<Vec<sfhs_core::queue::EntryFailure>, sfhs_core::queue::QueueError> {
        if self.inner.messages().len() >= self.hang_at {
            self.hung.notify_one();
            std::future::pending::<()>().await;
        }
        self.inner.send_batch(entries).await
    }
}

/// Salesforce's 15 minutes and 7 days, and the one-minute lease, scaled down.
const CURSOR_LIFE: Duration = Duration::from_millis(800);
const LEASE: Duration = Duration::from_millis(1000);

/// A Lambda invocation that dies in the middle of a page without letting go (aborted, as when
/// it is killed at its hard limit or runs out of memory), and a pause longer than Salesforce
/// keeps the import's cursor: the scheduled resume tick takes the import over once the dead
/// runner's lease has run out, reads on from the key, and completes it. Every record is on the
/// queue at least once; only the page in flight twice.
#[tokio::test]
async fn a_runner_killed_mid_page_is_resumed_by_the_tick_after_its_cursor_expired() {
    use serde_json::json;
    use sfhs_import::{Deps, ScheduledContinuation, handle};

    for (method, threshold) in [(ImportMethod::Rest, 50_000), (ImportMethod::Bulk, 1)] {
        let sim = SimBuilder::new()
            .seed_size(SeedSize { accounts: 20, invoices: 3000, lines: 0, shipments: 0 })
            .query_cursor_idle_timeout(CURSOR_LIFE)
            .bulk_results_retention(CURSOR_LIFE)
            .start()
            .await
            .expect("simulator starts");
        let page = 400;
        let mut s = settings(page);
        s.lease = LEASE;
        s.renew_every = LEASE / 4;
        let mut rig = rig(&sim, Arc::new(MemoryImportStore::new()), s).await;
        rig.runner.continuation = Arc::new(ScheduledContinuation);
        let hanging = Arc::new(HangingQueue {
            inner: rig.queue.clone(),
            hang_at: 5 * page as usize + 150,
            hung: tokio::sync::Notify::new(),
        });
        let mut dying = rig.runner.clone();
        dying.publisher = Publisher::new(hanging.clone(), PublishPolicy::default());
        let record = dying
            .create(
                "Invoice__c",
                Some("Amount__c >= 0 OR Amount__c = null"),
                threshold,
                false,
                OffsetDateTime::now_utc(),
            )
            .await
            .unwrap();
        assert_eq!(record.method, method);
        let deadline = std::time::Instant::now() + Duration::from_secs(900);
        let task = {
            let deps = Deps::new(
                dying,
                Publisher::new(Arc::new(MemoryQueue::new()), PublishPolicy::default()),
            );
            let id = record.id.clone();
            tokio::spawn(async move {
                handle(&deps, &json!({"import_id": id}), "req-dies", Some(deadline)).await
            })
        };
        tokio::time::timeout(Duration::from_secs(60), hanging.hung.notified())
            .await
            .expect("the runner reached the page it dies in");
        task.abort();
        let died = std::time::Instant::now();
        assert!(task.await.is_err(), "killed, not finished");
        let dead = rig.runner.store.get(&record.id).await.unwrap().unwrap();
        assert_eq!(dead.status, ImportStatus::Running);
        assert_eq!(dead.lease_owner.as_deref(), Some("req-dies"), "never let go");
        assert_eq!(dead.enqueued, 5 * page as u64, "five pages checkpointed");
        let on_queue = rig.queue.messages().len();
        assert!(on_queue > dead.enqueued as usize, "died inside the sixth page");

        // The pause: longer than Salesforce keeps the cursor (scaled).
        tokio::time::sleep(CURSOR_LIFE + Duration::from_millis(300)).await;
        // The resume tick, "every minute" scaled to 100 ms, until one resumes the import.
        let deps = Deps::new(
            rig.runner.clone(),
            Publisher::new(Arc::new(MemoryQueue::new()), PublishPolicy::default()),
        );
        let mut ticks = 0;
        let (resumed_at, out) = loop {
            ticks += 1;
            let at = std::time::Instant::now();
            let out = handle(
                &deps,
                &json!({"resume": true}),
                &format!("req-tick-{ticks}"),
                Some(deadline),
            )
            .await
            .unwrap();
            if !out["resumed"].is_null() && out["resumed"]["outcome"] != "not_runnable" {
                break (at, out);
            }
            assert!(died.elapsed() < Duration::from_secs(60), "never resumed: {out}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let death_to_resume = resumed_at - died;
        println!(
            "{method:?}: died with {on_queue} on the queue ({} checkpointed); resumed by tick {ticks} {death_to_resume:?} after death (lease {LEASE:?}, cursor life {CURSOR_LIFE:?}, pause {:?})",
            dead.enqueued,
            CURSOR_LIFE + Duration::from_millis(300)
        );
        assert_eq!(out["resumed"]["outcome"], "completed", "{out}");
        let done = rig.runner.store.get(&record.id).await.unwrap().unwrap();
        assert_eq!(done.status, ImportStatus::Completed);
        assert!(done.last_error.is_none(), "{:?}", done.last_error);
        let seen = counts(&rig.queue);
        let ids = sim.handle().ids("Invoice__c");
        assert_eq!(seen.len(), ids.len(), "every record, none missed");
        assert!(ids.iter().all(|id| seen.contains_key(id)));
        let duplicates: usize = seen.values().map(|n| n - 1).sum();
        assert_eq!(
            duplicates,
            on_queue - dead.enqueued as usize,
            "only what the dead runner enqueued of its last page is there twice"
        );
        // Generous: the lease plus the pause plus a few ticks, on a loaded machine.
        assert!(death_to_resume < Duration::from_secs(30), "{death_to_resume:?}");
    }
}
