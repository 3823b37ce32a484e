//! The simulator's replies have the shapes of real Salesforce payloads (tests/fixtures/salesforce/).

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use serde_json::Value;
use sfhs_salesforce_sim::{SeedSize, Sim, SimBuilder};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/salesforce/",
            $name
        ))
    };
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

struct Raw {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Raw {
    async fn new(sim: &Sim) -> Raw {
        let http = reqwest::Client::new();
        let resp: Value = http
            .post(format!("{}/services/oauth2/token", sim.base_url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", sfhs_salesforce_sim::DEFAULT_CLIENT_ID),
                ("client_secret", sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for k in
            ["access_token", "instance_url", "id", "token_type", "scope", "signature", "issued_at"]
        {
            assert!(resp.get(k).is_some(), "token response lacks {k}");
        }
        Raw {
            http,
            base: resp["instance_url"].as_str().unwrap().to_owned(),
            token: resp["access_token"].as_str().unwrap().to_owned(),
        }
    }

    async fn get(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap();
        (status, headers, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }
}

async fn sim() -> Sim {
    SimBuilder::new()
        .seed_size(SeedSize { accounts: 30, invoices: 450, lines: 60, shipments: 10 })
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn query_page_matches_the_real_page_shape() {
    let real: Value =
        serde_json::from_str(fixture!("rest_query_page1_nextRecordsUrl_custom_object_sffx.json"))
            .unwrap();
    let sim = sim().await;
    let raw = Raw::new(&sim).await;
    let (status, headers, page) = raw
        .get(
            "/services/data/v53.0/query?q=SELECT+Name,+Notes__c+FROM+Invoice__c",
            &[("Sforce-Query-Options", "batchSize=200")],
        )
        .await;
    assert_eq!(status, 200);
    assert!(headers["sforce-limit-info"].to_str().unwrap().starts_with("api-usage="));
    assert_eq!(keys(&page), keys(&real));
    assert_eq!(page["totalSize"], 450);
    assert_eq!(page["done"], false);
    let records = page["records"].as_array().unwrap();
    assert_eq!(records.len(), 200);
    let real_record = &real["records"][0];
    assert_eq!(keys(&records[0]["attributes"]), keys(&real_record["attributes"]));
    // Nulls are JSON null, like the real page.
    assert!(records.iter().any(|r| r["Notes__c"].is_null()));
    // nextRecordsUrl like /services/data/v53.0/query/01gB000003OCxSPIA1-2000.
    let next = page["nextRecordsUrl"].as_str().unwrap();
    let real_next = real["nextRecordsUrl"].as_str().unwrap();
    let (prefix, rest) = next.split_at("/services/data/v53.0/query/".len());
    assert_eq!(prefix, &real_next[..prefix.len()]);
    let (locator, offset) = rest.rsplit_once('-').unwrap();
    assert!(locator.starts_with("01g") && locator.len() == 18, "{locator}");
    assert_eq!(offset, "200");
    let url = records[0]["attributes"]["url"].as_str().unwrap();
    assert!(url.starts_with("/services/data/v53.0/sobjects/Invoice__c/a01"));

    let (_, _, page2) = raw.get(next, &[]).await;
    assert_eq!(page2["records"].as_array().unwrap().len(), 200);
    let next2 = page2["nextRecordsUrl"].as_str().unwrap();
    let (_, _, page3) = raw.get(next2, &[]).await;
    assert_eq!(page3["records"].as_array().unwrap().len(), 50);
    assert_eq!(page3["done"], true);
    assert!(page3.get("nextRecordsUrl").is_none());
    let (status, _, err) = raw.get(next2, &[]).await;
    assert_eq!(status, 400);
    assert_eq!(err[0]["errorCode"], "INVALID_QUERY_LOCATOR");
}

#[tokio::test]
async fn errors_match_the_real_error_bodies() {
    let sim = sim().await;
    let raw = Raw::new(&sim).await;
    let malformed: Value =
        serde_json::from_str(fixture!("rest_error_400_MALFORMED_QUERY_sffx.json")).unwrap();
    let (status, _, body) =
        raw.get("/services/data/v53.0/query?q=SELEKT+Name+FROM+Account", &[]).await;
    assert_eq!(status, 400);
    assert_eq!(body, malformed);

    let invalid: Value =
        serde_json::from_str(fixture!("rest_error_400_INVALID_FIELD_query_sffx.json")).unwrap();
    let (status, _, body) =
        raw.get("/services/data/v53.0/query?q=SELECT+Bacon__c+FROM+Account+LIMIT+2", &[]).await;
    assert_eq!(status, 400);
    assert_eq!(body, invalid, "byte-for-byte the real INVALID_FIELD message");

    let (status, _, body) =
        raw.get("/services/data/v53.0/sobjects/Account/001000000000000AAA", &[]).await;
    assert_eq!(status, 404);
    assert_eq!(body[0]["errorCode"], "NOT_FOUND");
    assert_eq!(keys(&body[0]), keys(&malformed[0]));

    // Unauthenticated: 401 INVALID_SESSION_ID in the same shape.
    let resp = raw
        .http
        .get(format!("{}/services/data/v53.0/sobjects/", raw.base))
        .bearer_auth("00Dnope!nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "INVALID_SESSION_ID");
}

#[tokio::test]
async fn describe_has_the_real_describe_keys() {
    let real: Value =
        serde_json::from_str(fixture!("describe_custom_object_composite_ampersand.json")).unwrap();
    let real = &real["compositeResponse"][0]["body"];
    let sim = sim().await;
    let raw = Raw::new(&sim).await;
    let (status, _, body) = raw.get("/services/data/v62.0/sobjects/Invoice__c/describe", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(keys(&body), keys(real), "object-level keys");
    let real_field_keys = keys(&real["fields"][0]);
    for f in body["fields"].as_array().unwrap() {
        assert_eq!(keys(f), real_field_keys, "field {}", f["name"]);
    }
    let real_pick = keys(&real["fields"][4]["picklistValues"][0]);
    let channels =
        body["fields"].as_array().unwrap().iter().find(|f| f["name"] == "Channels__c").unwrap();
    assert_eq!(channels["type"], "multipicklist");
    assert_eq!(keys(&channels["picklistValues"][0]), real_pick);
    let id = &body["fields"][0];
    for k in ["name", "type", "soapType", "length", "byteLength", "nillable", "custom"] {
        assert_eq!(id[k], real["fields"][0][k], "Id field {k}");
    }

    let (_, _, global) = raw.get("/services/data/v62.0/sobjects/", &[]).await;
    let names: Vec<&str> = global["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"acme__Shipment__c"));
}

#[tokio::test]
async fn bulk_job_create_matches_the_real_response() {
    let real: Value =
        serde_json::from_str(fixture!("bulk2_query_job_created_ampersand.json")).unwrap();
    let sim = sim().await;
    let raw = Raw::new(&sim).await;
    let resp = raw
        .http
        .post(format!("{}/services/data/v60.0/jobs/query", raw.base))
        .bearer_auth(&raw.token)
        .json(&serde_json::json!({"operation": "query", "query": "SELECT Id, Name FROM Account"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let job: Value = resp.json().await.unwrap();
    assert_eq!(keys(&job), keys(&real));
    for k in [
        "operation",
        "object",
        "state",
        "concurrencyMode",
        "contentType",
        "apiVersion",
        "lineEnding",
        "columnDelimiter",
    ] {
        assert_eq!(job[k], real[k], "{k}");
    }
    let created = job["createdDate"].as_str().unwrap();
    assert_eq!(created.len(), real["createdDate"].as_str().unwrap().len());
    assert!(created.ends_with("+0000"));

    // A different API version for the same job: 409.
    let id = job["id"].as_str().unwrap();
    let (status, _, _) = raw.get(&format!("/services/data/v62.0/jobs/query/{id}"), &[]).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn deleted_matches_the_documented_shape() {
    let real: Value =
        serde_json::from_str(fixture!("rest_deleted_DOCS_EXAMPLE_transcribed.json")).unwrap();
    let sim = sim().await;
    let id = sim.ids("Account")[0].clone();
    sim.delete_at("Account", &id, time::OffsetDateTime::now_utc() - time::Duration::hours(1))
        .unwrap();
    let raw = Raw::new(&sim).await;
    let end = time::OffsetDateTime::now_utc();
    let start = end - time::Duration::days(1);
    let fmt =
        |t: time::OffsetDateTime| sfhs_salesforce::datetime::format_request(t).replace('+', "%2B");
    let (status, _, body) = raw
        .get(
            &format!(
                "/services/data/v62.0/sobjects/Account/deleted/?start={}&end={}",
                fmt(start),
                fmt(end)
            ),
            &[],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(keys(&body), keys(&real));
    assert_eq!(keys(&body["deletedRecords"][0]), keys(&real["deletedRecords"][0]));
    assert_eq!(body["deletedRecords"][0]["id"], id.as_str());
    for v in [
        &body["deletedRecords"][0]["deletedDate"],
        &body["earliestDateAvailable"],
        &body["latestDateCovered"],
    ] {
        let s = v.as_str().unwrap();
        assert_eq!(s.len(), "2013-05-07T22:07:19.000+0000".len(), "{s}");
        assert!(s.ends_with("+0000"));
    }
    // Minutes, seconds ignored: the covered date ends in :00.000.
    assert!(body["latestDateCovered"].as_str().unwrap().ends_with(":00.000+0000"));
}

#[tokio::test]
async fn parent_relationship_fields_nest_like_the_real_result() {
    let real: Value =
        serde_json::from_str(fixture!("rest_query_parent_relationship_sffx.json")).unwrap();
    let sim = sim().await;
    let raw = Raw::new(&sim).await;
    let (status, _, page) = raw
        .get(
            "/services/data/v53.0/query?q=SELECT+Name,+Account__r.Name+FROM+Invoice__c+LIMIT+1",
            &[],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(keys(&page), keys(&real));
    let rec = &page["records"][0];
    let real_rec = &real["records"][0];
    assert_eq!(keys(&rec["Account__r"]), keys(&real_rec["Owner"]));
    assert_eq!(rec["Account__r"]["attributes"]["type"], "Account");
    assert!(rec["Account__r"]["Name"].is_string());

    let (status, _, err) =
        raw.get("/services/data/v53.0/query?q=SELECT+Nope__r.Name+FROM+Invoice__c", &[]).await;
    assert_eq!(status, 400);
    assert_eq!(err[0]["errorCode"], "INVALID_FIELD");
    assert!(
        err[0]["message"].as_str().unwrap().contains("Didn't understand relationship 'Nope__r'")
    );

    // And in Bulk CSV, as a dotted column.
    let client = sfhs_salesforce::Client::new(sfhs_salesforce::Config::new(
        sfhs_salesforce::LoginUrl::Custom(sim.base_url().to_owned()),
        sfhs_salesforce::Credentials::ClientCredentials {
            client_id: sfhs_salesforce_sim::DEFAULT_CLIENT_ID.into(),
            client_secret: sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET.into(),
        },
    ))
    .unwrap();
    let rows: Vec<_> = futures::TryStreamExt::try_collect(client.bulk_query(
        "SELECT Id, acme__Invoice__r.Name FROM acme__Shipment__c",
        sfhs_salesforce::BulkOperation::Query,
        sfhs_salesforce::PollPolicy {
            initial: std::time::Duration::from_millis(5),
            ..Default::default()
        },
        None,
    ))
    .await
    .unwrap();
    assert_eq!(rows.len(), 10);
    assert!(rows[0]["acme__Invoice__r.Name"].as_deref().unwrap().starts_with("INV-"));
}
