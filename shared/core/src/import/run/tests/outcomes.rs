//! What ends an import: permanent problems, and a parent's import that starts its children's.

use super::*;

#[tokio::test]
async fn permanent_problems_fail_the_import() {
    // A record without Id.
    let mut reader = FakeReader::new(30, 10);
    reader.bad = Some(15);
    let (runner, queue, _) = make_runner(reader, true).await;
    let out = start(&runner, &record(30, 1000)).await;
    assert!(matches!(out, RunOutcome::Failed { .. }), "{out:?}");
    assert_eq!(queue.messages().len(), 10, "the pages before it are queued");
    let stored = runner.store.get("imp-1").await.unwrap().unwrap();
    assert_eq!(stored.status, ImportStatus::Failed);
    assert!(stored.last_error.unwrap().contains("no Id"));

    // A non-retryable Salesforce error.
    let mut reader = FakeReader::new(30, 10);
    reader.permanent_error = true;
    let (runner, _, _) = make_runner(reader, true).await;
    let out = start(&runner, &record(30, 1000)).await;
    assert!(
        matches!(out, RunOutcome::Failed { ref error } if error.contains("MALFORMED_QUERY")),
        "{out:?}"
    );

    // No mapping applied.
    let (runner, _, _) = make_runner(FakeReader::new(30, 10), false).await;
    let out = start(&runner, &record(30, 1000)).await;
    assert!(matches!(out, RunOutcome::Failed { .. }), "{out:?}");
    assert!(runner.create("X__c", None, 10, false, OffsetDateTime::now_utc()).await.is_err());
}

#[test]
fn runner_ids_are_unique_to_the_process() {
    let a = runner_id("dev");
    assert!(a.starts_with(&format!("dev-{}-", std::process::id())), "{a}");
    assert_ne!(a, runner_id("dev"));
}

#[tokio::test]
async fn a_childs_import_waits_for_its_parents_and_is_started_by_it() {
    let (mut runner, queue, _) = make_runner(FakeReader::new(5, 10), true).await;
    let continuation = Arc::new(MemoryContinuation::new());
    runner.continuation = continuation.clone();
    let child_mapping = serde_norway::from_str(
        "salesforce_object: Y__c\nhubspot_object: p1_y\nid_property: sfid\nstate: enabled\nfields:\n  - {salesforce: Name, hubspot: name}\nassociations:\n  - lookup: X__c\n    to: p1_x\n    find_parent_by: {mapping: X__c}\n",
    )
    .unwrap();
    runner
        .mappings
        .put(
            &StoredMapping {
                mapping: child_mapping,
                version: 1,
                updated_at: OffsetDateTime::now_utc(),
                enabled_at: None,
                outbound_fields: None,
            },
            None,
        )
        .await
        .unwrap();
    let t0 = OffsetDateTime::now_utc();
    let at = |id: &str, object: &str, created| {
        ImportRecord::new(id.into(), object.into(), None, 5, 1_000, created)
    };
    // Recorded together (as `sfhs dev --import` does), the parent's first.
    let parent = at("imp-1", "X__c", t0);
    let child = at("imp-2", "Y__c", t0);
    runner.store.put(&parent, None).await.unwrap();
    runner.store.put(&child, None).await.unwrap();

    let out = runner.run("imp-2", "r1", None).await.unwrap();
    let RunOutcome::AfterParents { reason } = out else {
        panic!("{out:?}");
    };
    assert!(reason.contains("imp-1") && reason.contains("X__c"), "{reason}");
    let waiting = runner.store.get("imp-2").await.unwrap().unwrap();
    assert!(waiting.holder(OffsetDateTime::now_utc()).is_claimable());
    assert!(queue.is_empty(), "nothing of the child is read yet");

    // The parent's import enqueues everything, then starts the child's.
    let out = runner.run("imp-1", "r1", None).await.unwrap();
    assert!(matches!(out, RunOutcome::Completed { enqueued: 5, .. }), "{out:?}");
    assert_eq!(continuation.take(), ["imp-2"]);
    let out = runner.run("imp-2", "r1", None).await.unwrap();
    assert!(matches!(out, RunOutcome::Completed { enqueued: 5, .. }), "{out:?}");
    let objects: Vec<String> = queue
        .messages()
        .iter()
        .map(|b| crate::work_item::WorkItem::from_json(b).unwrap().sobject)
        .collect();
    assert_eq!(objects, [["X__c"; 5], ["Y__c"; 5]].concat(), "the parents ahead of the children");

    // A child's import recorded before its parent's does not wait (a cycle never blocks).
    let early = at("imp-3", "Y__c", t0 + time::Duration::seconds(1));
    let late = at("imp-4", "X__c", t0 + time::Duration::seconds(2));
    runner.store.put(&early, None).await.unwrap();
    runner.store.put(&late, None).await.unwrap();
    let out = runner.run("imp-3", "r1", None).await.unwrap();
    assert!(matches!(out, RunOutcome::Completed { .. }), "{out:?}");
}
