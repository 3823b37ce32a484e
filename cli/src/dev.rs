//! `sfhs dev`: the webhook on this machine, over plain HTTP, on an in-memory queue. Point a
//! Salesforce outbound message (through a tunnel) or `curl` at the printed URL; every work item the
//! webhook enqueues is printed on stdout as one JSON line.
//!
//! It runs the same use case as the Lambda (`sfhs_core::webhook::handle`); only the HTTP framing
//! differs. The worker and the import join it as they are built.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clap::Args as ClapArgs;
use sfhs_core::outbound::DEFAULT_MAX_BODY_BYTES;
use sfhs_core::queue::{MemoryQueue, PublishPolicy, Publisher};
use sfhs_core::webhook::{self, InboundRequest, UrlSecret, WebhookPolicy};
use std::collections::HashMap;
use std::io::Write as _;
use time::OffsetDateTime;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Org ids allowed to send (15 or 18 characters); repeat for several.
    #[arg(long = "org-id", default_value = "00Dxx0000001gPF")]
    org_ids: Vec<String>,
    /// URL secret expected in the `secret` query parameter (none by default in dev).
    #[arg(long, env = "SFHS_DEV_URL_SECRET")]
    secret: Option<String>,
    /// Largest body accepted, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
}

#[derive(Debug)]
struct App {
    policy: WebhookPolicy,
    publisher: Publisher,
    queue: Arc<MemoryQueue>,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    let queue = Arc::new(MemoryQueue::new());
    let app = Arc::new(App {
        policy: WebhookPolicy::new(
            &args.org_ids,
            args.secret.clone().map(UrlSecret::new),
            "secret",
            args.max_body_bytes,
        ),
        publisher: Publisher::new(queue.clone(), PublishPolicy::default()),
        queue,
    });
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr()?;
    let query = if args.secret.is_some() {
        "?secret=..."
    } else {
        ""
    };
    println!("http://{addr}/outbound{query}");
    eprintln!(
        "sfhs dev: webhook listening; send outbound messages to http://{addr}/outbound{query} (orgs: {})",
        args.org_ids.join(", ")
    );
    std::io::stdout().flush().ok();
    let router = Router::new().fallback(outbound).with_state(app).layer(
        axum::extract::DefaultBodyLimit::max(args.max_body_bytes + 1),
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    Ok(())
}

async fn outbound(
    State(app): State<Arc<App>>,
    method: Method,
    Query(params): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let req = InboundRequest {
        method: method.as_str(),
        secret: params.get(app.policy.secret_param()).map(String::as_str),
        body: &body,
        received_at: OffsetDateTime::now_utc(),
    };
    let reply = webhook::handle(&app.policy, &app.publisher, req).await;
    eprintln!(
        "sfhs dev: {} {} org={} notifications={}{}",
        reply.status,
        reply.outcome.as_str(),
        reply.org_id.as_deref().unwrap_or("-"),
        reply.notifications,
        reply
            .detail
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default()
    );
    {
        let mut out = std::io::stdout().lock();
        for item in app.queue.drain() {
            writeln!(out, "{item}").ok();
        }
        out.flush().ok();
    }
    let mut response = (
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        reply.body,
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    if let Some(allow) = reply.allow {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    response
}
