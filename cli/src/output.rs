//! What every command that prints shares: the `--json` flag.

use clap::Args as ClapArgs;

/// `--json`: JSON on stdout for scripts; sentences and aligned tables otherwise.
#[derive(Debug, Clone, Copy, ClapArgs)]
pub struct Output {
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}
