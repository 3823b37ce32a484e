//! A streaming, namespace-aware reader of outbound messages on quick-xml.
//!
//! Elements are matched by namespace URI and local name, never by prefix or position. The reader
//! keeps a stack of frames, one per open element, so it needs no recursion and no DOM.

use std::borrow::Cow;

use quick_xml::NsReader;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};

use super::error::{OutboundError, Position};
use super::{
    Fields, Notification, OUTBOUND_NS, OutboundMessage, SOAP_ENV_NS, SOAP12_ENV_NS, XSI_NS,
    is_salesforce_id,
};

/// Salesforce puts at most 100 notifications in one message.
pub const MAX_NOTIFICATIONS: usize = 100;

/// Default body limit: 100 notifications of large records fit easily; API Gateway caps payloads at
/// 10 MB and Lambda's synchronous invocations at 6 MB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 5 * 1024 * 1024;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Parses an outbound message.
///
/// `body` is the raw HTTP body (a UTF-8 BOM is allowed); `max_bytes` the largest body accepted.
/// Field values are kept exactly as sent, as strings; the `SessionId` is dropped.
pub fn parse(body: &[u8], max_bytes: usize) -> Result<OutboundMessage, OutboundError> {
    if body.len() > max_bytes {
        return Err(OutboundError::TooLarge { size: body.len(), limit: max_bytes });
    }
    let bytes = body.strip_prefix(UTF8_BOM).unwrap_or(body);
    let text = std::str::from_utf8(bytes).map_err(|source| OutboundError::NotUtf8 {
        offset: source.valid_up_to() + (body.len() - bytes.len()),
        source,
    })?;
    if text.trim().is_empty() {
        return Err(OutboundError::Empty);
    }
    Parser::new(text).run()
}

/// Header fields of `notifications` collected as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meta {
    OrganizationId,
    ActionId,
    SessionId,
    EnterpriseUrl,
    PartnerUrl,
}

impl Meta {
    fn from_local(name: &str) -> Option<Self> {
        Some(match name {
            "OrganizationId" => Self::OrganizationId,
            "ActionId" => Self::ActionId,
            "SessionId" => Self::SessionId,
            "EnterpriseUrl" => Self::EnterpriseUrl,
            "PartnerUrl" => Self::PartnerUrl,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::OrganizationId => "OrganizationId",
            Self::ActionId => "ActionId",
            Self::SessionId => "SessionId",
            Self::EnterpriseUrl => "EnterpriseUrl",
            Self::PartnerUrl => "PartnerUrl",
        }
    }
}

#[derive(Debug, Default)]
struct NotificationBuilder {
    id: Option<String>,
    sobject: Option<SObjectBuilder>,
    seen_sobject: bool,
}

#[derive(Debug, Default)]
struct SObjectBuilder {
    sobject: Option<String>,
    record_id: Option<String>,
    fields: Fields,
    /// Names listed in `fieldsToNull` children (an enterprise-API form of null).
    to_null: Vec<String>,
}

/// One open element.
#[derive(Debug)]
enum Frame {
    Envelope,
    Body,
    Notifications,
    Meta(Meta, TextSink),
    Notification(NotificationBuilder),
    NotificationId(TextSink),
    SObject(SObjectBuilder),
    Field {
        name: String,
        nil: bool,
        text: TextSink,
    },
    /// An element this reader does not need (a SOAP header, an unknown extension): its subtree is
    /// skipped.
    Ignored,
}

/// Collects the character data of a leaf element.
#[derive(Debug, Default)]
struct TextSink {
    text: String,
    nil: bool,
}

struct Parser<'a> {
    src: &'a str,
    reader: NsReader<&'a [u8]>,
    stack: Vec<Frame>,
    seen_envelope: bool,
    seen_notifications: bool,
    organization_id: Option<String>,
    action_id: Option<String>,
    has_session_id: bool,
    enterprise_url: Option<String>,
    partner_url: Option<String>,
    notifications: Vec<Notification>,
    notification_count: usize,
}

fn is_ns(ns: &ResolveResult<'_>, uri: &str) -> bool {
    matches!(ns, ResolveResult::Bound(Namespace(n)) if *n == uri)
}

fn owned(s: &str) -> String {
    s.to_owned()
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        let mut reader = NsReader::from_str(src);
        let config = reader.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.expand_empty_elements = false;
        Self {
            src,
            reader,
            stack: Vec::with_capacity(8),
            seen_envelope: false,
            seen_notifications: false,
            organization_id: None,
            action_id: None,
            has_session_id: false,
            enterprise_url: None,
            partner_url: None,
            notifications: Vec::new(),
            notification_count: 0,
        }
    }

    fn at(&self, offset: u64) -> Position {
        Position::locate(self.src, offset)
    }

    fn here(&self) -> Position {
        self.at(self.reader.buffer_position())
    }

    fn run(mut self) -> Result<OutboundMessage, OutboundError> {
        loop {
            let start = self.reader.buffer_position();
            let (ns, event) = match self.reader.read_resolved_event() {
                Ok((ns, event)) => (ns.into_owned_static(), event),
                Err(source) => {
                    return Err(OutboundError::Xml {
                        at: self.at(self.reader.error_position()),
                        source,
                    });
                }
            };
            match event {
                Event::Start(e) => self.open(&ns, &e, start, false)?,
                Event::Empty(e) => self.open(&ns, &e, start, true)?,
                Event::End(_) => self.close()?,
                Event::Text(t) => {
                    let content = t.xml10_content();
                    self.text(&content, start)?;
                }
                Event::CData(c) => {
                    let content = c.xml10_content();
                    self.push_text(&content);
                }
                Event::GeneralRef(r) => {
                    let resolved = self.resolve_ref(&r, start)?;
                    self.text(&resolved, start)?;
                }
                Event::DocType(_) => {
                    return Err(OutboundError::DtdRefused { at: self.at(start) });
                }
                Event::Decl(d) => {
                    if let Some(Ok(encoding)) = d.encoding() {
                        let enc = encoding.into_owned();
                        if !enc.eq_ignore_ascii_case("utf-8") && !enc.eq_ignore_ascii_case("utf8") {
                            return Err(OutboundError::UnsupportedEncoding { encoding: enc });
                        }
                    }
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => break,
            }
        }
        self.finish()
    }

    /// Resolves `&name;`: character references and the five predefined entities; nothing else.
    fn resolve_ref(
        &self,
        r: &BytesRef<'_>,
        start: u64,
    ) -> Result<Cow<'static, str>, OutboundError> {
        if r.is_char_ref() {
            return match r.resolve_char_ref() {
                Ok(Some(c)) => Ok(Cow::Owned(c.to_string())),
                Ok(None) => Err(OutboundError::UndefinedEntity {
                    name: owned(r.as_ref()),
                    at: self.at(start),
                }),
                Err(source) => Err(OutboundError::Xml { at: self.at(start), source }),
            };
        }
        let s: &'static str = match r.as_ref() {
            "amp" => "&",
            "lt" => "<",
            "gt" => ">",
            "apos" => "'",
            "quot" => "\"",
            other => {
                return Err(OutboundError::UndefinedEntity {
                    name: owned(other),
                    at: self.at(start),
                });
            }
        };
        Ok(Cow::Borrowed(s))
    }

    fn text(&mut self, content: &str, start: u64) -> Result<(), OutboundError> {
        if self.sink().is_some() {
            self.push_text(content);
            return Ok(());
        }
        if content.trim().is_empty() || matches!(self.stack.last(), Some(Frame::Ignored)) {
            return Ok(());
        }
        if self.stack.is_empty() {
            return Err(OutboundError::NotOutboundMessage {
                found: "text outside the root element".into(),
                at: self.at(start),
            });
        }
        // Stray text between structural elements: harmless, skipped.
        Ok(())
    }

    fn sink(&mut self) -> Option<&mut TextSink> {
        match self.stack.last_mut() {
            Some(
                Frame::Meta(_, sink)
                | Frame::NotificationId(sink)
                | Frame::Field { text: sink, .. },
            ) => Some(sink),
            _ => None,
        }
    }

    fn push_text(&mut self, content: &str) {
        if let Some(sink) = self.sink() {
            sink.text.push_str(content);
        }
    }

    fn xsi_nil(&self, e: &BytesStart<'_>) -> bool {
        self.xsi_attr(e, "nil").is_some_and(|v| matches!(v.trim(), "true" | "1"))
    }

    fn xsi_attr(&self, e: &BytesStart<'_>, local: &str) -> Option<String> {
        e.attributes().flatten().find_map(|a| {
            let (ns, name) = self.reader.resolver().resolve_attribute(a.key);
            (is_ns(&ns, XSI_NS) && name.as_ref() == local).then(|| owned(&a.value))
        })
    }

    fn open(
        &mut self,
        ns: &ResolveResult<'_>,
        e: &BytesStart<'_>,
        start: u64,
        empty: bool,
    ) -> Result<(), OutboundError> {
        let local = e.local_name();
        let local = local.as_ref();
        let frame = match self.stack.last_mut() {
            None => {
                if self.seen_envelope {
                    return Err(OutboundError::NotOutboundMessage {
                        found: format!("a second root element <{}>", owned(local)),
                        at: self.at(start),
                    });
                }
                self.seen_envelope = true;
                if local == "Envelope" && is_ns(ns, SOAP_ENV_NS) {
                    Frame::Envelope
                } else if local == "Envelope" && is_ns(ns, SOAP12_ENV_NS) {
                    return Err(OutboundError::NotOutboundMessage {
                        found: "a SOAP 1.2 envelope (Salesforce sends SOAP 1.1)".into(),
                        at: self.at(start),
                    });
                } else {
                    return Err(OutboundError::NotOutboundMessage {
                        found: format!("root element <{}>", owned(e.name().as_ref())),
                        at: self.at(start),
                    });
                }
            }
            Some(Frame::Envelope) => {
                if local == "Body" && is_ns(ns, SOAP_ENV_NS) {
                    Frame::Body
                } else {
                    Frame::Ignored
                }
            }
            Some(Frame::Body) => {
                if local == "notifications" && is_ns(ns, OUTBOUND_NS) && !self.seen_notifications {
                    self.seen_notifications = true;
                    Frame::Notifications
                } else {
                    return Err(OutboundError::NotOutboundMessage {
                        found: format!("<{}> in the SOAP body", owned(e.name().as_ref())),
                        at: self.at(start),
                    });
                }
            }
            Some(Frame::Notifications) => {
                if !is_ns(ns, OUTBOUND_NS) {
                    Frame::Ignored
                } else if local == "Notification" {
                    self.notification_count += 1;
                    if self.notification_count > MAX_NOTIFICATIONS {
                        return Err(OutboundError::TooManyNotifications { max: MAX_NOTIFICATIONS });
                    }
                    Frame::Notification(NotificationBuilder::default())
                } else if let Some(meta) = Meta::from_local(local) {
                    let nil = self.xsi_nil(e);
                    Frame::Meta(meta, TextSink { text: String::new(), nil })
                } else {
                    Frame::Ignored
                }
            }
            Some(Frame::Notification(n)) => {
                if !is_ns(ns, OUTBOUND_NS) {
                    Frame::Ignored
                } else if local == "Id" {
                    if n.id.is_some() {
                        let at = Position::locate(self.src, start);
                        return Err(OutboundError::DuplicateElement {
                            element: "Id",
                            parent: "Notification",
                            at,
                        });
                    }
                    Frame::NotificationId(TextSink::default())
                } else if local == "sObject" {
                    if n.seen_sobject {
                        return Err(OutboundError::SeveralSObjects {
                            notification_id: n.id.clone().unwrap_or_default(),
                        });
                    }
                    n.seen_sobject = true;
                    let sobject = self.xsi_attr(e, "type").and_then(|t| {
                        let t = t.trim();
                        let name = t.rsplit_once(':').map_or(t, |(_, name)| name);
                        (!name.is_empty()).then(|| name.to_owned())
                    });
                    Frame::SObject(SObjectBuilder { sobject, ..SObjectBuilder::default() })
                } else {
                    Frame::Ignored
                }
            }
            Some(Frame::SObject(_)) => {
                Frame::Field { name: owned(local), nil: self.xsi_nil(e), text: TextSink::default() }
            }
            Some(Frame::Field { name, .. }) => {
                let field = name.clone();
                return Err(OutboundError::NestedField {
                    notification_id: self.current_notification_id(),
                    field,
                    child: owned(e.name().as_ref()),
                    at: self.at(start),
                });
            }
            Some(Frame::Meta(..) | Frame::NotificationId(_) | Frame::Ignored) => Frame::Ignored,
        };
        self.stack.push(frame);
        if empty {
            self.close()?;
        }
        Ok(())
    }

    fn current_notification_id(&self) -> String {
        self.stack
            .iter()
            .rev()
            .find_map(|f| match f {
                Frame::Notification(n) => n.id.clone(),
                _ => None,
            })
            .unwrap_or_else(|| "(without Id)".into())
    }

    fn close(&mut self) -> Result<(), OutboundError> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        match frame {
            Frame::Envelope | Frame::Body | Frame::Notifications | Frame::Ignored => {}
            Frame::Meta(meta, sink) => self.set_meta(meta, sink)?,
            Frame::NotificationId(sink) => {
                if let Some(Frame::Notification(n)) = self.stack.last_mut() {
                    let id = sink.text.trim();
                    if !id.is_empty() {
                        n.id = Some(id.to_owned());
                    }
                }
            }
            Frame::Notification(n) => {
                let notification = self.build_notification(n)?;
                self.notifications.push(notification);
            }
            Frame::SObject(s) => {
                if let Some(Frame::Notification(n)) = self.stack.last_mut() {
                    n.sobject = Some(s);
                }
            }
            Frame::Field { name, nil, text } => {
                let notification_id = self.current_notification_id();
                if let Some(Frame::SObject(s)) = self.stack.last_mut() {
                    if name == "Id" {
                        let id = text.text.trim();
                        if !id.is_empty() {
                            s.record_id = Some(id.to_owned());
                        }
                    } else if name == "fieldsToNull" {
                        s.to_null.push(text.text.trim().to_owned());
                    } else {
                        let value = if nil { None } else { Some(text.text) };
                        if s.fields.insert(name.clone(), value).is_some() {
                            return Err(OutboundError::DuplicateField {
                                notification_id,
                                field: name,
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn set_meta(&mut self, meta: Meta, sink: TextSink) -> Result<(), OutboundError> {
        let value = if sink.nil {
            None
        } else {
            let v = sink.text.trim();
            (!v.is_empty()).then(|| v.to_owned())
        };
        let slot = match meta {
            Meta::SessionId => {
                // Never kept: a live API credential.
                self.has_session_id |= value.is_some();
                return Ok(());
            }
            Meta::OrganizationId => &mut self.organization_id,
            Meta::ActionId => &mut self.action_id,
            Meta::EnterpriseUrl => &mut self.enterprise_url,
            Meta::PartnerUrl => &mut self.partner_url,
        };
        if slot.is_some() {
            return Err(OutboundError::DuplicateElement {
                element: meta.name(),
                parent: "notifications",
                at: self.here(),
            });
        }
        *slot = value;
        Ok(())
    }

    fn build_notification(&self, n: NotificationBuilder) -> Result<Notification, OutboundError> {
        let index = self.notifications.len() + 1;
        let id = n.id.ok_or(OutboundError::NotificationWithoutId { index })?;
        if !is_salesforce_id(&id) {
            return Err(OutboundError::InvalidId {
                element: "Notification Id",
                value: id,
                context: format!(" (notification #{index})"),
            });
        }
        let Some(s) = n.sobject else {
            return Err(OutboundError::NotificationWithoutSObject { notification_id: id });
        };
        let sobject = s
            .sobject
            .ok_or_else(|| OutboundError::SObjectWithoutType { notification_id: id.clone() })?;
        let record_id = s
            .record_id
            .ok_or_else(|| OutboundError::SObjectWithoutRecordId { notification_id: id.clone() })?;
        if !is_salesforce_id(&record_id) {
            return Err(OutboundError::InvalidId {
                element: "sObject Id",
                value: record_id,
                context: format!(" in notification {id}"),
            });
        }
        let mut fields = s.fields;
        for name in s.to_null {
            if !name.is_empty() {
                fields.entry(name).or_insert(None);
            }
        }
        Ok(Notification { id, sobject, record_id, fields })
    }

    fn finish(self) -> Result<OutboundMessage, OutboundError> {
        if let Some(open) = self.stack.last() {
            let open = match open {
                Frame::Envelope => "Envelope".to_owned(),
                Frame::Body => "Body".to_owned(),
                Frame::Notifications => "notifications".to_owned(),
                Frame::Meta(m, _) => m.name().to_owned(),
                Frame::Notification(_) => "Notification".to_owned(),
                Frame::NotificationId(_) => "Id".to_owned(),
                Frame::SObject(_) => "sObject".to_owned(),
                Frame::Field { name, .. } => name.clone(),
                Frame::Ignored => "an element".to_owned(),
            };
            return Err(OutboundError::Truncated { open });
        }
        if !self.seen_envelope {
            return Err(OutboundError::Empty);
        }
        if !self.seen_notifications {
            return Err(OutboundError::NotOutboundMessage {
                found: "a SOAP envelope without a notifications element".into(),
                at: self.here(),
            });
        }
        if self.notifications.is_empty() {
            return Err(OutboundError::NoNotifications);
        }
        let organization_id = self.organization_id.ok_or(OutboundError::MissingOrganizationId)?;
        if !is_salesforce_id(&organization_id) {
            return Err(OutboundError::InvalidId {
                element: "OrganizationId",
                value: organization_id,
                context: String::new(),
            });
        }
        Ok(OutboundMessage {
            organization_id,
            action_id: self.action_id,
            has_session_id: self.has_session_id,
            enterprise_url: self.enterprise_url,
            partner_url: self.partner_url,
            notifications: self.notifications,
        })
    }
}

/// Owned form of a namespace resolution, so that the reader can be borrowed again.
trait IntoOwnedStatic {
    fn into_owned_static(self) -> ResolveResult<'static>;
}

impl IntoOwnedStatic for ResolveResult<'_> {
    fn into_owned_static(self) -> ResolveResult<'static> {
        match self {
            ResolveResult::Bound(Namespace(ns)) => {
                // Namespace URIs we care about are static; others are compared and dropped.
                for known in [SOAP_ENV_NS, SOAP12_ENV_NS, OUTBOUND_NS, XSI_NS] {
                    if ns == known {
                        return ResolveResult::Bound(Namespace(known));
                    }
                }
                ResolveResult::Unknown(String::new())
            }
            ResolveResult::Unbound => ResolveResult::Unbound,
            ResolveResult::Unknown(p) => ResolveResult::Unknown(p),
        }
    }
}
