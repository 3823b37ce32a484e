//! The DynamoDB mapping store on moto's server: versions, optimistic concurrency, paging, cache.

use std::sync::Arc;
use std::time::Duration;

use sfhs_aws::dynamo::{DynamoMappingStore, create_table};
use sfhs_core::mapping::store::{CachedMappings, MappingStore, StoreError, next_version};
use sfhs_core::mapping::{State, parse_yaml};
use sfhs_tests::aws::dynamodb;
use sfhs_tests::moto::{moto, unique};
use time::OffsetDateTime;

const INVOICE: &str = include_str!("../../../examples/mappings/invoice.yaml");

async fn store() -> DynamoMappingStore {
    let client = dynamodb(&moto().endpoint);
    let table = unique("mappings");
    create_table(&client, &table).await.expect("create table");
    DynamoMappingStore::new(client, table)
}

#[tokio::test]
async fn versions_and_optimistic_concurrency() {
    let store = store().await;
    let mut mapping = parse_yaml("invoice.yaml", INVOICE).unwrap();
    mapping.state = State::Paused;
    let now = OffsetDateTime::now_utc();

    let v1 = next_version(None, mapping.clone(), now);
    store.put(&v1, None).await.unwrap();
    assert!(matches!(store.put(&v1, None).await, Err(StoreError::Conflict { found: Some(1), .. })));

    let got = store.get("INVOICE__C").await.unwrap().expect("case-insensitive key");
    assert_eq!(got, v1);
    assert_eq!(got.enabled_at, None);

    mapping.state = State::Enabled;
    let v2 = next_version(Some(&got), mapping.clone(), now);
    assert_eq!(v2.version, 2);
    assert!(v2.enabled_at.is_some());
    store.put(&v2, Some(1)).await.unwrap();

    // A writer holding version 1 loses.
    let stale = next_version(Some(&v1), mapping, now);
    let err = store.put(&stale, Some(1)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { expected: Some(1), found: Some(2), .. }), "{err}");
    assert!(err.is_retryable());

    assert!(store.delete("Invoice__c", 1).await.is_err());
    store.delete("Invoice__c", 2).await.unwrap();
    assert!(store.get("Invoice__c").await.unwrap().is_none());
}

#[tokio::test]
async fn lists_many_mappings_and_caches_them() {
    let store = Arc::new(store().await);
    let template = parse_yaml("invoice.yaml", INVOICE).unwrap();
    for i in 0..30 {
        let mut m = template.clone();
        m.salesforce_object = format!("Object{i:02}__c");
        store.put(&next_version(None, m, OffsetDateTime::now_utc()), None).await.unwrap();
    }
    let all = store.list().await.unwrap();
    assert_eq!(all.len(), 30);
    assert_eq!(all[0].mapping.salesforce_object, "Object00__c");

    let cache = CachedMappings::new(store.clone(), Duration::from_secs(60));
    assert_eq!(cache.get().await.unwrap().len(), 30);
    store.delete("Object00__c", 1).await.unwrap();
    assert_eq!(cache.get().await.unwrap().len(), 30, "fresh cache is not re-read");

    let short = CachedMappings::new(store.clone(), Duration::ZERO);
    assert_eq!(short.get().await.unwrap().len(), 29, "an expired cache is re-read");
}

#[tokio::test]
async fn a_missing_table_is_reported_with_its_error_code() {
    let client = dynamodb(&moto().endpoint);
    let store = DynamoMappingStore::new(client, "no-such-table");
    let err = store.list().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    assert!(err.to_string().contains("ResourceNotFound"), "{err}");
}
