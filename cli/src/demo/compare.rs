//! Step 5 of the demo: HubSpot compared with Salesforce, record by record: every mapped
//! property as the mapping turns the Salesforce record into it, every association as the
//! lookup names it, and no HubSpot record whose Salesforce record is gone.

use std::collections::BTreeMap;

use anyhow::Context as _;
use serde_json::{Value, json};
use sfhs_core::import::records::fields_of;
use sfhs_core::mapping::properties::properties;
use sfhs_core::mapping::schema::{HsObject, SfObject};
use sfhs_core::mapping::{AssociationMapping, FindParentBy, Mapping};
use sfhs_salesforce_sim::SimHandle;

use super::stage::Stage;

/// What the comparison found.
#[derive(Debug, Default)]
pub(super) struct Comparison {
    pub compared: usize,
    /// Associations found as their lookups name them (records without a parent not counted).
    pub associations_checked: usize,
    pub mismatches: Vec<String>,
}

/// One mapping's records on both sides.
struct Sides<'a> {
    mapping: &'a Mapping,
    hs_object: HsObject,
    /// HubSpot's records by their Salesforce id.
    in_hubspot: BTreeMap<String, Value>,
    /// The Salesforce record ids.
    ids: Vec<String>,
}

pub(super) async fn compare(
    stage: &Stage,
    mappings: &[Mapping],
    describes: &BTreeMap<String, SfObject>,
) -> anyhow::Result<Comparison> {
    let mut found = Comparison::default();
    let handle = stage.sf.handle();
    for m in mappings {
        let hs_object = sfhs_hubspot::domain::describe(&stage.client, &m.hubspot_object)
            .await?
            .context("HubSpot object")?;
        let in_hubspot: BTreeMap<String, Value> = stage
            .hs
            .records(&hs_object.object_type_id)
            .into_iter()
            .filter_map(|r| {
                r["properties"][&m.id_property].as_str().map(|id| (id.to_owned(), r.clone()))
            })
            .collect();
        let sides =
            Sides { mapping: m, hs_object, in_hubspot, ids: stage.sf.ids(&m.salesforce_object) };
        records(&sides, &handle, describes, &mut found)?;
        for am in &m.associations {
            associations(stage, &sides, am, mappings, &handle, &mut found).await?;
        }
        let extra = sides
            .in_hubspot
            .iter()
            .filter(|(id, r)| r["archived"] != json!(true) && !sides.ids.contains(id))
            .count();
        if extra > 0 {
            found.mismatches.push(format!(
                "{}: {extra} HubSpot records whose Salesforce record is gone",
                m.salesforce_object
            ));
        }
    }
    Ok(found)
}

/// Each Salesforce record in HubSpot, live, with every property the mapping makes of it.
fn records(
    sides: &Sides<'_>,
    handle: &SimHandle,
    describes: &BTreeMap<String, SfObject>,
    found: &mut Comparison,
) -> anyhow::Result<()> {
    let m = sides.mapping;
    for id in &sides.ids {
        found.compared += 1;
        let Some(row) = handle.get(&m.salesforce_object, id) else {
            continue;
        };
        let raw: serde_json::Map<String, Value> = row.into_iter().collect();
        let fields = fields_of(&raw);
        let expected =
            properties(m, &sides.hs_object, describes.get(&m.salesforce_object), id, |name| {
                fields
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .and_then(|(_, v)| v.as_deref())
            })
            .map_err(|e| {
                let problems: Vec<String> = e.iter().map(ToString::to_string).collect();
                anyhow::anyhow!("{id}: {}", problems.join("; "))
            })?;
        let Some(record) = sides.in_hubspot.get(id) else {
            found.mismatches.push(format!("{} {id}: missing in HubSpot", m.salesforce_object));
            continue;
        };
        if record["archived"] == json!(true) {
            found.mismatches.push(format!("{} {id}: archived in HubSpot", m.salesforce_object));
        }
        for (name, want) in &expected {
            let got = record["properties"][name].as_str().unwrap_or_default();
            if got != want && !same_number(got, want) {
                found.mismatches.push(format!(
                    "{} {id}: {name} is \"{got}\" in HubSpot, \"{want}\" expected",
                    m.salesforce_object
                ));
            }
        }
    }
    Ok(())
}

/// Each live record linked to exactly the parent its lookup names (none when it is empty).
async fn associations(
    stage: &Stage,
    sides: &Sides<'_>,
    am: &AssociationMapping,
    mappings: &[Mapping],
    handle: &SimHandle,
    found: &mut Comparison,
) -> anyhow::Result<()> {
    let m = sides.mapping;
    let parents = parents_by_key(stage, am, mappings)?;
    let live: Vec<(&String, String)> = sides
        .ids
        .iter()
        .filter_map(|id| {
            let r = sides.in_hubspot.get(id)?;
            (r["archived"] != json!(true))
                .then(|| r["id"].as_str().map(|h| (id, h.to_owned())))
                .flatten()
        })
        .collect();
    let hs_ids: Vec<String> = live.iter().map(|(_, h)| h.clone()).collect();
    let linked =
        stage.client.read_associations(&sides.hs_object.object_type_id, &am.to, &hs_ids).await?;
    for (id, hs_id) in &live {
        let lookup = handle.get(&m.salesforce_object, id).and_then(|row| {
            let raw: serde_json::Map<String, Value> = row.into_iter().collect();
            fields_of(&raw)
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&am.lookup))
                .and_then(|(_, v)| v)
                .filter(|v| !v.is_empty())
        });
        let want: Vec<String> =
            lookup.as_ref().and_then(|v| parents.get(v)).cloned().into_iter().collect();
        let mut got = linked.get(hs_id).cloned().unwrap_or_default();
        got.sort();
        if got != want {
            found.mismatches.push(format!(
                "{} {id}: associated with {} in HubSpot, {} expected ({} = {})",
                m.salesforce_object,
                ids_text(&got),
                ids_text(&want),
                am.lookup,
                lookup.as_deref().unwrap_or("empty")
            ));
        } else if !want.is_empty() {
            found.associations_checked += 1;
        }
    }
    Ok(())
}

/// The association's live HubSpot parents by the value that finds them (the parent mapping's id
/// property, or the property named).
fn parents_by_key(
    stage: &Stage,
    am: &AssociationMapping,
    mappings: &[Mapping],
) -> anyhow::Result<BTreeMap<String, String>> {
    let parent_key = match &am.find_parent_by {
        FindParentBy::Mapping(object) => mappings
            .iter()
            .find(|p| p.salesforce_object.eq_ignore_ascii_case(object))
            .map(|p| p.id_property.clone())
            .with_context(|| format!("no mapping of {object}"))?,
        FindParentBy::Property(property) => property.clone(),
    };
    Ok(stage
        .hs
        .records(&am.to)
        .into_iter()
        .filter(|r| r["archived"] != json!(true))
        .filter_map(|r| {
            Some((r["properties"][&parent_key].as_str()?.to_owned(), r["id"].as_str()?.to_owned()))
        })
        .collect())
}

/// HubSpot record ids for people: `none`, or the ids separated by commas.
fn ids_text(ids: &[String]) -> String {
    if ids.is_empty() { "none".to_owned() } else { ids.join(", ") }
}

/// Numbers compare by value (`10.50` in Salesforce is `10.5` in HubSpot).
fn same_number(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() < 1e-9,
        _ => false,
    }
}
