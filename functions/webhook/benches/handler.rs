//! The webhook handler from request to ack against the in-memory queue (no network): decoding the
//! base64 body, parsing, authenticating, building and publishing 100 work items, the ack.
//! Run: `cargo bench -p sfhs-webhook --bench handler`. Figures in docs/performance.md.

use std::sync::Arc;

use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use sfhs_core::outbound::DEFAULT_MAX_BODY_BYTES;
use sfhs_core::queue::{MemoryQueue, PublishPolicy, Publisher};
use sfhs_core::webhook::{UrlSecret, WebhookPolicy};
use sfhs_webhook::{Deps, handler};

#[path = "../../../shared/core/benches/outbound.rs"]
#[allow(dead_code)]
mod outbound;

fn event(body: &str) -> String {
    serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "secret=s3cret",
        "headers": {"content-type": "text/xml; charset=utf-8"},
        "queryStringParameters": {"secret": "s3cret"},
        "requestContext": {"accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
            "http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1", "sourceIp": "1.1.1.1", "userAgent": "x"},
            "requestId": "r", "routeKey": "$default", "stage": "$default", "time": "t", "timeEpoch": 0},
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true
    })
    .to_string()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let queue = Arc::new(MemoryQueue::new());
    let deps = Deps {
        policy: WebhookPolicy::new(
            ["00Dxx0000001gPF"],
            Some(UrlSecret::new("s3cret")),
            "secret",
            DEFAULT_MAX_BODY_BYTES,
        ),
        publisher: Publisher::new(queue.clone(), PublishPolicy::default()),
    };
    let json = event(&outbound::message());
    // The request as lambda_http hands it over (event decoding is the runtime's, not ours).
    let template = lambda_http::request::from_str(&json).expect("event");
    let r = runtime.block_on(handler(&deps, clone(&template))).expect("handler");
    assert_eq!(r.status(), 200);
    assert_eq!(queue.drain().len(), 100);

    c.bench_function("webhook/handler_100x10_to_ack", |b| {
        b.iter_batched(
            || clone(&template),
            |req| {
                let r = runtime.block_on(handler(&deps, req)).expect("handler");
                assert_eq!(r.status(), 200);
                queue.drain();
            },
            criterion::BatchSize::SmallInput,
        )
    });
}

fn clone(req: &lambda_http::Request) -> lambda_http::Request {
    let mut builder =
        lambda_http::http::Request::builder().method(req.method().clone()).uri(req.uri().clone());
    for (k, v) in req.headers() {
        builder = builder.header(k, v);
    }
    let mut out = builder.body(req.body().clone()).expect("request");
    *out.extensions_mut() = req.extensions().clone();
    out
}

criterion_group!(benches, bench);
criterion_main!(benches);
