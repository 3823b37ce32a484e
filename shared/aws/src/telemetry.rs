//! Tracing set-up: JSON lines on Lambda (one object per event, with the current span's fields),
//! readable text elsewhere. The level comes from `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`, else info.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls do nothing.
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| {
            std::env::var("AWS_LAMBDA_LOG_LEVEL")
                .map_err(|_| ())
                .and_then(|l| EnvFilter::try_new(l.to_lowercase()).map_err(|_| ()))
        })
        .unwrap_or_else(|()| EnvFilter::new("info"));
    let on_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if on_lambda {
        builder
            .json()
            .with_ansi(false)
            .with_current_span(true)
            .with_span_list(false)
            .with_target(false)
            .without_time()
            .try_init()
    } else {
        builder.compact().try_init()
    };
    // An already installed subscriber (tests) is fine.
    drop(result);
}
