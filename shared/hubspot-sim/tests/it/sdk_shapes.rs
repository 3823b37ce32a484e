//! Answers in the shapes HubSpot's official SDK (hubspot-api-client 12, client-side validation on)
//! requires, found by the conformance suite (`conformance/hubspot`), and the request log.

#![allow(clippy::unwrap_used)]

use crate::common;

use common::{Http, start, upsert_inputs};
use reqwest::Method;
use serde_json::{Value, json};
use sfhs_hubspot_sim::RecordedRequest;

const OBJ: &str = "/crm/objects/2026-09";

/// A widget schema, `n` widgets and `n` contacts; returns (type, widget ids, contact ids).
async fn widgets_and_contacts(h: &Http, n: usize) -> (String, Vec<String>, Vec<String>) {
    let t = h.widget_schema().await;
    let names: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let w = h.post(&format!("{OBJ}/{t}/batch/upsert"), upsert_inputs(&refs)).await;
    let inputs: Vec<Value> =
        (0..n).map(|i| json!({"properties": {"email": format!("c{i}@x.io")}})).collect();
    let c = h.post(&format!("{OBJ}/contacts/batch/create"), json!({ "inputs": inputs })).await;
    let ids = |v: &Value| -> Vec<String> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    (t, ids(&w.body), ids(&c.body))
}

#[tokio::test]
async fn associate_default_answers_public_default_associations() {
    let h = start(|b| b).await;
    let (t, w, c) = widgets_and_contacts(&h, 2).await;
    let labels = h.get(&format!("/crm/v4/associations/{t}/contacts/labels")).await;
    let type_id = labels.body["results"][0]["typeId"].clone();
    for (base, i) in [("/crm/v4/associations", 0), ("/crm/associations/2026-03", 1)] {
        let r = h
            .post(
                &format!("{base}/{t}/contacts/batch/associate/default"),
                json!({"inputs": [{"from": {"id": w[i]}, "to": {"id": c[i]}}]}),
            )
            .await;
        assert_eq!(r.status, 200, "{base}: {}", r.body);
        assert_eq!(r.s("/status"), "COMPLETE");
        assert!(!r.s("/startedAt").is_empty() && !r.s("/completedAt").is_empty());
        assert_eq!(
            r.body["results"],
            json!([{
                "from": {"id": w[i]},
                "to": {"id": c[i]},
                "associationSpec": {"associationCategory": "USER_DEFINED", "associationTypeId": type_id},
            }]),
            "{base}"
        );
    }
    // The labelled batch/create keeps its own shape and status.
    let r = h
        .post(
            &format!("/crm/v4/associations/{t}/contacts/batch/create"),
            json!({"inputs": [{"from": {"id": w[0]}, "to": {"id": c[1]}, "types": [{"associationCategory": "USER_DEFINED", "associationTypeId": type_id}]}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.body["results"][0],
        json!({"fromObjectTypeId": t, "fromObjectId": w[0], "toObjectTypeId": "0-1", "toObjectId": c[1], "labels": []}),
        "ids are strings, as the SDK's LabelsBetweenObjectPair declares"
    );
    // batch/read names targets by string ids too.
    let r = h
        .post(
            &format!("/crm/v4/associations/{t}/contacts/batch/read"),
            json!({"inputs": [{"id": w[0]}]}),
        )
        .await;
    assert_eq!(r.body["results"][0]["to"][0]["toObjectId"], json!(c[0]));
}

#[tokio::test]
async fn schema_patch_answers_the_object_type_definition() {
    let h = start(|b| b).await;
    let t = h.widget_schema().await;
    let r = h
        .req(
            Method::PATCH,
            &format!("/crm-object-schemas/2026-09/schemas/{t}"),
            Some(json!({"labels": {"singular": "Gadget", "plural": "Gadgets"}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.s("/objectTypeId"), t);
    assert_eq!(r.s("/labels/singular"), "Gadget");
    assert_eq!(r.body["portalId"], json!(12_345_678));
    for key in ["id", "name", "fullyQualifiedName", "requiredProperties", "createdAt", "updatedAt"]
    {
        assert!(r.body.get(key).is_some(), "{key}: {}", r.body);
    }
    assert!(r.body.get("properties").is_none(), "{}", r.body);
    assert!(r.body.get("associations").is_none(), "{}", r.body);
    // GET still answers the whole schema.
    let r = h.get(&format!("/crm-object-schemas/2026-09/schemas/{t}")).await;
    assert!(r.body["properties"].is_array() && r.body["associations"].is_array());
}

#[tokio::test]
async fn one_records_associations_page_by_limit_and_after() {
    let h = start(|b| b).await;
    let (t, w, c) = widgets_and_contacts(&h, 3).await;
    let inputs: Vec<Value> =
        c.iter().map(|ci| json!({"from": {"id": w[0]}, "to": {"id": ci}})).collect();
    let r = h
        .post(
            &format!("/crm/v4/associations/{t}/contacts/batch/associate/default"),
            json!({ "inputs": inputs }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for base in ["/crm/v4/objects", "/crm/objects/2026-03", "/crm/objects/2026-09"] {
        let path = format!("{base}/{t}/{}/associations/contacts", w[0]);
        let first = h.get(&format!("{path}?limit=2")).await;
        assert_eq!(first.status, 200, "{base}: {}", first.body);
        let results = first.body["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0]["toObjectId"], json!(c[0]), "ids are strings");
        assert_eq!(results[0]["associationTypes"][0]["category"], json!("USER_DEFINED"));
        assert!(results[0]["associationTypes"][0]["typeId"].is_u64());
        assert!(results[0]["associationTypes"][0].as_object().unwrap().contains_key("label"));
        let after = first.s("/paging/next/after").to_string();
        assert!(!after.is_empty(), "{}", first.body);
        let rest = h.get(&format!("{path}?limit=2&after={after}")).await;
        assert_eq!(rest.body["results"].as_array().unwrap().len(), 1);
        assert_eq!(rest.body["results"][0]["toObjectId"], json!(c[2]));
        assert!(rest.body.get("paging").is_none(), "{}", rest.body);
        // Default limit (500): everything on one page.
        let all = h.get(&path).await;
        assert_eq!(all.body["results"].as_array().unwrap().len(), 3);
    }
    // The inverse direction, by type name.
    let r = h.get(&format!("/crm/v4/objects/contacts/{}/associations/{t}", c[1])).await;
    assert_eq!(r.body["results"][0]["toObjectId"], json!(w[0]));
    // A record without associations: an empty page.
    let r = h.get(&format!("/crm/v4/objects/{t}/{}/associations/contacts", w[2])).await;
    assert_eq!((r.status, &r.body), (200, &json!({"results": []})));
    // Types the schema does not associate; unknown versions.
    let r = h.get(&format!("/crm/v4/objects/{t}/{}/associations/deals", w[0])).await;
    assert_eq!(r.status, 400);
    let r = h.get(&format!("/crm/objects/2019-01/{t}/{}/associations/contacts", w[0])).await;
    assert_eq!(r.status, 404);
}

#[tokio::test]
async fn archived_query_flag_is_read_without_regard_to_case() {
    let h = start(|b| b).await;
    let t = h.widget_schema().await;
    let r = h.post(&format!("{OBJ}/{t}/batch/upsert"), upsert_inputs(&["a"])).await;
    let id = r.s("/results/0/id").to_string();
    let r = h.req(Method::DELETE, &format!("{OBJ}/{t}/{id}"), None).await;
    assert_eq!(r.status, 204);
    for flag in ["true", "True", "TRUE"] {
        let r = h.get(&format!("{OBJ}/{t}/{id}?archived={flag}")).await;
        assert_eq!(r.status, 200, "archived={flag}: {}", r.body);
        assert_eq!(r.body["archived"], json!(true));
        let r = h.get(&format!("/crm/v3/objects/{t}?archived={flag}")).await;
        assert_eq!(r.s("/results/0/id"), id, "list archived={flag}");
        let r = h
            .post(&format!("{OBJ}/{t}/batch/read?archived={flag}"), json!({"inputs": [{"id": id}]}))
            .await;
        assert_eq!(r.status, 200, "batch read archived={flag}: {}", r.body);
        assert_eq!(r.s("/results/0/id"), id);
    }
    for flag in ["false", "False", "yes"] {
        let r = h.get(&format!("{OBJ}/{t}/{id}?archived={flag}")).await;
        assert_eq!(r.status, 404, "archived={flag}");
    }
}

fn assert_standard_error(e: &Value) {
    for key in ["status", "category", "message"] {
        assert!(e[key].is_string(), "{key} in {e}");
    }
    assert!(e["context"].is_object(), "context in {e}");
    assert!(e["errors"].is_array(), "errors in {e}");
    assert!(e["links"].is_object(), "links in {e}");
}

#[tokio::test]
async fn batch_errors_carry_every_standard_error_field() {
    let h = start(|b| b).await;
    let (t, w, c) = widgets_and_contacts(&h, 1).await;
    let r = h
        .post(&format!("{OBJ}/{t}/batch/read"), json!({"inputs": [{"id": w[0]}, {"id": "999"}]}))
        .await;
    assert_eq!(r.status, 207);
    assert_standard_error(&r.body["errors"][0]);
    assert_eq!(r.body["errors"][0]["context"]["ids"], json!(["999"]));
    let r = h
        .post(
            &format!("{OBJ}/{t}/batch/update"),
            json!({"inputs": [{"id": "999", "properties": {"amount": "1"}}]}),
        )
        .await;
    assert_eq!(r.status, 207);
    assert_standard_error(&r.body["errors"][0]);
    let r = h
        .post(
            &format!("{OBJ}/{t}/batch/create"),
            json!({"inputs": [
                {"objectWriteTraceId": "t1", "properties": {"name": "ok"}},
                {"objectWriteTraceId": "t2", "properties": {"name": "bad", "amount": "1,000"}},
            ]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    let e = &r.body["errors"][0];
    assert_standard_error(e);
    assert_eq!(e["category"], "VALIDATION_ERROR");
    assert_eq!(e["context"]["objectWriteTraceId"], json!(["t2"]));
    assert_eq!(e["errors"][0]["code"], "INVALID_NUMBER");
    let r = h
        .post(
            &format!("/crm/v4/associations/{t}/contacts/batch/associate/default"),
            json!({"inputs": [{"from": {"id": "999"}, "to": {"id": c[0]}}]}),
        )
        .await;
    assert_eq!(r.status, 207);
    assert_standard_error(&r.body["errors"][0]);
    let r = h
        .post(
            &format!("/crm/v4/associations/{t}/contacts/batch/read"),
            json!({"inputs": [{"id": "999"}]}),
        )
        .await;
    assert_eq!(r.status, 207);
    assert_standard_error(&r.body["errors"][0]);
}

#[tokio::test]
async fn requests_are_recorded_except_control_calls() {
    let h = start(|b| b).await;
    let base = h.sim.base_url();
    h.post(
        "/crm/objects/2026-09/contacts/batch/create?x=1",
        json!({"inputs": [{"properties": {"email": "a@x.io"}}]}),
    )
    .await;
    h.get("/crm/v3/objects/contacts?archived=True&limit=2").await;
    h.get("/crm/v3/not/a/route").await;
    let raw = h
        .http
        .post(format!("{base}/crm/v3/objects/contacts/search"))
        .bearer_auth(common::TOKEN)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    h.get("/_sim/config").await;
    let expected = vec![
        RecordedRequest {
            method: "POST".into(),
            path: "/crm/objects/2026-09/contacts/batch/create".into(),
            query: "x=1".into(),
            body: json!({"inputs": [{"properties": {"email": "a@x.io"}}]}),
        },
        RecordedRequest {
            method: "GET".into(),
            path: "/crm/v3/objects/contacts".into(),
            query: "archived=True&limit=2".into(),
            body: Value::Null,
        },
        RecordedRequest {
            method: "GET".into(),
            path: "/crm/v3/not/a/route".into(),
            query: String::new(),
            body: Value::Null,
        },
        RecordedRequest {
            method: "POST".into(),
            path: "/crm/v3/objects/contacts/search".into(),
            query: String::new(),
            body: Value::Null,
        },
    ];
    assert_eq!(h.sim.requests(), expected);
    let r = h.get("/_sim/requests").await;
    let listed: Vec<RecordedRequest> = serde_json::from_value(r.body["results"].clone()).unwrap();
    assert_eq!(listed, expected);
    // `POST /_sim/reset` drops the data, not the log; `DELETE /_sim/requests` clears it.
    assert_eq!(h.req(Method::POST, "/_sim/reset", None).await.status, 204);
    assert_eq!(h.sim.requests().len(), 4);
    assert_eq!(h.req(Method::DELETE, "/_sim/requests", None).await.status, 204);
    assert!(h.sim.requests().is_empty());
    assert_eq!(h.get("/_sim/requests").await.body, json!({"results": []}));
}
