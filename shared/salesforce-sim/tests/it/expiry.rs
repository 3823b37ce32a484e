//! What expires in Salesforce expires here too: an idle REST query cursor (15 minutes:
//! `INVALID_QUERY_LOCATOR`), a finished Bulk API 2.0 query job's results (7 days: the job is
//! gone, 404). And the key-paged query an import resumes with: `WHERE Id > 'x' AND (...)
//! ORDER BY Id LIMIT n`.

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::Value;
use sfhs_salesforce_sim::{SeedSize, Sim, SimBuilder};

const V: &str = "/services/data/v62.0";

async fn sim(cursor_idle: Duration) -> Sim {
    SimBuilder::new()
        .seed_size(SeedSize { accounts: 30, invoices: 450, lines: 0, shipments: 0 })
        .query_cursor_idle_timeout(cursor_idle)
        .start()
        .await
        .unwrap()
}

async fn token(sim: &Sim) -> String {
    let resp = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", sim.base_url()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            sfhs_salesforce_sim::DEFAULT_CLIENT_ID,
            sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// GET `path` (relative to the base URL) with a REST page size of 200; (status, body).
async fn get(sim: &Sim, token: &str, path: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let resp = reqwest::Client::new()
        .get(format!("{}{path}", sim.base_url()))
        .bearer_auth(token)
        .header("Sforce-Query-Options", "batchSize=200")
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), headers)
}

fn query_path(soql: &str) -> String {
    format!(
        "{V}/query?q={}",
        url::form_urlencoded::byte_serialize(soql.as_bytes()).collect::<String>()
    )
}

fn ids(body: &Value) -> Vec<String> {
    body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_idle_query_cursor_expires_with_salesforces_error() {
    let sim = sim(Duration::from_millis(400)).await;
    let token = token(&sim).await;
    let (status, first, _) = get(&sim, &token, &query_path("SELECT Id FROM Invoice__c")).await;
    assert_eq!(status, 200, "{first}");
    let next = first["nextRecordsUrl"].as_str().unwrap().to_owned();
    // Used within its life: it answers, and the use keeps it alive.
    let (status, second, _) = get(&sim, &token, &next).await;
    assert_eq!(status, 200, "{second}");
    let next = second["nextRecordsUrl"].as_str().unwrap().to_owned();
    // Idle longer than its life (scaled down from 15 minutes): Salesforce's answer.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (status, body, _) = get(&sim, &token, &next).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body,
        serde_json::json!([{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}])
    );
    // Aging does the same without waiting.
    let sim = self::sim(Duration::from_secs(15 * 60)).await;
    let token = self::token(&sim).await;
    let (_, first, _) = get(&sim, &token, &query_path("SELECT Id FROM Invoice__c")).await;
    let next = first["nextRecordsUrl"].as_str().unwrap().to_owned();
    sim.age_query_cursors(Duration::from_secs(14 * 60));
    assert_eq!(get(&sim, &token, &next).await.0, 200);
    let (_, second, _) = get(&sim, &token, &next).await;
    let next = second["nextRecordsUrl"].as_str().unwrap().to_owned();
    sim.age_query_cursors(Duration::from_secs(16 * 60));
    assert_eq!(get(&sim, &token, &next).await.0, 400);
}

#[tokio::test]
async fn key_paging_with_the_imports_filter_in_id_order() {
    let sim = sim(Duration::from_secs(900)).await;
    let token = token(&sim).await;
    let mut all = sim.ids("Invoice__c");
    all.sort();
    // The filter of an import, AND-ed in parentheses after the key, in Id order, with LIMIT.
    let filter = "Amount__c >= 0 OR Amount__c = null";
    let mut seen = Vec::new();
    let mut last: Option<String> = None;
    loop {
        let key = last.as_ref().map_or(String::new(), |l| format!("Id > '{l}' AND "));
        let soql = format!("SELECT Id FROM Invoice__c WHERE {key}({filter}) ORDER BY Id LIMIT 100");
        let (status, body, _) = get(&sim, &token, &query_path(&soql)).await;
        assert_eq!(status, 200, "{soql}: {body}");
        let page = ids(&body);
        assert!(page.len() <= 100);
        if page.is_empty() {
            break;
        }
        last = page.last().cloned();
        seen.extend(page);
    }
    assert_eq!(seen, all, "every id once, in byte order of the id string");
    // Ids compare case-sensitively, by byte: '…a' sorts after '…Z' (a case-insensitive
    // comparison would not). The pivot is an id where the two orders disagree.
    let case_insensitive =
        |pivot: &str| all.iter().filter(|i| i.to_lowercase() > pivot.to_lowercase()).count();
    let by_byte = |pivot: &str| all.iter().filter(|i| i.as_str() > pivot).count();
    let pivot = all
        .iter()
        .find(|p| by_byte(p) != case_insensitive(p))
        .expect("the seeded ids mix upper- and lower-case digits")
        .clone();
    let (status, body, _) = get(
        &sim,
        &token,
        &query_path(&format!(
            "SELECT Id FROM Invoice__c WHERE Id > '{}' ORDER BY Id",
            &pivot[..15]
        )),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalSize"], by_byte(&pivot), "pivot {pivot}");
}

#[tokio::test]
async fn a_finished_bulk_job_is_gone_after_its_retention() {
    let sim = SimBuilder::new()
        .seed_size(SeedSize { accounts: 5, invoices: 20, lines: 0, shipments: 0 })
        .bulk_results_retention(Duration::from_millis(400))
        .start()
        .await
        .unwrap();
    let token = token(&sim).await;
    let http = reqwest::Client::new();
    let job: Value = http
        .post(format!("{}{V}/jobs/query", sim.base_url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({"operation": "query", "query": "SELECT Id FROM Invoice__c ORDER BY Id"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = job["id"].as_str().unwrap().to_owned();
    let mut state = String::new();
    for _ in 0..5 {
        let (_, info, _) = get(&sim, &token, &format!("{V}/jobs/query/{id}")).await;
        state = info["state"].as_str().unwrap().to_owned();
        if state == "JobComplete" {
            break;
        }
    }
    assert_eq!(state, "JobComplete");
    let (status, _, headers) = get(&sim, &token, &format!("{V}/jobs/query/{id}/results")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["Sforce-NumberOfRecords"], "20");
    tokio::time::sleep(Duration::from_millis(600)).await;
    for path in [format!("{V}/jobs/query/{id}/results"), format!("{V}/jobs/query/{id}")] {
        let (status, body, _) = get(&sim, &token, &path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body[0]["errorCode"], "NOT_FOUND");
    }
}
