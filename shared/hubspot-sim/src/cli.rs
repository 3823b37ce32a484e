//! `sfhs sim hubspot`: serve the simulator until Ctrl-C.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;

use crate::{ArchivedUniqueValues, HubSpotSim, PartialStatus, RunningSim, SimConfig};

/// Arguments of `sfhs sim hubspot`.
#[derive(clap::Parser, Debug, Clone)]
pub struct Args {
    /// Address to bind; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Accepted bearer token (repeatable).
    #[arg(long = "token", default_value = crate::DEFAULT_TOKEN)]
    pub tokens: Vec<String>,
    /// A token that authenticates but lacks scopes: its calls answer 403 (repeatable).
    #[arg(long = "scopeless-token")]
    pub scopeless_tokens: Vec<String>,
    /// Portal (account) id, used in fully qualified names `p{portal}_{name}`.
    #[arg(long, default_value_t = 12_345_678)]
    pub portal_id: u64,
    /// Calls per rolling window per token.
    #[arg(long, default_value_t = 190)]
    pub burst_limit: u32,
    /// Length of the rolling window in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub burst_window_ms: u64,
    /// Calls per day for the portal.
    #[arg(long, default_value_t = 1_000_000)]
    pub daily_limit: u64,
    /// Search requests per second.
    #[arg(long, default_value_t = 5)]
    pub search_per_second: u32,
    /// Milliseconds before a new record is searchable.
    #[arg(long, default_value_t = 0)]
    pub search_indexing_delay_ms: u64,
    /// Answer partial batch failures with 200 instead of 207.
    #[arg(long)]
    pub partial_as_200: bool,
    /// What an archived record does with its unique values: released (an upsert by one creates
    /// a new record), restored (an upsert restores the archived record) or held (a write claiming
    /// one answers 409 until the record is restored). HubSpot does not document it.
    #[arg(long, value_enum, default_value_t = ArchivedUniqueValues::Released)]
    pub archived_unique_values: ArchivedUniqueValues,
}

impl Args {
    pub fn config(&self) -> SimConfig {
        SimConfig {
            tokens: self.tokens.clone(),
            scopeless_tokens: self.scopeless_tokens.clone(),
            portal_id: self.portal_id,
            burst_limit: self.burst_limit,
            burst_window: Duration::from_millis(self.burst_window_ms),
            daily_limit: self.daily_limit,
            search_per_second: self.search_per_second,
            search_indexing_delay: Duration::from_millis(self.search_indexing_delay_ms),
            partial_status: if self.partial_as_200 {
                PartialStatus::Ok
            } else {
                PartialStatus::MultiStatus
            },
            archived_unique_values: self.archived_unique_values,
            ..SimConfig::default()
        }
    }
}

/// Starts the simulator the arguments describe (`sfhs sim hubspot` serves it until Ctrl-C).
pub async fn start(args: Args) -> anyhow::Result<RunningSim> {
    HubSpotSim::builder()
        .config(args.config())
        .addr(args.addr)
        .start()
        .await
        .with_context(|| format!("binding {}", args.addr))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn defaults_and_repeated_tokens() {
        let c = Args::parse_from(["sim"]).config();
        assert_eq!(c.tokens, vec![crate::DEFAULT_TOKEN.to_string()]);
        assert_eq!(
            (c.burst_limit, c.daily_limit, c.burst_window),
            (190, 1_000_000, Duration::from_secs(10))
        );
        let a = Args::parse_from([
            "sim",
            "--token",
            "a",
            "--token",
            "b",
            "--portal-id",
            "42",
            "--burst-limit",
            "50",
            "--addr",
            "127.0.0.1:8080",
        ]);
        assert_eq!(a.tokens, vec!["a".to_string(), "b".to_string()]);
        assert_eq!((a.portal_id, a.burst_limit, a.addr.port()), (42, 50, 8080));
        let held = Args::parse_from(["sim", "--archived-unique-values", "held"]);
        assert_eq!(held.config().archived_unique_values, ArchivedUniqueValues::Held);
    }
}
