//! Lambda events as API Gateway and Lambda really send them, built for tests.

use base64::Engine as _;
use serde_json::json;

/// An API Gateway HTTP API (payload 2.0) request, the same shape a function URL sends. The body
/// is base64-encoded, as API Gateway does for `text/xml`.
pub fn http_api_request(method: &str, query: &str, body: &[u8]) -> lambda_http::Request {
    lambda_http::request::from_str(&http_api_event(method, query, body).to_string())
        .expect("a valid HTTP API event")
}

/// The same request as the JSON event Lambda hands the function.
pub fn http_api_event(method: &str, query: &str, body: &[u8]) -> serde_json::Value {
    let params: serde_json::Map<String, serde_json::Value> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/outbound",
        "rawQueryString": query,
        "headers": {"content-type": "text/xml; charset=utf-8", "soapaction": "\"\""},
        "queryStringParameters": params,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {"method": method, "path": "/outbound", "protocol": "HTTP/1.1",
                     "sourceIp": "13.108.0.1", "userAgent": "Jakarta Commons-HttpClient/3.1"},
            "requestId": "req-1", "routeKey": "$default", "stage": "$default",
            "time": "28/Nov/2026:10:00:00 +0000", "timeEpoch": 1_795_824_000_000_i64
        },
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "isBase64Encoded": true
    })
}
