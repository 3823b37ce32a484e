//! The deploy request (`POST /metadata/deployRequest`, multipart: options and the zip) and its
//! status (`GET /metadata/deployRequest/{id}`), which reveals the outcome over a few reads and
//! applies it once done.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Shared;
use crate::org::SfError;

use super::check::evaluate;
use super::{DEPLOY_DENIED, DeployRecord, apply, error, json_response, lock, refused};

/// Splits a `multipart/form-data` body into (name, bytes) parts.
fn multipart_parts(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !ct.to_ascii_lowercase().starts_with("multipart/form-data") {
        return Err(format!("expected multipart/form-data, got {ct:?}"));
    }
    let boundary = ct
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"').to_owned())
        .ok_or("no boundary in Content-Type")?;
    let delim = format!("--{boundary}");
    let d = delim.as_bytes();
    let find = |hay: &[u8], from: usize| -> Option<usize> {
        hay.get(from..)?.windows(d.len()).position(|w| w == d).map(|i| i + from)
    };
    let mut parts = Vec::new();
    let mut at = find(body, 0).ok_or("no multipart boundary in the body")?;
    loop {
        let after = at + d.len();
        if body.get(after..after + 2) == Some(b"--") {
            break;
        }
        let head_start = after + 2; // CRLF
        let head_end = body
            .get(head_start..)
            .and_then(|b| b.windows(4).position(|w| w == b"\r\n\r\n"))
            .map(|i| i + head_start)
            .ok_or("a multipart part without headers")?;
        let head = String::from_utf8_lossy(&body[head_start..head_end]).into_owned();
        let content_start = head_end + 4;
        let next = find(body, content_start).ok_or("an unterminated multipart part")?;
        let content_end = next.saturating_sub(2).max(content_start); // CRLF before the delimiter
        let disposition = head
            .split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .unwrap_or_default();
        let name = disposition
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("name="))
            .next()
            .map(|n| n.trim_matches('"').to_owned())
            .unwrap_or_default();
        parts.push((name, body[content_start..content_end].to_vec()));
        at = next;
    }
    Ok(parts)
}

#[derive(Debug, Deserialize)]
pub(super) struct DeployJson {
    #[serde(rename = "deployOptions", default)]
    deploy_options: Value,
}

pub(super) async fn deploy(
    State(shared): State<Arc<Shared>>,
    Path(_v): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(refused) = refused(&shared, |k| k.deny_deploy, DEPLOY_DENIED) {
        return refused;
    }
    let parts = match multipart_parts(&headers, &body) {
        Ok(p) => p,
        Err(e) => return error(&SfError::new(400, "INVALID_MULTIPART_REQUEST", e)),
    };
    let options = match parts.iter().find(|(n, _)| n == "json") {
        Some((_, bytes)) => match serde_json::from_slice::<DeployJson>(bytes) {
            Ok(j) => j.deploy_options,
            Err(e) => {
                return error(&SfError::new(
                    400,
                    "JSON_PARSER_ERROR",
                    format!("the json part is not valid: {e}"),
                ));
            }
        },
        None => Value::Null,
    };
    let Some((_, zip)) = parts.iter().find(|(n, _)| n == "file") else {
        return error(&SfError::new(
            400,
            "INVALID_MULTIPART_REQUEST",
            "no file part (the zip) in the request",
        ));
    };
    let check_only = options.get("checkOnly").and_then(Value::as_bool).unwrap_or(false);
    let mut record = evaluate(&shared, zip);
    record.check_only = check_only;
    record.options = options.clone();
    let id = {
        let mut st = lock(&shared);
        let id = st.new_id("0Af");
        st.deploys.insert(id.clone(), record);
        id
    };
    json_response(
        201,
        &json!({
            "id": id,
            "url": format!("{}/services/data/v{}/metadata/deployRequest/{id}", shared.base_url, shared.settings.api_version),
            "validatedDeployRequestId": null,
            "deployOptions": options,
            "deployResult": {
                "id": id, "checkOnly": check_only, "status": "Pending", "done": false,
                "success": false, "numberComponentErrors": 0, "numberComponentsDeployed": 0,
                "numberComponentsTotal": 0, "details": null,
            },
        }),
    )
}

fn result_json(id: &str, r: &DeployRecord, done: bool) -> Value {
    let success = done && r.error.is_none() && r.failures.is_empty();
    let status = match (done, success) {
        (false, _) if r.reads <= 1 => "Pending",
        (false, _) => "InProgress",
        (true, true) => "Succeeded",
        (true, false) => "Failed",
    };
    let deployed = if success { r.total } else { 0 };
    json!({
        "id": id,
        "checkOnly": r.check_only,
        "ignoreWarnings": false,
        "rollbackOnError": true,
        "status": status,
        "done": done,
        "success": success,
        "numberComponentsTotal": r.total,
        "numberComponentsDeployed": deployed,
        "numberComponentErrors": if done { r.failures.len() } else { 0 },
        "numberTestsCompleted": 0,
        "numberTestsTotal": 0,
        "numberTestErrors": 0,
        "errorMessage": if done { r.error.clone() } else { None },
        "errorStatusCode": if done && r.error.is_some() { Some("UNKNOWN_EXCEPTION") } else { None },
        "details": if done {
            json!({"componentFailures": r.failures, "componentSuccesses": [], "runTestResult": {"numFailures": 0, "numTestsRun": 0}})
        } else { Value::Null },
    })
}

#[derive(Deserialize)]
pub(super) struct StatusParams {
    #[serde(rename = "includeDetails")]
    include_details: Option<String>,
}

pub(super) async fn deploy_status(
    State(shared): State<Arc<Shared>>,
    Path((_v, id)): Path<(String, String)>,
    Query(params): Query<StatusParams>,
) -> Response {
    let (body, to_apply) = {
        let mut st = lock(&shared);
        let knobs = st.knobs.clone();
        let Some(r) = st.deploys.get_mut(&id) else {
            return error(&SfError::new(404, "NOT_FOUND", format!("no deploy request {id}")));
        };
        r.reads += 1;
        let done = !knobs.never_finish && r.reads >= knobs.polls_until_done;
        let success = r.error.is_none() && r.failures.is_empty();
        let mut to_apply = None;
        if done && success && !r.check_only && !r.applied {
            r.applied = true;
            to_apply = Some(r.components.clone());
        }
        let mut result = result_json(&id, r, done);
        if params.include_details.as_deref() != Some("true")
            && let Some(o) = result.as_object_mut()
        {
            o.insert("details".into(), Value::Null);
        }
        (
            json!({"id": id, "validatedDeployRequestId": null, "deployOptions": r.options, "deployResult": result}),
            to_apply,
        )
    };
    if let Some(c) = to_apply {
        apply(&shared, c);
    }
    json_response(200, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_parts_are_split_on_the_boundary() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "multipart/form-data; boundary=XyZ".parse().expect("header"),
        );
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"json\"\r\n\r\n{\"a\":1}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.zip\"\r\nContent-Type: application/zip\r\n\r\nPK\x03\x04\r\n--XyZ--\r\n";
        let parts = multipart_parts(&headers, body).expect("parts");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], ("json".to_owned(), b"{\"a\":1}".to_vec()));
        assert_eq!(parts[1], ("file".to_owned(), b"PK\x03\x04".to_vec()));
    }
}
