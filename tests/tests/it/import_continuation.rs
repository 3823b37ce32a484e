//! The import's hand-over through Lambda's `Invoke` API on moto's server over HTTP: a run that
//! reaches its page budget checkpoints and invokes the import function asynchronously with its
//! import id; an unknown function is a clear, non-retryable error.

use std::io::Write as _;
use std::sync::Arc;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use sfhs_aws::continuation::LambdaContinuation;
use sfhs_core::import::ports::{Continuation, ImportStore};
use sfhs_core::import::{ImportRunner, MemoryImportStore, RunOutcome, RunSettings};
use sfhs_core::mapping::store::{MappingStore, MemoryMappingStore, next_version};
use sfhs_core::queue::{MemoryQueue, PublishPolicy, Publisher};
use sfhs_salesforce::ClientReader;
use sfhs_salesforce::{Config, Credentials, LoginUrl};
use sfhs_salesforce_sim::{SeedSize, SimBuilder};
use sfhs_tests::aws::sdk_config;
use sfhs_tests::moto::{moto, unique};
use sfhs_tests::portal::mappings;
use time::OffsetDateTime;

/// An IAM role Lambda can assume (moto checks that the role exists), made with IAM's query API.
async fn role(endpoint: &str, name: &str) -> String {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let reply = reqwest::Client::new()
        .get(endpoint)
        .query(&[
            ("Action", "CreateRole"),
            ("Version", "2010-05-08"),
            ("RoleName", name),
            ("AssumeRolePolicyDocument", policy),
        ])
        // moto routes by the credential scope's service.
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
        )
        .send()
        .await
        .expect("CreateRole")
        .text()
        .await
        .expect("CreateRole reply");
    let arn = reply
        .split("<Arn>")
        .nth(1)
        .and_then(|s| s.split("</Arn>").next())
        .unwrap_or_else(|| panic!("no role ARN in {reply}"));
    arn.to_owned()
}

/// A function moto knows (its code is never run: an `Event` invoke is queued).
async fn function(client: &aws_sdk_lambda::Client, endpoint: &str) -> String {
    let name = unique("sfhs-import");
    let mut zip = Vec::new();
    {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(&mut zip));
        w.start_file(
            "bootstrap",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored)
                .unix_permissions(0o755),
        )
        .expect("zip entry");
        w.write_all(b"#!/bin/sh\n").expect("zip data");
        w.finish().expect("zip");
    }
    client
        .create_function()
        .function_name(&name)
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role(endpoint, &unique("role")).await)
        .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
        .send()
        .await
        .expect("CreateFunction on moto");
    name
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_at_its_budget_hands_over_by_invoking_the_function() {
    let endpoint = &moto().endpoint;
    let lambda = aws_sdk_lambda::Client::new(&sdk_config(endpoint));
    let name = function(&lambda, endpoint).await;

    let sf = SimBuilder::new()
        .seed_size(SeedSize { accounts: 5, invoices: 500, lines: 0, shipments: 0 })
        .start()
        .await
        .expect("salesforce simulator");
    let store = Arc::new(MemoryMappingStore::new());
    let invoice = mappings()
        .into_iter()
        .find(|m| m.salesforce_object == "Invoice__c")
        .expect("invoice mapping");
    store
        .put(&next_version(None, invoice, OffsetDateTime::now_utc()), None)
        .await
        .expect("mapping");
    let imports = Arc::new(MemoryImportStore::new());
    let queue = Arc::new(MemoryQueue::new());
    let runner = ImportRunner {
        store: imports.clone(),
        mappings: store,
        reader: Arc::new(ClientReader::new(
            sfhs_salesforce::Client::new(Config::new(
                LoginUrl::Custom(sf.base_url().to_owned()),
                Credentials::ClientCredentials {
                    client_id: sfhs_salesforce_sim::DEFAULT_CLIENT_ID.into(),
                    client_secret: sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET.into(),
                },
            ))
            .expect("salesforce client"),
        )),
        publisher: Publisher::new(queue.clone(), PublishPolicy::default()),
        continuation: Arc::new(LambdaContinuation::new(lambda.clone(), &name)),
        settings: RunSettings {
            rest_page_size: 200,
            max_pages_per_run: Some(1),
            ..RunSettings::default()
        },
    };
    let record = runner
        .create("Invoice__c", None, 50_000, false, OffsetDateTime::now_utc())
        .await
        .expect("import recorded");
    let outcome = runner.run(&record.id, "first", None).await.expect("first run");
    assert!(matches!(outcome, RunOutcome::HandedOver { enqueued: 200, .. }), "{outcome:?}");
    // Checkpointed, lease let go: the invoked run (here: the next one) resumes it.
    let stored = imports.get(&record.id).await.unwrap().expect("import");
    assert!(stored.lease_owner.is_none(), "{stored:?}");
    assert_eq!(stored.enqueued, 200);

    // The continuation failing is reported, not retried: the scheduled tick covers it.
    let missing = LambdaContinuation::new(lambda, "no-such-function");
    let e = missing.continue_import(&record.id).await.expect_err("an unknown function");
    assert!(!e.retryable, "{e:?}");
    assert!(e.message.contains("no-such-function"), "{}", e.message);
    assert!(e.message.contains("ResourceNotFound"), "{}", e.message);
    sf.shutdown().await;
}
