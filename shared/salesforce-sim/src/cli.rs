//! `sfhs sim salesforce`: run the simulator until Ctrl-C, base URL first on stdout.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::{OutboundTiming, SeedSize, Sim, SimBuilder};

/// Arguments of `sfhs sim salesforce`.
#[derive(clap::Parser, Debug, Clone)]
pub struct Args {
    /// Listen address (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Org id (15 or 18 characters).
    #[arg(long, default_value = crate::DEFAULT_ORG_ID)]
    pub org_id: String,
    /// Send outbound messages for every seeded object (all fields) to this URL.
    #[arg(long)]
    pub outbound_url: Option<String>,
    /// OAuth client id (client credentials; also the JWT `iss`).
    #[arg(long, default_value = crate::DEFAULT_CLIENT_ID)]
    pub client_id: String,
    /// OAuth client secret.
    #[arg(long, default_value = crate::DEFAULT_CLIENT_SECRET)]
    pub client_secret: String,
    /// Username of the API user (username-password flow).
    #[arg(long, default_value = crate::DEFAULT_USERNAME)]
    pub username: String,
    /// Password of the API user (username-password flow).
    #[arg(long, default_value = crate::DEFAULT_PASSWORD)]
    pub password: String,
    /// A refresh token that `grant_type=refresh_token` accepts (repeatable).
    #[arg(long, value_name = "TOKEN")]
    pub refresh_token: Vec<String>,
    /// RSA public key (PEM) that JWT bearer assertions must verify against.
    #[arg(long, value_name = "FILE")]
    pub jwt_public_key: Option<PathBuf>,
    /// Seed of the generated records.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Accounts to generate (invoices x3, lines x6, shipments x0.75).
    #[arg(long, default_value_t = 400)]
    pub accounts: usize,
    /// Deleted/updated-record windows are cut to this many milliseconds (Salesforce ignores
    /// seconds: 60000). Tests lower it to see changes of the current minute.
    #[arg(long, default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub replication_granularity_ms: u64,
    /// A REST query cursor (`nextRecordsUrl`) unused this many seconds answers
    /// `INVALID_QUERY_LOCATOR` (Salesforce: 15 minutes). Tests lower it.
    #[arg(long, default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..))]
    pub query_cursor_idle_seconds: u64,
    /// A finished Bulk API 2.0 query job and its results are gone (404) this many seconds after
    /// it completed (Salesforce: 7 days). Tests lower it.
    #[arg(long, default_value_t = 7 * 86_400, value_parser = clap::value_parser!(u64).range(1..))]
    pub bulk_results_retention_seconds: u64,
    /// Divide outbound retry delays and the 24-hour drop by this factor.
    #[arg(long, default_value_t = 1.0)]
    pub outbound_time_scale: f64,
}

/// Starts the simulator the arguments describe (`sfhs sim salesforce` serves it until Ctrl-C).
pub async fn start(args: Args) -> anyhow::Result<Sim> {
    let mut builder = SimBuilder::new()
        .addr(args.addr)
        .org_id(&args.org_id)
        .client(&args.client_id, &args.client_secret)
        .user(&args.username, &args.password)
        .seed(args.seed)
        .seed_size(SeedSize {
            accounts: args.accounts,
            invoices: args.accounts * 3,
            lines: args.accounts * 6,
            shipments: args.accounts * 3 / 4,
        });
    if args.outbound_time_scale > 1.0 {
        builder = builder.outbound_timing(OutboundTiming::scaled(args.outbound_time_scale));
    }
    builder = builder.knobs(crate::Knobs {
        deleted_granularity: std::time::Duration::from_millis(args.replication_granularity_ms),
        query_cursor_idle_timeout: std::time::Duration::from_secs(args.query_cursor_idle_seconds),
        bulk_results_retention: std::time::Duration::from_secs(args.bulk_results_retention_seconds),
        ..crate::Knobs::default()
    });
    for token in &args.refresh_token {
        builder = builder.refresh_token(token);
    }
    if let Some(path) = &args.jwt_public_key {
        let pem = std::fs::read(path)
            .with_context(|| format!("reading JWT public key {}", path.display()))?;
        builder = builder.jwt_public_key_pem(&pem);
    }
    if let Some(url) = &args.outbound_url {
        builder = builder.outbound_url_for_all(url);
    }
    builder.start().await.context("starting the Salesforce simulator")
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Args;

    #[test]
    fn defaults_match_the_issue() {
        let cmd = Args::try_parse_from(["sim"]).unwrap();
        assert_eq!(cmd.addr.to_string(), "127.0.0.1:0");
        assert_eq!(cmd.client_id, crate::DEFAULT_CLIENT_ID);
        assert_eq!(cmd.client_secret, crate::DEFAULT_CLIENT_SECRET);
        assert!(cmd.jwt_public_key.is_none());
        assert_eq!(cmd.query_cursor_idle_seconds, 15 * 60);
        assert_eq!(cmd.bulk_results_retention_seconds, 7 * 86_400);
        let cmd = Args::try_parse_from([
            "sim",
            "--addr",
            "127.0.0.1:8089",
            "--org-id",
            "00D000000000001",
            "--outbound-url",
            "http://127.0.0.1:9000/sfdc",
            "--jwt-public-key",
            "key.pem",
            "--query-cursor-idle-seconds",
            "2",
            "--bulk-results-retention-seconds",
            "5",
        ])
        .unwrap();
        assert_eq!(cmd.query_cursor_idle_seconds, 2);
        assert_eq!(cmd.bulk_results_retention_seconds, 5);
        assert_eq!(cmd.addr.port(), 8089);
        assert_eq!(cmd.outbound_url.as_deref(), Some("http://127.0.0.1:9000/sfdc"));
    }
}
