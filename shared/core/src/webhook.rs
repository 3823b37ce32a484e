//! The webhook use case: authenticate an outbound message, put every notification on the queue,
//! and only then acknowledge. Free of any HTTP framework: the Lambda handler and `sfhs dev` adapt
//! their requests to [`InboundRequest`] and send back the [`Reply`].

use std::fmt;

use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::outbound::{self, ACK_XML, FaultCode, OutboundError, fault_xml, id15};
use crate::queue::{PublishError, Publisher};
use crate::work_item::WorkItem;

/// A secret compared in constant time and never printed.
#[derive(Clone)]
pub struct UrlSecret(String);

impl UrlSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    fn matches(&self, given: &str) -> bool {
        self.0.as_bytes().ct_eq(given.as_bytes()).into()
    }
}

impl fmt::Debug for UrlSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UrlSecret(***)")
    }
}

/// Who may send, and how much.
#[derive(Debug, Clone)]
pub struct WebhookPolicy {
    /// Org ids allowed to send (compared on their first 15 characters, case-sensitively).
    allowed_orgs: Vec<String>,
    /// The secret expected in the query string, when set.
    url_secret: Option<UrlSecret>,
    /// Name of the query-string parameter carrying the secret.
    secret_param: String,
    /// Largest body accepted, in bytes.
    max_body_bytes: usize,
}

impl WebhookPolicy {
    pub fn new(
        allowed_orgs: impl IntoIterator<Item = impl AsRef<str>>,
        url_secret: Option<UrlSecret>,
        secret_param: impl Into<String>,
        max_body_bytes: usize,
    ) -> Self {
        Self {
            allowed_orgs: allowed_orgs
                .into_iter()
                .map(|o| id15(o.as_ref().trim()).to_owned())
                .collect(),
            url_secret,
            secret_param: secret_param.into(),
            max_body_bytes,
        }
    }

    pub fn secret_param(&self) -> &str {
        &self.secret_param
    }

    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    fn org_allowed(&self, org_id: &str) -> bool {
        let org = id15(org_id);
        self.allowed_orgs.iter().any(|allowed| allowed == org)
    }
}

/// An HTTP request as the webhook needs it.
#[derive(Debug, Clone, Copy)]
pub struct InboundRequest<'a> {
    pub method: &'a str,
    /// The value of the secret query parameter, if present.
    pub secret: Option<&'a str>,
    /// The decoded body (base64 already undone).
    pub body: &'a [u8],
    pub received_at: OffsetDateTime,
}

/// What happened to a request; one value per log line and metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Acked,
    MethodNotAllowed,
    SecretMissing,
    SecretWrong,
    TooLarge,
    Malformed,
    OrgNotAllowed,
    EnqueueFailed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acked => "acked",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::SecretMissing => "secret_missing",
            Self::SecretWrong => "secret_wrong",
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::OrgNotAllowed => "org_not_allowed",
            Self::EnqueueFailed => "enqueue_failed",
        }
    }
}

/// The HTTP reply, plus what the logs and metrics need.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// Extra header (`Allow` on a 405).
    pub allow: Option<&'static str>,
    pub outcome: Outcome,
    pub org_id: Option<String>,
    pub action_id: Option<String>,
    pub notifications: usize,
    /// Problem to log (never the SessionId or the secret).
    pub detail: Option<String>,
}

const XML: &str = "text/xml; charset=utf-8";

/// The HTTP response for a reply: its status, `content-type`, `allow` on a 405, and the body.
/// The one conversion every HTTP adapter of the webhook uses (the Lambda, `sfhs dev`, `sfhs
/// demo`), so that they answer alike.
pub fn http_response(reply: &Reply) -> http::Response<String> {
    let mut response = http::Response::new(reply.body.clone());
    *response.status_mut() =
        http::StatusCode::from_u16(reply.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(reply.content_type));
    if let Some(allow) = reply.allow {
        headers.insert(http::header::ALLOW, http::HeaderValue::from_static(allow));
    }
    response
}

impl Reply {
    fn fault(status: u16, code: FaultCode, outcome: Outcome, message: String) -> Self {
        Self {
            status,
            content_type: XML,
            body: fault_xml(code, &message),
            allow: None,
            outcome,
            org_id: None,
            action_id: None,
            notifications: 0,
            detail: Some(message),
        }
    }
}

/// Handles one delivery: never panics, never acks what is not on the queue.
pub async fn handle(
    policy: &WebhookPolicy,
    publisher: &Publisher,
    req: InboundRequest<'_>,
) -> Reply {
    if !req.method.eq_ignore_ascii_case("POST") {
        let mut reply = Reply::fault(
            405,
            FaultCode::Client,
            Outcome::MethodNotAllowed,
            format!("method {} is not allowed; Salesforce POSTs outbound messages", req.method),
        );
        reply.allow = Some("POST");
        return reply;
    }
    if let Some(secret) = &policy.url_secret {
        match req.secret {
            None => {
                return Reply::fault(
                    401,
                    FaultCode::Client,
                    Outcome::SecretMissing,
                    format!(
                        "the endpoint URL has no '{}' query parameter; put the URL secret in the outbound message's endpoint URL",
                        policy.secret_param
                    ),
                );
            }
            Some(given) if !secret.matches(given) => {
                return Reply::fault(
                    403,
                    FaultCode::Client,
                    Outcome::SecretWrong,
                    format!(
                        "the '{}' query parameter does not match the configured URL secret",
                        policy.secret_param
                    ),
                );
            }
            Some(_) => {}
        }
    }
    let message = match outbound::parse(req.body, policy.max_body_bytes) {
        Ok(m) => m,
        Err(e @ OutboundError::TooLarge { .. }) => {
            return Reply::fault(413, FaultCode::Client, Outcome::TooLarge, e.to_string());
        }
        Err(e) => {
            return Reply::fault(400, FaultCode::Client, Outcome::Malformed, e.to_string());
        }
    };
    let count = message.notifications.len();
    let with_context = |mut reply: Reply| {
        reply.org_id = Some(message.organization_id.clone());
        reply.action_id = message.action_id.clone();
        reply.notifications = count;
        reply
    };
    if !policy.org_allowed(&message.organization_id) {
        return with_context(Reply::fault(
            403,
            FaultCode::Client,
            Outcome::OrgNotAllowed,
            format!(
                "organization {} is not allowed to send here; add its id to SFHS_ALLOWED_ORG_IDS",
                message.organization_id
            ),
        ));
    }
    let items: Vec<WorkItem> = message
        .notifications
        .iter()
        .map(|n| WorkItem::from_notification(&message, n, req.received_at))
        .collect();
    match publisher.publish(&items).await {
        Ok(_) => with_context(Reply {
            status: 200,
            content_type: XML,
            body: ACK_XML.to_owned(),
            allow: None,
            outcome: Outcome::Acked,
            org_id: None,
            action_id: None,
            notifications: count,
            detail: None,
        }),
        Err(e) => {
            let message = match &e {
                PublishError::TooLarge { .. } => e.to_string(),
                PublishError::Incomplete { .. } => {
                    "could not put every notification on the queue; not acknowledged, please retry"
                        .to_owned()
                }
            };
            let mut reply =
                with_context(Reply::fault(500, FaultCode::Server, Outcome::EnqueueFailed, message));
            reply.detail = Some(e.to_string());
            reply
        }
    }
}
