//! Clients of the simulators that `sfhs dev` and `sfhs demo` start, with the simulators' one set
//! of credentials (`sfhs_salesforce_sim::DEFAULT_CLIENT_ID`, `sfhs_hubspot_sim::DEFAULT_TOKEN`).

use anyhow::Context as _;
use sfhs_hubspot::{ClientConfig, HubSpotClient, SecretToken};
use sfhs_salesforce_sim::{OutboundTiming, SeedSize, Sim, SimBuilder};

/// The Salesforce client of the simulated org at `base_url` (client credentials).
pub fn salesforce_client(base_url: &str) -> anyhow::Result<sfhs_salesforce::Client> {
    Ok(sfhs_salesforce::Client::new(sfhs_salesforce::Config::new(
        sfhs_salesforce::LoginUrl::Custom(base_url.to_owned()),
        sfhs_salesforce::Credentials::ClientCredentials {
            client_id: sfhs_salesforce_sim::DEFAULT_CLIENT_ID.into(),
            client_secret: sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET.into(),
        },
    ))?)
}

/// The HubSpot client of the simulated portal at `base_url`.
pub fn hubspot_client(base_url: &str) -> anyhow::Result<HubSpotClient> {
    Ok(HubSpotClient::new(ClientConfig::new(
        base_url,
        SecretToken::new(sfhs_hubspot_sim::DEFAULT_TOKEN),
    ))?)
}

/// The Salesforce simulator seeded with `accounts` and `invoices` (two lines each), its
/// outbound messages' timing scaled a thousand times (a retry an hour later comes in 3.6 s); its
/// outbound messages and flows are deployed from the mappings later.
pub async fn salesforce_org(accounts: usize, invoices: usize) -> anyhow::Result<Sim> {
    SimBuilder::new()
        .seed_size(SeedSize { accounts, invoices, lines: invoices * 2, shipments: 0 })
        .outbound_timing(OutboundTiming::scaled(1000.0))
        .start()
        .await
        .context("Salesforce simulator")
}
