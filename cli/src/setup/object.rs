//! One object's screens, answered: the HubSpot object (created from the describe, with the
//! associations its lookups need, or an existing one), the delete rule, the lookups kept as
//! associations, the field pairs, the state. A mapping written before is the starting point.

use anyhow::bail;
use sfhs_core::mapping::Mapping;
use sfhs_core::mapping::generate::{ID_PROPERTY, object_name, starter_associations};
use sfhs_core::mapping::propose::propose_fields;
use sfhs_core::mapping::schema::SfObject;
use sfhs_hubspot::{HubSpotClient, ObjectSchema};

use super::answers::ObjectAnswers;
use super::connect::Ends;
use crate::generate::{ensure_object, generated, mapping as starter};

/// One object's mapping, and what was done for it, as lines for people.
pub struct Built {
    pub mapping: Mapping,
    pub done: Vec<String>,
}

pub async fn build(
    ends: &Ends,
    sf: &SfObject,
    answers: &ObjectAnswers,
    existing: Option<Mapping>,
) -> anyhow::Result<Built> {
    let hubspot = &ends.hubspot;
    let mut done = Vec::new();
    let (schema, portal) = hubspot_object(hubspot, sf, answers, &mut done).await?;
    let fqn = schema.fully_qualified_name.clone().unwrap_or_else(|| schema.name.clone());
    let generated_here = schema.name == object_name(&sf.name);
    let mut m = match existing {
        Some(m) => {
            done.push("started from the mapping file written before".to_owned());
            m
        }
        None if generated_here => starter(sf, &schema.name, &portal),
        None => proposed_for_existing(hubspot, sf, &schema, &portal, &mut done).await?,
    };
    m.hubspot_object = fqn;
    m.on_delete = answers.on_delete;
    m.state = answers.state;
    m.associations = associations(&m, sf, &portal, answers, &ends.native_synced);
    if let Some(keep) = &answers.fields {
        m.fields.retain(|f| keep.iter().any(|k| k.eq_ignore_ascii_case(&f.salesforce)));
    }
    Ok(Built { mapping: m, done })
}

/// The HubSpot object the answers name (`new`: generated, created now or before), and the
/// portal's objects after it.
async fn hubspot_object(
    hubspot: &HubSpotClient,
    sf: &SfObject,
    answers: &ObjectAnswers,
    done: &mut Vec<String>,
) -> anyhow::Result<(ObjectSchema, Vec<ObjectSchema>)> {
    let portal = hubspot.schemas().await?;
    if answers.hubspot.eq_ignore_ascii_case("new") {
        let e = ensure_object(hubspot, sf, &object_name(&sf.name), &portal).await?;
        let fqn = e.schema.fully_qualified_name.clone().unwrap_or_default();
        done.push(if e.created {
            format!(
                "created the HubSpot object {fqn} from the describe ({} properties)",
                e.schema.properties.len()
            )
        } else {
            format!("the HubSpot object {fqn} exists (generated before)")
        });
        if !e.associated.is_empty() {
            done.push(format!("associated with {}", e.associated.join(", ")));
        }
        let portal = hubspot.schemas().await?;
        return Ok((e.schema, portal));
    }
    let wanted = &answers.hubspot;
    let Some(schema) = portal.iter().find(|s| {
        s.name.eq_ignore_ascii_case(wanted)
            || s.object_type_id == *wanted
            || s.fully_qualified_name.as_deref().is_some_and(|f| f.eq_ignore_ascii_case(wanted))
    }) else {
        let names: Vec<&str> =
            portal.iter().filter_map(|s| s.fully_qualified_name.as_deref()).collect();
        bail!(
            "HubSpot has no object {wanted} for {} (its custom objects: {}); answer `new` to create one from the describe",
            sf.name,
            if names.is_empty() { "none".to_owned() } else { names.join(", ") }
        );
    };
    done.push(format!(
        "maps to the existing HubSpot object {}",
        schema.fully_qualified_name.as_deref().unwrap_or(&schema.name)
    ));
    Ok((schema.clone(), portal))
}

/// A mapping into an object made by hand: the property holding the Salesforce id (a unique one
/// named for it), and the fields paired by name and type ([`propose_fields`]), each field or
/// required property left out said.
async fn proposed_for_existing(
    hubspot: &HubSpotClient,
    sf: &SfObject,
    schema: &ObjectSchema,
    portal: &[ObjectSchema],
    done: &mut Vec<String>,
) -> anyhow::Result<Mapping> {
    let fqn = schema.fully_qualified_name.as_deref().unwrap_or(&schema.name);
    let Some(hs) = sfhs_hubspot::domain::describe(hubspot, fqn).await? else {
        bail!("HubSpot has no object {fqn}");
    };
    let id_property = hs
        .properties
        .iter()
        .filter(|p| p.has_unique_value && !p.read_only)
        .map(|p| p.name.as_str())
        .find(|n| n.contains("salesforce") || n.replace('_', "") == "sfid")
        .unwrap_or(ID_PROPERTY)
        .to_owned();
    let proposal = propose_fields(sf, &hs, &id_property);
    done.push(format!(
        "{} field(s) paired with {fqn}'s properties by name and type; the Salesforce id in {id_property}",
        proposal.fields.len()
    ));
    done.extend(proposal.unmapped.iter().map(|u| format!("not mapped: {u}")));
    let mut m = starter(sf, &schema.name, portal);
    m.id_property = id_property;
    m.fields = proposal.fields;
    Ok(m)
}

/// The lookups kept as associations: the proposed ones the answers keep (to a standard object
/// only when HubSpot's own integration syncs it), and any the mapping had that were not
/// proposed (written by hand).
fn associations(
    m: &Mapping,
    sf: &SfObject,
    portal: &[ObjectSchema],
    answers: &ObjectAnswers,
    native_synced: &[String],
) -> Vec<sfhs_core::mapping::AssociationMapping> {
    let proposed = starter_associations(sf, |object| {
        generated(portal, object).and_then(|s| s.fully_qualified_name.clone())
    });
    let syncs = |lookup: &str| {
        sf.field(lookup).and_then(|f| f.reference_to.first()).is_none_or(|target| {
            !matches!(target.as_str(), "Account" | "Contact")
                || native_synced.iter().any(|n| n.eq_ignore_ascii_case(target))
        })
    };
    let mut out: Vec<_> = proposed
        .into_iter()
        .filter(|a| answers.associations.keeps(&a.lookup) && syncs(&a.lookup))
        .collect();
    for a in &m.associations {
        if !out.iter().any(|o| o.lookup.eq_ignore_ascii_case(&a.lookup))
            && answers.associations.keeps(&a.lookup)
        {
            out.push(a.clone());
        }
    }
    out
}
