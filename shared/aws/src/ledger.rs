//! DynamoDB adapters of the sync engine's ledger (the records table) and errors table. Both
//! tables are keyed by `pk` (S), on demand.
//!
//! Records table item: `pk` = `{sobject lowercased}#{record id}`, `version` (N, epoch ms),
//! `hubspot_id` (S), `parents` (S, JSON `{lookup: {salesforce_id, hubspot_id?}}`), `deleted`
//! (BOOL, the tombstone), `waiting` (BOOL), `lease_owner` (S), `lease_until` (N, epoch ms),
//! `updated_at` (S).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::BuildError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, PutRequest, ReturnValue,
    ReturnValuesOnConditionCheckFailure, WriteRequest,
};
use futures::stream::{self, StreamExt};
use sfhs_core::sync::{
    Claim, Commit, ErrorRecord, ErrorStore, ErrorStoreError, Ledger, LedgerEntry, LedgerError,
    Release,
};
use sfhs_core::sync::{ClaimRequest, NotAKey, ParentKey, RecordKey, Version, decide_claim};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::dynamo::{get_by_pk, scan_each};
use crate::sdk_error::{classify, is_conditional_check_failed};

type Item = HashMap<String, AttributeValue>;

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn now_text() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()
}

/// Reads a ledger item; unknown or malformed attributes are ignored (a corrupt `parents` reads
/// as none, so the associations are made again rather than the record being stuck).
pub fn decode_entry(item: &Item) -> LedgerEntry {
    let num = |k: &str| item.get(k).and_then(|v| v.as_n().ok()).and_then(|v| v.parse::<i64>().ok());
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let flag = |k: &str| item.get(k).and_then(|v| v.as_bool().ok()).copied() == Some(true);
    LedgerEntry {
        version: num("version").map(Version),
        hubspot_id: text("hubspot_id"),
        parents: text("parents").and_then(|p| serde_json::from_str(&p).ok()).unwrap_or_default(),
        deleted: flag("deleted"),
        waiting: flag("waiting"),
        lease_owner: text("lease_owner"),
        lease_until: num("lease_until"),
        digest: text("digest"),
        unchanged: flag("unchanged"),
        wake: text("wake"),
    }
}

/// What the ledger holds of one Salesforce object (lowercased API name).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ObjectSummary {
    pub object: String,
    pub synced: u64,
    pub deleted: u64,
    pub waiting: u64,
    /// Of `synced`: records whose newest version changed nothing HubSpot holds (not written).
    pub unchanged: u64,
    /// RFC 3339 time of the newest commit.
    pub last_sync: Option<String>,
}

/// The records table.
#[derive(Debug, Clone)]
pub struct DynamoLedger {
    client: Client,
    table: String,
}

impl DynamoLedger {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// Per Salesforce object: records synced, deleted (tombstones), waiting for a parent, and the
    /// last commit. A full scan (projected to the few attributes it counts): for `sfhs status`,
    /// not for the hot path.
    pub async fn summary(&self) -> Result<Vec<ObjectSummary>, LedgerError> {
        let mut by_object: std::collections::BTreeMap<String, ObjectSummary> = Default::default();
        scan_each(
            &self.client,
            &self.table,
            |b| b.projection_expression("pk, deleted, waiting, unchanged, updated_at, hubspot_id"),
            |item| {
                let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                // Remembered parents and noted children are not records.
                let Ok(key) = RecordKey::try_from(pk) else {
                    return Ok(());
                };
                let object = key.object().to_owned();
                let flag = |name: &str| {
                    item.get(name).and_then(|v| v.as_bool().ok()).copied().unwrap_or(false)
                };
                let entry = by_object
                    .entry(object.clone())
                    .or_insert_with(|| ObjectSummary { object, ..ObjectSummary::default() });
                if flag("deleted") {
                    entry.deleted += 1;
                } else if item.contains_key("hubspot_id") {
                    entry.synced += 1;
                }
                if flag("waiting") {
                    entry.waiting += 1;
                }
                if flag("unchanged") && !flag("deleted") {
                    entry.unchanged += 1;
                }
                if let Some(at) = item.get("updated_at").and_then(|v| v.as_s().ok())
                    && entry.last_sync.as_deref().is_none_or(|last| at.as_str() > last)
                {
                    entry.last_sync = Some(at.clone());
                }
                Ok::<_, LedgerError>(())
            },
        )
        .await?;
        Ok(by_object.into_values().collect())
    }

    async fn get(&self, key: &str) -> Result<Option<LedgerEntry>, LedgerError> {
        Ok(get_by_pk(&self.client, &self.table, key).await?.as_ref().map(decode_entry))
    }
}

#[async_trait]
impl Ledger for DynamoLedger {
    async fn claim(&self, claim: &ClaimRequest<'_>) -> Result<Claim, LedgerError> {
        let ClaimRequest { key, version, replay, revive, owner, now_ms, lease_ms } = *claim;
        let lease_free =
            "(attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :o)";
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key.as_str()))
            .update_expression("SET lease_owner = :o, lease_until = :until")
            .expression_attribute_values(":o", s(owner))
            .expression_attribute_values(":until", n(now_ms + lease_ms))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":v", n(version.millis()));
        let request = if revive {
            // An undelete: a tombstone gives way whatever its version.
            request
                .condition_expression(format!(
                    "{lease_free} AND (attribute_not_exists(version) OR version <= :v OR deleted = :t)"
                ))
                .expression_attribute_values(":t", AttributeValue::Bool(true))
        } else if replay {
            request.condition_expression(format!(
                "{lease_free} AND (attribute_not_exists(version) OR version <= :v)"
            ))
        } else {
            request
                .condition_expression(format!(
                    "{lease_free} AND (attribute_not_exists(version) OR version < :v OR (version = :v AND waiting = :t))"
                ))
                .expression_attribute_values(":t", AttributeValue::Bool(true))
        };
        let result = request
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Claim::Claimed(out.attributes().map(decode_entry).unwrap_or_default())),
            Err(e) if is_conditional_check_failed(&e) => {
                // Why did it fail? The old item comes with the error when the service sends it;
                // otherwise read it.
                let old = match e.into_service_error() {
                    UpdateItemError::ConditionalCheckFailedException(c) => {
                        c.item().map(decode_entry)
                    }
                    _ => None,
                };
                let old = match old {
                    Some(o) => Some(o),
                    None => self.get(key.as_str()).await?,
                };
                Ok(decide_claim(old.as_ref(), claim).unwrap_or(Claim::Leased {
                    owner: "(changed meanwhile)".into(),
                    until: now_ms,
                }))
            }
            Err(e) => Err(LedgerError::from(classify("UpdateItem", e))),
        }
    }

    async fn commit(&self, key: &RecordKey, owner: &str, c: &Commit) -> Result<bool, LedgerError> {
        let parents = serde_json::to_string(&c.parents).unwrap_or_else(|_| "{}".into());
        let mut set =
            "SET version = :v, deleted = :d, waiting = :w, unchanged = :u, parents = :p, updated_at = :at"
                .to_owned();
        let mut remove = "REMOVE lease_owner, lease_until".to_owned();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key.as_str()))
            .condition_expression("lease_owner = :o")
            .expression_attribute_values(":o", s(owner))
            .expression_attribute_values(":v", n(c.version.millis()))
            .expression_attribute_values(":d", AttributeValue::Bool(c.deleted))
            .expression_attribute_values(":w", AttributeValue::Bool(c.waiting))
            .expression_attribute_values(":u", AttributeValue::Bool(c.unchanged))
            .expression_attribute_values(":p", s(parents))
            .expression_attribute_values(":at", s(now_text()));
        match &c.hubspot_id {
            Some(h) => {
                set.push_str(", hubspot_id = :h");
                request = request.expression_attribute_values(":h", s(h.clone()));
            }
            None => remove.push_str(", hubspot_id"),
        }
        match &c.digest {
            Some(d) => {
                set.push_str(", digest = :dg");
                request = request.expression_attribute_values(":dg", s(d.clone()));
            }
            None => remove.push_str(", digest"),
        }
        match &c.wake {
            Some(w) => {
                set.push_str(", wake = :wk");
                request = request.expression_attribute_values(":wk", s(w.clone()));
            }
            None => remove.push_str(", wake"),
        }
        match request.update_expression(format!("{set} {remove}")).send().await {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_check_failed(&e) => Ok(false),
            Err(e) => Err(LedgerError::from(classify("UpdateItem", e))),
        }
    }

    async fn release(&self, key: &RecordKey, release: Release<'_>) -> Result<(), LedgerError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key.as_str()))
            .condition_expression("lease_owner = :o")
            .expression_attribute_values(":o", s(release.owner));
        let request = match release.hubspot_id {
            Some(h) => request
                .update_expression("REMOVE lease_owner, lease_until, digest SET hubspot_id = :h")
                .expression_attribute_values(":h", s(h)),
            None => request.update_expression("REMOVE lease_owner, lease_until"),
        };
        let result = request.send().await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_check_failed(&e) => Ok(()),
            Err(e) => Err(LedgerError::from(classify("UpdateItem", e))),
        }
    }

    async fn get_many(
        &self,
        keys: &[RecordKey],
    ) -> Result<HashMap<RecordKey, LedgerEntry>, LedgerError> {
        self.batch_get(keys, None)
            .await?
            .into_iter()
            .map(|(pk, item)| Ok((stored_key(pk)?, decode_entry(&item))))
            .collect()
    }

    async fn get_parents(
        &self,
        keys: &[ParentKey],
    ) -> Result<HashMap<ParentKey, String>, LedgerError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        self.batch_get(keys, Some("pk, hubspot_id, expires_at"))
            .await?
            .into_iter()
            .filter(|(_, item)| {
                // DynamoDB deletes expired items late: an expired one is not an answer.
                item.get("expires_at")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
                    .is_some_and(|at| at > now)
            })
            .filter_map(|(pk, item)| {
                item.get("hubspot_id")
                    .and_then(|v| v.as_s().ok())
                    .map(|h| Ok((stored_key(pk)?, h.clone())))
            })
            .collect()
    }

    async fn put_parents(
        &self,
        found: &[(ParentKey, String)],
        ttl: Duration,
    ) -> Result<(), LedgerError> {
        let expires_at = OffsetDateTime::now_utc().unix_timestamp()
            + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 4);
        for chunk in found.chunks(25) {
            let mut pending: Vec<WriteRequest> = Vec::with_capacity(chunk.len());
            for (key, hubspot_id) in chunk {
                let put = PutRequest::builder()
                    .item("pk", s(key.as_str()))
                    .item("hubspot_id", s(hubspot_id.clone()))
                    .item("expires_at", n(expires_at))
                    .build()
                    .map_err(unbuildable("BatchWriteItem"))?;
                pending.push(WriteRequest::builder().put_request(put).build());
            }
            until_processed("BatchWriteItem", pending, |pending| async move {
                let reply = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| LedgerError::from(classify("BatchWriteItem", e)))?;
                let rest = reply
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.table))
                    .filter(|rest| !rest.is_empty())
                    .cloned();
                Ok((Vec::<()>::new(), rest))
            })
            .await?;
        }
        Ok(())
    }

    async fn add_waiters(
        &self,
        waits: &[(RecordKey, RecordKey)],
        ttl: Duration,
    ) -> Result<(), LedgerError> {
        let mut by_parent: std::collections::BTreeMap<RecordKey, Vec<String>> = Default::default();
        for (parent, child) in waits {
            by_parent.entry(parent.clone()).or_default().push(child.to_string());
        }
        let expires_at = OffsetDateTime::now_utc().unix_timestamp()
            + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 4);
        let calls = by_parent.into_iter().map(|(parent, mut children)| {
            children.sort();
            children.dedup();
            async move { self.add_waiters_of(&parent, children, expires_at).await }
        });
        let results: Vec<Result<(), LedgerError>> =
            stream::iter(calls).buffer_unordered(8).collect().await;
        results.into_iter().collect()
    }

    async fn take_waiters(&self, parents: &[RecordKey]) -> Result<Vec<RecordKey>, LedgerError> {
        let keys: Vec<String> = parents.iter().map(waiters_key).collect();
        let found = self.batch_get(&keys, Some("pk, children")).await?;
        let mut out = Vec::new();
        for (pk, item) in found {
            let Some(children) =
                item.get("children").and_then(|v| v.as_ss().ok()).filter(|c| !c.is_empty())
            else {
                continue;
            };
            // Only what was read is taken: a child noted meanwhile stays for the next commit.
            self.client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(pk))
                .update_expression("DELETE children :c")
                .expression_attribute_values(":c", AttributeValue::Ss(children.clone()))
                .send()
                .await
                .map_err(|e| LedgerError::from(classify("UpdateItem", e)))?;
            for child in children {
                out.push(stored_key(child.clone())?);
            }
        }
        Ok(out)
    }
}

/// The records-table key under which the children waiting for `parent` are noted.
fn waiters_key(parent: &RecordKey) -> String {
    format!("~waiting#{parent}")
}

/// A request the SDK's builder refused (a field missing): a bug here, not retryable.
fn unbuildable(operation: &'static str) -> impl FnOnce(BuildError) -> LedgerError {
    move |e| LedgerError::caused_by(operation, false, e)
}

/// How many times a batch call is sent before its unprocessed part is an error (20 ms between
/// the first two, doubling).
const BATCH_ATTEMPTS: u32 = 8;

/// Sends `pending` through `send` until DynamoDB has processed all of it: a batch call may leave
/// part unprocessed (throughput), which is sent again with backoff. `send` answers what it read
/// and the unprocessed rest (`None`: nothing left); what every attempt read is answered.
async fn until_processed<T, R, Fut>(
    operation: &'static str,
    mut pending: T,
    send: impl Fn(T) -> Fut,
) -> Result<Vec<R>, LedgerError>
where
    Fut: std::future::Future<Output = Result<(Vec<R>, Option<T>), LedgerError>>,
{
    let mut read = Vec::new();
    for attempt in 0..BATCH_ATTEMPTS {
        let (got, rest) = send(pending).await?;
        read.extend(got);
        match rest {
            None => return Ok(read),
            Some(rest) => pending = rest,
        }
        if attempt + 1 < BATCH_ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
        }
    }
    Err(LedgerError {
        operation,
        message: format!("still unprocessed after {BATCH_ATTEMPTS} attempts"),
        retryable: true,
        source: None,
    })
}

/// A key read back from the table as the kind it was written as; one that is not is a
/// table written by something else (not retryable).
fn stored_key<K: TryFrom<String, Error = NotAKey>>(key: String) -> Result<K, LedgerError> {
    K::try_from(key).map_err(|e| LedgerError::caused_by("read key", false, e))
}

impl DynamoLedger {
    /// Notes children under one parent: `ADD` to its string set (atomic, so that workers noting
    /// children of one parent at once lose none), kept until `expires_at` (the table's TTL).
    async fn add_waiters_of(
        &self,
        parent: &RecordKey,
        children: Vec<String>,
        expires_at: i64,
    ) -> Result<(), LedgerError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(waiters_key(parent)))
            .update_expression("ADD children :c SET expires_at = :x")
            .expression_attribute_values(":c", AttributeValue::Ss(children))
            .expression_attribute_values(":x", n(expires_at))
            .send()
            .await
            .map_err(|e| LedgerError::from(classify("UpdateItem", e)))?;
        Ok(())
    }

    /// Items by key (absent keys are left out), 100 keys a `BatchGetItem`, unprocessed keys sent
    /// again with backoff; `projection` limits the attributes read.
    async fn batch_get(
        &self,
        keys: &[impl AsRef<str>],
        projection: Option<&str>,
    ) -> Result<Vec<(String, HashMap<String, AttributeValue>)>, LedgerError> {
        let mut out = Vec::new();
        let mut keys: Vec<&str> = keys.iter().map(AsRef::as_ref).collect();
        keys.sort();
        keys.dedup();
        for chunk in keys.chunks(100) {
            let pending = KeysAndAttributes::builder()
                .set_keys(Some(
                    chunk.iter().map(|k| HashMap::from([("pk".to_owned(), s(*k))])).collect(),
                ))
                .set_projection_expression(projection.map(str::to_owned))
                .consistent_read(true)
                .build()
                .map_err(unbuildable("BatchGetItem"))?;
            let found = until_processed("BatchGetItem", pending, |pending| async move {
                let reply = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(|e| LedgerError::from(classify("BatchGetItem", e)))?;
                let items: Vec<_> = reply
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .into_iter()
                    .flatten()
                    .filter_map(|item| {
                        let pk = item.get("pk").and_then(|v| v.as_s().ok())?;
                        Some((pk.clone(), item.clone()))
                    })
                    .collect();
                let rest = reply
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .filter(|k| !k.keys().is_empty())
                    .cloned();
                Ok((items, rest))
            })
            .await?;
            out.extend(found);
        }
        Ok(out)
    }
}

/// The errors table: one item per failed record (`pk` = the record's ledger key, so the newest
/// error of a record replaces older ones), with the fields flat for queries and `doc` (the whole
/// record as JSON) for `sfhs errors show/replay`.
#[derive(Debug, Clone)]
pub struct DynamoErrorStore {
    client: Client,
    table: String,
}

impl DynamoErrorStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

#[async_trait]
impl ErrorStore for DynamoErrorStore {
    async fn put(&self, r: &ErrorRecord) -> Result<(), ErrorStoreError> {
        let doc = serde_json::to_string(r).map_err(|e| ErrorStoreError::caused_by(false, e))?;
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(r.id.clone()))
            .item("category", s(r.category.as_str()))
            .item("object", s(r.object.clone()))
            .item("record_id", s(r.record_id.clone()))
            .item("message", s(r.message.clone()))
            .item("attempts", n(i64::from(r.attempts)))
            .item("work_item", s(r.work_item.clone()))
            .item("at", s(r.at.format(&Rfc3339).unwrap_or_default()))
            .item("doc", s(doc));
        if let Some(f) = &r.field {
            request = request.item("field", s(f.clone()));
        }
        if let Some(v) = &r.value {
            request = request.item("value", s(v.clone()));
        }
        request.send().await.map(|_| ()).map_err(|e| ErrorStoreError::from(classify("PutItem", e)))
    }

    async fn list(&self) -> Result<Vec<ErrorRecord>, ErrorStoreError> {
        let mut all = Vec::new();
        scan_each(
            &self.client,
            &self.table,
            |b| b,
            |item| {
                all.extend(decode_error(item));
                Ok::<_, ErrorStoreError>(())
            },
        )
        .await?;
        all.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.id.cmp(&b.id)));
        Ok(all)
    }

    async fn get(&self, id: &str) -> Result<Option<ErrorRecord>, ErrorStoreError> {
        Ok(get_by_pk(&self.client, &self.table, id).await?.as_ref().and_then(decode_error))
    }

    async fn delete(&self, id: &str) -> Result<(), ErrorStoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(id))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| ErrorStoreError::from(classify("DeleteItem", e)))
    }
}

/// An error record from its item's `doc` (the whole record as JSON); unreadable items are skipped.
fn decode_error(item: &HashMap<String, AttributeValue>) -> Option<ErrorRecord> {
    item.get("doc").and_then(|d| d.as_s().ok()).and_then(|d| serde_json::from_str(d).ok())
}
