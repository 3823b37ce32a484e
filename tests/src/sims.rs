//! The environment the `sfhs` binary reads to reach the simulators, with their one set of
//! credentials (`sfhs_salesforce_sim::DEFAULT_CLIENT_*`, `sfhs_hubspot_sim::DEFAULT_TOKEN`).

/// `SFHS_SALESFORCE_*` for the simulated org at `base_url` (client credentials).
pub fn salesforce_env(base_url: &str) -> [(&'static str, String); 3] {
    [
        ("SFHS_SALESFORCE_LOGIN_URL", base_url.to_owned()),
        ("SFHS_SALESFORCE_CLIENT_ID", sfhs_salesforce_sim::DEFAULT_CLIENT_ID.to_owned()),
        ("SFHS_SALESFORCE_CLIENT_SECRET", sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET.to_owned()),
    ]
}

/// `SFHS_HUBSPOT_*` for the simulated portal at `base_url`.
pub fn hubspot_env(base_url: &str) -> [(&'static str, String); 2] {
    [
        ("SFHS_HUBSPOT_BASE_URL", base_url.to_owned()),
        ("SFHS_HUBSPOT_TOKEN", sfhs_hubspot_sim::DEFAULT_TOKEN.to_owned()),
    ]
}

/// A Salesforce client of the simulated org at `base_url` (client credentials).
pub fn salesforce_client(
    base_url: &str,
) -> Result<sfhs_salesforce::Client, sfhs_salesforce::Error> {
    sfhs_salesforce::Client::new(sfhs_salesforce::Config::new(
        sfhs_salesforce::LoginUrl::Custom(base_url.to_owned()),
        sfhs_salesforce::Credentials::ClientCredentials {
            client_id: sfhs_salesforce_sim::DEFAULT_CLIENT_ID.into(),
            client_secret: sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET.into(),
        },
    ))
}

/// A Salesforce reader of the simulated org at `base_url` (client credentials), as the import
/// function reads it.
pub fn salesforce_reader(
    base_url: &str,
) -> Result<std::sync::Arc<sfhs_salesforce::ClientReader>, sfhs_salesforce::Error> {
    Ok(std::sync::Arc::new(sfhs_salesforce::ClientReader::new(salesforce_client(base_url)?)))
}
