//! `sfhs outbound parse FILE|-`: what Salesforce sent, as one JSON object.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use sfhs_core::outbound::{DEFAULT_MAX_BODY_BYTES, parse};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse an outbound message (a SOAP body as Salesforce POSTs it) and print it as JSON.
    ///
    /// Prints nothing on stdout when the message is invalid: the problem goes to stderr and the
    /// exit status is 2.
    Parse {
        /// The file holding the message, or `-` for standard input.
        file: PathBuf,
        /// Largest body accepted, in bytes.
        #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES)]
        max_bytes: usize,
        /// Pretty-print the JSON.
        #[arg(long)]
        pretty: bool,
    },
}

pub fn run(cmd: Command) -> ExitCode {
    match cmd {
        Command::Parse { file, max_bytes, pretty } => parse_file(&file, max_bytes, pretty),
    }
}

fn read_input(file: &PathBuf, max_bytes: usize) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    // Read one byte past the limit so that the parser can say how large the body is.
    let limit = u64::try_from(max_bytes).unwrap_or(u64::MAX).saturating_add(1);
    if file.as_os_str() == "-" {
        std::io::stdin().lock().take(limit).read_to_end(&mut body)?;
    } else {
        std::fs::File::open(file)?.take(limit).read_to_end(&mut body)?;
    }
    Ok(body)
}

fn parse_file(file: &PathBuf, max_bytes: usize, pretty: bool) -> ExitCode {
    let body = match read_input(file, max_bytes) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("sfhs: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let message = match parse(&body, max_bytes) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("sfhs: {}: not a valid outbound message: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let json = if pretty {
        serde_json::to_string_pretty(&message)
    } else {
        serde_json::to_string(&message)
    };
    match json {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            if writeln!(out, "{text}").is_err() {
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sfhs: cannot print the message: {e}");
            ExitCode::from(2)
        }
    }
}
