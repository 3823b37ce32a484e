//! The sync ports in memory: the ledger, the error store and a HubSpot writer.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::mapping::schema::HsObject;
use crate::sync::ports::{
    AssociationKind, Between, ByProperty, Claim, ClaimRequest, Commit, CreateRecord, ErrorCategory,
    ErrorRecord, ErrorStore, ErrorStoreError, HubSpotWriter, Ledger, LedgerEntry, LedgerError,
    Release, UpsertRecord, Upserted, WriteError, WriteErrorKind, WriteFailure, WriteOutcomes,
    WriterStats, Writes, decide_claim,
};
use crate::sync::{ParentKey, RecordKey};

use super::lock;

/// The ledger in memory.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    items: Mutex<HashMap<RecordKey, LedgerEntry>>,
    /// Parents found by a property: key -> (HubSpot id, expiry).
    parents: Mutex<HashMap<ParentKey, (String, std::time::Instant)>>,
    /// Children waiting, by parent key.
    waiters: Mutex<HashMap<RecordKey, BTreeSet<RecordKey>>>,
    unavailable: Mutex<usize>,
}

impl MemoryLedger {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn entry(&self, key: &str) -> Option<LedgerEntry> {
        lock(&self.items).get(key).cloned()
    }

    pub fn len(&self) -> usize {
        lock(&self.items).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Puts an entry as is (test set-up: a lease held by someone else, a parent synced).
    pub fn insert(&self, key: &RecordKey, entry: LedgerEntry) {
        lock(&self.items).insert(key.clone(), entry);
    }

    /// The next `n` calls fail (retryable).
    pub fn fail_next_calls(&self, n: usize) {
        *lock(&self.unavailable) = n;
    }

    fn fault(&self, operation: &'static str) -> Result<(), LedgerError> {
        let mut n = lock(&self.unavailable);
        if *n > 0 {
            *n -= 1;
            return Err(LedgerError {
                operation,
                message: "injected failure".into(),
                retryable: true,
                source: None,
            });
        }
        Ok(())
    }
}

#[async_trait]
impl Ledger for MemoryLedger {
    async fn claim(&self, claim: &ClaimRequest<'_>) -> Result<Claim, LedgerError> {
        self.fault("claim")?;
        let mut items = lock(&self.items);
        if let Some(refused) = decide_claim(items.get(claim.key), claim) {
            return Ok(refused);
        }
        let e = items.entry(claim.key.clone()).or_default();
        let before = std::mem::take(e);
        *e = claim.leased(before.clone());
        Ok(Claim::Claimed(before))
    }

    async fn commit(&self, key: &RecordKey, owner: &str, c: &Commit) -> Result<bool, LedgerError> {
        self.fault("commit")?;
        let mut items = lock(&self.items);
        let Some(e) = items.get_mut(key) else {
            return Ok(false);
        };
        if e.lease_owner.as_deref() != Some(owner) {
            return Ok(false);
        }
        *e = c.entry();
        Ok(true)
    }

    async fn release(&self, key: &RecordKey, release: Release<'_>) -> Result<(), LedgerError> {
        let mut items = lock(&self.items);
        if let Some(e) = items.get_mut(key) {
            e.release(release);
        }
        Ok(())
    }

    async fn get_many(
        &self,
        keys: &[RecordKey],
    ) -> Result<HashMap<RecordKey, LedgerEntry>, LedgerError> {
        self.fault("get_many")?;
        let items = lock(&self.items);
        Ok(keys.iter().filter_map(|k| items.get(k).map(|e| (k.clone(), e.clone()))).collect())
    }

    async fn get_parents(
        &self,
        keys: &[ParentKey],
    ) -> Result<HashMap<ParentKey, String>, LedgerError> {
        self.fault("get_parents")?;
        let now = std::time::Instant::now();
        let parents = lock(&self.parents);
        Ok(keys
            .iter()
            .filter_map(|k| {
                parents
                    .get(k)
                    .filter(|(_, until)| *until > now)
                    .map(|(h, _)| (k.clone(), h.clone()))
            })
            .collect())
    }

    async fn put_parents(
        &self,
        found: &[(ParentKey, String)],
        ttl: std::time::Duration,
    ) -> Result<(), LedgerError> {
        self.fault("put_parents")?;
        let until = std::time::Instant::now() + ttl;
        let mut parents = lock(&self.parents);
        for (k, h) in found {
            parents.insert(k.clone(), (h.clone(), until));
        }
        Ok(())
    }

    async fn add_waiters(
        &self,
        waits: &[(RecordKey, RecordKey)],
        _ttl: std::time::Duration,
    ) -> Result<(), LedgerError> {
        self.fault("add_waiters")?;
        let mut waiters = lock(&self.waiters);
        for (parent, child) in waits {
            waiters.entry(parent.clone()).or_default().insert(child.clone());
        }
        Ok(())
    }

    async fn take_waiters(&self, parents: &[RecordKey]) -> Result<Vec<RecordKey>, LedgerError> {
        self.fault("take_waiters")?;
        let mut waiters = lock(&self.waiters);
        Ok(parents.iter().filter_map(|p| waiters.remove(p)).flatten().collect())
    }
}

/// A waker in memory: it notes the handles it was asked to wake (the memory queue delivers a
/// handed-back message again at once anyway).
#[derive(Debug, Default)]
pub struct MemoryWaker {
    woken: Mutex<Vec<String>>,
}

impl MemoryWaker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every handle woken so far, in order.
    pub fn woken(&self) -> Vec<String> {
        lock(&self.woken).clone()
    }
}

#[async_trait]
impl crate::sync::ports::Waker for MemoryWaker {
    async fn wake(&self, handles: &[String]) -> usize {
        lock(&self.woken).extend(handles.iter().cloned());
        handles.len()
    }
}

/// The errors table in memory.
#[derive(Debug, Default)]
pub struct MemoryErrorStore {
    records: Mutex<BTreeMap<String, ErrorRecord>>,
}

impl MemoryErrorStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn records(&self) -> Vec<ErrorRecord> {
        lock(&self.records).values().cloned().collect()
    }

    pub fn get(&self, id: &str) -> Option<ErrorRecord> {
        lock(&self.records).get(id).cloned()
    }
}

#[async_trait]
impl ErrorStore for MemoryErrorStore {
    async fn put(&self, record: &ErrorRecord) -> Result<(), ErrorStoreError> {
        lock(&self.records).insert(record.id.clone(), record.clone());
        Ok(())
    }

    async fn list(&self) -> Result<Vec<ErrorRecord>, ErrorStoreError> {
        let mut all: Vec<ErrorRecord> = lock(&self.records).values().cloned().collect();
        all.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.id.cmp(&b.id)));
        Ok(all)
    }

    async fn get(&self, id: &str) -> Result<Option<ErrorRecord>, ErrorStoreError> {
        Ok(lock(&self.records).get(id).cloned())
    }

    async fn delete(&self, id: &str) -> Result<(), ErrorStoreError> {
        lock(&self.records).remove(id);
        Ok(())
    }
}

/// HubSpot's refusal of a record holding one of the refused values.
fn refused(bad: &BTreeSet<String>, properties: &BTreeMap<String, String>) -> Option<WriteFailure> {
    properties.iter().find(|(_, v)| bad.contains(*v)).map(|(p, v)| WriteFailure {
        category: ErrorCategory::Validation,
        property: Some(p.clone()),
        value: Some(v.clone()),
        message: format!("Property values were not valid: {p}={v:?}"),
        retryable: false,
    })
}

/// One record of [`MemoryHubSpot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemRecord {
    pub hubspot_id: String,
    pub properties: BTreeMap<String, String>,
    pub archived: bool,
}

#[derive(Debug, Default)]
struct HubState {
    schemas: HashMap<String, HsObject>,
    /// object -> HubSpot id -> record.
    records: HashMap<String, BTreeMap<String, MemRecord>>,
    /// (from object, from id, to object, to id, label).
    associations: BTreeSet<(String, String, String, String, Option<String>)>,
    next_id: u64,
    calls: u64,
    fail_calls: usize,
    /// operation -> calls of it still to fail.
    fail_operations: HashMap<&'static str, usize>,
    daily: bool,
    /// Values refused whatever the property (validation failures).
    bad_values: BTreeSet<String>,
}

/// A small HubSpot in memory: schemas, records keyed by a unique property, associations, and
/// injectable faults. Values are not type-checked (the engine's conversion does that);
/// [`MemoryHubSpot::refuse_value`] makes HubSpot reject a value.
#[derive(Debug, Default)]
pub struct MemoryHubSpot {
    state: Mutex<HubState>,
}

impl MemoryHubSpot {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers an object (under its fully qualified name and its type id).
    pub fn add_object(&self, object: HsObject) {
        let mut s = lock(&self.state);
        s.schemas.insert(object.object_type_id.clone(), object.clone());
        s.schemas.insert(object.fully_qualified_name.to_ascii_lowercase(), object);
    }

    /// Puts a record directly (a parent synced by HubSpot's own integration).
    pub fn put_record(&self, object: &str, properties: BTreeMap<String, String>) -> String {
        let mut s = lock(&self.state);
        s.next_id += 1;
        let id = s.next_id.to_string();
        let name = Self::canonical(&s, object);
        s.records
            .entry(name)
            .or_default()
            .insert(id.clone(), MemRecord { hubspot_id: id.clone(), properties, archived: false });
        id
    }

    /// The next `n` calls fail as a whole (retryable, like a 503 through every retry).
    pub fn fail_next_calls(&self, n: usize) {
        lock(&self.state).fail_calls = n;
    }

    /// The next `n` calls of `operation` (`"upsert"`, `"create"`, `"find_by_property"`, ...) fail
    /// as a whole (retryable).
    pub fn fail_operation(&self, operation: &'static str, n: usize) {
        lock(&self.state).fail_operations.insert(operation, n);
    }

    /// Every call fails with the daily limit until cleared.
    pub fn set_daily_limit(&self, on: bool) {
        lock(&self.state).daily = on;
    }

    /// HubSpot rejects this value in any property.
    pub fn refuse_value(&self, value: &str) {
        lock(&self.state).bad_values.insert(value.to_owned());
    }

    pub fn calls(&self) -> u64 {
        lock(&self.state).calls
    }

    /// Live and archived records of an object.
    pub fn records(&self, object: &str) -> Vec<MemRecord> {
        let s = lock(&self.state);
        let name = Self::canonical(&s, object);
        s.records.get(&name).map(|r| r.values().cloned().collect()).unwrap_or_default()
    }

    /// The live record whose `property` is `value`.
    pub fn find(&self, object: &str, property: &str, value: &str) -> Option<MemRecord> {
        self.records(object)
            .into_iter()
            .find(|r| !r.archived && r.properties.get(property).map(String::as_str) == Some(value))
    }

    /// HubSpot ids associated from `from_id` to records of `to`, with labels.
    pub fn associations(
        &self,
        from: &str,
        from_id: &str,
        to: &str,
    ) -> Vec<(String, Option<String>)> {
        let s = lock(&self.state);
        let (f, t) = (Self::canonical(&s, from), Self::canonical(&s, to));
        s.associations
            .iter()
            .filter(|(fo, fi, to_o, _, _)| *fo == f && fi == from_id && *to_o == t)
            .map(|(_, _, _, ti, l)| (ti.clone(), l.clone()))
            .collect()
    }

    fn canonical(s: &HubState, object: &str) -> String {
        s.schemas.get(&object.to_ascii_lowercase()).or_else(|| s.schemas.get(object)).map_or_else(
            || object.to_ascii_lowercase(),
            |o| o.fully_qualified_name.to_ascii_lowercase(),
        )
    }

    fn call(&self, operation: &'static str) -> Result<MutexGuard<'_, HubState>, WriteError> {
        let mut s = lock(&self.state);
        s.calls += 1;
        if s.daily {
            return Err(WriteError {
                operation,
                kind: WriteErrorKind::DailyLimit {
                    reset_at: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
                },
                message: "daily limit (injected)".into(),
                source: None,
            });
        }
        let by_operation = s.fail_operations.get_mut(operation).filter(|n| **n > 0);
        let failing_operation = by_operation.map(|n| *n -= 1).is_some();
        if failing_operation || s.fail_calls > 0 {
            if !failing_operation {
                s.fail_calls -= 1;
            }
            return Err(WriteError {
                operation,
                kind: WriteErrorKind::Retryable,
                message: "HTTP 503 (injected)".into(),
                source: None,
            });
        }
        Ok(s)
    }
}

#[async_trait]
impl HubSpotWriter for MemoryHubSpot {
    async fn describe(&self, object: &str) -> Result<Option<HsObject>, WriteError> {
        let s = lock(&self.state);
        Ok(s.schemas.get(&object.to_ascii_lowercase()).or_else(|| s.schemas.get(object)).cloned())
    }

    async fn upsert(&self, batch: Writes<'_, UpsertRecord>) -> Result<WriteOutcomes, WriteError> {
        let mut s = self.call("upsert")?;
        let (name, id_property) = (Self::canonical(&s, batch.by.object), batch.by.property);
        let mut out = HashMap::new();
        for r in batch.records {
            if let Some(f) = refused(&s.bad_values, &r.properties) {
                out.insert(r.id.clone(), Err(f));
                continue;
            }
            let existing = s.records.get(&name).and_then(|recs| {
                recs.values()
                    .find(|x| !x.archived && x.properties.get(id_property) == Some(&r.id))
                    .map(|x| x.hubspot_id.clone())
            });
            let (hubspot_id, created) = match existing {
                Some(id) => (id, false),
                None => {
                    s.next_id += 1;
                    (s.next_id.to_string(), true)
                }
            };
            let rec = s
                .records
                .entry(name.clone())
                .or_default()
                .entry(hubspot_id.clone())
                .or_insert_with(|| MemRecord {
                    hubspot_id: hubspot_id.clone(),
                    properties: BTreeMap::new(),
                    archived: false,
                });
            rec.properties.insert(id_property.to_owned(), r.id.clone());
            for (k, v) in r.properties {
                rec.properties.insert(k, v);
            }
            out.insert(r.id, Ok(Upserted { hubspot_id, created }));
        }
        Ok(out)
    }

    async fn create(&self, batch: Writes<'_, CreateRecord>) -> Result<WriteOutcomes, WriteError> {
        let Writes { by, records } = batch;
        let mut s = self.call("create")?;
        let (name, id_property) = (Self::canonical(&s, by.object), by.property);
        // Like HubSpot: a unique value that exists fails the whole call, nothing is written.
        let taken: HashSet<String> = s
            .records
            .get(&name)
            .map(|recs| {
                recs.values()
                    .filter(|x| !x.archived)
                    .filter_map(|x| x.properties.get(id_property).cloned())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(r) = records.iter().find(|r| taken.contains(&r.id)) {
            return Err(WriteError {
                operation: "create",
                kind: WriteErrorKind::Permanent { category: ErrorCategory::Validation },
                message: format!("{id_property} {} already exists", r.id),
                source: None,
            });
        }
        let mut out = HashMap::new();
        for r in records {
            if let Some(f) = refused(&s.bad_values, &r.properties) {
                out.insert(r.id.clone(), Err(f));
                continue;
            }
            s.next_id += 1;
            let hubspot_id = s.next_id.to_string();
            let mut properties = r.properties;
            properties.insert(id_property.to_owned(), r.id.clone());
            s.records.entry(name.clone()).or_default().insert(
                hubspot_id.clone(),
                MemRecord { hubspot_id: hubspot_id.clone(), properties, archived: false },
            );
            for a in r.associations {
                let t = Self::canonical(&s, &a.to);
                s.associations.insert((name.clone(), hubspot_id.clone(), t, a.to_id, a.label));
            }
            out.insert(r.id, Ok(Upserted { hubspot_id, created: true }));
        }
        Ok(out)
    }

    async fn archive(&self, by: ByProperty<'_>, ids: &[String]) -> Result<(), WriteError> {
        let mut s = self.call("archive")?;
        let name = Self::canonical(&s, by.object);
        if let Some(recs) = s.records.get_mut(&name) {
            for r in recs.values_mut() {
                if r.properties.get(by.property).is_some_and(|v| ids.contains(v)) {
                    r.archived = true;
                }
            }
        }
        Ok(())
    }

    async fn associate(
        &self,
        kind: AssociationKind<'_>,
        pairs: &[(String, String)],
    ) -> Result<Vec<((String, String), WriteFailure)>, WriteError> {
        let mut s = self.call("associate")?;
        let Between { from, to } = kind.between;
        let (f, t, label) = (Self::canonical(&s, from), Self::canonical(&s, to), kind.label);
        for (a, b) in pairs {
            s.associations.insert((
                f.clone(),
                a.clone(),
                t.clone(),
                b.clone(),
                label.map(str::to_owned),
            ));
        }
        Ok(Vec::new())
    }

    async fn unassociate(
        &self,
        between: Between<'_>,
        pairs: &[(String, String)],
    ) -> Result<(), WriteError> {
        let mut s = self.call("unassociate")?;
        let (f, t) = (Self::canonical(&s, between.from), Self::canonical(&s, between.to));
        s.associations.retain(|(fo, fi, to_o, ti, _)| {
            !(*fo == f && *to_o == t && pairs.iter().any(|(a, b)| a == fi && b == ti))
        });
        Ok(())
    }

    async fn find_by_property(
        &self,
        by: ByProperty<'_>,
        values: &[String],
    ) -> Result<HashMap<String, String>, WriteError> {
        let s = self.call("find_by_property")?;
        let name = Self::canonical(&s, by.object);
        let mut out = HashMap::new();
        if let Some(recs) = s.records.get(&name) {
            for r in recs.values().filter(|r| !r.archived) {
                if let Some(v) = r.properties.get(by.property)
                    && values.contains(v)
                {
                    out.insert(v.clone(), r.hubspot_id.clone());
                }
            }
        }
        Ok(out)
    }

    async fn all_values(&self, by: ByProperty<'_>) -> Result<HashMap<String, String>, WriteError> {
        let s = self.call("all_values")?;
        let name = Self::canonical(&s, by.object);
        Ok(s.records
            .get(&name)
            .map(|recs| {
                recs.values()
                    .filter(|r| !r.archived)
                    .filter_map(|r| {
                        r.properties.get(by.property).map(|v| (v.clone(), r.hubspot_id.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    fn stats(&self) -> WriterStats {
        WriterStats { calls: self.calls(), rate_limited: 0 }
    }
}
