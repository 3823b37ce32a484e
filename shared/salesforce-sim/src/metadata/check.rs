//! What Salesforce checks of a deploy's package: the zip and `package.xml`, each outbound
//! message (object, fields, endpoint, integration user) and each record-triggered flow (start,
//! entry conditions, outbound message actions); all or nothing.

use std::io::Read as _;

use indexmap::IndexMap;
use serde_json::{Value, json};

use crate::Shared;
use crate::schema::ObjectDef;

use super::xml::{El, parse_xml};
use super::{Components, DeployRecord, DeployedFlow, DeployedMessage, Filter, lock};

/// What a package is checked against: its files, the org's objects and users, and the outbound
/// messages deployed before.
struct Org {
    files: IndexMap<String, String>,
    objects: Vec<ObjectDef>,
    users: Vec<String>,
    allow_http: bool,
    /// `Object.Name` of every outbound message deployed before.
    known_messages: Vec<String>,
}

impl Org {
    /// The package's `file`, parsed; a failure when it is missing (`missing` found in the zip)
    /// or not well-formed.
    fn read(&self, file: &str, missing: &str, fail: &mut Failures<'_>) -> Option<El> {
        let Some(text) = self.files.get(file) else {
            fail.at((0, 0), format!("{missing} found in the zip"));
            return None;
        };
        parse_xml(text)
            .map_err(|(l, c, e)| fail.at((l, c), format!("Error parsing file: {e}")))
            .ok()
    }

    fn object(&self, name: &str) -> Option<&ObjectDef> {
        self.objects.iter().find(|o| o.name.eq_ignore_ascii_case(name))
    }
}

/// The failures of one component, each at a line and column of its file.
struct Failures<'a> {
    component_type: &'static str,
    member: &'a str,
    file: &'a str,
    list: &'a mut Vec<Value>,
}

impl Failures<'_> {
    fn at(&mut self, at: (u32, u32), problem: impl Into<String>) {
        self.list.push(failure(self.component_type, self.member, self.file, at, problem));
    }

    /// At the element `name` of `el`, or at `el` when it has none.
    fn at_child(&mut self, el: &El, name: &str, problem: impl Into<String>) {
        let at = el.child(name).map_or((el.line, el.column), |e| (e.line, e.column));
        self.at(at, problem);
    }
}

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
    let files = match unzip(zip_bytes) {
        Ok(files) => files,
        Err(e) => {
            record.error = Some(e);
            return record;
        }
    };
    let Some(package) = files.get("package.xml") else {
        record.error = Some("No package.xml found".into());
        return record;
    };
    let package = match parse_xml(package) {
        Ok(p) => p,
        Err((l, c, e)) => {
            record.failures.push(failure("", "package.xml", "package.xml", (l, c), e));
            return record;
        }
    };
    let (messages, flows) = members(&package, &files, &mut record.failures);
    record.total = u32::try_from(messages.len() + flows.len()).unwrap_or(u32::MAX);
    let org = org(shared, files);
    for member in &messages {
        if let Some(m) = outbound_message(&org, &package, member, &mut record.failures) {
            record.components.messages.push(m);
        }
    }
    for name in &flows {
        let in_package = &record.components.messages;
        if let Some(f) = flow(&org, name, in_package, &mut record.failures) {
            record.components.flows.push(f);
        }
    }
    record
}

/// The zip's text files by name (without `unpackaged/`); why not, for a zip that cannot be read.
fn unzip(zip_bytes: &[u8]) -> Result<IndexMap<String, String>, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
        .map_err(|e| format!("The zip file is not valid: {e}"))?;
    let mut files = IndexMap::new();
    for i in 0..archive.len() {
        let mut f =
            archive.by_index(i).map_err(|e| format!("Cannot read entry {i} of the zip: {e}"))?;
        if f.is_dir() {
            continue;
        }
        let name = f
            .name()
            .map_err(|e| format!("Entry {i} of the zip has no valid name: {e}"))?
            .trim_start_matches("unpackaged/")
            .to_owned();
        let mut text = String::new();
        f.read_to_string(&mut text).map_err(|e| format!("{name}: not UTF-8 text: {e}"))?;
        files.insert(name, text);
    }
    Ok(files)
}

/// The package's outbound messages (`Object.Name`; a `Workflow` member: every message of the
/// object's workflow file) and flows; a type the simulator does not deploy is a failure.
fn members(
    package: &El,
    files: &IndexMap<String, String>,
    failures: &mut Vec<Value>,
) -> (Vec<String>, Vec<String>) {
    let mut messages = Vec::new();
    let mut flows = Vec::new();
    for t in package.all("types") {
        let members: Vec<String> = t.all("members").map(|m| m.text.trim().to_owned()).collect();
        match t.text_of("name").as_deref() {
            Some("WorkflowOutboundMessage") => messages.extend(members),
            Some("Flow") => flows.extend(members),
            Some("Workflow") => {
                for object in members {
                    if let Some(wf) = files.get(&format!("workflows/{object}.workflow"))
                        && let Ok(root) = parse_xml(wf)
                    {
                        for om in root.all("outboundMessages") {
                            if let Some(n) = om.text_of("fullName") {
                                messages.push(format!("{object}.{n}"));
                            }
                        }
                    }
                }
            }
            Some(other) => failures.push(failure(
                other,
                "package.xml",
                "package.xml",
                (t.line, t.column),
                format!("The simulator deploys WorkflowOutboundMessage, Workflow and Flow only, not {other}"),
            )),
            None => {}
        }
    }
    (messages, flows)
}

/// What the package is checked against, read from the simulated org.
fn org(shared: &Shared, files: IndexMap<String, String>) -> Org {
    let objects = shared.org_lock().objects().to_vec();
    let st = lock(shared);
    let mut users = st.users.clone();
    users.push(shared.settings.username.clone());
    let known_messages = st.messages.values().map(|m| format!("{}.{}", m.object, m.name)).collect();
    Org { files, objects, users, allow_http: st.knobs.allow_http, known_messages }
}

/// An outbound message of the package, checked: its object exists, its file holds it, its
/// fields exist, its endpoint is https (or an allowed http), its integration user exists.
fn outbound_message(
    org: &Org,
    package: &El,
    member: &str,
    failures: &mut Vec<Value>,
) -> Option<DeployedMessage> {
    const TYPE: &str = "WorkflowOutboundMessage";
    let Some((object, name)) = member.split_once('.') else {
        failures.push(failure(
            TYPE,
            member,
            "package.xml",
            (package.line, package.column),
            format!("{member} is not Object.MessageName"),
        ));
        return None;
    };
    let file = format!("workflows/{object}.workflow");
    let mut fail = Failures { component_type: TYPE, member, file: &file, list: failures };
    let Some(def) = org.object(object) else {
        fail.at((1, 1), format!("Entity of type 'CustomObject' named '{object}' cannot be found"));
        return None;
    };
    let root = org.read(&file, &format!("No Workflow named: {object}"), &mut fail)?;
    let Some(om) =
        root.all("outboundMessages").find(|o| o.text_of("fullName").as_deref() == Some(name))
    else {
        fail.at((root.line, root.column), format!("No outbound message named {name} in {file}"));
        return None;
    };
    let fields = message_fields(def, om, &mut fail);
    let endpoint = om.text_of("endpointUrl").unwrap_or_default();
    let endpoint_ok = endpoint_allowed(&endpoint, org.allow_http, om, &mut fail);
    let user = om.text_of("integrationUser").unwrap_or_default();
    let user_ok = org.users.iter().any(|u| u.eq_ignore_ascii_case(&user));
    if !user_ok {
        fail.at_child(
            om,
            "integrationUser",
            format!("integrationUser: no active user {user:?} in this org"),
        );
    }
    let fields = fields?;
    (endpoint_ok && user_ok).then(|| DeployedMessage {
        id: String::new(),
        object: def.name.clone(),
        name: name.to_owned(),
        fields,
        endpoint_url: endpoint,
        integration_user: user,
        include_session_id: om.text_of("includeSessionId").as_deref() == Some("true"),
        api_version: om.text_of("apiVersion").unwrap_or_default(),
    })
}

/// The message's fields as the object names them; `None` once one does not exist (each such
/// field a failure).
fn message_fields(def: &ObjectDef, om: &El, fail: &mut Failures<'_>) -> Option<Vec<String>> {
    let mut ok = true;
    let mut fields = Vec::new();
    for f in om.all("fields") {
        let field = f.text.trim();
        match def.field(field) {
            Some(fd) => fields.push(fd.name.clone()),
            None => {
                ok = false;
                fail.at(
                    (f.line, f.column),
                    format!("Invalid field:{field} on {}: no such field", def.name),
                );
            }
        }
    }
    ok.then_some(fields)
}

/// Whether the endpoint is https, or http to this machine (or any http when allowed).
fn endpoint_allowed(endpoint: &str, allow_http: bool, om: &El, fail: &mut Failures<'_>) -> bool {
    match url::Url::parse(endpoint) {
        Ok(u) if u.scheme() == "https" => true,
        Ok(u)
            if u.scheme() == "http"
                && (allow_http
                    || matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))) =>
        {
            true
        }
        Ok(u) => {
            fail.at_child(
                om,
                "endpointUrl",
                format!("Endpoint URL: {} endpoints are not allowed; use https", u.scheme()),
            );
            false
        }
        Err(e) => {
            fail.at_child(
                om,
                "endpointUrl",
                format!("Endpoint URL: invalid URL {endpoint:?}: {e}"),
            );
            false
        }
    }
}

/// A record-triggered flow of the package, checked: after save on create or update of an object
/// that exists, entry conditions on its fields with known operators, each outbound message
/// action deployed or in the package and on the flow's object.
fn flow(
    org: &Org,
    name: &str,
    in_package: &[DeployedMessage],
    failures: &mut Vec<Value>,
) -> Option<DeployedFlow> {
    let file = format!("flows/{name}.flow");
    let mut fail = Failures { component_type: "Flow", member: name, file: &file, list: failures };
    let root = org.read(&file, &format!("No Flow named: {name}"), &mut fail)?;
    let Some(start) = root.child("start") else {
        fail.at((root.line, root.column), "A record-triggered flow needs a start element");
        return None;
    };
    let object = start.text_of("object").unwrap_or_default();
    let def = org.object(&object);
    let ok = start_checked(&root, start, def.is_some(), &object, &mut fail);
    let logic = start.text_of("filterLogic").unwrap_or_else(|| "and".into());
    let filters = entry_conditions(start, def, &mut fail);
    let actions = actions(&root, &object, org, in_package, &mut fail);
    let (def, filters, actions) = (def?, filters?, actions?);
    let status = root.text_of("status").unwrap_or_else(|| "Draft".into());
    ok.then(|| DeployedFlow {
        id: String::new(),
        name: name.to_owned(),
        object: def.name.clone(),
        actions,
        filters,
        any: logic == "or",
        active: status == "Active",
    })
}

/// The flow's type and start: an auto-launched flow, on an object that exists, after save, on
/// create or update, with `and` or `or` as its filter logic. Whether all hold (each that does
/// not, a failure).
fn start_checked(
    root: &El,
    start: &El,
    object_exists: bool,
    object: &str,
    fail: &mut Failures<'_>,
) -> bool {
    let mut ok = true;
    if root.text_of("processType").as_deref() != Some("AutoLaunchedFlow") {
        ok = false;
        fail.at(
            (root.line, root.column),
            "processType must be AutoLaunchedFlow for a record-triggered flow",
        );
    }
    if !object_exists {
        ok = false;
        fail.at_child(
            start,
            "object",
            format!("The object {object:?} of the start element does not exist"),
        );
    }
    let trigger = start.text_of("triggerType").unwrap_or_default();
    if trigger != "RecordAfterSave" {
        ok = false;
        fail.at_child(start, "triggerType", format!(
            "Outbound message actions run only in flows that run after the record is saved (triggerType RecordAfterSave), not {trigger:?}"
        ));
    }
    let rtt = start.text_of("recordTriggerType").unwrap_or_default();
    if !matches!(rtt.as_str(), "Create" | "Update" | "CreateAndUpdate") {
        ok = false;
        fail.at_child(start, "recordTriggerType", format!(
            "recordTriggerType {rtt:?}: outbound messages are sent on Create, Update or CreateAndUpdate"
        ));
    }
    let logic = start.text_of("filterLogic").unwrap_or_else(|| "and".into());
    if !matches!(logic.as_str(), "and" | "or") {
        ok = false;
        fail.at(
            (start.line, start.column),
            format!("filterLogic {logic:?}: the simulator supports and / or"),
        );
    }
    ok
}

/// The start's entry conditions; `None` once one names a field the object lacks or an unknown
/// operator (each a failure).
fn entry_conditions(
    start: &El,
    def: Option<&ObjectDef>,
    fail: &mut Failures<'_>,
) -> Option<Vec<Filter>> {
    let mut ok = true;
    let mut filters = Vec::new();
    for f in start.all("filters") {
        let field = f.text_of("field").unwrap_or_default();
        let operator = f.text_of("operator").unwrap_or_default();
        if let Some(d) = def
            && d.field(&field).is_none()
        {
            ok = false;
            fail.at(
                (f.line, f.column),
                format!("The field {field:?} of an entry condition does not exist on {}", d.name),
            );
        }
        if !matches!(
            operator.as_str(),
            "EqualTo" | "NotEqualTo" | "GreaterThan" | "LessThan" | "IsNull"
        ) {
            ok = false;
            fail.at((f.line, f.column), format!("Unknown operator {operator:?}"));
        }
        let element = f.child("value").and_then(|v| v.children.first());
        if let (Some(d), Some(e)) = (def, element)
            && let Some(fd) = d.field(&field)
        {
            let wanted = if operator == "IsNull" {
                "booleanValue"
            } else {
                fd.field_type.flow_value_element()
            };
            if e.name != wanted {
                ok = false;
                fail.at(
                    (e.line, e.column),
                    format!(
                        "The value of the entry condition on {field} is a {}, which does not fit a {} field: use {wanted}",
                        e.name,
                        fd.field_type.name()
                    ),
                );
            }
        }
        filters.push(Filter {
            field,
            operator,
            value: element.map(|v| v.text.trim().to_owned()),
            kind: element.map_or_else(|| "stringValue".to_owned(), |v| v.name.clone()),
        });
    }
    ok.then_some(filters)
}

/// The flow's outbound message actions (`Object.Name`); `None` once one names a message neither
/// deployed nor in the package, or one on another object (each a failure).
fn actions(
    root: &El,
    object: &str,
    org: &Org,
    in_package: &[DeployedMessage],
    fail: &mut Failures<'_>,
) -> Option<Vec<String>> {
    let mut ok = true;
    let mut actions = Vec::new();
    for a in root.all("actionCalls") {
        if a.text_of("actionType").as_deref() != Some("outboundMessage") {
            continue;
        }
        let action = a.text_of("actionName").unwrap_or_default();
        let packaged = in_package
            .iter()
            .any(|m| format!("{}.{}", m.object, m.name).eq_ignore_ascii_case(&action));
        let deployed = org.known_messages.iter().any(|m| m.eq_ignore_ascii_case(&action));
        if !packaged && !deployed {
            ok = false;
            fail.at_child(
                a,
                "actionName",
                format!("The action {action:?} references an outbound message that does not exist"),
            );
            continue;
        }
        if !action.split_once('.').is_some_and(|(o, _)| o.eq_ignore_ascii_case(object)) {
            ok = false;
            fail.at_child(
                a,
                "actionName",
                format!(
                    "The outbound message {action:?} is on another object than the flow's {object}"
                ),
            );
            continue;
        }
        actions.push(action);
    }
    ok.then_some(actions)
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
