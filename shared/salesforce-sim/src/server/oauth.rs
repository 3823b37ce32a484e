//! The token endpoint: client credentials, JWT bearer, refresh token and the authorization
//! code's authorize step, as Salesforce answers them.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::Shared;

use super::{S, json_response, oauth_error, random_hex};

#[derive(Deserialize)]
pub(super) struct JwtClaims {
    iss: String,
    sub: String,
    exp: i64,
}

fn new_token(shared: &Shared) -> String {
    let org = shared.org_lock().org_id[..15].to_owned();
    let token = format!("{org}!AQ{}", random_hex(shared));
    let mut auth = shared.auth_lock();
    auth.tokens.insert(token.clone(), (std::time::Instant::now(), Duration::ZERO));
    auth.issued += 1;
    token
}

/// `client_id` and `client_secret` from the form, else from `Authorization: Basic` (RFC 6749
/// section 2.3.1; simple-salesforce sends client credentials that way).
fn client_auth(headers: &HeaderMap, form: &Map<String, Value>) -> (String, String) {
    let field = |k: &str| form.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (id, secret) = (field("client_id"), field("client_secret"));
    if !id.is_empty() {
        return (id, secret);
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    match basic.as_deref().and_then(|b| b.split_once(':')) {
        Some((id, secret)) => (id.to_owned(), secret.to_owned()),
        None => (id, secret),
    }
}

/// Checks the connected app's credentials: the OAuth error to answer, if any.
/// `secret_required` false: a missing secret is fine (Salesforce: "Require Secret for Refresh
/// Token Flow" off), a wrong one never is.
fn client_refused(
    shared: &Shared,
    id: &str,
    secret: &str,
    secret_required: bool,
) -> Option<Response> {
    if id != shared.settings.client_id {
        return Some(oauth_error("invalid_client_id", "client identifier invalid"));
    }
    if (secret_required || !secret.is_empty()) && secret != shared.settings.client_secret {
        return Some(oauth_error("invalid_client", "invalid client credentials"));
    }
    None
}

/// The token response of the username-password, client-credentials, web server and refresh
/// token flows: `access_token, signature, scope, instance_url, id, token_type, issued_at`, plus
/// `refresh_token` when the flow issues one (web server flow only).
fn token_response(shared: &Shared, refresh_token: Option<String>) -> Response {
    let (org_id, user_id) = {
        let org = shared.org_lock();
        (org.org_id.clone(), org.user_id.clone())
    };
    let base = &shared.base_url;
    let token = new_token(shared);
    let mut body = json!({
        "access_token": token,
        "signature": "c2ltdWxhdGVkLXNpZ25hdHVyZQ==",
        "scope": if refresh_token.is_some() { "refresh_token api" } else { "api" },
        "instance_url": base,
        "id": format!("{base}/id/{org_id}/{user_id}"),
        "token_type": "Bearer",
        "issued_at": (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).to_string(),
    });
    if let (Some(r), Value::Object(m)) = (refresh_token, &mut body) {
        m.insert("refresh_token".into(), json!(r));
    }
    json_response(200, &body)
}

#[derive(Deserialize)]
pub(super) struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
}

/// `GET /services/oauth2/authorize` (web server flow): there is no user to ask, so it approves
/// at once and redirects to `redirect_uri?code=...&state=...`.
pub(super) async fn authorize(State(shared): S, Query(p): Query<AuthorizeParams>) -> Response {
    if p.client_id.as_deref() != Some(shared.settings.client_id.as_str()) {
        return oauth_error("invalid_client_id", "client identifier invalid");
    }
    let Some(redirect) = p.redirect_uri.filter(|r| !r.is_empty()) else {
        return oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration");
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if p.response_type.as_deref() == Some("code") {
        let code = format!("aPr{}", random_hex(&shared));
        shared.auth_lock().codes.insert(code.clone(), redirect.clone());
        query.append_pair("code", &code);
    } else {
        query.append_pair("error", "unsupported_response_type");
        query.append_pair("error_description", "response type not supported");
    }
    if let Some(state) = &p.state {
        query.append_pair("state", state);
    }
    let sep = if redirect.contains('?') { '&' } else { '?' };
    let location = format!("{redirect}{sep}{}", query.finish());
    match HeaderValue::from_str(&location) {
        Ok(l) => (StatusCode::FOUND, [(header::LOCATION, l)]).into_response(),
        Err(_) => oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration"),
    }
}

pub(super) async fn token(State(shared): S, headers: HeaderMap, body: Bytes) -> Response {
    let form: Map<String, Value> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    let field = |k: &str| form.get(k).and_then(Value::as_str).unwrap_or_default();
    match field("grant_type") {
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => jwt_bearer(&shared, field("assertion")),
        "client_credentials" => {
            let (id, secret) = client_auth(&headers, &form);
            if id != shared.settings.client_id || secret != shared.settings.client_secret {
                return oauth_error("invalid_client", "invalid client credentials");
            }
            token_response(&shared, None)
        }
        "password" => {
            let (id, secret) = client_auth(&headers, &form);
            if let Some(resp) = client_refused(&shared, &id, &secret, true) {
                return resp;
            }
            if field("username") != shared.settings.username
                || field("password") != shared.settings.password
            {
                return oauth_error("invalid_grant", "authentication failure");
            }
            // Salesforce issues no refresh token in the username-password flow.
            token_response(&shared, None)
        }
        "authorization_code" => {
            let (id, secret) = client_auth(&headers, &form);
            client_refused(&shared, &id, &secret, true).unwrap_or_else(|| {
                authorization_code(&shared, field("code"), field("redirect_uri"))
            })
        }
        "refresh_token" => {
            let (id, secret) = client_auth(&headers, &form);
            if let Some(resp) = client_refused(&shared, &id, &secret, false) {
                return resp;
            }
            let known = shared.auth_lock().refresh_tokens.contains(field("refresh_token"));
            if !known {
                return oauth_error("invalid_grant", "expired access/refresh token");
            }
            // No rotation: the same refresh token stays valid, none is returned.
            token_response(&shared, None)
        }
        _ => oauth_error("unsupported_grant_type", "grant type not supported"),
    }
}

/// The JWT bearer flow: an RS256 assertion signed with the connected app's certificate, its
/// issuer the client id, at most 3 minutes ahead; no refresh token.
fn jwt_bearer(shared: &Shared, assertion: &str) -> Response {
    let base = &shared.base_url;
    let Some(key) = &shared.settings.jwt_key else {
        return oauth_error(
            "invalid_grant",
            "no certificate is configured for this connected app (simulator started without --jwt-public-key)",
        );
    };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.leeway = 0;
    validation.set_audience(&[
        "https://login.salesforce.com",
        "https://test.salesforce.com",
        base.as_str(),
    ]);
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let claims = match jsonwebtoken::decode::<JwtClaims>(assertion, key, &validation) {
        Ok(data) => data.claims,
        Err(e) => {
            return oauth_error("invalid_grant", &format!("invalid assertion: {e}"));
        }
    };
    if claims.iss != shared.settings.client_id {
        return oauth_error("invalid_client_id", "client identifier invalid");
    }
    let now = OffsetDateTime::now_utc().unix_timestamp();
    if claims.exp > now + 180 + 5 {
        return oauth_error("invalid_grant", "invalid assertion: exp more than 3 minutes ahead");
    }
    if claims.sub.is_empty() {
        return oauth_error("invalid_grant", "user hasn't approved this consumer");
    }
    let (org_id, user_id) = {
        let org = shared.org_lock();
        (org.org_id.clone(), org.user_id.clone())
    };
    json_response(
        200,
        &json!({
            "access_token": new_token(shared),
            "scope": "api",
            "instance_url": base,
            "id": format!("{base}/id/{org_id}/{user_id}"),
            "token_type": "Bearer",
        }),
    )
}

/// The authorization code flow's exchange: a code issued for this redirect URI, once; a
/// refresh token with the access token.
fn authorization_code(shared: &Shared, code: &str, redirect_uri: &str) -> Response {
    let issued_for = shared.auth_lock().codes.remove(code);
    match issued_for {
        None => oauth_error("invalid_grant", "invalid authorization code"),
        Some(uri) if uri != redirect_uri => {
            oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration")
        }
        Some(_) => {
            let refresh = format!("5Aep{}", random_hex(shared));
            shared.auth_lock().refresh_tokens.insert(refresh.clone());
            token_response(shared, Some(refresh))
        }
    }
}
