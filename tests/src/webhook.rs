//! The webhook's use case (`sfhs_core::webhook::handle`) behind a plain HTTP listener, as the
//! tests' Salesforce simulator posts to it; it can be switched off (503 to every POST) to stand
//! for an endpoint that is down, misconfigured or refusing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use sfhs_core::app::Webhook;
use sfhs_core::webhook::{self, InboundRequest};
use time::OffsetDateTime;

/// A running webhook: its URL, and its switch.
#[derive(Debug, Clone)]
pub struct TestWebhook {
    pub url: String,
    refusing: Arc<AtomicBool>,
}

impl TestWebhook {
    /// Answers 503 to every POST from now on (`true`), or serves again (`false`).
    pub fn refuse(&self, refusing: bool) {
        self.refusing.store(refusing, Ordering::SeqCst);
    }
}

/// Serves `webhook` on `listener` (`POST /outbound`) until the test process ends.
pub async fn serve(listener: tokio::net::TcpListener, webhook: Webhook) -> TestWebhook {
    let url = format!("http://{}/outbound", listener.local_addr().expect("a bound listener"));
    let refusing = Arc::new(AtomicBool::new(false));
    let (deps, off) = (Arc::new(webhook), refusing.clone());
    let app = axum::Router::new().route(
        "/outbound",
        axum::routing::post(move |body: Bytes| {
            let (deps, off) = (deps.clone(), off.clone());
            async move {
                if off.load(Ordering::SeqCst) {
                    return (StatusCode::SERVICE_UNAVAILABLE, "switched off").into_response();
                }
                let reply = webhook::handle(
                    &deps.policy,
                    &deps.publisher,
                    InboundRequest {
                        method: "POST",
                        secret: None,
                        body: &body,
                        received_at: OffsetDateTime::now_utc(),
                    },
                )
                .await;
                (
                    StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    [("content-type", reply.content_type)],
                    reply.body,
                )
                    .into_response()
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    TestWebhook { url, refusing }
}
