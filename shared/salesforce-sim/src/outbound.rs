//! Outbound messages: SOAP notifications POSTed to a configured endpoint on create and update,
//! up to 100 per message, retried with growing delays until acked, dropped after a (scalable)
//! 24 hours.

use quick_xml::escape::escape;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use serde_json::Value;
use tokio::time::Instant;

use crate::Shared;
use crate::dates;
use crate::org::Row;
use crate::schema::{FieldType, ObjectDef, Rng};

/// The outbound-message namespace.
pub const OUTBOUND_NS: &str = "http://soap.sforce.com/2005/09/outbound";
/// SOAP 1.1 envelope namespace.
pub const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// At most this many notifications per POST.
pub const MAX_NOTIFICATIONS: usize = 100;

/// An outbound message definition: which object, which fields, where to.
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    /// Object API name.
    pub object: String,
    /// Selected fields (`Id` is always sent); empty = every field of the object.
    pub fields: Vec<String>,
    /// Endpoint URL.
    pub url: String,
    /// Send a SessionId (a fake one) instead of `xsi:nil`.
    pub send_session_id: bool,
}

impl OutboundConfig {
    /// Every field of `object`, to `url`.
    pub fn all_fields(object: &str, url: &str) -> OutboundConfig {
        OutboundConfig {
            object: object.to_owned(),
            fields: Vec::new(),
            url: url.to_owned(),
            send_session_id: false,
        }
    }
}

/// Delivery timing. Salesforce: 60 s timeout, exponential backoff up to 2 h between tries, drop
/// after 24 h. [`OutboundTiming::scaled`] shrinks all of it for tests.
#[derive(Debug, Clone, Copy)]
pub struct OutboundTiming {
    /// Delay before the first retry (doubles each time).
    pub first_retry: Duration,
    /// Longest delay between tries.
    pub max_retry_interval: Duration,
    /// Drop a message this long after its first try.
    pub give_up_after: Duration,
    /// Per-POST timeout.
    pub timeout: Duration,
    /// How long changes are gathered before they are cut into messages.
    pub batch_window: Duration,
}

impl Default for OutboundTiming {
    fn default() -> Self {
        OutboundTiming {
            first_retry: Duration::from_secs(15),
            max_retry_interval: Duration::from_secs(2 * 3600),
            give_up_after: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(60),
            batch_window: Duration::from_millis(100),
        }
    }
}

impl OutboundTiming {
    /// The default timing divided by `factor` (e.g. 10,000: the 24 hours become 8.64 s). The
    /// timeout and batch window are divided too but kept at least 1 s and 20 ms.
    pub fn scaled(factor: f64) -> OutboundTiming {
        let d = OutboundTiming::default();
        let f = factor.max(1.0);
        OutboundTiming {
            first_retry: d.first_retry.div_f64(f),
            max_retry_interval: d.max_retry_interval.div_f64(f),
            give_up_after: d.give_up_after.div_f64(f),
            timeout: d.timeout.div_f64(f).max(Duration::from_secs(1)),
            batch_window: d.batch_window.div_f64(f).max(Duration::from_millis(20)),
        }
    }
}

/// Faults to inject into delivery.
#[derive(Debug, Clone, Default)]
pub struct OutboundKnobs {
    /// Probability (0..=1) that an acked message is delivered once more (same notification ids).
    pub duplicate_rate: f64,
    /// Deliver newer changes first: notifications within a message and due messages in reverse.
    pub reorder: bool,
    /// Wait this long before each POST.
    pub delivery_delay: Duration,
    /// Hold all deliveries (changes keep queueing).
    pub paused: bool,
}

/// What delivery did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboundCounters {
    /// Notifications created by changes.
    pub notifications_queued: u64,
    /// POSTs made (first tries, retries and duplicates).
    pub messages_sent: u64,
    /// POSTs that were retries of an unacked message.
    pub messages_retried: u64,
    /// POSTs answered with the exact ack.
    pub messages_acked: u64,
    /// POSTs not acked (error status, bad body, timeout, connection error).
    pub messages_failed: u64,
    /// Messages given up after `give_up_after`.
    pub messages_dropped: u64,
    /// Extra deliveries injected by `duplicate_rate`.
    pub duplicates_sent: u64,
    /// Notifications in acked messages (first delivery only, duplicates not counted).
    pub notifications_acked: u64,
    /// Notifications in dropped messages.
    pub notifications_dropped: u64,
}

#[derive(Debug, Clone)]
struct Pending {
    notification_id: String,
    object: String,
    record_id: String,
}

#[derive(Debug)]
struct Message {
    object: String,
    notifications: Vec<Pending>,
    first_at: Option<Instant>,
    attempts: u32,
    next_at: Instant,
    duplicate: bool,
    outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Pending,
    Acked,
    Failed,
    Drop,
}

#[derive(Debug)]
pub(crate) struct OutboundState {
    configs: IndexMap<String, (OutboundConfig, String)>,
    queue: Vec<Pending>,
    messages: Vec<Message>,
    pub timing: OutboundTiming,
    pub knobs: OutboundKnobs,
    pub counters: OutboundCounters,
    rng: Rng,
    /// Notifications in messages being delivered right now.
    in_flight: usize,
    next_id: u64,
    next_action: u64,
}

impl OutboundState {
    pub fn new(timing: OutboundTiming, seed: u64) -> OutboundState {
        OutboundState {
            configs: IndexMap::new(),
            queue: Vec::new(),
            messages: Vec::new(),
            timing,
            knobs: OutboundKnobs::default(),
            counters: OutboundCounters::default(),
            rng: Rng::new(seed ^ 0x5EED),
            in_flight: 0,
            next_id: 1,
            next_action: 1,
        }
    }

    /// Adds or replaces the outbound message of `config.object` (canonical name).
    pub fn configure(&mut self, config: OutboundConfig) {
        let action = crate::ids::make("04k", self.next_action);
        self.next_action += 1;
        self.configs.insert(config.object.clone(), (config, action));
    }

    pub fn remove(&mut self, object: &str) {
        self.configs.shift_remove(object);
    }

    /// Queues a notification if the object has an outbound message. Returns whether it did.
    pub fn record_changed(&mut self, object: &str, record_id: &str) -> bool {
        if !self.configs.contains_key(object) {
            return false;
        }
        let notification_id = crate::ids::make("04l", self.next_id);
        self.next_id += 1;
        self.queue.push(Pending {
            notification_id,
            object: object.to_owned(),
            record_id: record_id.to_owned(),
        });
        self.counters.notifications_queued += 1;
        true
    }

    /// Undelivered messages plus queued notifications.
    pub fn backlog(&self) -> usize {
        self.queue.len()
            + self.in_flight
            + self.messages.iter().map(|m| m.notifications.len()).sum::<usize>()
    }

    fn cut_messages(&mut self, now: Instant) {
        let mut queue = std::mem::take(&mut self.queue);
        if self.knobs.reorder {
            queue.reverse();
        }
        let mut by_object: IndexMap<String, Vec<Pending>> = IndexMap::new();
        for p in queue {
            by_object.entry(p.object.clone()).or_default().push(p);
        }
        for (object, pending) in by_object {
            for chunk in pending.chunks(MAX_NOTIFICATIONS) {
                self.messages.push(Message {
                    object: object.clone(),
                    notifications: chunk.to_vec(),
                    first_at: None,
                    attempts: 0,
                    next_at: now,
                    duplicate: false,
                    outcome: Outcome::Pending,
                });
            }
        }
    }
}

/// Java's `Double.toString` forms, as Salesforce writes numbers: `45000.0`, `9.9213206E7`.
pub fn java_double(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e7).contains(&a) {
        let s = format!("{v:E}");
        match s.split_once('E') {
            Some((m, e)) if !m.contains('.') => format!("{m}.0E{e}"),
            _ => s,
        }
    } else if v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

fn soap_value(ft: FieldType, v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) if ft == FieldType::Int => Some(n.to_string()),
        Value::Number(n) => n.as_f64().map(java_double),
        Value::String(s) if ft == FieldType::Datetime => {
            Some(dates::parse(s).map(dates::soap).unwrap_or_else(|| s.clone()))
        }
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// Inputs to one SOAP message.
#[derive(Debug)]
pub struct SoapMessage<'a> {
    pub org_id: &'a str,
    pub action_id: &'a str,
    pub session_id: Option<&'a str>,
    pub base_url: &'a str,
    pub api_version: &'a str,
    pub object: &'a ObjectDef,
    /// (notification id, record id, the record or None when deleted).
    pub notifications: Vec<(String, String, Option<Row>)>,
    /// Selected fields (empty = all).
    pub fields: &'a [String],
}

/// Writes the SOAP envelope exactly like Salesforce's (see the fixtures): `soapenv` prefix,
/// `notifications` in the outbound namespace, `sObject xsi:type="sf:Obj"`, nulls omitted.
pub fn soap_envelope(m: &SoapMessage<'_>) -> String {
    let org15 = &m.org_id[..m.org_id.len().min(15)];
    let mut selected: Vec<&crate::schema::FieldDef> = m
        .object
        .fields
        .iter()
        .filter(|f| f.name != "Id")
        .filter(|f| m.fields.is_empty() || m.fields.iter().any(|s| s.eq_ignore_ascii_case(&f.name)))
        .collect();
    selected.sort_by_key(|f| f.name.to_lowercase());
    let mut x = String::with_capacity(1024 + 512 * m.notifications.len());
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n");
    x.push_str(" <soapenv:Body>\n");
    x.push_str("  <notifications xmlns=\"http://soap.sforce.com/2005/09/outbound\">\n");
    x.push_str(&format!("   <OrganizationId>{}</OrganizationId>\n", escape(m.org_id)));
    x.push_str(&format!("   <ActionId>{}</ActionId>\n", escape(m.action_id)));
    match m.session_id {
        Some(s) => x.push_str(&format!("   <SessionId>{}</SessionId>\n", escape(s))),
        None => x.push_str("   <SessionId xsi:nil=\"true\"/>\n"),
    }
    x.push_str(&format!(
        "   <EnterpriseUrl>{}/services/Soap/c/{}/{}</EnterpriseUrl>\n",
        escape(m.base_url),
        m.api_version,
        org15
    ));
    x.push_str(&format!(
        "   <PartnerUrl>{}/services/Soap/u/{}/{}</PartnerUrl>\n",
        escape(m.base_url),
        m.api_version,
        org15
    ));
    for (nid, rid, row) in &m.notifications {
        x.push_str("   <Notification>\n");
        x.push_str(&format!("    <Id>{}</Id>\n", escape(nid)));
        x.push_str(&format!(
            "    <sObject xsi:type=\"sf:{}\" xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\">\n",
            m.object.name
        ));
        x.push_str(&format!("     <sf:Id>{}</sf:Id>\n", escape(rid)));
        if let Some(row) = row {
            for f in &selected {
                if let Some(v) = row.get(&f.name).and_then(|v| soap_value(f.field_type, v)) {
                    x.push_str(&format!("     <sf:{0}>{1}</sf:{0}>\n", f.name, escape(&v)));
                }
            }
        }
        x.push_str("    </sObject>\n");
        x.push_str("   </Notification>\n");
    }
    x.push_str("  </notifications>\n");
    x.push_str(" </soapenv:Body>\n");
    x.push_str("</soapenv:Envelope>\n");
    x
}

/// Whether `body` is a SOAP envelope whose `Body/notificationsResponse/Ack` (outbound
/// namespace) is `true`. Resolved by namespace, whatever the prefixes.
pub fn is_ack(body: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = quick_xml::NsReader::from_str(text);
    let mut stack: Vec<(Option<String>, String)> = Vec::new();
    let mut ack_text = String::new();
    let mut acks = 0;
    let expected: [(&str, &str); 4] = [
        (SOAP_NS, "Envelope"),
        (SOAP_NS, "Body"),
        (OUTBOUND_NS, "notificationsResponse"),
        (OUTBOUND_NS, "Ack"),
    ];
    let at_ack = |stack: &[(Option<String>, String)]| {
        stack.len() == 4
            && stack
                .iter()
                .zip(expected.iter())
                .all(|((ns, local), (ens, elocal))| ns.as_deref() == Some(*ens) && local == elocal)
    };
    loop {
        let Ok((resolved, event)) = reader.read_resolved_event() else {
            return false;
        };
        let ns = match resolved {
            ResolveResult::Bound(ns) => Some(AsRef::<str>::as_ref(&ns).to_owned()),
            _ => None,
        };
        match event {
            Event::Start(e) => {
                let local = AsRef::<str>::as_ref(&e.local_name()).to_owned();
                stack.push((ns, local));
                if at_ack(&stack) {
                    acks += 1;
                    ack_text.clear();
                }
            }
            Event::Empty(_) => {}
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(t) if at_ack(&stack) => ack_text.push_str(&t.xml10_content()),
            Event::Eof => break,
            Event::DocType(_) => return false,
            _ => {}
        }
    }
    acks == 1 && ack_text.trim() == "true"
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    body: String,
    timeout: Duration,
) -> Result<bool, String> {
    let resp = http
        .post(url)
        .timeout(timeout)
        .header("Content-Type", "text/xml; charset=utf-8")
        .header("SOAPAction", "\"\"")
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
    Ok(status == 200 && is_ack(&bytes))
}

/// The delivery loop; runs until the simulator shuts down.
pub(crate) async fn run(shared: Arc<Shared>) {
    let http = match reqwest::Client::builder().build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "outbound: cannot build HTTP client");
            return;
        }
    };
    let mut next_wake: Option<Instant> = None;
    loop {
        // Sleep until a change is queued or a retry is due.
        let idle = {
            let st = shared.outbound_lock();
            st.queue.is_empty() || st.knobs.paused
        };
        if idle {
            let notified = shared.outbound_wake.notified();
            match next_wake {
                Some(at) => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
        let (batch_window, paused, has_queue) = {
            let st = shared.outbound_lock();
            (st.timing.batch_window, st.knobs.paused, !st.queue.is_empty())
        };
        if paused {
            next_wake = None;
            continue;
        }
        if has_queue {
            // Gather changes for a moment so that a burst becomes one message.
            tokio::time::sleep(batch_window).await;
        }
        let now = Instant::now();
        let mut due: Vec<Message> = Vec::new();
        {
            let mut st = shared.outbound_lock();
            st.cut_messages(now);
            let reorder = st.knobs.reorder;
            let mut keep = Vec::new();
            for m in std::mem::take(&mut st.messages) {
                if m.next_at <= now {
                    st.in_flight += m.notifications.len();
                    due.push(m);
                } else {
                    keep.push(m);
                }
            }
            st.messages = keep;
            if reorder {
                due.reverse();
            }
        }
        for mut message in due {
            deliver(&shared, &http, &mut message).await;
            let mut st = shared.outbound_lock();
            st.in_flight = st.in_flight.saturating_sub(message.notifications.len());
            if let Some(m) = settle(&mut st, message) {
                st.messages.push(m);
            }
        }
        next_wake = shared.outbound_lock().messages.iter().map(|m| m.next_at).min();
    }
}

/// Result of one POST, stored on the message until `settle`.
async fn deliver(shared: &Arc<Shared>, http: &reqwest::Client, message: &mut Message) {
    let (config, delay, timeout, give_up) = {
        let st = shared.outbound_lock();
        let Some((config, action)) = st.configs.get(&message.object) else {
            // Configuration removed: the message is dropped.
            message.outcome = Outcome::Drop;
            return;
        };
        (
            (config.clone(), action.clone()),
            st.knobs.delivery_delay,
            st.timing.timeout,
            st.timing.give_up_after,
        )
    };
    let first_at = *message.first_at.get_or_insert_with(Instant::now);
    if first_at.elapsed() >= give_up {
        message.outcome = Outcome::Drop;
        return;
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let body = {
        let org = shared.org_lock();
        let Some(object) = org.object(&message.object).cloned() else {
            message.outcome = Outcome::Drop;
            return;
        };
        let notifications = message
            .notifications
            .iter()
            .map(|p| {
                (
                    p.notification_id.clone(),
                    p.record_id.clone(),
                    org.get(&p.object, &p.record_id).cloned(),
                )
            })
            .collect();
        let session = format!("{}!SIMULATED_SESSION", &org.org_id[..org.org_id.len().min(15)]);
        soap_envelope(&SoapMessage {
            org_id: &org.org_id,
            action_id: &config.1,
            session_id: config.0.send_session_id.then_some(session.as_str()),
            base_url: &shared.base_url,
            api_version: &shared.settings.api_version,
            object: &object,
            notifications,
            fields: &config.0.fields,
        })
    };
    let retry = message.attempts > 0;
    let acked = match post(http, &config.0.url, body, timeout).await {
        Ok(acked) => acked,
        Err(e) => {
            tracing::debug!(error = %e, url = %config.0.url, "outbound delivery failed");
            false
        }
    };
    let mut st = shared.outbound_lock();
    st.counters.messages_sent += 1;
    if retry {
        st.counters.messages_retried += 1;
    }
    message.attempts += 1;
    if acked {
        st.counters.messages_acked += 1;
        message.outcome = Outcome::Acked;
    } else {
        st.counters.messages_failed += 1;
        message.outcome = Outcome::Failed;
    }
}

/// Decides what happens after a delivery: done, retry later, or drop.
fn settle(st: &mut OutboundState, mut message: Message) -> Option<Message> {
    if message.outcome == Outcome::Drop {
        st.counters.messages_dropped += 1;
        st.counters.notifications_dropped += message.notifications.len() as u64;
        return None;
    }
    if message.outcome == Outcome::Acked {
        if !message.duplicate {
            st.counters.notifications_acked += message.notifications.len() as u64;
            let rate = st.knobs.duplicate_rate;
            if rate > 0.0 && st.rng.chance(rate) {
                st.counters.duplicates_sent += 1;
                return Some(Message {
                    object: message.object,
                    notifications: message.notifications,
                    first_at: None,
                    attempts: 0,
                    next_at: Instant::now(),
                    duplicate: true,
                    outcome: Outcome::Pending,
                });
            }
        }
        return None;
    }
    let exp = message.attempts.saturating_sub(1).min(20);
    let delay = st.timing.first_retry.saturating_mul(1u32 << exp).min(st.timing.max_retry_interval);
    message.next_at = Instant::now() + delay;
    message.outcome = Outcome::Pending;
    Some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_doubles() {
        assert_eq!(java_double(45000.0), "45000.0");
        assert_eq!(java_double(120000.0), "120000.0");
        assert_eq!(java_double(99213206.0), "9.9213206E7");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(12.5), "12.5");
        assert_eq!(java_double(0.0), "0.0");
    }

    #[test]
    fn ack_is_checked_by_namespace() {
        let fixture =
            include_str!("../../../tests/fixtures/salesforce/ack_response_aspnetcore.xml");
        assert!(is_ack(fixture.as_bytes()));
        let other_prefix = r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><o:notificationsResponse xmlns:o="http://soap.sforce.com/2005/09/outbound"><o:Ack> true </o:Ack></o:notificationsResponse></e:Body></e:Envelope>"#;
        assert!(is_ack(other_prefix.as_bytes()));
        let wrong_ns = r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"#;
        assert!(!is_ack(wrong_ns.as_bytes()));
        let nack = fixture.replace(">true<", ">false<");
        assert!(!is_ack(nack.as_bytes()));
        assert!(!is_ack(b""));
        assert!(!is_ack(b"{\"ack\":true}"));
    }
}
