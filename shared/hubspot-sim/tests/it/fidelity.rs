//! The simulator's rules, one by one, over real HTTP.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::{Http, TOKEN, start, upsert_inputs};
use reqwest::Method;
use serde_json::{Value, json};
use sfhs_hubspot_sim::{ArchivedUniqueValues, Fault, FaultKind, PartialStatus, SimConfig};

const OBJ: &str = "/crm/objects/2026-09";

fn assert_error_shape(r: &common::Reply, status: u16, category: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.s("/status"), "error", "{}", r.body);
    assert_eq!(r.s("/category"), category, "{}", r.body);
    assert!(!r.s("/correlationId").is_empty(), "every error carries a correlationId: {}", r.body);
    assert!(!r.s("/message").is_empty());
}

#[tokio::test]
async fn auth_errors_401_and_403() {
    let h = start(|b| b.scopeless_token("pat-na1-noscope")).await;
    let r = h.req_as("", Method::GET, "/crm-object-schemas/2026-09/schemas", None).await;
    assert_error_shape(&r, 401, "INVALID_AUTHENTICATION");
    let r = h.req_as("pat-na1-wrong", Method::GET, "/crm-object-schemas/v3/schemas", None).await;
    assert_error_shape(&r, 401, "INVALID_AUTHENTICATION");
    let r = h.req_as("pat-na1-noscope", Method::GET, "/crm-object-schemas/v3/schemas", None).await;
    assert_error_shape(&r, 403, "MISSING_SCOPES");
    assert!(r.body.pointer("/errors/0/context/requiredGranularScopes").is_some());
    assert_eq!(h.sim.counters().auth_failures, 3);
}

#[tokio::test]
async fn date_and_legacy_paths_share_handlers() {
    let h = start(|b| b).await;
    let t = h.widget_schema().await;
    for (objects, schemas) in [
        ("/crm/objects/2026-09", "/crm-object-schemas/2026-09/schemas"),
        ("/crm/objects/2026-03", "/crm-object-schemas/2026-03/schemas"),
        ("/crm/v3/objects", "/crm-object-schemas/v3/schemas"),
    ] {
        let r = h.get(&format!("{schemas}/{t}")).await;
        assert_eq!(r.status, 200, "{schemas}");
        assert_eq!(r.s("/name"), "widget");
        let r = h.post(&format!("{objects}/{t}/batch/upsert"), upsert_inputs(&["a"])).await;
        assert_eq!(r.status, 200, "{objects}: {}", r.body);
    }
    let r = h.get(&format!("/crm/properties/2026-09/{t}")).await;
    let legacy = h.get(&format!("/crm/v3/properties/{t}")).await;
    assert_eq!(r.body, legacy.body);
    let r = h.get("/crm-object-schemas/2025-01/schemas").await;
    assert_error_shape(&r, 404, "OBJECT_NOT_FOUND");
    assert_eq!(h.sim.records(&t).len(), 1, "one record, upserted three times by sf_id");
}

#[tokio::test]
async fn schemas_create_read_list_update_delete() {
    let h = start(|b| b.portal_id(777)).await;
    let t = h.widget_schema().await;
    assert!(t.starts_with("2-"));
    let by_fqn = h.get("/crm-object-schemas/2026-09/schemas/p777_widget").await;
    assert_eq!(by_fqn.status, 200);
    assert_eq!(by_fqn.s("/objectTypeId"), t);
    assert_eq!(by_fqn.s("/fullyQualifiedName"), "p777_widget");
    let props = by_fqn.body["properties"].as_array().unwrap();
    let name = props.iter().find(|p| p["name"] == "name").unwrap();
    assert_eq!(
        (name["type"].as_str(), name["fieldType"].as_str()),
        (Some("string"), Some("text")),
        "defaults"
    );
    let list = h.get("/crm-object-schemas/2026-09/schemas").await;
    assert_eq!(list.body["results"].as_array().unwrap().len(), 1, "built-ins are not listed");
    // Built-in types exist from the start.
    for (id, name) in
        [("0-1", "contacts"), ("0-2", "companies"), ("0-3", "deals"), ("0-5", "tickets")]
    {
        assert_eq!(
            h.get(&format!("/crm-object-schemas/2026-09/schemas/{name}")).await.s("/objectTypeId"),
            id
        );
    }
    // Same name again: conflict.
    let again = h.post("/crm-object-schemas/2026-09/schemas", common::widget_schema_json()).await;
    assert_eq!(again.status, 409);
    // Update labels; name is immutable.
    let r = h
        .req(
            Method::PATCH,
            &format!("/crm-object-schemas/2026-09/schemas/{t}"),
            Some(json!({"labels": {"singular": "Gadget"}})),
        )
        .await;
    assert_eq!(r.s("/labels/singular"), "Gadget");
    let r = h
        .req(
            Method::PATCH,
            &format!("/crm-object-schemas/2026-09/schemas/{t}"),
            Some(json!({"name": "other"})),
        )
        .await;
    assert_error_shape(&r, 400, "VALIDATION_ERROR");
    // Delete is refused while records exist.
    h.post(&format!("{OBJ}/{t}/batch/upsert"), upsert_inputs(&["x"])).await;
    let r = h.req(Method::DELETE, &format!("/crm-object-schemas/2026-09/schemas/{t}"), None).await;
    assert_error_shape(&r, 400, "VALIDATION_ERROR");
    let id = h.sim.records(&t)[0]["id"].as_str().unwrap().to_string();
    h.post(&format!("{OBJ}/{t}/batch/archive"), json!({"inputs": [{"id": id}]})).await;
    let r = h.req(Method::DELETE, &format!("/crm-object-schemas/2026-09/schemas/{t}"), None).await;
    assert_eq!(r.status, 204);
    assert_eq!(h.get(&format!("/crm-object-schemas/2026-09/schemas/{t}")).await.status, 404);
}

#[tokio::test]
async fn property_definitions_are_validated() {
    let h = start(|b| b).await;
    let t = h.widget_schema().await;
    let path = format!("/crm/properties/2026-09/{t}");
    let r = h
        .post(&path, json!({"name": "flag", "label": "Flag", "type": "bool", "fieldType": "text"}))
        .await;
    assert_error_shape(&r, 400, "VALIDATION_ERROR");
    let r = h.post(&path, json!({"name": "flag", "label": "Flag", "type": "bool", "fieldType": "booleancheckbox"})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = h.post(&path, json!({"name": "flag", "label": "Flag"})).await;
    assert_eq!(r.status, 409);
    // At most 10 unique properties (sf_id is one).
    for i in 0..9 {
        let r = h
            .post(&path, json!({"name": format!("u{i}"), "label": "U", "hasUniqueValue": true}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = h.post(&path, json!({"name": "u9", "label": "U", "hasUniqueValue": true})).await;
    assert_error_shape(&r, 400, "VALIDATION_ERROR");
    let r = h.get(&format!("{path}/flag")).await;
    assert_eq!(r.s("/fieldType"), "booleancheckbox");
}

#[tokio::test]
async fn batch_limits_and_duplicate_ids() {
    let h = start(|b| b).await;
    let t = h.widget_schema().await;
    let ids: Vec<String> = (0..101).map(|i| format!("id{i}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let r = h.post(&format!("{OBJ}/{t}/batch/upsert"), upsert_inputs(&refs)).await;
    assert_error_shape(&r, 400, "VALIDATION_ERROR");
    let r = h.post(&format!("{OBJ}/{t}/batch/upsert"), upsert_inputs(&refs[..100])).await;
    assert_eq!(r.status, 200);
    let r = h.post(&format!("{OBJ}/{t}/batch/upsert"), upsert_inputs(&["a", "b", "a"])).await;
    assert_error_shape(&r, 400, "VALIDATION_ERROR");
    assert_eq!(r.s("/message"), "Duplicate IDs found in batch input: [a]. IDs must be unique");
    assert_eq!(r.body["context"], json!({"ids": ["a"]}));
    assert_eq!(h.sim.records(&t).len(), 100, "the rejected batches wrote nothing");
}

#[tokio::test]
async fn upsert_new_flag_required_and_id_property_rules() {
    let h = start(|b| b).await;
    let t = h.widget_schema().await;
    let p = format!("{OBJ}/{t}/batch/upsert");
    let r = h.post(&p, upsert_inputs(&["a"])).await;
    assert_eq!(r.body["results"][0]["new"], json!(true));
    let id = r.s("/results/0/id").to_string();
    assert!(id.parse::<u64>().is_ok(), "ids are numeric strings");
    assert_eq!(r.s("/results/0/properties/hs_object_id"), id);
    assert!(r.s("/results/0/createdAt").ends_with('Z'));
    let r = h.post(&p, upsert_inputs(&["a", "b"])).await;
    let news: Vec<&Value> =
        r.body["results"].as_array().unwrap().iter().map(|x| &x["new"]).collect();
    assert_eq!(news, vec![&json!(false), &json!(true)]);
    // Creating without the required `name`.
    let r = h
        .post(
            &p,
            json!({"inputs": [{"idProperty": "sf_id", "id": "c", "properties": {"amount": "1"}}]}),
        )
        .await;
    assert_error_shape(&r, 400, "VALIDATION_ERROR");
    assert_eq!(r.s("/errors/0/code"), "REQUIRED_PROPERTY");
    // Updating an existing record does not need it.
    let r = h
        .post(
            &p,
            json!({"inputs": [{"idProperty": "sf_id", "id": "a", "properties": {"amount": "1"}}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    // idProperty must be unique.
    let r =
        h.post(&p, json!({"inputs": [{"idProperty": "name", "id": "x", "properties": {}}]})).await;
    assert_error_shape(&r, 400, "VALIDATION_ERROR");
    // Reading by idProperty.
    let r = h.post(&format!("{OBJ}/{t}/batch/read"), json!({"idProperty": "sf_id", "inputs": [{"id": "a"}], "properties": ["amount", "color"]})).await;
    assert_eq!(r.s("/results/0/properties/amount"), "1");
    assert_eq!(r.body["results"][0]["properties"]["color"], Value::Null);
}

#[tokio::test]
async fn values_are_validated_and_one_bad_input_fails_the_batch() {
    let h = start(|b| b).await;
    let t = h.widget_schema().await;
    let p = format!("{OBJ}/{t}/batch/upsert");
    let good = json!({"name": "n", "amount": "12.5", "active": "true", "due": "2026-02-01", "seen_at": "1769817600000", "color": "red", "tags": "a;b"});
    let r = h
        .post(&p, json!({"inputs": [{"idProperty": "sf_id", "id": "g", "properties": good}]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.s("/results/0/properties/seen_at"), "2026-01-31T00:00:00.000Z");
    for (prop, value, code) in [
        ("color", "Red", "INVALID_OPTION"),
        ("tags", "a;c", "INVALID_OPTION"),
        ("amount", "1,000", "INVALID_NUMBER"),
        ("active", "yes", "INVALID_BOOLEAN"),
        ("due", "01/02/2026", "INVALID_DATE"),
        ("seen_at", "noon", "INVALID_DATETIME"),
        ("nope", "1", "PROPERTY_DOESNT_EXIST"),
        ("hs_object_id", "1", "READ_ONLY_VALUE"),
    ] {
        let body = json!({"inputs": [
            {"idProperty": "sf_id", "id": "ok1", "properties": {"name": "fine"}},
            {"idProperty": "sf_id", "id": "bad", "properties": {"name": "x", prop: value}},
        ]});
        let r = h.post(&p, body).await;
        assert_error_shape(&r, 400, "VALIDATION_ERROR");
        assert_eq!(r.s("/errors/0/code"), code, "{prop}={value}: {}", r.body);
        assert_eq!(r.body["errors"][0]["context"]["propertyName"], json!([prop]));
        assert!(
            r.s("/message").starts_with("Property values were not valid: ["),
            "{}",
            r.s("/message")
        );
    }
    let long = "x".repeat(65_537);
    let r = h
        .post(
            &p,
            json!({"inputs": [{"idProperty": "sf_id", "id": "l", "properties": {"name": long}}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(h.sim.records(&t).len(), 1, "failed batches wrote nothing");
    // "" clears a value.
    let r = h
        .post(
            &p,
            json!({"inputs": [{"idProperty": "sf_id", "id": "g", "properties": {"color": ""}}]}),
        )
        .await;
    assert_eq!(r.body["results"][0]["properties"]["color"], Value::Null);
}

#[tokio::test]
async fn unique_values_conflict() {
    let h = start(|b| b).await;
    let t = h.widget_schema().await;
    let r = h
        .post(
            &format!("{OBJ}/{t}/batch/create"),
            json!({"inputs": [{"properties": {"name": "a", "sf_id": "S1"}}]}),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = h
        .post(
            &format!("{OBJ}/{t}/batch/create"),
            json!({"inputs": [{"properties": {"name": "b", "sf_id": "S1"}}]}),
        )
        .await;
    assert_error_shape(&r, 409, "CONFLICT");
}

#[tokio::test]
async fn partial_results_207_and_200() {
    for (partial, expected) in [(PartialStatus::MultiStatus, 207), (PartialStatus::Ok, 200)] {
        let h = start(|b| b.partial_status(partial)).await;
        let t = h.widget_schema().await;
        let r = h.post(&format!("{OBJ}/{t}/batch/upsert"), upsert_inputs(&["a"])).await;
        let id = r.s("/results/0/id").to_string();
        let r = h
            .post(&format!("{OBJ}/{t}/batch/read"), json!({"inputs": [{"id": id}, {"id": "999"}]}))
            .await;
        assert_eq!(r.status, expected);
        assert_eq!(r.body["numErrors"], json!(1));
        assert_eq!(r.s("/errors/0/category"), "OBJECT_NOT_FOUND");
        assert_eq!(r.body["errors"][0]["context"]["ids"], json!(["999"]));
        assert_eq!(r.body["results"].as_array().unwrap().len(), 1);
        let r = h.post(&format!("{OBJ}/{t}/batch/update"), json!({"inputs": [{"id": id, "properties": {"amount": "2"}}, {"id": "998", "properties": {}}]})).await;
        assert_eq!(r.status, expected);
        assert_eq!(r.body["errors"][0]["context"]["ids"], json!(["998"]));
        // batch/create: 207 only when every input carries a unique objectWriteTraceId.
        let mixed = json!({"inputs": [
            {"objectWriteTraceId": "t1", "properties": {"name": "ok"}},
            {"objectWriteTraceId": "t2", "properties": {"name": "bad", "color": "green"}},
        ]});
        let r = h.post(&format!("{OBJ}/{t}/batch/create"), mixed).await;
        assert_eq!(r.status, if expected == 207 { 207 } else { 201 }, "{}", r.body);
        assert_eq!(r.body["errors"][0]["context"]["objectWriteTraceId"], json!(["t2"]));
        let untraced = json!({"inputs": [{"properties": {"name": "ok"}}, {"properties": {"name": "bad", "color": "green"}}]});
        let r = h.post(&format!("{OBJ}/{t}/batch/create"), untraced).await;
        assert_eq!(r.status, 400);
    }
}

#[tokio::test]
async fn archive_hides_records_unless_asked() {
    let h = start(|b| b).await;
    let t = h.widget_schema().await;
    let r = h.post(&format!("{OBJ}/{t}/batch/upsert"), upsert_inputs(&["a", "b"])).await;
    let id = r.s("/results/0/id").to_string();
    let r = h.post(&format!("{OBJ}/{t}/batch/archive"), json!({"inputs": [{"id": id}]})).await;
    assert_eq!(r.status, 204);
    assert_eq!(h.get(&format!("{OBJ}/{t}/{id}")).await.status, 404);
    let r = h.get(&format!("{OBJ}/{t}/{id}?archived=true")).await;
    assert_eq!(r.body["archived"], json!(true));
    assert!(r.body.get("archivedAt").is_some());
    let r = h.get(&format!("{OBJ}/{t}?limit=10")).await;
    assert_eq!(r.body["results"].as_array().unwrap().len(), 1);
    // The unique value is free again: upsert creates a new record.
    let r = h.post(&format!("{OBJ}/{t}/batch/upsert"), upsert_inputs(&["a"])).await;
    assert_eq!(r.body["results"][0]["new"], json!(true));
}

/// Whether an upsert by a unique value meets an archived record is unverified (docs/hubspot.md):
/// `archived_unique_values` gives each answer. `released`: a second record; `restored`: the
/// archived one back and updated, `new: false`, and a create claiming the value refused while it
/// is archived; `held`: every write claiming it refused with 409 until the record is restored as
/// HubSpot's UI does (`POST /_sim/restore/...`), then the upsert updates it.
#[tokio::test]
async fn an_upsert_meets_an_archived_record_as_configured() {
    async fn archived(mode: ArchivedUniqueValues) -> (Http, String, String) {
        let h =
            start(|b| b.config(SimConfig { archived_unique_values: mode, ..SimConfig::default() }))
                .await;
        let t = h.widget_schema().await;
        let r = h.post(&format!("{OBJ}/{t}/batch/upsert"), upsert_inputs(&["a"])).await;
        let id = r.s("/results/0/id").to_string();
        let r = h.post(&format!("{OBJ}/{t}/batch/archive"), json!({"inputs": [{"id": id}]})).await;
        assert_eq!(r.status, 204);
        (h, t, id)
    }
    let again = |name: &str| json!({"inputs": [{"idProperty": "sf_id", "id": "a", "properties": {"name": name}}]});

    let (h, t, id) = archived(ArchivedUniqueValues::Released).await;
    let r = h.post(&format!("{OBJ}/{t}/batch/upsert"), again("x")).await;
    assert_eq!((r.status, r.body["results"][0]["new"].clone()), (200, json!(true)));
    assert_ne!(r.s("/results/0/id"), id);

    let (h, t, id) = archived(ArchivedUniqueValues::Restored).await;
    let r = h
        .post(
            &format!("{OBJ}/{t}/batch/create"),
            json!({"inputs": [{"properties": {"name": "c", "sf_id": "a"}}]}),
        )
        .await;
    assert_error_shape(&r, 409, "CONFLICT");
    let r = h.post(&format!("{OBJ}/{t}/batch/upsert"), again("x")).await;
    assert_eq!((r.status, r.body["results"][0]["new"].clone()), (200, json!(false)));
    assert_eq!(r.s("/results/0/id"), id);
    let r = h.get(&format!("{OBJ}/{t}/{id}?properties=name")).await;
    assert_eq!((r.status, r.s("/properties/name")), (200, "x"));

    let (h, t, id) = archived(ArchivedUniqueValues::Held).await;
    let r = h.post(&format!("{OBJ}/{t}/batch/upsert"), again("x")).await;
    assert_error_shape(&r, 409, "CONFLICT");
    assert_eq!(r.body["context"]["id"], json!([id]), "{}", r.body);
    assert_eq!(r.body["context"]["propertyName"], json!(["sf_id"]));
    let live = h.req(Method::POST, &format!("/_sim/restore/{t}/{id}"), None).await;
    assert_eq!(live.status, 204, "{}", live.body);
    let twice = h.req(Method::POST, &format!("/_sim/restore/{t}/{id}"), None).await;
    assert_eq!(twice.status, 409, "not archived any more: {}", twice.body);
    let r = h.post(&format!("{OBJ}/{t}/batch/upsert"), again("x")).await;
    assert_eq!((r.status, r.body["results"][0]["new"].clone()), (200, json!(false)));
    assert_eq!(r.s("/results/0/id"), id);
}

/// Restoring an archived record (HubSpot's UI) is refused while a live record holds its unique
/// value, as HubSpot refuses it for a contact whose email a live contact holds.
#[tokio::test]
async fn a_restore_is_refused_while_a_live_record_holds_its_unique_value() {
    let h = start(|b| b).await;
    let t = h.widget_schema().await;
    let r = h.post(&format!("{OBJ}/{t}/batch/upsert"), upsert_inputs(&["a"])).await;
    let first = r.s("/results/0/id").to_string();
    h.post(&format!("{OBJ}/{t}/batch/archive"), json!({"inputs": [{"id": first}]})).await;
    let r = h.post(&format!("{OBJ}/{t}/batch/upsert"), upsert_inputs(&["a"])).await;
    assert_eq!(r.body["results"][0]["new"], json!(true));
    let refused = h.sim.restore(&t, first.parse().unwrap());
    assert!(refused.as_ref().is_err_and(|e| e.contains("sf_id=a")), "{refused:?}");
}

#[tokio::test]
async fn single_record_endpoints() {
    let h = start(|b| b).await;
    let t = h.widget_schema().await;
    let r =
        h.post(&format!("{OBJ}/{t}"), json!({"properties": {"name": "one", "sf_id": "S"}})).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.s("/id").to_string();
    let r = h
        .req(
            Method::PATCH,
            &format!("{OBJ}/{t}/{id}"),
            Some(json!({"properties": {"amount": "3"}})),
        )
        .await;
    assert_eq!(r.s("/properties/amount"), "3");
    let r = h.get(&format!("{OBJ}/{t}/S?idProperty=sf_id&properties=amount,name")).await;
    assert_eq!(r.s("/properties/name"), "one");
    let r = h.req(Method::DELETE, &format!("{OBJ}/{t}/{id}"), None).await;
    assert_eq!(r.status, 204);
    let r = h.get(&format!("{OBJ}/{t}/{id}")).await;
    assert_error_shape(&r, 404, "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn rolling_window_headers_and_429() {
    let h = start(|b| b.burst_limit(3).burst_window(Duration::from_millis(400))).await;
    let mut remaining = vec![];
    for _ in 0..3 {
        let r = h.get("/crm-object-schemas/2026-09/schemas").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.headers["x-hubspot-ratelimit-max"], "3");
        assert_eq!(r.headers["x-hubspot-ratelimit-interval-milliseconds"], "400");
        assert_eq!(r.headers["x-hubspot-ratelimit-daily"], "1000000");
        remaining.push(r.headers["x-hubspot-ratelimit-remaining"].to_str().unwrap().to_string());
    }
    assert_eq!(remaining, vec!["2", "1", "0"]);
    let r = h.get("/crm-object-schemas/2026-09/schemas").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(r.body["errorType"], "RATE_LIMIT");
    assert_eq!(r.s("/message"), "You have reached your ten_secondly_rolling limit.");
    assert!(!r.s("/correlationId").is_empty());
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(h.get("/crm-object-schemas/2026-09/schemas").await.status, 200);
    assert_eq!(h.sim.counters().rate_limited_rolling, 1);
}

#[tokio::test]
async fn daily_limit_429() {
    let h = start(|b| b.daily_limit(2)).await;
    assert_eq!(h.get("/crm-object-schemas/2026-09/schemas").await.status, 200);
    let r = h.get("/crm-object-schemas/2026-09/schemas").await;
    assert_eq!(r.headers["x-hubspot-ratelimit-daily-remaining"], "0");
    let r = h.get("/crm-object-schemas/2026-09/schemas").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.body["policyName"], "DAILY");
    h.sim.reset_limits();
    assert_eq!(h.get("/crm-object-schemas/2026-09/schemas").await.status, 200);
}

#[tokio::test]
async fn search_filters_sort_paging_and_limits() {
    let h = start(|b| b.search_per_second(1000)).await;
    let t = h.widget_schema().await;
    let inputs: Vec<Value> = (0..30)
        .map(|i| json!({"idProperty": "sf_id", "id": format!("s{i:02}"), "properties": {"name": format!("item {i}"), "amount": i.to_string(), "color": if i % 2 == 0 {"red"} else {"blue"}}}))
        .collect();
    h.post(&format!("{OBJ}/{t}/batch/upsert"), json!({ "inputs": inputs })).await;
    let s = format!("{OBJ}/{t}/search");
    let r = h.post(&s, json!({"filterGroups": [{"filters": [{"propertyName": "color", "operator": "EQ", "value": "red"}, {"propertyName": "amount", "operator": "GTE", "value": "10"}]}], "sorts": [{"propertyName": "amount", "direction": "DESCENDING"}], "properties": ["amount"], "limit": 3})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["total"], json!(10));
    let amounts: Vec<&str> = r.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["properties"]["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, vec!["28", "26", "24"]);
    assert_eq!(r.s("/paging/next/after"), "3");
    assert!(
        r.headers.get("x-hubspot-ratelimit-max").is_none(),
        "search answers carry no rate-limit headers"
    );
    // OR of groups, IN, BETWEEN, HAS_PROPERTY.
    let r = h.post(&s, json!({"filterGroups": [
        {"filters": [{"propertyName": "sf_id", "operator": "IN", "values": ["s01", "s02"]}]},
        {"filters": [{"propertyName": "amount", "operator": "BETWEEN", "value": "20", "highValue": "21"}]}]})).await;
    assert_eq!(r.body["total"], json!(4));
    let r = h.post(&s, json!({"filterGroups": [{"filters": [{"propertyName": "due", "operator": "NOT_HAS_PROPERTY"}]}]})).await;
    assert_eq!(r.body["total"], json!(30));
    // Limits: groups, page size, the 10,000 cap, one sort.
    let six: Vec<Value> = (0..6).map(|_| json!({"filters": []})).collect();
    assert_eq!(h.post(&s, json!({ "filterGroups": six })).await.status, 400);
    assert_eq!(h.post(&s, json!({"limit": 201})).await.status, 400);
    assert_eq!(h.post(&s, json!({"after": "10000"})).await.status, 400);
    assert_eq!(h.post(&s, json!({"sorts": ["amount", "name"]})).await.status, 400);
}

#[tokio::test]
async fn search_has_its_own_secondly_limit() {
    let h = start(|b| b.search_per_second(5)).await;
    let t = h.widget_schema().await;
    let s = format!("{OBJ}/{t}/search");
    let mut statuses = vec![];
    for _ in 0..6 {
        statuses.push(h.post(&s, json!({})).await);
    }
    assert!(statuses[..5].iter().all(|r| r.status == 200));
    let r = &statuses[5];
    assert_eq!(r.status, 429);
    assert_eq!(r.s("/category"), "RATE_LIMITS");
    assert_eq!(r.s("/message"), "You have reached your secondly limit.");
}

#[tokio::test]
async fn search_indexing_delay() {
    let h = start(|b| b.search_indexing_delay(Duration::from_millis(300))).await;
    let t = h.widget_schema().await;
    h.post(&format!("{OBJ}/{t}/batch/upsert"), upsert_inputs(&["a"])).await;
    let s = format!("{OBJ}/{t}/search");
    assert_eq!(h.post(&s, json!({})).await.body["total"], json!(0));
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(h.post(&s, json!({})).await.body["total"], json!(1));
}

#[tokio::test]
async fn associations_labels_create_read_archive() {
    let h = start(|b| b).await;
    let t = h.widget_schema().await;
    let w = h.post(&format!("{OBJ}/{t}/batch/upsert"), upsert_inputs(&["w1", "w2"])).await;
    let (w1, w2) = (w.s("/results/0/id").to_string(), w.s("/results/1/id").to_string());
    let c = h
        .post(
            &format!("{OBJ}/contacts/batch/create"),
            json!({"inputs": [{"properties": {"email": "a@x.io"}}]}),
        )
        .await;
    let c1 = c.s("/results/0/id").to_string();
    for base in ["/crm/associations/2026-09", "/crm/v4/associations"] {
        let labels = h.get(&format!("{base}/{t}/contacts/labels")).await;
        assert_eq!(labels.status, 200, "{}", labels.body);
        assert_eq!(labels.body["results"][0]["category"], "USER_DEFINED");
        assert_eq!(labels.body["results"][0]["label"], Value::Null);
    }
    let labels = h.get(&format!("/crm/associations/2026-09/{t}/0-1/labels")).await;
    let type_id = labels.body["results"][0]["typeId"].as_u64().unwrap();
    assert!(type_id >= 100, "portal-specific ids");
    let create = json!({"inputs": [
        {"from": {"id": w1}, "to": {"id": c1}, "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": type_id}]},
        {"from": {"id": "424242"}, "to": {"id": c1}, "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": type_id}]},
    ]});
    let r = h.post(&format!("/crm/associations/2026-09/{t}/contacts/batch/create"), create).await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["errors"][0]["context"]["fromObjectId"], json!(["424242"]));
    // A wrong type id is refused.
    let bad = json!({"inputs": [{"from": {"id": w1}, "to": {"id": c1}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]}]});
    assert_eq!(
        h.post(&format!("/crm/associations/2026-09/{t}/contacts/batch/create"), bad).await.status,
        400
    );
    let r = h
        .post(
            &format!("/crm/v4/associations/{t}/contacts/batch/associate/default"),
            json!({"inputs": [{"from": {"id": w2}, "to": {"id": c1}}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Read from the contact's side: both widgets.
    let r = h
        .post(
            &format!("/crm/associations/2026-09/contacts/{t}/batch/read"),
            json!({"inputs": [{"id": c1}]}),
        )
        .await;
    assert_eq!(r.body["results"][0]["to"].as_array().unwrap().len(), 2, "{}", r.body);
    let r = h
        .post(
            &format!("/crm/associations/2026-09/{t}/contacts/batch/archive"),
            json!({"inputs": [{"from": {"id": w1}, "to": [{"id": c1}]}]}),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = h
        .post(
            &format!("/crm/associations/2026-09/contacts/{t}/batch/read"),
            json!({"inputs": [{"id": c1}]}),
        )
        .await;
    assert_eq!(r.body["results"][0]["to"].as_array().unwrap().len(), 1);
    let r = h.post(&format!("/crm/associations/2026-09/{t}/contacts/batch/labels/archive"), json!({"inputs": [{"from": {"id": w2}, "to": {"id": c1}, "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": type_id}]}]})).await;
    assert_eq!(r.status, 204);
    let r = h
        .post(
            &format!("/crm/associations/2026-09/contacts/{t}/batch/read"),
            json!({"inputs": [{"id": c1}]}),
        )
        .await;
    assert_eq!(r.body["results"].as_array().unwrap().len(), 0);
    // Types the schema does not associate.
    let r = h.get(&format!("/crm/associations/2026-09/{t}/deals/labels")).await;
    assert_eq!(r.status, 400);
    // Built-in labels.
    let r = h.get("/crm/associations/2026-09/contacts/companies/labels").await;
    assert_eq!(r.body["results"][0]["typeId"], json!(279));
}

#[tokio::test]
async fn faults_next_n_share_retry_after_latency_drop() {
    let h = start(|b| b.burst_limit(10_000)).await;
    h.sim.inject(Fault::new(FaultKind::ServiceUnavailable).times(2));
    let a = h.get("/crm-object-schemas/2026-09/schemas").await;
    let b = h.get("/crm-object-schemas/2026-09/schemas").await;
    let c = h.get("/crm-object-schemas/2026-09/schemas").await;
    assert_eq!((a.status, b.status, c.status), (503, 503, 200));
    assert!(!a.s("/correlationId").is_empty());
    for (kind, status) in [
        (FaultKind::Locked, 423),
        (FaultKind::MigrationInProgress, 477),
        (FaultKind::InternalError, 500),
        (FaultKind::BadGateway, 502),
        (FaultKind::GatewayTimeout, 504),
        (FaultKind::RateLimit, 429),
    ] {
        h.sim.inject(Fault::new(kind).times(1).retry_after(3));
        let r = h.get("/crm-object-schemas/2026-09/schemas").await;
        assert_eq!(r.status, status);
        assert_eq!(r.headers["retry-after"], "3");
    }
    h.sim.inject(Fault::new(FaultKind::DailyLimit).times(1));
    assert_eq!(h.get("/crm-object-schemas/2026-09/schemas").await.body["policyName"], "DAILY");
    // A share of calls, on one path only.
    h.sim.reset_counters();
    h.sim.inject(Fault::new(FaultKind::InternalError).share(0.5).on_path("/schemas"));
    for _ in 0..200 {
        h.get("/crm-object-schemas/2026-09/schemas").await;
    }
    let failed = h.sim.counters().status(500);
    println!("share 0.5 -> {failed}/200 faulted");
    assert!((60..=140).contains(&failed), "{failed}");
    assert_eq!(
        h.get("/crm/properties/2026-09/contacts").await.status,
        200,
        "other paths unaffected"
    );
    h.sim.clear_faults();
    // Latency then a normal answer; a dropped connection is a transport error.
    h.sim.inject(Fault::new(FaultKind::Latency).latency(50).times(1));
    assert_eq!(h.get("/crm-object-schemas/2026-09/schemas").await.status, 200);
    h.sim.inject(Fault::new(FaultKind::DropConnection).times(1));
    let url = format!("{}/crm-object-schemas/2026-09/schemas", h.sim.base_url());
    let res = async { h.http.get(&url).bearer_auth(TOKEN).send().await?.bytes().await }.await;
    assert!(res.is_err(), "dropped connection must fail: {res:?}");
    assert_eq!(h.sim.counters().status(0), 1);
}

#[tokio::test]
async fn control_api_over_http() {
    let h: Http = start(|b| b).await;
    let base = h.sim.base_url();
    let faults = json!([{"kind": "bad_gateway", "count": 1}]);
    let r = h.http.post(format!("{base}/_sim/faults")).json(&faults).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(h.get("/crm-object-schemas/2026-09/schemas").await.status, 502);
    let counters: Value =
        h.http.get(format!("{base}/_sim/counters")).send().await.unwrap().json().await.unwrap();
    assert_eq!(counters["by_status"]["502"], json!(1));
    assert_eq!(counters["by_endpoint"]["GET /crm-object-schemas/{ver}/schemas"]["502"], json!(1));
    let r = h
        .http
        .patch(format!("{base}/_sim/config"))
        .json(&json!({"burst_limit": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    h.get("/crm-object-schemas/2026-09/schemas").await;
    assert_eq!(h.get("/crm-object-schemas/2026-09/schemas").await.status, 429);
    h.widget_schema_after_reset(&base).await;
}

impl Http {
    async fn widget_schema_after_reset(&self, base: &str) {
        assert_eq!(
            self.http.post(format!("{base}/_sim/limits/reset")).send().await.unwrap().status(),
            204
        );
        let t = self.widget_schema().await;
        let state: Value =
            self.http.get(format!("{base}/_sim/state")).send().await.unwrap().json().await.unwrap();
        assert_eq!(state["objectTypes"][&t]["name"], "widget");
        assert_eq!(
            self.http.post(format!("{base}/_sim/reset")).send().await.unwrap().status(),
            204
        );
        let state: Value =
            self.http.get(format!("{base}/_sim/state")).send().await.unwrap().json().await.unwrap();
        assert!(state["objectTypes"].get(&t).is_none());
    }
}
