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

use std::collections::HashMap;
use std::io::Read as _;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use indexmap::IndexMap;
use quick_xml::events::Event;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::org::SfError;
use crate::outbound::OutboundConfig;
use crate::{Shared, SimHandle, ids};

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

/// A deployed outbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedMessage {
    /// `04k...`
    pub id: String,
    pub object: String,
    pub name: String,
    pub fields: Vec<String>,
    pub endpoint_url: String,
    pub integration_user: String,
    pub include_session_id: bool,
    pub api_version: String,
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
            "booleanValue" => self
                .value
                .as_deref()
                .map_or(Value::Null, |v| json!(v.eq_ignore_ascii_case("true"))),
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
            v.insert(
                k.to_owned(),
                if k == self.kind {
                    value.clone()
                } else {
                    Value::Null
                },
            );
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
    shared
        .metadata
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The routes, behind the API gate of `server.rs`.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/services/data/{v}/metadata/deployRequest", post(deploy))
        .route("/services/data/{v}/metadata/deployRequest/", post(deploy))
        .route(
            "/services/data/{v}/metadata/deployRequest/{id}",
            get(deploy_status),
        )
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
    if lock(&shared).knobs.deny_tooling {
        return error(&SfError::new(
            403,
            "INSUFFICIENT_ACCESS",
            "You do not have permission to update flows through the Tooling API",
        ));
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(&SfError::new(
            400,
            "JSON_PARSER_ERROR",
            "the body is not JSON",
        ));
    };
    let Some(number) = v
        .pointer("/Metadata/activeVersionNumber")
        .and_then(Value::as_u64)
    else {
        return error(&SfError::new(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            "the simulator updates Metadata.activeVersionNumber only",
        ));
    };
    let name = lock(&shared)
        .flows
        .values()
        .find(|f| f.id == ids::normalize(&id))
        .map(|f| f.name.clone());
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

fn json_response(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

fn error(e: &SfError) -> Response {
    json_response(e.status, &e.body())
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
    let numeric = || {
        actual
            .as_deref()
            .and_then(|a| a.parse::<f64>().ok())
            .zip(want.parse::<f64>().ok())
    };
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

/// One element of a metadata file: local name, text, where it starts, children.
#[derive(Debug, Clone, Default)]
struct El {
    name: String,
    text: String,
    line: u32,
    column: u32,
    children: Vec<El>,
}

impl El {
    fn child(&self, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == name)
    }
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    fn text_of(&self, name: &str) -> Option<String> {
        self.child(name).map(|c| c.text.trim().to_owned())
    }
}

fn locate(src: &str, offset: usize) -> (u32, u32) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// Parses a metadata file; an XML error comes with its line and column.
fn parse_xml(src: &str) -> Result<El, (u32, u32, String)> {
    let mut reader = quick_xml::Reader::from_str(src);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<El> = vec![El::default()];
    loop {
        let start = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        let event = reader.read_event().map_err(|e| {
            let (l, c) = locate(
                src,
                usize::try_from(reader.error_position()).unwrap_or(usize::MAX),
            );
            (l, c, e.to_string())
        })?;
        let tag_at = |start: usize| {
            let from = src[start.min(src.len())..]
                .find('<')
                .map_or(start, |i| start + i);
            locate(src, from)
        };
        match event {
            Event::Start(e) => {
                let (line, column) = tag_at(start);
                stack.push(El {
                    name: AsRef::<str>::as_ref(&e.local_name()).to_owned(),
                    line,
                    column,
                    ..El::default()
                });
            }
            Event::Empty(e) => {
                let (line, column) = tag_at(start);
                let el = El {
                    name: AsRef::<str>::as_ref(&e.local_name()).to_owned(),
                    line,
                    column,
                    ..El::default()
                };
                if let Some(top) = stack.last_mut() {
                    top.children.push(el);
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err((0, 0, "unbalanced end tag".into()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Err((0, 0, "unbalanced end tag".into())),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let s: String = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .ok()
                        .flatten()
                        .map(|c| c.to_string())
                        .unwrap_or_default()
                } else {
                    match AsRef::<str>::as_ref(&*r) {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "apos" => "'".into(),
                        "quot" => "\"".into(),
                        other => {
                            let (l, c) = locate(src, start);
                            return Err((l, c, format!("undefined entity &{other};")));
                        }
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::DocType(_) => {
                let (l, c) = locate(src, start);
                return Err((l, c, "DOCTYPE is not allowed".into()));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut root = stack.pop().unwrap_or_default();
    if !stack.is_empty() {
        return Err((0, 0, "the document ends inside an element".into()));
    }
    root.children
        .pop()
        .filter(|_| root.children.is_empty())
        .ok_or((1, 1, "expected exactly one root element".into()))
}

/// Splits a `multipart/form-data` body into (name, bytes) parts.
fn multipart_parts(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !ct.to_ascii_lowercase().starts_with("multipart/form-data") {
        return Err(format!("expected multipart/form-data, got {ct:?}"));
    }
    let boundary = ct
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"').to_owned())
        .ok_or("no boundary in Content-Type")?;
    let delim = format!("--{boundary}");
    let d = delim.as_bytes();
    let find = |hay: &[u8], from: usize| -> Option<usize> {
        hay.get(from..)?
            .windows(d.len())
            .position(|w| w == d)
            .map(|i| i + from)
    };
    let mut parts = Vec::new();
    let mut at = find(body, 0).ok_or("no multipart boundary in the body")?;
    loop {
        let after = at + d.len();
        if body.get(after..after + 2) == Some(b"--") {
            break;
        }
        let head_start = after + 2; // CRLF
        let head_end = body
            .get(head_start..)
            .and_then(|b| b.windows(4).position(|w| w == b"\r\n\r\n"))
            .map(|i| i + head_start)
            .ok_or("a multipart part without headers")?;
        let head = String::from_utf8_lossy(&body[head_start..head_end]).into_owned();
        let content_start = head_end + 4;
        let next = find(body, content_start).ok_or("an unterminated multipart part")?;
        let content_end = next.saturating_sub(2).max(content_start); // CRLF before the delimiter
        let disposition = head
            .split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .unwrap_or_default();
        let name = disposition
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("name="))
            .next()
            .map(|n| n.trim_matches('"').to_owned())
            .unwrap_or_default();
        parts.push((name, body[content_start..content_end].to_vec()));
        at = next;
    }
    Ok(parts)
}

fn failure(
    component_type: &str,
    full_name: &str,
    file: &str,
    at: (u32, u32),
    problem: impl Into<String>,
) -> Value {
    json!({
        "changed": false,
        "columnNumber": at.1,
        "componentType": component_type,
        "created": false,
        "deleted": false,
        "fileName": file,
        "fullName": full_name,
        "lineNumber": at.0,
        "problem": problem.into(),
        "problemType": "Error",
        "success": false,
    })
}

#[derive(Debug, Deserialize)]
struct DeployJson {
    #[serde(rename = "deployOptions", default)]
    deploy_options: Value,
}

async fn deploy(
    State(shared): State<Arc<Shared>>,
    Path(_v): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if lock(&shared).knobs.deny_deploy {
        return error(&SfError::new(
            403,
            "INSUFFICIENT_ACCESS",
            "You do not have permission to deploy metadata: the user needs Modify Metadata Through Metadata API Functions or Customize Application",
        ));
    }
    let parts = match multipart_parts(&headers, &body) {
        Ok(p) => p,
        Err(e) => return error(&SfError::new(400, "INVALID_MULTIPART_REQUEST", e)),
    };
    let options = match parts.iter().find(|(n, _)| n == "json") {
        Some((_, bytes)) => match serde_json::from_slice::<DeployJson>(bytes) {
            Ok(j) => j.deploy_options,
            Err(e) => {
                return error(&SfError::new(
                    400,
                    "JSON_PARSER_ERROR",
                    format!("the json part is not valid: {e}"),
                ));
            }
        },
        None => Value::Null,
    };
    let Some((_, zip)) = parts.iter().find(|(n, _)| n == "file") else {
        return error(&SfError::new(
            400,
            "INVALID_MULTIPART_REQUEST",
            "no file part (the zip) in the request",
        ));
    };
    let check_only = options
        .get("checkOnly")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut record = evaluate(&shared, zip);
    record.check_only = check_only;
    record.options = options.clone();
    let id = {
        let mut st = lock(&shared);
        let id = st.new_id("0Af");
        st.deploys.insert(id.clone(), record);
        id
    };
    json_response(
        201,
        &json!({
            "id": id,
            "url": format!("{}/services/data/v{}/metadata/deployRequest/{id}", shared.base_url, shared.settings.api_version),
            "validatedDeployRequestId": null,
            "deployOptions": options,
            "deployResult": {
                "id": id, "checkOnly": check_only, "status": "Pending", "done": false,
                "success": false, "numberComponentErrors": 0, "numberComponentsDeployed": 0,
                "numberComponentsTotal": 0, "details": null,
            },
        }),
    )
}

/// Reads and checks the zip; the deploy's outcome, revealed by the status reads.
fn evaluate(shared: &Shared, zip_bytes: &[u8]) -> DeployRecord {
    let mut record = DeployRecord {
        check_only: false,
        options: Value::Null,
        reads: 0,
        total: 0,
        failures: Vec::new(),
        error: None,
        components: Components::default(),
        applied: false,
    };
    let mut files: IndexMap<String, String> = IndexMap::new();
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes));
    let mut archive = match archive {
        Ok(a) => a,
        Err(e) => {
            record.error = Some(format!("The zip file is not valid: {e}"));
            return record;
        }
    };
    for i in 0..archive.len() {
        let mut f = match archive.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                record.error = Some(format!("Cannot read entry {i} of the zip: {e}"));
                return record;
            }
        };
        if f.is_dir() {
            continue;
        }
        let name = match f.name() {
            Ok(n) => n.trim_start_matches("unpackaged/").to_owned(),
            Err(e) => {
                record.error = Some(format!("Entry {i} of the zip has no valid name: {e}"));
                return record;
            }
        };
        let mut text = String::new();
        if let Err(e) = f.read_to_string(&mut text) {
            record.error = Some(format!("{name}: not UTF-8 text: {e}"));
            return record;
        }
        files.insert(name, text);
    }
    let Some(package) = files.get("package.xml") else {
        record.error = Some("No package.xml found".into());
        return record;
    };
    let package = match parse_xml(package) {
        Ok(p) => p,
        Err((l, c, e)) => {
            record
                .failures
                .push(failure("", "package.xml", "package.xml", (l, c), e));
            return record;
        }
    };
    let mut message_members = Vec::new();
    let mut flow_members = Vec::new();
    for t in package.all("types") {
        let members: Vec<String> = t.all("members").map(|m| m.text.trim().to_owned()).collect();
        match t.text_of("name").as_deref() {
            Some("WorkflowOutboundMessage") => message_members.extend(members),
            Some("Flow") => flow_members.extend(members),
            Some("Workflow") => {
                // The whole workflow of the object: every outbound message of its file.
                for object in members {
                    if let Some(wf) = files.get(&format!("workflows/{object}.workflow"))
                        && let Ok(root) = parse_xml(wf)
                    {
                        for om in root.all("outboundMessages") {
                            if let Some(n) = om.text_of("fullName") {
                                message_members.push(format!("{object}.{n}"));
                            }
                        }
                    }
                }
            }
            Some(other) => record.failures.push(failure(
                other,
                "package.xml",
                "package.xml",
                (t.line, t.column),
                format!("The simulator deploys WorkflowOutboundMessage, Workflow and Flow only, not {other}"),
            )),
            None => {}
        }
    }
    record.total = u32::try_from(message_members.len() + flow_members.len()).unwrap_or(u32::MAX);

    let (org_objects, users) = {
        let org = shared.org_lock();
        let objects: Vec<crate::schema::ObjectDef> = org.objects().to_vec();
        let mut users = lock(shared).users.clone();
        users.push(shared.settings.username.clone());
        (objects, users)
    };
    let allow_http = lock(shared).knobs.allow_http;
    let object_def = |name: &str| {
        org_objects
            .iter()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    };

    // Outbound messages.
    for member in &message_members {
        let Some((object, name)) = member.split_once('.') else {
            record.failures.push(failure(
                "WorkflowOutboundMessage",
                member,
                "package.xml",
                (package.line, package.column),
                format!("{member} is not Object.MessageName"),
            ));
            continue;
        };
        let file = format!("workflows/{object}.workflow");
        let Some(def) = object_def(object) else {
            record.failures.push(failure(
                "WorkflowOutboundMessage",
                member,
                &file,
                (1, 1),
                format!("Entity of type 'CustomObject' named '{object}' cannot be found"),
            ));
            continue;
        };
        let Some(text) = files.get(&file) else {
            record.failures.push(failure(
                "WorkflowOutboundMessage",
                member,
                &file,
                (0, 0),
                format!("No Workflow named: {object} found in the zip"),
            ));
            continue;
        };
        let root = match parse_xml(text) {
            Ok(r) => r,
            Err((l, c, e)) => {
                record.failures.push(failure(
                    "WorkflowOutboundMessage",
                    member,
                    &file,
                    (l, c),
                    format!("Error parsing file: {e}"),
                ));
                continue;
            }
        };
        let Some(om) = root
            .all("outboundMessages")
            .find(|o| o.text_of("fullName").as_deref() == Some(name))
        else {
            record.failures.push(failure(
                "WorkflowOutboundMessage",
                member,
                &file,
                (root.line, root.column),
                format!("No outbound message named {name} in {file}"),
            ));
            continue;
        };
        let mut ok = true;
        let mut fields = Vec::new();
        for f in om.all("fields") {
            let field = f.text.trim();
            match def.field(field) {
                Some(fd) => fields.push(fd.name.clone()),
                None => {
                    ok = false;
                    record.failures.push(failure(
                        "WorkflowOutboundMessage",
                        member,
                        &file,
                        (f.line, f.column),
                        format!("Invalid field:{field} on {}: no such field", def.name),
                    ));
                }
            }
        }
        let endpoint = om.text_of("endpointUrl").unwrap_or_default();
        let endpoint_el = om.child("endpointUrl");
        let at = endpoint_el.map_or((om.line, om.column), |e| (e.line, e.column));
        match url::Url::parse(&endpoint) {
            Ok(u) if u.scheme() == "https" => {}
            Ok(u)
                if u.scheme() == "http"
                    && (allow_http
                        || matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))) => {}
            Ok(u) => {
                ok = false;
                record.failures.push(failure(
                    "WorkflowOutboundMessage",
                    member,
                    &file,
                    at,
                    format!(
                        "Endpoint URL: {} endpoints are not allowed; use https",
                        u.scheme()
                    ),
                ));
            }
            Err(e) => {
                ok = false;
                record.failures.push(failure(
                    "WorkflowOutboundMessage",
                    member,
                    &file,
                    at,
                    format!("Endpoint URL: invalid URL {endpoint:?}: {e}"),
                ));
            }
        }
        let user = om.text_of("integrationUser").unwrap_or_default();
        if !users.iter().any(|u| u.eq_ignore_ascii_case(&user)) {
            ok = false;
            let at = om
                .child("integrationUser")
                .map_or((om.line, om.column), |e| (e.line, e.column));
            record.failures.push(failure(
                "WorkflowOutboundMessage",
                member,
                &file,
                at,
                format!("integrationUser: no active user {user:?} in this org"),
            ));
        }
        if ok {
            record.components.messages.push(DeployedMessage {
                id: String::new(),
                object: def.name.clone(),
                name: name.to_owned(),
                fields,
                endpoint_url: endpoint,
                integration_user: user,
                include_session_id: om.text_of("includeSessionId").as_deref() == Some("true"),
                api_version: om.text_of("apiVersion").unwrap_or_default(),
            });
        }
    }

    // Flows.
    let known_messages: Vec<String> = {
        let st = lock(shared);
        st.messages
            .values()
            .map(|m| format!("{}.{}", m.object, m.name))
            .collect()
    };
    for name in &flow_members {
        let file = format!("flows/{name}.flow");
        let Some(text) = files.get(&file) else {
            record.failures.push(failure(
                "Flow",
                name,
                &file,
                (0, 0),
                format!("No Flow named: {name} found in the zip"),
            ));
            continue;
        };
        let root = match parse_xml(text) {
            Ok(r) => r,
            Err((l, c, e)) => {
                record.failures.push(failure(
                    "Flow",
                    name,
                    &file,
                    (l, c),
                    format!("Error parsing file: {e}"),
                ));
                continue;
            }
        };
        let mut fail = |at: (u32, u32), problem: String| {
            record
                .failures
                .push(failure("Flow", name, &file, at, problem));
        };
        let Some(start) = root.child("start") else {
            fail(
                (root.line, root.column),
                "A record-triggered flow needs a start element".into(),
            );
            continue;
        };
        let mut ok = true;
        if root.text_of("processType").as_deref() != Some("AutoLaunchedFlow") {
            ok = false;
            fail(
                (root.line, root.column),
                "processType must be AutoLaunchedFlow for a record-triggered flow".into(),
            );
        }
        let object = start.text_of("object").unwrap_or_default();
        let def = object_def(&object);
        if def.is_none() {
            ok = false;
            let at = start
                .child("object")
                .map_or((start.line, start.column), |e| (e.line, e.column));
            fail(
                at,
                format!("The object {object:?} of the start element does not exist"),
            );
        }
        let trigger = start.text_of("triggerType").unwrap_or_default();
        if trigger != "RecordAfterSave" {
            ok = false;
            let at = start
                .child("triggerType")
                .map_or((start.line, start.column), |e| (e.line, e.column));
            fail(
                at,
                format!(
                    "Outbound message actions run only in flows that run after the record is saved (triggerType RecordAfterSave), not {trigger:?}"
                ),
            );
        }
        let rtt = start.text_of("recordTriggerType").unwrap_or_default();
        if !matches!(rtt.as_str(), "Create" | "Update" | "CreateAndUpdate") {
            ok = false;
            let at = start
                .child("recordTriggerType")
                .map_or((start.line, start.column), |e| (e.line, e.column));
            fail(
                at,
                format!(
                    "recordTriggerType {rtt:?}: outbound messages are sent on Create, Update or CreateAndUpdate"
                ),
            );
        }
        let logic = start.text_of("filterLogic").unwrap_or_else(|| "and".into());
        if !matches!(logic.as_str(), "and" | "or") {
            ok = false;
            fail(
                (start.line, start.column),
                format!("filterLogic {logic:?}: the simulator supports and / or"),
            );
        }
        let mut filters = Vec::new();
        for f in start.all("filters") {
            let field = f.text_of("field").unwrap_or_default();
            let operator = f.text_of("operator").unwrap_or_default();
            if let Some(d) = def
                && d.field(&field).is_none()
            {
                ok = false;
                fail(
                    (f.line, f.column),
                    format!(
                        "The field {field:?} of an entry condition does not exist on {}",
                        d.name
                    ),
                );
            }
            if !matches!(
                operator.as_str(),
                "EqualTo" | "NotEqualTo" | "GreaterThan" | "LessThan" | "IsNull"
            ) {
                ok = false;
                fail((f.line, f.column), format!("Unknown operator {operator:?}"));
            }
            let element = f.child("value").and_then(|v| v.children.first());
            filters.push(Filter {
                field,
                operator,
                value: element.map(|v| v.text.trim().to_owned()),
                kind: element.map_or_else(|| "stringValue".to_owned(), |v| v.name.clone()),
            });
        }
        let mut actions = Vec::new();
        for a in root.all("actionCalls") {
            if a.text_of("actionType").as_deref() != Some("outboundMessage") {
                continue;
            }
            let action = a.text_of("actionName").unwrap_or_default();
            let at = a
                .child("actionName")
                .map_or((a.line, a.column), |e| (e.line, e.column));
            let in_package = record
                .components
                .messages
                .iter()
                .any(|m| format!("{}.{}", m.object, m.name).eq_ignore_ascii_case(&action));
            let deployed = known_messages
                .iter()
                .any(|m| m.eq_ignore_ascii_case(&action));
            if !in_package && !deployed {
                ok = false;
                fail(
                    at,
                    format!(
                        "The action {action:?} references an outbound message that does not exist"
                    ),
                );
                continue;
            }
            if !action
                .split_once('.')
                .is_some_and(|(o, _)| o.eq_ignore_ascii_case(&object))
            {
                ok = false;
                fail(
                    at,
                    format!(
                        "The outbound message {action:?} is on another object than the flow's {object}"
                    ),
                );
                continue;
            }
            actions.push(action);
        }
        let status = root.text_of("status").unwrap_or_else(|| "Draft".into());
        if ok && let Some(d) = def {
            record.components.flows.push(DeployedFlow {
                id: String::new(),
                name: name.clone(),
                object: d.name.clone(),
                actions,
                filters,
                any: logic == "or",
                active: status == "Active",
            });
        }
    }
    record
}

fn result_json(id: &str, r: &DeployRecord, done: bool) -> Value {
    let success = done && r.error.is_none() && r.failures.is_empty();
    let status = match (done, success) {
        (false, _) if r.reads <= 1 => "Pending",
        (false, _) => "InProgress",
        (true, true) => "Succeeded",
        (true, false) => "Failed",
    };
    let deployed = if success { r.total } else { 0 };
    json!({
        "id": id,
        "checkOnly": r.check_only,
        "ignoreWarnings": false,
        "rollbackOnError": true,
        "status": status,
        "done": done,
        "success": success,
        "numberComponentsTotal": r.total,
        "numberComponentsDeployed": deployed,
        "numberComponentErrors": if done { r.failures.len() } else { 0 },
        "numberTestsCompleted": 0,
        "numberTestsTotal": 0,
        "numberTestErrors": 0,
        "errorMessage": if done { r.error.clone() } else { None },
        "errorStatusCode": if done && r.error.is_some() { Some("UNKNOWN_EXCEPTION") } else { None },
        "details": if done {
            json!({"componentFailures": r.failures, "componentSuccesses": [], "runTestResult": {"numFailures": 0, "numTestsRun": 0}})
        } else { Value::Null },
    })
}

#[derive(Deserialize)]
struct StatusParams {
    #[serde(rename = "includeDetails")]
    include_details: Option<String>,
}

async fn deploy_status(
    State(shared): State<Arc<Shared>>,
    Path((_v, id)): Path<(String, String)>,
    Query(params): Query<StatusParams>,
) -> Response {
    let (body, to_apply) = {
        let mut st = lock(&shared);
        let knobs = st.knobs.clone();
        let Some(r) = st.deploys.get_mut(&id) else {
            return error(&SfError::new(
                404,
                "NOT_FOUND",
                format!("no deploy request {id}"),
            ));
        };
        r.reads += 1;
        let done = !knobs.never_finish && r.reads >= knobs.polls_until_done;
        let success = r.error.is_none() && r.failures.is_empty();
        let mut to_apply = None;
        if done && success && !r.check_only && !r.applied {
            r.applied = true;
            to_apply = Some(r.components.clone());
        }
        let mut result = result_json(&id, r, done);
        if params.include_details.as_deref() != Some("true")
            && let Some(o) = result.as_object_mut()
        {
            o.insert("details".into(), Value::Null);
        }
        (
            json!({"id": id, "validatedDeployRequestId": null, "deployOptions": r.options, "deployResult": result}),
            to_apply,
        )
    };
    if let Some(c) = to_apply {
        apply(&shared, c);
    }
    json_response(200, &body)
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

#[derive(Deserialize)]
struct QueryParams {
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
async fn tooling_query(
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
        lock(&self.shared)
            .flows
            .values()
            .map(|f| (f.name.clone(), f.active))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_elements_know_their_line_and_column() {
        let src = "<?xml version=\"1.0\"?>\n<Flow xmlns=\"x\">\n    <start>\n        <object>A&amp;B</object>\n    </start>\n</Flow>\n";
        let root = parse_xml(src).expect("parses");
        assert_eq!(root.name, "Flow");
        let start = root.child("start").expect("start");
        let object = start.child("object").expect("object");
        assert_eq!(object.text, "A&B");
        assert_eq!((object.line, object.column), (4, 9));
        assert!(parse_xml("<a><b></a>").is_err());
        assert!(parse_xml("<!DOCTYPE a><a/>").is_err());
    }

    #[test]
    fn multipart_parts_are_split_on_the_boundary() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "multipart/form-data; boundary=XyZ".parse().expect("header"),
        );
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"json\"\r\n\r\n{\"a\":1}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.zip\"\r\nContent-Type: application/zip\r\n\r\nPK\x03\x04\r\n--XyZ--\r\n";
        let parts = multipart_parts(&headers, body).expect("parts");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], ("json".to_owned(), b"{\"a\":1}".to_vec()));
        assert_eq!(parts[1], ("file".to_owned(), b"PK\x03\x04".to_vec()));
    }

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
