//! Property tests: generated messages parse back to what was generated, whatever the prefixes,
//! escaping, CDATA and whitespace; and no input makes the parser panic.

use indexmap::IndexMap;
use proptest::prelude::*;
use sfhs_core::outbound::{DEFAULT_MAX_BODY_BYTES, Notification, OutboundMessage, parse};

fn sf_id(prefix: &'static str) -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{15}".prop_map(move |s| format!("{prefix}{s}"))
}

fn api_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Z][A-Za-z0-9]{0,12}",
        "[A-Z][A-Za-z0-9]{0,8}__c",
        "[a-z]{2,6}__[A-Z][A-Za-z0-9]{0,8}__c",
    ]
}

/// Text Salesforce may send: markup characters, quotes, unicode, spaces at the ends; no control
/// characters XML 1.0 forbids, and no CR (XML turns CRLF into LF; tested elsewhere).
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}",
        "[<>&'\" a-z]{0,20}",
        "\\PC{0,20}",
        Just(String::new()),
        Just("]]>".to_owned()),
    ]
    .prop_map(|s| s.replace('\r', ""))
}

fn fields() -> impl Strategy<Value = IndexMap<String, Option<String>>> {
    prop::collection::vec((api_name(), prop::option::weighted(0.85, value())), 0..10).prop_map(
        |pairs| {
            let mut map = IndexMap::new();
            for (k, v) in pairs {
                if k != "Id" && k != "fieldsToNull" {
                    map.entry(k).or_insert(v);
                }
            }
            map
        },
    )
}

fn notification() -> impl Strategy<Value = Notification> {
    (sf_id("04l"), api_name(), sf_id("a01"), fields()).prop_map(
        |(id, sobject, record_id, fields)| Notification { id, sobject, record_id, fields },
    )
}

fn message() -> impl Strategy<Value = OutboundMessage> {
    (
        sf_id("00D"),
        prop::option::of(sf_id("04k")),
        any::<bool>(),
        prop::collection::vec(notification(), 1..=100),
    )
        .prop_map(|(organization_id, action_id, has_session_id, notifications)| {
            OutboundMessage {
                organization_id,
                action_id,
                has_session_id,
                enterprise_url: Some("https://x.my.salesforce.com/services/Soap/c/62.0/00D".into()),
                partner_url: None,
                notifications,
            }
        })
}

/// How a sender might write the document.
#[derive(Debug, Clone)]
struct Style {
    env: &'static str,
    out: Option<&'static str>,
    sf: &'static str,
    bom: bool,
    decl: bool,
    newline: &'static str,
    cdata: bool,
    char_refs: bool,
}

fn style() -> impl Strategy<Value = Style> {
    (
        prop::sample::select(vec!["soapenv", "s", "SOAP-ENV"]),
        prop::sample::select(vec![None, Some("out"), Some("ns1")]),
        prop::sample::select(vec!["sf", "q1", "obj"]),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec!["", "\n", "\r\n", "\n   "]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(env, out, sf, bom, decl, newline, cdata, char_refs)| Style {
            env,
            out,
            sf,
            bom,
            decl,
            newline,
            cdata,
            char_refs,
        })
}

fn escape(s: &str, style: &Style) -> String {
    if style.cdata && !s.contains("]]>") && !s.is_empty() {
        return format!("<![CDATA[{s}]]>");
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '&' => out.push_str("&amp;"),
            '>' => out.push_str("&gt;"),
            '"' if style.char_refs => out.push_str("&#34;"),
            '\'' => out.push_str("&apos;"),
            c if style.char_refs && !c.is_ascii() => out.push_str(&format!("&#x{:X};", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn render(m: &OutboundMessage, st: &Style) -> Vec<u8> {
    let nl = st.newline;
    let (e, sf) = (st.env, st.sf);
    let (o, ons) = match st.out {
        Some(p) => {
            (format!("{p}:"), format!(" xmlns:{p}=\"http://soap.sforce.com/2005/09/outbound\""))
        }
        None => (String::new(), " xmlns=\"http://soap.sforce.com/2005/09/outbound\"".to_owned()),
    };
    let mut x = String::new();
    if st.decl {
        x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        x.push_str(nl);
    }
    x.push_str(&format!(
        "<{e}:Envelope xmlns:{e}=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">{nl}<{e}:Body>{nl}<{o}notifications{ons}>{nl}"
    ));
    x.push_str(&format!("<{o}OrganizationId>{}</{o}OrganizationId>{nl}", m.organization_id));
    if let Some(a) = &m.action_id {
        x.push_str(&format!("<{o}ActionId>{a}</{o}ActionId>{nl}"));
    }
    if m.has_session_id {
        x.push_str(&format!("<{o}SessionId>00D!AQ.secret</{o}SessionId>{nl}"));
    } else {
        x.push_str(&format!("<{o}SessionId xsi:nil=\"true\"/>{nl}"));
    }
    if let Some(u) = &m.enterprise_url {
        x.push_str(&format!("<{o}EnterpriseUrl>{}</{o}EnterpriseUrl>{nl}", escape(u, st)));
    }
    for n in &m.notifications {
        x.push_str(&format!(
            "<{o}Notification>{nl}<{o}Id>{}</{o}Id>{nl}<{o}sObject xsi:type=\"{sf}:{}\" xmlns:{sf}=\"urn:sobject.enterprise.soap.sforce.com\">{nl}<{sf}:Id>{}</{sf}:Id>{nl}",
            n.id, n.sobject, n.record_id
        ));
        for (k, v) in &n.fields {
            match v {
                None => x.push_str(&format!("<{sf}:{k} xsi:nil=\"true\"/>{nl}")),
                Some(v) if v.is_empty() => x.push_str(&format!("<{sf}:{k}/>{nl}")),
                Some(v) => x.push_str(&format!("<{sf}:{k}>{}</{sf}:{k}>{nl}", escape(v, st))),
            }
        }
        x.push_str(&format!("</{o}sObject>{nl}</{o}Notification>{nl}"));
    }
    x.push_str(&format!("</{o}notifications>{nl}</{e}:Body>{nl}</{e}:Envelope>"));
    let mut bytes = Vec::new();
    if st.bom {
        bytes.extend_from_slice(b"\xEF\xBB\xBF");
    }
    bytes.extend_from_slice(x.as_bytes());
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn generated_messages_parse_back(m in message(), st in style()) {
        let bytes = render(&m, &st);
        let parsed = parse(&bytes, DEFAULT_MAX_BODY_BYTES);
        prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed.err(), String::from_utf8_lossy(&bytes));
        prop_assert_eq!(parsed.unwrap(), m);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse(&bytes, DEFAULT_MAX_BODY_BYTES);
    }

    #[test]
    fn mutated_messages_never_panic(m in message(), st in style(), cuts in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = render(&m, &st);
        for (i, b) in cuts {
            let at = i.index(bytes.len());
            match b % 3 {
                0 => bytes[at] = b,
                1 => { bytes.truncate(at); }
                _ => bytes.insert(at, b'<'),
            }
            if bytes.is_empty() { break; }
        }
        let _ = parse(&bytes, DEFAULT_MAX_BODY_BYTES);
    }
}
