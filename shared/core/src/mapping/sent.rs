//! What each mapping's outbound message sends, read from the org itself (invariant 9).
//!
//! A field absent from a notification clears its HubSpot property only when the message that
//! sent it is known to carry the field. What a message carries is not remembered from a set-up
//! step: the org's outbound messages (Tooling API `WorkflowOutboundMessage`, deployed by
//! `sfhs salesforce apply` or made by hand in Setup) are read back, and the fields they send are
//! stored with the applied mappings, where the worker reads them. [`refresh`] does that; the
//! scheduled tick (AWS), `sfhs dev` (at start and on its tick) and `sfhs salesforce apply` call it.

use serde::Serialize;
use time::OffsetDateTime;

use super::Mapping;
use super::store::{MappingStore, StoreError, StoredMapping};
use crate::salesforce_setup::{LiveOutboundMessage, MESSAGE_NAME, url_base};

/// The fields that every outbound message of `object` sending to this deployment carries, or
/// `None` when no such message is found.
///
/// The messages that send here are those whose endpoint is `webhook_url` (when known: any name,
/// made by `sfhs` or by hand); failing that, the one `sfhs salesforce apply` names. When several
/// send here, only the fields all of them carry count as sent: a notification does not say which
/// of them sent it, and a field one of them leaves out must not be cleared.
pub fn sent_fields(
    object: &str,
    messages: &[LiveOutboundMessage],
    webhook_url: Option<&str>,
) -> Option<Vec<String>> {
    let of_object = || messages.iter().filter(move |m| m.object.eq_ignore_ascii_case(object));
    let mut sending: Vec<&LiveOutboundMessage> = match webhook_url {
        Some(url) => of_object().filter(|m| url_base(&m.endpoint_url) == url_base(url)).collect(),
        None => Vec::new(),
    };
    if sending.is_empty() {
        sending.extend(of_object().find(|m| m.name == MESSAGE_NAME));
    }
    let (first, rest) = sending.split_first()?;
    let mut fields: Vec<String> = Vec::with_capacity(first.fields.len());
    for f in &first.fields {
        let everywhere = rest.iter().all(|m| m.fields.iter().any(|g| g.eq_ignore_ascii_case(f)));
        if everywhere && !fields.iter().any(|g| g.eq_ignore_ascii_case(f)) {
            fields.push(f.clone());
        }
    }
    Some(fields)
}

/// What the worker does with each mapped field (field, lookup, version field) of an enabled
/// mapping when a notification lacks it: `cleared` where the outbound message is known to send
/// it (absent means empty in Salesforce), `kept` where it is not (absent says nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AbsentFields {
    pub object: String,
    /// Whether what the message sends is known at all.
    pub known: bool,
    pub cleared: Vec<String>,
    pub kept: Vec<String>,
}

impl AbsentFields {
    /// For `mapping`, whose outbound message sends `sent` (`None`: not known).
    pub fn of(mapping: &Mapping, sent: Option<&[String]>) -> Self {
        let sends = |f: &str| sent.is_some_and(|s| s.iter().any(|x| x.eq_ignore_ascii_case(f)));
        let (cleared, kept) = mapping
            .fields
            .iter()
            .map(|f| f.salesforce.clone())
            .chain(mapping.associations.iter().map(|a| a.lookup.clone()))
            .chain([mapping.version_field.clone()])
            .partition(|f| sends(f));
        Self { object: mapping.salesforce_object.clone(), known: sent.is_some(), cleared, kept }
    }

    /// One sentence for people: a warning with the fix when some field is kept.
    pub fn describe(&self) -> String {
        let o = &self.object;
        let fix = "fix: `sfhs salesforce apply`, or add them to the message in Setup; what it sends is read from the org every SentFieldsSeconds";
        if self.kept.is_empty() {
            format!(
                "{o}: the outbound message sends every mapped field; an empty one clears its HubSpot property."
            )
        } else if !self.known {
            format!(
                "warning: {o}: what the outbound message sends is not known yet, so no absent field is cleared ({fix})."
            )
        } else if self.cleared.is_empty() {
            format!(
                "warning: {o}: the outbound message sends none of the mapped fields; they are kept when a message lacks them, never cleared ({fix})."
            )
        } else {
            format!(
                "warning: {o}: an empty {} clears HubSpot (the outbound message sends it); {} are kept when a message lacks them, never cleared (the message does not send them; {fix}).",
                self.cleared.join(", "),
                self.kept.join(", ")
            )
        }
    }
}

/// What a refresh did for one mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SentOutcome {
    /// The stored fields already match the org.
    Same { fields: Vec<String> },
    /// The org's fields are stored now (`before`: what was stored; `None`: nothing was known).
    Recorded { before: Option<Vec<String>>, fields: Vec<String> },
    /// No outbound message of the object sends to this deployment; what was stored is
    /// forgotten, so that nothing absent is cleared.
    NoMessage { before: Option<Vec<String>> },
    /// The mapping could not be updated (written meanwhile, or the store failed); the next
    /// refresh tries again.
    Failed { error: String },
}

/// One mapping's line of a refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentRefresh {
    pub object: String,
    #[serde(flatten)]
    pub outcome: SentOutcome,
}

impl SentRefresh {
    /// Whether the worker now knows what this mapping's message sends.
    pub fn known(&self) -> bool {
        matches!(self.outcome, SentOutcome::Same { .. } | SentOutcome::Recorded { .. })
    }

    /// One sentence for people.
    pub fn describe(&self) -> String {
        let o = &self.object;
        match &self.outcome {
            SentOutcome::Same { fields } => {
                format!("{o}: the outbound message sends {}, as recorded.", list(fields))
            }
            SentOutcome::Recorded { before: None, fields } => format!(
                "{o}: the outbound message sends {}; recorded (empty values of these fields now clear HubSpot).",
                list(fields)
            ),
            SentOutcome::Recorded { before: Some(before), fields } => format!(
                "{o}: the outbound message now sends {} (it sent {}); recorded.",
                list(fields),
                list(before)
            ),
            SentOutcome::NoMessage { before } => format!(
                "{o}: no outbound message sends to this deployment{}; absent fields are kept in HubSpot (run `sfhs salesforce apply`).",
                if before.is_some() { ", what was recorded is forgotten" } else { "" }
            ),
            SentOutcome::Failed { error } => {
                format!("{o}: what the outbound message sends could not be recorded: {error}")
            }
        }
    }
}

fn list(fields: &[String]) -> String {
    if fields.is_empty() { "no field".to_owned() } else { fields.join(", ") }
}

/// What a scheduled read of the org's outbound messages found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "check", rename_all = "snake_case")]
pub enum SentCheck {
    /// Read recently; not read this time.
    NotDue,
    /// Read, and each mapping's line.
    Read { mappings: Vec<SentRefresh> },
    /// The messages could not be read (the integration user needs "View Setup and
    /// Configuration" for the Tooling API) or the mappings not listed; nothing changed.
    Failed { error: String, retryable: bool },
}

/// Stores, with each applied mapping (`only`: those of these objects), what the org's outbound
/// messages `messages` send to `webhook_url`. A mapping whose stored fields already match is not
/// written. A mapping written meanwhile is read again and tried once more.
pub async fn refresh(
    store: &dyn MappingStore,
    messages: &[LiveOutboundMessage],
    webhook_url: Option<&str>,
    only: Option<&[String]>,
    now: OffsetDateTime,
) -> Result<Vec<SentRefresh>, StoreError> {
    let mut out = Vec::new();
    for stored in store.list().await? {
        let object = stored.mapping.salesforce_object.clone();
        if only.is_some_and(|o| !o.iter().any(|x| x.eq_ignore_ascii_case(&object))) {
            continue;
        }
        let found = sent_fields(&object, messages, webhook_url);
        let outcome = match record(store, stored, found.as_ref(), now).await {
            Err(StoreError::Conflict { .. }) => match store.get(&object).await {
                Ok(Some(again)) => record(store, again, found.as_ref(), now).await,
                Ok(None) => continue,
                Err(e) => Err(e),
            },
            other => other,
        };
        let outcome = outcome.unwrap_or_else(|e| SentOutcome::Failed { error: e.to_string() });
        match &outcome {
            SentOutcome::Recorded { fields, .. } => {
                tracing::info!(object, ?fields, "outbound message fields recorded");
            }
            SentOutcome::NoMessage { before: Some(_) } => tracing::warn!(
                object,
                "no outbound message sends here any more; absent fields are kept"
            ),
            SentOutcome::Failed { error } => {
                tracing::warn!(object, error, "outbound message fields not recorded");
            }
            SentOutcome::Same { .. } | SentOutcome::NoMessage { before: None } => {}
        }
        out.push(SentRefresh { object, outcome });
    }
    Ok(out)
}

async fn record(
    store: &dyn MappingStore,
    current: StoredMapping,
    found: Option<&Vec<String>>,
    now: OffsetDateTime,
) -> Result<SentOutcome, StoreError> {
    if current.outbound_fields.as_ref() == found {
        return Ok(match found {
            Some(fields) => SentOutcome::Same { fields: fields.clone() },
            None => SentOutcome::NoMessage { before: None },
        });
    }
    let before = current.outbound_fields.clone();
    let expected = current.version;
    let next = StoredMapping {
        version: current.version + 1,
        updated_at: now,
        outbound_fields: found.cloned(),
        ..current
    };
    store.put(&next, Some(expected)).await?;
    Ok(match found {
        Some(fields) => SentOutcome::Recorded { before, fields: fields.clone() },
        None => SentOutcome::NoMessage { before },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::parse_yaml;
    use crate::mapping::store::{MemoryMappingStore, next_version};
    use time::macros::datetime;

    const URL: &str = "https://abc.execute-api.us-east-1.amazonaws.com/outbound";
    const NOW: OffsetDateTime = datetime!(2030-01-01 12:00 UTC);

    fn message(name: &str, url: &str, fields: &[&str]) -> LiveOutboundMessage {
        LiveOutboundMessage {
            id: format!("04k{name}"),
            object: "Invoice__c".into(),
            name: name.into(),
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
            endpoint_url: format!("{url}?secret=s"),
            integration_user: "sync@example.com".into(),
            include_session_id: false,
        }
    }

    #[test]
    fn a_message_made_by_hand_counts_when_it_sends_here() {
        let by_hand = message("Invoice_to_HubSpot", URL, &["Id", "Name", "Status__c"]);
        let elsewhere = message("Invoice_to_ERP", "https://erp.example.com/in", &["Id"]);
        let msgs = [elsewhere, by_hand];
        assert_eq!(
            sent_fields("invoice__c", &msgs, Some(URL)),
            Some(vec!["Id".into(), "Name".into(), "Status__c".into()])
        );
        // Without the URL only the message `sfhs salesforce apply` names is known.
        assert_eq!(sent_fields("Invoice__c", &msgs, None), None);
        assert_eq!(sent_fields("Account", &msgs, Some(URL)), None);
    }

    #[test]
    fn two_messages_sending_here_count_only_what_both_send() {
        let a = message(MESSAGE_NAME, URL, &["Id", "Name", "Status__c", "SystemModstamp"]);
        let b = message("Invoice_by_hand", URL, &["Id", "status__c", "SystemModstamp"]);
        assert_eq!(
            sent_fields("Invoice__c", &[a.clone(), b], Some(URL)),
            Some(vec!["Id".into(), "Status__c".into(), "SystemModstamp".into()])
        );
        // The name is the fallback when no endpoint matches.
        assert_eq!(
            sent_fields("Invoice__c", &[a], Some("http://127.0.0.1:1/outbound")),
            Some(vec!["Id".into(), "Name".into(), "Status__c".into(), "SystemModstamp".into()])
        );
    }

    const MAPPING: &str = "salesforce_object: Invoice__c\nhubspot_object: p1_invoice\nid_property: salesforce_id\nstate: enabled\nfields:\n  - {salesforce: Name, hubspot: name}\n  - {salesforce: Status__c, hubspot: status}\n";

    async fn store_with_mapping() -> MemoryMappingStore {
        let store = MemoryMappingStore::new();
        let m = parse_yaml("invoice.yaml", MAPPING).expect("a valid mapping");
        let enabled = NOW - time::Duration::hours(1);
        store.put(&next_version(None, m, enabled), None).await.expect("stored");
        store
    }

    #[tokio::test]
    async fn refresh_records_changes_and_forgets_a_message_that_is_gone() {
        let store = store_with_mapping().await;
        let before = store.get("Invoice__c").await.unwrap().unwrap();
        let msgs = [message("Invoice_by_hand", URL, &["Id", "Name", "Status__c"])];

        let r = refresh(&store, &msgs, Some(URL), None, NOW).await.unwrap();
        assert_eq!(
            r[0].outcome,
            SentOutcome::Recorded {
                before: None,
                fields: vec!["Id".into(), "Name".into(), "Status__c".into()]
            }
        );
        let after = store.get("Invoice__c").await.unwrap().unwrap();
        assert!(after.outbound_sends("status__c"));
        assert_eq!(after.version, before.version + 1);
        assert_eq!(after.enabled_at, before.enabled_at, "enabling is not redone");
        assert_eq!(after.mapping, before.mapping);

        // Nothing changed: nothing written.
        let r = refresh(&store, &msgs, Some(URL), None, NOW).await.unwrap();
        assert!(matches!(r[0].outcome, SentOutcome::Same { .. }), "{r:?}");
        assert_eq!(store.get("Invoice__c").await.unwrap().unwrap().version, after.version);

        // Status__c removed from the message in Setup: no longer cleared.
        let msgs = [message("Invoice_by_hand", URL, &["Id", "Name"])];
        let r = refresh(&store, &msgs, Some(URL), None, NOW).await.unwrap();
        assert!(r[0].describe().contains("now sends Id, Name"), "{}", r[0].describe());
        assert!(!store.get("Invoice__c").await.unwrap().unwrap().outbound_sends("Status__c"));

        // The message deleted: nothing is known, nothing absent is cleared.
        let r = refresh(&store, &[], Some(URL), None, NOW).await.unwrap();
        assert!(matches!(r[0].outcome, SentOutcome::NoMessage { before: Some(_) }));
        assert!(!r[0].known());
        assert_eq!(store.get("Invoice__c").await.unwrap().unwrap().outbound_fields, None);

        // `only` leaves the other mappings alone.
        let r = refresh(&store, &msgs, Some(URL), Some(&["Account".into()]), NOW).await.unwrap();
        assert!(r.is_empty());
    }
}
