//! Routes that widely used Salesforce clients (simple-salesforce, jsforce, the Singer
//! tap-salesforce) call and the simulator once answered wrongly; each test names what the
//! simulator answered before and the page of Salesforce's documentation the answer follows.
//! The clients themselves are run against the simulator by `scripts/conformance`.

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use serde_json::Value;
use sfhs_salesforce_sim::{SeedSize, Sim, SimBuilder};

fn small() -> SeedSize {
    SeedSize { accounts: 4, invoices: 6, lines: 0, shipments: 0 }
}

async fn sim() -> Sim {
    SimBuilder::new()
        .seed_size(small())
        .refresh_token("5Aep-configured-refresh-token")
        .start()
        .await
        .unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// POSTs a form to the token endpoint; returns (status, body).
async fn token_call(sim: &Sim, form: &[(&str, &str)], basic: Option<&str>) -> (u16, Value) {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let mut req = http()
        .post(format!("{}/services/oauth2/token", sim.base_url()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(b) = basic {
        req = req.header("Authorization", format!("Basic {b}"));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn get(sim: &Sim, token: &str, path: &str) -> (u16, Value) {
    let resp =
        http().get(format!("{}{path}", sim.base_url())).bearer_auth(token).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn cc_token(sim: &Sim) -> String {
    let (status, body) = token_call(
        sim,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", sfhs_salesforce_sim::DEFAULT_CLIENT_ID),
            ("client_secret", sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default()
}

/// Before: `grant_type=refresh_token` answered 400 `unsupported_grant_type` (tap-salesforce and
/// jsforce log in that way). Salesforce: "OAuth 2.0 Refresh Token Flow for Renewed Sessions"
/// (help.salesforce.com, remoteaccess_oauth_refresh_token_flow.htm); the web server flow issues
/// the refresh token ("OAuth 2.0 Web Server Flow for Web App Integration").
#[tokio::test]
async fn refresh_token_flow_with_configured_and_web_server_flow_tokens() {
    let sim = sim().await;

    // A configured refresh token (what a tap's config file holds).
    let (status, body) = token_call(
        &sim,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "5Aep-configured-refresh-token"),
            ("client_id", sfhs_salesforce_sim::DEFAULT_CLIENT_ID),
            ("client_secret", sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        keys(&body),
        BTreeSet::from([
            "access_token",
            "id",
            "instance_url",
            "issued_at",
            "scope",
            "signature",
            "token_type"
        ]),
        "the refresh flow returns no new refresh token (no rotation)"
    );
    assert_eq!(body["instance_url"], sim.base_url());
    let token = body["access_token"].as_str().unwrap();
    let (status, _) = get(&sim, token, "/services/data/v62.0/sobjects/").await;
    assert_eq!(status, 200);

    // The secret is optional in the refresh flow, but a wrong one is refused.
    let (status, _) = token_call(
        &sim,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "5Aep-configured-refresh-token"),
            ("client_id", sfhs_salesforce_sim::DEFAULT_CLIENT_ID),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = token_call(
        &sim,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "5Aep-configured-refresh-token"),
            ("client_id", sfhs_salesforce_sim::DEFAULT_CLIENT_ID),
            ("client_secret", "wrong"),
        ],
        None,
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client")));

    // An unknown refresh token: Salesforce's words.
    let (status, body) = token_call(
        &sim,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "5Aep-never-issued"),
            ("client_id", sfhs_salesforce_sim::DEFAULT_CLIENT_ID),
        ],
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "expired access/refresh token");

    // Web server flow: authorize (approved at once) -> code -> token + refresh token.
    let resp = http()
        .get(format!(
            "{}/services/oauth2/authorize?response_type=code&client_id={}&redirect_uri=http%3A%2F%2Flocalhost%2Fcb&state=xyz",
            sim.base_url(),
            sfhs_salesforce_sim::DEFAULT_CLIENT_ID
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 302);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let url = url::Url::parse(&location).unwrap();
    assert_eq!(url.path(), "/cb");
    let params: std::collections::HashMap<String, String> =
        url.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "xyz");
    let code = params["code"].clone();
    let exchange = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", sfhs_salesforce_sim::DEFAULT_CLIENT_ID),
        ("client_secret", sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET),
        ("redirect_uri", "http://localhost/cb"),
    ];
    let (status, body) = token_call(&sim, &exchange, None).await;
    assert_eq!(status, 200, "{body}");
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    assert!(body["scope"].as_str().unwrap().contains("refresh_token"));
    // A code is single use.
    let (status, body) = token_call(&sim, &exchange, None).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    // The issued refresh token works, after the access token expired.
    sim.expire_tokens();
    let (status, body) = token_call(
        &sim,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
            ("client_id", sfhs_salesforce_sim::DEFAULT_CLIENT_ID),
            ("client_secret", sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) =
        get(&sim, body["access_token"].as_str().unwrap(), "/services/data/v62.0/limits/").await;
    assert_eq!(status, 200);
}

/// Before: `grant_type=password` answered `unsupported_grant_type` and client credentials in
/// `Authorization: Basic` (how simple-salesforce sends them) were refused as `invalid_client`.
/// Salesforce: "OAuth 2.0 Username-Password Flow for Special Scenarios" (no refresh token is
/// issued); "OAuth 2.0 Client Credentials Flow for Server-to-Server Integration".
#[tokio::test]
async fn password_flow_and_basic_client_authentication() {
    let sim = sim().await;
    let (status, body) = token_call(
        &sim,
        &[
            ("grant_type", "password"),
            ("client_id", sfhs_salesforce_sim::DEFAULT_CLIENT_ID),
            ("client_secret", sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET),
            ("username", "sim-user@example.com"),
            ("password", "sim-password"),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("refresh_token").is_none());
    for k in ["access_token", "instance_url", "id", "token_type", "issued_at", "signature"] {
        assert!(body.get(k).is_some(), "password flow response lacks {k}");
    }
    let (status, body) = token_call(
        &sim,
        &[
            ("grant_type", "password"),
            ("client_id", sfhs_salesforce_sim::DEFAULT_CLIENT_ID),
            ("client_secret", sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET),
            ("username", "sim-user@example.com"),
            ("password", "wrong"),
        ],
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "authentication failure");

    // base64("sim-client:sim-secret")
    let (status, body) = token_call(
        &sim,
        &[("grant_type", "client_credentials")],
        Some("c2ltLWNsaWVudDpzaW0tc2VjcmV0"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // base64("sim-client:nope")
    let (status, body) =
        token_call(&sim, &[("grant_type", "client_credentials")], Some("c2ltLWNsaWVudDpub3Bl"))
            .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_client")));
}

/// Before: 404. Salesforce: REST API Developer Guide, "Limits" (resources_limits.htm) and its
/// example "List Organization Limits" (dome_limits.htm): `{"Name": {"Max", "Remaining"}}`.
#[tokio::test]
async fn limits_lists_max_and_remaining() {
    let sim = sim().await;
    let token = cc_token(&sim).await;
    sim.set_api_used(100);
    let (status, body) = get(&sim, &token, "/services/data/v62.0/limits").await;
    assert_eq!(status, 200);
    let m = body.as_object().unwrap();
    for (name, limit) in m {
        assert_eq!(keys(limit), BTreeSet::from(["Max", "Remaining"]), "{name}");
        assert!(limit["Max"].as_u64().unwrap() >= limit["Remaining"].as_u64().unwrap());
    }
    // This call counts too: 101 used.
    assert_eq!(body["DailyApiRequests"]["Max"], 100_000);
    assert_eq!(body["DailyApiRequests"]["Remaining"], 100_000 - 101);
    assert_eq!(body["DailyBulkV2QueryJobs"]["Remaining"], 10_000);

    let resp = http()
        .post(format!("{}/services/data/v62.0/jobs/query", sim.base_url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({"operation": "query", "query": "SELECT Id FROM Account"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (_, body) = get(&sim, &token, "/services/data/v62.0/limits/").await;
    assert_eq!(body["DailyBulkV2QueryJobs"]["Remaining"], 9_999);
    assert!(body["DataStorageMB"].is_object());

    let (status, body) = get(&sim, "bogus", "/services/data/v62.0/limits/").await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (401, Some("INVALID_SESSION_ID")));
}

/// Before: 405 (only POST was routed). Salesforce: "Get Object Metadata Using sObject Basic
/// Information" (resources_sobject_basic_info_get.htm), example "Get Metadata for an Object"
/// (dome_sobject_basic_info.htm): `{"objectDescribe": {...}, "recentItems": [{attributes, Id,
/// Name}]}`.
#[tokio::test]
async fn sobject_basic_info_has_object_describe_and_recent_items() {
    let sim = sim().await;
    let token = cc_token(&sim).await;
    let newest = sim.create("Account", serde_json::json!({"Name": "Newest"})).unwrap();
    for path in ["/services/data/v62.0/sobjects/Account", "/services/data/v62.0/sobjects/account/"]
    {
        let (status, body) = get(&sim, &token, path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(keys(&body), BTreeSet::from(["objectDescribe", "recentItems"]));
        let d = &body["objectDescribe"];
        assert_eq!(d["name"], "Account");
        assert_eq!(d["keyPrefix"], "001");
        for k in [
            "label",
            "updateable",
            "replicateable",
            "retrieveable",
            "undeletable",
            "triggerable",
            "urls",
        ] {
            assert!(d.get(k).is_some(), "objectDescribe lacks {k}");
        }
        assert!(d.get("fields").is_none(), "basic info is not the full describe");
        let recent = body["recentItems"].as_array().unwrap();
        assert_eq!(recent.len(), 5);
        assert_eq!(recent[0]["Id"], newest.as_str());
        assert_eq!(recent[0]["Name"], "Newest");
        assert_eq!(recent[0]["attributes"]["type"], "Account");
        assert_eq!(
            recent[0]["attributes"]["url"],
            format!("/services/data/v62.0/sobjects/Account/{newest}")
        );
    }
    let (status, body) = get(&sim, &token, "/services/data/v62.0/sobjects/Nope__c/").await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (404, Some("NOT_FOUND")));
}

/// Before: 404. Salesforce: "sObject Get Updated" (resources_getupdated.htm), example "Get a List
/// of Updated Records Within a Given Timeframe" (dome_get_updated.htm): `{"ids": [...],
/// "latestDateCovered": "2013-05-08T21:20:00.000+0000"}`; at most 30 days back; seconds ignored.
#[tokio::test]
async fn updated_lists_ids_changed_in_the_window() {
    let sim = sim().await;
    let token = cc_token(&sim).await;
    let ids = sim.ids("Account");
    let now = time::OffsetDateTime::now_utc();
    let fmt = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339).unwrap().replace('+', "%2B")
    };
    let created = sim.create("Account", serde_json::json!({"Name": "Fresh"})).unwrap();
    sim.update("Account", &ids[1], serde_json::json!({"Name": "Changed"})).unwrap();
    let start = now - time::Duration::minutes(2);
    let end = now + time::Duration::minutes(2);
    let path = format!(
        "/services/data/v62.0/sobjects/Account/updated/?start={}&end={}",
        fmt(start),
        fmt(end)
    );
    // Default: seconds are ignored, so the window ends at the current minute.
    let (status, body) = get(&sim, &token, &path).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(keys(&body), BTreeSet::from(["ids", "latestDateCovered"]));
    let covered = body["latestDateCovered"].as_str().unwrap();
    assert!(covered.ends_with(":00.000+0000"), "{covered}");
    // With millisecond windows the records just changed are in.
    sim.update_knobs(|k| k.deleted_granularity = std::time::Duration::from_millis(1));
    let (status, body) = get(&sim, &token, &path).await;
    assert_eq!(status, 200, "{body}");
    let got: BTreeSet<&str> =
        body["ids"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(got, BTreeSet::from([created.as_str(), ids[1].as_str()]));

    // More than 30 days back is refused, as is a start that is not a date-time.
    let path = format!(
        "/services/data/v62.0/sobjects/Account/updated?start={}&end={}",
        fmt(now - time::Duration::days(31)),
        fmt(now)
    );
    let (status, body) = get(&sim, &token, &path).await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (400, Some("INVALID_REPLICATION_DATE")));
    let (status, body) = get(
        &sim,
        &token,
        "/services/data/v62.0/sobjects/Account/updated/?start=yesterday&end=today",
    )
    .await;
    assert_eq!((status, body[0]["errorCode"].as_str()), (400, Some("INVALID_REPLICATION_DATE")));
    let path = format!(
        "/services/data/v62.0/sobjects/Nope__c/updated/?start={}&end={}",
        fmt(start),
        fmt(end)
    );
    let (status, _) = get(&sim, &token, &path).await;
    assert_eq!(status, 404);
}

/// Issue 33: an undelete (SOAP `undelete()`, Apex, the UI: no REST resource) brings the record
/// back from the recycle bin with its fields; ordinary queries see it again, `queryAll` shows it
/// with `IsDeleted = false`, the `deleted` resource no longer lists it, and no outbound message
/// is sent (flows cannot run on undelete). Whether `SystemModstamp` moves is unverified: the
/// simulator does both, by a knob.
#[tokio::test]
async fn an_undeleted_record_is_back_with_its_fields_and_sends_nothing() {
    let sim = sim().await;
    let token = cc_token(&sim).await;
    sim.update_knobs(|k| k.deleted_granularity = std::time::Duration::from_millis(1));
    let ids = sim.ids("Account");
    let (moved, kept) = (ids[1].clone(), ids[2].clone());
    let before = sim.get("Account", &kept).unwrap();
    // An outbound message on Account: an edit queues a notification, an undelete does not.
    sim.configure_outbound(sfhs_salesforce_sim::OutboundConfig::all_fields(
        "Account",
        "http://127.0.0.1:9/outbound",
    ))
    .unwrap();
    sim.update("Account", &ids[0], serde_json::json!({"Name": "Edited"})).unwrap();
    let queued = sim.outbound_counters().notifications_queued;
    assert_eq!(queued, 1);
    let fmt = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339).unwrap().replace('+', "%2B")
    };
    let now = time::OffsetDateTime::now_utc();
    let window = format!(
        "?start={}&end={}",
        fmt(now - time::Duration::minutes(2)),
        fmt(now + time::Duration::minutes(2))
    );
    let listed = |body: &Value, key: &str| -> BTreeSet<String> {
        body[key]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str().or_else(|| v["id"].as_str()).map(str::to_owned))
            .collect()
    };
    for id in [&moved, &kept] {
        sim.delete("Account", id).unwrap();
    }
    let deleted_path = format!("/services/data/v62.0/sobjects/Account/deleted/{window}");
    let (_, body) = get(&sim, &token, &deleted_path).await;
    assert!(listed(&body, "deletedRecords").contains(&moved), "{body}");
    assert!(sim.undelete("Account", &moved).is_ok());
    sim.update_knobs(|k| k.undelete_moves_stamps = false);
    assert!(sim.undelete("Account", &kept).is_ok());
    let again = sim.undelete("Account", &kept).unwrap_err();
    assert_eq!((again.status, again.code.as_str()), (400, "UNDELETE_FAILED"));

    // Back, with its fields; its stamps as before its deletion, or moved.
    let back = sim.get("Account", &kept).unwrap();
    assert_eq!(back.get("Name"), before.get("Name"));
    assert_eq!(back.get("SystemModstamp"), before.get("SystemModstamp"));
    assert_ne!(
        sim.get("Account", &moved).unwrap().get("SystemModstamp"),
        before.get("SystemModstamp")
    );
    let q =
        format!("/services/data/v62.0/query?q=SELECT+Id,IsDeleted+FROM+Account+WHERE+Id='{kept}'");
    let (_, body) = get(&sim, &token, &q).await;
    assert_eq!(body["totalSize"], 1, "{body}");
    let q = format!(
        "/services/data/v62.0/queryAll?q=SELECT+Id,IsDeleted+FROM+Account+WHERE+Id='{moved}'"
    );
    let (_, body) = get(&sim, &token, &q).await;
    assert_eq!(body["records"][0]["IsDeleted"], false, "{body}");
    let (_, body) = get(&sim, &token, &deleted_path).await;
    assert!(listed(&body, "deletedRecords").is_empty(), "{body}");
    // The `updated` resource lists the one whose stamp moved, not the other.
    let (_, body) =
        get(&sim, &token, &format!("/services/data/v62.0/sobjects/Account/updated/{window}")).await;
    let updated = listed(&body, "ids");
    assert!(updated.contains(&moved) && !updated.contains(&kept), "{body}");
    assert_eq!(sim.outbound_counters().notifications_queued, queued);
}

/// Issue 33: a change Salesforce makes itself moves `SystemModstamp`, not `LastModifiedDate`, and
/// sends nothing.
#[tokio::test]
async fn a_system_change_moves_systemmodstamp_and_sends_nothing() {
    let sim = sim().await;
    let id = sim.ids("Account")[0].clone();
    let before = sim.get("Account", &id).unwrap();
    sim.configure_outbound(sfhs_salesforce_sim::OutboundConfig::all_fields(
        "Account",
        "http://127.0.0.1:9/outbound",
    ))
    .unwrap();
    let queued = sim.outbound_counters().notifications_queued;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    sim.system_change("Account", &id).unwrap();
    let after = sim.get("Account", &id).unwrap();
    assert_ne!(after.get("SystemModstamp"), before.get("SystemModstamp"));
    assert_eq!(after.get("LastModifiedDate"), before.get("LastModifiedDate"));
    assert_eq!(sim.outbound_counters().notifications_queued, queued);
    assert_eq!(sim.system_change("Account", "001000000000000AAA").unwrap_err().status, 404);
}
