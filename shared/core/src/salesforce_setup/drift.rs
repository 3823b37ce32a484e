//! Set-up drift: what an admin changed in Setup that stops or narrows the sync. The org's
//! outbound messages and sfhs's flows are read back (as `sfhs salesforce plan` does) and held
//! against what each enabled mapping needs; every difference is a [`Drift`] naming the component,
//! what differs and the fix. The scheduled tick and `sfhs dev` check it (see
//! `import::drift`); `sfhs salesforce plan` shows the same flow differences as changes.

use serde::{Deserialize, Serialize};

use super::{FlowDef, LiveFlow, LiveOutboundMessage, MESSAGE_NAME, find_message, flow_name};
use super::{has, outbound_fields};
use crate::mapping::model::{MatchMode, SalesforceTrigger};
use crate::mapping::{Mapping, State};

/// A flow version's start and actions as the org holds them (Tooling API `Flow.Metadata`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowEntry {
    /// `and`, `or` or a custom logic; `None` without conditions.
    pub logic: Option<String>,
    pub conditions: Vec<LiveCondition>,
    /// The outbound messages its actions send (`Invoice__c.sfhs_sync`).
    pub sends: Vec<String>,
}

/// One entry condition as the org holds it (`FlowRecordFilter`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveCondition {
    pub field: String,
    /// The Flow operator (`EqualTo`, `GreaterThan`, ...).
    pub operator: String,
    /// The value as text, whatever its element (`stringValue`, `numberValue`, ...).
    pub value: Option<String>,
    /// The element the value is written as (`numberValue`), when one is set.
    pub element: Option<String>,
}

/// One difference between the org and what an enabled mapping needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drift {
    pub object: String,
    /// `flow sfhs_Invoice_c` or `outbound message Invoice__c.sfhs_sync`.
    pub component: String,
    /// What differs and what it does to the sync.
    pub problem: String,
    pub fix: String,
}

const FIX: &str = "run `sfhs salesforce apply` (or undo the change in Setup)";

/// One condition, normalised for comparison: field lowercased, operator, value (numbers and
/// booleans in one form).
type Key = (String, String, String);

fn key(field: &str, operator: &str, value: Option<&str>) -> Key {
    let value = value.unwrap_or_default().trim();
    let value = match value.parse::<f64>() {
        Ok(n) => n.to_string(),
        Err(_) if value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false") => {
            value.to_ascii_lowercase()
        }
        Err(_) => value.to_owned(),
    };
    (field.to_ascii_lowercase(), operator.to_owned(), value)
}

fn wanted_keys(trigger: Option<&SalesforceTrigger>) -> (Vec<Key>, &'static str) {
    let Some(t) = trigger else {
        return (Vec::new(), "and");
    };
    let mut keys: Vec<Key> = t
        .conditions
        .iter()
        .map(|c| key(&c.field, c.operator.flow_name(), Some(&c.value)))
        .collect();
    keys.sort();
    let logic = match t.match_mode {
        MatchMode::All => "and",
        MatchMode::Any => "or",
    };
    (keys, logic)
}

fn describe(keys: &[Key], logic: &str) -> String {
    if keys.is_empty() {
        return "none (every create and update)".to_owned();
    }
    let joint = if logic == "or" { " OR " } else { " AND " };
    keys.iter().map(|(f, o, v)| format!("{f} {o} {v}")).collect::<Vec<_>>().join(joint)
}

/// What `apply` changes in a flow the org holds: activates it, makes it send the message, puts
/// back its entry conditions. Nothing but activation when its content was not read.
pub fn flow_differences(want: &FlowDef, live: &LiveFlow) -> Vec<String> {
    let mut d = Vec::new();
    if !live.active {
        d.push("activates it".to_owned());
    }
    let Some(entry) = &live.entry else {
        return d;
    };
    if !entry.sends.iter().any(|a| a.eq_ignore_ascii_case(&want.action)) {
        d.push(format!("makes it send {}", want.action));
    }
    let (want_keys, want_logic) = wanted_keys(want.trigger.as_ref());
    let mut live_keys: Vec<Key> =
        entry.conditions.iter().map(|c| key(&c.field, &c.operator, c.value.as_deref())).collect();
    live_keys.sort();
    let live_logic = entry.logic.as_deref().unwrap_or("and").to_ascii_lowercase();
    let logic_matters = want_keys.len() > 1 || live_keys.len() > 1;
    if want_keys != live_keys || (logic_matters && live_logic != want_logic) {
        d.push(format!(
            "sets its entry conditions to {} (the org has {})",
            describe(&want_keys, want_logic),
            describe(&live_keys, &live_logic)
        ));
    } else {
        d.extend(element_differences(want, &entry.conditions));
    }
    d
}

/// Conditions the org holds with their value written as another element than the field's type
/// wants (a number compared as text): only where the field's type is known.
fn element_differences(want: &FlowDef, live: &[LiveCondition]) -> Vec<String> {
    let Some(t) = &want.trigger else {
        return Vec::new();
    };
    t.conditions
        .iter()
        .filter(|c| {
            c.operator == crate::mapping::model::TriggerOperator::IsNull
                || want.value_types.contains_key(&c.field.to_ascii_lowercase())
        })
        .filter_map(|c| {
            let wanted = want.value_type(c).element();
            let held = live
                .iter()
                .find(|l| {
                    l.field.eq_ignore_ascii_case(&c.field) && l.operator == c.operator.flow_name()
                })?
                .element
                .as_deref()?;
            (held != wanted).then(|| {
                format!(
                    "writes the value of {} {} {} as {wanted} (the org has {held}, which does not fit the field)",
                    c.field,
                    c.operator.flow_name(),
                    c.value
                )
            })
        })
        .collect()
}

/// The set-up drift of every enabled mapping: its outbound message to this deployment (found
/// as [`find_message`] does) sends every field the mapping reads and no session id; when that
/// message is sfhs's own, sfhs's flow exists, is active, sends it, and has the mapping's entry
/// conditions. A message made by hand in Setup is sent by the admin's own automation, which is
/// not checked.
pub fn drift(
    mappings: &[&Mapping],
    messages: &[LiveOutboundMessage],
    flows: &[LiveFlow],
    webhook_url: Option<&str>,
) -> Vec<Drift> {
    let mut out = Vec::new();
    for m in mappings.iter().filter(|m| m.state == State::Enabled) {
        let object = &m.salesforce_object;
        let drift = |component: String, problem: String| Drift {
            object: object.clone(),
            component,
            problem,
            fix: FIX.to_owned(),
        };
        let Some(message) = find_message(object, messages, webhook_url) else {
            out.push(drift(
                format!("outbound message {object}.{MESSAGE_NAME}"),
                format!("no outbound message sends {object}'s changes to sfhs: none of them reaches HubSpot"),
            ));
            continue;
        };
        let component = format!("outbound message {}.{}", message.object, message.name);
        let missing: Vec<String> =
            outbound_fields(m).into_iter().filter(|f| !has(&message.fields, f)).collect();
        if !missing.is_empty() {
            out.push(drift(
                component.clone(),
                format!(
                    "does not send {}: changes to {} do not reach HubSpot",
                    missing.join(", "),
                    if missing.len() == 1 { "it" } else { "them" }
                ),
            ));
        }
        if message.include_session_id {
            out.push(drift(
                component,
                "sends the user's session id, which sfhs never needs".to_owned(),
            ));
        }
        if message.name != MESSAGE_NAME {
            continue;
        }
        let name = flow_name(object);
        let want = FlowDef {
            name: name.clone(),
            label: String::new(),
            object: object.clone(),
            action: format!("{}.{}", message.object, message.name),
            trigger: m.salesforce_trigger.clone(),
            // The tick knows no field types: values are compared as text, not by element.
            value_types: Default::default(),
            api_version: String::new(),
        };
        let component = format!("flow {name}");
        match flows.iter().find(|f| f.name.eq_ignore_ascii_case(&name)) {
            None => {
                out.push(drift(component, format!("is missing: no change of {object} is sent")))
            }
            Some(f) if !f.active => {
                out.push(drift(component, format!("is not active: no change of {object} is sent")))
            }
            Some(f) => {
                for d in flow_differences(&want, f) {
                    out.push(drift(
                        component.clone(),
                        format!("differs from the mapping: `sfhs salesforce apply` {d}"),
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::parse_yaml;

    const INVOICE: &str = "salesforce_object: Invoice__c\nhubspot_object: p1_invoice\nid_property: salesforce_id\nstate: enabled\nfields:\n  - {salesforce: Name, hubspot: name}\n  - {salesforce: Amount__c, hubspot: amount}\nsalesforce_trigger:\n  conditions:\n    - {field: Amount__c, operator: greater_than, value: '0'}\n";

    fn message(fields: &[&str]) -> LiveOutboundMessage {
        LiveOutboundMessage {
            id: "04k1".into(),
            object: "Invoice__c".into(),
            name: MESSAGE_NAME.into(),
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            endpoint_url: "https://hook.example.com/outbound?secret=x".into(),
            integration_user: "sync@example.com".into(),
            include_session_id: false,
        }
    }

    fn flow(active: bool, conditions: &[(&str, &str, &str)]) -> LiveFlow {
        LiveFlow {
            name: "sfhs_Invoice_c".into(),
            active,
            entry: active.then(|| FlowEntry {
                logic: Some("and".into()),
                conditions: conditions
                    .iter()
                    .map(|(f, o, v)| LiveCondition {
                        field: (*f).into(),
                        operator: (*o).into(),
                        value: Some((*v).into()),
                        element: None,
                    })
                    .collect(),
                sends: vec!["Invoice__c.sfhs_sync".into()],
            }),
        }
    }

    #[test]
    fn an_org_as_applied_has_no_drift_and_each_change_in_setup_is_named() {
        let m = parse_yaml("invoice.yaml", INVOICE).expect("valid mapping");
        let all = ["Id", "Name", "Amount__c", "SystemModstamp"];
        let hook = Some("https://hook.example.com/outbound");
        let fine = flow(true, &[("Amount__c", "GreaterThan", "0.0")]);
        assert_eq!(drift(&[&m], &[message(&all)], std::slice::from_ref(&fine), hook), []);

        let off = drift(&[&m], &[message(&all)], &[flow(false, &[])], hook);
        assert_eq!(off.len(), 1, "{off:?}");
        assert_eq!(off[0].component, "flow sfhs_Invoice_c");
        assert!(off[0].problem.contains("is not active"), "{off:?}");
        assert!(off[0].fix.contains("sfhs salesforce apply"));

        let narrowed = flow(true, &[("Amount__c", "GreaterThan", "100")]);
        let d = drift(&[&m], &[message(&all)], &[narrowed], hook);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].problem
                .contains("amount__c GreaterThan 0 (the org has amount__c GreaterThan 100)"),
            "{}",
            d[0].problem
        );

        let fewer = drift(
            &[&m],
            &[message(&["Id", "Name", "SystemModstamp"])],
            std::slice::from_ref(&fine),
            hook,
        );
        assert_eq!(fewer.len(), 1, "{fewer:?}");
        assert_eq!(fewer[0].component, "outbound message Invoice__c.sfhs_sync");
        assert!(fewer[0].problem.starts_with("does not send Amount__c"));

        let none = drift(&[&m], &[], &[], hook);
        assert!(none[0].problem.contains("no outbound message"), "{none:?}");
    }
}
