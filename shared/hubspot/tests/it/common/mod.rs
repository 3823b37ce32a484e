#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};
use sfhs_hubspot::{ApiVersion, ClientConfig, HubSpotClient, RetryPolicy, SecretToken};
use sfhs_hubspot_sim::{HubSpotSim, RunningSim};

pub const TOKEN: &str = sfhs_hubspot_sim::DEFAULT_TOKEN;

/// Fast retries so that tests stay quick; the shapes of the waits are the production ones.
pub fn config(base: &str, version: ApiVersion) -> ClientConfig {
    let mut c = ClientConfig::new(base, SecretToken::new(TOKEN));
    c.api_version = version;
    c.timeout = Duration::from_secs(5);
    c.retry = RetryPolicy {
        max_attempts: 6,
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        locked_wait: Duration::from_millis(10),
        rate_limit_wait: Some(Duration::from_millis(20)),
    };
    c
}

pub async fn sim(f: impl FnOnce(HubSpotSim) -> HubSpotSim) -> RunningSim {
    f(HubSpotSim::builder().burst_limit(10_000)).start().await.unwrap()
}

pub fn client(sim: &RunningSim, version: ApiVersion) -> HubSpotClient {
    HubSpotClient::new(config(&sim.base_url(), version)).unwrap()
}

pub fn widget_schema_json() -> Value {
    json!({
        "name": "widget",
        "labels": {"singular": "Widget", "plural": "Widgets"},
        "primaryDisplayProperty": "name",
        "requiredProperties": ["name"],
        "associatedObjects": ["CONTACT"],
        "properties": [
            {"name": "name", "label": "Name"},
            {"name": "sf_id", "label": "Salesforce Id", "hasUniqueValue": true},
            {"name": "amount", "label": "Amount", "type": "number", "fieldType": "number"},
            {"name": "color", "label": "Color", "type": "enumeration", "fieldType": "select",
             "options": [{"label": "Red", "value": "red"}, {"label": "Blue", "value": "blue"}]}
        ]
    })
}

/// A simulator, a client and the `widget` type id.
pub async fn setup(
    version: ApiVersion,
    f: impl FnOnce(HubSpotSim) -> HubSpotSim,
) -> (RunningSim, HubSpotClient, String) {
    let sim = sim(f).await;
    let client = client(&sim, version);
    let schema = client.create_schema(&widget_schema_json()).await.unwrap();
    (sim, client, schema.object_type_id)
}
