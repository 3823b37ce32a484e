//! Part of the write stage: records HubSpot has never had from this ledger, created with their
//! associations in one call per 100 records instead of an upsert and an association call.

use std::collections::HashMap;

use super::batch::Batch;
use super::chunks::{WriteCall, chunk_calls, send_chunks, settle};
use super::context::Context;
use super::job::{Job, lookup_value};
use super::parents::{LookupSlot, resolve_parents};
use crate::sync::ports::{ByProperty, CreateRecord, NewAssociation, ParentLink, Writes};

/// An association a record is created with: its mapping's index, the parent's ids.
struct CreatedLink {
    assoc: usize,
    salesforce_id: String,
    hubspot_id: String,
}

/// Creates new records (no HubSpot id, no tombstone) whose parents are all known. Records it
/// cannot create this way stay in progress for the upsert: parents not found yet, a refused
/// value (the upsert reports it), or a whole call refused because HubSpot had some of them
/// already (then the object's records are upserted for a while).
pub(super) async fn create_new(ctx: &Context, batch: &mut Batch) {
    let candidates = candidates(ctx, &batch.jobs);
    if candidates.is_empty() {
        return;
    }
    let mut wanted: Vec<(LookupSlot, String)> = Vec::new();
    for &i in &candidates {
        let j = &batch.jobs[i];
        for (a, am) in j.mapping.mapping.associations.iter().enumerate() {
            if let Some(parent) = lookup_value(&j.item, &am.lookup) {
                wanted.push((LookupSlot { job: i, assoc: a }, parent));
            }
        }
    }
    let found =
        resolve_parents(ctx, &batch.jobs, &wanted, &HashMap::new(), &mut batch.report).await;
    let mut links: HashMap<usize, Vec<CreatedLink>> = HashMap::new();
    let mut blocked: Vec<usize> = Vec::new();
    for (slot, parent) in wanted {
        match found.get(&slot) {
            Some(Ok(Some(h))) => links.entry(slot.job).or_default().push(CreatedLink {
                assoc: slot.assoc,
                salesforce_id: parent,
                hubspot_id: h.clone(),
            }),
            _ => blocked.push(slot.job),
        }
    }
    let creatable: Vec<usize> = candidates.into_iter().filter(|i| !blocked.contains(i)).collect();
    let calls = chunk_calls(&batch.jobs, &creatable, |i, j| CreateRecord {
        id: j.item.record_id.clone(),
        properties: j.properties.clone(),
        associations: new_associations(j, links.get(&i)),
    });
    let hubspot = &ctx.hubspot;
    let answers = send_chunks(ctx, calls, |object, id_property, records| async move {
        hubspot.create(Writes { by: ByProperty::new(&object, &id_property), records }).await
    })
    .await;
    settle(ctx, batch, WriteCall::Create, answers);
    for (i, made) in links {
        let j = &mut batch.jobs[i];
        if j.written_as().is_none() {
            continue;
        }
        for l in made {
            let lookup = j.mapping.mapping.associations[l.assoc].lookup.clone();
            batch.report.associations_created += 1;
            let link =
                ParentLink { salesforce_id: l.salesforce_id, hubspot_id: Some(l.hubspot_id) };
            j.parents.insert(lookup, link);
        }
    }
}

/// Claimed upserts of records the ledger never wrote, of objects not backing off.
fn candidates(ctx: &Context, jobs: &[Job]) -> Vec<usize> {
    let backoff = ctx.create_backoff.current();
    jobs.iter()
        .enumerate()
        .filter(|(_, j)| {
            j.upsert_in_progress()
                && j.claimed().is_some_and(|l| l.prior.hubspot_id.is_none() && !l.prior.deleted)
                && !backoff.iter().any(|o| o == j.hs_object())
        })
        .map(|(i, _)| i)
        .collect()
}

fn new_associations(j: &Job, links: Option<&Vec<CreatedLink>>) -> Vec<NewAssociation> {
    let am = &j.mapping.mapping.associations;
    links
        .into_iter()
        .flatten()
        .map(|l| NewAssociation {
            to: am[l.assoc].to.clone(),
            to_id: l.hubspot_id.clone(),
            label: am[l.assoc].label.clone(),
        })
        .collect()
}
