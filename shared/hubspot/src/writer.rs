//! The sync engine's HubSpot port ([`HubSpotWriter`]) on the production client: the engine sees
//! only the domain's types; every client type and error is converted here.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use sfhs_core::mapping::schema::HsObject;
use sfhs_core::sync::{
    AssociationKind, Between, ByProperty, CreateRecord, ErrorCategory, HubSpotWriter, UpsertRecord,
    Upserted, WriteError, WriteErrorKind, WriteFailure, WriteOutcomes, WriterStats, Writes,
};

use crate::client::HubSpotClient;
use crate::error::{Error, RecordFailure};
use crate::types::{AssociationPair, AssociationType, CreateInput, UpsertInput};

/// The category of a refusal, from HubSpot's status and error code.
pub fn category(status: u16, code: Option<&str>, category: Option<&str>) -> ErrorCategory {
    match (status, code, category) {
        (_, Some("INVALID_OPTION"), _) => ErrorCategory::Picklist,
        (_, Some("PROPERTY_DOESNT_EXIST"), _) | (404, _, _) | (_, _, Some("OBJECT_NOT_FOUND")) => {
            ErrorCategory::NotFound
        }
        (401 | 403, _, _) => ErrorCategory::Permission,
        (429, _, _) => ErrorCategory::RateLimit,
        (409, _, _) | (_, _, Some("CONFLICT")) => ErrorCategory::Conflict,
        (400 | 422, _, _) => ErrorCategory::Validation,
        _ => ErrorCategory::Unknown,
    }
}

fn write_error(operation: &'static str, e: Error) -> WriteError {
    let kind = match &e {
        Error::DailyLimit { reset_at, .. } => WriteErrorKind::DailyLimit { reset_at: *reset_at },
        e if e.is_retryable() => WriteErrorKind::Retryable,
        Error::Auth { .. } => WriteErrorKind::Permanent { category: ErrorCategory::Permission },
        e => WriteErrorKind::Permanent {
            category: category(
                e.status().unwrap_or(0),
                e.body().and_then(|b| b.code()).as_deref(),
                e.category(),
            ),
        },
    };
    WriteError { operation, kind, message: e.to_string(), source: Some(Box::new(e)) }
}

/// Each record of each failure, failed as the failure says.
fn note_failures(results: &mut WriteOutcomes, failures: &[RecordFailure]) {
    for f in failures {
        for id in &f.ids {
            results.insert(id.clone(), Err(failure(f)));
        }
    }
}

fn failure(f: &RecordFailure) -> WriteFailure {
    WriteFailure {
        category: category(f.status, f.code.as_deref(), f.category.as_deref()),
        property: f.property.clone(),
        value: f.value.clone(),
        message: f.message.clone(),
        retryable: f.retryable,
    }
}

impl HubSpotClient {
    /// The association type from `from` to `to` with `label` (`None`: the unlabelled type), from
    /// the portal's cached labels.
    async fn association_type(
        &self,
        from: &str,
        to: &str,
        label: Option<&str>,
    ) -> Result<AssociationType, WriteError> {
        let labels = self
            .association_labels(from, to)
            .await
            .map_err(|e| write_error("association labels", e))?;
        let found = labels.iter().find(|l| match (label, l.label.as_deref()) {
            (Some(want), Some(have)) => have.eq_ignore_ascii_case(want),
            (None, None) => true,
            _ => false,
        });
        found.map(AssociationType::from).ok_or_else(|| WriteError {
            operation: "associate",
            kind: WriteErrorKind::Permanent {
                category: ErrorCategory::Association,
            },
            message: match label {
                Some(label) => format!(
                    "HubSpot has no association label {label:?} from {from} to {to}; create it or fix the mapping"
                ),
                None => format!("HubSpot has no unlabelled association type from {from} to {to}"),
            },
            source: None,
        })
    }
}

#[async_trait]
impl HubSpotWriter for HubSpotClient {
    async fn describe(&self, object: &str) -> Result<Option<HsObject>, WriteError> {
        crate::domain::describe(self, object).await.map_err(|e| write_error("describe", e))
    }

    async fn upsert(&self, batch: Writes<'_, UpsertRecord>) -> Result<WriteOutcomes, WriteError> {
        let (object, id_property) = (batch.by.object, batch.by.property);
        let ids: Vec<String> = batch.records.iter().map(|r| r.id.clone()).collect();
        let inputs = batch
            .records
            .into_iter()
            .map(|r| {
                let mut properties = r.properties;
                // Echoed back in the result, which is how results are matched to inputs.
                properties.insert(id_property.to_owned(), r.id.clone());
                UpsertInput { id: r.id, properties }
            })
            .collect();
        let out = self
            .batch_upsert(object, id_property, inputs)
            .await
            .map_err(|e| write_error("batch upsert", e))?;
        let mut results = HashMap::with_capacity(ids.len());
        for rec in out.successes {
            if let Some(id) = rec.get(id_property) {
                results.insert(
                    id.to_owned(),
                    Ok(Upserted { hubspot_id: rec.id.clone(), created: rec.new.unwrap_or(false) }),
                );
            }
        }
        note_failures(&mut results, &out.failures);
        Ok(results)
    }

    async fn create(&self, batch: Writes<'_, CreateRecord>) -> Result<WriteOutcomes, WriteError> {
        let Writes { by, records } = batch;
        let (object, id_property) = (by.object, by.property);
        // The type of each (target object, label), from the cached labels.
        let mut types: HashMap<(String, Option<String>), AssociationType> = HashMap::new();
        for a in records.iter().flat_map(|r| &r.associations) {
            let key = (a.to.clone(), a.label.clone());
            if types.contains_key(&key) {
                continue;
            }
            let ty = self.association_type(object, &a.to, a.label.as_deref()).await?;
            types.insert(key, ty);
        }
        let mut inputs = Vec::with_capacity(records.len());
        for r in records {
            let mut properties = r.properties;
            properties.insert(id_property.to_owned(), r.id.clone());
            let associations = r
                .associations
                .into_iter()
                .filter_map(|a| types.get(&(a.to, a.label)).map(|ty| (a.to_id, *ty)))
                .collect();
            inputs.push(CreateInput { trace: r.id, properties, associations });
        }
        let ids: Vec<String> = inputs.iter().map(|i| i.trace.clone()).collect();
        let out = match self.batch_create(object, inputs).await {
            Ok(out) => out,
            // HubSpot said yes; only its answer surprised the client. What was created is
            // HubSpot's to say: read the records back by their id property (those not there are
            // absent from the result, and the engine sends them again).
            Err(e @ Error::Decode { .. }) => {
                tracing::error!(object, records = ids.len(), error = %e, "HubSpot accepted a create batch with an answer this client cannot read; reading the records back to establish what was created");
                let mut read = self
                    .batch_read(object, &ids, Some(id_property), &[id_property])
                    .await
                    .map_err(|e| write_error("read back after create", e))?;
                read.failures = read
                    .failures
                    .into_iter()
                    .map(|f| RecordFailure::not_found_after_write(f.ids, 200, "create"))
                    .collect();
                read
            }
            Err(e) => return Err(write_error("batch create", e)),
        };
        let mut results = HashMap::new();
        for rec in out.successes {
            let id = rec
                .object_write_trace_id
                .clone()
                .or_else(|| rec.get(id_property).map(str::to_owned));
            if let Some(id) = id {
                results.insert(id, Ok(Upserted { hubspot_id: rec.id.clone(), created: true }));
            }
        }
        note_failures(&mut results, &out.failures);
        Ok(results)
    }

    async fn archive(&self, by: ByProperty<'_>, ids: &[String]) -> Result<(), WriteError> {
        self.batch_archive_by_property(by.object, by.property, ids)
            .await
            .map(|_| ())
            .map_err(|e| write_error("archive", e))
    }

    async fn associate(
        &self,
        kind: AssociationKind<'_>,
        pairs: &[(String, String)],
    ) -> Result<Vec<((String, String), WriteFailure)>, WriteError> {
        let Between { from, to } = kind.between;
        let input: Vec<AssociationPair> =
            pairs.iter().map(|(a, b)| AssociationPair::new(a.clone(), b.clone())).collect();
        let out = match kind.label {
            None => self.batch_associate_default(from, to, &input).await,
            Some(label) => {
                let ty = self.association_type(from, to, Some(label)).await?;
                self.batch_associate(from, to, &input, &[ty]).await
            }
        }
        .map_err(|e| write_error("associate", e))?;
        if out.failures.is_empty() {
            return Ok(Vec::new());
        }
        let done: HashSet<(&str, &str)> =
            out.successes.iter().map(|p| (p.from_id.as_str(), p.to_id.as_str())).collect();
        let first = out.failures.first().map(failure);
        Ok(pairs
            .iter()
            .filter(|(a, b)| !done.contains(&(a.as_str(), b.as_str())))
            .map(|p| {
                let mut f = first.clone().unwrap_or(WriteFailure {
                    category: ErrorCategory::Association,
                    property: None,
                    value: None,
                    message: "association refused".into(),
                    retryable: false,
                });
                if f.category != ErrorCategory::Permission {
                    f.category = ErrorCategory::Association;
                }
                (p.clone(), f)
            })
            .collect())
    }

    async fn unassociate(
        &self,
        between: Between<'_>,
        pairs: &[(String, String)],
    ) -> Result<(), WriteError> {
        let input: Vec<AssociationPair> =
            pairs.iter().map(|(a, b)| AssociationPair::new(a.clone(), b.clone())).collect();
        self.batch_archive_associations(between.from, between.to, &input)
            .await
            .map_err(|e| write_error("archive associations", e))
    }

    async fn find_by_property(
        &self,
        by: ByProperty<'_>,
        values: &[String],
    ) -> Result<HashMap<String, String>, WriteError> {
        let ByProperty { object, property } = by;
        let found = self
            .search_by_property(object, property, values, &[property])
            .await
            .map_err(|e| write_error("search", e))?;
        Ok(found
            .into_iter()
            .filter_map(|r| r.get(property).map(|v| (v.to_owned(), r.id.clone())))
            .collect())
    }

    async fn all_values(&self, by: ByProperty<'_>) -> Result<HashMap<String, String>, WriteError> {
        let ByProperty { object, property } = by;
        let records =
            self.list_all(object, &[property]).await.map_err(|e| write_error("list records", e))?;
        Ok(records
            .into_iter()
            .filter_map(|r| r.get(property).map(|v| (v.to_owned(), r.id.clone())))
            .collect())
    }

    fn stats(&self) -> WriterStats {
        let s = HubSpotClient::stats(self);
        WriterStats { calls: s.requests, rate_limited: s.rate_limited }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_value_held_elsewhere_is_a_conflict_not_a_bad_value() {
        assert_eq!(category(409, None, Some("CONFLICT")), ErrorCategory::Conflict);
        assert_eq!(category(409, None, None), ErrorCategory::Conflict);
        assert_eq!(category(400, None, Some("VALIDATION_ERROR")), ErrorCategory::Validation);
        assert_eq!(
            category(400, Some("INVALID_OPTION"), Some("VALIDATION_ERROR")),
            ErrorCategory::Picklist
        );
    }
}
