//! The Salesforce client's integration tests in one binary (each file a module).

mod client_vs_sim;
mod fixture_shapes;
mod golden_shapes;
mod metadata_vs_sim;
