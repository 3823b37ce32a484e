//! The sync engine: turns a batch of queue messages (work items) into HubSpot writes, holding the
//! invariants of the design (newest version wins, no duplicates, associations follow lookups,
//! limits respected, bad records reported and acked). See `docs/worker.md`.
//!
//! The engine talks to the outside through three ports ([`ports::Ledger`],
//! [`ports::HubSpotWriter`], [`ports::ErrorStore`]) and the mapping cache; the worker Lambda and
//! the tests plug in real adapters or the in-memory ones of [`memory`].

pub mod digest;
mod engine;
/// The sync ports in memory (defined in [`crate::memory`]).
pub mod memory {
    pub use crate::memory::sync::*;
}
mod keys;
pub mod ports;
mod version;

pub use engine::{BatchReport, BatchResult, Engine, EngineConfig, InMessage};
pub use keys::{NotAKey, ParentKey, RecordKey};
pub use ports::{
    AssociationKind, Between, ByProperty, Claim, ClaimRequest, Commit, CreateRecord, ErrorCategory,
    ErrorRecord, ErrorStore, ErrorStoreError, HubSpotWriter, Ledger, LedgerEntry, LedgerError,
    NewAssociation, ParentLink, Release, UpsertRecord, Upserted, Waker, WriteError, WriteErrorKind,
    WriteFailure, WriteOutcomes, WriterStats, Writes, decide_claim,
};
pub use version::{Version, VersionSource, parse_salesforce_datetime, record_version};
