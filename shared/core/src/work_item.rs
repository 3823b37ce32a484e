//! The work item: what the webhook, the import and the delete sweep put on the queues, and what
//! the worker consumes. A versioned JSON document, documented in `docs/work-item.md`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::outbound::{Fields, Notification, OutboundMessage};

/// The current schema version of [`WorkItem`]. Readers refuse versions they do not know.
pub const WORK_ITEM_VERSION: u32 = 1;

/// One record change to apply to HubSpot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkItem {
    /// Schema version ([`WORK_ITEM_VERSION`]).
    pub v: u32,
    /// What to do with the record.
    pub op: Op,
    /// The Salesforce org id as Salesforce sent it.
    pub org_id: String,
    /// The Salesforce object's API name (`Invoice__c`).
    pub sobject: String,
    /// The record's 18-character Salesforce id.
    pub record_id: String,
    /// The record's field values at send time; `null` for an `xsi:nil` field. Fields absent here
    /// were absent from the message.
    #[serde(default)]
    pub fields: Fields,
    /// Where the item came from.
    pub source: Source,
    /// When this system received the change (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Create or update the record in HubSpot.
    Upsert,
    /// The record was deleted in Salesforce.
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Source {
    /// A notification of a Salesforce outbound message.
    OutboundMessage {
        /// The notification id (`04l...`): Salesforce's dedupe key.
        notification_id: String,
        /// The outbound message definition (`04k...`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        action_id: Option<String>,
    },
    /// A page of an import.
    Import {
        import_id: String,
        /// `sfhs import start --force`: written even when HubSpot holds the record unchanged.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        force: bool,
    },
    /// The delete sweep.
    DeleteSweep,
    /// `sfhs reconcile`: a record missing or stale in HubSpot, or one gone from Salesforce.
    Reconcile,
    /// The catch-up sweep: a change the push missed (a dropped outbound message, a flow that was
    /// off, a system change), read back from Salesforce.
    CatchUp,
    /// The catch-up found a record live in Salesforce that the ledger holds as deleted (it was
    /// undeleted, and its version did not move): it replaces the tombstone whatever its version.
    Undelete,
}

impl WorkItem {
    /// The work item for one notification of an outbound message.
    pub fn from_notification(
        message: &OutboundMessage,
        notification: &Notification,
        received_at: OffsetDateTime,
    ) -> Self {
        Self {
            v: WORK_ITEM_VERSION,
            op: Op::Upsert,
            org_id: message.organization_id.clone(),
            sobject: notification.sobject.clone(),
            record_id: notification.record_id.clone(),
            fields: notification.fields.clone(),
            source: Source::OutboundMessage {
                notification_id: notification.id.clone(),
                action_id: message.action_id.clone(),
            },
            received_at,
        }
    }

    /// Serialises the item as the queue message body.
    pub fn to_json(&self) -> String {
        // A struct of strings and maps of strings cannot fail to serialise.
        serde_json::to_string(self).unwrap_or_else(|e| {
            unreachable!("serialising a WorkItem cannot fail: {e}");
        })
    }

    /// Reads a queue message body, refusing unknown schema versions.
    pub fn from_json(body: &str) -> Result<Self, WorkItemError> {
        #[derive(Deserialize)]
        struct Probe {
            v: u32,
        }
        let probe: Probe = serde_json::from_str(body).map_err(WorkItemError::Malformed)?;
        if probe.v != WORK_ITEM_VERSION {
            return Err(WorkItemError::UnknownVersion { version: probe.v });
        }
        serde_json::from_str(body).map_err(WorkItemError::Malformed)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WorkItemError {
    #[error("the work item is not valid JSON of the expected shape: {0}")]
    Malformed(#[source] serde_json::Error),
    #[error(
        "the work item has schema version {version}; this build reads version {WORK_ITEM_VERSION} (deploy matching versions of the functions)"
    )]
    UnknownVersion { version: u32 },
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn round_trips_and_refuses_unknown_versions() {
        let mut fields = Fields::new();
        fields.insert("Name".into(), Some("INV-1".into()));
        fields.insert("Notes__c".into(), None);
        let item = WorkItem {
            v: WORK_ITEM_VERSION,
            op: Op::Upsert,
            org_id: "00Dxx0000001gPFEAY".into(),
            sobject: "Invoice__c".into(),
            record_id: "a01xx000003DGb4AAG".into(),
            fields,
            source: Source::OutboundMessage {
                notification_id: "04lxx000000CaSiAAK".into(),
                action_id: Some("04kxx00000000blCAA".into()),
            },
            received_at: datetime!(2026-11-28 12:00:00.123 UTC),
        };
        let json = item.to_json();
        assert!(
            json.contains(
                r#""source":{"type":"outbound_message","notification_id":"04lxx000000CaSiAAK""#
            ),
            "{json}"
        );
        assert!(json.contains(r#""received_at":"2026-11-28T12:00:00.123Z""#), "{json}");
        assert_eq!(WorkItem::from_json(&json).unwrap(), item);

        let future = json.replacen(r#""v":1"#, r#""v":2"#, 1);
        assert!(matches!(
            WorkItem::from_json(&future),
            Err(WorkItemError::UnknownVersion { version: 2 })
        ));
        assert!(matches!(WorkItem::from_json("{"), Err(WorkItemError::Malformed(_))));
    }
}
