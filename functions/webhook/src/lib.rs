//! The webhook Lambda's handler: turns an API Gateway (HTTP API) or function-URL request into the
//! domain's [`InboundRequest`], runs the use case, and turns the [`Reply`] back into a response.
//! Logs one span per request with the org, the action, the count and the outcome (never the
//! SessionId, never the URL secret), and prints one EMF metrics line.

use lambda_http::{Body, Request, RequestExt, Response};
use sfhs_core::emf::Emf;
use sfhs_core::webhook::{self, InboundRequest, Reply};
use time::OffsetDateTime;
use tracing::Instrument;

/// What the handler needs, built once per cold start (by [`sfhs_core::app::webhook`]).
pub type Deps = sfhs_core::app::Webhook;

/// Handles one request. Never fails: every problem becomes a SOAP fault with the right status.
pub async fn handler(deps: &Deps, request: Request) -> Result<Response<Body>, lambda_http::Error> {
    let started = std::time::Instant::now();
    let request_id = request.lambda_context_ref().map(|c| c.request_id.clone());
    let span = tracing::info_span!(
        "outbound_message",
        request_id = request_id.as_deref().unwrap_or("-"),
        org_id = tracing::field::Empty,
        action_id = tracing::field::Empty,
        notifications = tracing::field::Empty,
        outcome = tracing::field::Empty,
    );
    async {
        let params = request.query_string_parameters();
        let secret = params.first(deps.policy.secret_param());
        let body: &[u8] = match request.body() {
            Body::Empty => &[],
            Body::Text(t) => t.as_bytes(),
            Body::Binary(b) => b,
            _ => &[],
        };
        let inbound = InboundRequest {
            method: request.method().as_str(),
            secret,
            body,
            received_at: OffsetDateTime::now_utc(),
        };
        let reply = webhook::handle(&deps.policy, &deps.publisher, inbound).await;
        record(&reply, started.elapsed());
        Ok(webhook::http_response(&reply).map(Body::Text))
    }
    .instrument(span)
    .await
}

fn record(reply: &Reply, elapsed: std::time::Duration) {
    let span = tracing::Span::current();
    if let Some(org) = &reply.org_id {
        span.record("org_id", org.as_str());
    }
    if let Some(action) = &reply.action_id {
        span.record("action_id", action.as_str());
    }
    span.record("notifications", reply.notifications);
    span.record("outcome", reply.outcome.as_str());
    match (reply.status, &reply.detail) {
        (200, _) => tracing::info!(status = reply.status, "acknowledged"),
        (500.., Some(detail)) => {
            tracing::error!(status = reply.status, problem = %detail, "not acknowledged")
        }
        (_, detail) => tracing::warn!(
            status = reply.status,
            problem = detail.as_deref().unwrap_or(""),
            "refused"
        ),
    }
    let enqueued = if reply.status == 200 { reply.notifications } else { 0 };
    let line = Emf::new("sfhs")
        .dimension("Function", "webhook")
        .count("NotificationsReceived", u64::try_from(reply.notifications).unwrap_or(u64::MAX))
        .count("NotificationsEnqueued", u64::try_from(enqueued).unwrap_or(u64::MAX))
        .count("Rejected", u64::from(reply.status != 200 && reply.status < 500))
        .count("EnqueueFailed", u64::from(reply.status >= 500))
        .millis("Duration", elapsed.as_secs_f64() * 1000.0)
        .property("outcome", reply.outcome.as_str())
        .to_line(OffsetDateTime::now_utc());
    #[allow(clippy::print_stdout)]
    {
        println!("{line}");
    }
}
