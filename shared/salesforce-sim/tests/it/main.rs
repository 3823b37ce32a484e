//! The Salesforce simulator's integration tests in one binary (each file a module).

mod expiry;
mod outbound_roundtrip;
mod rest_conformance;
