//! `sfhs dev`'s two ends: a real org or the Salesforce simulator (sending its outbound messages
//! here), a token's portal or the HubSpot simulator made to look like one.

use anyhow::Context as _;
use sfhs_core::mapping::Mapping;
use sfhs_hubspot::HubSpotClient;
use sfhs_hubspot_sim::{HubSpotSim, RunningSim};
use sfhs_local::LocalStore;
use sfhs_salesforce_sim::Sim;

use super::{Args, step};
use crate::demo::simulated_portal;

/// Both ends, and what to call them for people.
pub(super) struct Ends {
    pub sf_client: sfhs_salesforce::Client,
    /// The Salesforce simulator, when no org is configured (kept running while dev runs).
    pub sf_sim: Option<Sim>,
    pub salesforce: String,
    pub client: HubSpotClient,
    /// The HubSpot simulator, when no token is given (kept running while dev runs).
    pub _hs_sim: Option<RunningSim>,
    pub hubspot: String,
    /// The orgs allowed to send: the connected org (read from its token response) and
    /// `--org-id`.
    pub org_ids: Vec<String>,
}

impl Ends {
    pub async fn connect(
        args: &Args,
        mappings: &[Mapping],
        store: &LocalStore,
    ) -> anyhow::Result<Self> {
        let (sf_client, sf_sim, salesforce) = match args.live.salesforce()? {
            Some(client) => (client, None, "your org (SFHS_SALESFORCE_LOGIN_URL)".to_owned()),
            None => {
                let sim = crate::simulated::salesforce_org(10, args.invoices).await?;
                let client = crate::simulated::salesforce_client(sim.base_url())?;
                let url = format!("the simulator at {}", sim.base_url());
                (client, Some(sim), url)
            }
        };
        let connected = sf_client.org_id().await.with_context(|| {
            format!(
                "reading the org id of {salesforce} (its outbound messages are the ones accepted)"
            )
        })?;
        let mut org_ids = vec![connected];
        org_ids.extend(args.org_ids.iter().cloned());
        let (client, hs_sim, hubspot) = match args.live.hubspot_client()? {
            Some(client) => (client, None, args.live.hubspot_url.clone()),
            None => {
                let accounts = sf_sim.as_ref().map(|s| s.ids("Account")).unwrap_or_default();
                let (client, sim) =
                    simulated_hubspot(&sf_client, mappings, &accounts, store).await?;
                let url = format!("the simulator at {}", sim.base_url());
                (client, Some(sim), url)
            }
        };
        Ok(Self { sf_client, sf_sim, salesforce, client, _hs_sim: hs_sim, hubspot, org_ids })
    }
}

/// A HubSpot simulator with the mappings' objects created from the describe and the accounts as
/// companies. Its records are new, so the ledger's HubSpot ids are let go of (queued messages
/// stay).
async fn simulated_hubspot(
    sf_client: &sfhs_salesforce::Client,
    mappings: &[Mapping],
    accounts: &[String],
    store: &LocalStore,
) -> anyhow::Result<(HubSpotClient, RunningSim)> {
    let sim = HubSpotSim::builder().start().await.context("HubSpot simulator")?;
    let client = crate::simulated::hubspot_client(&sim.base_url())?;
    let objects: Vec<&str> = mappings.iter().map(|m| m.salesforce_object.as_str()).collect();
    step("the HubSpot simulator starts empty: creating the objects from the describe");
    simulated_portal(&client, &sim.base_url(), sf_client, &objects, accounts, &|line| {
        step(line.trim())
    })
    .await?;
    let cleared = store.reset_ledger()?;
    if cleared > 0 {
        step(&format!(
            "the records ledger is reset ({cleared} entries pointed into the previous simulator); queued messages are kept"
        ));
    }
    Ok((client, sim))
}
