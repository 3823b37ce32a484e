//! The Metadata API's REST deploy (`/metadata/deployRequest`) for outbound messages and
//! record-triggered flows, and the Tooling API's queries of them.
//!
//! A deploy is a multipart POST (`json` = `{"deployOptions": ...}`, `file` = a zip with
//! `package.xml`, `workflows/*.workflow`, `flows/*.flow`). The simulator checks what Salesforce
//! checks for these components (fields exist on the object, the flow's action names an outbound
//! message deployed or in the same package, the flow is after-save on create/update, the
//! endpoint is https or an allowed http, the integration user exists), answers
//! `deployResult.details.componentFailures[{componentType, fullName, lineNumber, columnNumber,
//! problem, problemType}]` for what it refuses, deploys all or nothing, and changes nothing on a
//! check-only deploy. From then on an active flow's outbound message is sent exactly as deployed:
//! those fields, to that URL, when the flow's entry conditions hold.
//!
//! By concern: `xml` (the metadata files' elements, with where each starts), `deploy` (the
//! deploy request and its status), `check` (what Salesforce checks of each component),
//! `tooling` (the Tooling API's queries); here, the deployed state and how it routes outbound
//! messages.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use indexmap::IndexMap;
use serde_json::{Value, json};

use crate::org::SfError;
use crate::outbound::OutboundConfig;
use crate::response::{error_response as error, json_response};
use crate::{Shared, SimHandle, ids};

mod check;
mod deploy;
mod tooling;
mod xml;

use deploy::{deploy, deploy_status};
use tooling::tooling_query;

/// How the simulated org answers metadata calls.
#[derive(Debug, Clone)]
pub struct MetadataKnobs {
    /// Deploys answer 403 `INSUFFICIENT_ACCESS` (the user lacks "Modify Metadata Through
    /// Metadata API Functions").
    pub deny_deploy: bool,
    /// Tooling API queries answer 403 `INSUFFICIENT_ACCESS` (the user lacks "View Setup").
    pub deny_tooling: bool,
    /// A deploy reports `InProgress` for this many status reads before it is done.
    pub polls_until_done: u32,
    /// Deploys never finish (stay `InProgress`, nothing applied).
    pub never_finish: bool,
    /// Accept `http://` endpoints on any host (always accepted on loopback hosts).
    pub allow_http: bool,
}

impl Default for MetadataKnobs {
    fn default() -> Self {
        MetadataKnobs {
            deny_deploy: false,
            deny_tooling: false,
            polls_until_done: 1,
            never_finish: false,
            allow_http: false,
        }
    }
}

/// Salesforce's 403 `INSUFFICIENT_ACCESS` with `why` unless `allowed` (a knob stands for the
/// permission the user lacks).
/// What a user without the permission is told (Salesforce's words).
pub(super) const DEPLOY_DENIED: &str = "You do not have permission to deploy metadata: the user needs Modify Metadata Through Metadata API Functions or Customize Application";
pub(super) const FLOW_UPDATE_DENIED: &str =
    "You do not have permission to update flows through the Tooling API";
pub(super) const TOOLING_QUERY_DENIED: &str = "You do not have permission to query the Tooling API: the user needs View Setup and Configuration";

/// The 403 `INSUFFICIENT_ACCESS` answer, when the knob `denied` reads is set.
fn refused(
    shared: &Shared,
    denied: impl Fn(&MetadataKnobs) -> bool,
    why: &str,
) -> Option<Response> {
    denied(&lock(shared).knobs).then(|| error(&SfError::new(403, "INSUFFICIENT_ACCESS", why)))
}

/// A deployed outbound message: its id and object, then its elements in the order of the
/// Metadata API's `WorkflowOutboundMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedMessage {
    /// `04k...`
    pub id: String,
    pub object: String,
    pub api_version: String,
    pub endpoint_url: String,
    pub fields: Vec<String>,
    pub include_session_id: bool,
    pub integration_user: String,
    pub name: String,
}

/// One entry condition of a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    pub(crate) field: String,
    pub(crate) operator: String,
    pub(crate) value: Option<String>,
    /// The value's element as written (`stringValue`, `numberValue`, `booleanValue`, ...).
    pub(crate) kind: String,
}

impl Filter {
    /// As the Tooling API's `Flow.Metadata` shows it (`FlowRecordFilter`).
    fn to_json(&self) -> Value {
        let value = match self.kind.as_str() {
            "numberValue" => self
                .value
                .as_deref()
                .and_then(|v| v.parse::<f64>().ok())
                .map_or(Value::Null, |n| json!(n)),
            "booleanValue" => {
                self.value.as_deref().map_or(Value::Null, |v| json!(v.eq_ignore_ascii_case("true")))
            }
            _ => self.value.clone().map_or(Value::Null, Value::String),
        };
        let mut v = serde_json::Map::new();
        for k in [
            "stringValue",
            "numberValue",
            "booleanValue",
            "dateValue",
            "dateTimeValue",
            "elementReference",
        ] {
            v.insert(k.to_owned(), if k == self.kind { value.clone() } else { Value::Null });
        }
        json!({"field": self.field, "operator": self.operator, "value": v})
    }
}

/// A deployed flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeployedFlow {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) object: String,
    /// Full names of the outbound messages its actions send.
    pub(crate) actions: Vec<String>,
    pub(crate) filters: Vec<Filter>,
    pub(crate) any: bool,
    pub(crate) active: bool,
}

#[derive(Debug, Clone)]
struct DeployRecord {
    check_only: bool,
    options: Value,
    reads: u32,
    total: u32,
    failures: Vec<Value>,
    error: Option<String>,
    components: Components,
    applied: bool,
}

#[derive(Debug, Clone, Default)]
struct Components {
    messages: Vec<DeployedMessage>,
    flows: Vec<DeployedFlow>,
}

#[derive(Debug, Default)]
pub(crate) struct MetadataState {
    /// By lowercased full name (`invoice__c.sfhs_sync`).
    pub(crate) messages: IndexMap<String, DeployedMessage>,
    /// By lowercased API name.
    pub(crate) flows: IndexMap<String, DeployedFlow>,
    deploys: HashMap<String, DeployRecord>,
    next_id: u64,
    knobs: MetadataKnobs,
    /// Users outbound messages may be sent as (besides the API user).
    users: Vec<String>,
}

impl MetadataState {
    pub(crate) fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        ids::make(prefix, self.next_id)
    }
}

pub(crate) fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, MetadataState> {
    shared.metadata.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The routes, behind the API gate of `server.rs`.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/services/data/{v}/metadata/deployRequest", post(deploy))
        .route("/services/data/{v}/metadata/deployRequest/", post(deploy))
        .route("/services/data/{v}/metadata/deployRequest/{id}", get(deploy_status))
        .route("/services/data/{v}/tooling/query", get(tooling_query))
        .route("/services/data/{v}/tooling/query/", get(tooling_query))
        .route(
            "/services/data/{v}/tooling/sobjects/FlowDefinition/{id}",
            axum::routing::patch(patch_flow_definition),
        )
}

/// `PATCH /tooling/sobjects/FlowDefinition/{id}` `{"Metadata": {"activeVersionNumber": N}}`:
/// how a tool (or an admin's script) activates or deactivates a flow through the Tooling API;
/// 0 deactivates it, any other number activates its (only) version. 204.
async fn patch_flow_definition(
    State(shared): State<Arc<Shared>>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Some(refused) = refused(&shared, |k| k.deny_tooling, FLOW_UPDATE_DENIED) {
        return refused;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(&SfError::new(400, "JSON_PARSER_ERROR", "the body is not JSON"));
    };
    let Some(number) = v.pointer("/Metadata/activeVersionNumber").and_then(Value::as_u64) else {
        return error(&SfError::new(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "the simulator updates Metadata.activeVersionNumber only",
        ));
    };
    let name =
        lock(&shared).flows.values().find(|f| f.id == ids::normalize(&id)).map(|f| f.name.clone());
    let Some(name) = name else {
        return error(&SfError::not_found());
    };
    let handle = SimHandle::from_shared(shared.clone());
    let done = if number == 0 {
        handle.deactivate_flow_in_setup(&name)
    } else {
        handle.activate_flow_in_setup(&name)
    };
    match done {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(&e),
    }
}

/// Whether a change of `object`'s record `id` fires its outbound message: true when no deployed
/// flow governs the object (outbound messages configured through the library API), else when
/// an active flow's entry conditions hold for the record.
pub(crate) fn triggers(shared: &Shared, object: &str, id: &str) -> bool {
    let flows: Vec<DeployedFlow> = lock(shared)
        .flows
        .values()
        .filter(|f| f.active && f.object.eq_ignore_ascii_case(object) && !f.actions.is_empty())
        .cloned()
        .collect();
    if flows.is_empty() {
        return true;
    }
    let row = shared.org_lock().get(object, id).cloned();
    let Some(row) = row else { return false };
    flows.iter().any(|f| {
        let get = |field: &str| {
            row.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(field))
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Null)
        };
        let mut results = f.filters.iter().map(|c| holds(c, &get(&c.field)));
        if f.filters.is_empty() {
            true
        } else if f.any {
            results.any(|b| b)
        } else {
            results.all(|b| b)
        }
    })
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

fn holds(c: &Filter, v: &Value) -> bool {
    let actual = text_of(v).filter(|s| !s.is_empty());
    let want = c.value.clone().unwrap_or_default();
    let numeric =
        || actual.as_deref().and_then(|a| a.parse::<f64>().ok()).zip(want.parse::<f64>().ok());
    match c.operator.as_str() {
        "IsNull" => actual.is_none() == want.eq_ignore_ascii_case("true"),
        "EqualTo" => match numeric() {
            Some((a, b)) => a == b,
            None => actual.as_deref() == Some(want.as_str()),
        },
        "NotEqualTo" => match numeric() {
            Some((a, b)) => a != b,
            None => actual.as_deref() != Some(want.as_str()),
        },
        "GreaterThan" => match numeric() {
            Some((a, b)) => a > b,
            None => actual.is_some_and(|a| a.as_str() > want.as_str()),
        },
        "LessThan" => match numeric() {
            Some((a, b)) => a < b,
            None => actual.is_some_and(|a| a.as_str() < want.as_str()),
        },
        _ => false,
    }
}

/// Makes a finished deploy real: the components are stored, and each object's outbound
/// delivery follows its active flow.
fn apply(shared: &Shared, c: Components) {
    let mut objects: Vec<String> = Vec::new();
    {
        let mut st = lock(shared);
        for mut m in c.messages {
            let key = format!("{}.{}", m.object, m.name).to_ascii_lowercase();
            m.id = match st.messages.get(&key) {
                Some(old) => old.id.clone(),
                None => st.new_id("04k"),
            };
            objects.push(m.object.clone());
            st.messages.insert(key, m);
        }
        for mut f in c.flows {
            let key = f.name.to_ascii_lowercase();
            f.id = match st.flows.get(&key) {
                Some(old) => old.id.clone(),
                None => st.new_id("300"),
            };
            objects.push(f.object.clone());
            st.flows.insert(key, f);
        }
    }
    route_outbound(shared, objects);
}

/// Each of `objects` sends what its active flow's outbound message says, as Salesforce does
/// after a deploy or a change in Setup; nothing when no active flow sends one.
pub(crate) fn route_outbound(shared: &Shared, mut objects: Vec<String>) {
    objects.sort();
    objects.dedup();
    for object in objects {
        let config = {
            let st = lock(shared);
            st.flows
                .values()
                .filter(|f| f.active && f.object == object)
                .flat_map(|f| f.actions.iter())
                .find_map(|a| st.messages.get(&a.to_ascii_lowercase()))
                .map(|m| OutboundConfig {
                    object: m.object.clone(),
                    fields: m.fields.clone(),
                    url: m.endpoint_url.clone(),
                    send_session_id: m.include_session_id,
                })
        };
        let mut out = shared.outbound_lock();
        match config {
            Some(c) => out.configure(c),
            None => out.remove(&object),
        }
    }
}

impl SimHandle {
    /// Changes how metadata calls answer.
    pub fn update_metadata_knobs(&self, f: impl FnOnce(&mut MetadataKnobs)) {
        f(&mut lock(&self.shared).knobs);
    }

    /// Adds a user outbound messages may be sent as.
    pub fn add_user(&self, username: &str) {
        lock(&self.shared).users.push(username.to_owned());
    }

    /// The deployed outbound messages.
    pub fn deployed_outbound_messages(&self) -> Vec<DeployedMessage> {
        lock(&self.shared).messages.values().cloned().collect()
    }

    /// Names of the deployed flows, and whether each is active.
    pub fn deployed_flows(&self) -> Vec<(String, bool)> {
        lock(&self.shared).flows.values().map(|f| (f.name.clone(), f.active)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_conditions_compare_as_salesforce_does() {
        let f = |op: &str, v: &str| Filter {
            field: "X".into(),
            operator: op.into(),
            value: Some(v.into()),
            kind: "stringValue".into(),
        };
        assert!(holds(&f("EqualTo", "Paid"), &json!("Paid")));
        assert!(!holds(&f("EqualTo", "Paid"), &json!("Draft")));
        assert!(holds(&f("NotEqualTo", "Draft"), &Value::Null));
        assert!(holds(&f("GreaterThan", "10"), &json!(12.5)));
        assert!(holds(&f("IsNull", "true"), &Value::Null));
        assert!(!holds(&f("IsNull", "true"), &json!("x")));
        assert!(holds(&f("IsNull", "false"), &json!("x")));
    }
}
