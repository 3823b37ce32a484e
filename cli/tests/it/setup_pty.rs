//! `sfhs setup` as a person uses it: the real binary in a real pty (rexpect), keystrokes in,
//! screens read back, against both simulators. From an empty directory to two enabled, valid
//! mappings (an object with a lookup to Account and one with a lookup to it), both HubSpot
//! objects and their association, and the Salesforce side deployed; and Ctrl-C leaving nothing.

// Test helpers outside #[test] functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use rexpect::session::{PtySession, spawn_command};
use sfhs_core::mapping::{OnDelete, State, parse_yaml};

use super::common::live_env;
use super::setup_cli::{Sims, sims};

const ENTER: &str = "\r";
const DOWN: &str = "\x1b[B";
const SPACE: &str = " ";

/// `sfhs setup DIR` in a pty of 120 x 40 (set with stty before the binary starts), in `dir`'s
/// parent (where a sync started here keeps its store), its webhook at `webhook`.
fn setup(s: &Sims, dir: &Path, webhook: &str) -> PtySession {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!(
            "stty cols 120 rows 40 && exec '{}' setup '{}'",
            env!("CARGO_BIN_EXE_sfhs"),
            dir.display()
        ))
        .env("TERM", "xterm-256color")
        .current_dir(dir.parent().unwrap());
    live_env(&mut c, &s.hubspot.base_url(), s.salesforce.base_url(), webhook);
    spawn_command(c, Some(30_000)).unwrap()
}

/// Waits for `screen`, then types `keys`.
fn at(p: &mut PtySession, screen: &str, keys: &[&str]) {
    p.exp_string(screen).unwrap_or_else(|e| panic!("waiting for {screen:?}: {e}"));
    for k in keys {
        p.send(k).unwrap();
        p.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(40));
    }
}

/// The org's accounts as the companies HubSpot's own integration keeps (`salesforceaccountid`):
/// what an invoice's lookup to Account finds.
async fn companies_of_the_accounts(s: &Sims) {
    let inputs: Vec<serde_json::Value> = s
        .salesforce
        .ids("Account")
        .iter()
        .map(|a| serde_json::json!({"properties": {"name": format!("Account {a}"), "salesforceaccountid": a}}))
        .collect();
    reqwest::Client::new()
        .post(format!("{}/crm/objects/2026-09/companies/batch/create", s.hubspot.base_url()))
        .bearer_auth(sfhs_hubspot_sim::DEFAULT_TOKEN)
        .json(&serde_json::json!({ "inputs": inputs }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
}

/// HubSpot holds every Salesforce invoice and line, with its name, each line associated with its
/// invoice and each invoice with its account's company.
async fn matches_salesforce(s: &Sims) {
    let invoices = sfhs_tests::portal::records_by_salesforce_id(&s.hubspot, "p12345678_invoice");
    let lines = sfhs_tests::portal::records_by_salesforce_id(&s.hubspot, "p12345678_invoice_line");
    let sf = &s.salesforce;
    assert_eq!(invoices.len(), sf.ids("Invoice__c").len());
    assert_eq!(lines.len(), sf.ids("Invoice_Line__c").len());
    let hubspot =
        sfhs_hubspot::HubSpotClient::new(sfhs_tests::portal::client_config(&s.hubspot.base_url()))
            .unwrap();
    let companies = s.hubspot.records("companies");
    for id in sf.ids("Invoice__c") {
        let row = sf.get("Invoice__c", &id).unwrap();
        let invoice = &invoices[&id];
        assert_eq!(invoice["properties"]["name"], row["Name"]);
        let hs_invoice = invoice["id"].as_str().unwrap().to_owned();
        let linked = hubspot
            .read_associations("p12345678_invoice", "companies", std::slice::from_ref(&hs_invoice))
            .await
            .unwrap();
        let account = row["Account__c"].as_str().unwrap();
        assert_eq!(
            linked[&hs_invoice],
            [companies
                .iter()
                .find(|c| c["properties"]["salesforceaccountid"] == account)
                .map(|c| c["id"].as_str().unwrap().to_owned())
                .unwrap()],
            "invoice {id}"
        );
    }
    for id in sf.ids("Invoice_Line__c") {
        let row = sf.get("Invoice_Line__c", &id).unwrap();
        let line = &lines[&id];
        assert_eq!(line["properties"]["name"], row["Name"]);
        let parent = row["Invoice__c"].as_str().unwrap();
        let hs_line = line["id"].as_str().unwrap().to_owned();
        let linked = hubspot
            .read_associations(
                "p12345678_invoice_line",
                "p12345678_invoice",
                std::slice::from_ref(&hs_line),
            )
            .await
            .unwrap();
        assert_eq!(
            linked[&hs_line],
            [invoices[parent]["id"].as_str().unwrap().to_owned()],
            "line {id}"
        );
    }
}

fn exit_code(p: &PtySession) -> Option<i32> {
    match p.process.wait().unwrap() {
        rexpect::process::wait::WaitStatus::Exited(_, code) => Some(code),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn keystrokes_take_an_empty_directory_to_enabled_valid_mappings_and_the_salesforce_side() {
    let s = sims().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("mappings");
    // The webhook of the sync started at the end: where the deployed messages post.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let webhook = format!("http://127.0.0.1:{port}/outbound");
    companies_of_the_accounts(&s).await;
    let started = Instant::now();
    let mut p = setup(&s, &d, &webhook);
    at(&mut p, "HubSpot: portal 12345678", &[]);
    at(&mut p, "Sync from this org to this portal?", &[ENTER]);
    // The child first, typed to filter; then its parent; then done.
    at(&mut p, "Salesforce object to sync:", &["Invoice_Line", ENTER]);
    at(&mut p, "Another object to sync (Invoice_Line__c so far)?", &["Invoice__c", ENTER]);
    at(&mut p, "Another object to sync (Invoice_Line__c, Invoice__c so far)?", &["done", ENTER]);
    at(&mut p, "HubSpot object for Invoice_Line__c:", &[ENTER]);
    at(&mut p, "When a record of Invoice_Line__c is deleted in Salesforce:", &[ENTER]);
    at(&mut p, "HubSpot object for Invoice__c:", &[ENTER]);
    // Deletes of invoices kept in HubSpot: the second option.
    at(&mut p, "When a record of Invoice__c is deleted in Salesforce:", &[DOWN, ENTER]);
    // The parent is set up first (its object created), then the child with its association.
    at(&mut p, "created the HubSpot object p12345678_invoice from the describe", &[]);
    at(&mut p, "Invoice__c: associations (space toggles):", &[ENTER]);
    // Every field but the second (Status__c).
    at(&mut p, "Invoice__c: fields to sync (space toggles):", &[DOWN, SPACE, ENTER]);
    at(&mut p, "associated with p12345678_invoice", &[]);
    at(&mut p, "Invoice_Line__c: associations (space toggles):", &[ENTER]);
    at(&mut p, "Invoice_Line__c: fields to sync (space toggles):", &[ENTER]);
    at(&mut p, "review: 0 error(s), 0 warning(s)", &[]);
    at(&mut p, "Preview a sample record of each object", &[ENTER]);
    at(&mut p, "POST /crm/objects/2026-09/", &[]);
    at(&mut p, "The mappings:", &[ENTER]);
    at(&mut p, "4 to create, 0 to update", &[]);
    at(&mut p, "Deploy these to Salesforce now?", &[ENTER]);
    at(&mut p, "Deployed ", &[]);
    // The records counted, then the sync started here: every record imported into HubSpot.
    at(&mut p, "Invoice__c: 3 records to import", &[]);
    at(&mut p, "Invoice_Line__c: 2 records to import", &[]);
    at(&mut p, "Start syncing:", &[ENTER]);
    at(&mut p, "Every record is in HubSpot.", &[]);
    let took = started.elapsed();
    println!("setup in a pty, to every record in HubSpot: {took:?}");
    matches_salesforce(&s).await;

    // A change in Salesforce now reaches HubSpot through the deployed message and the webhook.
    let id = s.salesforce.ids("Invoice__c")[0].clone();
    s.salesforce
        .handle()
        .update("Invoice__c", &id, serde_json::json!({"Amount__c": 4321.5}))
        .unwrap();
    let mut arrived = false;
    for _ in 0..150 {
        let now = sfhs_tests::portal::records_by_salesforce_id(&s.hubspot, "p12345678_invoice");
        if now[&id]["properties"]["amount"] == "4321.5" {
            arrived = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(arrived, "the change did not reach HubSpot");
    p.send_control('c').unwrap();
    at(&mut p, "stopping; what is queued stays on disk", &[]);
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), Some(0));

    let read = |file: &str| {
        let text = std::fs::read_to_string(d.join(file)).unwrap();
        parse_yaml(file, &text).unwrap()
    };
    let invoice = read("invoice__c.yaml");
    assert_eq!((invoice.state, invoice.on_delete), (State::Enabled, OnDelete::Keep));
    assert!(!invoice.fields.iter().any(|f| f.salesforce == "Status__c"));
    assert!(invoice.fields.iter().any(|f| f.salesforce == "Amount__c"));
    assert_eq!(invoice.associations[0].to, "companies");
    let line = read("invoice_line__c.yaml");
    assert_eq!((line.state, line.on_delete), (State::Enabled, OnDelete::Archive));
    assert_eq!(line.associations[0].to, "p12345678_invoice");
    // Valid against both live schemas and the deployed messages, as any mapping file.
    let o = Command::new(env!("CARGO_BIN_EXE_sfhs"))
        .args(["mappings", "validate", d.to_str().unwrap()])
        .envs(sfhs_tests::sims::hubspot_env(&s.hubspot.base_url()))
        .envs(sfhs_tests::sims::salesforce_env(s.salesforce.base_url()))
        .env("SFHS_WEBHOOK_URL", &webhook)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_at_a_screen_leaves_nothing_written() {
    let s = sims().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("mappings");
    let mut p = setup(&s, &d, "http://127.0.0.1:9/outbound");
    at(&mut p, "Sync from this org to this portal?", &[ENTER]);
    at(&mut p, "Salesforce object to sync:", &["Invoice__c", ENTER]);
    at(&mut p, "Another object to sync", &["done", ENTER]);
    at(&mut p, "HubSpot object for Invoice__c:", &[]);
    p.send_control('c').unwrap();
    at(&mut p, "setup cancelled: nothing was written", &[]);
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), Some(1));
    assert!(!d.exists(), "nothing written");
}
