//! Clients of the simulators that `sfhs dev` and `sfhs demo` start, with the simulators' one set
//! of credentials (`sfhs_salesforce_sim::DEFAULT_CLIENT_ID`, `sfhs_hubspot_sim::DEFAULT_TOKEN`).

use sfhs_hubspot::{ClientConfig, HubSpotClient, SecretToken};

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
