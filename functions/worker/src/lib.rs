//! The worker Lambda's handler: turns an SQS event into the engine's messages, runs one batch,
//! and answers the batch item failures (`ReportBatchItemFailures`). One span per message id, one
//! EMF metrics line per batch.

use std::collections::HashMap;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::LambdaEvent;
use sfhs_aws::visibility::{Delay, RetryDelays};
use sfhs_core::sync::{Engine, InMessage};
use time::OffsetDateTime;
use tracing::Instrument;

/// What the handler needs, built once per cold start.
#[derive(Debug)]
pub struct Deps {
    pub engine: Engine,
    /// Growing delays for handed-back messages; `None`: the queue's visibility timeout.
    pub delays: Option<RetryDelays>,
}

/// The engine's messages for an SQS event. A record without a message id cannot be reported as
/// failed, so it is processed but its failure cannot be returned (SQS never sends one).
pub fn messages(event: &SqsEvent) -> Vec<InMessage> {
    event
        .records
        .iter()
        .cloned()
        .map(|r| InMessage {
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
        let result = deps.engine.process(messages).await;
        let mut delays = Vec::new();
        for id in &result.retry {
            let _s = tracing::info_span!("message", message_id = %id).entered();
            tracing::info!("returned to the queue");
            if let Some(d) = where_from.get(id) {
                delays.push(d.clone());
            }
        }
        if let Some(r) = &deps.delays
            && !delays.is_empty()
        {
            let set = r.apply(&delays).await;
            tracing::debug!(set, of = delays.len(), "retry delays set");
        }
        println!(
            "{}",
            result.report.to_emf().to_line(OffsetDateTime::now_utc())
        );
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
