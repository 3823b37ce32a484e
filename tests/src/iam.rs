//! An AWS account that enforces IAM, for testing each function with only the permissions the SAM
//! template grants it.
//!
//! - [`iam_moto`]: a moto server of its own (the shared one of [`crate::moto`] stays open), which
//!   authorizes every request after its first three (they make the `admin` user, its policy and
//!   its access key).
//! - [`Stack`]: the template's queues, tables, secrets and named functions, made by the admin on
//!   that server; the template's intrinsics (`!Ref`, `!GetAtt`, `!Sub`, `!Join`) resolved to them.
//! - [`Stack::principal`]: an IAM user whose policy is exactly a function's `Policies` from the
//!   template (statements as written, SAM policy templates expanded as SAM expands them), and an
//!   SDK configuration signed with its keys.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

use aws_sdk_sqs::config::{Credentials, SharedCredentialsProvider};
use serde_json::{Value as Json, json};
use serde_norway::Value;

use sfhs_aws::config::ImportConfig;
use sfhs_aws::dynamo::DynamoMappingStore;
use sfhs_aws::world::Aws;
use sfhs_core::app::Imports;
use sfhs_core::mapping::store::{MappingStore, next_version};
use sfhs_salesforce_sim::{SeedSize, Sim, SimBuilder};
use time::OffsetDateTime;

use crate::moto::Moto;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// Access keys of an IAM user.
#[derive(Debug, Clone)]
pub struct Keys {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl Keys {
    /// An SDK configuration for `endpoint` signed with these keys.
    pub fn sdk_config(&self, endpoint: &str) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                &self.access_key_id,
                &self.secret_access_key,
                None,
                None,
                "sfhs-tests-iam",
            )))
            .endpoint_url(endpoint)
            .build()
    }

    /// Environment for a child process (a function's binary) signing with these keys.
    pub fn child_env(&self, endpoint: &str) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_ACCESS_KEY_ID", &self.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &self.secret_access_key),
            ("AWS_REGION", REGION),
            ("AWS_DEFAULT_REGION", REGION),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

/// The IAM-enforcing moto server and its administrator.
#[derive(Debug)]
pub struct IamMoto {
    pub endpoint: String,
    pub admin: Keys,
    _moto: Moto,
}

/// The unauthenticated actions the server allows: the admin's CreateUser, PutUserPolicy and
/// CreateAccessKey.
const BOOTSTRAP_ACTIONS: u32 = 3;

/// The IAM-enforcing moto server of this test binary, started (and its admin made) on first use.
pub fn iam_moto() -> &'static IamMoto {
    static IAM: OnceLock<IamMoto> = OnceLock::new();
    IAM.get_or_init(|| {
        let moto = Moto::start_with(Some(BOOTSTRAP_ACTIONS));
        let endpoint = moto.endpoint.clone();
        // The first use may be inside a test's runtime: bootstrap on a thread of its own.
        let admin = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(bootstrap(&endpoint))
        })
        .join()
        .expect("the IAM bootstrap");
        IamMoto { endpoint: moto.endpoint.clone(), admin, _moto: moto }
    })
}

/// The admin user, with the three unauthenticated actions the server allows.
async fn bootstrap(endpoint: &str) -> Keys {
    let unsigned = |params: Vec<(&'static str, String)>| async move {
        iam_reply(
            reqwest::Client::new()
                .post(endpoint)
                // moto routes by the credential scope's service; nothing is checked yet.
                .header(
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=bootstrap/20261201/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
                )
                .form(&params)
                .send()
                .await,
        )
        .await
    };
    unsigned(iam_params("CreateUser", &[("UserName", "admin")])).await;
    unsigned(iam_params(
        "PutUserPolicy",
        &[
            ("UserName", "admin"),
            ("PolicyName", "admin"),
            (
                "PolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            ),
        ],
    ))
    .await;
    keys_from(&unsigned(iam_params("CreateAccessKey", &[("UserName", "admin")])).await)
}

fn iam_params(action: &str, params: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut all = vec![("Action", action.to_owned()), ("Version", "2010-05-08".to_owned())];
    all.extend(params.iter().map(|(k, v)| (*k, (*v).to_owned())));
    all
}

async fn iam_reply(reply: reqwest::Result<reqwest::Response>) -> String {
    let reply = reply.expect("IAM on moto answers");
    let status = reply.status();
    let text = reply.text().await.expect("IAM reply");
    assert!(status.is_success(), "IAM answered {status}: {text}");
    text
}

fn xml_field(xml: &str, field: &str) -> String {
    xml.split(&format!("<{field}>"))
        .nth(1)
        .and_then(|s| s.split(&format!("</{field}>")).next())
        .unwrap_or_else(|| panic!("no {field} in {xml}"))
        .to_owned()
}

fn keys_from(xml: &str) -> Keys {
    Keys {
        access_key_id: xml_field(xml, "AccessKeyId"),
        secret_access_key: xml_field(xml, "SecretAccessKey"),
    }
}

impl IamMoto {
    /// An IAM query-API call signed (SigV4) with the admin's keys.
    pub async fn iam(&self, action: &str, params: &[(&'static str, &str)]) -> String {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        use aws_sigv4::sign::v4;
        let body = serde_urlencoded_form(&iam_params(action, params));
        let identity = Credentials::new(
            &self.admin.access_key_id,
            &self.admin.secret_access_key,
            None,
            None,
            "admin",
        )
        .into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(REGION)
            .name("iam")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .expect("signing parameters")
            .into();
        let host = self.endpoint.trim_start_matches("http://").to_owned();
        let headers = [
            ("host", host.as_str()),
            ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
        ];
        let url = format!("{}/", self.endpoint);
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().copied(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .expect("a signable request");
        let (instructions, _) = sign(signable, &params).expect("signed").into_parts();
        let mut request = reqwest::Client::new().post(&url).body(body.clone());
        for (k, v) in headers.iter().copied().filter(|(k, _)| *k != "host") {
            request = request.header(k, v);
        }
        for (k, v) in instructions.headers() {
            request = request.header(k, v);
        }
        iam_reply(request.send().await).await
    }

    /// A user whose only permissions are `policy`, and its keys.
    pub async fn principal(&self, name: &str, policy: &Json) -> Keys {
        self.iam("CreateUser", &[("UserName", name)]).await;
        self.iam(
            "PutUserPolicy",
            &[
                ("UserName", name),
                ("PolicyName", "template"),
                ("PolicyDocument", &policy.to_string()),
            ],
        )
        .await;
        keys_from(&self.iam("CreateAccessKey", &[("UserName", name)]).await)
    }

    /// A role Lambda can assume (moto checks that a function's role exists).
    pub async fn lambda_role(&self, name: &str) -> String {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        xml_field(
            &self
                .iam("CreateRole", &[("RoleName", name), ("AssumeRolePolicyDocument", trust)])
                .await,
            "Arn",
        )
    }
}

fn serde_urlencoded_form(params: &[(&'static str, String)]) -> String {
    params.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// Percent-encoding as SigV4 and form bodies want it (unreserved characters kept).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ------------------------------------------------------------------ the template

pub fn template_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml")
}

/// `infra/template.yaml`, parsed.
pub fn template() -> Value {
    let text = std::fs::read_to_string(template_path()).expect("read the template");
    serde_norway::from_str(&text).expect("the template is YAML")
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping().and_then(|m| m.get(key))
}

/// The SAM policy templates the stack may use, as SAM defines them
/// (`samtranslator/policy_templates_data/policy_templates.json` of
/// aws/serverless-application-model): `(actions, resource pattern)`, `{}` the parameter.
fn sam_policy_template(name: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match name {
        "SQSPollerPolicy" => (
            &[
                "sqs:ChangeMessageVisibility",
                "sqs:ChangeMessageVisibilityBatch",
                "sqs:DeleteMessage",
                "sqs:DeleteMessageBatch",
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
            ],
            &["arn:aws:sqs:us-east-1:123456789012:{}"],
        ),
        "SQSSendMessagePolicy" => {
            (&["sqs:SendMessage*"], &["arn:aws:sqs:us-east-1:123456789012:{}"])
        }
        "DynamoDBCrudPolicy" => (
            &[
                "dynamodb:GetItem",
                "dynamodb:DeleteItem",
                "dynamodb:PutItem",
                "dynamodb:Scan",
                "dynamodb:Query",
                "dynamodb:UpdateItem",
                "dynamodb:BatchWriteItem",
                "dynamodb:BatchGetItem",
                "dynamodb:DescribeTable",
                "dynamodb:ConditionCheckItem",
            ],
            &[
                "arn:aws:dynamodb:us-east-1:123456789012:table/{}",
                "arn:aws:dynamodb:us-east-1:123456789012:table/{}/index/*",
            ],
        ),
        "DynamoDBReadPolicy" => (
            &[
                "dynamodb:GetItem",
                "dynamodb:Scan",
                "dynamodb:Query",
                "dynamodb:BatchGetItem",
                "dynamodb:DescribeTable",
            ],
            &[
                "arn:aws:dynamodb:us-east-1:123456789012:table/{}",
                "arn:aws:dynamodb:us-east-1:123456789012:table/{}/index/*",
            ],
        ),
        "LambdaInvokePolicy" => {
            (&["lambda:InvokeFunction"], &["arn:aws:lambda:us-east-1:123456789012:function:{}*"])
        }
        _ => return None,
    })
}

/// The template's resources made on the IAM-enforcing moto server, and what its intrinsics
/// resolve to.
#[derive(Debug)]
pub struct Stack {
    /// `AWS::StackName`: every physical name starts with it.
    pub name: String,
    pub endpoint: String,
    /// The admin's SDK configuration (to set up and inspect what the functions do).
    pub admin: aws_config::SdkConfig,
    template: Value,
    parameters: BTreeMap<String, Json>,
    refs: BTreeMap<String, String>,
    attributes: BTreeMap<String, String>,
}

/// Secret values by logical id, and parameter values, for [`Stack::create`].
#[derive(Debug, Default, Clone)]
pub struct StackInput {
    pub secrets: Vec<(&'static str, String)>,
    pub parameters: Vec<(&'static str, String)>,
}

impl StackInput {
    /// A stack whose worker writes to the HubSpot simulator at `base_url` (its token secret
    /// and base URL).
    pub fn hubspot(base_url: &str) -> Self {
        Self {
            secrets: vec![("HubSpotTokenSecret", crate::portal::TOKEN.into())],
            parameters: vec![("HubSpotBaseUrl", base_url.to_owned())],
        }
    }

    /// A stack whose import function reads the simulated org `sf`: its secret, login URL and
    /// client id.
    pub fn salesforce(sf: &Sim) -> Self {
        Self {
            secrets: vec![("SalesforceSecret", salesforce_secret())],
            parameters: vec![
                ("SalesforceLoginUrl", sf.base_url().to_owned()),
                ("SalesforceClientId", sfhs_salesforce_sim::DEFAULT_CLIENT_ID.into()),
            ],
        }
    }
}

impl Stack {
    /// The stack's services as the principal of `keys` reaches them.
    pub fn aws_as(&self, keys: &Keys) -> Aws {
        Aws::from_sdk(keys.sdk_config(&self.endpoint))
    }

    /// Makes every queue, table, secret and named function of the template as `{stack}-{id}`.
    pub async fn create(input: StackInput) -> Stack {
        let iam = iam_moto();
        let name = crate::moto::unique("stack");
        let admin = iam.admin.sdk_config(&iam.endpoint);
        let template = template();
        let mut parameters = BTreeMap::new();
        if let Some(Value::Mapping(ps)) = get(&template, "Parameters") {
            for (k, p) in ps {
                let (Some(k), Some(kind)) = (k.as_str(), get(p, "Type").and_then(Value::as_str))
                else {
                    continue;
                };
                let given = input
                    .parameters
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.clone())
                    .or_else(|| get(p, "Default").map(scalar));
                let Some(value) = given else { continue };
                let value = if kind == "CommaDelimitedList" {
                    json!(value.split(',').map(str::trim).collect::<Vec<_>>())
                } else {
                    json!(value)
                };
                parameters.insert(k.to_owned(), value);
            }
        }
        let mut stack = Stack {
            endpoint: iam.endpoint.clone(),
            name,
            admin,
            template,
            parameters,
            refs: BTreeMap::new(),
            attributes: BTreeMap::new(),
        };
        let sqs = aws_sdk_sqs::Client::new(&stack.admin);
        let dynamo = aws_sdk_dynamodb::Client::new(&stack.admin);
        let secrets = aws_sdk_secretsmanager::Client::new(&stack.admin);
        let resources: Vec<(String, Value)> = get(&stack.template, "Resources")
            .and_then(Value::as_mapping)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| k.as_str().map(|k| (k.to_owned(), v.clone())))
                    .collect()
            })
            .unwrap_or_default();
        for (id, resource) in &resources {
            let physical = format!("{}-{id}", stack.name);
            match get(resource, "Type").and_then(Value::as_str) {
                Some("AWS::SQS::Queue") => {
                    let url = crate::aws::create_queue(&sqs, &physical).await;
                    stack.refs.insert(id.clone(), url.clone());
                    stack.attributes.insert(
                        format!("{id}.Arn"),
                        format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{physical}"),
                    );
                    stack.attributes.insert(format!("{id}.QueueName"), physical.clone());
                    stack.attributes.insert(format!("{id}.QueueUrl"), url);
                }
                Some("AWS::DynamoDB::Table") => {
                    sfhs_aws::dynamo::create_table(&dynamo, &physical)
                        .await
                        .expect("create table on moto");
                    stack.refs.insert(id.clone(), physical.clone());
                    stack.attributes.insert(
                        format!("{id}.Arn"),
                        format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{physical}"),
                    );
                }
                Some("AWS::SecretsManager::Secret") => {
                    let value = input
                        .secrets
                        .iter()
                        .find(|(s, _)| s == id)
                        .map_or_else(|| "unset".to_owned(), |(_, v)| v.clone());
                    let arn = secrets
                        .create_secret()
                        .name(&physical)
                        .secret_string(value)
                        .send()
                        .await
                        .expect("create secret on moto")
                        .arn()
                        .expect("secret arn")
                        .to_owned();
                    stack.refs.insert(id.clone(), arn.clone());
                    stack.attributes.insert(format!("{id}.Id"), arn);
                }
                Some("AWS::Serverless::HttpApi") => {
                    // An API id, as API Gateway makes them (10 lowercase letters and digits).
                    let id_text: String = physical
                        .bytes()
                        .filter(u8::is_ascii_alphanumeric)
                        .map(|b| char::from(b).to_ascii_lowercase())
                        .rev()
                        .take(10)
                        .collect();
                    stack.refs.insert(id.clone(), id_text);
                }
                _ => {}
            }
        }
        // Named functions (the import function invokes itself by its name).
        for (id, resource) in &resources {
            if get(resource, "Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
                continue;
            }
            let function_name = get(resource, "Properties")
                .and_then(|p| get(p, "FunctionName"))
                .map(|n| stack.resolve(n));
            let physical = match function_name {
                Some(Json::String(n)) => {
                    create_function(&stack.admin, &n, &iam.lambda_role(&n).await).await;
                    n
                }
                _ => format!("{}-{id}", stack.name),
            };
            stack.attributes.insert(
                format!("{id}.Arn"),
                format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{physical}"),
            );
            stack.refs.insert(id.clone(), physical);
        }
        stack
    }

    /// A resource's `!Ref`.
    pub fn reference(&self, id: &str) -> &str {
        self.refs.get(id).unwrap_or_else(|| panic!("the stack has no resource {id}"))
    }

    fn function(&self, id: &str) -> &Value {
        get(&self.template, "Resources")
            .and_then(|r| get(r, id))
            .and_then(|f| get(f, "Properties"))
            .unwrap_or_else(|| panic!("the template has no function {id}"))
    }

    /// The function's IAM policy: its `Policies` from the template, resolved, SAM policy templates
    /// expanded.
    pub fn policy(&self, function: &str) -> Json {
        let mut statements = Vec::new();
        let policies = get(self.function(function), "Policies")
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default();
        for p in &policies {
            if let Some(list) = get(p, "Statement") {
                match self.resolve(list) {
                    Json::Array(items) => statements.extend(items),
                    one => statements.push(one),
                }
                continue;
            }
            let Some((name, args)) = p.as_mapping().and_then(|m| m.iter().next()) else {
                panic!("{function}: a policy that is neither statements nor a SAM template: {p:?}");
            };
            let name = name.as_str().unwrap_or_default();
            let (actions, resources) = sam_policy_template(name).unwrap_or_else(|| {
                panic!("{function}: SAM policy template {name} is not known to the test; add its definition")
            });
            let args = self.resolve(args);
            let arg = args
                .as_object()
                .and_then(|m| m.values().next())
                .and_then(Json::as_str)
                .unwrap_or_else(|| panic!("{function}: {name} takes one parameter: {args}"));
            statements.push(json!({
                "Effect": "Allow",
                "Action": actions,
                "Resource": resources.iter().map(|r| r.replace("{}", arg)).collect::<Vec<_>>(),
            }));
        }
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    /// The function's environment variables from the template, resolved.
    pub fn environment(&self, function: &str) -> Vec<(String, String)> {
        let vars = get(self.function(function), "Environment")
            .and_then(|e| get(e, "Variables"))
            .map(|v| self.resolve(v))
            .unwrap_or_default();
        vars.as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Json::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        (k.clone(), v)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A property of the function, resolved (`MemorySize`, `Timeout`, ...).
    pub fn property(&self, function: &str, name: &str) -> Option<Json> {
        get(self.function(function), name).map(|v| self.resolve(v))
    }

    /// A user with exactly `function`'s policy, and its keys.
    pub async fn principal(&self, function: &str) -> Keys {
        iam_moto().principal(&format!("{}-{function}", self.name), &self.policy(function)).await
    }

    fn pseudo(&self, name: &str) -> Option<Json> {
        Some(json!(match name {
            "AWS::Partition" => "aws",
            "AWS::Region" => REGION,
            "AWS::AccountId" => ACCOUNT,
            "AWS::StackName" => &self.name,
            "AWS::URLSuffix" => "amazonaws.com",
            _ => return None,
        }))
    }

    fn reference_of(&self, name: &str) -> Json {
        self.pseudo(name)
            .or_else(|| self.parameters.get(name).cloned())
            .or_else(|| self.refs.get(name).map(|r| json!(r)))
            .unwrap_or_else(|| panic!("!Ref {name}: not made by the test stack"))
    }

    fn attribute(&self, name: &str) -> Json {
        json!(
            self.attributes
                .get(name)
                .unwrap_or_else(|| panic!("!GetAtt {name}: not made by the test stack"))
        )
    }

    fn substitute(&self, text: &str, vars: &BTreeMap<String, Json>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else {
                break;
            };
            let var = &rest[start + 2..start + end];
            let value = vars.get(var).cloned().unwrap_or_else(|| {
                if var.contains('.') && self.pseudo(var).is_none() {
                    self.attribute(var)
                } else {
                    self.reference_of(var)
                }
            });
            match value {
                Json::String(s) => out.push_str(&s),
                other => out.push_str(&other.to_string()),
            }
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// A template value with its intrinsics resolved.
    pub fn resolve(&self, v: &Value) -> Json {
        match v {
            Value::Tagged(t) => {
                let tag = t.tag.to_string();
                let tag = tag.trim_start_matches('!');
                self.intrinsic(tag, &t.value)
            }
            Value::Mapping(m) => {
                if m.len() == 1
                    && let Some((Some(k), arg)) = m.iter().next().map(|(k, a)| (k.as_str(), a))
                    && (k == "Ref" || k.starts_with("Fn::"))
                {
                    return self.intrinsic(k.trim_start_matches("Fn::"), arg);
                }
                Json::Object(
                    m.iter()
                        .filter_map(|(k, v)| k.as_str().map(|k| (k.to_owned(), self.resolve(v))))
                        .collect(),
                )
            }
            Value::Sequence(items) => Json::Array(items.iter().map(|i| self.resolve(i)).collect()),
            Value::String(s) => json!(s),
            Value::Bool(b) => json!(b),
            Value::Number(_) => json!(scalar(v)),
            Value::Null => Json::Null,
        }
    }

    /// A condition of the template's `Conditions`, evaluated with the stack's parameters.
    fn condition(&self, name: &str) -> bool {
        let definition = get(&self.template, "Conditions")
            .and_then(|c| get(c, name))
            .unwrap_or_else(|| panic!("!If {name}: the template has no such condition"));
        self.resolve(definition) == json!(true)
    }

    fn intrinsic(&self, tag: &str, arg: &Value) -> Json {
        match (tag, arg) {
            ("Ref", Value::String(name)) => self.reference_of(name),
            ("GetAtt", Value::String(name)) => self.attribute(name),
            ("GetAtt", Value::Sequence(parts)) => {
                let parts: Vec<&str> = parts.iter().filter_map(Value::as_str).collect();
                self.attribute(&parts.join("."))
            }
            ("Sub", Value::String(text)) => json!(self.substitute(text, &BTreeMap::new())),
            ("Sub", Value::Sequence(parts)) => {
                let text = parts.first().and_then(Value::as_str).unwrap_or_default();
                let vars = parts
                    .get(1)
                    .map(|m| self.resolve(m))
                    .and_then(|m| m.as_object().cloned())
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                json!(self.substitute(text, &vars))
            }
            ("If", Value::Sequence(parts)) if parts.len() == 3 => {
                let name = parts[0].as_str().unwrap_or_default();
                if self.condition(name) { self.resolve(&parts[1]) } else { self.resolve(&parts[2]) }
            }
            ("Equals", Value::Sequence(parts)) if parts.len() == 2 => {
                json!(self.resolve(&parts[0]) == self.resolve(&parts[1]))
            }
            ("Not", Value::Sequence(parts)) if parts.len() == 1 => {
                json!(self.resolve(&parts[0]) != json!(true))
            }
            ("Join", Value::Sequence(parts)) => {
                let sep = parts.first().and_then(Value::as_str).unwrap_or_default();
                let items = parts.get(1).map(|i| self.resolve(i)).unwrap_or_default();
                let items: Vec<String> = items
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect();
                json!(items.join(sep))
            }
            _ => panic!("the test stack cannot resolve !{tag} {arg:?}"),
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// A function moto knows by `name` (its code is never run: `Event` invokes are queued).
async fn create_function(config: &aws_config::SdkConfig, name: &str, role: &str) {
    use std::io::Write as _;
    let mut zip = Vec::new();
    {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(&mut zip));
        w.start_file(
            "bootstrap",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored)
                .unix_permissions(0o755),
        )
        .expect("zip entry");
        w.write_all(b"#!/bin/sh\n").expect("zip data");
        w.finish().expect("zip");
    }
    aws_sdk_lambda::Client::new(config)
        .create_function()
        .function_name(name)
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role)
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
                .build(),
        )
        .send()
        .await
        .expect("CreateFunction on moto");
}

/// Whether an error (its `Display` and sources) says the caller was not authorized.
pub fn is_access_denied(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut text = String::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        text.push_str(&format!("{err} {err:?} "));
        cur = err.source();
    }
    text.contains("AccessDenied") || text.contains("not authorized")
}

// ------------------------------------------------------------------ fixtures on the stack

/// The invoice mapping, enabled ten minutes ago, in the stack's mappings table (by the admin).
pub async fn put_mapping(stack: &Stack) {
    put_mappings(stack, &["Invoice__c"]).await;
}

/// The portal's mappings of `objects`, enabled ten minutes ago, in the stack's mappings table
/// (by the admin).
pub async fn put_mappings(stack: &Stack, objects: &[&str]) {
    let admin = DynamoMappingStore::new(
        aws_sdk_dynamodb::Client::new(&stack.admin),
        stack.reference("MappingsTable"),
    );
    let enabled = OffsetDateTime::now_utc() - time::Duration::minutes(10);
    for m in crate::portal::mappings()
        .into_iter()
        .filter(|m| objects.contains(&m.salesforce_object.as_str()))
    {
        admin.put(&next_version(None, m, enabled), None).await.expect("the stack answers");
    }
}

/// The Salesforce secret's value (`SalesforceSecret`) for the simulated org.
pub fn salesforce_secret() -> String {
    json!({"client_secret": sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET}).to_string()
}

pub async fn salesforce(invoices: usize) -> Sim {
    SimBuilder::new()
        .seed_size(SeedSize { accounts: 2, invoices, lines: 0, shipments: 0 })
        .start()
        .await
        .expect("salesforce simulator")
}

/// The import function's world (`sfhs_aws::world::imports`) as the template configures it, in
/// Lambda (`AWS_LAMBDA_FUNCTION_NAME` the stack's function: a hand-over invokes it), its AWS calls
/// signed with `keys`. The stack must hold the org's secret ([`StackInput::salesforce`]).
pub async fn import_world(stack: &Stack, keys: &Keys) -> Imports {
    let mut env = stack.environment("ImportFunction");
    env.push(("AWS_LAMBDA_FUNCTION_NAME".to_owned(), stack.reference("ImportFunction").to_owned()));
    let read = |var: &str| env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone());
    let config = ImportConfig::from(&read).expect("the template configures the import function");
    sfhs_aws::world::imports_on(&stack.aws_as(keys), &config)
        .await
        .expect("the import function's world builds")
}
