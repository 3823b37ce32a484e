//! The ledger and the errors, imports and mappings stores on a [`LocalStore`], with the same
//! conditions as their DynamoDB adapters (each conditional write is one transaction).

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use sfhs_core::import::ports::{ImportProgress, sweep_key};
use sfhs_core::import::{ImportRecord, ImportStore, ImportStoreError, SweepState};
use sfhs_core::mapping::store::{MappingStore, StoreError, StoredMapping, key as mapping_key};
use sfhs_core::sync::{
    Claim, Commit, ErrorRecord, ErrorStore, ErrorStoreError, Ledger, LedgerEntry, LedgerError,
    Release,
};
use sfhs_core::sync::{ClaimRequest, ParentKey, RecordKey, decide_claim};

use crate::{
    ERRORS, IMPORTS, LEDGER, LocalError, LocalStore, MAPPINGS, PARENTS, SWEEPS, WAITERS, get_in,
    put_in,
};
use redb::ReadableTable as _;

fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

fn ledger_error(operation: &'static str, e: LocalError) -> LedgerError {
    let retryable = !matches!(e, LocalError::Corrupt { .. });
    LedgerError::caused_by(operation, retryable, e)
}

/// One transaction's answers, or its failure as every item's: nothing of it was written.
fn all_or_none<T>(
    answers: Result<Vec<T>, LocalError>,
    n: usize,
    operation: &'static str,
) -> Vec<Result<T, LedgerError>> {
    match answers {
        Ok(answers) => answers.into_iter().map(Ok).collect(),
        Err(e) => {
            let retryable = !matches!(e, LocalError::Corrupt { .. });
            let message = e.to_string();
            let mut out = Vec::with_capacity(n);
            out.push(Err(ledger_error(operation, e)));
            out.extend((1..n).map(|_| {
                Err(LedgerError { operation, message: message.clone(), retryable, source: None })
            }));
            out.truncate(n);
            out
        }
    }
}

fn errors_error(e: LocalError) -> ErrorStoreError {
    ErrorStoreError::caused_by(!matches!(e, LocalError::Corrupt { .. }), e)
}

fn imports_error(e: LocalError) -> ImportStoreError {
    match e {
        LocalError::Corrupt { key, source, .. } => {
            ImportStoreError::Corrupt { key, message: source.to_string() }
        }
        e => ImportStoreError::unavailable(true, e),
    }
}

fn mappings_error(e: LocalError) -> StoreError {
    match e {
        LocalError::Corrupt { key, source, .. } => {
            StoreError::Corrupt { object: key, message: source.to_string() }
        }
        e => StoreError::unavailable(true, e),
    }
}

/// A conditional write that found another state: carried out of the transaction.
enum Outcome<T> {
    Done(T),
    Refused(T),
}

#[async_trait]
impl Ledger for LocalStore {
    async fn claim(&self, claim: &ClaimRequest<'_>) -> Result<Claim, LedgerError> {
        self.write_table("claim", LEDGER, |t| {
            let current: Option<LedgerEntry> = get_in(t, "ledger entry", claim.key.as_str())?;
            if let Some(refused) = decide_claim(current.as_ref(), claim) {
                return Ok(refused);
            }
            let before = current.unwrap_or_default();
            put_in(t, claim.key.as_str(), &claim.leased(before.clone()))?;
            Ok(Claim::Claimed(before))
        })
        .map_err(|e| ledger_error("claim", e))
    }

    async fn commit(&self, key: &RecordKey, owner: &str, c: &Commit) -> Result<bool, LedgerError> {
        self.write_table("commit", LEDGER, |t| {
            let current: Option<LedgerEntry> = get_in(t, "ledger entry", key.as_str())?;
            if current.and_then(|e| e.lease_owner).as_deref() != Some(owner) {
                return Ok(false);
            }
            put_in(t, key.as_str(), &c.entry())?;
            Ok(true)
        })
        .map_err(|e| ledger_error("commit", e))
    }

    /// Every claim in one transaction: one commit for the batch.
    async fn claim_all(
        &self,
        claims: &[ClaimRequest<'_>],
        _concurrency: usize,
    ) -> Vec<Result<Claim, LedgerError>> {
        let answers = self.write_table("claim", LEDGER, |t| {
            let mut answers = Vec::with_capacity(claims.len());
            for claim in claims {
                let current: Option<LedgerEntry> = get_in(t, "ledger entry", claim.key.as_str())?;
                answers.push(match decide_claim(current.as_ref(), claim) {
                    Some(refused) => refused,
                    None => {
                        let before = current.unwrap_or_default();
                        put_in(t, claim.key.as_str(), &claim.leased(before.clone()))?;
                        Claim::Claimed(before)
                    }
                });
            }
            Ok(answers)
        });
        all_or_none(answers, claims.len(), "claim")
    }

    /// Every commit in one transaction.
    async fn commit_all(
        &self,
        owner: &str,
        commits: &[(&RecordKey, &Commit)],
        _concurrency: usize,
    ) -> Vec<Result<bool, LedgerError>> {
        let answers = self.write_table("commit", LEDGER, |t| {
            let mut answers = Vec::with_capacity(commits.len());
            for (key, c) in commits {
                let current: Option<LedgerEntry> = get_in(t, "ledger entry", key.as_str())?;
                let held = current.and_then(|e| e.lease_owner).as_deref() == Some(owner);
                if held {
                    put_in(t, key.as_str(), &c.entry())?;
                }
                answers.push(held);
            }
            Ok(answers)
        });
        all_or_none(answers, commits.len(), "commit")
    }

    async fn release(&self, key: &RecordKey, release: Release<'_>) -> Result<(), LedgerError> {
        self.write_table("release", LEDGER, |t| {
            if let Some(mut e) = get_in::<LedgerEntry>(t, "ledger entry", key.as_str())?
                && e.release(release)
            {
                put_in(t, key.as_str(), &e)?;
            }
            Ok(())
        })
        .map_err(|e| ledger_error("release", e))
    }

    async fn get_many(
        &self,
        keys: &[RecordKey],
    ) -> Result<HashMap<RecordKey, LedgerEntry>, LedgerError> {
        let mut out = HashMap::new();
        for k in keys {
            if let Some(e) = self
                .get::<LedgerEntry>(LEDGER, "ledger entry", k.as_str())
                .map_err(|e| ledger_error("get", e))?
            {
                out.insert(k.clone(), e);
            }
        }
        Ok(out)
    }

    async fn get_parents(
        &self,
        keys: &[ParentKey],
    ) -> Result<HashMap<ParentKey, String>, LedgerError> {
        let now = now_ms();
        let mut out = HashMap::new();
        for k in keys {
            let found: Option<(String, i64)> = self
                .get(PARENTS, "remembered parent", k.as_str())
                .map_err(|e| ledger_error("get parents", e))?;
            if let Some((h, until)) = found
                && until > now
            {
                out.insert(k.clone(), h);
            }
        }
        Ok(out)
    }

    async fn put_parents(
        &self,
        found: &[(ParentKey, String)],
        ttl: std::time::Duration,
    ) -> Result<(), LedgerError> {
        let until = now_ms() + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 4);
        self.write_table("put parents", PARENTS, |t| {
            for (k, h) in found {
                put_in(t, k.as_str(), &(h, until))?;
            }
            Ok(())
        })
        .map_err(|e| ledger_error("put parents", e))
    }

    async fn add_waiters(
        &self,
        waits: &[(RecordKey, RecordKey)],
        _ttl: std::time::Duration,
    ) -> Result<(), LedgerError> {
        self.write_table("note waiting children", WAITERS, |t| {
            for (parent, child) in waits {
                let mut children: BTreeSet<RecordKey> =
                    get_in(t, "waiting children", parent.as_str())?.unwrap_or_default();
                children.insert(child.clone());
                put_in(t, parent.as_str(), &children)?;
            }
            Ok(())
        })
        .map_err(|e| ledger_error("note waiting children", e))
    }

    async fn take_waiters(&self, parents: &[RecordKey]) -> Result<Vec<RecordKey>, LedgerError> {
        self.write_table("take waiting children", WAITERS, |t| {
            let mut out = Vec::new();
            for parent in parents {
                let children: Option<BTreeSet<RecordKey>> =
                    get_in(t, "waiting children", parent.as_str())?;
                if let Some(children) = children {
                    t.remove(parent.as_str())
                        .map_err(|e| LocalError::storage("take waiting children", e))?;
                    out.extend(children);
                }
            }
            Ok(out)
        })
        .map_err(|e| ledger_error("take waiting children", e))
    }
}

impl LocalStore {
    /// Every ledger entry, by key (`sfhs dev`'s status). A key that is not a record's (nothing
    /// here writes one) is left out, and logged.
    pub fn ledger_entries(&self) -> Result<Vec<(RecordKey, LedgerEntry)>, LocalError> {
        Ok(self
            .all(LEDGER, "ledger entry")?
            .into_iter()
            .filter_map(|(key, e)| match RecordKey::try_from(key) {
                Ok(key) => Some((key, e)),
                Err(bad) => {
                    tracing::warn!(error = %bad, "not a record's ledger entry; left out");
                    None
                }
            })
            .collect())
    }

    /// Lets go of every lease in the ledger; returns how many there were. For a process that
    /// starts on the store: a lease there is a stopped process's (the file is locked while open),
    /// and its records would otherwise be refused until the lease ran out.
    pub fn release_leases(&self) -> Result<u64, LocalError> {
        self.write_table("release leases", LEDGER, |t| {
            let mut held: Vec<(String, LedgerEntry)> = Vec::new();
            for row in t.iter().map_err(|e| LocalError::storage("release leases", e))? {
                let (k, v) = row.map_err(|e| LocalError::storage("release leases", e))?;
                let key = k.value().to_owned();
                let e: LedgerEntry = serde_json::from_str(v.value()).map_err(|source| {
                    LocalError::Corrupt { what: "ledger entry", key: key.clone(), source }
                })?;
                if e.lease_owner.is_some() {
                    held.push((key, e));
                }
            }
            let n = held.len() as u64;
            for (key, mut e) in held {
                e.lease_owner = None;
                e.lease_until = None;
                put_in(t, &key, &e)?;
            }
            Ok(n)
        })
    }

    /// Empties the ledger (its HubSpot ids point into a HubSpot that is gone, such as a
    /// simulator of an earlier run); returns how many entries it held.
    pub fn reset_ledger(&self) -> Result<u64, LocalError> {
        self.write("reset ledger", |tx| {
            tx.open_table(WAITERS)
                .map_err(|e| LocalError::storage("reset ledger", e))?
                .retain(|_, _| false)
                .map_err(|e| LocalError::storage("reset ledger", e))?;
            let mut t =
                tx.open_table(LEDGER).map_err(|e| LocalError::storage("reset ledger", e))?;
            let mut n = 0;
            t.retain(|_, _| {
                n += 1;
                false
            })
            .map_err(|e| LocalError::storage("reset ledger", e))?;
            Ok(n)
        })
    }
}

#[async_trait]
impl ErrorStore for LocalStore {
    async fn put(&self, record: &ErrorRecord) -> Result<(), ErrorStoreError> {
        self.write_table("put error", ERRORS, |t| put_in(t, &record.id, record))
            .map_err(errors_error)
    }

    async fn list(&self) -> Result<Vec<ErrorRecord>, ErrorStoreError> {
        let mut all: Vec<ErrorRecord> =
            self.values(ERRORS, "error record").map_err(errors_error)?;
        all.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.id.cmp(&b.id)));
        Ok(all)
    }

    async fn get(&self, id: &str) -> Result<Option<ErrorRecord>, ErrorStoreError> {
        LocalStore::get(self, ERRORS, "error record", id).map_err(errors_error)
    }

    async fn delete(&self, id: &str) -> Result<(), ErrorStoreError> {
        self.write_table("delete error", ERRORS, |t| {
            t.remove(id).map_err(|e| LocalError::storage("delete error", e))?;
            Ok(())
        })
        .map_err(errors_error)
    }
}

#[async_trait]
impl ImportStore for LocalStore {
    async fn put(
        &self,
        next: &ImportRecord,
        expected: Option<u64>,
    ) -> Result<(), ImportStoreError> {
        let outcome = self
            .write_table("put import", IMPORTS, |t| {
                let current: Option<ImportRecord> = get_in(t, "import", &next.id)?;
                if current.as_ref().map(|c| c.revision) != expected {
                    return Ok(Outcome::Refused(()));
                }
                put_in(t, &next.id, &next.over(current.as_ref()))?;
                Ok(Outcome::Done(()))
            })
            .map_err(imports_error)?;
        match outcome {
            Outcome::Done(()) => Ok(()),
            Outcome::Refused(()) => {
                Err(ImportStoreError::Conflict { key: next.id.clone(), expected })
            }
        }
    }

    async fn get(&self, id: &str) -> Result<Option<ImportRecord>, ImportStoreError> {
        LocalStore::get(self, IMPORTS, "import", id).map_err(imports_error)
    }

    async fn list(&self) -> Result<Vec<ImportRecord>, ImportStoreError> {
        // Ids start with their creation time: newest first.
        let mut all: Vec<ImportRecord> = self.values(IMPORTS, "import").map_err(imports_error)?;
        all.reverse();
        Ok(all)
    }

    async fn record_progress(
        &self,
        id: &str,
        progress: ImportProgress,
    ) -> Result<(), ImportStoreError> {
        let found = self
            .write_table("import progress", IMPORTS, |t| {
                let Some(mut r) = get_in::<ImportRecord>(t, "import", id)? else {
                    return Ok(false);
                };
                progress.add_to(&mut r);
                put_in(t, id, &r)?;
                Ok(true)
            })
            .map_err(imports_error)?;
        if found { Ok(()) } else { Err(ImportStoreError::NotFound { id: id.to_owned() }) }
    }

    async fn get_sweep(&self, object: &str) -> Result<Option<SweepState>, ImportStoreError> {
        LocalStore::get(self, SWEEPS, "sweep state", &sweep_key(object)).map_err(imports_error)
    }

    async fn put_sweep(
        &self,
        next: &SweepState,
        expected: Option<u64>,
    ) -> Result<(), ImportStoreError> {
        let key = sweep_key(&next.object);
        let outcome = self
            .write_table("put sweep", SWEEPS, |t| {
                let current: Option<SweepState> = get_in(t, "sweep state", &key)?;
                if current.map(|c| c.revision) != expected {
                    return Ok(Outcome::Refused(()));
                }
                put_in(t, &key, next)?;
                Ok(Outcome::Done(()))
            })
            .map_err(imports_error)?;
        match outcome {
            Outcome::Done(()) => Ok(()),
            Outcome::Refused(()) => Err(ImportStoreError::Conflict { key, expected }),
        }
    }
}

#[async_trait]
impl MappingStore for LocalStore {
    async fn list(&self) -> Result<Vec<StoredMapping>, StoreError> {
        Ok(self
            .all(MAPPINGS, "mapping")
            .map_err(mappings_error)?
            .into_iter()
            .map(|(_, m)| m)
            .collect())
    }

    async fn get(&self, salesforce_object: &str) -> Result<Option<StoredMapping>, StoreError> {
        LocalStore::get(self, MAPPINGS, "mapping", &mapping_key(salesforce_object))
            .map_err(mappings_error)
    }

    async fn put(&self, next: &StoredMapping, expected: Option<u64>) -> Result<(), StoreError> {
        let found = self
            .write_table("put mapping", MAPPINGS, |t| {
                let current: Option<StoredMapping> = get_in(t, "mapping", &next.key())?;
                let found = current.map(|c| c.version);
                if found != expected {
                    return Ok(Outcome::Refused(found));
                }
                put_in(t, &next.key(), next)?;
                Ok(Outcome::Done(found))
            })
            .map_err(mappings_error)?;
        match found {
            Outcome::Done(_) => Ok(()),
            Outcome::Refused(found) => Err(StoreError::Conflict {
                object: next.mapping.salesforce_object.clone(),
                expected,
                found,
            }),
        }
    }

    async fn delete(&self, salesforce_object: &str, expected: u64) -> Result<(), StoreError> {
        let key = mapping_key(salesforce_object);
        let found = self
            .write_table("delete mapping", MAPPINGS, |t| {
                let found = get_in::<StoredMapping>(t, "mapping", &key)?.map(|c| c.version);
                if found != Some(expected) {
                    return Ok(Outcome::Refused(found));
                }
                t.remove(key.as_str()).map_err(|e| LocalError::storage("delete mapping", e))?;
                Ok(Outcome::Done(found))
            })
            .map_err(mappings_error)?;
        match found {
            Outcome::Done(_) => Ok(()),
            Outcome::Refused(found) => Err(StoreError::Conflict {
                object: salesforce_object.to_owned(),
                expected: Some(expected),
                found,
            }),
        }
    }
}

#[cfg(test)]
mod tests;
