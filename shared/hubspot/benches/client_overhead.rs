//! Client overhead per batch against the in-process simulator.
//!
//! `upsert_100/client` is a full `batch_upsert` of 100 records (dedup, JSON, limiter, HTTP,
//! response split); `upsert_100/raw_reqwest` sends the same bytes with a bare `reqwest::Client`
//! and parses the answer as `serde_json::Value`. The difference is the client's overhead.
//! `limiter/acquire_complete` is one permit taken and given back.
//!
//! Run: `CARGO_TARGET_DIR=/work/target cargo bench -p sfhs-hubspot --bench client_overhead`

#![allow(clippy::unwrap_used, missing_debug_implementations)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use sfhs_hubspot::{
    ClientConfig, HubSpotClient, RateHeaders, RateLimiter, SecretToken, UpsertInput,
};
use sfhs_hubspot_sim::HubSpotSim;

fn inputs() -> Vec<UpsertInput> {
    (0..100)
        .map(|i| {
            UpsertInput::new(
                format!("sf{i:03}"),
                [("name", format!("record {i}")), ("amount", i.to_string())],
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let sim = rt
        .block_on(HubSpotSim::builder().burst_limit(u32::MAX).daily_limit(u64::MAX).start())
        .unwrap();
    let client = HubSpotClient::new(ClientConfig::new(
        sim.base_url(),
        SecretToken::new(sfhs_hubspot_sim::DEFAULT_TOKEN),
    ))
    .unwrap();
    let schema = json!({
        "name": "widget", "labels": {"singular": "W", "plural": "Ws"},
        "properties": [{"name": "name", "label": "N"}, {"name": "sf_id", "label": "S", "hasUniqueValue": true},
                       {"name": "amount", "label": "A", "type": "number", "fieldType": "number"}]
    });
    let t = rt.block_on(client.create_schema(&schema)).unwrap().object_type_id;
    rt.block_on(client.batch_upsert(&t, "sf_id", inputs())).unwrap();

    let mut g = c.benchmark_group("upsert_100");
    g.sample_size(30).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    g.bench_function("client", |b| {
        b.to_async(&rt).iter(|| async {
            let out = client.batch_upsert(&t, "sf_id", inputs()).await.unwrap();
            assert_eq!(out.successes.len(), 100);
        });
    });
    let raw = reqwest::Client::new();
    let url = format!("{}/crm/objects/2026-09/{t}/batch/upsert", sim.base_url());
    let body: Vec<Value> = inputs()
        .iter()
        .map(|i| json!({"idProperty": "sf_id", "id": i.id, "properties": i.properties}))
        .collect();
    let bytes = serde_json::to_vec(&json!({ "inputs": body })).unwrap();
    g.bench_function("raw_reqwest", |b| {
        b.to_async(&rt).iter(|| async {
            let resp = raw
                .post(&url)
                .bearer_auth(sfhs_hubspot_sim::DEFAULT_TOKEN)
                .header("content-type", "application/json")
                .body(bytes.clone())
                .send()
                .await
                .unwrap();
            let v: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
            assert_eq!(v["results"].as_array().map(Vec::len), Some(100));
        });
    });
    g.finish();

    // A limiter of HubSpot's size (250) holding up to 240 slots, as in steady state.
    let headers = RateHeaders::default();
    c.bench_function("limiter/acquire_complete", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let started = std::time::Instant::now();
            let mut limiter =
                RateLimiter::new(250, Duration::from_secs(3600), 0.0, time::UtcOffset::UTC);
            for i in 0..iters {
                if i % 240 == 0 {
                    limiter =
                        RateLimiter::new(250, Duration::from_secs(3600), 0.0, time::UtcOffset::UTC);
                }
                let p = limiter.acquire().await.unwrap();
                limiter.complete(p, &headers);
            }
            started.elapsed()
        });
    });
    drop(sim);
}

criterion_group!(benches, bench);
criterion_main!(benches);
