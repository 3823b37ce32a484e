//! Golden shapes: every endpoint the client calls, answered with the response HubSpot documents
//! (the fixtures in `tests/golden/`, each written from the reference page named in
//! `tests/golden/SOURCES.md`), by a fixed-answer server, not by the project's simulator. When
//! the simulator and the client share a misreading of HubSpot, these tests still fail.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use common::config;
use serde_json::{Value, json};
use sfhs_hubspot::{
    ApiVersion, AssociationCategory, AssociationPair, AssociationType, CreateInput, Error,
    HubSpotClient, UpsertInput,
};

const INVOICE: &str = "2-9273846";
const LINE: &str = "2-9273847";

fn golden(name: &str) -> String {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One canned answer: for `METHOD path` (and, when set, a query that contains `query`).
struct Canned {
    method: Method,
    path: String,
    query: Option<&'static str>,
    status: u16,
    body: String,
}

fn canned(method: Method, path: &str, status: u16, fixture: &str) -> Canned {
    Canned {
        method,
        path: path.to_owned(),
        query: None,
        status,
        body: if fixture.is_empty() { String::new() } else { golden(fixture) },
    }
}

#[derive(Default)]
struct Seen {
    requests: Vec<(String, String, Value)>,
}

type Shared = Arc<(Vec<Canned>, Mutex<Seen>)>;

async fn answer(State(s): State<Shared>, method: Method, uri: Uri, body: Bytes) -> Response {
    let query = uri.query().unwrap_or("");
    s.1.lock().unwrap().requests.push((
        method.to_string(),
        uri.path().to_owned(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    ));
    let hit = s.0.iter().find(|c| {
        c.method == method && c.path == uri.path() && c.query.is_none_or(|q| query.contains(q))
    });
    match hit {
        Some(c) => {
            let status = StatusCode::from_u16(c.status).unwrap();
            if c.body.is_empty() {
                status.into_response()
            } else {
                (status, [("content-type", "application/json;charset=utf-8")], c.body.clone())
                    .into_response()
            }
        }
        None => {
            (StatusCode::NOT_FOUND, format!("no golden answer for {method} {uri}")).into_response()
        }
    }
}

/// A server answering each canned route; returns the client and the log of requests.
async fn serve(routes: Vec<Canned>) -> (HubSpotClient, Shared) {
    let shared: Shared = Arc::new((routes, Mutex::new(Seen::default())));
    let app = Router::new().fallback(answer).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let client =
        HubSpotClient::new(config(&format!("http://{addr}"), ApiVersion::V2026_09)).unwrap();
    (client, shared)
}

fn objects(rest: &str) -> String {
    format!("/crm/objects/2026-09/{rest}")
}

fn assoc(rest: &str) -> String {
    format!("/crm/associations/2026-09/{LINE}/{INVOICE}{rest}")
}

#[tokio::test]
async fn schemas_schema_and_properties_decode() {
    let (client, _) = serve(vec![
        canned(Method::GET, "/crm-object-schemas/2026-09/schemas", 200, "schemas_list.json"),
        canned(
            Method::GET,
            "/crm-object-schemas/2026-09/schemas/p12345678_invoice",
            200,
            "schema.json",
        ),
        canned(Method::POST, "/crm-object-schemas/2026-09/schemas", 201, "schema.json"),
        canned(Method::GET, &format!("/crm/properties/2026-09/{INVOICE}"), 200, "properties.json"),
    ])
    .await;
    let all = client.schemas().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].object_type_id, INVOICE);
    assert_eq!(all[0].fully_qualified_name.as_deref(), Some("p12345678_invoice"));
    client.invalidate_caches();
    let one = client.schema("p12345678_invoice").await.unwrap();
    assert_eq!(one.name, "invoice");
    assert_eq!(one.required_properties, ["sf_id"]);
    assert!(one.property("sf_id").unwrap().has_unique_value);
    assert_eq!(one.associations[0].to_object_type_id.as_deref(), Some("0-2"));
    let created = client.create_schema(&json!({"name": "invoice"})).await.unwrap();
    assert_eq!(created.object_type_id, INVOICE);
    let props = client.properties(INVOICE).await.unwrap();
    let status = props.iter().find(|p| p.name == "status").unwrap();
    assert_eq!(status.type_, "enumeration");
    assert_eq!(status.options.len(), 2);
    assert_eq!(status.options[1].value, "Sent");
}

#[tokio::test]
async fn upsert_answer_decodes_with_new_flags_and_null_values() {
    let (client, _) = serve(vec![canned(
        Method::POST,
        &objects(&format!("{INVOICE}/batch/upsert")),
        200,
        "batch_upsert.json",
    )])
    .await;
    let out = client
        .batch_upsert(
            INVOICE,
            "sf_id",
            vec![
                UpsertInput::new("a01000000000001AAA", [("name", "INV-1")]),
                UpsertInput::new("a01000000000002AAA", [("name", "INV-2")]),
            ],
        )
        .await
        .unwrap();
    assert!(out.failures.is_empty());
    assert_eq!(out.successes.len(), 2);
    assert_eq!(out.successes[0].id, "512");
    assert_eq!(out.successes[0].new, Some(true));
    assert_eq!(out.successes[1].new, Some(false));
    assert_eq!(out.successes[0].get("amount"), None);
    assert_eq!(out.successes[0].get("sf_id"), Some("a01000000000001AAA"));
}

#[tokio::test]
async fn create_multi_status_names_the_refused_input() {
    let (client, shared) = serve(vec![canned(
        Method::POST,
        &objects(&format!("{LINE}/batch/create")),
        207,
        "batch_create_multi_status.json",
    )])
    .await;
    let ty = AssociationType {
        association_category: AssociationCategory::HubspotDefined,
        association_type_id: 581,
    };
    let input = |id: &str| CreateInput {
        trace: id.into(),
        properties: [("sf_id".to_string(), id.to_string())].into(),
        associations: vec![("512".into(), ty)],
    };
    let out = client
        .batch_create(LINE, vec![input("a02000000000001AAA"), input("a02000000000002AAA")])
        .await
        .unwrap();
    assert_eq!(out.successes.len(), 1);
    assert_eq!(out.successes[0].object_write_trace_id.as_deref(), Some("a02000000000001AAA"));
    assert_eq!(out.failures.len(), 1);
    let f = &out.failures[0];
    assert_eq!(f.ids, ["a02000000000002AAA"]);
    assert_eq!(f.code.as_deref(), Some("INVALID_FLOAT"));
    assert!(!f.retryable);
    // The request carried the associations inline, as HubSpot's create input documents them.
    let seen = shared.1.lock().unwrap();
    let body = &seen.requests[0].2;
    assert_eq!(
        body["inputs"][0]["associations"][0],
        json!({"to": {"id": "512"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 581}]})
    );
}

#[tokio::test]
async fn batch_read_multi_status_reports_missing_ids_as_404() {
    let (client, _) = serve(vec![canned(
        Method::POST,
        &objects(&format!("{INVOICE}/batch/read")),
        207,
        "batch_read_multi_status.json",
    )])
    .await;
    let out = client
        .batch_read(
            INVOICE,
            &["a01000000000001AAA".into(), "a01000000000009AAA".into()],
            Some("sf_id"),
            &["sf_id"],
        )
        .await
        .unwrap();
    assert_eq!(out.successes[0].id, "512");
    assert_eq!(out.failures[0].status, 404);
    assert_eq!(out.failures[0].ids, ["a01000000000009AAA"]);
}

#[tokio::test]
async fn list_pages_follow_paging_next_after() {
    let mut page2 = canned(Method::GET, &objects(INVOICE), 200, "list_page2.json");
    page2.query = Some("after=513");
    let (client, shared) =
        serve(vec![page2, canned(Method::GET, &objects(INVOICE), 200, "list_page1.json")]).await;
    let all = client.list_all(INVOICE, &["sf_id"]).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["512", "513"]);
    assert_eq!(shared.1.lock().unwrap().requests.len(), 2);
}

#[tokio::test]
async fn search_answer_decodes() {
    let (client, shared) = serve(vec![canned(
        Method::POST,
        &objects(&format!("{INVOICE}/search")),
        200,
        "search.json",
    )])
    .await;
    let found = client
        .search_by_property(INVOICE, "sf_id", &["a01000000000001AAA".into()], &["sf_id"])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].get("sf_id"), Some("a01000000000001AAA"));
    let seen = shared.1.lock().unwrap();
    let body = &seen.requests[0].2;
    assert_eq!(body["filterGroups"][0]["filters"][0]["operator"], "IN");
}

#[tokio::test]
async fn association_labels_decode_with_null_label() {
    let (client, _) =
        serve(vec![canned(Method::GET, &assoc("/labels"), 200, "association_labels.json")]).await;
    let labels = client.association_labels(LINE, INVOICE).await.unwrap();
    assert_eq!(labels.len(), 2);
    assert_eq!(labels[0].type_id, 581);
    assert_eq!(labels[0].label, None);
    assert_eq!(labels[1].category, AssociationCategory::UserDefined);
    assert_eq!(labels[1].label.as_deref(), Some("Billing"));
}

#[tokio::test]
async fn associate_default_answer_is_from_to_association_spec() {
    let (client, _) = serve(vec![canned(
        Method::POST,
        &assoc("/batch/associate/default"),
        200,
        "associate_default.json",
    )])
    .await;
    let out = client
        .batch_associate_default(LINE, INVOICE, &[AssociationPair::new("601", "512")])
        .await
        .unwrap();
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    assert!(out.successes.contains(&AssociationPair::new("601", "512")));
}

#[tokio::test]
async fn associate_labelled_answer_is_object_ids_and_labels() {
    let (client, _) =
        serve(vec![canned(Method::POST, &assoc("/batch/create"), 201, "associate_labelled.json")])
            .await;
    let ty = AssociationType {
        association_category: AssociationCategory::UserDefined,
        association_type_id: 583,
    };
    let out = client
        .batch_associate(LINE, INVOICE, &[AssociationPair::new("601", "512")], &[ty])
        .await
        .unwrap();
    assert!(out.failures.is_empty());
    assert_eq!(out.successes, [AssociationPair::new("601", "512")]);
}

#[tokio::test]
async fn association_read_and_archive() {
    let (client, shared) = serve(vec![
        canned(Method::POST, &assoc("/batch/read"), 200, "association_read.json"),
        canned(Method::POST, &assoc("/batch/archive"), 204, ""),
    ])
    .await;
    let read = client.read_associations(LINE, INVOICE, &["601".into()]).await.unwrap();
    assert_eq!(read["601"], ["512", "514"]);
    client
        .batch_archive_associations(LINE, INVOICE, &[AssociationPair::new("601", "512")])
        .await
        .unwrap();
    let seen = shared.1.lock().unwrap();
    assert_eq!(
        seen.requests[1].2,
        json!({"inputs": [{"from": {"id": "601"}, "to": [{"id": "512"}]}]})
    );
}

/// Invariant 8: a write HubSpot accepted is never recorded as failed because its answer
/// surprised the client. The client reads the pairs back: what is there succeeded, what is not
/// is a retryable failure.
#[tokio::test]
async fn an_unreadable_success_is_settled_by_reading_back() {
    let mut routes =
        vec![canned(Method::POST, &assoc("/batch/read"), 200, "association_read.json")];
    routes.push(Canned {
        method: Method::POST,
        path: assoc("/batch/associate/default"),
        query: None,
        status: 200,
        body: r#"{"status":"COMPLETE","results":[{"pair":{"a":"601","b":"512"}}]}"#.into(),
    });
    let (client, shared) = serve(routes).await;
    let out = client
        .batch_associate_default(
            LINE,
            INVOICE,
            &[AssociationPair::new("601", "512"), AssociationPair::new("601", "999")],
        )
        .await
        .unwrap();
    assert_eq!(out.successes, [AssociationPair::new("601", "512")]);
    assert_eq!(out.failures.len(), 1);
    assert_eq!(out.failures[0].ids, ["601"]);
    assert!(out.failures[0].retryable);
    let paths: Vec<String> =
        shared.1.lock().unwrap().requests.iter().map(|r| r.1.clone()).collect();
    assert_eq!(paths, [assoc("/batch/associate/default"), assoc("/batch/read")]);
}

#[tokio::test]
async fn error_bodies_decode_into_classified_errors() {
    let (client, _) = serve(vec![
        canned(
            Method::POST,
            &objects(&format!("{INVOICE}/batch/upsert")),
            400,
            "error_validation.json",
        ),
        canned(
            Method::GET,
            "/crm-object-schemas/2026-09/schemas",
            429,
            "error_rate_limit_daily.json",
        ),
    ])
    .await;
    let out = client
        .batch_upsert(
            INVOICE,
            "sf_id",
            vec![UpsertInput::new("a01000000000001AAA", [("colour", "red")])],
        )
        .await
        .unwrap();
    let f = &out.failures[0];
    assert_eq!(f.status, 400);
    assert_eq!(f.code.as_deref(), Some("PROPERTY_DOESNT_EXIST"));
    assert_eq!(f.property.as_deref(), Some("colour"));
    assert_eq!(f.correlation_id.as_deref(), Some("aeb5f871-7f07-4993-9211-075dc63e7cbf"));
    let err = client.schemas().await.unwrap_err();
    assert!(matches!(err, Error::DailyLimit { .. }), "{err}");
    assert!(!err.is_retryable());
}

#[test]
fn every_fixture_is_json_and_named_in_sources() {
    let dir = format!("{}/tests/golden", env!("CARGO_MANIFEST_DIR"));
    let sources = std::fs::read_to_string(format!("{dir}/SOURCES.md")).unwrap();
    let mut seen: HashMap<String, bool> = HashMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(".json") {
            let text = golden(&name);
            serde_json::from_str::<Value>(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            seen.insert(stem.to_owned(), sources.contains(&format!("`{name}`")));
        }
    }
    let unnamed: Vec<&String> = seen.iter().filter(|(_, v)| !**v).map(|(k, _)| k).collect();
    assert!(unnamed.is_empty(), "fixtures not in SOURCES.md: {unnamed:?}");
    assert!(seen.len() >= 15);
}

/// The same for records: an upsert accepted with an unreadable answer is settled by reading
/// the records back by their id property.
#[tokio::test]
async fn an_unreadable_upsert_success_is_settled_by_reading_back() {
    let (client, shared) = serve(vec![
        Canned {
            method: Method::POST,
            path: objects(&format!("{INVOICE}/batch/upsert")),
            query: None,
            status: 200,
            body: r#"{"status":"COMPLETE","results":[{"objectId":512}]}"#.into(),
        },
        canned(
            Method::POST,
            &objects(&format!("{INVOICE}/batch/read")),
            207,
            "batch_read_multi_status.json",
        ),
    ])
    .await;
    let out = client
        .batch_upsert(
            INVOICE,
            "sf_id",
            vec![
                UpsertInput::new("a01000000000001AAA", [("name", "INV-1")]),
                UpsertInput::new("a01000000000009AAA", [("name", "INV-9")]),
            ],
        )
        .await
        .unwrap();
    assert_eq!(out.successes.len(), 1);
    assert_eq!(out.successes[0].id, "512");
    assert_eq!(out.failures.len(), 1);
    assert_eq!(out.failures[0].ids, ["a01000000000009AAA"]);
    assert!(out.failures[0].retryable);
    assert_eq!(shared.1.lock().unwrap().requests.len(), 2);
}

/// And for creates, through the sync adapter the engine uses: created records are found by their
/// id property; a record not there is a retryable failure, not an error record.
#[tokio::test]
async fn an_unreadable_create_success_is_settled_by_reading_back() {
    use sfhs_core::sync::{ByProperty, CreateRecord, HubSpotWriter, Writes};
    let (client, _) = serve(vec![
        Canned {
            method: Method::POST,
            path: objects(&format!("{INVOICE}/batch/create")),
            query: None,
            status: 201,
            body: r#"{"status":"COMPLETE","results":"unexpected"}"#.into(),
        },
        canned(
            Method::POST,
            &objects(&format!("{INVOICE}/batch/read")),
            207,
            "batch_read_multi_status.json",
        ),
    ])
    .await;
    let record = |id: &str| CreateRecord {
        id: id.into(),
        properties: [("name".to_string(), id.to_string())].into(),
        associations: vec![],
    };
    let batch = Writes {
        by: ByProperty::new(INVOICE, "sf_id"),
        records: vec![record("a01000000000001AAA"), record("a01000000000009AAA")],
    };
    let out = HubSpotWriter::create(&client, batch).await.unwrap();
    let created = out["a01000000000001AAA"].as_ref().unwrap();
    assert_eq!(created.hubspot_id, "512");
    let missing = out["a01000000000009AAA"].as_ref().unwrap_err();
    assert!(missing.retryable, "{missing:?}");
}
