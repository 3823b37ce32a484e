//! The Tooling API's queries the project makes: outbound messages (list, or one with its
//! `Metadata`), flow definitions, and one flow version with its `Metadata` (by `Id`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{DeployedFlow, DeployedMessage, Filter, error, json_response, lock};
use crate::org::SfError;
use crate::{Shared, ids};

#[derive(Deserialize)]
pub(super) struct QueryParams {
    q: Option<String>,
}

fn quoted(s: &str) -> Vec<String> {
    s.split('\'')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, v)| v.to_owned())
        .collect()
}

/// The Tooling API queries the project makes: outbound messages (list, or one with its
/// `Metadata`), flow definitions, and one flow version with its `Metadata` (by `Id`).
pub(super) async fn tooling_query(
    State(shared): State<Arc<Shared>>,
    Path(v): Path<String>,
    Query(params): Query<QueryParams>,
) -> Response {
    if lock(&shared).knobs.deny_tooling {
        return error(&SfError::new(
            403,
            "INSUFFICIENT_ACCESS",
            "You do not have permission to query the Tooling API: the user needs View Setup and Configuration",
        ));
    }
    let Some(q) = params.q else {
        return error(&SfError::new(400, "MALFORMED_QUERY", "missing q"));
    };
    let lower = q.to_ascii_lowercase();
    let Some(from_at) = lower.find(" from ") else {
        return error(&SfError::new(
            400,
            "MALFORMED_QUERY",
            format!("no FROM in {q:?}"),
        ));
    };
    let select: Vec<String> = lower[..from_at]
        .trim_start_matches("select")
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    let rest = &lower[from_at + 6..];
    let sobject = rest
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    let where_clause = q[from_at + 6..]
        .split_once(|c: char| c.is_whitespace())
        .map(|(_, w)| w.trim().to_owned())
        .unwrap_or_default();
    let values = quoted(&where_clause);
    let where_lower = where_clause.to_ascii_lowercase();
    let v = v.trim_start_matches('v').to_owned();
    let records: Vec<Value> = match sobject.as_str() {
        "workflowoutboundmessage" => {
            let st = lock(&shared);
            let found: Vec<&DeployedMessage> = st
                .messages
                .values()
                .filter(|m| {
                    if where_lower.is_empty() {
                        true
                    } else if where_lower.contains("entitydefinition.qualifiedapiname") {
                        values.iter().any(|x| x.eq_ignore_ascii_case(&m.object))
                    } else if where_lower.starts_with("where id") {
                        values.iter().any(|x| ids::normalize(x) == m.id)
                    } else if where_lower.contains("name") {
                        values.iter().any(|x| x.eq_ignore_ascii_case(&m.name))
                    } else {
                        false
                    }
                })
                .collect();
            if select.iter().any(|s| s == "metadata") && found.len() > 1 {
                return error(&SfError::new(
                    400,
                    "MALFORMED_QUERY",
                    "When retrieving results with Metadata or FullName fields, the query qualifications must specify no more than one row for retrieval. Result size: ".to_owned()
                        + &found.len().to_string(),
                ));
            }
            found
                .into_iter()
                .map(|m| {
                    let mut r = serde_json::Map::new();
                    r.insert("attributes".into(), json!({"type": "WorkflowOutboundMessage", "url": format!("/services/data/v{v}/tooling/sobjects/WorkflowOutboundMessage/{}", m.id)}));
                    r.insert("Id".into(), json!(m.id));
                    r.insert("Name".into(), json!(m.name));
                    r.insert("EntityDefinition".into(), json!({"attributes": {"type": "EntityDefinition"}, "QualifiedApiName": m.object}));
                    r.insert("ApiVersion".into(), json!(m.api_version.parse::<f64>().unwrap_or(0.0)));
                    if select.iter().any(|s| s == "fullname") {
                        r.insert("FullName".into(), json!(format!("{}.{}", m.object, m.name)));
                    }
                    if select.iter().any(|s| s == "metadata") {
                        r.insert("Metadata".into(), json!({
                            "apiVersion": m.api_version.parse::<f64>().unwrap_or(0.0),
                            "description": null,
                            "endpointUrl": m.endpoint_url,
                            "fields": m.fields,
                            "includeSessionId": m.include_session_id,
                            "integrationUser": m.integration_user,
                            "name": m.name,
                            "protected": false,
                            "useDeadLetterQueue": false,
                            "urls": null,
                        }));
                    }
                    Value::Object(r)
                })
                .collect()
        }
        "flowdefinition" => {
            let st = lock(&shared);
            st.flows
                .values()
                .filter(|f| where_lower.is_empty() || values.iter().any(|x| x.eq_ignore_ascii_case(&f.name)))
                .map(|f| {
                    json!({
                        "attributes": {"type": "FlowDefinition", "url": format!("/services/data/v{v}/tooling/sobjects/FlowDefinition/{}", f.id)},
                        "Id": f.id,
                        "DeveloperName": f.name,
                        "ActiveVersionId": if f.active { Some(f.id.clone()) } else { None },
                    })
                })
                .collect()
        }
        "flow" => {
            let st = lock(&shared);
            let found: Vec<&DeployedFlow> = st
                .flows
                .values()
                .filter(|f| values.iter().any(|x| ids::normalize(x) == f.id))
                .collect();
            if select.iter().any(|s| s == "metadata") && found.len() != 1 {
                return error(&SfError::new(
                    400,
                    "MALFORMED_QUERY",
                    format!(
                        "When retrieving results with Metadata or FullName fields, the query qualifications must specify no more than one row for retrieval. Result size: {}",
                        found.len()
                    ),
                ));
            }
            found
                .into_iter()
                .map(|f| {
                    let status = if f.active { "Active" } else { "Obsolete" };
                    let mut r = serde_json::Map::new();
                    r.insert("attributes".into(), json!({"type": "Flow", "url": format!("/services/data/v{v}/tooling/sobjects/Flow/{}", f.id)}));
                    r.insert("Id".into(), json!(f.id));
                    r.insert("Status".into(), json!(status));
                    if select.iter().any(|s| s == "metadata") {
                        let actions: Vec<Value> = f.actions.iter().map(|a| json!({"name": "Send_to_sfhs", "actionName": a, "actionType": "outboundMessage"})).collect();
                        let filters: Vec<Value> = f.filters.iter().map(Filter::to_json).collect();
                        r.insert("Metadata".into(), json!({
                            "processType": "AutoLaunchedFlow",
                            "status": status,
                            "actionCalls": actions,
                            "start": {
                                "object": f.object,
                                "recordTriggerType": "CreateAndUpdate",
                                "triggerType": "RecordAfterSave",
                                "filterLogic": if f.filters.is_empty() { Value::Null } else if f.any { json!("or") } else { json!("and") },
                                "filters": filters,
                            },
                        }));
                    }
                    Value::Object(r)
                })
                .collect()
        }
        other => {
            return error(&SfError::new(
                400,
                "INVALID_TYPE",
                format!("sObject type '{other}' is not supported by the simulator's Tooling API"),
            ));
        }
    };
    json_response(
        200,
        &json!({"size": records.len(), "totalSize": records.len(), "done": true, "queryLocator": null, "entityTypeName": match sobject.as_str() { "flowdefinition" => "FlowDefinition", "flow" => "Flow", _ => "WorkflowOutboundMessage" }, "records": records}),
    )
}
