//! Stage 5, associate: make the associations of written upserts follow their lookups. An
//! unchanged lookup does nothing; a changed one archives the old association and creates the new
//! one; a cleared one archives the old one; a parent not synced yet leaves the child waiting.

use std::collections::{BTreeMap, HashMap};

use super::batch::Batch;
use super::chunks::CHUNK;
use super::context::Context;
use super::job::{Job, field_value};
use super::parents::{LookupSlot, resolve_parents};
use crate::mapping::FindParentBy;
use crate::sync::RecordKey;
use crate::sync::ports::{
    AssociationKind, Between, ErrorCategory, ParentLink, WriteErrorKind, WriteFailure,
};
use crate::work_item::Op;

/// An association a written job's lookup may change: its new parent (Salesforce id, none when
/// cleared) and the old one's HubSpot id.
struct Need {
    slot: LookupSlot,
    new: Option<String>,
    old: Option<String>,
    /// Written again even to the same HubSpot parent: a catch-up or undelete item, whose parent
    /// may have been archived (HubSpot drops an archived record's associations) and restored
    /// under the same id. Creating an association that exists changes nothing.
    relink: bool,
}

/// An association to archive.
struct Unlink {
    child: String,
    parent: String,
    job: usize,
}

/// An association to create.
struct Link {
    child: String,
    parent: String,
    slot: LookupSlot,
}

/// (from object, to object) -> associations to archive.
type Unlinks = BTreeMap<(String, String), Vec<Unlink>>;
/// (from object, to object, label) -> associations to create.
type Links = BTreeMap<(String, String, Option<String>), Vec<Link>>;

pub(super) async fn associate(ctx: &Context, batch: &mut Batch) {
    let needs = needs(&mut batch.jobs);
    if needs.is_empty() {
        return;
    }
    // Batch-local HubSpot ids, by ledger key: parents written in this batch.
    let local: HashMap<RecordKey, String> = batch
        .jobs
        .iter()
        .filter(|j| j.item.op == Op::Upsert)
        .filter_map(|j| Some((j.key.clone(), j.written_as()?.1?.to_owned())))
        .collect();
    let wanted: Vec<(LookupSlot, String)> =
        needs.iter().filter_map(|n| n.new.clone().map(|p| (n.slot, p))).collect();
    let found = resolve_parents(ctx, &batch.jobs, &wanted, &local, &mut batch.report).await;
    let mut resolved: HashMap<LookupSlot, Option<String>> = HashMap::new();
    for (slot, parent) in wanted {
        match found.get(&slot) {
            Some(Ok(id)) => {
                resolved.insert(slot, id.clone());
            }
            Some(Err(e)) => {
                batch.jobs[slot.job].retry(format!("finding parent {parent} failed: {e}"))
            }
            None => batch.jobs[slot.job].retry(format!("finding parent {parent} failed")),
        }
    }
    let (unlinks, links) = plan(&mut batch.jobs, &needs, &resolved);
    unlink(ctx, batch, unlinks).await;
    link(ctx, batch, links).await;
}

/// The lookups of written upserts that may change an association. Lookups whose association
/// exists (made with the record, or unchanged since the last version) are carried over.
fn needs(jobs: &mut [Job]) -> Vec<Need> {
    let mut needs = Vec::new();
    for (i, j) in jobs.iter_mut().enumerate() {
        if j.item.op != Op::Upsert {
            continue;
        }
        let Some((lease, hubspot_id)) = j.written_as() else {
            continue;
        };
        let prior = &lease.prior;
        let same_record = !prior.deleted && prior.hubspot_id.as_deref() == hubspot_id;
        // A catch-up item finds its parents again: one may have been archived and created anew
        // in HubSpot (an undelete), under another HubSpot id than the ledger remembers.
        let refind = matches!(
            j.item.source,
            crate::work_item::Source::CatchUp | crate::work_item::Source::Undelete
        );
        let mut carried = Vec::new();
        for (a, am) in j.mapping.mapping.associations.iter().enumerate() {
            let prior = same_record.then(|| prior.parents.get(&am.lookup)).flatten();
            // Salesforce leaves null fields out of outbound messages: absent is null, when the
            // message is known to send the lookup; otherwise the association stays as it is.
            let Some(new) = j.lookup_sent(&am.lookup) else {
                if let Some(p) = prior {
                    carried.push((am.lookup.clone(), p.clone()));
                }
                continue;
            };
            // Made with the record by `create`.
            if let (Some(done), Some(n)) = (j.parents.get(&am.lookup), &new)
                && done.salesforce_id == *n
                && done.hubspot_id.is_some()
            {
                continue;
            }
            if let (Some(p), Some(n)) = (prior, &new)
                && p.salesforce_id == *n
                && p.hubspot_id.is_some()
                && !refind
            {
                carried.push((am.lookup.clone(), p.clone()));
                continue;
            }
            needs.push(Need {
                slot: LookupSlot { job: i, assoc: a },
                new,
                old: prior.and_then(|p| p.hubspot_id.clone()),
                relink: refind,
            });
        }
        j.parents.extend(carried);
    }
    needs
}

/// What to archive and create; parents not synced yet leave their child waiting.
fn plan(
    jobs: &mut [Job],
    needs: &[Need],
    resolved: &HashMap<LookupSlot, Option<String>>,
) -> (Unlinks, Links) {
    let mut unlinks = Unlinks::new();
    let mut links = Links::new();
    for n in needs {
        let j = &mut jobs[n.slot.job];
        let Some((_, Some(child))) = j.written_as() else {
            continue;
        };
        let child = child.to_owned();
        let am = j.mapping.mapping.associations[n.slot.assoc].clone();
        let new_hs = resolved.get(&n.slot).cloned().flatten();
        if let Some(old) = &n.old
            && new_hs.as_ref() != Some(old)
        {
            unlinks.entry((j.hs_object().to_owned(), am.to.clone())).or_default().push(Unlink {
                child: child.clone(),
                parent: old.clone(),
                job: n.slot.job,
            });
        }
        let Some(parent) = &n.new else {
            continue;
        };
        match new_hs {
            None => {
                j.waiting_for.push(format!("{} {parent}", am.lookup));
                if let FindParentBy::Mapping(object) = &am.find_parent_by {
                    j.awaits.push(RecordKey::new(object, parent));
                }
                let link = ParentLink { salesforce_id: parent.clone(), hubspot_id: None };
                j.parents.insert(am.lookup.clone(), link);
            }
            // Same HubSpot parent (the lookup's id changed form): nothing to do.
            Some(p) if n.old.as_ref() == Some(&p) && !n.relink => {
                let link = ParentLink { salesforce_id: parent.clone(), hubspot_id: Some(p) };
                j.parents.insert(am.lookup.clone(), link);
            }
            Some(p) => links
                .entry((j.hs_object().to_owned(), am.to.clone(), am.label.clone()))
                .or_default()
                .push(Link { child, parent: p, slot: n.slot }),
        }
    }
    (unlinks, links)
}

async fn unlink(ctx: &Context, batch: &mut Batch, unlinks: Unlinks) {
    for ((from, to), pairs) in unlinks {
        for chunk in pairs.chunks(CHUNK) {
            let p: Vec<(String, String)> =
                chunk.iter().map(|u| (u.child.clone(), u.parent.clone())).collect();
            match ctx.hubspot.unassociate(Between { from: &from, to: &to }, &p).await {
                Ok(()) => batch.report.associations_removed += p.len() as u64,
                Err(e) => {
                    ctx.daily.note(&e, &mut batch.report);
                    for u in chunk {
                        batch.jobs[u.job]
                            .retry(format!("removing the old association failed: {e}"));
                    }
                }
            }
        }
    }
}

async fn link(ctx: &Context, batch: &mut Batch, links: Links) {
    for ((from, to, label), pairs) in links {
        for chunk in pairs.chunks(CHUNK) {
            let p: Vec<(String, String)> =
                chunk.iter().map(|l| (l.child.clone(), l.parent.clone())).collect();
            match ctx
                .hubspot
                .associate(
                    AssociationKind {
                        between: Between { from: &from, to: &to },
                        label: label.as_deref(),
                    },
                    &p,
                )
                .await
            {
                Ok(failures) => {
                    for l in chunk {
                        let failure = failures
                            .iter()
                            .find(|((c, p), _)| *c == l.child && *p == l.parent)
                            .map(|(_, f)| f);
                        linked(batch, l, failure);
                    }
                }
                Err(e) => {
                    ctx.daily.note(&e, &mut batch.report);
                    for l in chunk {
                        let j = &mut batch.jobs[l.slot.job];
                        match e.kind {
                            WriteErrorKind::Permanent { category } => {
                                j.fail(category, None, None, format!("association failed: {e}"));
                            }
                            _ => j.retry(format!("association failed: {e}")),
                        }
                    }
                }
            }
        }
    }
}

/// One association's answer: made (the parent is recorded), back to the queue, or an error
/// record for the written job.
fn linked(batch: &mut Batch, l: &Link, failure: Option<&WriteFailure>) {
    let j = &mut batch.jobs[l.slot.job];
    let lookup = j.mapping.mapping.associations[l.slot.assoc].lookup.clone();
    let sf_parent = field_value(&j.item, &lookup)
        .cloned()
        .flatten()
        .or_else(|| {
            j.lease()
                .and_then(|lease| lease.prior.parents.get(&lookup))
                .map(|p| p.salesforce_id.clone())
        })
        .unwrap_or_default();
    match failure {
        None => {
            batch.report.associations_created += 1;
            let link = ParentLink { salesforce_id: sf_parent, hubspot_id: Some(l.parent.clone()) };
            j.parents.insert(lookup, link);
        }
        Some(f) if f.retryable => j.retry(f.message.clone()),
        Some(f) => {
            j.fail(ErrorCategory::Association, Some(lookup), Some(sf_parent), f.message.clone())
        }
    }
}
