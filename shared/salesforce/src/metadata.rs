//! Metadata API deploys through the REST `deployRequest` resource, and the Tooling API reads of
//! outbound messages and flows.
//!
//! - `POST /services/data/vXX.X/metadata/deployRequest`, `multipart/form-data`: a part `json`
//!   (`{"deployOptions": {...}}`) and a part `file` (the zip: `package.xml` and the components).
//! - `GET .../metadata/deployRequest/{id}?includeDetails=true` until `deployResult.done`;
//!   `details.componentFailures[{componentType, fullName, lineNumber, columnNumber, problem,
//!   problemType}]` say what was refused.
//! - `GET .../tooling/query?q=SELECT ... FROM WorkflowOutboundMessage`, then the `Metadata` field
//!   of one record at a time (Salesforce answers it only for single-record queries); the same for
//!   `FlowDefinition` and each active version's `Flow` (its start's entry conditions, its actions).

pub use crate::error::ComponentFailure;
use crate::types::lenient_u32;
use std::io::Write as _;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use sfhs_core::salesforce_setup::{
    FlowEntry, FlowValue, LiveCondition, LiveFlow, LiveOutboundMessage,
};

use crate::client::{Client, Payload, Target};
use crate::error::Error;

/// Options of a deploy (the REST resource's `deployOptions`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployOptions {
    /// Validate only: nothing changes in the org.
    pub check_only: bool,
    /// All or nothing (always true here: half a set-up is worse than none).
    pub rollback_on_error: bool,
    /// The zip holds one package at its root.
    pub single_package: bool,
    /// `NoTestRun` (outbound messages and flows run no Apex tests; production orgs may
    /// require `RunLocalTests`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_level: Option<String>,
}

impl DeployOptions {
    /// A deploy (or validation, `check_only`) of a single package, all or nothing.
    pub fn new(check_only: bool) -> DeployOptions {
        DeployOptions {
            check_only,
            rollback_on_error: true,
            single_package: true,
            test_level: None,
        }
    }
}

/// `details` of a deploy result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployDetails {
    #[serde(default, deserialize_with = "one_or_many")]
    pub component_failures: Vec<ComponentFailure>,
}

/// `deployResult`: where a deploy stands.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployResult {
    #[serde(default)]
    pub id: String,
    /// `Pending`, `InProgress`, `Succeeded`, `SucceededPartial`, `Failed`, `Canceling`,
    /// `Canceled`.
    #[serde(default)]
    pub status: String,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub done: bool,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub success: bool,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub check_only: bool,
    #[serde(default, deserialize_with = "lenient_u32")]
    pub number_components_total: Option<u32>,
    #[serde(default, deserialize_with = "lenient_u32")]
    pub number_components_deployed: Option<u32>,
    #[serde(default, deserialize_with = "lenient_u32")]
    pub number_component_errors: Option<u32>,
    pub error_message: Option<String>,
    pub error_status_code: Option<String>,
    pub details: Option<DeployDetails>,
}

impl DeployResult {
    /// The refused components (empty when none are reported).
    pub fn failures(&self) -> &[ComponentFailure] {
        self.details.as_ref().map(|d| d.component_failures.as_slice()).unwrap_or_default()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeployRequestBody {
    id: String,
    deploy_result: Option<DeployResult>,
}

/// Booleans as JSON booleans or as `"true"`/`"false"` (the documentation's examples quote them).
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
        Null(()),
    }
    Ok(match Flag::deserialize(d)? {
        Flag::Bool(b) => b,
        Flag::Text(s) => s.eq_ignore_ascii_case("true"),
        Flag::Null(()) => false,
    })
}

/// A list, or one object where the list has one element (SOAP-to-JSON renderings), or null.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ComponentFailure>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum M {
        Many(Vec<ComponentFailure>),
        One(Box<ComponentFailure>),
        None(()),
    }
    Ok(match M::deserialize(d)? {
        M::Many(v) => v,
        M::One(one) => vec![*one],
        M::None(()) => Vec::new(),
    })
}

/// A zip (entries stored, not compressed) of `files` (path inside the zip, content).
pub fn package_zip(files: &[(String, String)]) -> Result<Vec<u8>, Error> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (path, content) in files {
            zip.start_file(path.as_str(), options)
                .map_err(|e| Error::Package(format!("{path}: {e}")))?;
            zip.write_all(content.as_bytes())
                .map_err(|e| Error::Package(format!("{path}: {e}")))?;
        }
        zip.finish().map_err(|e| Error::Package(e.to_string()))?;
    }
    Ok(out.into_inner())
}

/// The multipart body of a deploy request, and its content type.
fn multipart(options: &DeployOptions, zip: &[u8]) -> Result<(String, Vec<u8>), Error> {
    let json = serde_json::to_vec(&serde_json::json!({ "deployOptions": options }))
        .map_err(|e| Error::Package(e.to_string()))?;
    let mut n = 0u32;
    let boundary = loop {
        let b = format!("sfhs-deploy-boundary-{n:08x}");
        let found = zip.windows(b.len()).any(|w| w == b.as_bytes());
        if !found {
            break b;
        }
        n += 1;
    };
    let mut body = Vec::with_capacity(zip.len() + json.len() + 512);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"json\"\r\nContent-Type: application/json\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&json);
    body.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"deploy.zip\"\r\nContent-Type: application/zip\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(zip);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Ok((format!("multipart/form-data; boundary={boundary}"), body))
}

fn check_id(id: &str) -> Result<(), Error> {
    crate::rest::check_name("deploy request id", id)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(bound(deserialize = "T: serde::de::DeserializeOwned"))]
struct ToolingPage<T> {
    #[serde(default = "Vec::new")]
    records: Vec<T>,
    next_records_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MessageRow {
    id: String,
    #[serde(default)]
    name: String,
    entity_definition: Option<EntityRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EntityRef {
    #[serde(default)]
    qualified_api_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MessageMetadataRow {
    full_name: Option<String>,
    metadata: MessageMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageMetadata {
    #[serde(default)]
    endpoint_url: String,
    #[serde(default)]
    fields: Vec<String>,
    #[serde(default)]
    include_session_id: bool,
    integration_user: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FlowRow {
    #[serde(default)]
    developer_name: String,
    active_version_id: Option<String>,
}

/// One flow version with its `Metadata` (Tooling API `Flow`); every part optional.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FlowVersionRow {
    metadata: Option<FlowMetadata>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct FlowMetadata {
    action_calls: Vec<FlowActionCall>,
    start: Option<FlowStart>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct FlowActionCall {
    action_name: Option<String>,
    action_type: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct FlowStart {
    filter_logic: Option<String>,
    filters: Vec<FlowFilter>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct FlowFilter {
    field: String,
    operator: String,
    value: Option<serde_json::Map<String, serde_json::Value>>,
}

impl FlowMetadata {
    fn entry(self) -> FlowEntry {
        let start = self.start.unwrap_or_default();
        FlowEntry {
            logic: start.filter_logic.filter(|l| !l.is_empty()),
            conditions: start
                .filters
                .into_iter()
                .map(|f| {
                    let (element, value) = f.value.as_ref().and_then(element_value).unzip();
                    LiveCondition { field: f.field, operator: f.operator, value, element }
                })
                .collect(),
            sends: self
                .action_calls
                .into_iter()
                .filter(|a| a.action_type.as_deref() == Some("outboundMessage"))
                .filter_map(|a| a.action_name)
                .collect(),
        }
    }
}

/// A `FlowElementReferenceOrValue`: the one element that is set, and its value as text.
fn element_value(v: &serde_json::Map<String, serde_json::Value>) -> Option<(String, String)> {
    let elements = FlowValue::ALL.map(FlowValue::element);
    elements.into_iter().chain(["elementReference"]).find_map(|k| {
        let text = match v.get(k)? {
            serde_json::Value::Null => return None,
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Some((k.to_owned(), text))
    })
}

impl Client {
    /// Starts a deploy of `zip`: `POST /metadata/deployRequest`. Returns the request id.
    pub async fn deploy_start(&self, zip: &[u8], options: &DeployOptions) -> Result<String, Error> {
        let (content_type, body) = multipart(options, zip)?;
        let (resp, url) = self
            .send_payload(
                Method::POST,
                Target::Data("metadata/deployRequest"),
                &[],
                Payload::Raw { content_type, body: Bytes::from(body) },
                &[],
            )
            .await?;
        let bytes = resp.bytes().await.map_err(|e| crate::client::transport(&url, e))?;
        let body: DeployRequestBody = serde_json::from_slice(&bytes)
            .map_err(|source| Error::Decode { context: "deployRequest response", source })?;
        Ok(body.id)
    }

    /// Where a deploy stands, with its component failures:
    /// `GET /metadata/deployRequest/{id}?includeDetails=true`.
    pub async fn deploy_status(&self, id: &str) -> Result<DeployResult, Error> {
        check_id(id)?;
        let body: DeployRequestBody = self
            .get_json(
                Target::Data(&format!("metadata/deployRequest/{id}")),
                &[("includeDetails", "true".to_owned())],
                &[],
                "deployRequest status",
            )
            .await?;
        let mut result = body.deploy_result.ok_or_else(|| Error::Decode {
            context: "deployRequest status",
            source: serde::de::Error::custom("no deployResult"),
        })?;
        if result.id.is_empty() {
            result.id = body.id;
        }
        Ok(result)
    }

    /// Deploys `zip` and polls every `poll` until it is done or `timeout` has passed. A deploy
    /// Salesforce refused is [`Error::DeployFailed`] (nothing of it applied, with the
    /// component failures); one still running at the timeout is [`Error::DeployTimeout`].
    pub async fn deploy(
        &self,
        zip: &[u8],
        options: &DeployOptions,
        timeout: Duration,
        poll: Duration,
    ) -> Result<DeployResult, Error> {
        let started = Instant::now();
        let id = self.deploy_start(zip, options).await?;
        tracing::info!(deploy_id = %id, check_only = options.check_only, "deploy started");
        loop {
            let result = self.deploy_status(&id).await?;
            if result.done {
                if result.success && result.status != "SucceededPartial" {
                    return Ok(result);
                }
                return Err(Error::DeployFailed {
                    id,
                    status: result.status.clone(),
                    message: result.error_message.clone(),
                    failures: result.failures().to_vec(),
                });
            }
            let waited = started.elapsed();
            if waited >= timeout {
                return Err(Error::DeployTimeout { id, status: result.status, waited });
            }
            tokio::time::sleep(poll.min(timeout.saturating_sub(waited))).await;
        }
    }

    /// A Tooling API query, every page.
    async fn tooling_query<T: serde::de::DeserializeOwned>(
        &self,
        soql: &str,
        context: &'static str,
    ) -> Result<Vec<T>, Error> {
        let mut page: ToolingPage<T> = self
            .get_json(Target::Data("tooling/query"), &[("q", soql.to_owned())], &[], context)
            .await?;
        let mut out = std::mem::take(&mut page.records);
        while let Some(next) = page.next_records_url.take() {
            page = self.get_json(Target::Path(&next), &[], &[], context).await?;
            out.append(&mut page.records);
        }
        Ok(out)
    }

    /// Every outbound message of the org (of `object` only, when given), with its fields,
    /// endpoint and integration user: one Tooling query for the list, then one per message
    /// for its `Metadata`.
    pub async fn outbound_messages(
        &self,
        object: Option<&str>,
    ) -> Result<Vec<LiveOutboundMessage>, Error> {
        let mut soql =
            "SELECT Id, Name, EntityDefinition.QualifiedApiName FROM WorkflowOutboundMessage"
                .to_owned();
        if let Some(o) = object {
            crate::rest::check_name("object name", o)?;
            soql.push_str(&format!(" WHERE EntityDefinition.QualifiedApiName = '{o}'"));
        }
        let rows: Vec<MessageRow> =
            self.tooling_query(&soql, "WorkflowOutboundMessage list").await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            crate::rest::check_name("outbound message id", &row.id)?;
            let detail: Vec<MessageMetadataRow> = self
                .tooling_query(
                    &format!(
                        "SELECT Id, FullName, Metadata FROM WorkflowOutboundMessage WHERE Id = '{}'",
                        row.id
                    ),
                    "WorkflowOutboundMessage metadata",
                )
                .await?;
            let Some(d) = detail.into_iter().next() else {
                continue;
            };
            let object = row
                .entity_definition
                .map(|e| e.qualified_api_name)
                .filter(|o| !o.is_empty())
                .or_else(|| {
                    d.full_name
                        .as_deref()
                        .and_then(|f| f.split_once('.'))
                        .map(|(o, _)| o.to_owned())
                })
                .unwrap_or_default();
            out.push(LiveOutboundMessage {
                id: row.id,
                object,
                name: row.name,
                fields: d.metadata.fields,
                endpoint_url: d.metadata.endpoint_url,
                integration_user: d.metadata.integration_user.unwrap_or_default(),
                include_session_id: d.metadata.include_session_id,
            });
        }
        Ok(out)
    }

    /// The flows named `names` that exist, whether a version of each is active, and the active
    /// version's entry conditions and actions: one Tooling query for the list, then one per
    /// active flow for its `Metadata`.
    pub async fn flows(&self, names: &[String]) -> Result<Vec<LiveFlow>, Error> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        for n in names {
            crate::rest::check_name("flow name", n)?;
        }
        let list = names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ");
        let rows: Vec<FlowRow> = self
            .tooling_query(
                &format!(
                    "SELECT Id, DeveloperName, ActiveVersionId FROM FlowDefinition WHERE DeveloperName IN ({list})"
                ),
                "FlowDefinition list",
            )
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let version = r.active_version_id.filter(|v| !v.is_empty());
            let entry = match &version {
                Some(id) => {
                    crate::rest::check_name("flow version id", id)?;
                    let detail: Vec<FlowVersionRow> = self
                        .tooling_query(
                            &format!("SELECT Id, Metadata FROM Flow WHERE Id = '{id}'"),
                            "Flow metadata",
                        )
                        .await?;
                    detail.into_iter().next().and_then(|d| d.metadata).map(FlowMetadata::entry)
                }
                None => None,
            };
            out.push(LiveFlow { name: r.developer_name, active: version.is_some(), entry });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploy_results_decode_as_documented_with_quoted_booleans_and_numbers() {
        let body = r#"{"id":"0Afxx00000000lWCAQ","deployResult":{"checkOnly":"false","status":"Failed","done":"true","success":"false","numberComponentErrors":"1","details":{"componentFailures":{"componentType":"Flow","fullName":"sfhs_X","lineNumber":"12","columnNumber":3,"problem":"bad","problemType":"Error"}}}}"#;
        let r: DeployRequestBody = serde_json::from_str(body).expect("decodes");
        let d = r.deploy_result.expect("result");
        assert!(d.done && !d.success);
        assert_eq!(d.number_component_errors, Some(1));
        assert_eq!(d.failures().len(), 1);
        assert_eq!(d.failures()[0].to_string(), "Flow sfhs_X (line 12, column 3): bad");
    }

    #[test]
    fn the_multipart_body_has_the_json_and_the_zip_parts() {
        let zip = package_zip(&[("package.xml".into(), "<Package/>".into())]).expect("zip");
        let (ct, body) = multipart(&DeployOptions::new(true), &zip).expect("body");
        let boundary = ct.strip_prefix("multipart/form-data; boundary=").expect("boundary");
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(&format!("--{boundary}\r\n")));
        assert!(text.contains("name=\"json\""));
        assert!(text.contains("\"checkOnly\":true"));
        assert!(text.contains("\"rollbackOnError\":true"));
        assert!(text.contains("name=\"file\"; filename=\"deploy.zip\""));
        assert!(text.ends_with(&format!("\r\n--{boundary}--\r\n")));
        assert!(body.windows(zip.len()).any(|w| w == zip.as_slice()));
    }
}
