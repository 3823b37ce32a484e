//! The worker Lambda's handler: turns an SQS event into the engine's messages, runs one batch,
//! and answers the batch item failures (`ReportBatchItemFailures`). One span per message id, one
//! EMF metrics line per batch, and one per Salesforce object of the batch (dimensions
//! `Function=worker`, `Object`: `RecordsSettled`, `RecordsRetried`) for the dashboard.

use std::collections::{BTreeMap, HashMap};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use sfhs_aws::visibility::{Delay, SqsWaker};
use sfhs_core::emf::Emf;
use sfhs_core::sync::InMessage;
use sfhs_core::work_item::WorkItem;
use time::OffsetDateTime;
use tracing::Instrument;

/// What the handler needs, built once per cold start (by `sfhs_aws::world::worker`).
pub type Deps = sfhs_aws::world::Worker;

/// The engine's messages for an SQS event. A record without a message id cannot be reported as
/// failed, so it is processed but its failure cannot be returned (SQS never sends one).
pub fn messages(event: &SqsEvent) -> Vec<InMessage> {
    event
        .records
        .iter()
        .cloned()
        .map(|r| InMessage {
            wake: r
                .event_source_arn
                .as_deref()
                .zip(r.receipt_handle.as_deref())
                .map(|(arn, receipt)| SqsWaker::handle(arn, receipt)),
            message_id: r.message_id.unwrap_or_default(),
            body: r.body.unwrap_or_default(),
            receive_count: r
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|c| c.parse().ok())
                .unwrap_or(1),
        })
        .collect()
}

/// The batch response for the message ids to retry.
pub fn response(retry: Vec<String>) -> SqsBatchResponse {
    let mut r = SqsBatchResponse::default();
    r.batch_item_failures = retry
        .into_iter()
        .filter(|id| !id.is_empty())
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    r
}

/// Messages per Salesforce object: `(settled, retried)`. Settled: acked (written, unchanged,
/// stale, dropped or recorded as an error); retried: handed back to the queue. A body that is not
/// a work item counts under `(undecodable)`.
pub fn per_object(messages: &[InMessage], retry: &[String]) -> BTreeMap<String, (u64, u64)> {
    let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for m in messages {
        let object =
            WorkItem::from_json(&m.body).map_or_else(|_| "(undecodable)".to_owned(), |w| w.sobject);
        let entry = out.entry(object).or_default();
        if retry.contains(&m.message_id) {
            entry.1 += 1;
        } else {
            entry.0 += 1;
        }
    }
    out
}

/// The per-object EMF lines of a batch.
pub fn per_object_emf(counts: &BTreeMap<String, (u64, u64)>, at: OffsetDateTime) -> Vec<String> {
    counts
        .iter()
        .map(|(object, (settled, retried))| {
            Emf::new("sfhs")
                .dimension("Function", "worker")
                .dimension("Object", object.as_str())
                .count("RecordsSettled", *settled)
                .count("RecordsRetried", *retried)
                .to_line(at)
        })
        .collect()
}

/// Handles one SQS batch. Never fails: what could not be done goes back as batch item failures.
pub async fn handler(
    deps: &Deps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let where_from: HashMap<String, Delay> = event
        .payload
        .records
        .iter()
        .filter_map(|r| {
            Some((
                r.message_id.clone()?,
                Delay {
                    queue_arn: r.event_source_arn.clone()?,
                    receipt_handle: r.receipt_handle.clone()?,
                    receive_count: r
                        .attributes
                        .get("ApproximateReceiveCount")
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(1),
                    waiting: false,
                },
            ))
        })
        .collect();
    let messages = messages(&event.payload);
    let span = tracing::info_span!(
        "sqs_batch",
        request_id = %event.context.request_id,
        messages = messages.len(),
    );
    async {
        for m in &messages {
            let _s = tracing::info_span!("message", message_id = %m.message_id, receive_count = m.receive_count).entered();
            tracing::debug!(bytes = m.body.len(), "received");
        }
        let copies = messages.clone();
        let result = deps.engine.process(messages).await;
        let mut delays = Vec::new();
        for id in &result.retry {
            let _s = tracing::info_span!("message", message_id = %id).entered();
            tracing::info!("returned to the queue");
            if let Some(d) = where_from.get(id) {
                delays.push(Delay {
                    waiting: result.waiting.contains(id),
                    ..d.clone()
                });
            }
        }
        if let Some(r) = &deps.delays
            && !delays.is_empty()
        {
            let set = r.apply(&delays).await;
            tracing::debug!(set, of = delays.len(), "retry delays set");
        }
        let now = OffsetDateTime::now_utc();
        println!("{}", result.report.to_emf().to_line(now));
        for line in per_object_emf(&per_object(&copies, &result.retry), now) {
            println!("{line}");
        }
        tracing::info!(
            upserted = result.report.upserted,
            retried = result.report.retried,
            failed = result.report.failed,
            daily_limit = result.report.daily_limit,
            "batch done"
        );
        Ok(response(result.retry))
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str, body: &str) -> InMessage {
        InMessage { message_id: id.into(), body: body.into(), receive_count: 1, wake: None }
    }

    fn item(sobject: &str) -> String {
        serde_json::json!({
            "v": 1, "op": "upsert", "org_id": "00Dxx0000001gPFEAY", "sobject": sobject,
            "record_id": "a01xx0000000001AAA", "fields": {},
            "source": {"type": "delete_sweep"}, "received_at": "2026-12-01T10:00:00Z"
        })
        .to_string()
    }

    #[test]
    fn counts_settled_and_retried_messages_per_object() {
        let messages = [
            msg("1", &item("Invoice__c")),
            msg("2", &item("Invoice__c")),
            msg("3", &item("Account")),
            msg("4", "not json"),
        ];
        let counts = per_object(&messages, &["2".to_owned(), "3".to_owned()]);
        assert_eq!(counts["Invoice__c"], (1, 1));
        assert_eq!(counts["Account"], (0, 1));
        assert_eq!(counts["(undecodable)"], (1, 0));
        let lines = per_object_emf(&counts, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(lines.len(), 3);
        let line: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
        assert_eq!(line["Object"], "Invoice__c");
        assert_eq!(line["RecordsSettled"].as_f64(), Some(1.0));
        assert_eq!(line["RecordsRetried"].as_f64(), Some(1.0));
    }
}
