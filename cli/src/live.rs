//! The live side of validation: HubSpot's schemas (and, when configured, Salesforce's describe)
//! read through the project's clients and turned into the domain's types.

use std::collections::HashMap;

use anyhow::Context as _;
use clap::Args as ClapArgs;
use sfhs_core::mapping::schema::HsObject;
use sfhs_core::mapping::validate::{Live, Source, validate_live};
use sfhs_core::mapping::{FindParentBy, Mapping, Problem};
use sfhs_hubspot::{ApiVersion, ClientConfig, HubSpotClient, SecretToken};

/// Where the live schemas come from.
#[derive(Debug, Clone, ClapArgs)]
pub struct LiveArgs {
    /// HubSpot API base URL (a simulator's URL for local runs).
    #[arg(long, global = true, env = "SFHS_HUBSPOT_BASE_URL", default_value = "https://api.hubapi.com")]
    pub hubspot_url: String,
    /// HubSpot private-app token or service key. Unset: no live HubSpot checks.
    #[arg(long, global = true, env = "SFHS_HUBSPOT_TOKEN", hide_env_values = true)]
    pub hubspot_token: Option<String>,
    /// HubSpot API version: 2026-09, 2026-03 or legacy.
    #[arg(long, global = true, env = "SFHS_HUBSPOT_API_VERSION", default_value = "2026-09")]
    pub hubspot_api_version: ApiVersion,
    /// Salesforce standard objects that HubSpot's own integration syncs (associations to them are
    /// allowed), comma-separated.
    #[arg(long, global = true, env = "SFHS_NATIVE_SYNCED_OBJECTS", value_delimiter = ',', default_value = "Account,Contact,Lead,Opportunity")]
    pub native_synced: Vec<String>,
    /// Skip every live check.
    #[arg(long, global = true)]
    pub offline: bool,
}

/// Connected clients.
pub struct Sources {
    hubspot: Option<HubSpotClient>,
    native_synced: Vec<String>,
}

impl Sources {
    pub fn connect(args: &LiveArgs) -> anyhow::Result<Self> {
        let hubspot = match (&args.hubspot_token, args.offline) {
            (Some(token), false) => {
                let mut config = ClientConfig::new(&args.hubspot_url, SecretToken::new(token));
                config.api_version = args.hubspot_api_version;
                Some(HubSpotClient::new(config).context("cannot build the HubSpot client")?)
            }
            _ => None,
        };
        Ok(Self {
            hubspot,
            native_synced: args.native_synced.clone(),
        })
    }

    pub fn is_configured(&self) -> bool {
        self.hubspot.is_some()
    }

    pub fn hubspot(&self) -> Option<&HubSpotClient> {
        self.hubspot.as_ref()
    }

    async fn hubspot_object(&self, cache: &mut HashMap<String, Option<HsObject>>, reference: &str) -> anyhow::Result<Option<HsObject>> {
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

    /// Every live problem of every mapping.
    pub async fn check(&self, files: &[(String, Mapping)]) -> anyhow::Result<Vec<Problem>> {
        let mut cache = HashMap::new();
        let all: Vec<Source<'_>> = files.iter().map(|(file, mapping)| Source { file, mapping }).collect();
        let mut problems = Vec::new();
        for source in &all {
            let m = source.mapping;
            let hubspot = self.hubspot_object(&mut cache, &m.hubspot_object).await?;
            let mut targets = Vec::new();
            for a in &m.associations {
                if let Some(t) = self.hubspot_object(&mut cache, &a.to).await? {
                    targets.push(t);
                }
                if let FindParentBy::Mapping(_) = &a.find_parent_by {
                    // The parent's mapping is checked offline; its HubSpot object is `to`.
                }
            }
            let live = Live {
                hubspot: hubspot.as_ref(),
                salesforce: None,
                association_targets: &targets,
                natively_synced: &self.native_synced,
                outbound_fields: None,
            };
            problems.extend(validate_live(source, &live, &all));
        }
        Ok(problems)
    }
}
