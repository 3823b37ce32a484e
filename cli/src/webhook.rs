//! The webhook over HTTP in this process, for `sfhs dev` and `sfhs demo`: the same use case
//! (`sfhs_core::webhook::handle`) and the same reply conversion
//! (`sfhs_core::webhook::http_response`) as the Lambda, so that they answer alike.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use sfhs_core::app::Webhook;
use sfhs_core::webhook::{self, InboundRequest, Reply};
use time::OffsetDateTime;

/// Whether each request is reported on stderr (`sfhs dev`) or not (`sfhs demo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    Quiet,
    Stderr,
}

#[derive(Debug)]
struct Local {
    webhook: Webhook,
    report: Report,
}

/// A router that answers every path and method as the webhook, with bodies up to the policy's
/// limit read (a larger one is refused by the use case, as in AWS).
pub fn router(webhook: Webhook, report: Report) -> Router {
    let limit = webhook.policy.max_body_bytes().saturating_add(1);
    Router::new()
        .fallback(outbound)
        .with_state(Arc::new(Local { webhook, report }))
        .layer(DefaultBodyLimit::max(limit))
}

async fn outbound(
    State(local): State<Arc<Local>>,
    method: Method,
    Query(params): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    let w = &local.webhook;
    let secret = params.iter().find(|(k, _)| k == w.policy.secret_param()).map(|(_, v)| v.as_str());
    let req = InboundRequest {
        method: method.as_str(),
        secret,
        body: &body,
        received_at: OffsetDateTime::now_utc(),
    };
    let reply = webhook::handle(&w.policy, &w.publisher, req).await;
    if local.report == Report::Stderr {
        report(&reply);
    }
    webhook::http_response(&reply).into_response()
}

fn report(reply: &Reply) {
    eprintln!(
        "sfhs dev: webhook {} {} org={} notifications={}{}",
        reply.status,
        reply.outcome.as_str(),
        reply.org_id.as_deref().unwrap_or("-"),
        reply.notifications,
        reply.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    );
}

#[cfg(test)]
mod tests {
    //! The Lambda, `sfhs dev` and `sfhs demo` answer an ack, a 405 and a 401 identically.

    use std::collections::BTreeMap;

    use sfhs_core::outbound::DEFAULT_MAX_BODY_BYTES;
    use sfhs_core::queue::{MemoryQueue, PublishPolicy, Publisher};
    use sfhs_core::webhook::{UrlSecret, WebhookPolicy};

    use super::*;

    const FIXTURE: &str =
        include_str!("../../tests/fixtures/salesforce/om_contact_batch3_update_ampersand.xml");

    fn policy() -> WebhookPolicy {
        WebhookPolicy::new(
            ["00Dxx0000001gPF"],
            Some(UrlSecret::new("s3cret".to_owned())),
            "secret",
            DEFAULT_MAX_BODY_BYTES,
        )
    }

    fn publisher() -> Publisher {
        Publisher::new(Arc::new(MemoryQueue::new()), PublishPolicy::default())
    }

    /// Status, our headers (the transport's `content-length` and `date` left out), body.
    type Answer = (u16, BTreeMap<String, String>, String);

    async fn lambda(method: &str, query: &str, body: &str) -> Answer {
        let event = serde_json::json!({
            "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": query,
            "queryStringParameters": query.split('&').filter_map(|kv| kv.split_once('='))
                .collect::<BTreeMap<_, _>>(),
            "headers": {"content-type": "text/xml"},
            "requestContext": {"accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
                "http": {"method": method, "path": "/", "protocol": "HTTP/1.1", "sourceIp": "1.1.1.1", "userAgent": "x"},
                "requestId": "r", "routeKey": "$default", "stage": "$default", "time": "t", "timeEpoch": 0},
            "body": body, "isBase64Encoded": false
        });
        let request = lambda_http::request::from_str(&event.to_string()).expect("a valid event");
        let deps = sfhs_webhook::Deps { policy: policy(), publisher: publisher() };
        let response =
            sfhs_webhook::handler(&deps, request).await.expect("the handler never fails");
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        let body = match response.body() {
            lambda_http::Body::Text(t) => t.clone(),
            lambda_http::Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        (response.status().as_u16(), headers, body)
    }

    async fn local(report: Report, method: &str, query: &str, body: &str) -> Answer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let app = router(Webhook { policy: policy(), publisher: publisher() }, report);
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let url = format!("http://{addr}/outbound?{query}");
        let response = reqwest::Client::new()
            .request(method.parse().expect("a method"), url)
            .header("content-type", "text/xml")
            .body(body.to_owned())
            .send()
            .await
            .expect("an answer");
        server.abort();
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(k, _)| *k != "content-length" && *k != "date")
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        (status, headers, response.text().await.expect("a body"))
    }

    #[tokio::test]
    async fn the_lambda_dev_and_demo_answer_alike() {
        let cases = [
            ("ack", "POST", "secret=s3cret", 200),
            ("wrong method", "GET", "secret=s3cret", 405),
            ("no secret", "POST", "", 401),
        ];
        for (what, method, query, status) in cases {
            let from_lambda = lambda(method, query, FIXTURE).await;
            assert_eq!(from_lambda.0, status, "{what}: {from_lambda:?}");
            assert!(from_lambda.1.contains_key("content-type"), "{what}: {from_lambda:?}");
            assert_eq!(
                from_lambda.1.contains_key("allow"),
                status == 405,
                "{what}: {from_lambda:?}"
            );
            for report in [Report::Stderr, Report::Quiet] {
                let from_local = local(report, method, query, FIXTURE).await;
                assert_eq!(from_local, from_lambda, "{what} ({report:?})");
            }
        }
    }
}
