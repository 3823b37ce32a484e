//! Salesforce outbound messages: the model, the parser and the SOAP replies.
//!
//! An outbound message is a SOAP 1.1 document/literal POST whose body holds one `notifications`
//! element (namespace [`OUTBOUND_NS`]) with the org, the action and 1 to 100 `Notification`s, each
//! carrying one `sObject`. See `docs/outbound-messages.md` for what is accepted and refused.

mod error;
mod parse;
mod soap;

pub use error::{OutboundError, Position};
pub use parse::{DEFAULT_MAX_BODY_BYTES, MAX_NOTIFICATIONS, parse};
pub use soap::{ACK_XML, FaultCode, fault_xml};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// Namespace of SOAP 1.1 envelopes.
pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// Namespace of SOAP 1.2 envelopes (refused with a clear message: Salesforce sends 1.1).
pub const SOAP12_ENV_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// Namespace of the `notifications` element and its children.
pub const OUTBOUND_NS: &str = "http://soap.sforce.com/2005/09/outbound";
/// Namespace of XML Schema instance attributes (`xsi:type`, `xsi:nil`).
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// Namespace of the enterprise sObject fields (`sf:`).
pub const SOBJECT_NS: &str = "urn:sobject.enterprise.soap.sforce.com";

/// Field values of one record, in document order: `None` is an `xsi:nil` field.
///
/// A field that Salesforce left out (null, or not selected in the outbound message) is absent.
pub type Fields = IndexMap<String, Option<String>>;

/// One outbound message as Salesforce sent it. The `SessionId` is never kept: only whether one
/// was present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboundMessage {
    /// The org id exactly as sent (18 characters on the wire, sometimes 15).
    pub organization_id: String,
    /// The outbound message definition (`04k...`).
    pub action_id: Option<String>,
    /// Whether a non-empty `SessionId` came with the message (it is dropped at parse time).
    pub has_session_id: bool,
    pub enterprise_url: Option<String>,
    pub partner_url: Option<String>,
    pub notifications: Vec<Notification>,
}

/// One notification: one record's data at send time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// The notification id (`04l...`): the key Salesforce retries under.
    pub id: String,
    /// The object's API name: the `xsi:type` without its prefix (`Invoice__c`, `acme__Shipment__c`).
    pub sobject: String,
    /// The record's Salesforce id (`sf:Id`).
    pub record_id: String,
    /// Every other child of `sObject`.
    pub fields: Fields,
}

/// The first 15 characters of a Salesforce id: the case-sensitive form that the 18-character
/// form extends with a checksum. Org ids are compared in this form.
pub fn id15(id: &str) -> &str {
    id.get(..15).unwrap_or(id)
}

/// Whether `s` has the shape of a Salesforce id: 15 or 18 ASCII letters and digits.
pub fn is_salesforce_id(s: &str) -> bool {
    (s.len() == 15 || s.len() == 18) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}
