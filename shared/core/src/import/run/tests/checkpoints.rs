//! Bulk and REST runs to the end, and where a run resumes: cursors, keys, old checkpoints.

use super::*;

#[tokio::test]
async fn bulk_and_rest_runs_complete() {
    for threshold in [1, 1_000_000] {
        let (runner, queue, _) = make_runner(FakeReader::new(45, 10), true).await;
        let out = start(&runner, &record(45, threshold)).await;
        assert_eq!(out, RunOutcome::Completed { enqueued: 45, pages: 5 });
        assert_eq!(queue.messages().len(), 45);
        let stored = runner.store.get("imp-1").await.unwrap().unwrap();
        assert_eq!(stored.holder(OffsetDateTime::now_utc()), Holder::Finished);
    }
}

/// A resume after a pause longer than Salesforce keeps its cursors: REST queries on from
/// the key, Bulk creates the job again from the key; nothing is missed, nothing re-sent.
#[tokio::test]
async fn expired_cursors_fall_back_to_the_key() {
    for threshold in [1_000_000, 1] {
        let (mut runner, queue, reader) = make_runner(FakeReader::new(95, 10), true).await;
        runner.settings.max_pages_per_run = Some(3);
        let out = start(&runner, &record(95, threshold)).await;
        assert!(matches!(out, RunOutcome::HandedOver { enqueued: 30, .. }), "{out:?}");
        let stored = runner.store.get("imp-1").await.unwrap().unwrap();
        assert_eq!(stored.checkpoint.key(), Some(Some("r00029")), "{:?}", stored.checkpoint);
        // The pause: the cursors are gone.
        reader.expire_cursors.store(true, Ordering::SeqCst);
        runner.settings.max_pages_per_run = None;
        let out = runner.run("imp-1", "b", None).await.unwrap();
        assert!(matches!(out, RunOutcome::Completed { enqueued: 65, .. }), "{out:?}");
        let seen = enqueued(&queue);
        assert_eq!(seen.len(), 95, "every record");
        assert!(seen.values().all(|&n| n == 1), "none twice: {seen:?}");
        if threshold == 1 {
            assert_eq!(reader.jobs.load(Ordering::SeqCst), 2, "the job made again");
        }
        assert!(reader.key_queries.load(Ordering::SeqCst) >= 1);
    }
}

/// A checkpointed cursor that now answers with another object's records is not followed.
#[tokio::test]
async fn a_cursor_answering_for_another_object_is_replaced_by_the_key() {
    let (mut runner, queue, reader) = make_runner(FakeReader::new(45, 10), true).await;
    runner.settings.max_pages_per_run = Some(2);
    let out = start(&runner, &record(45, 1_000_000)).await;
    assert!(matches!(out, RunOutcome::HandedOver { .. }), "{out:?}");
    reader.foreign_cursors.store(true, Ordering::SeqCst);
    runner.settings.max_pages_per_run = None;
    let out = runner.run("imp-1", "b", None).await.unwrap();
    assert!(matches!(out, RunOutcome::Completed { .. }), "{out:?}");
    let seen = enqueued(&queue);
    assert_eq!(seen.len(), 45, "{seen:?}");
    assert!(seen.values().all(|&n| n == 1));
}

/// A REST cursor older than `cursor_max_idle` is not even tried; a checkpoint of the
/// previous version (no key) starts again from the first record when its cursor is gone.
#[tokio::test]
async fn old_cursors_and_old_checkpoints() {
    let (runner, queue, reader) = make_runner(FakeReader::new(25, 10), true).await;
    let mut r = record(25, 1_000_000);
    r.checkpoint = Checkpoint::Rest {
        ordered: true,
        last_id: Some(id(9)),
        next_records_url: Some("10".into()),
        cursor_used: Some(OffsetDateTime::now_utc() - time::Duration::minutes(30)),
    };
    let out = start(&runner, &r).await;
    assert!(matches!(out, RunOutcome::Completed { enqueued: 15, .. }), "{out:?}");
    assert_eq!(reader.key_queries.load(Ordering::SeqCst), 1);
    assert_eq!(enqueued(&queue).len(), 15);

    let (runner, queue, reader) = make_runner(FakeReader::new(25, 10), true).await;
    reader.expire_cursors.store(true, Ordering::SeqCst);
    let mut r = record(25, 1_000_000);
    r.checkpoint = serde_json::from_str(r#"{"kind":"rest","next_records_url":"10"}"#).unwrap();
    let out = start(&runner, &r).await;
    assert!(matches!(out, RunOutcome::Completed { enqueued: 25, .. }), "{out:?}");
    assert_eq!(enqueued(&queue).len(), 25, "from the first record");
}
