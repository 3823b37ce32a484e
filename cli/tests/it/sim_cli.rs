//! `sfhs sim ...` end to end: the real binary serves, prints its base URL first, and answers like
//! the service it simulates.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn start(args: &[&str]) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sfhs"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sfhs sim");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("first line");
    (Server(child), first.trim().to_owned())
}

#[tokio::test]
async fn sim_hubspot_serves_with_its_tokens_and_limits() {
    let (_server, base) = start(&[
        "sim",
        "hubspot",
        "--addr",
        "127.0.0.1:0",
        "--token",
        "pat-na1-test",
        "--burst-limit",
        "7",
    ]);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let client = reqwest::Client::new();
    let r = client
        .get(format!("{base}/crm/objects/2026-09/companies?limit=1"))
        .bearer_auth("pat-na1-test")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-hubspot-ratelimit-max"], "7");

    let r = client
        .get(format!("{base}/crm/v3/objects/companies"))
        .bearer_auth("wrong")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.expect("json");
    assert!(body["correlationId"].is_string());
}

#[tokio::test]
async fn sim_salesforce_serves_a_seeded_org_behind_oauth() {
    let (_server, base) =
        start(&["sim", "salesforce", "--addr", "127.0.0.1:0", "--accounts", "20"]);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let client = reqwest::Client::new();
    let token: serde_json::Value = client
        .post(format!("{base}/services/oauth2/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", sfhs_salesforce_sim::DEFAULT_CLIENT_ID),
            ("client_secret", sfhs_salesforce_sim::DEFAULT_CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let access = token["access_token"].as_str().expect("access_token");
    let instance = token["instance_url"].as_str().expect("instance_url");
    let r = client
        .get(format!("{instance}/services/data/v62.0/query"))
        .query(&[("q", "SELECT COUNT() FROM Account")])
        .bearer_auth(access)
        .send()
        .await
        .expect("query");
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("sforce-limit-info"));
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["totalSize"], 20);

    let r = client
        .get(format!("{instance}/services/data/v62.0/sobjects/"))
        .send()
        .await
        .expect("describeGlobal");
    assert_eq!(r.status(), 401, "no token, no data");
}
