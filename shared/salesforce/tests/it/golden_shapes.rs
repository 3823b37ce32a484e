//! Golden shapes: every response the client reads, as Salesforce's reference documents it
//! (tests/golden/, sources in tests/golden/SOURCES.md), served by a canned HTTP responder (no
//! simulator) and decoded by the client's own calls and types.

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use sfhs_salesforce::{
    BulkOperation, Client, Config, Credentials, Error, JobState, LoginUrl, PollPolicy,
    QueryOptions, SfType, Token,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

macro_rules! golden {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/", $name))
    };
}

/// One canned answer: status, content type, extra headers, body.
#[derive(Clone)]
struct Canned {
    status: u16,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    body: String,
}

fn json(status: u16, body: &str) -> Canned {
    Canned {
        status,
        content_type: "application/json;charset=UTF-8",
        headers: vec![("Sforce-Limit-Info", "api-usage=24/100000".to_owned())],
        body: body.to_owned(),
    }
}

fn csv(body: &str, locator: &str, records: usize) -> Canned {
    Canned {
        status: 200,
        content_type: "text/csv",
        headers: vec![
            ("Sforce-Locator", locator.to_owned()),
            ("Sforce-NumberOfRecords", records.to_string()),
        ],
        body: body.to_owned(),
    }
}

type Route = Box<dyn Fn(&str, &str) -> Option<Canned> + Send + Sync>;

/// A canned HTTP/1.1 responder on 127.0.0.1: `route(method, path_and_query)` picks the answer
/// (404 otherwise). Records the requests it saw.
struct Responder {
    base: String,
    seen: Arc<Mutex<Vec<String>>>,
}

async fn responder(route: Route) -> Responder {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let route = Arc::new(route);
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let route = route.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Head, then as much body as Content-Length says.
                let head_end = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let mut first = head.lines().next().unwrap_or_default().split(' ');
                let method = first.next().unwrap_or_default().to_owned();
                let target = first.next().unwrap_or_default().to_owned();
                log.lock().unwrap().push(format!("{method} {target}"));
                let canned = route(&method, &target)
                    .unwrap_or_else(|| json(404, golden!("error_not_found.json")));
                let mut resp = format!(
                    "HTTP/1.1 {} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                    canned.status,
                    canned.content_type,
                    canned.body.len()
                );
                for (k, v) in &canned.headers {
                    resp.push_str(&format!("{k}: {v}\r\n"));
                }
                resp.push_str("\r\n");
                resp.push_str(&canned.body);
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Responder { base, seen }
}

/// The token answer points `instance_url` at the responder itself.
fn token_body(base: &str) -> String {
    golden!("token_client_credentials.json").replace("https://yourInstance.salesforce.com", base)
}

fn client(base: &str) -> Client {
    Client::new(Config::new(
        LoginUrl::Custom(base.to_owned()),
        Credentials::ClientCredentials { client_id: "id".into(), client_secret: "secret".into() },
    ))
    .unwrap()
}

/// A responder whose token endpoint answers the documented client-credentials response and
/// whose data routes come from `data`.
async fn org(data: impl Fn(&str, &str) -> Option<Canned> + Send + Sync + 'static) -> Responder {
    let base_cell: Arc<Mutex<String>> = Arc::new(Mutex::new(String::new()));
    let cell = base_cell.clone();
    let r = responder(Box::new(move |m, t| {
        if m == "POST" && t == "/services/oauth2/token" {
            return Some(json(200, &token_body(&cell.lock().unwrap())));
        }
        data(m, t)
    }))
    .await;
    *base_cell.lock().unwrap() = r.base.clone();
    r
}

#[test]
fn token_responses_decode() {
    let t: Token = serde_json::from_str(golden!("token_client_credentials.json")).unwrap();
    assert_eq!(t.instance_url, "https://yourInstance.salesforce.com");
    assert_eq!(t.issued_at.as_deref(), Some("1558553873237"));
    assert_eq!(t.token_type.as_deref(), Some("Bearer"));
    let t: Token = serde_json::from_str(golden!("token_jwt_bearer.json")).unwrap();
    assert!(t.access_token.starts_with("00Dxx"));
    assert!(t.issued_at.is_none());
}

#[tokio::test]
async fn oauth_error_is_an_auth_error() {
    let r = responder(Box::new(|m, t| {
        (m == "POST" && t == "/services/oauth2/token")
            .then(|| json(400, golden!("oauth_error_invalid_grant.json")))
    }))
    .await;
    let err = client(&r.base).token().await.unwrap_err();
    assert_eq!(err.error_code(), Some("invalid_grant"));
    assert_eq!(err.status(), Some(400));
    match err {
        Error::Auth { description, .. } => {
            assert_eq!(description, "user hasn't approved this consumer");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn describe_global_and_sobject_decode() {
    let r = org(|m, t| match (m, t) {
        ("GET", "/services/data/v62.0/sobjects/") => {
            Some(json(200, golden!("describe_global.json")))
        }
        ("GET", "/services/data/v62.0/sobjects/Invoice__c/describe") => {
            Some(json(200, golden!("describe_sobject.json")))
        }
        _ => None,
    })
    .await;
    let c = client(&r.base);
    let global = c.describe_global().await.unwrap();
    assert_eq!(global.len(), 2);
    assert_eq!(global[0].key_prefix.as_deref(), Some("001"));
    assert_eq!(global[1].key_prefix, None, "keyPrefix null decodes");
    assert!(global[1].queryable);

    let d = c.describe("Invoice__c").await.unwrap();
    assert_eq!(
        (d.object.name.as_str(), d.object.key_prefix.as_deref()),
        ("Invoice__c", Some("a01"))
    );
    let lookup = d.field("account__c").unwrap();
    assert_eq!(lookup.field_type, SfType::Reference);
    assert_eq!(lookup.reference_to, ["Account"]);
    assert_eq!(lookup.relationship_name.as_deref(), Some("Account__r"));
    let status = d.field("Status__c").unwrap();
    assert_eq!(status.picklist_values.len(), 2);
    assert!(!status.picklist_values[1].active);
    let amount = d.field("Amount__c").unwrap();
    assert_eq!(
        (amount.field_type.clone(), amount.precision, amount.scale),
        (SfType::Currency, 16, 2)
    );
    assert_eq!(d.field("Billing_Address__c").unwrap().field_type, SfType::Address);
    assert_eq!(c.api_usage().map(|u| (u.used, u.max)), Some((24, 100_000)));
}

#[tokio::test]
async fn query_pages_count_and_query_all_decode() {
    let r = org(|m, t| {
        if m != "GET" {
            return None;
        }
        if t.starts_with("/services/data/v62.0/query?q=SELECT+COUNT") {
            return Some(json(200, golden!("query_count.json")));
        }
        if t.starts_with("/services/data/v62.0/query?q=")
            || t.starts_with("/services/data/v62.0/queryAll?q=")
        {
            return Some(json(200, golden!("query_page1.json")));
        }
        (t == "/services/data/v62.0/query/01gD0000002HU6KIAW-2000")
            .then(|| json(200, golden!("query_page2.json")))
    })
    .await;
    let c = client(&r.base);
    assert_eq!(c.count("Account", None).await.unwrap(), 42);
    let all: Vec<_> = c
        .query("SELECT Id, Name, AnnualRevenue FROM Account", QueryOptions::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0]["AnnualRevenue"], serde_json::Value::Null);
    assert_eq!(all[2]["Id"], "001D000000IRFmbIAH");
    let page = c
        .query_page(
            "SELECT Id FROM Account",
            None,
            QueryOptions { include_deleted: true, batch_size: Some(200) },
        )
        .await
        .unwrap();
    assert_eq!(page.total_size, 3);
    assert_eq!(
        page.next_records_url.as_deref(),
        Some("/services/data/v62.0/query/01gD0000002HU6KIAW-2000")
    );
    let last = c
        .query_page(
            "SELECT Id FROM Account",
            page.next_records_url.as_deref(),
            QueryOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!((last.records.len(), last.next_records_url), (1, None));
    let seen = r.seen.lock().unwrap().clone();
    assert!(seen.iter().any(|s| s.starts_with("GET /services/data/v62.0/queryAll?q=")));
}

#[tokio::test]
async fn record_create_update_delete_decode() {
    let r = org(|m, t| match (m, t) {
        ("POST", "/services/data/v62.0/sobjects/Account") => {
            Some(json(201, golden!("create_result.json")))
        }
        ("GET", "/services/data/v62.0/sobjects/Account/001D000000INjVeIAH") => {
            Some(json(200, golden!("record.json")))
        }
        ("PATCH" | "DELETE", "/services/data/v62.0/sobjects/Account/001D000000INjVeIAH") => {
            Some(Canned {
                status: 204,
                content_type: "text/plain",
                headers: vec![],
                body: String::new(),
            })
        }
        _ => None,
    })
    .await;
    let c = client(&r.base);
    let id = c.create("Account", &serde_json::json!({"Name": "Test"})).await.unwrap();
    assert_eq!(id, "001D000000IqhSLIAZ");
    let rec = c.get_record("Account", "001D000000INjVeIAH", &[]).await.unwrap();
    assert_eq!(rec["AccountNumber"], "CD656092");
    c.update("Account", "001D000000INjVeIAH", &serde_json::json!({"Name": "x"})).await.unwrap();
    c.delete("Account", "001D000000INjVeIAH").await.unwrap();
}

#[tokio::test]
async fn deleted_window_decodes() {
    let r = org(|m, t| {
        (m == "GET"
            && t.starts_with("/services/data/v62.0/sobjects/Merchandise__c/deleted/?start="))
        .then(|| json(200, golden!("deleted.json")))
    })
    .await;
    let c = client(&r.base);
    let start = time::macros::datetime!(2013-05-05 00:00 UTC);
    let end = time::macros::datetime!(2013-05-10 00:00 UTC);
    let page = c.deleted_window("Merchandise__c", start, end).await.unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].id, "a00D0000008pQRAIA2");
    assert_eq!(page.records[0].deleted_date, time::macros::datetime!(2013-05-07 22:07:19 UTC));
    assert_eq!(page.latest_date_covered, time::macros::datetime!(2013-05-08 21:20 UTC));
    assert!(page.missed_since(time::macros::datetime!(2013-05-01 00:00 UTC)));
}

#[tokio::test]
async fn bulk_query_job_create_status_and_csv_pages_decode() {
    let polls = Arc::new(Mutex::new(0u32));
    let p = polls.clone();
    let r = org(move |m, t| match (m, t) {
        ("POST", "/services/data/v62.0/jobs/query") => Some(json(200, golden!("bulk_job_created.json"))),
        ("GET", "/services/data/v62.0/jobs/query/750R0000000zlh9IAA") => {
            let mut n = p.lock().unwrap();
            *n += 1;
            Some(json(
                200,
                if *n == 1 { golden!("bulk_job_created.json") } else { golden!("bulk_job_complete.json") },
            ))
        }
        ("GET", "/services/data/v62.0/jobs/query/750R0000000zlh9IAA/results?maxRecords=2") => {
            Some(csv(golden!("bulk_results_page1.csv"), "MTAwMDA", 2))
        }
        ("GET", "/services/data/v62.0/jobs/query/750R0000000zlh9IAA/results?maxRecords=2&locator=MTAwMDA") => {
            Some(csv(golden!("bulk_results_page2.csv"), "null", 1))
        }
        _ => None,
    })
    .await;
    let c = client(&r.base);
    let job =
        c.create_query_job("SELECT Id, Name FROM Account", BulkOperation::Query).await.unwrap();
    assert_eq!(job.state, JobState::UploadComplete);
    assert_eq!(job.api_version, Some(62.0));
    assert!(job.created_date.is_some());
    let policy = PollPolicy {
        initial: std::time::Duration::from_millis(1),
        max: std::time::Duration::from_millis(5),
        timeout: std::time::Duration::from_secs(5),
    };
    let done = c.wait_for_query_job(&job.id, policy).await.unwrap();
    assert_eq!((done.state, done.number_records_processed), (JobState::JobComplete, Some(3)));
    let rows: Vec<_> = c.query_job_results(&job.id, Some(2)).try_collect().await.unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["Name"].as_deref(), Some("Sample, \"Quoted\""));
    assert_eq!(rows[2]["Name"], None, "an empty cell is null");
    let (page, next) = c.query_job_results_page(&job.id, None, Some(2)).await.unwrap();
    assert_eq!((page.len(), next.as_deref()), (2, Some("MTAwMDA")));
    let (page, next) = c.query_job_results_page(&job.id, Some("MTAwMDA"), Some(2)).await.unwrap();
    assert_eq!((page.len(), next), (1, None), "Sforce-Locator: null ends the results");
}

#[tokio::test]
async fn failed_bulk_job_reports_its_error_message() {
    let r = org(|m, t| {
        (m == "GET" && t == "/services/data/v62.0/jobs/query/750R0000000zlh9IAA")
            .then(|| json(200, golden!("bulk_job_failed.json")))
    })
    .await;
    let err = client(&r.base)
        .wait_for_query_job("750R0000000zlh9IAA", PollPolicy::default())
        .await
        .unwrap_err();
    match err {
        Error::BulkJobFailed { state, message, .. } => {
            assert_eq!(state, "Failed");
            assert!(message.unwrap().starts_with("INVALID_FIELD"));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn error_arrays_decode_into_their_error_codes() {
    let r = org(|m, t| {
        if m != "GET" {
            return None;
        }
        let q = |s: &str| t.starts_with(&format!("/services/data/v62.0/query?q={s}"));
        if q("SELEKT") {
            Some(json(400, golden!("error_malformed_query.json")))
        } else if q("LIMITED") {
            Some(json(403, golden!("error_request_limit.json")))
        } else if q("SESSION") {
            Some(json(401, golden!("error_invalid_session.json")))
        } else if t.contains("/deleted/") {
            Some(json(400, golden!("error_exceeded_id_limit.json")))
        } else {
            None
        }
    })
    .await;
    let c = client(&r.base);
    let code = |e: Error| (e.status(), e.error_code().map(str::to_owned));
    let e =
        c.query_page("SELEKT Id FROM Account", None, QueryOptions::default()).await.unwrap_err();
    assert_eq!(code(e), (Some(400), Some("MALFORMED_QUERY".into())));
    let e = c.query_page("LIMITED", None, QueryOptions::default()).await.unwrap_err();
    assert!(matches!(e, Error::RequestLimitExceeded { .. }));
    // 401 INVALID_SESSION_ID: one new login, then the error.
    let e = c.query_page("SESSION", None, QueryOptions::default()).await.unwrap_err();
    assert_eq!(code(e), (Some(401), Some("INVALID_SESSION_ID".into())));
    let logins = r
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.starts_with("POST /services/oauth2/token"))
        .count();
    assert_eq!(logins, 2);
    let e = c.get_record("Account", "001000000000000AAA", &[]).await.unwrap_err();
    assert_eq!(code(e), (Some(404), Some("NOT_FOUND".into())));
    let e = c
        .deleted_window(
            "Account",
            time::macros::datetime!(2013-05-05 00:00 UTC),
            time::macros::datetime!(2013-05-10 00:00 UTC),
        )
        .await
        .unwrap_err();
    assert_eq!(code(e), (Some(400), Some("EXCEEDED_ID_LIMIT".into())));
    let missing: Vec<sfhs_salesforce::ApiError> =
        serde_json::from_str(golden!("error_required_field_missing.json")).unwrap();
    assert_eq!(missing[0].fields, ["Name"]);
}
