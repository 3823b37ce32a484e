//! `sfhs mappings preview` and `sfhs mappings schema-generate`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args as ClapArgs;
use futures::TryStreamExt as _;
use serde_json::{Value, json};
use sfhs_core::mapping::properties::properties;
use sfhs_core::mapping::schema::{HsObject, SfObject};
use sfhs_core::mapping::{FindParentBy, Mapping, OnDelete};
use sfhs_core::outbound::{DEFAULT_MAX_BODY_BYTES, parse};
use sfhs_hubspot::HubSpotClient;

use crate::live::Sources;

#[derive(Debug, ClapArgs)]
pub struct PreviewArgs {
    /// The Salesforce object whose mapping to preview.
    pub object: String,
    /// Read the mapping from this directory of files instead of the applied mappings.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Sample records from an outbound-message file (as Salesforce POSTs it).
    #[arg(long, conflicts_with = "limit")]
    pub from_outbound: Option<PathBuf>,
    /// Sample records from Salesforce: the newest N (`SELECT ... LIMIT N`).
    #[arg(long)]
    pub limit: Option<u32>,
}

/// Sample records: record id -> field values (`None` = null).
type Sample = Vec<(String, BTreeMap<String, Option<String>>)>;

async fn sample_records(
    sources: &Sources,
    mapping: &Mapping,
    args: &PreviewArgs,
) -> anyhow::Result<Sample> {
    if let Some(file) = &args.from_outbound {
        let body =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let message = parse(&body, DEFAULT_MAX_BODY_BYTES)
            .with_context(|| format!("{} is not a valid outbound message", file.display()))?;
        return Ok(message
            .notifications
            .into_iter()
            .filter(|n| n.sobject.eq_ignore_ascii_case(&mapping.salesforce_object))
            .map(|n| (n.record_id, n.fields.into_iter().collect()))
            .collect());
    }
    let Some(limit) = args.limit else {
        return Ok(Vec::new());
    };
    let Some(client) = sources.salesforce() else {
        bail!("--limit reads Salesforce: set SFHS_SALESFORCE_LOGIN_URL and its credentials");
    };
    let mut fields: Vec<&str> = vec!["Id", mapping.version_field.as_str()];
    fields.extend(mapping.fields.iter().map(|f| f.salesforce.as_str()));
    fields.extend(mapping.associations.iter().map(|a| a.lookup.as_str()));
    fields.dedup();
    let soql = format!(
        "SELECT {} FROM {} ORDER BY {} DESC LIMIT {limit}",
        fields.join(", "),
        mapping.salesforce_object,
        mapping.version_field
    );
    let records: Vec<_> = client
        .query(&soql, sfhs_salesforce::QueryOptions::default())
        .try_collect()
        .await
        .with_context(|| format!("query failed: {soql}"))?;
    Ok(records
        .into_iter()
        .map(|r| {
            let id = r.get("Id").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let values = r
                .iter()
                .filter(|(k, _)| k.as_str() != "attributes")
                .map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    };
                    (k.clone(), v)
                })
                .collect();
            (id, values)
        })
        .collect())
}

fn describe_mapping(m: &Mapping) {
    let state = m.state.as_str();
    let deletes = match m.on_delete {
        OnDelete::Archive => "archived in HubSpot",
        OnDelete::Keep => "kept in HubSpot",
    };
    println!(
        "{} -> {} (upsert key {}, versions by {}, deletes {deletes}, {state})",
        m.salesforce_object, m.hubspot_object, m.id_property, m.version_field
    );
    for f in &m.fields {
        let mut extra = Vec::new();
        if !f.value_map.is_empty() {
            let pairs: Vec<String> = f
                .value_map
                .iter()
                .map(|(from, to)| format!("\"{from}\" becomes \"{to}\""))
                .collect();
            extra.push(pairs.join(", "));
        }
        if let Some(d) = &f.default {
            extra.push(format!("\"{d}\" when Salesforce has no value"));
        }
        println!(
            "  {} -> {}{}",
            f.salesforce,
            f.hubspot,
            if extra.is_empty() { String::new() } else { format!("  ({})", extra.join(", ")) }
        );
    }
    for a in &m.associations {
        let how = match &a.find_parent_by {
            FindParentBy::Mapping(o) => format!("the parent synced by the {o} mapping"),
            FindParentBy::Property(p) => format!("the {} whose {p} is the lookup's value", a.to),
        };
        println!(
            "  {} => association to {} ({how}){}",
            a.lookup,
            a.to,
            a.label.as_deref().map(|l| format!(", label \"{l}\"")).unwrap_or_default()
        );
    }
}

pub async fn preview(
    mapping: Mapping,
    sources: &Sources,
    args: &PreviewArgs,
    json_out: bool,
) -> anyhow::Result<ExitCode> {
    let Some(hubspot) = sources.hubspot() else {
        bail!(
            "preview converts values with the HubSpot schema: set SFHS_HUBSPOT_TOKEN (and SFHS_HUBSPOT_BASE_URL for a simulator)"
        );
    };
    let hs = sfhs_hubspot::domain::describe(hubspot, &mapping.hubspot_object)
        .await?
        .with_context(|| format!("HubSpot has no object {}", mapping.hubspot_object))?;
    let sf = sources.salesforce_object(&mapping.salesforce_object).await?;
    let records = sample_records(sources, &mapping, args).await?;
    let (inputs, problems) = convert(&mapping, &hs, sf.as_ref(), &records);
    let changes = changes(hubspot, &hs, &mapping, &inputs).await?;
    let request = json!({"inputs": inputs});
    if json_out {
        println!(
            "{}",
            json!({"mapping": mapping, "request": request, "changes": changes, "problems": problems})
        );
    } else {
        describe_mapping(&mapping);
        println!("\n{} sample record(s)", records.len());
        for c in &changes {
            println!(
                "  {}  {}",
                c["change"].as_str().unwrap_or_default(),
                c["record_id"].as_str().unwrap_or_default()
            );
        }
        for p in &problems {
            println!(
                "  error  {}: {}",
                p["record_id"].as_str().unwrap_or_default(),
                p["problem"].as_str().unwrap_or_default()
            );
        }
        println!("\nPOST {}/{}/batch/upsert", hubspot.objects_path(), hs.object_type_id);
        println!("{}", serde_json::to_string_pretty(&request)?);
    }
    Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The sample records as the upsert's inputs, and the values that cannot be converted.
fn convert(
    mapping: &Mapping,
    hs: &HsObject,
    sf: Option<&SfObject>,
    records: &Sample,
) -> (Vec<Value>, Vec<Value>) {
    let mut inputs = Vec::new();
    let mut problems = Vec::new();
    for (id, values) in records {
        match properties(mapping, hs, sf, id, |name| {
            values
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_deref())
        }) {
            Ok(props) => inputs
                .push(json!({"id": id, "idProperty": mapping.id_property, "properties": props})),
            Err(errors) => problems.extend(
                errors
                    .into_iter()
                    .map(|e| json!({"record_id": id, "problem": e.to_string(), "value": e.value})),
            ),
        }
    }
    (inputs, problems)
}

/// Create, update or unchanged per input, from what HubSpot holds now.
async fn changes(
    hubspot: &HubSpotClient,
    hs: &HsObject,
    mapping: &Mapping,
    inputs: &[Value],
) -> anyhow::Result<Vec<Value>> {
    let ids: Vec<String> =
        inputs.iter().filter_map(|i| i["id"].as_str().map(str::to_owned)).collect();
    let names: Vec<&str> = mapping.fields.iter().map(|f| f.hubspot.as_str()).collect();
    let existing = if ids.is_empty() {
        BTreeMap::new()
    } else {
        hubspot
            .batch_read(&hs.object_type_id, &ids, Some(&mapping.id_property), &names)
            .await
            .context("cannot read the current HubSpot records")?
            .successes
            .into_iter()
            .filter_map(|r| r.get(&mapping.id_property).map(str::to_owned).map(|id| (id, r)))
            .collect::<BTreeMap<_, _>>()
    };
    Ok(inputs
        .iter()
        .map(|i| {
            let id = i["id"].as_str().unwrap_or_default();
            let change = match existing.get(id) {
                None => "create",
                Some(current) => {
                    let same = i["properties"].as_object().is_some_and(|p| {
                        p.iter().all(|(k, v)| {
                            current.get(k).unwrap_or_default() == v.as_str().unwrap_or_default()
                        })
                    });
                    if same { "unchanged" } else { "update" }
                }
            };
            json!({"record_id": id, "change": change})
        })
        .collect())
}
