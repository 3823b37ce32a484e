//! Finding parents: the HubSpot ids of the records lookups name, for the create (part of the
//! write stage) and the associate stage. Written in this batch, from the ledger (`find_parent_by:
//! mapping`), or by a HubSpot property (remembered in the process and in the ledger, then
//! searched, batched).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use super::context::{Context, ParentByProperty};
use super::job::Job;
use super::report::BatchReport;
use crate::mapping::FindParentBy;
use crate::sync::{ByProperty, ParentKey, RecordKey};

/// How long a parent found by a property is remembered in the ledger for every worker (a
/// parent merged or deleted in HubSpot meanwhile fails its association, which is an error
/// record to replay once the memory has expired).
const PARENT_MEMORY: Duration = Duration::from_secs(24 * 3600);

/// Which association of which job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct LookupSlot {
    pub(super) job: usize,
    pub(super) assoc: usize,
}

/// Per slot: `Ok(Some(id))` found, `Ok(None)` not synced yet, `Err` the lookup itself failed.
pub(super) type FoundParents = HashMap<LookupSlot, Result<Option<String>, String>>;

/// (HubSpot object, property) -> the values to find.
type PropertyLookups = BTreeMap<(String, String), Vec<String>>;

/// HubSpot ids of the parents `wanted` names (Salesforce ids); `local`: HubSpot ids of records
/// written in this batch, by ledger key.
pub(super) async fn resolve_parents(
    ctx: &Context,
    jobs: &[Job],
    wanted: &[(LookupSlot, String)],
    local: &HashMap<RecordKey, String>,
    report: &mut BatchReport,
) -> FoundParents {
    let (mut ledger_keys, by_property) = plan(ctx, jobs, wanted, local);
    ledger_keys.sort();
    ledger_keys.dedup();
    let from_ledger = if ledger_keys.is_empty() {
        Ok(HashMap::new())
    } else {
        ctx.ledger.get_many(&ledger_keys).await
    };
    let property_errors = find_by_property(ctx, by_property, report).await;
    let mut out = FoundParents::with_capacity(wanted.len());
    for (slot, parent) in wanted {
        let am = &jobs[slot.job].mapping.mapping.associations[slot.assoc];
        let id = match &am.find_parent_by {
            FindParentBy::Mapping(obj) => {
                let k = RecordKey::new(obj, parent);
                match (local.get(&k), &from_ledger) {
                    (Some(h), _) => Ok(Some(h.clone())),
                    (None, Ok(m)) => {
                        Ok(m.get(&k).filter(|e| !e.deleted).and_then(|e| e.hubspot_id.clone()))
                    }
                    (None, Err(e)) => Err(e.to_string()),
                }
            }
            FindParentBy::Property(prop) => {
                match property_errors.get(&(am.to.clone(), prop.clone())) {
                    Some(e) => Err(e.clone()),
                    None => Ok(ctx.parents.get(&(am.to.clone(), prop.clone(), parent.clone()))),
                }
            }
        };
        out.insert(*slot, id);
    }
    out
}

/// What to read: ledger keys of parents by mapping not written in this batch, and the values
/// to find by property that this process does not know yet.
fn plan(
    ctx: &Context,
    jobs: &[Job],
    wanted: &[(LookupSlot, String)],
    local: &HashMap<RecordKey, String>,
) -> (Vec<RecordKey>, PropertyLookups) {
    let mut ledger_keys: Vec<RecordKey> = Vec::new();
    let mut by_property = PropertyLookups::new();
    for (slot, parent) in wanted {
        let am = &jobs[slot.job].mapping.mapping.associations[slot.assoc];
        match &am.find_parent_by {
            FindParentBy::Mapping(obj) => {
                let k = RecordKey::new(obj, parent);
                if !local.contains_key(&k) {
                    ledger_keys.push(k);
                }
            }
            FindParentBy::Property(prop) => {
                let memo_key: ParentByProperty = (am.to.clone(), prop.clone(), parent.clone());
                if !ctx.parents.contains(&memo_key) {
                    by_property
                        .entry((am.to.clone(), prop.clone()))
                        .or_default()
                        .push(parent.clone());
                }
            }
        }
    }
    (ledger_keys, by_property)
}

/// Finds parents by property: what any worker found before (the ledger: no search after a cold
/// start), then HubSpot's search for the rest, remembered for the others. Returns the searches
/// that failed, by (object, property).
async fn find_by_property(
    ctx: &Context,
    by_property: PropertyLookups,
    report: &mut BatchReport,
) -> HashMap<(String, String), String> {
    let mut errors = HashMap::new();
    let keys: Vec<ParentKey> = by_property
        .iter()
        .flat_map(|((to, prop), values)| values.iter().map(|v| ParentKey::new(to, prop, v)))
        .collect();
    let remembered = if keys.is_empty() {
        HashMap::new()
    } else {
        ctx.ledger.get_parents(&keys).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "remembered parents unavailable; searching HubSpot");
            HashMap::new()
        })
    };
    for ((to, prop), mut values) in by_property {
        values.sort();
        values.dedup();
        let (known, missing): (Vec<String>, Vec<String>) = values
            .into_iter()
            .partition(|v| remembered.contains_key(&ParentKey::new(&to, &prop, v)));
        ctx.parents.remember(known.into_iter().map(|v| {
            let h = remembered[&ParentKey::new(&to, &prop, &v)].clone();
            ((to.clone(), prop.clone(), v), h)
        }));
        if missing.is_empty() {
            continue;
        }
        // One search at a time: what another batch found meanwhile is not searched again.
        let _searching = ctx.parents.searching().await;
        let missing: Vec<String> = missing
            .into_iter()
            .filter(|v| !ctx.parents.contains(&(to.clone(), prop.clone(), v.clone())))
            .collect();
        if missing.is_empty() {
            continue;
        }
        match ctx.hubspot.find_by_property(ByProperty::new(&to, &prop), &missing).await {
            Ok(found) => {
                let remember: Vec<(ParentKey, String)> =
                    found.iter().map(|(v, h)| (ParentKey::new(&to, &prop, v), h.clone())).collect();
                ctx.parents
                    .remember(found.into_iter().map(|(v, id)| ((to.clone(), prop.clone(), v), id)));
                if !remember.is_empty()
                    && let Err(e) = ctx.ledger.put_parents(&remember, PARENT_MEMORY).await
                {
                    tracing::warn!(error = %e, "could not remember the parents found");
                }
            }
            Err(e) => {
                ctx.daily.note(&e, report);
                errors.insert((to, prop), e.to_string());
            }
        }
    }
    errors
}
