//! Children woken by their parent's commit (invariant 13), on the in-memory ports.

use super::*;
use crate::memory::MemoryWaker;

const L1: &str = "invoice_line__c#l1";

fn waking(w: &World, owner: &str) -> (Engine, Arc<MemoryWaker>) {
    let waker = Arc::new(MemoryWaker::new());
    let engine =
        engine_for(&w.store, &w.ledger, &w.hub, &w.errors, owner).with_waker(waker.clone());
    (engine, waker)
}

#[tokio::test]
async fn a_parents_commit_wakes_the_children_waiting_for_it() {
    let w = world().await;
    let (engine, waker) = waking(&w, "w1");
    let r = engine
        .process(msgs(&[
            line("l1", 5, Some("a1")),
            line("l2", 5, Some("a1")),
            line("l3", 5, Some("a2")),
        ]))
        .await;
    assert_eq!(r.retry.len(), 3);
    assert_eq!(r.waiting, r.retry, "handed back as waiting, for the re-check");
    assert!(waker.woken().is_empty());
    assert_eq!(
        w.ledger.entry(L1).unwrap().wake.as_deref(),
        Some("wake-m0"),
        "the ledger keeps how to wake the message"
    );

    // a1 commits: its two children are woken, a2's is not.
    let r = engine.process(msgs(&[inv("a1", 5, "v5")])).await;
    assert_eq!(r.report.woken, 2);
    let mut woken = waker.woken();
    woken.sort();
    assert_eq!(woken, ["wake-m0", "wake-m1"]);

    // Woken, they complete; the handle is forgotten, and a1's next commit wakes no one.
    let r = engine.process(msgs(&[line("l1", 5, Some("a1")), line("l2", 5, Some("a1"))])).await;
    assert!(r.retry.is_empty() && r.waiting.is_empty(), "{r:?}");
    assert_eq!(r.report.associations_created, 2);
    assert_eq!(w.ledger.entry(L1).unwrap().wake, None);
    let r = engine.process(msgs(&[inv("a1", 6, "v6")])).await;
    assert_eq!(r.report.woken, 0);
    assert_eq!(waker.woken().len(), 2);
}

#[tokio::test]
async fn a_child_that_failed_or_completed_meanwhile_is_not_woken() {
    let w = world().await;
    let (engine, waker) = waking(&w, "w1");
    engine.process(msgs(&[line("l1", 5, Some("a1"))])).await;
    // A newer version of the child, no longer linked, completes before the parent comes.
    let r = engine.process(msgs(&[line("l1", 6, None)])).await;
    assert!(r.retry.is_empty(), "{r:?}");
    let r = engine.process(msgs(&[inv("a1", 5, "v5")])).await;
    assert_eq!(r.report.woken, 0, "nothing waits any more");
    assert!(waker.woken().is_empty());
}

#[tokio::test]
async fn without_a_waker_children_wait_for_their_recheck() {
    let w = world().await;
    let r = w.engine.process(msgs(&[line("l1", 5, Some("a1"))])).await;
    assert_eq!(r.waiting, ["m0"]);
    let r = w.engine.process(msgs(&[inv("a1", 5, "v5")])).await;
    assert_eq!(r.report.woken, 0);
}

#[tokio::test]
async fn a_parent_committed_while_its_child_notes_itself_sends_the_child_back_at_once() {
    let w = world().await;
    let ledger = Arc::new(ArrivingLedger {
        inner: w.ledger.clone(),
        parent: RecordKey::new("Invoice__c", "a1"),
    });
    let engine = Engine::new(
        Arc::new(CachedMappings::new(w.store.clone(), Duration::ZERO)),
        ledger,
        w.hub.clone(),
        w.errors.clone(),
        EngineConfig::new("w1"),
    )
    .with_waker(Arc::new(MemoryWaker::new()));
    let r = engine.process(msgs(&[line("l1", 5, Some("a1"))])).await;
    assert_eq!(r.retry, ["m0"], "still handed back: its association is not made");
    assert!(r.waiting.is_empty(), "not for the re-check: its parent is there now");
}

/// A ledger in which the parent commits between the child's parent lookup and its note.
#[derive(Debug)]
struct ArrivingLedger {
    inner: Arc<MemoryLedger>,
    parent: RecordKey,
}

#[async_trait::async_trait]
impl Ledger for ArrivingLedger {
    async fn claim(&self, claim: &ClaimRequest<'_>) -> Result<Claim, LedgerError> {
        self.inner.claim(claim).await
    }

    async fn commit(
        &self,
        key: &RecordKey,
        owner: &str,
        commit: &Commit,
    ) -> Result<bool, LedgerError> {
        self.inner.commit(key, owner, commit).await
    }

    async fn release(&self, key: &RecordKey, release: Release<'_>) -> Result<(), LedgerError> {
        self.inner.release(key, release).await
    }

    async fn get_many(
        &self,
        keys: &[RecordKey],
    ) -> Result<std::collections::HashMap<RecordKey, LedgerEntry>, LedgerError> {
        self.inner.get_many(keys).await
    }

    async fn get_parents(
        &self,
        keys: &[ParentKey],
    ) -> Result<std::collections::HashMap<ParentKey, String>, LedgerError> {
        self.inner.get_parents(keys).await
    }

    async fn put_parents(
        &self,
        found: &[(ParentKey, String)],
        ttl: Duration,
    ) -> Result<(), LedgerError> {
        self.inner.put_parents(found, ttl).await
    }

    async fn add_waiters(
        &self,
        waits: &[(RecordKey, RecordKey)],
        ttl: Duration,
    ) -> Result<(), LedgerError> {
        self.inner.insert(
            &self.parent,
            LedgerEntry {
                version: Some(Version(1)),
                hubspot_id: Some("hs-a1".into()),
                ..LedgerEntry::default()
            },
        );
        self.inner.add_waiters(waits, ttl).await
    }

    async fn take_waiters(&self, parents: &[RecordKey]) -> Result<Vec<RecordKey>, LedgerError> {
        self.inner.take_waiters(parents).await
    }
}
