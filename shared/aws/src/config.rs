//! Typed configuration, read from the environment once at start-up. Every variable is listed in
//! README.md; a bad value stops the function at start with a message naming the variable, the
//! value and the fix.

use std::time::Duration;

use sfhs_core::app::SentFieldsSettings;
use sfhs_core::import::{CatchUpSettings, DriftSettings, RunSettings};
use sfhs_core::outbound::{DEFAULT_MAX_BODY_BYTES, is_salesforce_id};
use sfhs_core::queue::PublishPolicy;
use sfhs_salesforce::{Credentials, LoginUrl};

#[derive(Debug, thiserror::Error)]
#[error("configuration: {var}={value:?}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub problem: String,
}

/// Reads variables; a closure so that tests need not touch the process environment.
pub trait Env {
    fn get(&self, var: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, var: &str) -> Option<String> {
        std::env::var(var).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn get(&self, var: &str) -> Option<String> {
        self(var).filter(|v| !v.trim().is_empty())
    }
}

/// A variable that must be set; the error says how to set it.
pub fn required(env: &dyn Env, var: &'static str, fix: &str) -> Result<String, ConfigError> {
    env.get(var).ok_or_else(|| ConfigError {
        var,
        value: String::new(),
        problem: format!("missing; {fix}"),
    })
}

/// A number within `min..=max` (`_` separators allowed), `default` when unset.
pub fn number<T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display>(
    env: &dyn Env,
    var: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    let Some(raw) = env.get(var) else {
        return Ok(default);
    };
    match raw.trim().replace('_', "").parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(ConfigError {
            var,
            value: raw,
            problem: format!("expected a whole number from {min} to {max} (default {default})"),
        }),
    }
}

/// The webhook function's configuration.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// `SFHS_LIVE_QUEUE_URL`: the SQS queue the work items go to.
    pub live_queue_url: String,
    /// `SFHS_ALLOWED_ORG_IDS`: comma-separated Salesforce org ids (15 or 18 characters).
    pub allowed_org_ids: Vec<String>,
    /// `SFHS_URL_SECRET_ARN`: Secrets Manager secret holding the URL secret; unset = no secret.
    pub url_secret_arn: Option<String>,
    /// `SFHS_URL_SECRET_PARAM`: the query-string parameter carrying it (default `secret`).
    pub secret_param: String,
    /// `SFHS_MAX_BODY_BYTES`: largest body accepted (default 5 MiB).
    pub max_body_bytes: usize,
    /// `SFHS_SQS_MAX_MESSAGE_BYTES`, `SFHS_SQS_MAX_BATCH_BYTES`, `SFHS_ENQUEUE_MAX_ATTEMPTS`.
    pub publish: PublishPolicy,
}

impl WebhookConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&ProcessEnv)
    }

    pub fn from(env: &dyn Env) -> Result<Self, ConfigError> {
        let live_queue_url = required(
            env,
            "SFHS_LIVE_QUEUE_URL",
            "set it to the URL of the live SQS queue (a stack output)",
        )?;
        let raw_orgs = required(
            env,
            "SFHS_ALLOWED_ORG_IDS",
            "set it to the Salesforce org ids allowed to send, comma-separated (Setup > Company Information)",
        )?;
        let mut allowed_org_ids = Vec::new();
        for org in raw_orgs.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            if !is_salesforce_id(org) {
                return Err(ConfigError {
                    var: "SFHS_ALLOWED_ORG_IDS",
                    value: raw_orgs.clone(),
                    problem: format!(
                        "{org:?} is not an org id; use the 15- or 18-character id of the org (00D...)"
                    ),
                });
            }
            allowed_org_ids.push(org.to_owned());
        }
        if allowed_org_ids.is_empty() {
            return Err(ConfigError {
                var: "SFHS_ALLOWED_ORG_IDS",
                value: raw_orgs,
                problem: "no org id given; at least one is required".into(),
            });
        }
        let secret_param = env.get("SFHS_URL_SECRET_PARAM").unwrap_or_else(|| "secret".to_owned());
        if !secret_param.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(ConfigError {
                var: "SFHS_URL_SECRET_PARAM",
                value: secret_param,
                problem: "use letters, digits, '_' or '-'".into(),
            });
        }
        let defaults = PublishPolicy::default();
        let max_message_bytes =
            number(env, "SFHS_SQS_MAX_MESSAGE_BYTES", defaults.max_message_bytes, 1024, 1_048_576)?;
        let max_batch_bytes = number(
            env,
            "SFHS_SQS_MAX_BATCH_BYTES",
            defaults.max_batch_bytes,
            max_message_bytes,
            1_048_576,
        )?;
        Ok(Self {
            live_queue_url,
            allowed_org_ids,
            url_secret_arn: env.get("SFHS_URL_SECRET_ARN"),
            secret_param,
            max_body_bytes: number(
                env,
                "SFHS_MAX_BODY_BYTES",
                DEFAULT_MAX_BODY_BYTES,
                1024,
                10 * 1024 * 1024,
            )?,
            publish: PublishPolicy {
                max_message_bytes,
                max_batch_bytes,
                max_attempts: number(
                    env,
                    "SFHS_ENQUEUE_MAX_ATTEMPTS",
                    defaults.max_attempts,
                    1,
                    10,
                )?,
                first_backoff: Duration::from_millis(number(
                    env,
                    "SFHS_ENQUEUE_BACKOFF_MS",
                    50,
                    0,
                    5_000,
                )?),
            },
        })
    }
}

/// The worker function's configuration.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// `SFHS_MAPPINGS_TABLE`, `SFHS_RECORDS_TABLE`, `SFHS_ERRORS_TABLE`: DynamoDB tables.
    pub mappings_table: String,
    pub records_table: String,
    pub errors_table: String,
    /// `SFHS_HUBSPOT_TOKEN_SECRET_ARN`: Secrets Manager secret holding the HubSpot token.
    pub hubspot_token_secret_arn: String,
    /// `SFHS_HUBSPOT_BASE_URL` (default `https://api.hubapi.com`).
    pub hubspot_base_url: String,
    /// `SFHS_HUBSPOT_API_VERSION`: `2026-09` (default), `2026-03` or `legacy`.
    pub hubspot_api_version: String,
    /// `SFHS_HUBSPOT_RESERVED_SHARE`: share of HubSpot's budgets left to other apps (0 to 0.9).
    pub hubspot_reserved_share: f64,
    /// `SFHS_MAPPINGS_CACHE_SECONDS` (default 30).
    pub mappings_cache: Duration,
    /// `SFHS_PARENT_WAIT_SECONDS`: how long a child waits for its parent (default 86,400).
    pub parent_wait: Duration,
    /// `SFHS_LEASE_SECONDS`: how long a worker holds a record while writing it (default 180; keep
    /// it above the function timeout).
    pub lease: Duration,
    /// `SFHS_RETRY_BASE_SECONDS`: delay before a handed-back message is delivered again, doubled
    /// with each delivery (default 5; 0 = the queue's visibility timeout).
    pub retry_base: Duration,
    /// `SFHS_RETRY_MAX_SECONDS`: the longest such delay (default 900).
    pub retry_max: Duration,
    /// `SFHS_WAIT_RECHECK_SECONDS`: how long a child waiting for its parent is away before it
    /// looks again, unless its parent's commit wakes it first (default 60, 5..900).
    pub wait_recheck: Duration,
    /// `SFHS_MAX_RECEIVES`: the queues' `maxReceiveCount` (default 8; 0 = unknown).
    pub max_receives: u32,
    /// `SFHS_IMPORTS_TABLE`: the imports table, whose counters the worker keeps; unset = none.
    pub imports_table: Option<String>,
}

impl WorkerConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&ProcessEnv)
    }

    pub fn from(env: &dyn Env) -> Result<Self, ConfigError> {
        let table = |var: &'static str| {
            required(env, var, "set it to the DynamoDB table's name (a stack output)")
        };
        let hubspot_api_version =
            env.get("SFHS_HUBSPOT_API_VERSION").unwrap_or_else(|| "2026-09".to_owned());
        if !["2026-09", "2026-03", "legacy"].contains(&hubspot_api_version.as_str()) {
            return Err(ConfigError {
                var: "SFHS_HUBSPOT_API_VERSION",
                value: hubspot_api_version,
                problem: "expected 2026-09, 2026-03 or legacy".into(),
            });
        }
        let hubspot_reserved_share = match env.get("SFHS_HUBSPOT_RESERVED_SHARE") {
            None => 0.0,
            Some(raw) => match raw.trim().parse::<f64>() {
                Ok(v) if (0.0..=0.9).contains(&v) => v,
                _ => {
                    return Err(ConfigError {
                        var: "SFHS_HUBSPOT_RESERVED_SHARE",
                        value: raw,
                        problem: "expected a share from 0 to 0.9, e.g. 0.2 (default 0)".into(),
                    });
                }
            },
        };
        let secs = |var: &'static str, default: u64, min: u64, max: u64| {
            number(env, var, default, min, max).map(Duration::from_secs)
        };
        Ok(Self {
            mappings_table: table("SFHS_MAPPINGS_TABLE")?,
            records_table: table("SFHS_RECORDS_TABLE")?,
            errors_table: table("SFHS_ERRORS_TABLE")?,
            hubspot_token_secret_arn: required(
                env,
                "SFHS_HUBSPOT_TOKEN_SECRET_ARN",
                "set it to the Secrets Manager secret holding the HubSpot private-app token",
            )?,
            hubspot_base_url: env
                .get("SFHS_HUBSPOT_BASE_URL")
                .unwrap_or_else(|| "https://api.hubapi.com".to_owned()),
            hubspot_api_version,
            hubspot_reserved_share,
            mappings_cache: secs("SFHS_MAPPINGS_CACHE_SECONDS", 30, 0, 3600)?,
            parent_wait: secs("SFHS_PARENT_WAIT_SECONDS", 86_400, 0, 14 * 86_400)?,
            lease: secs("SFHS_LEASE_SECONDS", 180, 10, 900)?,
            retry_base: secs("SFHS_RETRY_BASE_SECONDS", 5, 0, 3600)?,
            retry_max: secs("SFHS_RETRY_MAX_SECONDS", 900, 1, 43_200)?,
            wait_recheck: secs("SFHS_WAIT_RECHECK_SECONDS", 60, 5, 900)?,
            max_receives: number(env, "SFHS_MAX_RECEIVES", 8, 0, 1000)?,
            imports_table: env.get("SFHS_IMPORTS_TABLE"),
        })
    }
}

/// The import function's configuration (every variable is listed in `docs/import.md`).
#[derive(Debug, Clone)]
pub struct ImportConfig {
    /// `SFHS_MAPPINGS_TABLE`
    pub mappings_table: String,
    /// `SFHS_IMPORTS_TABLE`: imports and the sweep's checkpoints.
    pub imports_table: String,
    /// `SFHS_IMPORT_QUEUE_URL`: where imported records go.
    pub import_queue_url: String,
    /// `SFHS_LIVE_QUEUE_URL`: where the sweep's deletes go.
    pub live_queue_url: String,
    /// `SFHS_SALESFORCE_LOGIN_URL`: `production`, `sandbox`, a My Domain host or a URL.
    pub salesforce_login_url: LoginUrl,
    /// `SFHS_SALESFORCE_CLIENT_ID`
    pub salesforce_client_id: String,
    /// `SFHS_SALESFORCE_SECRET_ARN`: `{"client_secret"}` or `{"private_key_pem","username"}`.
    pub salesforce_secret_arn: String,
    /// `SFHS_SALESFORCE_API_VERSION` (default `62.0`).
    pub salesforce_api_version: String,
    /// `SFHS_BULK_THRESHOLD` (default 50,000): Bulk API 2.0 from this many records on.
    pub bulk_threshold: u64,
    /// `SFHS_IMPORT_PAGE_SIZE` (REST, default 2000), `SFHS_IMPORT_BULK_PAGE_SIZE` (default
    /// 10,000), `SFHS_DEADLINE_MARGIN_SECONDS` (default 60), `SFHS_IMPORT_LEASE_SECONDS`
    /// (default 60, 10..600: a dead runner's import is taken over this long after its last
    /// renewal at most; renewed every third of it).
    pub run: RunSettings,
    /// `AWS_LAMBDA_FUNCTION_NAME` (Lambda sets it): an import near its deadline hands over to a
    /// fresh invocation of this function; unset, the scheduled tick resumes it.
    pub function_name: Option<String>,
    pub publish: PublishPolicy,
    /// `SFHS_WEBHOOK_URL` (the template sets it to the `OutboundMessageUrl` output): the
    /// outbound messages that post there count, whatever their name; `SFHS_SENT_FIELDS_SECONDS`
    /// (default 300, 60..86,400): how often the tick reads what they send.
    pub sent_fields: SentFieldsSettings,
    /// `SFHS_RECORDS_TABLE`: the ledger the catch-up compares with (read only); unset = no
    /// catch-up (logged at start).
    pub records_table: Option<String>,
    /// `SFHS_CATCH_UP_SECONDS` (default 900, 60..86,400): how often each enabled mapping's changes
    /// are read back.
    pub catch_up: CatchUpSettings,
    /// `SFHS_DRIFT_SECONDS` (default 3,600, 300..86,400): how often the set-up drift is checked,
    /// against the message posting to `SFHS_WEBHOOK_URL`.
    pub drift: DriftSettings,
}

impl ImportConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&ProcessEnv)
    }

    pub fn from(env: &dyn Env) -> Result<Self, ConfigError> {
        let stack = "set it from the stack's outputs";
        let defaults = RunSettings::default();
        let lease = Duration::from_secs(number(env, "SFHS_IMPORT_LEASE_SECONDS", 60, 10, 600)?);
        let run = RunSettings {
            rest_page_size: number(env, "SFHS_IMPORT_PAGE_SIZE", 2000, 200, 2000)? as u32,
            bulk_page_size: number(env, "SFHS_IMPORT_BULK_PAGE_SIZE", 10_000, 100, 100_000)? as u32,
            deadline_margin: Duration::from_secs(number(
                env,
                "SFHS_DEADLINE_MARGIN_SECONDS",
                60,
                5,
                600,
            )?),
            lease,
            // Three renewals per lease: one lost write does not lose the import.
            renew_every: lease / 3,
            ..defaults
        };
        Ok(Self {
            mappings_table: required(env, "SFHS_MAPPINGS_TABLE", stack)?,
            imports_table: required(env, "SFHS_IMPORTS_TABLE", stack)?,
            import_queue_url: required(env, "SFHS_IMPORT_QUEUE_URL", stack)?,
            live_queue_url: required(env, "SFHS_LIVE_QUEUE_URL", stack)?,
            salesforce_login_url: LoginUrl::from_setting(&required(
                env,
                "SFHS_SALESFORCE_LOGIN_URL",
                "set it to production, sandbox, your My Domain host, or a URL",
            )?),
            salesforce_client_id: required(
                env,
                "SFHS_SALESFORCE_CLIENT_ID",
                "set it to the connected app's consumer key",
            )?,
            salesforce_secret_arn: required(
                env,
                "SFHS_SALESFORCE_SECRET_ARN",
                "set it to the Secrets Manager secret holding {\"client_secret\"} or {\"private_key_pem\",\"username\"}",
            )?,
            salesforce_api_version: env
                .get("SFHS_SALESFORCE_API_VERSION")
                .unwrap_or_else(|| "62.0".to_owned()),
            bulk_threshold: number(env, "SFHS_BULK_THRESHOLD", 50_000, 1, u64::MAX)?,
            run,
            publish: PublishPolicy::default(),
            sent_fields: SentFieldsSettings {
                webhook_url: env.get("SFHS_WEBHOOK_URL").filter(|u| !u.trim().is_empty()),
                every: Duration::from_secs(number(
                    env,
                    "SFHS_SENT_FIELDS_SECONDS",
                    300,
                    60,
                    86_400,
                )?),
            },
            function_name: env.get("AWS_LAMBDA_FUNCTION_NAME"),
            records_table: env.get("SFHS_RECORDS_TABLE"),
            catch_up: CatchUpSettings {
                every: Duration::from_secs(number(env, "SFHS_CATCH_UP_SECONDS", 900, 60, 86_400)?),
                ..CatchUpSettings::default()
            },
            drift: DriftSettings {
                every: Duration::from_secs(number(env, "SFHS_DRIFT_SECONDS", 3_600, 300, 86_400)?),
                webhook_url: env.get("SFHS_WEBHOOK_URL").filter(|u| !u.trim().is_empty()),
            },
        })
    }
}

/// Salesforce credentials from the secret's JSON. The error never contains the secret.
pub fn credentials_from_secret(client_id: &str, secret: &str) -> Result<Credentials, ConfigError> {
    #[derive(serde::Deserialize)]
    struct Secret {
        client_secret: Option<String>,
        private_key_pem: Option<String>,
        username: Option<String>,
    }
    let bad = |problem: &str| ConfigError {
        var: "SFHS_SALESFORCE_SECRET_ARN",
        value: "<the secret's value, not shown>".into(),
        problem: problem.to_owned(),
    };
    let parsed: Secret = serde_json::from_str(secret).map_err(|_| {
        bad("the secret is not JSON; store {\"client_secret\": \"...\"} or {\"private_key_pem\": \"...\", \"username\": \"...\"}")
    })?;
    match parsed {
        Secret { private_key_pem: Some(pem), username: Some(username), .. } => {
            Ok(Credentials::JwtBearer {
                client_id: client_id.to_owned(),
                username,
                private_key_pem: pem.into_bytes(),
                audience: None,
            })
        }
        Secret { client_secret: Some(client_secret), .. } => {
            Ok(Credentials::ClientCredentials { client_id: client_id.to_owned(), client_secret })
        }
        _ => Err(bad("the secret has neither client_secret nor private_key_pem with username")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// An environment of `pairs` only.
    pub(super) fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn reads_a_complete_configuration() {
        let cfg = WebhookConfig::from(&env(&[
            ("SFHS_LIVE_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/1/live"),
            ("SFHS_ALLOWED_ORG_IDS", "00Dxx0000001gPF, 00D7F00000107XsUAI"),
            ("SFHS_URL_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:1:secret:url"),
            ("SFHS_ENQUEUE_MAX_ATTEMPTS", "6"),
        ]))
        .unwrap();
        assert_eq!(cfg.allowed_org_ids, ["00Dxx0000001gPF", "00D7F00000107XsUAI"]);
        assert_eq!(cfg.secret_param, "secret");
        assert_eq!(cfg.publish.max_attempts, 6);
        assert_eq!(cfg.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    }

    #[test]
    fn names_the_variable_the_value_and_the_fix() {
        let e =
            WebhookConfig::from(&env(&[("SFHS_ALLOWED_ORG_IDS", "00Dxx0000001gPF")])).unwrap_err();
        assert_eq!(e.var, "SFHS_LIVE_QUEUE_URL");

        let e = WebhookConfig::from(&env(&[
            ("SFHS_LIVE_QUEUE_URL", "q"),
            ("SFHS_ALLOWED_ORG_IDS", "00Dxx0000001gPF,acme"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("\"acme\" is not an org id"), "{e}");

        let e = WebhookConfig::from(&env(&[
            ("SFHS_LIVE_QUEUE_URL", "q"),
            ("SFHS_ALLOWED_ORG_IDS", "00Dxx0000001gPF"),
            ("SFHS_MAX_BODY_BYTES", "lots"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("SFHS_MAX_BODY_BYTES=\"lots\""), "{e}");
    }

    #[test]
    fn reads_the_worker_configuration() {
        let base = [
            ("SFHS_MAPPINGS_TABLE", "m"),
            ("SFHS_RECORDS_TABLE", "r"),
            ("SFHS_ERRORS_TABLE", "e"),
            ("SFHS_HUBSPOT_TOKEN_SECRET_ARN", "arn:aws:secretsmanager:x"),
        ];
        let cfg = WorkerConfig::from(&env(&base)).unwrap();
        assert_eq!(cfg.lease, Duration::from_secs(180));
        assert_eq!(cfg.hubspot_api_version, "2026-09");
        let mut bad = base.to_vec();
        bad.push(("SFHS_HUBSPOT_RESERVED_SHARE", "2"));
        let e = WorkerConfig::from(&env(&bad)).unwrap_err();
        assert_eq!(e.var, "SFHS_HUBSPOT_RESERVED_SHARE");
        let e = WorkerConfig::from(&env(&base[..2])).unwrap_err();
        assert_eq!(e.var, "SFHS_ERRORS_TABLE");
    }
}

#[cfg(test)]
mod import_tests {
    use super::tests::env;
    use super::*;

    const BASE: &[(&str, &str)] = &[
        ("SFHS_MAPPINGS_TABLE", "m"),
        ("SFHS_IMPORTS_TABLE", "i"),
        ("SFHS_IMPORT_QUEUE_URL", "q1"),
        ("SFHS_LIVE_QUEUE_URL", "q2"),
        ("SFHS_SALESFORCE_LOGIN_URL", "http://127.0.0.1:1/"),
        ("SFHS_SALESFORCE_CLIENT_ID", "c"),
        ("SFHS_SALESFORCE_SECRET_ARN", "arn"),
    ];

    #[test]
    fn reads_defaults_and_refuses_bad_values() {
        let cfg = ImportConfig::from(&env(BASE)).unwrap();
        assert_eq!(cfg.bulk_threshold, 50_000);
        assert_eq!(cfg.run.rest_page_size, 2000);
        assert_eq!(cfg.run.deadline_margin, Duration::from_secs(60));
        assert_eq!(cfg.run.lease, Duration::from_secs(60));
        assert_eq!(cfg.run.renew_every, Duration::from_secs(20));
        assert_eq!(cfg.sent_fields.webhook_url, None);
        assert_eq!(cfg.sent_fields.every, Duration::from_secs(300));
        let sent = [
            BASE,
            &[
                ("SFHS_WEBHOOK_URL", "https://a.execute-api.us-east-1.amazonaws.com/outbound"),
                ("SFHS_SENT_FIELDS_SECONDS", "900"),
            ],
        ]
        .concat();
        let cfg = ImportConfig::from(&env(&sent)).unwrap();
        assert_eq!(
            cfg.sent_fields.webhook_url.as_deref(),
            Some("https://a.execute-api.us-east-1.amazonaws.com/outbound")
        );
        assert_eq!(cfg.sent_fields.every, Duration::from_secs(900));
        let often = [BASE, &[("SFHS_SENT_FIELDS_SECONDS", "5")]].concat();
        let err = ImportConfig::from(&env(&often)).unwrap_err();
        assert_eq!(err.var, "SFHS_SENT_FIELDS_SECONDS");
        let mut short = BASE.to_vec();
        short.push(("SFHS_IMPORT_LEASE_SECONDS", "30"));
        let cfg = ImportConfig::from(&env(&short)).unwrap();
        assert_eq!(cfg.run.renew_every, Duration::from_secs(10));
        let short = [BASE, &[("SFHS_IMPORT_LEASE_SECONDS", "5")]].concat();
        let err = ImportConfig::from(&env(&short)).unwrap_err();
        assert_eq!(err.var, "SFHS_IMPORT_LEASE_SECONDS");
        assert_eq!(cfg.salesforce_login_url, LoginUrl::Custom("http://127.0.0.1:1".into()));
        let mut bad = BASE.to_vec();
        bad.push(("SFHS_IMPORT_PAGE_SIZE", "10"));
        let err = ImportConfig::from(&env(&bad)).unwrap_err();
        assert_eq!(err.var, "SFHS_IMPORT_PAGE_SIZE");
        let err = ImportConfig::from(&env(&BASE[1..])).unwrap_err();
        assert_eq!(err.var, "SFHS_MAPPINGS_TABLE");
    }

    #[test]
    fn credentials_from_either_secret_shape_without_leaking() {
        assert!(matches!(
            credentials_from_secret("c", r#"{"client_secret":"s3cr3t"}"#),
            Ok(Credentials::ClientCredentials { .. })
        ));
        assert!(matches!(
            credentials_from_secret("c", r#"{"private_key_pem":"PEM","username":"u@x"}"#),
            Ok(Credentials::JwtBearer { .. })
        ));
        let err = credentials_from_secret("c", "s3cr3t-not-json").unwrap_err();
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert!(credentials_from_secret("c", r#"{"username":"u"}"#).is_err());
    }
}
