#![allow(dead_code, clippy::unwrap_used)]

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sfhs_hubspot_sim::{HubSpotSim, RunningSim};

pub const TOKEN: &str = sfhs_hubspot_sim::DEFAULT_TOKEN;

pub struct Http {
    pub sim: RunningSim,
    pub http: reqwest::Client,
    pub token: String,
}

pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn s(&self, ptr: &str) -> &str {
        self.body.pointer(ptr).and_then(Value::as_str).unwrap_or("")
    }
}

pub async fn start(f: impl FnOnce(HubSpotSim) -> HubSpotSim) -> Http {
    let sim = f(HubSpotSim::builder()).start().await.unwrap();
    Http { sim, http: reqwest::Client::new(), token: TOKEN.into() }
}

impl Http {
    pub async fn req(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.req_as(&self.token, method, path, body).await
    }

    pub async fn req_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut r = self.http.request(method, format!("{}{path}", self.sim.base_url()));
        if !token.is_empty() {
            r = r.bearer_auth(token);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Reply { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.req(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.req(Method::POST, path, Some(body)).await
    }

    /// Creates the test schema `widget` with a unique `sf_id`, and returns its objectTypeId.
    pub async fn widget_schema(&self) -> String {
        let r = self.post("/crm-object-schemas/2026-09/schemas", widget_schema_json()).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.s("/objectTypeId").to_string()
    }
}

pub fn widget_schema_json() -> Value {
    json!({
        "name": "widget",
        "labels": {"singular": "Widget", "plural": "Widgets"},
        "primaryDisplayProperty": "name",
        "requiredProperties": ["name"],
        "searchableProperties": ["name"],
        "associatedObjects": ["CONTACT"],
        "properties": [
            {"name": "name", "label": "Name"},
            {"name": "sf_id", "label": "Salesforce Id", "type": "string", "fieldType": "text", "hasUniqueValue": true},
            {"name": "amount", "label": "Amount", "type": "number", "fieldType": "number"},
            {"name": "active", "label": "Active", "type": "bool", "fieldType": "booleancheckbox"},
            {"name": "due", "label": "Due", "type": "date", "fieldType": "date"},
            {"name": "seen_at", "label": "Seen at", "type": "datetime", "fieldType": "date"},
            {"name": "color", "label": "Color", "type": "enumeration", "fieldType": "select",
             "options": [{"label": "Red", "value": "red"}, {"label": "Blue", "value": "blue"}]},
            {"name": "tags", "label": "Tags", "type": "enumeration", "fieldType": "checkbox",
             "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}]}
        ]
    })
}

pub fn upsert_inputs(ids: &[&str]) -> Value {
    let inputs: Vec<Value> = ids
        .iter()
        .map(|id| json!({"idProperty": "sf_id", "id": id, "properties": {"name": format!("n-{id}")}}))
        .collect();
    json!({ "inputs": inputs })
}
