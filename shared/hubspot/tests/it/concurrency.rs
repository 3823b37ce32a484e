//! Issue 3's rate-limit measurement: 16 tasks push 20,000 records through one client into a
//! simulator limited to 50 calls per window. The window is 1 s instead of HubSpot's 10 s to keep
//! the test short; the headers report it, and the client sizes itself from them.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sfhs_hubspot::{ClientConfig, HubSpotClient, SecretToken, UpsertInput};
use sfhs_hubspot_sim::HubSpotSim;

use crate::common;

const TASKS: usize = 16;
const RECORDS: usize = 20_000;

/// The window: `SFHS_RATE_TEST_WINDOW_MS`, default 5,000 ms (HubSpot's is 10,000 ms).
fn window() -> Duration {
    let ms = std::env::var("SFHS_RATE_TEST_WINDOW_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    Duration::from_millis(ms)
}

/// Calls per window: `SFHS_RATE_TEST_LIMIT`, default 50.
fn limit() -> u32 {
    std::env::var("SFHS_RATE_TEST_LIMIT").ok().and_then(|v| v.parse().ok()).unwrap_or(50)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_tasks_twenty_thousand_records_fifty_calls_per_window() {
    #[allow(non_snake_case)]
    let (LIMIT, WINDOW) = (limit(), window());
    let sim = HubSpotSim::builder().burst_limit(LIMIT).burst_window(WINDOW).start().await.unwrap();
    let setup =
        HubSpotClient::new(ClientConfig::new(sim.base_url(), SecretToken::new(common::TOKEN)))
            .unwrap();
    let t = setup.create_schema(&common::widget_schema_json()).await.unwrap().object_type_id;
    // Start from an unused budget, with a client that has never called: production defaults
    // (retry policy, timeouts, a limiter that learns the limit from the first responses).
    sim.reset_limits();
    sim.reset_counters();
    let client =
        HubSpotClient::new(ClientConfig::new(sim.base_url(), SecretToken::new(common::TOKEN)))
            .unwrap();

    let batches: Vec<Vec<UpsertInput>> = (0..RECORDS)
        .map(|i| {
            UpsertInput::new(
                format!("sf{i:05}"),
                [("name", format!("record {i}")), ("amount", i.to_string())],
            )
        })
        .collect::<Vec<_>>()
        .chunks(100)
        .map(<[UpsertInput]>::to_vec)
        .collect();
    let queue = Arc::new(Mutex::new(batches));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (client, queue, t) = (client.clone(), queue.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let mut written = 0usize;
            loop {
                let Some(batch) = queue.lock().unwrap().pop() else {
                    break;
                };
                let out = client.batch_upsert(&t, "sf_id", batch).await.expect("no call may fail");
                assert!(out.is_complete(), "{:?}", out.failures);
                written += out.successes.len();
            }
            written
        }));
    }
    let mut written = 0;
    for task in tasks {
        written += task.await.unwrap();
    }
    let elapsed = started.elapsed();

    let c = sim.counters();
    let calls = c.calls;
    let ok = c.status(200);
    let rejected = c.rate_limited_rolling;
    let live = sim.records(&t).len();
    let windows = elapsed.as_secs_f64() / WINDOW.as_secs_f64();
    // Calls a rolling limit of N per W allows in an interval T: N x (T / W + 1).
    let budget_calls = f64::from(LIMIT) * (windows + 1.0);
    let records_per_sec = written as f64 / elapsed.as_secs_f64();
    let budget_records_per_sec = 100.0 * f64::from(LIMIT) / WINDOW.as_secs_f64();
    let ratio = written as f64 / (100.0 * budget_calls);
    let share_429 = rejected as f64 / calls as f64;
    let stats = client.stats();
    println!(
        "rate-limit test: {TASKS} tasks, {RECORDS} records, limit {LIMIT}/{WINDOW:?}\n  \
         elapsed {elapsed:.2?} ({windows:.2} windows), calls {calls} (200: {ok}, 429: {rejected} = {:.2}%)\n  \
         records written {written}, stored {live}, {records_per_sec:.0} records/s vs budget {budget_records_per_sec:.0}/s in steady state\n  \
         throughput vs budget N x (T/W + 1) calls x 100 records: {:.1}%\n  \
         client: {} requests, {} retries, limiter waits {}",
        share_429 * 100.0,
        ratio * 100.0,
        stats.requests,
        stats.retries,
        stats.limiter.map_or(0, |l| l.waits),
    );
    assert_eq!(written, RECORDS, "no record lost");
    assert_eq!(live, RECORDS);
    assert!(share_429 < 0.02, "429s are {:.2}% of calls", share_429 * 100.0);
    // Throughput against the budget depends on wall-clock time and on what else the machine is
    // doing, so it is printed and reported (docs/perf-hubspot.md), not asserted: a loaded CI
    // machine measured 77.7% once where a quiet one measures 94-98%.
}

/// Two processes of one app (two clients, two limiters, one token) share the window: each sees
/// the other's calls only through `X-HubSpot-RateLimit-Remaining` and the occasional 429. Every
/// record must still arrive, and 429s must slow the clients down rather than fail calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_window_without_failing() {
    let window = Duration::from_millis(1_000);
    let sim = HubSpotSim::builder().burst_limit(20).burst_window(window).start().await.unwrap();
    let setup =
        HubSpotClient::new(ClientConfig::new(sim.base_url(), SecretToken::new(common::TOKEN)))
            .unwrap();
    let t = setup.create_schema(&common::widget_schema_json()).await.unwrap().object_type_id;
    sim.reset_limits();
    sim.reset_counters();
    let clients: Vec<HubSpotClient> = (0..2)
        .map(|_| {
            HubSpotClient::new(ClientConfig::new(sim.base_url(), SecretToken::new(common::TOKEN)))
                .unwrap()
        })
        .collect();
    let batches: Vec<Vec<UpsertInput>> = (0..6_000)
        .map(|i| UpsertInput::new(format!("sf{i:05}"), [("name", "x")]))
        .collect::<Vec<_>>()
        .chunks(100)
        .map(<[UpsertInput]>::to_vec)
        .collect();
    let queue = Arc::new(Mutex::new(batches));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (client, queue, t) = (clients[i % 2].clone(), queue.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let Some(batch) = queue.lock().unwrap().pop() else {
                    break;
                };
                let out = client.batch_upsert(&t, "sf_id", batch).await.expect("no call may fail");
                assert!(out.is_complete());
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let c = sim.counters();
    println!(
        "two processes, limit 20/{window:?}: 60 batches in {:.2?}, {} calls, {} 429s ({:.1}%)",
        started.elapsed(),
        c.calls,
        c.rate_limited_rolling,
        100.0 * c.rate_limited_rolling as f64 / c.calls as f64
    );
    assert_eq!(sim.records(&t).len(), 6_000);
    assert_eq!(c.status(200), 60);
}
