//! Typed configuration, read from the environment once at start-up. Every variable is listed in
//! README.md; a bad value stops the function at start with a message naming the variable, the
//! value and the fix.

use std::time::Duration;

use sfhs_core::outbound::{DEFAULT_MAX_BODY_BYTES, is_salesforce_id};
use sfhs_core::queue::PublishPolicy;

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

fn required(env: &dyn Env, var: &'static str, fix: &str) -> Result<String, ConfigError> {
    env.get(var).ok_or_else(|| ConfigError {
        var,
        value: String::new(),
        problem: format!("missing; {fix}"),
    })
}

fn number<T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display>(
    env: &dyn Env,
    var: &'static str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    let Some(raw) = env.get(var) else {
        return Ok(default);
    };
    match raw.trim().parse::<T>() {
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
        let secret_param = env
            .get("SFHS_URL_SECRET_PARAM")
            .unwrap_or_else(|| "secret".to_owned());
        if !secret_param
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ConfigError {
                var: "SFHS_URL_SECRET_PARAM",
                value: secret_param,
                problem: "use letters, digits, '_' or '-'".into(),
            });
        }
        let defaults = PublishPolicy::default();
        let max_message_bytes = number(
            env,
            "SFHS_SQS_MAX_MESSAGE_BYTES",
            defaults.max_message_bytes,
            1024,
            1_048_576,
        )?;
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

    #[test]
    fn reads_a_complete_configuration() {
        let cfg = WebhookConfig::from(&env(&[
            (
                "SFHS_LIVE_QUEUE_URL",
                "https://sqs.eu-west-1.amazonaws.com/1/live",
            ),
            (
                "SFHS_ALLOWED_ORG_IDS",
                "00Dxx0000001gPF, 00D7F00000107XsUAI",
            ),
            (
                "SFHS_URL_SECRET_ARN",
                "arn:aws:secretsmanager:eu-west-1:1:secret:url",
            ),
            ("SFHS_ENQUEUE_MAX_ATTEMPTS", "6"),
        ]))
        .unwrap();
        assert_eq!(
            cfg.allowed_org_ids,
            ["00Dxx0000001gPF", "00D7F00000107XsUAI"]
        );
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
        assert!(
            e.to_string().contains("SFHS_MAX_BODY_BYTES=\"lots\""),
            "{e}"
        );
    }
}
