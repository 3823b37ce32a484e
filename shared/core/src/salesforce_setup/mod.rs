//! Salesforce set-up as code: for each enabled mapping, the outbound message (`Workflow`
//! metadata, `outboundMessages`) that sends every field the sync reads, and the record-triggered
//! flow that sends it; the Metadata API package that deploys both; the difference from what the
//! org holds (read back through the Tooling API); and the check that an org's outbound message
//! sends what a mapping needs. See `docs/salesforce-setup.md`.
//!
//! Outbound messages leave null fields out, so a mapped field missing from the message's field
//! list would look null on every change: the worker clears an absent field only when the message
//! is known to send it (invariant 9), and this module is how that becomes known.

use quick_xml::escape::escape;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::mapping::model::{MatchMode, SalesforceTrigger, TriggerCondition, TriggerOperator};
use crate::mapping::validate::{Problem, Severity, Source};
use crate::mapping::{Mapping, State};

mod condition;
mod drift;

pub use condition::{FieldTypes, FlowValue};
pub use drift::{Drift, FlowEntry, LiveCondition, drift, flow_differences};

/// The outbound message's name on every object (its full name is `Object.sfhs_sync`).
pub const MESSAGE_NAME: &str = "sfhs_sync";
/// The flow action's name inside each flow.
pub const ACTION_NAME: &str = "Send_to_sfhs";
/// The Metadata API namespace.
pub const METADATA_NS: &str = "http://soap.sforce.com/2006/04/metadata";

/// Where the outbound messages go and as whom.
#[derive(Debug, Clone)]
pub struct SetupConfig {
    /// The webhook URL (the stack's `OutboundMessageUrl` output), without the secret.
    pub webhook_url: String,
    /// The URL secret (the `UrlSecretArn` secret's value), sent as a query parameter.
    pub url_secret: Option<String>,
    /// The query parameter's name (`secret`).
    pub secret_param: String,
    /// The Salesforce user outbound messages are sent as (a username).
    pub integration_user: String,
    /// The Metadata API version of the package (`62.0`).
    pub api_version: String,
}

impl SetupConfig {
    /// The endpoint URL with the secret: what Salesforce posts to.
    pub fn endpoint_url(&self) -> String {
        match &self.url_secret {
            Some(secret) => {
                let sep = if self.webhook_url.contains('?') { '&' } else { '?' };
                format!("{}{sep}{}={}", self.webhook_url, self.secret_param, percent_encode(secret))
            }
            None => self.webhook_url.clone(),
        }
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// An endpoint URL with its query string's values hidden, for output.
pub fn redact_url(url: &str) -> String {
    match url.split_once('?') {
        None => url.to_owned(),
        Some((base, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) => format!("{k}=***"),
                    None => p.to_owned(),
                })
                .collect();
            format!("{base}?{}", params.join("&"))
        }
    }
}

/// The URL without its query string.
pub(crate) fn url_base(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url).trim_end_matches('/')
}

/// The outbound message of one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboundMessageDef {
    pub object: String,
    pub name: String,
    /// Selected fields: `Id`, the version field, every mapped field and lookup.
    pub fields: Vec<String>,
    pub endpoint_url: String,
    pub integration_user: String,
    pub api_version: String,
}

impl OutboundMessageDef {
    /// `Invoice__c.sfhs_sync`: the name a flow's action and `package.xml` use.
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.object, self.name)
    }
}

/// The record-triggered flow that sends one object's outbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowDef {
    pub name: String,
    pub label: String,
    pub object: String,
    /// The outbound message it sends (`Invoice__c.sfhs_sync`).
    pub action: String,
    pub trigger: Option<SalesforceTrigger>,
    /// How each condition's value is written, by field (lowercased), where the field's type is
    /// known from the org's describe; any other value is typed from its shape.
    pub value_types: BTreeMap<String, FlowValue>,
    pub api_version: String,
}

impl FlowDef {
    /// The element `c`'s value is written as: boolean for `is_null`, else the field's type, else
    /// the value's shape.
    pub fn value_type(&self, c: &TriggerCondition) -> FlowValue {
        if c.operator == TriggerOperator::IsNull {
            return FlowValue::Boolean;
        }
        self.value_types
            .get(&c.field.to_ascii_lowercase())
            .copied()
            .unwrap_or_else(|| FlowValue::of_text(&c.value))
    }
}

/// What one object needs in Salesforce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectSetup {
    pub message: OutboundMessageDef,
    pub flow: FlowDef,
}

/// Every field the outbound message of `m` must send: `Id`, the version field, the mapped
/// fields and the lookups, once each (case-insensitively), `Id` first, then by name.
pub fn outbound_fields(m: &Mapping) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut rest: Vec<String> = [m.version_field.clone()]
        .into_iter()
        .chain(m.fields.iter().map(|f| f.salesforce.clone()))
        .chain(m.associations.iter().map(|a| a.lookup.clone()))
        .filter(|f| !f.eq_ignore_ascii_case("Id"))
        .filter(|f| seen.insert(f.to_ascii_lowercase()))
        .collect();
    rest.sort_by_key(|f| f.to_ascii_lowercase());
    let mut fields = vec!["Id".to_owned()];
    fields.extend(rest);
    fields
}

/// The value types of `m`'s entry conditions whose field `types` knows.
fn value_types(m: &Mapping, types: &FieldTypes) -> BTreeMap<String, FlowValue> {
    let Some(t) = &m.salesforce_trigger else {
        return BTreeMap::new();
    };
    t.conditions
        .iter()
        .filter_map(|c| match types.value_of(&m.salesforce_object, c) {
            (v, true) => Some((c.field.to_ascii_lowercase(), v)),
            (_, false) => None,
        })
        .collect()
}

/// The flow's API name for an object: `sfhs_Invoice_c` (API names allow no double
/// underscores and no trailing underscore).
pub fn flow_name(object: &str) -> String {
    let mut name = String::from("sfhs_");
    for c in object.chars() {
        if c == '_' && name.ends_with('_') {
            continue;
        }
        name.push(if c.is_ascii_alphanumeric() { c } else { '_' });
    }
    name.trim_end_matches('_').to_owned()
}

/// The set-up of every enabled mapping (paused mappings get none: nothing of theirs syncs); the
/// flows' entry conditions typed from `types` (the org's describe of the mapped objects).
pub fn desired(mappings: &[&Mapping], cfg: &SetupConfig, types: &FieldTypes) -> Vec<ObjectSetup> {
    let mut out: Vec<ObjectSetup> = mappings
        .iter()
        .filter(|m| m.state == State::Enabled)
        .map(|m| {
            let message = OutboundMessageDef {
                object: m.salesforce_object.clone(),
                name: MESSAGE_NAME.to_owned(),
                fields: outbound_fields(m),
                endpoint_url: cfg.endpoint_url(),
                integration_user: cfg.integration_user.clone(),
                api_version: cfg.api_version.clone(),
            };
            let flow = FlowDef {
                name: flow_name(&m.salesforce_object),
                label: format!("sfhs: send {} to HubSpot", m.salesforce_object),
                object: m.salesforce_object.clone(),
                action: message.full_name(),
                trigger: m.salesforce_trigger.clone(),
                value_types: value_types(m, types),
                api_version: cfg.api_version.clone(),
            };
            ObjectSetup { message, flow }
        })
        .collect();
    out.sort_by(|a, b| a.message.object.cmp(&b.message.object));
    out
}

/// `workflows/Invoice__c.workflow`: the object's Workflow file holding only the outbound
/// message (`package.xml` names the `WorkflowOutboundMessage` member, so the object's other
/// workflow components are left alone).
pub fn workflow_xml(m: &OutboundMessageDef) -> String {
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(x, "<Workflow xmlns=\"{METADATA_NS}\">");
    x.push_str("    <outboundMessages>\n");
    let _ = writeln!(x, "        <fullName>{}</fullName>", escape(&m.name));
    let _ = writeln!(x, "        <apiVersion>{}</apiVersion>", m.api_version);
    x.push_str("        <description>Sends the fields sfhs syncs to HubSpot. Managed by `sfhs salesforce apply`: edit the mapping files, not this message.</description>\n");
    let _ = writeln!(x, "        <endpointUrl>{}</endpointUrl>", escape(&m.endpoint_url));
    for f in &m.fields {
        let _ = writeln!(x, "        <fields>{}</fields>", escape(f));
    }
    x.push_str("        <includeSessionId>false</includeSessionId>\n");
    let _ =
        writeln!(x, "        <integrationUser>{}</integrationUser>", escape(&m.integration_user));
    let _ = writeln!(x, "        <name>{}</name>", escape(&m.name));
    x.push_str("        <protected>false</protected>\n");
    x.push_str("        <useDeadLetterQueue>false</useDeadLetterQueue>\n");
    x.push_str("    </outboundMessages>\n");
    x.push_str("</Workflow>\n");
    x
}

/// `flows/sfhs_Invoice_c.flow`: an active record-triggered flow (after save, on create and
/// update, with the mapping's entry conditions) whose one action sends the outbound message.
pub fn flow_xml(f: &FlowDef) -> String {
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(x, "<Flow xmlns=\"{METADATA_NS}\">");
    x.push_str("    <actionCalls>\n");
    let _ = writeln!(x, "        <name>{ACTION_NAME}</name>");
    x.push_str("        <label>Send to sfhs</label>\n");
    x.push_str("        <locationX>176</locationX>\n");
    x.push_str("        <locationY>323</locationY>\n");
    let _ = writeln!(x, "        <actionName>{}</actionName>", escape(&f.action));
    x.push_str("        <actionType>outboundMessage</actionType>\n");
    x.push_str("        <flowTransactionModel>CurrentTransaction</flowTransactionModel>\n");
    x.push_str("    </actionCalls>\n");
    let _ = writeln!(x, "    <apiVersion>{}</apiVersion>", f.api_version);
    x.push_str("    <description>Managed by `sfhs salesforce apply`: edit the mapping files, not this flow.</description>\n");
    let _ = writeln!(x, "    <label>{}</label>", escape(&f.label));
    x.push_str("    <processType>AutoLaunchedFlow</processType>\n");
    x.push_str("    <start>\n");
    x.push_str("        <locationX>50</locationX>\n");
    x.push_str("        <locationY>0</locationY>\n");
    x.push_str("        <connector>\n");
    let _ = writeln!(x, "            <targetReference>{ACTION_NAME}</targetReference>");
    x.push_str("        </connector>\n");
    if let Some(t) = f.trigger.as_ref().filter(|t| !t.conditions.is_empty()) {
        let logic = match t.match_mode {
            MatchMode::All => "and",
            MatchMode::Any => "or",
        };
        let _ = writeln!(x, "        <filterLogic>{logic}</filterLogic>");
        for c in &t.conditions {
            x.push_str("        <filters>\n");
            let _ = writeln!(x, "            <field>{}</field>", escape(&c.field));
            let _ = writeln!(x, "            <operator>{}</operator>", c.operator.flow_name());
            x.push_str("            <value>\n");
            let element = f.value_type(c).element();
            let _ = writeln!(x, "                <{element}>{}</{element}>", escape(&c.value));
            x.push_str("            </value>\n");
            x.push_str("        </filters>\n");
        }
    }
    let _ = writeln!(x, "        <object>{}</object>", escape(&f.object));
    x.push_str("        <recordTriggerType>CreateAndUpdate</recordTriggerType>\n");
    x.push_str("        <triggerType>RecordAfterSave</triggerType>\n");
    x.push_str("    </start>\n");
    x.push_str("    <status>Active</status>\n");
    x.push_str("</Flow>\n");
    x
}

/// `package.xml`: the outbound messages (as `WorkflowOutboundMessage` members) and the flows.
pub fn package_xml(setups: &[ObjectSetup], api_version: &str) -> String {
    let mut x = String::new();
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(x, "<Package xmlns=\"{METADATA_NS}\">");
    if !setups.is_empty() {
        x.push_str("    <types>\n");
        for s in setups {
            let _ = writeln!(x, "        <members>{}</members>", escape(&s.flow.name));
        }
        x.push_str("        <name>Flow</name>\n");
        x.push_str("    </types>\n");
        x.push_str("    <types>\n");
        for s in setups {
            let _ = writeln!(x, "        <members>{}</members>", escape(s.message.full_name()));
        }
        x.push_str("        <name>WorkflowOutboundMessage</name>\n");
        x.push_str("    </types>\n");
    }
    let _ = writeln!(x, "    <version>{api_version}</version>");
    x.push_str("</Package>\n");
    x
}

/// The package's files, by path inside the zip (or the `--out` directory).
pub fn package_files(setups: &[ObjectSetup], api_version: &str) -> Vec<(String, String)> {
    let mut files = vec![("package.xml".to_owned(), package_xml(setups, api_version))];
    for s in setups {
        files.push((format!("workflows/{}.workflow", s.message.object), workflow_xml(&s.message)));
        files.push((format!("flows/{}.flow", s.flow.name), flow_xml(&s.flow)));
    }
    files
}

/// An outbound message as the org holds it (Tooling API `WorkflowOutboundMessage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveOutboundMessage {
    pub id: String,
    pub object: String,
    pub name: String,
    pub fields: Vec<String>,
    pub endpoint_url: String,
    pub integration_user: String,
    pub include_session_id: bool,
}

/// A flow as the org holds it (Tooling API `FlowDefinition`, and its active version's `Flow`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveFlow {
    pub name: String,
    /// Whether a version of it is active.
    pub active: bool,
    /// The active version's start and actions; `None` when not read (or none is active).
    pub entry: Option<FlowEntry>,
}

/// What `apply` does to one component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Create,
    Update,
    Same,
}

/// One line of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetupChange {
    pub object: String,
    /// `WorkflowOutboundMessage` or `Flow`.
    pub component_type: &'static str,
    pub full_name: String,
    pub change: ChangeKind,
    /// What differs, as sentences (secrets hidden).
    pub differences: Vec<String>,
}

pub(crate) fn has(list: &[String], name: &str) -> bool {
    list.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// The names of `names` that `other` does not hold (ignoring case), in their order.
fn not_in<'a>(names: &'a [String], other: &[String]) -> Vec<&'a str> {
    names.iter().filter(|n| !has(other, n)).map(String::as_str).collect()
}

/// The differences between the outbound message wanted and the one the org holds.
pub fn message_differences(want: &OutboundMessageDef, live: &LiveOutboundMessage) -> Vec<String> {
    let mut d = Vec::new();
    let missing = not_in(&want.fields, &live.fields);
    if !missing.is_empty() {
        d.push(format!("adds field(s) {}", missing.join(", ")));
    }
    let extra = not_in(&live.fields, &want.fields);
    if !extra.is_empty() {
        d.push(format!("removes field(s) {}", extra.join(", ")));
    }
    if live.endpoint_url != want.endpoint_url {
        d.push(format!(
            "changes the endpoint from {} to {}",
            redact_url(&live.endpoint_url),
            redact_url(&want.endpoint_url)
        ));
    }
    if !live.integration_user.eq_ignore_ascii_case(&want.integration_user) {
        d.push(format!(
            "changes the integration user from {} to {}",
            live.integration_user, want.integration_user
        ));
    }
    if live.include_session_id {
        d.push("stops sending the session id".to_owned());
    }
    d
}

/// What `apply` would change: per object, its outbound message and its flow.
pub fn plan(
    desired: &[ObjectSetup],
    messages: &[LiveOutboundMessage],
    flows: &[LiveFlow],
) -> Vec<SetupChange> {
    let mut out = Vec::new();
    for s in desired {
        let m = &s.message;
        let live =
            messages.iter().find(|l| l.object.eq_ignore_ascii_case(&m.object) && l.name == m.name);
        let (change, differences) = match live {
            None => (ChangeKind::Create, vec![]),
            Some(l) => {
                let d = message_differences(m, l);
                if d.is_empty() { (ChangeKind::Same, d) } else { (ChangeKind::Update, d) }
            }
        };
        out.push(SetupChange {
            object: m.object.clone(),
            component_type: "WorkflowOutboundMessage",
            full_name: m.full_name(),
            change,
            differences,
        });
        let live_flow = flows.iter().find(|f| f.name.eq_ignore_ascii_case(&s.flow.name));
        let (change, differences) = match live_flow {
            None => (ChangeKind::Create, vec![]),
            Some(f) => {
                let d = flow_differences(&s.flow, f);
                if d.is_empty() { (ChangeKind::Same, d) } else { (ChangeKind::Update, d) }
            }
        };
        out.push(SetupChange {
            object: s.flow.object.clone(),
            component_type: "Flow",
            full_name: s.flow.name.clone(),
            change,
            differences,
        });
    }
    out
}

/// The outbound message of `object` that sends to this deployment: the one whose endpoint is
/// `webhook_url` (when known), else the one `sfhs salesforce apply` names.
pub fn find_message<'a>(
    object: &str,
    messages: &'a [LiveOutboundMessage],
    webhook_url: Option<&str>,
) -> Option<&'a LiveOutboundMessage> {
    let of_object = || messages.iter().filter(move |m| m.object.eq_ignore_ascii_case(object));
    if let Some(url) = webhook_url
        && let Some(m) = of_object().find(|m| url_base(&m.endpoint_url) == url_base(url))
    {
        return Some(m);
    }
    of_object().find(|m| m.name == MESSAGE_NAME)
}

/// Checks the org's outbound message of `source` beyond its fields (those are checked by
/// `validate_live` with `Live::outbound_fields`): it exists and posts to this deployment.
pub fn check_message(
    source: &Source<'_>,
    found: Option<&LiveOutboundMessage>,
    webhook_url: Option<&str>,
) -> Vec<Problem> {
    let m = source.mapping;
    let problem = |path: &str, message: String, fix: String| Problem {
        severity: Severity::Error,
        file: source.file.to_owned(),
        path: path.to_owned(),
        message,
        fix,
    };
    let Some(found) = found else {
        if m.state != State::Enabled {
            return vec![];
        }
        return vec![problem(
            "salesforce_object",
            format!(
                "Salesforce has no outbound message on {} that sends to this deployment: no change of its records reaches sfhs",
                m.salesforce_object
            ),
            "run `sfhs salesforce apply` (it deploys the outbound message and the flow that sends it)".to_owned(),
        )];
    };
    let mut out = Vec::new();
    if let Some(url) = webhook_url
        && url_base(&found.endpoint_url) != url_base(url)
    {
        out.push(problem(
            "salesforce_object",
            format!(
                "outbound message {}.{} posts to {}, not to this deployment's webhook {}",
                found.object,
                found.name,
                redact_url(&found.endpoint_url),
                url_base(url)
            ),
            "run `sfhs salesforce apply` with this deployment's --webhook-url".to_owned(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::parse_yaml;

    const INVOICE: &str = "salesforce_object: Invoice__c\nhubspot_object: p1_invoice\nid_property: salesforce_id\nstate: enabled\nfields:\n  - {salesforce: Name, hubspot: invoice_number}\n  - {salesforce: amount__c, hubspot: amount}\nassociations:\n  - {lookup: Account__c, to: companies, find_parent_by: {property: salesforceaccountid}}\nsalesforce_trigger:\n  conditions:\n    - {field: Status__c, operator: not_equals, value: Draft}\n    - {field: Amount__c, operator: is_null, value: \"false\"}\n";

    fn cfg() -> SetupConfig {
        SetupConfig {
            webhook_url: "https://abc.execute-api.eu-west-1.amazonaws.com/outbound".into(),
            url_secret: Some("s3cr&t".into()),
            secret_param: "secret".into(),
            integration_user: "sfhs@example.com".into(),
            api_version: "62.0".into(),
        }
    }

    fn invoice() -> Mapping {
        parse_yaml("invoice.yaml", INVOICE).expect("valid mapping")
    }

    #[test]
    fn the_message_sends_id_the_version_every_field_and_lookup_once() {
        let m = invoice();
        assert_eq!(
            outbound_fields(&m),
            ["Id", "Account__c", "amount__c", "Name", "SystemModstamp"]
        );
        let mut m2 = m.clone();
        m2.fields[0].salesforce = "Id".into();
        assert_eq!(outbound_fields(&m2).iter().filter(|f| *f == "Id").count(), 1);
    }

    #[test]
    fn flow_names_are_api_names() {
        assert_eq!(flow_name("Invoice__c"), "sfhs_Invoice_c");
        assert_eq!(flow_name("acme__Shipment__c"), "sfhs_acme_Shipment_c");
        assert_eq!(flow_name("Account"), "sfhs_Account");
    }

    #[test]
    fn the_endpoint_carries_the_encoded_secret_and_output_hides_it() {
        let url = cfg().endpoint_url();
        assert_eq!(url, "https://abc.execute-api.eu-west-1.amazonaws.com/outbound?secret=s3cr%26t");
        assert_eq!(
            redact_url(&url),
            "https://abc.execute-api.eu-west-1.amazonaws.com/outbound?secret=***"
        );
    }

    #[test]
    fn paused_mappings_get_no_setup() {
        let mut m = invoice();
        m.state = State::Paused;
        assert!(desired(&[&m], &cfg(), &FieldTypes::default()).is_empty());
    }

    #[test]
    fn the_package_names_exactly_the_components_it_holds() {
        let m = invoice();
        let setups = desired(&[&m], &cfg(), &FieldTypes::default());
        let files = package_files(&setups, "62.0");
        let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["package.xml", "workflows/Invoice__c.workflow", "flows/sfhs_Invoice_c.flow"]
        );
        let package = &files[0].1;
        assert!(package.contains(
            "<members>Invoice__c.sfhs_sync</members>\n        <name>WorkflowOutboundMessage</name>"
        ));
        assert!(package.contains("<members>sfhs_Invoice_c</members>\n        <name>Flow</name>"));
        let wf = &files[1].1;
        for want in [
            "<fields>Id</fields>",
            "<fields>Account__c</fields>",
            "<fields>SystemModstamp</fields>",
            "<includeSessionId>false</includeSessionId>",
            "<protected>false</protected>",
            "<integrationUser>sfhs@example.com</integrationUser>",
            "<endpointUrl>https://abc.execute-api.eu-west-1.amazonaws.com/outbound?secret=s3cr%26t</endpointUrl>",
        ] {
            assert!(wf.contains(want), "{want} missing from {wf}");
        }
        let flow = &files[2].1;
        for want in [
            "<actionName>Invoice__c.sfhs_sync</actionName>",
            "<actionType>outboundMessage</actionType>",
            "<processType>AutoLaunchedFlow</processType>",
            "<object>Invoice__c</object>",
            "<recordTriggerType>CreateAndUpdate</recordTriggerType>",
            "<triggerType>RecordAfterSave</triggerType>",
            "<filterLogic>and</filterLogic>",
            "<operator>NotEqualTo</operator>",
            "<stringValue>Draft</stringValue>",
            "<operator>IsNull</operator>",
            "<booleanValue>false</booleanValue>",
            "<status>Active</status>",
        ] {
            assert!(flow.contains(want), "{want} missing from {flow}");
        }
    }

    /// The mapping's conditions as the describe types them: `Amount__c > 0` on a currency field
    /// is a number, as Flow Builder writes it; a plan against a flow that holds it as text says
    /// so.
    #[test]
    fn entry_conditions_are_typed_from_the_describe_and_a_mistyped_one_is_a_change() {
        use crate::mapping::schema::{SfField, SfObject, SfType};
        let mut m = invoice();
        m.salesforce_trigger = Some(SalesforceTrigger {
            conditions: vec![TriggerCondition {
                field: "Amount__c".into(),
                operator: TriggerOperator::GreaterThan,
                value: "0".into(),
            }],
            match_mode: MatchMode::All,
        });
        let field = |name: &str, sf_type| SfField {
            name: name.into(),
            sf_type,
            reference_to: vec![],
            picklist_values: vec![],
            length: None,
        };
        let types = FieldTypes::of(&[SfObject {
            name: "Invoice__c".into(),
            fields: vec![field("Amount__c", SfType::Currency)],
        }]);
        let setups = desired(&[&m], &cfg(), &types);
        let flow = flow_xml(&setups[0].flow);
        assert!(flow.contains("<numberValue>0</numberValue>"), "{flow}");
        assert!(!flow.contains("<stringValue>"), "{flow}");

        let held = |element: &str| LiveFlow {
            name: "sfhs_Invoice_c".into(),
            active: true,
            entry: Some(FlowEntry {
                logic: Some("and".into()),
                conditions: vec![LiveCondition {
                    field: "Amount__c".into(),
                    operator: "GreaterThan".into(),
                    value: Some("0".into()),
                    element: Some(element.into()),
                }],
                sends: vec!["Invoice__c.sfhs_sync".into()],
            }),
        };
        assert_eq!(flow_differences(&setups[0].flow, &held("numberValue")), Vec::<String>::new());
        assert_eq!(
            flow_differences(&setups[0].flow, &held("stringValue")),
            [
                "writes the value of Amount__c GreaterThan 0 as numberValue (the org has stringValue, which does not fit the field)"
            ]
        );
        // Without the describe (the tick's drift) the element is not held against the org.
        let untyped = desired(&[&m], &cfg(), &FieldTypes::default());
        let mut flow_def = untyped[0].flow.clone();
        flow_def.value_types.clear();
        assert!(flow_differences(&flow_def, &held("stringValue")).is_empty());
    }

    #[test]
    fn a_flow_without_conditions_has_no_filters() {
        let mut m = invoice();
        m.salesforce_trigger = None;
        let setups = desired(&[&m], &cfg(), &FieldTypes::default());
        let flow = flow_xml(&setups[0].flow);
        assert!(!flow.contains("<filters>") && !flow.contains("<filterLogic>"));
    }

    fn live(fields: &[&str], endpoint: &str) -> LiveOutboundMessage {
        LiveOutboundMessage {
            id: "04k1".into(),
            object: "Invoice__c".into(),
            name: MESSAGE_NAME.into(),
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            endpoint_url: endpoint.into(),
            integration_user: "SFHS@example.com".into(),
            include_session_id: false,
        }
    }

    #[test]
    fn the_plan_says_what_differs_and_hides_the_secret() {
        let m = invoice();
        let setups = desired(&[&m], &cfg(), &FieldTypes::default());
        let want = &setups[0].message;
        let same =
            live(&["Id", "Account__c", "Amount__c", "Name", "SystemModstamp"], &want.endpoint_url);
        let p = plan(
            &setups,
            std::slice::from_ref(&same),
            &[LiveFlow { name: "sfhs_Invoice_c".into(), active: true, entry: None }],
        );
        assert_eq!(
            p.iter().map(|c| c.change).collect::<Vec<_>>(),
            [ChangeKind::Same, ChangeKind::Same]
        );

        let old =
            live(&["Id", "Name", "Description__c"], "https://old.example.com/outbound?secret=old");
        let p = plan(&setups, &[old], &[]);
        assert_eq!(p[0].change, ChangeKind::Update);
        assert_eq!(
            p[0].differences,
            [
                "adds field(s) Account__c, amount__c, SystemModstamp",
                "removes field(s) Description__c",
                "changes the endpoint from https://old.example.com/outbound?secret=*** to https://abc.execute-api.eu-west-1.amazonaws.com/outbound?secret=***",
            ]
        );
        assert_eq!(p[1].change, ChangeKind::Create);
    }

    #[test]
    fn the_check_finds_the_message_to_this_deployment_and_names_the_fix() {
        let m = invoice();
        let source = Source { file: "invoice.yaml", mapping: &m };
        let hook = "https://abc.execute-api.eu-west-1.amazonaws.com/outbound";
        let mut other = live(&["Id"], "https://elsewhere.example.com/x");
        other.name = "Legacy".into();
        let ours = live(&["Id"], &format!("{hook}?secret=x"));
        let all = [other.clone(), ours.clone()];
        assert_eq!(find_message("invoice__c", &all, Some(hook)), Some(&ours));
        assert!(check_message(&source, Some(&ours), Some(hook)).is_empty());

        let p = check_message(&source, None, Some(hook));
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains("no outbound message on Invoice__c"));
        assert!(p[0].fix.contains("sfhs salesforce apply"));

        let mut elsewhere = ours.clone();
        elsewhere.endpoint_url = "https://elsewhere.example.com/x?secret=zz".into();
        let p = check_message(&source, Some(&elsewhere), Some(hook));
        assert_eq!(p.len(), 1);
        assert!(p[0].message.contains("posts to https://elsewhere.example.com/x?secret=***"));
    }
}
