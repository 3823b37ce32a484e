//! The Tooling API's queries the project makes: outbound messages (list, or one with its
//! `Metadata`), flow definitions, and one flow version with its `Metadata` (by `Id`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    DeployedFlow, DeployedMessage, Filter, MetadataState, TOOLING_QUERY_DENIED, error,
    json_response, lock, refused,
};
use crate::org::SfError;
use crate::{Shared, ids};

#[derive(Deserialize)]
pub(super) struct QueryParams {
    q: Option<String>,
}

fn quoted(s: &str) -> Vec<String> {
    s.split('\'').enumerate().filter(|(i, _)| i % 2 == 1).map(|(_, v)| v.to_owned()).collect()
}

/// A Tooling query as the simulator reads it: the selected fields and the sObject
/// (lowercased), the quoted values of the WHERE clause and the clause itself (lowercased).
struct ToolingQuery {
    select: Vec<String>,
    sobject: String,
    values: Vec<String>,
    where_lower: String,
    /// The API version of the path, without its `v`.
    version: String,
}

impl ToolingQuery {
    fn parse(q: &str, version: &str) -> Result<Self, SfError> {
        let lower = q.to_ascii_lowercase();
        let Some(from_at) = lower.find(" from ") else {
            return Err(SfError::new(400, "MALFORMED_QUERY", format!("no FROM in {q:?}")));
        };
        let select = lower[..from_at]
            .trim_start_matches("select")
            .split(',')
            .map(|s| s.trim().to_owned())
            .collect();
        let sobject = lower[from_at + 6..].split_whitespace().next().unwrap_or_default().to_owned();
        let where_clause = q[from_at + 6..]
            .split_once(|c: char| c.is_whitespace())
            .map(|(_, w)| w.trim().to_owned())
            .unwrap_or_default();
        Ok(Self {
            select,
            sobject,
            values: quoted(&where_clause),
            where_lower: where_clause.to_ascii_lowercase(),
            version: version.trim_start_matches('v').to_owned(),
        })
    }

    fn selects(&self, field: &str) -> bool {
        self.select.iter().any(|s| s == field)
    }

    fn names(&self, value: &str) -> bool {
        self.values.iter().any(|x| x.eq_ignore_ascii_case(value))
    }
}

/// Metadata can be read one row at a time only.
fn one_row_only(rows: usize) -> SfError {
    SfError::new(
        400,
        "MALFORMED_QUERY",
        format!(
            "When retrieving results with Metadata or FullName fields, the query qualifications must specify no more than one row for retrieval. Result size: {rows}"
        ),
    )
}

/// The Tooling API queries the project makes: outbound messages (list, or one with its
/// `Metadata`), flow definitions, and one flow version with its `Metadata` (by `Id`).
pub(super) async fn tooling_query(
    State(shared): State<Arc<Shared>>,
    Path(v): Path<String>,
    Query(params): Query<QueryParams>,
) -> Response {
    if let Some(refused) = refused(&shared, |k| k.deny_tooling, TOOLING_QUERY_DENIED) {
        return refused;
    }
    let Some(q) = params.q else {
        return error(&SfError::new(400, "MALFORMED_QUERY", "missing q"));
    };
    let tq = match ToolingQuery::parse(&q, &v) {
        Ok(tq) => tq,
        Err(e) => return error(&e),
    };
    let st = lock(&shared);
    let (records, entity) = match tq.sobject.as_str() {
        "workflowoutboundmessage" => (outbound_messages(&st, &tq), "WorkflowOutboundMessage"),
        "flowdefinition" => (Ok(flow_definitions(&st, &tq)), "FlowDefinition"),
        "flow" => (flows(&st, &tq), "Flow"),
        other => {
            return error(&SfError::new(
                400,
                "INVALID_TYPE",
                format!("sObject type '{other}' is not supported by the simulator's Tooling API"),
            ));
        }
    };
    match records {
        Ok(records) => json_response(
            200,
            &json!({"size": records.len(), "totalSize": records.len(), "done": true, "queryLocator": null, "entityTypeName": entity, "records": records}),
        ),
        Err(e) => error(&e),
    }
}

/// `WorkflowOutboundMessage`: all, or by object, id or name; `Metadata` of one only.
fn outbound_messages(st: &MetadataState, tq: &ToolingQuery) -> Result<Vec<Value>, SfError> {
    let w = &tq.where_lower;
    let found: Vec<&DeployedMessage> = st
        .messages
        .values()
        .filter(|m| {
            if w.is_empty() {
                true
            } else if w.contains("entitydefinition.qualifiedapiname") {
                tq.names(&m.object)
            } else if w.starts_with("where id") {
                tq.values.iter().any(|x| ids::normalize(x) == m.id)
            } else if w.contains("name") {
                tq.names(&m.name)
            } else {
                false
            }
        })
        .collect();
    if tq.selects("metadata") && found.len() > 1 {
        return Err(one_row_only(found.len()));
    }
    Ok(found.into_iter().map(|m| message_json(m, tq)).collect())
}

fn message_json(m: &DeployedMessage, tq: &ToolingQuery) -> Value {
    let v = &tq.version;
    let mut r = serde_json::Map::new();
    r.insert("attributes".into(), json!({"type": "WorkflowOutboundMessage", "url": format!("/services/data/v{v}/tooling/sobjects/WorkflowOutboundMessage/{}", m.id)}));
    r.insert("Id".into(), json!(m.id));
    r.insert("Name".into(), json!(m.name));
    r.insert(
        "EntityDefinition".into(),
        json!({"attributes": {"type": "EntityDefinition"}, "QualifiedApiName": m.object}),
    );
    r.insert("ApiVersion".into(), json!(m.api_version.parse::<f64>().unwrap_or(0.0)));
    if tq.selects("fullname") {
        r.insert("FullName".into(), json!(format!("{}.{}", m.object, m.name)));
    }
    if tq.selects("metadata") {
        r.insert(
            "Metadata".into(),
            json!({
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
            }),
        );
    }
    Value::Object(r)
}

/// `FlowDefinition`: all, or by developer name; the active version's id when active.
fn flow_definitions(st: &MetadataState, tq: &ToolingQuery) -> Vec<Value> {
    let v = &tq.version;
    st.flows
        .values()
        .filter(|f| tq.where_lower.is_empty() || tq.names(&f.name))
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

/// `Flow` (a version) by id; with `Metadata`, exactly one.
fn flows(st: &MetadataState, tq: &ToolingQuery) -> Result<Vec<Value>, SfError> {
    let found: Vec<&DeployedFlow> =
        st.flows.values().filter(|f| tq.values.iter().any(|x| ids::normalize(x) == f.id)).collect();
    if tq.selects("metadata") && found.len() != 1 {
        return Err(one_row_only(found.len()));
    }
    Ok(found.into_iter().map(|f| flow_json(f, tq)).collect())
}

fn flow_json(f: &DeployedFlow, tq: &ToolingQuery) -> Value {
    let v = &tq.version;
    let status = if f.active { "Active" } else { "Obsolete" };
    let mut r = serde_json::Map::new();
    r.insert("attributes".into(), json!({"type": "Flow", "url": format!("/services/data/v{v}/tooling/sobjects/Flow/{}", f.id)}));
    r.insert("Id".into(), json!(f.id));
    r.insert("Status".into(), json!(status));
    if tq.selects("metadata") {
        let actions: Vec<Value> = f.actions.iter().map(|a| json!({"name": "Send_to_sfhs", "actionName": a, "actionType": "outboundMessage"})).collect();
        let filters: Vec<Value> = f.filters.iter().map(Filter::to_json).collect();
        r.insert(
            "Metadata".into(),
            json!({
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
            }),
        );
    }
    Value::Object(r)
}
