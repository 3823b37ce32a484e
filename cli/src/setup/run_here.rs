//! The last screen: the existing records counted, then the sync started here, now: `sfhs dev`
//! in this process with the files just written, importing every enabled object, its progress
//! shown until every record is in HubSpot; then the webhook goes on until Ctrl-C.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use clap::Parser;
use sfhs_core::mapping::{Mapping, State};

/// `sfhs dev`'s arguments, read as its command line reads them (the live ends from the same
/// environment as setup's).
#[derive(Parser)]
struct Dev {
    #[command(flatten)]
    args: crate::dev::Args,
}

/// Each enabled object's records in Salesforce now, as lines for people.
pub async fn counts(
    client: &sfhs_salesforce::Client,
    mappings: &[Mapping],
) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    for m in mappings.iter().filter(|m| m.state == State::Enabled) {
        let n = client.count(&m.salesforce_object, None).await?;
        lines.push(format!("{}: {n} records to import", m.salesforce_object));
    }
    Ok(lines)
}

/// Where dev listens: the port of a loopback webhook URL (what the org posts to, so that it
/// reaches this process), else 127.0.0.1:8080 (a tunnel's far end points there).
pub fn listen_addr(webhook_url: Option<&str>) -> SocketAddr {
    let fallback = SocketAddr::from(([127, 0, 0, 1], 8080));
    let Some(url) = webhook_url.and_then(|u| reqwest::Url::parse(u).ok()) else {
        return fallback;
    };
    match (url.host_str(), url.port()) {
        (Some("127.0.0.1" | "localhost"), Some(port)) => SocketAddr::from(([127, 0, 0, 1], port)),
        _ => fallback,
    }
}

/// Runs dev with the files of `dir` (its store in `.sfhs-dev`, as `sfhs dev` keeps it) until
/// Ctrl-C, saying the imports' progress until every record is synced.
pub async fn run(dir: &Path, addr: SocketAddr) -> anyhow::Result<()> {
    let dev = Dev::try_parse_from([
        "dev".into(),
        "--addr".into(),
        addr.to_string(),
        "--mappings".into(),
        dir.display().to_string(),
        "--import".into(),
    ])?;
    let watcher = tokio::spawn(progress(format!("http://{addr}/status")));
    let outcome = crate::dev::run(dev.args).await;
    watcher.abort();
    outcome
}

/// Polls dev's `/status`: a line when the numbers change, and the last one once every import
/// completed, the queues are empty and every imported record is synced.
async fn progress(status_url: String) {
    let http = reqwest::Client::new();
    let mut said = String::new();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Ok(status) = http.get(&status_url).send().await else {
            continue;
        };
        let Ok(s) = status.json::<serde_json::Value>().await else {
            continue;
        };
        let (line, done) = describe(&s);
        if line != said {
            println!("{line}");
            said = line;
        }
        if done {
            println!(
                "Every record is in HubSpot. Changes in Salesforce now arrive through the webhook ({}); Ctrl-C stops.",
                s["webhook"].as_str().unwrap_or_default()
            );
            return;
        }
    }
}

/// The progress line of a dev status, and whether the imports are through.
fn describe(s: &serde_json::Value) -> (String, bool) {
    let imports = s["imports"].as_array().cloned().unwrap_or_default();
    let total: u64 = imports.iter().filter_map(|i| i["total"].as_u64()).sum();
    let enqueued: u64 = imports.iter().filter_map(|i| i["enqueued"].as_u64()).sum();
    let synced: u64 = s["ledger"]
        .as_object()
        .map(|l| l.values().filter_map(|v| v["synced"].as_u64()).sum())
        .unwrap_or(0);
    let completed = !imports.is_empty() && imports.iter().all(|i| i["status"] == "completed");
    let empty = s["queues"]
        .as_object()
        .is_some_and(|q| q.values().all(|v| v["visible"] == 0 && v["in_flight_or_delayed"] == 0));
    let errors = s["errors"].as_u64().unwrap_or(0);
    let line = format!(
        "import: {enqueued} of {total} records read from Salesforce; {synced} synced in HubSpot, {errors} error(s)"
    );
    (line, completed && empty && total > 0 && synced + errors >= total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_listens_where_a_loopback_webhook_url_points() {
        assert_eq!(
            listen_addr(Some("http://127.0.0.1:18443/outbound")),
            SocketAddr::from(([127, 0, 0, 1], 18443))
        );
        assert_eq!(
            listen_addr(Some("https://abc.ngrok.app/outbound")),
            SocketAddr::from(([127, 0, 0, 1], 8080))
        );
        assert_eq!(listen_addr(None), SocketAddr::from(([127, 0, 0, 1], 8080)));
    }

    #[test]
    fn the_imports_are_through_once_every_record_is_synced_and_the_queues_are_empty() {
        let s = serde_json::json!({
            "imports": [{"status": "completed", "total": 3, "enqueued": 3},
                        {"status": "completed", "total": 2, "enqueued": 2}],
            "ledger": {"invoice__c": {"synced": 3}, "invoice_line__c": {"synced": 1, "waiting": 1}},
            "queues": {"live": {"visible": 0, "in_flight_or_delayed": 0}},
            "errors": 0,
        });
        let (line, done) = describe(&s);
        assert_eq!(
            line,
            "import: 5 of 5 records read from Salesforce; 4 synced in HubSpot, 0 error(s)"
        );
        assert!(!done);
        let mut s = s;
        s["ledger"]["invoice_line__c"] = serde_json::json!({"synced": 2});
        assert!(describe(&s).1);
    }
}
