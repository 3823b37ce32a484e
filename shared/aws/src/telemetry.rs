//! Tracing set-up: JSON lines on Lambda (one object per event, with the current span's fields),
//! readable text elsewhere. The filter comes from `RUST_LOG` (`info`, or `warn,sfhs_core=debug`:
//! levels by target), else `AWS_LAMBDA_LOG_LEVEL`, else `info`.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

fn filter() -> Targets {
    let spec = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| std::env::var("AWS_LAMBDA_LOG_LEVEL").ok())
        .map(|s| s.to_ascii_lowercase());
    spec.and_then(|s| s.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let registry = tracing_subscriber::registry().with(filter());
    let result = if on_lambda {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_ansi(false)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_target(false)
                    .without_time()
                    .with_writer(std::io::stderr),
            )
            .try_init()
    } else {
        registry
            .with(tracing_subscriber::fmt::layer().compact().with_writer(std::io::stderr))
            .try_init()
    };
    // An already installed subscriber (tests) is fine.
    drop(result);
}
