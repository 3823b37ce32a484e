//! DynamoDB adapters. Tables are on-demand with a string partition key `pk`; the schemas are
//! created by the SAM template in AWS and by [`create_tables`] for tests and local runs.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use sfhs_core::mapping::store::{MappingStore, StoreError, StoredMapping, key};

use crate::SdkFailure;
use crate::sdk_error::{classify, is_conditional_check_failed};

/// One DynamoDB item.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// One item by `pk`, read consistently.
pub(crate) async fn get_by_pk(
    client: &Client,
    table: &str,
    pk: impl Into<String>,
) -> Result<Option<Item>, SdkFailure> {
    let out = client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.into()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| classify("GetItem", e))?;
    Ok(out.item)
}

/// Calls `each` on every item of a table, page by page (`customize` adds a projection, a
/// filter or a consistent read to each page's request).
pub(crate) async fn scan_each<E: From<SdkFailure>>(
    client: &Client,
    table: &str,
    customize: impl Fn(ScanFluentBuilder) -> ScanFluentBuilder,
    mut each: impl FnMut(&Item) -> Result<(), E>,
) -> Result<(), E> {
    let mut start = None;
    loop {
        let page = customize(client.scan().table_name(table))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| E::from(classify("Scan", e)))?;
        for item in page.items() {
            each(item)?;
        }
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return Ok(()),
        }
    }
}

/// The mappings table: `pk` = lowercased Salesforce object, `version` (N), `doc` (S, the stored
/// mapping as JSON).
#[derive(Debug, Clone)]
pub struct DynamoMappingStore {
    client: Client,
    table: String,
}

impl DynamoMappingStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }
}

fn decode(item: &HashMap<String, AttributeValue>) -> Result<StoredMapping, StoreError> {
    let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    let doc = item.get("doc").and_then(|v| v.as_s().ok()).ok_or_else(|| StoreError::Corrupt {
        object: pk.clone(),
        message: "the item has no doc attribute".into(),
    })?;
    serde_json::from_str(doc)
        .map_err(|e| StoreError::Corrupt { object: pk, message: e.to_string() })
}

#[async_trait]
impl MappingStore for DynamoMappingStore {
    async fn list(&self) -> Result<Vec<StoredMapping>, StoreError> {
        let mut out = Vec::new();
        scan_each(
            &self.client,
            &self.table,
            |b| b.consistent_read(true),
            |item| {
                out.push(decode(item)?);
                Ok::<_, StoreError>(())
            },
        )
        .await?;
        out.sort_by_key(StoredMapping::key);
        Ok(out)
    }

    async fn get(&self, salesforce_object: &str) -> Result<Option<StoredMapping>, StoreError> {
        get_by_pk(&self.client, &self.table, key(salesforce_object))
            .await?
            .as_ref()
            .map(decode)
            .transpose()
    }

    async fn put(&self, next: &StoredMapping, expected: Option<u64>) -> Result<(), StoreError> {
        let doc = serde_json::to_string(next).map_err(|e| StoreError::Corrupt {
            object: next.mapping.salesforce_object.clone(),
            message: e.to_string(),
        })?;
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", AttributeValue::S(next.key()))
            .item("version", AttributeValue::N(next.version.to_string()))
            .item("doc", AttributeValue::S(doc));
        request = match expected {
            None => request.condition_expression("attribute_not_exists(pk)"),
            Some(v) => request
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", AttributeValue::N(v.to_string())),
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_check_failed(&e) => {
                let found = self.get(&next.mapping.salesforce_object).await?.map(|m| m.version);
                Err(StoreError::Conflict {
                    object: next.mapping.salesforce_object.clone(),
                    expected,
                    found,
                })
            }
            Err(e) => Err(StoreError::from(classify("PutItem", e))),
        }
    }

    async fn delete(&self, salesforce_object: &str, expected: u64) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(key(salesforce_object)))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", AttributeValue::N(expected.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_check_failed(&e) => {
                let found = self.get(salesforce_object).await?.map(|m| m.version);
                Err(StoreError::Conflict {
                    object: salesforce_object.to_owned(),
                    expected: Some(expected),
                    found,
                })
            }
            Err(e) => Err(StoreError::from(classify("DeleteItem", e))),
        }
    }
}

/// Creates an on-demand table keyed by `pk` (S) unless it exists. For tests and local runs; in AWS
/// the SAM template owns the tables.
pub async fn create_table(client: &Client, table: &str) -> Result<(), crate::SdkFailure> {
    let unbuilt = |e| construction("CreateTable", e);
    let pk = AttributeDefinition::builder()
        .attribute_name("pk")
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(unbuilt)?;
    let hash_key = KeySchemaElement::builder()
        .attribute_name("pk")
        .key_type(KeyType::Hash)
        .build()
        .map_err(unbuilt)?;
    let result = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(pk)
        .key_schema(hash_key)
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(SdkError::ServiceError(ctx)) if ctx.err().code() == Some("ResourceInUseException") => {
            Ok(())
        }
        Err(e) => Err(classify("CreateTable", e)),
    }
}

fn construction(
    operation: &'static str,
    e: aws_sdk_dynamodb::error::BuildError,
) -> crate::SdkFailure {
    crate::SdkFailure {
        operation,
        code: "BuildError".into(),
        message: e.to_string(),
        retryable: false,
        source: Box::new(e),
    }
}
