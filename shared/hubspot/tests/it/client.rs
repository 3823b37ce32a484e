//! The client against the simulator over real HTTP: every operation, every error class, both
//! path styles.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::{TOKEN, config, setup, sim};
use sfhs_hubspot::{
    ApiVersion, AssociationPair, AssociationType, ClientConfig, CreateInput, Error, HubSpotClient,
    SecretToken, UpsertInput,
};
use sfhs_hubspot_sim::{Fault, FaultKind, PartialStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const VERSIONS: [ApiVersion; 3] = [ApiVersion::V2026_09, ApiVersion::V2026_03, ApiVersion::Legacy];

fn input(id: &str, name: &str) -> UpsertInput {
    UpsertInput::new(id, [("name", name)])
}

#[tokio::test]
async fn upsert_read_archive_on_every_path_style() {
    for version in VERSIONS {
        let (sim, client, t) = setup(version, |b| b).await;
        // 240 distinct ids, 10 of them repeated later with new values: the last one wins.
        let mut inputs: Vec<UpsertInput> =
            (0..240).map(|i| input(&format!("sf{i}"), "first")).collect();
        inputs.extend((0..10).map(|i| input(&format!("sf{i}"), "last")));
        let out = client.batch_upsert(&t, "sf_id", inputs).await.unwrap();
        assert!(out.is_complete(), "{:?}", out.failures);
        assert_eq!(out.successes.len(), 240);
        assert!(out.successes.iter().all(|r| r.new == Some(true)));
        assert_eq!(
            sim.counters().endpoint_calls("batch/upsert"),
            3,
            "{version:?}: 240 inputs -> 3 calls of <= 100"
        );
        // Read by id property, one missing.
        let ids: Vec<String> = vec!["sf0".into(), "sf100".into(), "missing".into()];
        let read = client.batch_read(&t, &ids, Some("sf_id"), &["name"]).await.unwrap();
        assert_eq!(read.successes.len(), 2);
        let sf0 =
            read.successes.iter().find(|r| r.get("name") == Some("last")).map(|r| r.id.clone());
        assert!(sf0.is_some(), "the last duplicate won");
        assert_eq!(read.failures.len(), 1);
        assert_eq!(read.failures[0].ids, vec!["missing".to_string()]);
        assert_eq!(read.failures[0].status, 404);
        assert_eq!(read.failures[0].category.as_deref(), Some("OBJECT_NOT_FOUND"));
        // Read by HubSpot id.
        let hs_ids: Vec<String> = out.successes.iter().take(3).map(|r| r.id.clone()).collect();
        let read = client.batch_read(&t, &hs_ids, None, &["sf_id"]).await.unwrap();
        assert_eq!(read.successes.len(), 3);
        // Upsert again: not new.
        let again = client.batch_upsert(&t, "sf_id", vec![input("sf1", "again")]).await.unwrap();
        assert_eq!(again.successes[0].new, Some(false));
        // Archive by id and by property.
        client.batch_archive(&t, &hs_ids).await.unwrap();
        let read = client.batch_read(&t, &hs_ids, None, &[]).await.unwrap();
        assert_eq!(read.failures.iter().map(|f| f.ids.len()).sum::<usize>(), 3);
        let gone = client
            .batch_archive_by_property(
                &t,
                "sf_id",
                &["sf200".into(), "sf201".into(), "nope".into()],
            )
            .await
            .unwrap();
        assert_eq!(gone.archived.len(), 2);
        assert_eq!(gone.not_found, vec!["nope".to_string()]);
        let live = sim.records(&t).iter().filter(|r| r["archived"] == false).count();
        assert_eq!(live, 235, "{version:?}");
    }
}

#[tokio::test]
async fn schemas_properties_and_labels_are_cached() {
    let (sim, client, t) = setup(ApiVersion::V2026_09, |b| b).await;
    let all = client.schemas().await.unwrap();
    assert_eq!(all.len(), 1);
    let fqn = all[0].fully_qualified_name.clone().unwrap();
    assert!(fqn.ends_with("_widget"));
    sim.reset_counters();
    let s1 = client.schema(&t).await.unwrap();
    let s2 = client.schema(&fqn).await.unwrap();
    assert_eq!(s1, s2);
    assert!(s1.property("sf_id").unwrap().has_unique_value);
    assert_eq!(s1.required_properties, vec!["name".to_string()]);
    let p1 = client.properties(&t).await.unwrap();
    let p2 = client.properties(&t).await.unwrap();
    assert_eq!(p1, p2);
    assert!(p1.iter().any(|p| p.name == "color" && p.options.len() == 2));
    let l1 = client.association_labels(&t, "contacts").await.unwrap();
    let l2 = client.association_labels(&t, "contacts").await.unwrap();
    assert_eq!(l1, l2);
    let c = sim.counters();
    assert_eq!(
        c.calls, 2,
        "one properties call and one labels call; schemas came from the list: {c:?}"
    );
    client.invalidate_caches();
    client.schema(&t).await.unwrap();
    assert_eq!(sim.counters().calls, 3);
}

#[tokio::test]
async fn one_bad_record_is_isolated_and_named() {
    let (sim, client, t) = setup(ApiVersion::V2026_09, |b| b).await;
    let mut inputs: Vec<UpsertInput> = (0..100).map(|i| input(&format!("r{i}"), "ok")).collect();
    inputs[37] = UpsertInput::new("r37", [("name", "bad"), ("color", "green")]);
    inputs[80] = UpsertInput::new("r80", [("name", "bad"), ("nonexistent", "x")]);
    let out = client.batch_upsert(&t, "sf_id", inputs).await.unwrap();
    assert_eq!(out.successes.len(), 98);
    assert_eq!(out.failures.len(), 2);
    let f = out.failures.iter().find(|f| f.ids == ["r37"]).unwrap();
    assert_eq!(f.status, 400);
    assert_eq!(f.category.as_deref(), Some("VALIDATION_ERROR"));
    assert_eq!(f.code.as_deref(), Some("INVALID_OPTION"));
    assert_eq!(f.property.as_deref(), Some("color"));
    assert_eq!(f.value.as_deref(), Some("green"));
    assert!(f.correlation_id.is_some());
    let f = out.failures.iter().find(|f| f.ids == ["r80"]).unwrap();
    assert_eq!(f.code.as_deref(), Some("PROPERTY_DOESNT_EXIST"));
    assert_eq!(f.property.as_deref(), Some("nonexistent"));
    let calls = sim.counters().endpoint_calls("batch/upsert");
    println!("isolating 2 bad records in a batch of 100 took {calls} upsert calls");
    assert!(calls <= 30, "{calls}");
    assert_eq!(sim.records(&t).len(), 98);
}

#[tokio::test]
async fn a_batch_level_error_fails_every_input_in_one_call() {
    let (sim, client, t) = setup(ApiVersion::V2026_09, |b| b).await;
    let inputs: Vec<UpsertInput> = (0..50).map(|i| input(&format!("r{i}"), "ok")).collect();
    // `name` has no unique values: HubSpot refuses it as idProperty for the whole batch.
    let out = client.batch_upsert(&t, "name", inputs).await.unwrap();
    assert_eq!(out.failures.len(), 50);
    assert_eq!(sim.counters().endpoint_calls("batch/upsert"), 1);
}

#[tokio::test]
async fn search_by_property_values() {
    let (_sim, client, t) = setup(ApiVersion::Legacy, |b| b.search_per_second(5)).await;
    let inputs: Vec<UpsertInput> = (0..300).map(|i| input(&format!("s{i}"), "n")).collect();
    client.batch_upsert(&t, "sf_id", inputs).await.unwrap();
    let wanted: Vec<String> =
        (0..150).map(|i| format!("s{i}")).chain(["zzz".to_string()]).collect();
    let found = client.search_by_property(&t, "sf_id", &wanted, &["sf_id"]).await.unwrap();
    assert_eq!(found.len(), 150);
    assert!(found.iter().all(|r| r.get("sf_id").is_some()));
}

#[tokio::test]
async fn associations_end_to_end() {
    for version in [ApiVersion::V2026_09, ApiVersion::Legacy] {
        let (sim, client, t) = setup(version, |b| b).await;
        let w = client
            .batch_upsert(&t, "sf_id", vec![input("w1", "a"), input("w2", "b")])
            .await
            .unwrap();
        let c = sim.sim().records("contacts").len();
        assert_eq!(c, 0);
        // Contacts through the client's upsert by a unique property is not possible (email is
        // not unique in the simulator), so create them through the simulator's HTTP API.
        let http = reqwest_free_create_contacts(&sim.base_url(), 2).await;
        let labels = client.association_labels(&t, "contacts").await.unwrap();
        assert_eq!(labels.len(), 1);
        let types: Vec<AssociationType> = labels.iter().map(AssociationType::from).collect();
        let (w1, w2) = (w.successes[0].id.clone(), w.successes[1].id.clone());
        let pairs = vec![
            AssociationPair::new(&w1, &http[0]),
            AssociationPair::new(&w1, &http[1]),
            AssociationPair::new("987654", &http[0]),
        ];
        let out = client.batch_associate(&t, "contacts", &pairs, &types).await.unwrap();
        assert_eq!(out.successes.len(), 2, "{version:?}");
        assert_eq!(out.failures.len(), 1);
        assert_eq!(out.failures[0].ids, vec!["987654".to_string()]);
        let out = client
            .batch_associate_default(&t, "contacts", &[AssociationPair::new(&w2, &http[0])])
            .await
            .unwrap();
        assert!(out.is_complete());
        let read =
            client.read_associations(&t, "contacts", &[w1.clone(), w2.clone()]).await.unwrap();
        assert_eq!(read[&w1].len(), 2);
        assert_eq!(read[&w2], vec![http[0].clone()]);
        client
            .batch_archive_associations(&t, "contacts", &[AssociationPair::new(&w1, &http[0])])
            .await
            .unwrap();
        let read =
            client.read_associations(&t, "contacts", std::slice::from_ref(&w1)).await.unwrap();
        assert_eq!(read[&w1], vec![http[1].clone()]);
    }
}

fn create_input(id: &str, to: Option<(&str, AssociationType)>) -> CreateInput {
    CreateInput {
        trace: id.into(),
        properties: [("sf_id", id), ("name", id)]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        associations: to.map(|(t, ty)| (t.to_owned(), ty)).into_iter().collect(),
    }
}

#[tokio::test]
async fn batch_create_carries_associations_and_names_refused_inputs() {
    for version in [ApiVersion::V2026_09, ApiVersion::Legacy] {
        let (sim, client, t) = setup(version, |b| b).await;
        let contacts = reqwest_free_create_contacts(&sim.base_url(), 1).await;
        let labels = client.association_labels(&t, "contacts").await.unwrap();
        let ty = AssociationType::from(&labels[0]);
        let out = client
            .batch_create(
                &t,
                vec![
                    create_input("c1", Some((&contacts[0], ty))),
                    create_input("c2", None),
                    // A target that does not exist: this input alone is refused.
                    create_input("c3", Some(("987654", ty))),
                ],
            )
            .await
            .unwrap();
        assert_eq!(out.successes.len(), 2, "{version:?}");
        let c1 = out
            .successes
            .iter()
            .find(|r| r.object_write_trace_id.as_deref() == Some("c1"))
            .unwrap();
        assert_eq!(out.failures.len(), 1);
        assert_eq!(out.failures[0].ids, vec!["c3".to_string()]);
        let read =
            client.read_associations(&t, "contacts", std::slice::from_ref(&c1.id)).await.unwrap();
        assert_eq!(read[&c1.id], vec![contacts[0].clone()]);
        // A unique value HubSpot has already: the whole call is refused, nothing written.
        let before = sim.sim().records(&t).len();
        let e = client
            .batch_create(&t, vec![create_input("c1", None), create_input("c4", None)])
            .await
            .unwrap_err();
        assert!(!e.is_retryable(), "{e}");
        assert_eq!(sim.sim().records(&t).len(), before);
    }
}

/// Creates contacts with a raw HTTP/1.1 request over TCP (the client has no create operation).
async fn reqwest_free_create_contacts(base: &str, n: usize) -> Vec<String> {
    let addr = base.trim_start_matches("http://");
    let mut ids = vec![];
    for i in 0..n {
        let body = format!(r#"{{"properties":{{"email":"c{i}@example.com"}}}}"#);
        let req = format!(
            "POST /crm/v3/objects/contacts HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(req.as_bytes()).await.unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).await.unwrap();
        let json = &resp[resp.find("\r\n\r\n").unwrap() + 4..];
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    ids
}

#[tokio::test]
async fn auth_errors_are_permanent() {
    let sim = sim(|b| b.scopeless_token("pat-na1-noscope")).await;
    for (token, status, category) in [
        ("pat-na1-wrong", 401, "INVALID_AUTHENTICATION"),
        ("pat-na1-noscope", 403, "MISSING_SCOPES"),
    ] {
        let mut cfg = config(&sim.base_url(), ApiVersion::V2026_09);
        cfg.token = SecretToken::new(token);
        let client = HubSpotClient::new(cfg).unwrap();
        sim.reset_counters();
        let err = client.schemas().await.unwrap_err();
        assert!(matches!(err, Error::Auth { .. }), "{err:?}");
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.category(), Some(category));
        assert!(err.correlation_id().is_some());
        assert!(!err.is_retryable());
        assert_eq!(sim.counters().calls, 1, "auth errors are not retried");
    }
}

#[tokio::test]
async fn daily_limit_is_never_retried() {
    let (sim, client, t) = setup(ApiVersion::V2026_09, |b| b).await;
    sim.exhaust_daily();
    sim.reset_counters();
    let err = client.batch_upsert(&t, "sf_id", vec![input("a", "a")]).await.unwrap_err();
    let Error::DailyLimit { reset_at, correlation_id } = &err else { panic!("{err:?}") };
    assert!(*reset_at > time::OffsetDateTime::now_utc());
    assert_eq!(reset_at.time(), time::Time::MIDNIGHT);
    assert!(correlation_id.is_some());
    assert!(!err.is_retryable());
    assert!(err.is_rate_limit());
    assert_eq!(sim.counters().calls, 1);
    // Further calls stop before the network.
    let err = client.schemas().await.unwrap_err();
    assert!(matches!(err, Error::DailyLimit { .. }));
    assert_eq!(sim.counters().calls, 1);
}

#[tokio::test]
async fn daily_limit_from_a_fault_body_too() {
    let (sim, client, _t) = setup(ApiVersion::Legacy, |b| b).await;
    sim.inject(Fault::new(FaultKind::DailyLimit).times(1));
    assert!(matches!(client.properties("contacts").await, Err(Error::DailyLimit { .. })));
}

#[tokio::test]
async fn transient_errors_are_retried() {
    for kind in [
        FaultKind::RateLimit,
        FaultKind::Locked,
        FaultKind::MigrationInProgress,
        FaultKind::InternalError,
        FaultKind::BadGateway,
        FaultKind::ServiceUnavailable,
        FaultKind::GatewayTimeout,
        FaultKind::DropConnection,
    ] {
        let (sim, client, t) = setup(ApiVersion::V2026_09, |b| b).await;
        sim.reset_counters();
        sim.inject(Fault::new(kind).times(2).retry_after(0));
        let out = client.batch_upsert(&t, "sf_id", vec![input("a", "a")]).await.unwrap();
        assert!(out.is_complete(), "{kind:?}");
        assert_eq!(sim.counters().calls, 3, "{kind:?}: two faults then success");
        assert_eq!(client.stats().retries, 2, "{kind:?}");
    }
}

#[tokio::test]
async fn retry_after_is_honoured_on_477() {
    let (sim, client, _t) = setup(ApiVersion::V2026_09, |b| b).await;
    sim.inject(Fault::new(FaultKind::MigrationInProgress).times(1).retry_after(1));
    let started = Instant::now();
    client.properties("contacts").await.unwrap();
    let waited = started.elapsed();
    println!("477 with Retry-After: 1 -> waited {waited:?}");
    assert!(waited >= Duration::from_secs(1), "a sleep never ends early");
}

#[tokio::test]
async fn persistent_failures_become_retryable_errors() {
    let (sim, client, t) = setup(ApiVersion::V2026_09, |b| b).await;
    sim.inject(Fault::new(FaultKind::ServiceUnavailable));
    sim.reset_counters();
    let err = client.batch_upsert(&t, "sf_id", vec![input("a", "a")]).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { status: 503, attempts: 6, .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(sim.counters().calls, 6);
    sim.clear_faults();
    sim.inject(Fault::new(FaultKind::RateLimit));
    let err = client.schemas().await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert!(err.is_retryable());
    sim.clear_faults();
    sim.inject(Fault::new(FaultKind::DropConnection));
    let err = client.schemas().await.unwrap_err();
    assert!(matches!(err, Error::Transport { timeout: false, .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(std::error::Error::source(&err).is_some(), "the cause is kept");
}

#[tokio::test]
async fn timeouts_are_retried_then_reported() {
    let sim = sim(|b| b).await;
    let mut cfg = config(&sim.base_url(), ApiVersion::V2026_09);
    cfg.timeout = Duration::from_millis(100);
    cfg.retry.max_attempts = 2;
    let client = HubSpotClient::new(cfg).unwrap();
    sim.inject(Fault::new(FaultKind::Latency).latency(400).times(1));
    client.schemas().await.unwrap();
    sim.inject(Fault::new(FaultKind::Latency).latency(400));
    let err = client.schemas().await.unwrap_err();
    assert!(matches!(err, Error::Transport { timeout: true, attempts: 2, .. }), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn permanent_client_errors_carry_hubspot_details() {
    let (_sim, client, _t) = setup(ApiVersion::V2026_09, |b| b).await;
    let err = client.schema("2-999").await.unwrap_err();
    assert!(matches!(err, Error::Rejected { status: 404, .. }), "{err:?}");
    assert_eq!(err.category(), Some("OBJECT_NOT_FOUND"));
    assert!(err.correlation_id().is_some());
    assert!(!err.is_retryable());
    let err = client.batch_upsert("bad/type", "x", vec![]).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)));
}

#[tokio::test]
async fn partial_results_folded_into_200_are_split_too() {
    let (_sim, client, t) =
        setup(ApiVersion::V2026_09, |b| b.partial_status(PartialStatus::Ok)).await;
    client.batch_upsert(&t, "sf_id", vec![input("a", "a")]).await.unwrap();
    let out = client.batch_read(&t, &["a".into(), "b".into()], Some("sf_id"), &[]).await.unwrap();
    assert_eq!((out.successes.len(), out.failures.len()), (1, 1));
    assert_eq!(out.failures[0].ids, vec!["b".to_string()]);
}

#[tokio::test]
async fn limiter_is_sized_from_headers_with_a_reserved_share() {
    let sim = sim(|b| b.burst_limit(40).burst_window(Duration::from_millis(2_000))).await;
    let mut cfg = config(&sim.base_url(), ApiVersion::V2026_09);
    cfg.reserved_share = 0.25;
    let client = HubSpotClient::new(cfg).unwrap();
    client.schemas().await.unwrap();
    let l = client.stats().limiter.unwrap();
    assert_eq!((l.max, l.capacity, l.window), (40, 30, Duration::from_millis(2_000)));
    assert_eq!(l.daily_remaining, Some(1_000_000 - 1));
}

#[tokio::test]
async fn token_never_shows_in_debug_output() {
    let cfg = ClientConfig::new("http://127.0.0.1:1", SecretToken::new("pat-na1-very-secret"));
    let client = HubSpotClient::new(cfg.clone()).unwrap();
    for s in [format!("{cfg:?}"), format!("{client:?}"), format!("{}", cfg.token)] {
        assert!(!s.contains("very-secret"), "{s}");
    }
}

/// A one-shot HTTP server: answers the first request with `status` and the JSON `body`, and
/// returns its exact bytes.
async fn capture_one(
    status: &'static str,
    body: &'static str,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = s.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(i) = text.find("\r\n\r\n") {
                let len: usize = text
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if buf.len() >= i + 4 + len {
                    break;
                }
            }
        }
        let resp = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(resp.as_bytes()).await.unwrap();
        String::from_utf8(buf).unwrap()
    });
    (addr, server)
}

/// Exact request bytes, captured by a one-shot TCP server.
#[tokio::test]
async fn upsert_request_shape() {
    let (addr, server) = capture_one("200 OK", r#"{"status":"COMPLETE","results":[]}"#).await;
    let client =
        HubSpotClient::new(config(&format!("http://{addr}"), ApiVersion::V2026_09)).unwrap();
    let inputs = vec![
        UpsertInput::new("A-1", [("name", "x"), ("amount", "")]),
        UpsertInput::new("A-2", [("name", "y")]),
        UpsertInput::new("A-1", [("name", "z")]),
    ];
    client.batch_upsert("p1_widget", "sf_id", inputs).await.unwrap();
    let req = server.await.unwrap();
    let (head, body) = req.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("POST /crm/objects/2026-09/p1_widget/batch/upsert HTTP/1.1\r\n"),
        "{head}"
    );
    let head_lc = head.to_ascii_lowercase();
    assert!(head_lc.contains(&format!("authorization: bearer {TOKEN}")));
    assert!(head_lc.contains("content-type: application/json"));
    assert_eq!(
        body,
        r#"{"inputs":[{"idProperty":"sf_id","id":"A-2","properties":{"name":"y"}},{"idProperty":"sf_id","id":"A-1","properties":{"name":"z"}}]}"#
    );
}

#[tokio::test]
async fn search_429s_are_waited_out() {
    // The simulator allows 1 search per second; the client believes in 5.
    let (sim, client, t) = setup(ApiVersion::V2026_09, |b| b.search_per_second(1)).await;
    client.batch_upsert(&t, "sf_id", vec![input("a", "a")]).await.unwrap();
    for _ in 0..3 {
        let found = client.search_by_property(&t, "sf_id", &["a".into()], &[]).await.unwrap();
        assert_eq!(found.len(), 1);
    }
    let c = sim.counters();
    println!("3 searches with a 1/s limit: {} search 429s absorbed", c.rate_limited_search);
    assert!(c.rate_limited_search >= 1);
}

#[tokio::test]
async fn association_request_shape() {
    let (addr, server) = capture_one("201 Created", r#"{"status":"COMPLETE","results":[{"fromObjectTypeId":"2-1","fromObjectId":1,"toObjectTypeId":"0-1","toObjectId":2,"labels":[]}]}"#).await;
    let client = HubSpotClient::new(config(&format!("http://{addr}"), ApiVersion::Legacy)).unwrap();
    let types = [AssociationType {
        association_category: sfhs_hubspot::AssociationCategory::UserDefined,
        association_type_id: 101,
    }];
    let out = client
        .batch_associate("2-1", "0-1", &[AssociationPair::new("1", "2")], &types)
        .await
        .unwrap();
    assert_eq!(out.successes, vec![AssociationPair::new("1", "2")]);
    let req = server.await.unwrap();
    let (head, body) = req.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("POST /crm/v4/associations/2-1/0-1/batch/create HTTP/1.1\r\n"),
        "{head}"
    );
    assert_eq!(
        body,
        r#"{"inputs":[{"from":{"id":"1"},"to":{"id":"2"},"types":[{"associationCategory":"USER_DEFINED","associationTypeId":101}]}]}"#
    );
}
