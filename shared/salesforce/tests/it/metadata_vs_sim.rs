//! Metadata API deploys and Tooling API read-backs of the client against the simulator over HTTP.

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sfhs_core::mapping::parse_yaml;
use sfhs_core::salesforce_setup::{self, FieldTypes, SetupConfig};
use sfhs_salesforce::metadata::{DeployOptions, package_zip};
use sfhs_salesforce::{Client, Config, Credentials, Error, LoginUrl};
use sfhs_salesforce_sim::{DEFAULT_USERNAME, SeedSize, Sim, SimBuilder};

const INVOICE: &str = "salesforce_object: Invoice__c\nhubspot_object: p1_invoice\nid_property: salesforce_id\nstate: enabled\nfields:\n  - {salesforce: Name, hubspot: name}\n  - {salesforce: Amount__c, hubspot: amount}\nassociations:\n  - {lookup: Account__c, to: companies, find_parent_by: {property: salesforceaccountid}}\n";

async fn sim() -> Sim {
    SimBuilder::new()
        .seed_size(SeedSize { accounts: 2, invoices: 2, lines: 2, shipments: 1 })
        .start()
        .await
        .unwrap()
}

fn client(sim: &Sim) -> Client {
    Client::new(Config::new(
        LoginUrl::Custom(sim.base_url().to_owned()),
        Credentials::ClientCredentials {
            client_id: sfhs_salesforce_sim::DEFAULT_CLIENT_ID.into(),
            client_secret: sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET.into(),
        },
    ))
    .unwrap()
}

/// The package of `yaml`'s mapping, its entry conditions typed from the org's describe.
async fn files(c: &Client, yaml: &str, endpoint: &str) -> Vec<(String, String)> {
    let m = parse_yaml("invoice.yaml", yaml).unwrap();
    let described =
        sfhs_salesforce::domain::describe(c, &m.salesforce_object).await.unwrap().unwrap();
    let cfg = SetupConfig {
        webhook_url: endpoint.into(),
        url_secret: Some("top-secret".into()),
        secret_param: "secret".into(),
        integration_user: DEFAULT_USERNAME.into(),
        api_version: "62.0".into(),
    };
    let types = FieldTypes::of(&[described]);
    salesforce_setup::package_files(&salesforce_setup::desired(&[&m], &cfg, &types), "62.0")
}

const WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(20);

#[tokio::test]
async fn a_deploy_is_read_back_exactly_and_a_check_only_deploy_changes_nothing() {
    let sim = sim().await;
    let c = client(&sim);
    let zip = package_zip(&files(&c, INVOICE, "http://127.0.0.1:9/outbound").await).unwrap();
    let r = c.deploy(&zip, &DeployOptions::new(false), WAIT, POLL).await.unwrap();
    assert!(r.done && r.success, "{r:?}");
    assert_eq!(r.status, "Succeeded");

    let live = c.outbound_messages(None).await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].object, "Invoice__c");
    assert_eq!(live[0].name, salesforce_setup::MESSAGE_NAME);
    assert_eq!(live[0].fields, ["Id", "Account__c", "Amount__c", "Name", "SystemModstamp"]);
    assert_eq!(live[0].endpoint_url, "http://127.0.0.1:9/outbound?secret=top-secret");
    assert_eq!(live[0].integration_user, DEFAULT_USERNAME);
    let flows = c.flows(&["sfhs_Invoice_c".to_owned()]).await.unwrap();
    assert_eq!(flows.len(), 1);
    assert!(flows[0].active);

    // Validation only: succeeds, nothing changes.
    let more =
        INVOICE.replace("fields:\n", "fields:\n  - {salesforce: Status__c, hubspot: status}\n");
    let zip = package_zip(&files(&c, &more, "http://127.0.0.1:9/outbound").await).unwrap();
    let r = c.deploy(&zip, &DeployOptions::new(true), WAIT, POLL).await.unwrap();
    assert!(r.success && r.check_only);
    let again = c.outbound_messages(Some("Invoice__c")).await.unwrap();
    assert_eq!(again, live, "a check-only deploy changes nothing");
}

/// Issue 34: what an admin changes in Setup after `sfhs salesforce apply` is read back: a flow's
/// entry conditions (typed values as Flow Builder writes them), a flow deactivated, a field taken
/// off the message; the drift check names each, `plan` shows each as a change, and a deploy
/// again puts everything back.
#[tokio::test]
async fn changes_made_in_setup_are_read_back_as_drift_and_a_deploy_undoes_them() {
    let sim = sim().await;
    let c = client(&sim);
    let yaml = INVOICE.replace(
        "associations:",
        "salesforce_trigger:\n  conditions:\n    - {field: Amount__c, operator: greater_than, value: '0'}\nassociations:",
    );
    let m = parse_yaml("invoice.yaml", &yaml).unwrap();
    let hook = "http://127.0.0.1:9/outbound";
    let zip = package_zip(&files(&c, &yaml, hook).await).unwrap();
    let deploy = || async {
        let r = c.deploy(&zip, &DeployOptions::new(false), WAIT, POLL).await.unwrap();
        assert!(r.done && r.success, "{r:?}");
    };
    deploy().await;
    let names = ["sfhs_Invoice_c".to_owned()];
    let read = || async {
        let messages = c.outbound_messages(None).await.unwrap();
        let flows = c.flows(&names).await.unwrap();
        (messages, flows)
    };
    let (messages, flows) = read().await;
    let entry = flows[0].entry.as_ref().expect("the active version is read");
    assert_eq!(entry.sends, ["Invoice__c.sfhs_sync"]);
    assert_eq!(entry.conditions.len(), 1);
    assert_eq!(salesforce_setup::drift(&[&m], &messages, &flows, Some(hook)), [], "as deployed");

    let handle = sim.handle();
    handle
        .set_flow_entry_conditions_in_setup(
            "sfhs_Invoice_c",
            &[("Amount__c", "GreaterThan", Some("1000"))],
            false,
        )
        .unwrap();
    handle
        .edit_outbound_message_in_setup(
            "Invoice__c",
            "sfhs_sync",
            &["Id", "Name", "SystemModstamp"],
        )
        .unwrap();
    let (messages, flows) = read().await;
    let drift = salesforce_setup::drift(&[&m], &messages, &flows, Some(hook));
    let problems: Vec<(&str, &str)> =
        drift.iter().map(|d| (d.component.as_str(), d.problem.as_str())).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].1.starts_with("does not send Account__c, Amount__c"), "{problems:?}");
    assert!(problems[1].1.contains("(the org has amount__c GreaterThan 1000)"), "{problems:?}");
    let cfg = SetupConfig {
        webhook_url: hook.into(),
        url_secret: Some("top-secret".into()),
        secret_param: "secret".into(),
        integration_user: DEFAULT_USERNAME.into(),
        api_version: "62.0".into(),
    };
    let types = FieldTypes::of(&[sfhs_salesforce::domain::describe(&c, "Invoice__c")
        .await
        .unwrap()
        .unwrap()]);
    let plan =
        salesforce_setup::plan(&salesforce_setup::desired(&[&m], &cfg, &types), &messages, &flows);
    assert!(plan.iter().all(|c| c.change == salesforce_setup::ChangeKind::Update), "{plan:?}");

    handle.deactivate_flow_in_setup("sfhs_Invoice_c").unwrap();
    let (messages, flows) = read().await;
    assert!(!flows[0].active && flows[0].entry.is_none());
    let drift = salesforce_setup::drift(&[&m], &messages, &flows, Some(hook));
    assert!(
        drift
            .iter()
            .any(|d| d.component == "flow sfhs_Invoice_c" && d.problem.contains("is not active")),
        "{drift:?}"
    );

    deploy().await;
    let (messages, flows) = read().await;
    assert_eq!(salesforce_setup::drift(&[&m], &messages, &flows, Some(hook)), [], "applied again");
}

#[tokio::test]
async fn a_refused_deploy_names_component_line_and_problem_and_applies_nothing() {
    let sim = sim().await;
    let c = client(&sim);
    let bad = INVOICE.replace("fields:\n", "fields:\n  - {salesforce: Nope__c, hubspot: nope}\n");
    let files = files(&c, &bad, "http://127.0.0.1:9/outbound").await;
    let workflow = &files[1].1;
    let line = workflow.lines().position(|l| l.contains("<fields>Nope__c</fields>")).unwrap() + 1;
    let zip = package_zip(&files).unwrap();
    let err = c.deploy(&zip, &DeployOptions::new(false), WAIT, POLL).await.unwrap_err();
    let Error::DeployFailed { status, failures, .. } = &err else {
        panic!("expected DeployFailed, got {err:?}");
    };
    assert_eq!(status, "Failed");
    let f = failures.iter().find(|f| f.full_name == "Invoice__c.sfhs_sync").unwrap();
    assert_eq!(f.component_type.as_deref(), Some("WorkflowOutboundMessage"));
    assert_eq!(f.line_number, Some(u32::try_from(line).unwrap()));
    assert!(f.problem.as_deref().unwrap().contains("Nope__c"), "{f:?}");
    // The flow's action names a message that was not deployed: refused too.
    assert!(failures.iter().any(|f| f.component_type.as_deref() == Some("Flow")), "{failures:?}");
    assert!(!err.is_retryable());
    assert!(c.outbound_messages(None).await.unwrap().is_empty());
    assert!(sim.handle().deployed_flows().is_empty());
}

#[tokio::test]
async fn a_plain_http_endpoint_elsewhere_is_refused() {
    let sim = sim().await;
    let c = client(&sim);
    let zip = package_zip(&files(&c, INVOICE, "http://sfhs.example.com/outbound").await).unwrap();
    let err = c.deploy(&zip, &DeployOptions::new(false), WAIT, POLL).await.unwrap_err();
    assert!(
        matches!(&err, Error::DeployFailed { failures, .. }
            if failures.iter().any(|f| f.problem.as_deref().unwrap_or_default().contains("https"))),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_deploy_that_does_not_finish_times_out_and_applies_nothing() {
    let sim = sim().await;
    sim.handle().update_metadata_knobs(|k| k.never_finish = true);
    let c = client(&sim);
    let zip = package_zip(&files(&c, INVOICE, "http://127.0.0.1:9/outbound").await).unwrap();
    let err = c
        .deploy(&zip, &DeployOptions::new(false), Duration::from_millis(200), POLL)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::DeployTimeout { status, .. } if status == "InProgress"),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(sim.handle().deployed_outbound_messages().is_empty());
}

#[tokio::test]
async fn missing_permissions_are_insufficient_access() {
    let sim = sim().await;
    sim.handle().update_metadata_knobs(|k| {
        k.deny_deploy = true;
        k.deny_tooling = true;
    });
    let c = client(&sim);
    let zip = package_zip(&files(&c, INVOICE, "http://127.0.0.1:9/outbound").await).unwrap();
    let err = c.deploy(&zip, &DeployOptions::new(false), WAIT, POLL).await.unwrap_err();
    assert!(err.is_insufficient_access(), "{err:?}");
    assert_eq!(err.status(), Some(403));
    let err = c.outbound_messages(None).await.unwrap_err();
    assert!(err.is_insufficient_access(), "{err:?}");
}

/// Issue 36: a flow's entry condition is written with the element the field's type wants (a
/// currency compared as a number); the org refuses a number field compared as text, naming the
/// line, as Salesforce checks a filter's value against its field.
#[tokio::test]
async fn entry_conditions_are_typed_by_the_field_and_a_mistyped_one_is_refused() {
    let sim = sim().await;
    let c = client(&sim);
    let yaml = INVOICE.replace(
        "associations:",
        "salesforce_trigger:\n  conditions:\n    - {field: Amount__c, operator: greater_than, value: '0'}\n    - {field: Name, operator: not_equals, value: '42'}\nassociations:",
    );
    let typed = files(&c, &yaml, "http://127.0.0.1:9/outbound").await;
    let flow = &typed[2].1;
    assert!(flow.contains("<numberValue>0</numberValue>"), "{flow}");
    // A text field compares text, even when its value looks like a number.
    assert!(flow.contains("<stringValue>42</stringValue>"), "{flow}");
    let r = c
        .deploy(&package_zip(&typed).unwrap(), &DeployOptions::new(true), WAIT, POLL)
        .await
        .unwrap();
    assert!(r.success, "{r:?}");

    let mut mistyped = typed.clone();
    mistyped[2].1 = flow.replace("<numberValue>0</numberValue>", "<stringValue>0</stringValue>");
    let line =
        mistyped[2].1.lines().position(|l| l.contains("<stringValue>0</stringValue>")).unwrap() + 1;
    let err = c
        .deploy(&package_zip(&mistyped).unwrap(), &DeployOptions::new(true), WAIT, POLL)
        .await
        .unwrap_err();
    let Error::DeployFailed { failures, .. } = &err else {
        panic!("expected DeployFailed, got {err:?}");
    };
    let f = failures.iter().find(|f| f.component_type.as_deref() == Some("Flow")).unwrap();
    assert_eq!(f.line_number, Some(u32::try_from(line).unwrap()));
    assert_eq!(
        f.problem.as_deref(),
        Some(
            "The value of the entry condition on Amount__c is a stringValue, which does not fit a currency field: use numberValue"
        )
    );
}
