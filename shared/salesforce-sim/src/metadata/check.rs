//! What Salesforce checks of a deploy's package: the zip and `package.xml`, each outbound
//! message (object, fields, endpoint, integration user) and each record-triggered flow (start,
//! entry conditions, outbound message actions); all or nothing.

use std::io::Read as _;

use indexmap::IndexMap;
use serde_json::{Value, json};

use crate::Shared;

use super::xml::parse_xml;
use super::{Components, DeployRecord, DeployedFlow, DeployedMessage, Filter, lock};

/// Reads and checks the zip; the deploy's outcome, revealed by the status reads.
pub(super) fn evaluate(shared: &Shared, zip_bytes: &[u8]) -> DeployRecord {
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

/// A component failure as `deployResult.details.componentFailures` lists it.
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
