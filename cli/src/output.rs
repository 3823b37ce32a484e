//! What every command that prints shares: the `--json` flag.

use clap::Args as ClapArgs;

/// `--json`: JSON on stdout for scripts; sentences and aligned tables otherwise.
#[derive(Debug, Clone, Copy, ClapArgs)]
pub struct Output {
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Prints `value` as one line of JSON on stdout (what `--json` prints).
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}
