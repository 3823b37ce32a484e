//! The HubSpot client's integration tests in one binary (each file a module); `common` is their
//! shared set-up.

mod client;
mod common;
mod concurrency;
mod golden_shapes;
