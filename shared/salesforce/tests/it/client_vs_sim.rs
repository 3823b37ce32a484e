//! The client against the simulator over HTTP: every operation, error and token expiry.

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::time::Duration;

use futures::TryStreamExt;
use serde_json::json;
use sfhs_salesforce::{
    BulkOperation, Client, Config, Credentials, Error, LoginUrl, PollPolicy, QueryOptions, SfType,
};
use sfhs_salesforce_sim::{Knobs, SeedSize, Sim, SimBuilder};
use time::OffsetDateTime;

const PUBLIC_KEY: &[u8] = include_bytes!("../keys/TEST_ONLY_jwt_public.pem");
const PRIVATE_KEY: &[u8] = include_bytes!("../keys/TEST_ONLY_jwt_private.pem");
const OTHER_PRIVATE_KEY: &[u8] = include_bytes!("../keys/TEST_ONLY_other_private.pem");

fn small() -> SeedSize {
    SeedSize { accounts: 50, invoices: 150, lines: 300, shipments: 40 }
}

async fn sim_with(size: SeedSize, knobs: Knobs) -> Sim {
    SimBuilder::new()
        .jwt_public_key_pem(PUBLIC_KEY)
        .seed_size(size)
        .knobs(knobs)
        .start()
        .await
        .expect("sim starts")
}

fn cc_config(sim: &Sim) -> Config {
    Config::new(
        LoginUrl::Custom(sim.base_url().to_owned()),
        Credentials::ClientCredentials {
            client_id: sfhs_salesforce_sim::DEFAULT_CLIENT_ID.into(),
            client_secret: sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET.into(),
        },
    )
}

fn cc_client(sim: &Sim) -> Client {
    Client::new(cc_config(sim)).expect("client")
}

fn jwt_client(sim: &Sim, key: &[u8], client_id: &str) -> Client {
    Client::new(Config::new(
        LoginUrl::Custom(sim.base_url().to_owned()),
        Credentials::JwtBearer {
            client_id: client_id.into(),
            username: "integration@example.com".into(),
            private_key_pem: key.to_vec(),
            audience: None,
        },
    ))
    .expect("client")
}

#[tokio::test]
async fn client_credentials_and_jwt_bearer_log_in_and_call_the_instance() {
    let sim = sim_with(small(), Knobs::default()).await;

    let cc = cc_client(&sim);
    let objects = cc.describe_global().await.unwrap();
    let names: Vec<&str> = objects.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["Account", "Invoice__c", "Invoice_Line__c", "acme__Shipment__c"]);
    assert_eq!(cc.instance_url().await.unwrap(), sim.base_url());

    let jwt = jwt_client(&sim, PRIVATE_KEY, sfhs_salesforce_sim::DEFAULT_CLIENT_ID);
    assert_eq!(jwt.count("Account", None).await.unwrap(), 50);
    assert_eq!(sim.tokens_issued(), 2);

    // Wrong secret.
    let mut bad = cc_config(&sim);
    bad.credentials = Credentials::ClientCredentials {
        client_id: sfhs_salesforce_sim::DEFAULT_CLIENT_ID.into(),
        client_secret: "nope".into(),
    };
    let err = Client::new(bad).unwrap().describe_global().await.unwrap_err();
    assert!(
        matches!(&err, Error::Auth { status: 400, error, .. } if error == "invalid_client"),
        "{err:?}"
    );
    assert!(!err.is_retryable());

    // Signed with another key.
    let err = jwt_client(&sim, OTHER_PRIVATE_KEY, sfhs_salesforce_sim::DEFAULT_CLIENT_ID)
        .describe_global()
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some("invalid_grant"), "{err:?}");

    // Unknown consumer key.
    let err = jwt_client(&sim, PRIVATE_KEY, "someone-else").describe_global().await.unwrap_err();
    assert_eq!(err.error_code(), Some("invalid_client_id"), "{err:?}");

    // Not a key at all.
    let err = jwt_client(&sim, b"not a pem", sfhs_salesforce_sim::DEFAULT_CLIENT_ID)
        .describe_global()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Jwt(_)), "{err:?}");
}

#[tokio::test]
async fn expired_or_revoked_tokens_are_refreshed_once() {
    let sim = sim_with(small(), Knobs::default()).await;
    let client = cc_client(&sim);
    assert_eq!(client.count("Invoice__c", None).await.unwrap(), 150);
    assert_eq!(sim.tokens_issued(), 1);

    // Revoked: one 401 INVALID_SESSION_ID, one new token, the call succeeds.
    sim.expire_tokens();
    assert_eq!(client.count("Invoice__c", None).await.unwrap(), 150);
    assert_eq!(sim.tokens_issued(), 2);

    // Expired by time: two hours pass (default TTL 2 h).
    sim.age_tokens(Duration::from_secs(2 * 3600 + 1));
    assert_eq!(client.count("Account", None).await.unwrap(), 50);
    assert_eq!(sim.tokens_issued(), 3);
    // The new token is fresh.
    assert_eq!(client.count("Account", None).await.unwrap(), 50);
    assert_eq!(sim.tokens_issued(), 3);

    // A session that stays invalid: the retry happens once, then the error surfaces.
    sim.update_knobs(|k| k.token_ttl = Duration::ZERO);
    let err = client.count("Account", None).await.unwrap_err();
    assert_eq!(err.error_code(), Some("INVALID_SESSION_ID"));
    assert_eq!(err.status(), Some(401));
    assert_eq!(sim.tokens_issued(), 4);
}

#[tokio::test]
async fn describe_reports_types_lookups_and_picklists() {
    let sim = sim_with(small(), Knobs::default()).await;
    let client = cc_client(&sim);

    let invoice = client.describe("invoice__c").await.unwrap();
    assert_eq!(invoice.object.name, "Invoice__c");
    assert!(invoice.object.custom);
    assert_eq!(invoice.object.key_prefix.as_deref(), Some("a01"));
    let account = invoice.field("Account__c").unwrap();
    assert_eq!(account.field_type, SfType::Reference);
    assert_eq!(account.reference_to, ["Account"]);
    assert_eq!(account.relationship_name.as_deref(), Some("Account__r"));
    let status = invoice.field("Status__c").unwrap();
    assert_eq!(status.field_type, SfType::Picklist);
    let values: Vec<&str> = status.picklist_values.iter().map(|p| p.value.as_str()).collect();
    assert_eq!(values, ["Draft", "Sent", "Paid", "Void"]);
    assert_eq!(invoice.field("Channels__c").unwrap().field_type, SfType::Multipicklist);
    assert!(invoice.field("Line_Count__c").unwrap().calculated);
    let name = invoice.field("Name").unwrap();
    assert!(!name.nillable);
    assert_eq!(name.length, 80);
    let seen: Vec<SfType> = invoice.fields.iter().map(|f| f.field_type.clone()).collect();
    for t in [
        SfType::Id,
        SfType::String,
        SfType::Textarea,
        SfType::Email,
        SfType::Url,
        SfType::Boolean,
        SfType::Double,
        SfType::Currency,
        SfType::Percent,
        SfType::Date,
        SfType::Datetime,
    ] {
        assert!(seen.contains(&t), "{t:?} missing");
    }

    let shipment = client.describe("acme__Shipment__c").await.unwrap();
    let lookup = shipment.field("acme__Invoice__c").unwrap();
    assert_eq!(lookup.reference_to, ["Invoice__c"]);
    assert_eq!(lookup.relationship_name.as_deref(), Some("acme__Invoice__r"));
    let line = client.describe("Invoice_Line__c").await.unwrap();
    assert_eq!(line.field("Line_Number__c").unwrap().field_type, SfType::Int);
    let acct = client.describe("Account").await.unwrap();
    assert_eq!(acct.field("Phone").unwrap().field_type, SfType::Phone);
    assert!(!acct.object.custom);

    let err = client.describe("Nope__c").await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.error_code(), Some("NOT_FOUND"));
    assert!(!err.is_retryable());
    assert!(matches!(client.describe("Bad Name").await.unwrap_err(), Error::InvalidInput(_)));
}

#[tokio::test]
async fn count_and_query_stream_pages_by_next_records_url() {
    let sim = sim_with(SeedSize::default(), Knobs::default()).await;
    let client = cc_client(&sim);
    assert_eq!(client.count("Invoice__c", None).await.unwrap(), 1200);
    let paid = client.count("Invoice__c", Some("Status__c = 'Paid'")).await.unwrap();
    assert!(paid > 0 && paid < 1200);

    let before = sim.api_used();
    let records: Vec<_> = client
        .query(
            "SELECT Id, Name, Amount__c, Status__c FROM Invoice__c ORDER BY Name",
            QueryOptions { batch_size: Some(200), include_deleted: false },
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(records.len(), 1200);
    // One request per page of 200.
    assert_eq!(sim.api_used() - before, 6);
    let ids: HashSet<&str> = records.iter().map(|r| r["Id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1200);
    assert!(ids.iter().all(|id| id.len() == 18 && id.starts_with("a01")));
    let names: Vec<&str> = records.iter().map(|r| r["Name"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(records[0]["attributes"]["type"], "Invoice__c");

    // WHERE with AND / OR / IN / LIKE / dates, LIMIT; count agrees with the stream.
    let soql_where = "(Status__c IN ('Paid', 'Sent') OR Amount__c > 50000) AND Name LIKE 'INV-%' AND Issue_Date__c >= 2025-01-01";
    let n = client.count("Invoice__c", Some(soql_where)).await.unwrap();
    let streamed: Vec<_> = client
        .query(&format!("SELECT Id FROM Invoice__c WHERE {soql_where}"), QueryOptions::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len() as u64, n);
    let limited: Vec<_> = client
        .query("SELECT Id FROM Account LIMIT 7", QueryOptions::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(limited.len(), 7);

    // Errors keep Salesforce's errorCode.
    let err = client
        .query("SELEKT Id FROM Account", QueryOptions::default())
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some("MALFORMED_QUERY"));
    let err = client.count("Account", Some("Bacon__c = 1")).await.unwrap_err();
    assert_eq!(err.error_code(), Some("INVALID_FIELD"));
    assert_eq!(err.status(), Some(400));
}

#[tokio::test]
async fn rest_create_read_update_delete() {
    let sim = sim_with(small(), Knobs::default()).await;
    let client = cc_client(&sim);
    let account = sim.ids("Account")[0].clone();

    let id = client
        .create(
            "Invoice__c",
            &json!({"Name": "INV-NEW", "Account__c": account, "Status__c": "Draft", "Amount__c": 45000, "Channels__c": "Email;Post", "Paid_At__c": "2025-03-01T10:00:00Z"}),
        )
        .await
        .unwrap();
    assert_eq!(id.len(), 18);
    assert!(id.starts_with("a01"));
    let rec = client.get_record("Invoice__c", &id, &[]).await.unwrap();
    assert_eq!(rec["Name"], "INV-NEW");
    assert_eq!(rec["Amount__c"], 45000.0);
    assert_eq!(rec["Paid_At__c"], "2025-03-01T10:00:00.000+0000");
    assert_eq!(rec["Notes__c"], serde_json::Value::Null);
    let created =
        sfhs_salesforce::datetime::parse(rec["SystemModstamp"].as_str().unwrap()).unwrap();

    tokio::time::sleep(Duration::from_millis(5)).await;
    client.update("Invoice__c", &id, &json!({"Status__c": "Paid", "Paid__c": true})).await.unwrap();
    let rec = client
        .get_record("Invoice__c", &id, &["Status__c", "SystemModstamp", "LastModifiedDate"])
        .await
        .unwrap();
    assert_eq!(rec["Status__c"], "Paid");
    let modstamp =
        sfhs_salesforce::datetime::parse(rec["SystemModstamp"].as_str().unwrap()).unwrap();
    assert!(modstamp > created);
    assert_eq!(rec["SystemModstamp"], rec["LastModifiedDate"]);

    // Validation errors, Salesforce-style.
    let err = client.create("Invoice__c", &json!({"Amount__c": 1})).await.unwrap_err();
    assert_eq!(err.error_code(), Some("REQUIRED_FIELD_MISSING"));
    match &err {
        Error::Api { errors, .. } => assert_eq!(errors[0].fields, ["Name"]),
        other => panic!("{other:?}"),
    }
    let err = client.update("Invoice__c", &id, &json!({"Status__c": "Lost"})).await.unwrap_err();
    assert_eq!(err.error_code(), Some("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"));
    let err = client.update("Invoice__c", &id, &json!({"Bogus__c": 1})).await.unwrap_err();
    assert_eq!(err.error_code(), Some("INVALID_FIELD"));
    let err = client.update("Invoice__c", &id, &json!({"Id": "x"})).await.unwrap_err();
    assert_eq!(err.error_code(), Some("INVALID_FIELD_FOR_INSERT_UPDATE"));
    let err = client
        .create("Invoice_Line__c", &json!({"Name": "L", "Invoice__c": account}))
        .await
        .unwrap_err();
    assert_eq!(err.error_code(), Some("INVALID_CROSS_REFERENCE_KEY"));

    client.delete("Invoice__c", &id).await.unwrap();
    let err = client.get_record("Invoice__c", &id, &[]).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.error_code(), Some("NOT_FOUND"));
    let err = client.delete("Invoice__c", &id).await.unwrap_err();
    assert_eq!(err.error_code(), Some("ENTITY_IS_DELETED"));
    let err =
        client.update("Invoice__c", "a015g0000000000ZZZ", &json!({"Name": "x"})).await.unwrap_err();
    assert_eq!(err.error_code(), Some("NOT_FOUND"));

    // queryAll sees the recycle bin.
    let all: Vec<_> = client
        .query(
            &format!("SELECT Id, IsDeleted FROM Invoice__c WHERE Id = '{id}'"),
            QueryOptions { batch_size: None, include_deleted: true },
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["IsDeleted"], true);
}

#[tokio::test]
async fn deleted_records_window_retention_and_id_limit_split() {
    let knobs = Knobs { deleted_granularity: Duration::from_millis(1), ..Knobs::default() };
    let sim = sim_with(small(), knobs).await;
    let client = cc_client(&sim);
    let now = OffsetDateTime::now_utc();
    let lines = sim.ids("Invoice_Line__c");

    // Deleted through REST now.
    for id in &lines[..3] {
        client.delete("Invoice_Line__c", id).await.unwrap();
    }
    // Request times are sent in whole seconds: let the deletes' second pass.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let start = now - time::Duration::hours(1);
    let pages: Vec<_> = client
        .deleted("Invoice_Line__c", start, OffsetDateTime::now_utc() + time::Duration::seconds(1))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 1);
    let got: Vec<&str> = pages[0].records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(got, lines[..3].iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!pages[0].missed_since(start));
    assert!(pages[0].latest_date_covered > now - time::Duration::seconds(5));

    // 12 more deleted at distinct minutes in the past; at most 5 ids per window.
    sim.update_knobs(|k| k.deleted_id_limit = 5);
    for (i, id) in lines[3..15].iter().enumerate() {
        sim.delete_at("Invoice_Line__c", id, now - time::Duration::minutes(50 - 3 * i as i64))
            .unwrap();
    }
    let single = client.deleted_window("Invoice_Line__c", start, now).await.unwrap_err();
    assert_eq!(single.error_code(), Some("EXCEEDED_ID_LIMIT"));
    let pages: Vec<_> = client.deleted("Invoice_Line__c", start, now).try_collect().await.unwrap();
    assert!(pages.len() >= 3, "{} windows", pages.len());
    assert!(pages.iter().all(|p| p.records.len() <= 5));
    let ids: Vec<&str> =
        pages.iter().flat_map(|p| p.records.iter().map(|r| r.id.as_str())).collect();
    assert_eq!(ids, lines[3..15].iter().map(String::as_str).collect::<Vec<_>>());
    for pair in pages.windows(2) {
        assert!(pair[0].window_end <= pair[1].window_start);
    }

    // Older than 15 days: clamped, and the gap is reported.
    let long_ago = now - time::Duration::days(20);
    sim.delete_at("Invoice_Line__c", &lines[20], long_ago).unwrap();
    let pages: Vec<_> = client
        .deleted("Invoice_Line__c", long_ago, now - time::Duration::hours(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 1);
    assert!(pages[0].records.is_empty());
    assert!(pages[0].missed_since(long_ago));
    assert!(pages[0].window_start > now - time::Duration::days(15));
}

#[tokio::test]
async fn bulk_query_streams_csv_pages_by_locator() {
    let sim = sim_with(SeedSize::default(), Knobs::default()).await;
    let client = cc_client(&sim);

    let job = client
        .create_query_job("SELECT Id, Name, Notes__c FROM Invoice__c", BulkOperation::Query)
        .await
        .unwrap();
    assert_eq!(job.state, sfhs_salesforce::JobState::UploadComplete);
    assert!(job.id.starts_with("750") && job.id.len() == 18);
    assert_eq!(job.object, "Invoice__c");
    assert!(job.created_date.is_some());
    let err = client.query_job_results(&job.id, None).try_collect::<Vec<_>>().await.unwrap_err();
    assert_eq!(err.error_code(), Some("INVALIDJOBSTATE"));

    let policy = PollPolicy {
        initial: Duration::from_millis(5),
        max: Duration::from_millis(20),
        timeout: Duration::from_secs(10),
    };
    let done = client.wait_for_query_job(&job.id, policy).await.unwrap();
    assert_eq!(done.state, sfhs_salesforce::JobState::JobComplete);
    let before = sim.api_used();
    let rows: Vec<_> = client.query_job_results(&job.id, Some(500)).try_collect().await.unwrap();
    assert_eq!(sim.api_used() - before, 3, "1200 rows in pages of 500");
    assert_eq!(rows.len(), 1200);
    let nulls = rows.iter().filter(|r| r["Notes__c"].is_none()).count();
    assert!(nulls > 0 && nulls < 1200);
    assert!(rows.iter().all(|r| r["Id"].as_deref().is_some_and(|id| id.len() == 18)));

    // The whole thing in one stream, queryAll included.
    let lines = sim.ids("Invoice_Line__c");
    sim.delete("Invoice_Line__c", &lines[0]).unwrap();
    let all: Vec<_> = client
        .bulk_query(
            "SELECT Id, IsDeleted FROM Invoice_Line__c",
            BulkOperation::QueryAll,
            policy,
            Some(1000),
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2400);
    assert_eq!(all.iter().filter(|r| r["IsDeleted"].as_deref() == Some("true")).count(), 1);

    // Salesforce refuses COUNT() in Bulk API 2.0.
    let err = client
        .create_query_job("SELECT COUNT() FROM Account", BulkOperation::Query)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));

    // Aborted jobs fail the wait.
    let job =
        client.create_query_job("SELECT Id FROM Account", BulkOperation::Query).await.unwrap();
    client.abort_query_job(&job.id).await.unwrap();
    let err = client.wait_for_query_job(&job.id, policy).await.unwrap_err();
    assert!(matches!(err, Error::BulkJobFailed { ref state, .. } if state == "Aborted"), "{err:?}");

    // A job that never completes times out (retryable).
    sim.update_knobs(|k| k.bulk_polls_until_complete = u32::MAX);
    let job =
        client.create_query_job("SELECT Id FROM Account", BulkOperation::Query).await.unwrap();
    let err = client
        .wait_for_query_job(&job.id, PollPolicy { timeout: Duration::from_millis(50), ..policy })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BulkJobTimeout { .. }));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn api_usage_is_tracked_and_limits_are_their_own_errors() {
    let sim = sim_with(small(), Knobs::default()).await;
    let client = cc_client(&sim);
    assert!(client.api_usage().is_none());
    client.count("Account", None).await.unwrap();
    let usage = client.api_usage().unwrap();
    assert_eq!(usage.max, 100_000);
    assert_eq!(usage.used, sim.api_used());

    // Allocation used up.
    sim.update_knobs(|k| k.api_allocation = 10);
    sim.set_api_used(9);
    client.count("Account", None).await.unwrap();
    let err = client.count("Account", None).await.unwrap_err();
    assert!(matches!(err, Error::RequestLimitExceeded { .. }), "{err:?}");
    assert_eq!(err.error_code(), Some("REQUEST_LIMIT_EXCEEDED"));
    assert_eq!(err.status(), Some(403));
    assert!(!err.is_retryable());

    // The client's own stop at a share of the allocation.
    sim.update_knobs(|k| k.api_allocation = 1000);
    sim.set_api_used(100);
    let mut config = cc_config(&sim);
    config.stop_at_usage_share = Some(0.5);
    let careful = Client::new(config).unwrap();
    careful.count("Account", None).await.unwrap();
    sim.set_api_used(600);
    careful.count("Account", None).await.unwrap(); // learns 601/1000
    let err = careful.count("Account", None).await.unwrap_err();
    assert!(matches!(err, Error::UsageCapReached { .. }), "{err:?}");
    assert_eq!(sim.api_used(), 601, "the stopped call was never sent");
}

#[tokio::test]
async fn api_version_is_configurable_and_bad_config_is_refused() {
    let sim = sim_with(small(), Knobs::default()).await;
    let mut config = cc_config(&sim);
    config.api_version = "58.0".into();
    let client = Client::new(config.clone()).unwrap();
    let page: Vec<_> = client
        .query("SELECT Id FROM Account LIMIT 1", QueryOptions::default())
        .try_collect()
        .await
        .unwrap();
    assert!(
        page[0]["attributes"]["url"]
            .as_str()
            .unwrap()
            .starts_with("/services/data/v58.0/sobjects/Account/")
    );
    config.api_version = "v58".into();
    assert!(matches!(Client::new(config.clone()), Err(Error::Config(_))));
    config.api_version = "58.0".into();
    config.stop_at_usage_share = Some(1.5);
    assert!(matches!(Client::new(config), Err(Error::Config(_))));

    // Connection refused: a retryable transport error.
    let dead = Client::new(Config::new(
        LoginUrl::Custom("http://127.0.0.1:9".into()),
        Credentials::ClientCredentials { client_id: "x".into(), client_secret: "y".into() },
    ))
    .unwrap();
    let err = dead.describe_global().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn the_token_endpoint_checks_jwt_claims() {
    let sim = sim_with(small(), Knobs::default()).await;
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(PRIVATE_KEY).unwrap();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let http = reqwest::Client::new();
    let grant = |aud: &str, exp: i64, iss: &str| {
        let claims = json!({"iss": iss, "sub": "integration@example.com", "aud": aud, "exp": exp});
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &key,
        )
        .unwrap()
    };
    let post = |assertion: String| {
        http.post(format!("{}/services/oauth2/token", sim.base_url()))
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned()),
                ("assertion", assertion),
            ])
            .send()
    };
    let ok = post(grant(
        "https://login.salesforce.com",
        now + 170,
        sfhs_salesforce_sim::DEFAULT_CLIENT_ID,
    ))
    .await
    .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["instance_url"], sim.base_url());
    assert_eq!(body["token_type"], "Bearer");
    for (aud, exp, iss, error) in [
        (
            "https://login.salesforce.com",
            now + 600,
            sfhs_salesforce_sim::DEFAULT_CLIENT_ID,
            "invalid_grant",
        ),
        (
            "https://login.salesforce.com",
            now - 10,
            sfhs_salesforce_sim::DEFAULT_CLIENT_ID,
            "invalid_grant",
        ),
        ("https://example.com", now + 60, sfhs_salesforce_sim::DEFAULT_CLIENT_ID, "invalid_grant"),
        ("https://test.salesforce.com", now + 60, "other", "invalid_client_id"),
    ] {
        let resp = post(grant(aud, exp, iss)).await.unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{aud} {exp} {iss}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["error"], error, "{body}");
        assert!(body["error_description"].is_string());
    }
}

/// An import checkpoints Salesforce's cursors; the client says when one is gone so that the
/// import can fall back to its key: an idle REST cursor (15 minutes) and a Bulk job past its
/// results' 7 days.
#[tokio::test]
async fn expired_query_cursors_and_gone_bulk_jobs_are_recognised() {
    let sim = sim_with(small(), Knobs::default()).await;
    let client = cc_client(&sim);
    let options = QueryOptions { batch_size: Some(200), include_deleted: false };
    let first = client
        .query_page("SELECT Id FROM Invoice_Line__c ORDER BY Id", None, options)
        .await
        .unwrap();
    let next = first.next_records_url.unwrap();
    sim.age_query_cursors(Duration::from_secs(16 * 60));
    let err = client.query_page("", Some(&next), QueryOptions::default()).await.unwrap_err();
    assert!(err.is_invalid_query_locator(), "{err:?}");
    assert!(!err.is_retryable(), "the same call never succeeds again");
    assert!(!err.is_bulk_job_gone());

    let policy = PollPolicy {
        initial: Duration::from_millis(5),
        max: Duration::from_millis(20),
        timeout: Duration::from_secs(10),
    };
    let job =
        client.create_query_job("SELECT Id FROM Invoice__c", BulkOperation::Query).await.unwrap();
    client.wait_for_query_job(&job.id, policy).await.unwrap();
    let (rows, locator) = client.query_job_results_page(&job.id, None, Some(100)).await.unwrap();
    assert_eq!(rows.len(), 100);
    sim.age_bulk_jobs(Duration::from_secs(6 * 86_400));
    assert!(
        client.query_job_results_page(&job.id, locator.as_deref(), Some(100)).await.is_ok(),
        "kept 7 days"
    );
    sim.age_bulk_jobs(Duration::from_secs(2 * 86_400));
    let err =
        client.query_job_results_page(&job.id, locator.as_deref(), Some(100)).await.unwrap_err();
    assert!(err.is_bulk_job_gone(), "{err:?}");
    assert_eq!(err.status(), Some(404));
    assert!(!err.is_invalid_query_locator());
}

#[tokio::test]
async fn a_version_the_org_does_not_serve_is_named_with_the_versions_it_does() {
    let sim = sim_with(small(), Knobs::default()).await;
    let mut config = cc_config(&sim);
    config.api_version = "99.0".into();
    let client = Client::new(config).unwrap();
    let err = client.describe("Invoice__c").await.unwrap_err();
    match &err {
        Error::ApiVersionNotServed { version, served } => {
            assert_eq!(version, "99.0");
            assert_eq!(served.first().map(String::as_str), Some("31.0"));
            assert_eq!(served.last().map(String::as_str), Some("62.0"));
        }
        other => panic!("expected ApiVersionNotServed, got {other}"),
    }
    assert_eq!(
        err.to_string(),
        "this Salesforce org does not serve API version 99.0 (it serves 31.0 to 62.0): set SFHS_SALESFORCE_API_VERSION to one of them, e.g. 62.0"
    );
    assert!(!err.is_retryable());
    // Not read as a missing object by the domain's describe either.
    assert!(sfhs_salesforce::domain::describe(&client, "Invoice__c").await.is_err());

    // A served version: a missing object is still a plain 404, which the domain reads as absent.
    let client = cc_client(&sim);
    let missing = client.describe("Nope__c").await.unwrap_err();
    assert_eq!(missing.status(), Some(404), "{missing}");
    assert!(sfhs_salesforce::domain::describe(&client, "Nope__c").await.unwrap().is_none());
    // An older served version answers.
    let mut config = cc_config(&sim);
    config.api_version = "58.0".into();
    assert!(Client::new(config).unwrap().describe("Invoice__c").await.is_ok());
}
