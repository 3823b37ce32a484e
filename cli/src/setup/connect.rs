//! The first screen: both credentials checked, and who and where they are.

use anyhow::Context as _;
use sfhs_hubspot::HubSpotClient;

/// The two ends, connected.
pub struct Ends {
    pub salesforce: sfhs_salesforce::Client,
    pub hubspot: HubSpotClient,
    /// The standard objects HubSpot's own integration syncs (`--native-synced`): lookups to
    /// them may be associations.
    pub native_synced: Vec<String>,
    /// The portal's id (`p{portal}_` of its custom objects).
    pub portal_id: u64,
    /// What was found, as lines for people.
    pub said: Vec<String>,
}

pub async fn connect(live: &crate::live::LiveArgs) -> anyhow::Result<Ends> {
    let salesforce = live.salesforce()?.context(
        "no Salesforce org: set SFHS_SALESFORCE_LOGIN_URL, SFHS_SALESFORCE_CLIENT_ID and its credentials (docs/mappings.md)",
    )?;
    let hubspot = live.hubspot_client()?.context(
        "no HubSpot portal: set SFHS_HUBSPOT_TOKEN (a private app's token, docs/mappings.md)",
    )?;
    let token = salesforce.token().await.context("Salesforce refused the credentials")?;
    let org = token.org_id().unwrap_or("(not named by the token)").to_owned();
    let account = hubspot
        .account_details()
        .await
        .context("HubSpot refused the token (it needs the crm.schemas and crm.objects scopes)")?;
    let said = vec![
        format!(
            "Salesforce: org {org} at {} (API {})",
            token.instance_url,
            salesforce.config().api_version
        ),
        format!(
            "HubSpot: portal {} ({}{})",
            account.portal_id,
            account.account_type.as_deref().unwrap_or("account"),
            account
                .data_hosting_location
                .as_deref()
                .map(|l| format!(", data in {l}"))
                .unwrap_or_default()
        ),
    ];
    Ok(Ends {
        salesforce,
        hubspot,
        native_synced: live.native_synced.clone(),
        portal_id: account.portal_id,
        said,
    })
}
