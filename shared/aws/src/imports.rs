//! The imports/state table adapter: import records and the delete sweep's per-object state.
//!
//! One item per import (`pk` = the import id) and per swept object (`pk` = `sweep#<object>`):
//! `kind` (S: `import` | `sweep`), `doc` (S, the record as JSON), `revision` (N, checked and
//! increased by every write of the import run and the CLI). An import also has `synced` and
//! `failed` (N), which only the worker writes, with an atomic `ADD` that neither checks nor
//! changes the revision; the import's own writes never touch them.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use sfhs_core::import::ports::{ImportProgress, ImportStore, ImportStoreError, sweep_key};
use sfhs_core::import::{ImportRecord, SweepState};

use crate::dynamo::{get_by_pk, scan_each};
use crate::sdk_error::{classify, is_conditional_check_failed};

/// The imports table (`SFHS_IMPORTS_TABLE`). Created like the other tables
/// ([`crate::dynamo::create_table`]: `pk` S).
#[derive(Debug, Clone)]
pub struct DynamoImportStore {
    client: Client,
    table: String,
}

impl DynamoImportStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// The item's key and its `doc` attribute.
fn raw_doc(item: &HashMap<String, AttributeValue>) -> Result<(String, &str), ImportStoreError> {
    let key = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    let raw =
        item.get("doc").and_then(|v| v.as_s().ok()).ok_or_else(|| ImportStoreError::Corrupt {
            key: key.clone(),
            message: "the item has no doc attribute".into(),
        })?;
    Ok((key, raw))
}

fn corrupt(key: String) -> impl FnOnce(serde_json::Error) -> ImportStoreError {
    move |e| ImportStoreError::Corrupt { key, message: e.to_string() }
}

fn decode_sweep(item: &HashMap<String, AttributeValue>) -> Result<SweepState, ImportStoreError> {
    let (key, raw) = raw_doc(item)?;
    serde_json::from_str(raw).map_err(corrupt(key))
}

fn decode_import(item: &HashMap<String, AttributeValue>) -> Result<ImportRecord, ImportStoreError> {
    let (key, raw) = raw_doc(item)?;
    let mut record: ImportRecord = serde_json::from_str(raw).map_err(corrupt(key))?;
    record.synced = number(item, "synced");
    record.failed = number(item, "failed");
    record.unchanged = number(item, "unchanged");
    Ok(record)
}

/// An import's or a sweep's document.
fn doc_json(value: &impl serde::Serialize) -> String {
    // Records of strings, numbers and dates cannot fail to serialise.
    serde_json::to_string(value).unwrap_or_else(|e| unreachable!("serialising cannot fail: {e}"))
}

impl DynamoImportStore {
    /// Conditional write of a document item: create (`expected` `None`) or replace the doc at
    /// revision `expected`.
    async fn write_doc(
        &self,
        key: String,
        kind: &str,
        body: String,
        revision: u64,
        expected: Option<u64>,
        operation: &'static str,
    ) -> Result<(), ImportStoreError> {
        match expected {
            None => {
                let mut put = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .item("pk", s(key.clone()))
                    .item("kind", s(kind))
                    .item("doc", s(body))
                    .item("revision", n(revision))
                    .condition_expression("attribute_not_exists(pk)");
                if kind == "import" {
                    put = put.item("synced", n(0)).item("failed", n(0)).item("unchanged", n(0));
                }
                put.send()
                    .await
                    .map(|_| ())
                    .map_err(|e| conditional_failure(operation, &key, expected, e))
            }
            Some(expected_revision) => self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(key.clone()))
                .update_expression("SET #doc = :doc, #rev = :rev")
                .condition_expression("#rev = :expected")
                .expression_attribute_names("#doc", "doc")
                .expression_attribute_names("#rev", "revision")
                .expression_attribute_values(":doc", s(body))
                .expression_attribute_values(":rev", n(revision))
                .expression_attribute_values(":expected", n(expected_revision))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| conditional_failure(operation, &key, expected, e)),
        }
    }

    async fn get_item(
        &self,
        key: String,
    ) -> Result<Option<HashMap<String, AttributeValue>>, ImportStoreError> {
        Ok(get_by_pk(&self.client, &self.table, key).await?)
    }
}

/// A conditional write that failed: a conflict when its condition did not hold (another writer
/// came first), else the classified SDK failure.
fn conditional_failure<E, R>(
    operation: &'static str,
    key: &str,
    expected: Option<u64>,
    e: SdkError<E, R>,
) -> ImportStoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if is_conditional_check_failed(&e) {
        ImportStoreError::Conflict { key: key.to_owned(), expected }
    } else {
        ImportStoreError::from(classify(operation, e))
    }
}

#[async_trait]
impl ImportStore for DynamoImportStore {
    async fn put(
        &self,
        next: &ImportRecord,
        expected: Option<u64>,
    ) -> Result<(), ImportStoreError> {
        // The counters live in their own attributes, added to by the worker.
        self.write_doc(
            next.id.clone(),
            "import",
            doc_json(&next.over(None)),
            next.revision,
            expected,
            "PutImport",
        )
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<ImportRecord>, ImportStoreError> {
        match self.get_item(id.to_owned()).await? {
            Some(item)
                if item.get("kind").and_then(|k| k.as_s().ok()).map(String::as_str)
                    == Some("import") =>
            {
                decode_import(&item).map(Some)
            }
            _ => Ok(None),
        }
    }

    async fn list(&self) -> Result<Vec<ImportRecord>, ImportStoreError> {
        let mut out = Vec::new();
        scan_each(
            &self.client,
            &self.table,
            |b| {
                b.consistent_read(true)
                    .filter_expression("#kind = :import")
                    .expression_attribute_names("#kind", "kind")
                    .expression_attribute_values(":import", s("import"))
            },
            |item| {
                out.push(decode_import(item)?);
                Ok::<_, ImportStoreError>(())
            },
        )
        .await?;
        out.sort_by(|a, b| b.id.cmp(&a.id));
        Ok(out)
    }

    async fn record_progress(
        &self,
        id: &str,
        progress: ImportProgress,
    ) -> Result<(), ImportStoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(id))
            .update_expression("ADD synced :s, failed :f, unchanged :u")
            .condition_expression("attribute_exists(pk) AND #kind = :import")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_values(":s", n(progress.synced))
            .expression_attribute_values(":f", n(progress.failed))
            .expression_attribute_values(":u", n(progress.unchanged))
            .expression_attribute_values(":import", s("import"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                if is_conditional_check_failed(&e) {
                    ImportStoreError::NotFound { id: id.to_owned() }
                } else {
                    ImportStoreError::from(classify("UpdateItem", e))
                }
            })
    }

    async fn get_sweep(&self, object: &str) -> Result<Option<SweepState>, ImportStoreError> {
        match self.get_item(sweep_key(object)).await? {
            Some(item) => decode_sweep(&item).map(Some),
            None => Ok(None),
        }
    }

    async fn put_sweep(
        &self,
        next: &SweepState,
        expected: Option<u64>,
    ) -> Result<(), ImportStoreError> {
        self.write_doc(
            sweep_key(&next.object),
            "sweep",
            doc_json(next),
            next.revision,
            expected,
            "PutSweepState",
        )
        .await
    }
}
