//! The live side of validation: HubSpot's schemas (and, when configured, Salesforce's describe)
//! read through the project's clients and turned into the domain's types.

use std::collections::HashMap;

use anyhow::Context as _;
use clap::Args as ClapArgs;
use sfhs_core::mapping::schema::{HsObject, SfObject};
use sfhs_core::mapping::sent::{self, AbsentFields};
use sfhs_core::mapping::validate::{Live, Lookup, Source, validate_live, validate_offline};
use sfhs_core::mapping::{Mapping, Problem, Severity};
use sfhs_core::salesforce_setup::{self, LiveOutboundMessage};
use sfhs_hubspot::{ApiVersion, ClientConfig, HubSpotClient, SecretToken};

/// Where the live schemas come from.
#[derive(Debug, Clone, ClapArgs)]
pub struct LiveArgs {
    /// HubSpot API base URL (a simulator's URL for local runs).
    #[arg(
        long,
        global = true,
        env = "SFHS_HUBSPOT_BASE_URL",
        default_value = "https://api.hubapi.com"
    )]
    pub hubspot_url: String,
    /// HubSpot private-app token or service key. Unset: no live HubSpot checks.
    #[arg(long, global = true, env = "SFHS_HUBSPOT_TOKEN", hide_env_values = true)]
    pub hubspot_token: Option<String>,
    /// HubSpot API version: 2026-09, 2026-03 or legacy.
    #[arg(long, global = true, env = "SFHS_HUBSPOT_API_VERSION", default_value = "2026-09")]
    pub hubspot_api_version: ApiVersion,
    /// Salesforce standard objects that HubSpot's own integration syncs (associations to them are
    /// allowed), comma-separated.
    #[arg(
        long,
        global = true,
        env = "SFHS_NATIVE_SYNCED_OBJECTS",
        value_delimiter = ',',
        default_value = "Account,Contact,Lead,Opportunity"
    )]
    pub native_synced: Vec<String>,
    /// Salesforce login: `production`, `sandbox`, a My Domain host, or a URL (a simulator's).
    #[arg(long, global = true, env = "SFHS_SALESFORCE_LOGIN_URL")]
    pub salesforce_login_url: Option<String>,
    /// Connected app consumer key.
    #[arg(long, global = true, env = "SFHS_SALESFORCE_CLIENT_ID")]
    pub salesforce_client_id: Option<String>,
    /// Consumer secret, for the client-credentials flow.
    #[arg(long, global = true, env = "SFHS_SALESFORCE_CLIENT_SECRET", hide_env_values = true)]
    pub salesforce_client_secret: Option<String>,
    /// Username, for the JWT bearer flow (with --salesforce-private-key).
    #[arg(long, global = true, env = "SFHS_SALESFORCE_USERNAME")]
    pub salesforce_username: Option<String>,
    /// PEM file of the connected app's private key, for the JWT bearer flow.
    #[arg(long, global = true, env = "SFHS_SALESFORCE_PRIVATE_KEY_FILE")]
    pub salesforce_private_key: Option<std::path::PathBuf>,
    /// Salesforce API version.
    #[arg(long, global = true, env = "SFHS_SALESFORCE_API_VERSION", default_value = "62.0")]
    pub salesforce_api_version: String,
    /// Skip every live check.
    #[arg(long, global = true)]
    pub offline: bool,
    /// This deployment's webhook URL (the stack's `OutboundMessageUrl` output): the endpoint
    /// the outbound messages must post to.
    #[arg(long, global = true, env = "SFHS_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
}

impl LiveArgs {
    /// The Salesforce client these arguments describe, if any.
    pub fn salesforce(&self) -> anyhow::Result<Option<sfhs_salesforce::Client>> {
        use sfhs_salesforce::{Config, Credentials, LoginUrl};
        let (Some(login), Some(client_id)) =
            (&self.salesforce_login_url, &self.salesforce_client_id)
        else {
            return Ok(None);
        };
        let login_url = LoginUrl::from_setting(login);
        let credentials = match (
            &self.salesforce_client_secret,
            &self.salesforce_username,
            &self.salesforce_private_key,
        ) {
            (_, Some(username), Some(key)) => Credentials::JwtBearer {
                client_id: client_id.clone(),
                username: username.clone(),
                private_key_pem: std::fs::read(key)
                    .with_context(|| format!("cannot read {}", key.display()))?,
                audience: None,
            },
            (Some(secret), _, _) => Credentials::ClientCredentials {
                client_id: client_id.clone(),
                client_secret: secret.clone(),
            },
            _ => anyhow::bail!(
                "Salesforce credentials incomplete: set SFHS_SALESFORCE_CLIENT_SECRET (client credentials) or SFHS_SALESFORCE_USERNAME and SFHS_SALESFORCE_PRIVATE_KEY_FILE (JWT bearer)"
            ),
        };
        let mut config = Config::new(login_url, credentials);
        config.api_version = self.salesforce_api_version.clone();
        Ok(Some(
            sfhs_salesforce::Client::new(config).context("cannot build the Salesforce client")?,
        ))
    }
}

impl LiveArgs {
    /// The HubSpot client, if a token is set (and not `--offline`).
    pub fn hubspot_client(&self) -> anyhow::Result<Option<HubSpotClient>> {
        match (&self.hubspot_token, self.offline) {
            (Some(token), false) => {
                let mut config = ClientConfig::new(&self.hubspot_url, SecretToken::new(token));
                config.api_version = self.hubspot_api_version;
                Ok(Some(HubSpotClient::new(config).context("cannot build the HubSpot client")?))
            }
            _ => Ok(None),
        }
    }
}

/// Connected clients.
pub struct Sources {
    hubspot: Option<HubSpotClient>,
    salesforce: Option<sfhs_salesforce::Client>,
    native_synced: Vec<String>,
    /// Check the org's outbound messages (read through the Tooling API) too.
    outbound_check: bool,
    webhook_url: Option<String>,
}

impl Sources {
    /// Sources over clients built elsewhere (`sfhs dev`'s, possibly on its simulators).
    pub fn new(
        hubspot: Option<HubSpotClient>,
        salesforce: Option<sfhs_salesforce::Client>,
        native_synced: Vec<String>,
    ) -> Self {
        Self { hubspot, salesforce, native_synced, outbound_check: false, webhook_url: None }
    }

    pub fn connect(args: &LiveArgs) -> anyhow::Result<Self> {
        let hubspot = args.hubspot_client()?;
        let salesforce = if args.offline { None } else { args.salesforce()? };
        Ok(Self {
            hubspot,
            salesforce,
            native_synced: args.native_synced.clone(),
            outbound_check: true,
            webhook_url: args.webhook_url.clone(),
        })
    }

    pub fn is_configured(&self) -> bool {
        self.hubspot.is_some() || self.salesforce.is_some()
    }

    pub fn hubspot(&self) -> Option<&HubSpotClient> {
        self.hubspot.as_ref()
    }

    pub fn salesforce(&self) -> Option<&sfhs_salesforce::Client> {
        self.salesforce.as_ref()
    }

    /// The Salesforce describe of `name` in the domain's terms, when Salesforce is configured.
    pub async fn salesforce_object(&self, name: &str) -> anyhow::Result<Option<SfObject>> {
        let Some(client) = &self.salesforce else {
            return Ok(None);
        };
        sfhs_salesforce::domain::describe(client, name)
            .await
            .with_context(|| format!("cannot describe Salesforce object {name}"))
    }

    async fn hubspot_object(
        &self,
        cache: &mut HashMap<String, Option<HsObject>>,
        reference: &str,
    ) -> anyhow::Result<Option<HsObject>> {
        let Some(client) = &self.hubspot else {
            return Ok(None);
        };
        if let Some(found) = cache.get(reference) {
            return Ok(found.clone());
        }
        let found = sfhs_hubspot::domain::describe(client, reference)
            .await
            .with_context(|| format!("cannot read HubSpot object {reference}"))?;
        cache.insert(reference.to_owned(), found.clone());
        Ok(found)
    }

    /// The org's outbound messages, when they are to be checked and can be read; a refusal
    /// (no permission to read setup) becomes a warning and skips the check.
    pub async fn outbound_messages(
        &self,
        problems: &mut Vec<Problem>,
    ) -> anyhow::Result<Option<Vec<LiveOutboundMessage>>> {
        let (true, Some(client)) = (self.outbound_check, &self.salesforce) else {
            return Ok(None);
        };
        match client.outbound_messages(None).await {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.is_insufficient_access() => {
                problems.push(Problem {
                    severity: Severity::Warning,
                    file: "(Salesforce)".into(),
                    path: "outbound messages".into(),
                    message: format!("cannot read the org's outbound messages ({e}): whether they send every mapped field is not checked"),
                    fix: "give the Salesforce user View Setup and Configuration (docs/deploy.md)".into(),
                });
                Ok(None)
            }
            Err(e) => Err(anyhow::Error::new(e).context("cannot read the org's outbound messages")),
        }
    }

    /// Every problem of every mapping: offline (each file, and all of them together), then
    /// against the live schemas.
    pub async fn check(&self, files: &[(String, Mapping)]) -> anyhow::Result<Vec<Problem>> {
        let sources: Vec<Source<'_>> =
            files.iter().map(|(file, mapping)| Source { file, mapping }).collect();
        let mut problems = validate_offline(&sources);
        problems.extend(self.check_all(files).await?.problems);
        Ok(problems)
    }

    /// Every live problem of every mapping, and what the worker does with an absent field of
    /// each enabled mapping whose outbound message could be read.
    pub async fn check_all(&self, files: &[(String, Mapping)]) -> anyhow::Result<Checked> {
        let mut cache = HashMap::new();
        let all: Vec<Source<'_>> =
            files.iter().map(|(file, mapping)| Source { file, mapping }).collect();
        let mut problems = Vec::new();
        let mut absent = Vec::new();
        let outbound = self.outbound_messages(&mut problems).await?;
        for source in &all {
            let m = source.mapping;
            let hubspot = self.hubspot_object(&mut cache, &m.hubspot_object).await?;
            let salesforce = self.salesforce_object(&m.salesforce_object).await?;
            let mut targets = Vec::new();
            for a in &m.associations {
                if let Some(t) = self.hubspot_object(&mut cache, &a.to).await? {
                    targets.push(t);
                }
            }
            let live = Live {
                hubspot: Lookup::from_option(self.hubspot.is_some(), hubspot.as_ref()),
                salesforce: Lookup::from_option(self.salesforce.is_some(), salesforce.as_ref()),
                association_targets: &targets,
                natively_synced: &self.native_synced,
                outbound_fields: None,
            };
            problems.extend(validate_live(source, &live, &all));
            if let Some(messages) = &outbound
                && m.state == sfhs_core::mapping::State::Enabled
            {
                let found = salesforce_setup::find_message(
                    &m.salesforce_object,
                    messages,
                    self.webhook_url.as_deref(),
                );
                problems.extend(salesforce_setup::check_message(
                    source,
                    found,
                    self.webhook_url.as_deref(),
                ));
                // What the worker will count as sent (every message posting here), as it does.
                let sent =
                    sent::sent_fields(&m.salesforce_object, messages, self.webhook_url.as_deref());
                absent.push(AbsentFields::of(m, sent.as_deref()));
                if let (Some(found), Some(sent)) = (found, &sent) {
                    let fields_only = Live {
                        hubspot: Lookup::Skipped,
                        salesforce: Lookup::Skipped,
                        association_targets: &[],
                        natively_synced: &[],
                        outbound_fields: Some(sent),
                    };
                    problems.extend(validate_live(source, &fields_only, &all).into_iter().map(
                        |mut p| {
                            p.message = format!(
                                "{} (outbound message {}.{})",
                                p.message, found.object, found.name
                            );
                            p
                        },
                    ));
                }
            }
        }
        Ok(Checked { problems, absent })
    }
}

/// What [`Sources::check_all`] found.
pub struct Checked {
    pub problems: Vec<Problem>,
    pub absent: Vec<AbsentFields>,
}
