//! Test harness for sfhs's end-to-end tests: real components over real HTTP.
//!
//! - [`moto`]: one moto server per test binary (DynamoDB, SQS, Secrets Manager), started on a free
//!   port and stopped when the test process ends.
//! - [`aws`]: SDK clients pointed at it.
//! - [`events`]: Lambda events shaped like the real ones.
//! - [`drive`]: an SQS-like queue in memory and concurrent workers over it.
//! - [`portal`]: a HubSpot simulator set up like a customer portal (invoice objects, labels), its
//!   mappings, and sync engines over it.

pub mod aws;
pub mod drive;
pub mod events;
pub mod moto;
pub mod portal;
