//! CloudWatch Embedded Metric Format: one JSON line per unit of work, printed to stdout, turned
//! into metrics by CloudWatch Logs without any API call.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// Metrics of one unit of work, under one namespace and one set of dimensions.
#[derive(Debug, Clone)]
pub struct Emf {
    namespace: String,
    dimensions: Vec<(String, String)>,
    metrics: Vec<(String, &'static str, f64)>,
    properties: Map<String, Value>,
}

impl Emf {
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            dimensions: Vec::new(),
            metrics: Vec::new(),
            properties: Map::new(),
        }
    }

    pub fn dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.dimensions.push((name.into(), value.into()));
        self
    }

    /// A count (unit `Count`).
    pub fn count(mut self, name: impl Into<String>, value: u64) -> Self {
        // Counts far below 2^53 are exact in f64.
        #[allow(clippy::cast_precision_loss)]
        self.metrics.push((name.into(), "Count", value as f64));
        self
    }

    /// A duration in milliseconds.
    pub fn millis(mut self, name: impl Into<String>, value: f64) -> Self {
        self.metrics.push((name.into(), "Milliseconds", value));
        self
    }

    /// A searchable property that is not a metric.
    pub fn property(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.insert(name.into(), value.into());
        self
    }

    /// The EMF document, as one line.
    pub fn to_line(&self, at: OffsetDateTime) -> String {
        let millis = at.unix_timestamp_nanos() / 1_000_000;
        let mut root = self.properties.clone();
        for (name, value) in &self.dimensions {
            root.insert(name.clone(), Value::String(value.clone()));
        }
        for (name, _, value) in &self.metrics {
            root.insert(name.clone(), json!(value));
        }
        let dims: Vec<&str> = self.dimensions.iter().map(|(n, _)| n.as_str()).collect();
        let metrics: Vec<Value> =
            self.metrics.iter().map(|(n, unit, _)| json!({"Name": n, "Unit": unit})).collect();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": i64::try_from(millis).unwrap_or(i64::MAX),
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [dims],
                    "Metrics": metrics,
                }],
            }),
        );
        Value::Object(root).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn renders_an_emf_document() {
        let line = Emf::new("sfhs")
            .dimension("Function", "webhook")
            .count("NotificationsEnqueued", 3)
            .millis("Duration", 1.5)
            .property("outcome", "acked")
            .to_line(datetime!(2026-11-28 00:00:00 UTC));
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_795_824_000_000_i64);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0][0], "Function");
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "NotificationsEnqueued"
        );
        assert_eq!(v["NotificationsEnqueued"], 3.0);
        assert_eq!(v["Function"], "webhook");
        assert_eq!(v["outcome"], "acked");
        assert!(!line.contains('\n'));
    }
}
