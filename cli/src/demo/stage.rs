//! The demo's stage: both simulators, the in-memory world and the webhook serving it; and a
//! fresh HubSpot simulator made to look like a customer's portal (also `sfhs dev`'s).

use std::collections::BTreeMap;

use anyhow::Context as _;
use serde_json::{Value, json};
use sfhs_core::app::{self, WebhookSettings};
use sfhs_core::mapping::generate::{hubspot_schema, object_name};
use sfhs_core::mapping::schema::SfObject;
use sfhs_core::memory::MemoryWorld;
use sfhs_core::outbound::DEFAULT_MAX_BODY_BYTES;
use sfhs_core::queue::PublishPolicy;
use sfhs_hubspot::HubSpotClient;
use sfhs_hubspot_sim::{HubSpotSim, RunningSim};
use sfhs_salesforce_sim::Sim;

pub(crate) const EXAMPLE_MAPPINGS: [(&str, &str); 2] = [
    ("invoice.yaml", include_str!("../../../examples/mappings/invoice.yaml")),
    ("invoice_line.yaml", include_str!("../../../examples/mappings/invoice_line.yaml")),
];

/// The objects the demo syncs, parents first.
pub(super) const OBJECTS: [&str; 2] = ["Invoice__c", "Invoice_Line__c"];

/// What the demo runs on.
pub(super) struct Stage {
    pub hs: RunningSim,
    pub sf: Sim,
    pub client: HubSpotClient,
    pub sf_client: sfhs_salesforce::Client,
    pub world: MemoryWorld,
    pub webhook_url: String,
}

impl Stage {
    /// Starts HubSpot's simulator, the webhook on the in-memory live queue, and Salesforce's
    /// simulator seeded with `invoices` (its outbound messages are set up from the mappings
    /// later).
    pub async fn start(invoices: usize) -> anyhow::Result<Self> {
        let hs = HubSpotSim::builder().start().await.context("HubSpot simulator")?;
        let client = crate::simulated::hubspot_client(&hs.base_url())?;
        let world = MemoryWorld::new();
        let webhook_url = serve_webhook(app::webhook(
            WebhookSettings {
                allowed_org_ids: vec![sfhs_salesforce_sim::DEFAULT_ORG_ID.to_owned()],
                url_secret: None,
                secret_param: "secret".to_owned(),
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
                publish: PublishPolicy::default(),
            },
            world.live.clone(),
        ))
        .await?;
        let sf = crate::simulated::salesforce_org(20, invoices).await?;
        let sf_client = crate::simulated::salesforce_client(sf.base_url())?;
        println!(
            "HubSpot simulator {}, Salesforce simulator {}, webhook {webhook_url}",
            hs.base_url(),
            sf.base_url()
        );
        Ok(Self { hs, sf, client, sf_client, world, webhook_url })
    }

    /// Step 1: the HubSpot objects from the describes, and the org's accounts as companies.
    pub async fn portal(&self) -> anyhow::Result<BTreeMap<String, SfObject>> {
        simulated_portal(
            &self.client,
            &self.hs.base_url(),
            &self.sf_client,
            &OBJECTS,
            &self.sf.ids("Account"),
            &|line| println!("{line}"),
        )
        .await
    }

    pub async fn shutdown(self) {
        self.sf.shutdown().await;
        self.hs.shutdown().await;
    }
}

async fn serve_webhook(webhook: app::Webhook) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/outbound", listener.local_addr()?);
    let router = crate::webhook::router(webhook, crate::webhook::Report::Quiet);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(url)
}

/// Makes a fresh HubSpot simulator look like a customer's portal for `objects`: a custom object
/// per Salesforce object, created from its describe (lookups to objects created before become
/// association types), and companies for `accounts` as HubSpot's own Salesforce integration
/// keeps them (`salesforceaccountid`). Returns the describes.
pub(crate) async fn simulated_portal(
    client: &HubSpotClient,
    hubspot_base_url: &str,
    sf_client: &sfhs_salesforce::Client,
    objects: &[&str],
    accounts: &[String],
    say: &dyn Fn(&str),
) -> anyhow::Result<BTreeMap<String, SfObject>> {
    let mut describes = BTreeMap::new();
    let mut created_types: BTreeMap<String, String> = BTreeMap::new();
    for object in objects {
        let d = sfhs_salesforce::domain::describe(sf_client, object)
            .await?
            .with_context(|| format!("Salesforce has no object {object}"))?;
        let mut schema = hubspot_schema(&d, &object_name(object));
        for target in d.fields.iter().flat_map(|f| f.reference_to.iter()) {
            if let (Some(type_id), Some(list)) =
                (created_types.get(target), schema["associatedObjects"].as_array_mut())
            {
                list.push(json!(type_id));
            }
        }
        let created = client.create_schema(&schema).await?;
        created_types.insert((*object).to_owned(), created.object_type_id.clone());
        say(&format!(
            "   {object} -> {} ({})",
            created.fully_qualified_name.as_deref().unwrap_or(&created.name),
            created.object_type_id
        ));
        describes.insert((*object).to_owned(), d);
    }
    let inputs: Vec<Value> = accounts
        .iter()
        .map(|a| json!({"properties": {"name": format!("Account {a}"), "salesforceaccountid": a}}))
        .collect();
    let http = reqwest::Client::new();
    for chunk in inputs.chunks(100) {
        http.post(format!("{hubspot_base_url}/crm/objects/2026-09/companies/batch/create"))
            .bearer_auth(sfhs_hubspot_sim::DEFAULT_TOKEN)
            .json(&json!({ "inputs": chunk }))
            .send()
            .await?
            .error_for_status()?;
    }
    say(&format!("   {} companies synced by HubSpot's own integration", accounts.len()));
    Ok(describes)
}
