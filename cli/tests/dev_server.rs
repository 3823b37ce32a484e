//! `sfhs dev` end to end: the real binary serving HTTP with its simulators and its store on disk;
//! real HTTP clients posting an outbound message, changing records in the Salesforce simulator,
//! reading `/status`; a process killed and started again on the same store.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Dev {
    child: Child,
    /// `http://127.0.0.1:PORT`
    base: String,
}

impl Drop for Dev {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn start(data_dir: &Path, extra: &[&str]) -> Dev {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sfhs"))
        .args([
            "dev",
            "--addr",
            "127.0.0.1:0",
            "--invoices",
            "10",
            "--data-dir",
        ])
        .arg(data_dir)
        .args(extra)
        .env_remove("SFHS_HUBSPOT_TOKEN")
        .env_remove("SFHS_SALESFORCE_LOGIN_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sfhs dev");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("first line");
    let url = first.trim().trim_end_matches("?secret=...").to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    Dev {
        child,
        base: url.trim_end_matches("/outbound").to_owned(),
    }
}

async fn status(http: &reqwest::Client, dev: &Dev) -> Option<Value> {
    http.get(format!("{}/status", dev.base))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()
}

/// Polls `/status` until `ok` holds (at most 30 s).
async fn wait_for(
    http: &reqwest::Client,
    dev: &Dev,
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = Value::Null;
    while Instant::now() < deadline {
        if let Some(s) = status(http, dev).await {
            if ok(&s) {
                return s;
            }
            last = s;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: not reached; last status {last:#}");
}

#[tokio::test]
async fn dev_acks_a_real_outbound_message_and_queues_its_records_on_disk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dev = start(dir.path(), &["--no-worker", "--secret", "s3"]);
    let body = std::fs::read(format!(
        "{}/../tests/fixtures/salesforce/om_contact_batch3_update_ampersand.xml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    let http = reqwest::Client::new();
    let outbound = format!("{}/outbound", dev.base);
    // Without the URL secret: refused, nothing queued.
    let r = http
        .post(&outbound)
        .body(body.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 401);
    let r = http
        .post(format!("{outbound}?secret=s3"))
        .header("content-type", "text/xml; charset=utf-8")
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("body");
    assert!(text.contains("<Ack>true</Ack>"), "{text}");
    let s = status(&http, &dev).await.expect("status");
    assert_eq!(s["queues"]["live"]["visible"], 3, "{s:#}");
    let r = http.get(&outbound).send().await.expect("get");
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
}

async fn salesforce_token(http: &reqwest::Client, sf: &str) -> String {
    let r: Value = http
        .post(format!("{sf}/services/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=sim-client&client_secret=sim-secret")
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    r["access_token"].as_str().expect("access_token").to_owned()
}

#[tokio::test]
async fn a_killed_dev_loses_nothing_its_webhook_acknowledged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let http = reqwest::Client::new();

    // First run: accept only. Two invoices change in Salesforce; its outbound messages reach the
    // webhook and wait on disk.
    let first = start(dir.path(), &["--no-worker"]);
    let s = wait_for(&http, &first, "started", |s| s["salesforce"].is_string()).await;
    let sf = s["salesforce"]
        .as_str()
        .and_then(|t| t.strip_prefix("the simulator at "))
        .expect("the Salesforce simulator's URL")
        .to_owned();
    let token = salesforce_token(&http, &sf).await;
    let ids: Value = http
        .get(format!("{sf}/services/data/v62.0/query"))
        .query(&[("q", "SELECT Id FROM Invoice__c")])
        .bearer_auth(&token)
        .send()
        .await
        .expect("query")
        .json()
        .await
        .expect("query json");
    let changed: Vec<String> = ids["records"]
        .as_array()
        .expect("records")
        .iter()
        .take(2)
        .map(|r| r["Id"].as_str().expect("Id").to_owned())
        .collect();
    for id in &changed {
        let r = http
            .patch(format!("{sf}/services/data/v62.0/sobjects/Invoice__c/{id}"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"Name": format!("CHANGED {id}")}))
            .send()
            .await
            .expect("patch");
        assert!(r.status().is_success(), "{}", r.status());
    }
    wait_for(&http, &first, "two messages queued", |s| {
        s["queues"]["live"]["visible"] == 2
    })
    .await;
    // Killed, not stopped.
    drop(first);

    // Second run on the same store: the worker syncs what the first one acknowledged.
    let second = start(dir.path(), &[]);
    let s = wait_for(&http, &second, "both synced", |s| {
        s["ledger"]["invoice__c"]["synced"] == 2 && s["queues"]["live"]["visible"] == 0
    })
    .await;
    assert_eq!(s["errors"], 0, "{s:#}");
    assert_eq!(s["queues"]["dead"]["visible"], 0, "{s:#}");
}

#[test]
fn dev_refuses_mappings_that_do_not_fit_the_live_schemas() {
    let data = tempfile::tempdir().expect("temp dir");
    let maps = tempfile::tempdir().expect("temp dir");
    // The example mapping, with one Salesforce field that does not exist.
    let example = std::fs::read_to_string(format!(
        "{}/../examples/mappings/invoice.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("example mapping");
    std::fs::write(
        maps.path().join("invoice.yaml"),
        example.replace("salesforce: Amount__c", "salesforce: No_Such_Field__c"),
    )
    .expect("mapping file");
    let out = Command::new(env!("CARGO_BIN_EXE_sfhs"))
        .args([
            "dev",
            "--addr",
            "127.0.0.1:0",
            "--invoices",
            "5",
            "--data-dir",
        ])
        .arg(data.path())
        .arg("--mappings")
        .arg(maps.path())
        .env_remove("SFHS_HUBSPOT_TOKEN")
        .env_remove("SFHS_SALESFORCE_LOGIN_URL")
        .output()
        .expect("run sfhs dev");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("No_Such_Field__c"), "{err}");
    assert!(err.contains("do not fit the live schemas"), "{err}");
}
