//! Stage 3, convert: Salesforce values -> HubSpot properties for claimed upserts (fields a
//! message is not known to send are left out, invariant 9), the content digest, and the
//! unchanged check (invariant 10).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::batch::Batch;
use super::context::Context;
use super::job::{Job, JobState, field_value, not_known_sent};
use super::report::BatchReport;
use crate::mapping::schema::HsObject;
use crate::mapping::value::{ConversionError, convert as convert_value, infer_sf_type};
use crate::sync::digest::content_digest;
use crate::sync::ports::{ErrorCategory, WriteError, WriteErrorKind};
use crate::work_item::{Source, WorkItem};

type Schemas = HashMap<String, Result<Option<Arc<HsObject>>, WriteError>>;

/// A conversion's failure: (category, Salesforce field, value, message).
type Problem = (ErrorCategory, String, Option<String>, String);

pub(super) async fn convert(ctx: &Context, batch: &mut Batch) {
    let schemas = schemas(ctx, batch).await;
    for j in batch.jobs.iter_mut().filter(|j| j.upsert_in_progress()) {
        let Some(object) = schema_of(j, &schemas) else {
            continue;
        };
        match properties(j, &object, &mut batch.report) {
            Err((category, field, value, message)) => {
                j.fail(category, Some(field), value, message);
            }
            Ok(props) => {
                let prior = j.claimed().map(|l| &l.prior.parents);
                for a in &j.mapping.mapping.associations {
                    if j.lookup_sent(&a.lookup).is_none() {
                        batch.report.fields_not_sent += 1;
                        tracing::warn!(object = %j.mapping.mapping.salesforce_object, field = %a.lookup, "lookup not in the outbound message and not known to be sent by it: association left as it is (run `sfhs salesforce apply`)");
                    }
                }
                // A lookup the message says nothing of keeps its association: the digest holds
                // the parent HubSpot keeps.
                j.digest = Some(content_digest(
                    j.hs_object(),
                    &props,
                    &j.mapping.mapping.associations,
                    |a| {
                        j.lookup_sent(&a.lookup).unwrap_or_else(|| {
                            prior.and_then(|p| p.get(&a.lookup)).map(|p| p.salesforce_id.clone())
                        })
                    },
                ));
                j.properties = props;
            }
        }
    }
}

/// The schema of each HubSpot object the batch's upserts write.
async fn schemas(ctx: &Context, batch: &Batch) -> Schemas {
    let mut objects: Vec<String> = batch
        .jobs
        .iter()
        .filter(|j| j.upsert_in_progress())
        .map(|j| j.hs_object().to_owned())
        .collect();
    objects.sort();
    objects.dedup();
    let mut schemas = Schemas::new();
    for o in objects {
        let s = ctx.schemas.get(ctx.hubspot.as_ref(), &o, ctx.config.schema_ttl).await;
        schemas.insert(o, s);
    }
    schemas
}

/// The job's HubSpot object, or the job fails (object gone) or goes back (schema unavailable).
fn schema_of(j: &mut Job, schemas: &Schemas) -> Option<Arc<HsObject>> {
    match schemas.get(j.hs_object()) {
        Some(Ok(Some(o))) => return Some(o.clone()),
        Some(Ok(None)) => {
            let msg = format!(
                "HubSpot object {} does not exist (deleted or renamed?); fix the mapping and replay",
                j.hs_object()
            );
            j.fail(ErrorCategory::NotFound, None, None, msg);
        }
        Some(Err(e)) => match e.kind {
            WriteErrorKind::Permanent { category } => j.fail(category, None, None, e.to_string()),
            _ => j.retry(format!("HubSpot schema unavailable: {e}")),
        },
        None => j.retry("HubSpot schema unavailable"),
    }
    None
}

/// The HubSpot properties of a job, the id property included.
fn properties(
    j: &Job,
    object: &HsObject,
    report: &mut BatchReport,
) -> Result<BTreeMap<String, String>, Problem> {
    let mut props = BTreeMap::new();
    props.insert(j.id_property().to_owned(), j.item.record_id.clone());
    for rule in &j.mapping.mapping.fields {
        // Salesforce leaves null fields out of outbound messages: absent is null (the
        // property is cleared, or gets the field's default), but only when the message
        // is known to send the field. Otherwise the property is left as it is and the
        // gap reported (invariant 9).
        let sent = field_value(&j.item, &rule.salesforce);
        if sent.is_none() && not_known_sent(&j.item, &j.mapping, &rule.salesforce) {
            report.fields_not_sent += 1;
            tracing::warn!(object = %j.mapping.mapping.salesforce_object, field = %rule.salesforce, property = %rule.hubspot, "field not in the outbound message and not known to be sent by it: HubSpot property left as it is (run `sfhs salesforce apply`)");
            continue;
        }
        let value = sent.cloned().flatten();
        let Some(prop) = object.property(&rule.hubspot) else {
            return Err((
                ErrorCategory::NotFound,
                rule.salesforce.clone(),
                value,
                format!(
                    "HubSpot property {} of {} does not exist (deleted?); restore it or fix the mapping, then replay",
                    rule.hubspot,
                    j.hs_object()
                ),
            ));
        };
        let sf = infer_sf_type(prop, value.as_deref());
        match convert_value(value.as_deref(), &sf, prop, rule) {
            Ok(v) => {
                props.insert(rule.hubspot.clone(), v);
            }
            Err(e) => {
                return Err((
                    conversion_category(&e),
                    rule.salesforce.clone(),
                    value,
                    format!("{} -> {}: {e}", rule.salesforce, rule.hubspot),
                ));
            }
        }
    }
    Ok(props)
}

fn conversion_category(e: &ConversionError) -> ErrorCategory {
    match e {
        ConversionError::NotAnOption { .. } => ErrorCategory::Picklist,
        _ => ErrorCategory::Validation,
    }
}

/// Whether a work item is written even when HubSpot holds its content already: a reconcile
/// repairs what was changed by hand in HubSpot; `import start --force` rewrites everything; a
/// catch-up item is something the push missed (its associations are found again).
fn rewrites(item: &WorkItem) -> bool {
    matches!(
        item.source,
        Source::Reconcile | Source::Import { force: true, .. } | Source::CatchUp | Source::Undelete
    )
}

/// Invariant 10: a record whose new version converts to what the ledger last wrote (same
/// digest, nothing pending) is not written again; it is committed at its new version.
pub(super) fn skip_unchanged(batch: &mut Batch) {
    for j in batch.jobs.iter_mut().filter(|j| j.upsert_in_progress() && !rewrites(&j.item)) {
        let JobState::Claimed(lease) = &j.state else {
            continue;
        };
        let p = &lease.prior;
        if j.digest.is_some()
            && p.digest == j.digest
            && !p.deleted
            && !p.waiting
            && p.hubspot_id.is_some()
        {
            j.parents = p.parents.clone();
            j.unchanged();
            batch.report.unchanged += 1;
        }
    }
}
