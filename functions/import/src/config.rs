//! The import function's configuration, read once from the environment.

use std::time::Duration;

use sfhs_aws::config::{ConfigError, Env, number, required};
use sfhs_core::import::RunSettings;
use sfhs_core::queue::PublishPolicy;
use sfhs_salesforce::{Credentials, LoginUrl};

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
    pub publish: PublishPolicy,
}

impl ImportConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from(&sfhs_aws::config::ProcessEnv)
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
        Secret {
            private_key_pem: Some(pem),
            username: Some(username),
            ..
        } => Ok(Credentials::JwtBearer {
            client_id: client_id.to_owned(),
            username,
            private_key_pem: pem.into_bytes(),
            audience: None,
        }),
        Secret {
            client_secret: Some(client_secret),
            ..
        } => Ok(Credentials::ClientCredentials {
            client_id: client_id.to_owned(),
            client_secret,
        }),
        _ => Err(bad(
            "the secret has neither client_secret nor private_key_pem with username",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

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
        let mut short = BASE.to_vec();
        short.push(("SFHS_IMPORT_LEASE_SECONDS", "30"));
        let cfg = ImportConfig::from(&env(&short)).unwrap();
        assert_eq!(cfg.run.renew_every, Duration::from_secs(10));
        let short = [BASE, &[("SFHS_IMPORT_LEASE_SECONDS", "5")]].concat();
        let err = ImportConfig::from(&env(&short)).unwrap_err();
        assert_eq!(err.var, "SFHS_IMPORT_LEASE_SECONDS");
        assert_eq!(
            cfg.salesforce_login_url,
            LoginUrl::Custom("http://127.0.0.1:1".into())
        );
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
