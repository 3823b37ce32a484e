//! `sfhs mappings schema-generate`: a HubSpot custom object from a Salesforce describe (printed,
//! or created with the associations its lookups need), or a starter mapping file for it.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args as ClapArgs;
use sfhs_core::mapping::generate::{
    hubspot_schema, lookup_targets, object_name, starter_associations, starter_mapping,
};
use sfhs_core::mapping::schema::SfObject;
use sfhs_hubspot::{HubSpotClient, ObjectSchema};

use crate::live::Sources;

#[derive(Debug, ClapArgs)]
pub struct GenerateArgs {
    /// The Salesforce object to build a HubSpot custom object from.
    pub object: String,
    /// HubSpot object name (default: from the Salesforce name, `Invoice__c` -> `invoice`).
    #[arg(long)]
    pub name: Option<String>,
    /// Create the object in HubSpot (otherwise the schema is only printed).
    #[arg(long)]
    pub create: bool,
    /// Print a starter mapping file (YAML) for the object instead of the schema.
    #[arg(long)]
    pub mapping: bool,
}

pub async fn generate(
    sources: &Sources,
    args: &GenerateArgs,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    let sf = sources
        .salesforce_object(&args.object)
        .await?
        .with_context(|| {
            if sources.salesforce().is_some() {
                format!("Salesforce has no object {}", args.object)
            } else {
                "schema-generate reads Salesforce's describe: set SFHS_SALESFORCE_LOGIN_URL and its credentials".to_owned()
            }
        })?;
    let name = args.name.clone().unwrap_or_else(|| object_name(&sf.name));
    if !args.mapping && !args.create {
        println!("{}", serde_json::to_string_pretty(&hubspot_schema(&sf, &name))?);
        return Ok(ExitCode::SUCCESS);
    }
    // The portal's objects: what the mapping names, what --create finds or associates with.
    let portal = match sources.hubspot() {
        Some(h) => h.schemas().await?,
        None => Vec::new(),
    };
    if args.mapping {
        print!("{}", serde_norway::to_string(&mapping(&sf, &name, &portal))?);
        return Ok(ExitCode::SUCCESS);
    }
    let Some(hubspot) = sources.hubspot() else {
        bail!("--create writes to HubSpot: set SFHS_HUBSPOT_TOKEN");
    };
    create(hubspot, &sf, &name, &portal, json_out).await
}

/// The HubSpot custom object the schema generator made for Salesforce object `object`.
pub fn generated<'a>(portal: &'a [ObjectSchema], object: &str) -> Option<&'a ObjectSchema> {
    let name = object_name(object);
    portal.iter().find(|s| s.name == name)
}

/// The starter mapping: the portal's object when it exists (else a placeholder to replace),
/// every property, and the lookups whose parents HubSpot has.
pub fn mapping(sf: &SfObject, name: &str, portal: &[ObjectSchema]) -> sfhs_core::mapping::Mapping {
    let target = portal
        .iter()
        .find(|s| s.name == name)
        .and_then(|s| s.fully_qualified_name.clone())
        .unwrap_or_else(|| format!("p{{portal}}_{name}"));
    let associations = starter_associations(sf, |object| {
        generated(portal, object).and_then(|s| s.fully_qualified_name.clone())
    });
    starter_mapping(sf, &target, associations)
}

/// What [`ensure_object`] did.
pub struct Ensured {
    pub schema: ObjectSchema,
    /// Created now (else it existed).
    pub created: bool,
    /// The generated objects it is associated with (fully qualified names).
    pub associated: Vec<String>,
    /// Salesforce objects its lookups point to that have no HubSpot object yet.
    pub waiting: Vec<String>,
}

async fn create(
    hubspot: &HubSpotClient,
    sf: &SfObject,
    name: &str,
    portal: &[ObjectSchema],
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    let e = ensure_object(hubspot, sf, name, portal).await?;
    report(&e.schema, e.created, &e.associated, &e.waiting, json_out)?;
    Ok(ExitCode::SUCCESS)
}

/// Creates the object (or finds it, created before) and the associations to the generated
/// objects its lookups point to; a lookup whose object has none yet is named, to generate first.
pub async fn ensure_object(
    hubspot: &HubSpotClient,
    sf: &SfObject,
    name: &str,
    portal: &[ObjectSchema],
) -> anyhow::Result<Ensured> {
    let (schema, created) = match portal.iter().find(|s| s.name == name) {
        Some(existing) => (existing.clone(), false),
        None => (
            hubspot
                .create_schema(&hubspot_schema(sf, name))
                .await
                .context("HubSpot refused the schema")?,
            true,
        ),
    };
    let mut associated = Vec::new();
    let mut waiting = Vec::new();
    for target in lookup_targets(sf) {
        if matches!(target, "Account" | "Contact" | "Lead" | "Opportunity" | "Case") {
            continue;
        }
        let Some(parent) = generated(portal, target) else {
            waiting.push(target.to_owned());
            continue;
        };
        let linked = |s: &ObjectSchema, other: &str| {
            s.associations.iter().any(|a| a.to_object_type_id.as_deref() == Some(other))
        };
        if !linked(&schema, &parent.object_type_id) && !linked(parent, &schema.object_type_id) {
            let association = format!("{}_to_{}", schema.name, parent.name);
            hubspot
                .create_schema_association(
                    &schema.object_type_id,
                    &parent.object_type_id,
                    &association,
                )
                .await
                .with_context(|| format!("HubSpot refused the association {association}"))?;
        }
        associated.push(parent.fully_qualified_name.clone().unwrap_or(parent.name.clone()));
    }
    Ok(Ensured { schema, created, associated, waiting })
}

fn report(
    schema: &ObjectSchema,
    created: bool,
    associated: &[String],
    waiting: &[String],
    json_out: bool,
) -> anyhow::Result<()> {
    let fqn = schema.fully_qualified_name.as_deref().unwrap_or(&schema.name);
    if json_out {
        println!(
            "{}",
            serde_json::json!({
                "object": fqn,
                "object_type_id": schema.object_type_id,
                "created": created,
                "associated_with": associated,
                "lookups_without_object": waiting,
            })
        );
        return Ok(());
    }
    if created {
        println!(
            "created {fqn} ({}) with {} properties",
            schema.object_type_id,
            schema.properties.len()
        );
    } else {
        println!("{fqn} ({}) exists already", schema.object_type_id);
    }
    if !associated.is_empty() {
        println!("associated with {}", associated.join(", "));
    }
    for object in waiting {
        println!(
            "{object} has no HubSpot object yet: generate it (`sfhs mappings schema-generate {object} --create`), then run this again to associate them"
        );
    }
    Ok(())
}
