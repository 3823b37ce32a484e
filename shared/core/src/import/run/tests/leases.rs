//! The run's lease: renewed during a long page, taken over once it runs out.

use super::*;

/// A runner of import `imp-1` of `total` records, 10 a page each read in `page_delay`, holding
/// its lease for `lease` and renewing it every 100 ms.
async fn leased(
    total: usize,
    page_delay: Duration,
    lease: Duration,
) -> (ImportRunner, Arc<MemoryQueue>) {
    let mut reader = FakeReader::new(total, 10);
    reader.page_delay = page_delay;
    let (mut runner, queue, _) = make_runner(reader, true).await;
    runner.settings.lease = lease;
    runner.settings.renew_every = Duration::from_millis(100);
    let r = record(total as u64, 1_000_000);
    runner.store.put(&r, None).await.unwrap();
    (runner, queue)
}

fn run_in_background(
    runner: &ImportRunner,
    holder: &'static str,
) -> tokio::task::JoinHandle<Result<RunOutcome, RunError>> {
    let runner = runner.clone();
    tokio::spawn(async move { runner.run("imp-1", holder, None).await })
}

/// While a long page is read, the lease is renewed: nobody else can claim the import; a
/// cancel meanwhile stops the run at its next renewal.
#[tokio::test]
async fn the_lease_is_renewed_during_a_long_page_and_a_cancel_stops_it() {
    let (runner, _) = leased(30, Duration::from_secs(3), Duration::from_secs(2)).await;
    let task = run_in_background(&runner, "dev-1");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let stored = runner.store.get("imp-1").await.unwrap().unwrap();
    assert!(stored.started.is_some());
    assert!(stored.lease_renewed > stored.started, "renewed during the first page: {stored:?}");
    // A second runner is refused: the lease is alive although the first page is longer.
    let second = runner.run("imp-1", "dev-2", None).await.unwrap();
    assert!(matches!(second, RunOutcome::NotRunnable { .. }), "{second:?}");
    // A cancel: the run stops at its next renewal, inside the page.
    let current = runner.store.get("imp-1").await.unwrap().unwrap();
    let cancelled = current.cancelled(OffsetDateTime::now_utc()).unwrap();
    runner.store.put(&cancelled, Some(current.revision)).await.unwrap();
    let out = tokio::time::timeout(Duration::from_secs(30), task).await.unwrap().unwrap().unwrap();
    assert_eq!(out, RunOutcome::Cancelled);
}

/// A runner that dies mid-page (the task aborted, as a Lambda killed at its hard limit)
/// never lets go: its lease runs out, and then a second runner takes the import over and
/// completes it; every record is on the queue, the page in flight at most twice.
#[tokio::test]
async fn a_dead_runner_is_taken_over_once_its_lease_runs_out() {
    let (runner, queue) = leased(50, Duration::from_millis(100), Duration::from_millis(500)).await;
    let task = run_in_background(&runner, "lambda-req-1");
    // Wait for two pages, then kill it inside the third.
    loop {
        let r = runner.store.get("imp-1").await.unwrap().unwrap();
        if r.enqueued >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    task.abort();
    let died = Instant::now();
    let _ = task.await;
    let dead = runner.store.get("imp-1").await.unwrap().unwrap();
    let dead_until = dead.lease_until.unwrap();
    // Refused while the dead runner's lease runs; taken over after.
    let mut takeover = None;
    while takeover.is_none() {
        match runner.run("imp-1", "lambda-req-2", None).await.unwrap() {
            RunOutcome::NotRunnable { .. } => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            out => takeover = Some(out),
        }
        assert!(died.elapsed() < Duration::from_secs(60), "never taken over");
    }
    let waited = died.elapsed();
    println!("death to takeover: {waited:?} (lease 500 ms, renewed every 100 ms)");
    assert!(OffsetDateTime::now_utc() >= dead_until, "not before the dead runner's lease ran out");
    assert!(matches!(takeover, Some(RunOutcome::Completed { .. })), "{takeover:?}");
    let seen = enqueued(&queue);
    assert_eq!(seen.len(), 50, "every record");
    assert!(seen.values().all(|&n| n <= 2));
}
