//! Test harness for sfhs's end-to-end tests: real components over real HTTP.
//!
//! - [`moto`]: one moto server per test binary (DynamoDB, SQS, Secrets Manager), started on a free
//!   port and stopped when the test process ends.
//! - [`aws`]: SDK clients pointed at it.
//! - [`events`]: Lambda events shaped like the real ones.
//! - [`iam`]: a second moto server that enforces IAM, the SAM template's resources on it, and a
//!   principal per function with exactly the template's policy.
//! - [`runtime`]: Lambda's runtime API, to run a function's real binary as Lambda does.
//! - [`items`]: work items as the webhook makes them.
//! - [`drive`]: an SQS-like queue in memory and concurrent workers over it.
//! - [`webhook`]: the webhook's use case behind a plain HTTP listener, with an outage switch.
//! - [`portal`]: a HubSpot simulator set up like a customer portal (invoice objects, labels), its
//!   mappings, and sync engines over it.

pub mod aws;
pub mod drive;
pub mod events;
pub mod iam;
pub mod items;
pub mod moto;
pub mod portal;
pub mod runtime;
pub mod sims;
pub mod webhook;
