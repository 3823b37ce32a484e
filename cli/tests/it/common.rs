//! What the tests against the live side share: the environment that points `sfhs` at both
//! simulators, and a command's output as text.

use std::process::{Command, Output};

/// Points `c` at the HubSpot and Salesforce simulators, with outbound messages posting to
/// `webhook` as the simulated integration user, and no mappings table.
pub(crate) fn live_env<'c>(
    c: &'c mut Command,
    hubspot: &str,
    salesforce: &str,
    webhook: &str,
) -> &'c mut Command {
    c.envs(sfhs_tests::sims::hubspot_env(hubspot))
        .envs(sfhs_tests::sims::salesforce_env(salesforce))
        .env("SFHS_WEBHOOK_URL", webhook)
        .env("SFHS_SALESFORCE_INTEGRATION_USER", sfhs_salesforce_sim::DEFAULT_USERNAME)
        .env_remove("SFHS_MAPPINGS_TABLE")
}

/// The real `sfhs` binary.
pub(crate) fn sfhs_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sfhs"))
}

/// Standard output, then standard error on the next line.
pub(crate) fn text(o: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}
