use std::fmt;

/// Where in the body a problem was found: byte offset, and line and column (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub offset: u64,
    pub line: u32,
    pub column: u32,
}

impl Position {
    pub(crate) fn locate(body: &str, offset: u64) -> Self {
        let end = usize::try_from(offset).unwrap_or(usize::MAX).min(body.len());
        let before = body.get(..end).unwrap_or(body);
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Self {
            offset,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {} (byte {})", self.line, self.column, self.offset)
    }
}

/// Why a body is not an acceptable outbound message. Every variant says what was found and what a
/// sender must change; none of them is worth retrying with the same body.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error(
        "the body is {size} bytes, over the limit of {limit} bytes; send fewer notifications per message or raise SFHS_MAX_BODY_BYTES"
    )]
    TooLarge { size: usize, limit: usize },

    #[error("the body is empty; expected a SOAP envelope holding a Salesforce outbound message")]
    Empty,

    #[error(
        "the body is not UTF-8 (invalid byte at offset {offset}); Salesforce sends outbound messages in UTF-8"
    )]
    NotUtf8 {
        offset: usize,
        #[source]
        source: std::str::Utf8Error,
    },

    #[error(
        "the XML declaration names encoding {encoding:?}; only UTF-8 is accepted, as Salesforce sends"
    )]
    UnsupportedEncoding { encoding: String },

    #[error(
        "the body has a document type declaration (DTD) at {at}; DTDs and entity declarations are refused, never expanded"
    )]
    DtdRefused { at: Position },

    #[error(
        "reference to undefined entity &{name}; at {at}; only the five XML entities and character references are allowed"
    )]
    UndefinedEntity { name: String, at: Position },

    #[error("malformed XML at {at}: {source}")]
    Xml {
        at: Position,
        #[source]
        source: quick_xml::Error,
    },

    #[error(
        "the document ends before it is complete (inside <{open}>); the body is truncated or malformed"
    )]
    Truncated { open: String },

    #[error(
        "not a Salesforce outbound message: {found} at {at}; expected soapenv:Envelope/soapenv:Body/notifications in namespace http://soap.sforce.com/2005/09/outbound"
    )]
    NotOutboundMessage { found: String, at: Position },

    #[error(
        "the outbound message has no OrganizationId; it is required to authenticate the sender"
    )]
    MissingOrganizationId,

    #[error("{element} {value:?} is not a Salesforce id (15 or 18 letters and digits){context}")]
    InvalidId { element: &'static str, value: String, context: String },

    #[error("the outbound message has no Notification; Salesforce sends 1 to 100 per message")]
    NoNotifications,

    #[error(
        "the outbound message has more than {max} notifications; Salesforce sends at most {max} per message"
    )]
    TooManyNotifications { max: usize },

    #[error("Notification #{index} has no Id (the notification id, 04l...)")]
    NotificationWithoutId { index: usize },

    #[error("Notification {notification_id} has no sObject")]
    NotificationWithoutSObject { notification_id: String },

    #[error("Notification {notification_id} has more than one sObject")]
    SeveralSObjects { notification_id: String },

    #[error(
        "the sObject of notification {notification_id} has no xsi:type naming its object (like xsi:type=\"sf:Invoice__c\")"
    )]
    SObjectWithoutType { notification_id: String },

    #[error("the sObject of notification {notification_id} has no Id (the record id)")]
    SObjectWithoutRecordId { notification_id: String },

    #[error(
        "field {field} appears twice in the sObject of notification {notification_id}; each field is sent once"
    )]
    DuplicateField { notification_id: String, field: String },

    #[error(
        "field {field} of notification {notification_id} contains the element <{child}> at {at}; outbound-message fields hold plain values"
    )]
    NestedField { notification_id: String, field: String, child: String, at: Position },

    #[error("element {element} appears twice in {parent} at {at}")]
    DuplicateElement { element: &'static str, parent: &'static str, at: Position },
}

impl OutboundError {
    /// Always false: the same body fails the same way. Kept for symmetry with the other errors.
    pub fn is_retryable(&self) -> bool {
        false
    }
}
