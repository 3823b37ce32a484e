//! The parser's rules, one by one: what it accepts and what it refuses, without panicking.

use sfhs_core::outbound::{DEFAULT_MAX_BODY_BYTES, OutboundError, OutboundMessage, parse};

const ORG: &str = "00Dxx0000001gPFEAY";

/// A message with the given `notifications` content, prefixes as Salesforce writes them.
fn envelope(inner: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>{ORG}</OrganizationId>
   <ActionId>04kxx00000000blCAA</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://x.my.salesforce.com/services/Soap/c/60.0/00Dxx0000001gPF</EnterpriseUrl>
   <PartnerUrl>https://x.my.salesforce.com/services/Soap/u/60.0/00Dxx0000001gPF</PartnerUrl>
{inner}
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>"#
    )
}

fn notification(id: &str, sobject: &str, record: &str, fields: &str) -> String {
    format!(
        r#"   <Notification><Id>{id}</Id><sObject xsi:type="sf:{sobject}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>{record}</sf:Id>{fields}</sObject></Notification>"#
    )
}

fn one(fields: &str) -> String {
    envelope(&notification("04lxx000000CaSiAAK", "Invoice__c", "a01xx000003DGb4AAG", fields))
}

fn ok(xml: &str) -> OutboundMessage {
    match parse(xml.as_bytes(), DEFAULT_MAX_BODY_BYTES) {
        Ok(m) => m,
        Err(e) => panic!("expected to parse, got: {e}\n{xml}"),
    }
}

fn err(xml: &str) -> OutboundError {
    match parse(xml.as_bytes(), DEFAULT_MAX_BODY_BYTES) {
        Ok(m) => panic!("expected an error, got {m:?}"),
        Err(e) => e,
    }
}

fn field(m: &OutboundMessage, name: &str) -> Option<Option<String>> {
    m.notifications[0].fields.get(name).cloned()
}

#[test]
fn values_stay_exactly_as_sent() {
    let m = ok(&one(concat!(
        "<sf:Name>  INV-1 </sf:Name>",
        "<sf:Empty/>",
        "<sf:EmptyPair></sf:EmptyPair>",
        "<sf:Nil xsi:nil=\"true\"/>",
        "<sf:NilOne xsi:nil=\"1\"></sf:NilOne>",
        "<sf:Markup>&lt;br&gt; &amp; &quot;q&quot; &apos;a&apos;</sf:Markup>",
        "<sf:CharRefs>&#65;&#x42;&#x1F600;</sf:CharRefs>",
        "<sf:Cdata><![CDATA[<b>bold</b> & raw]]></sf:Cdata>",
        "<sf:Unicode>Zoë — 東京 🚀</sf:Unicode>",
        "<sf:Amount>9.9213206E7</sf:Amount>",
    )));
    assert_eq!(field(&m, "Name"), Some(Some("  INV-1 ".into())));
    assert_eq!(field(&m, "Empty"), Some(Some(String::new())));
    assert_eq!(field(&m, "EmptyPair"), Some(Some(String::new())));
    assert_eq!(field(&m, "Nil"), Some(None));
    assert_eq!(field(&m, "NilOne"), Some(None));
    assert_eq!(field(&m, "Markup"), Some(Some(r#"<br> & "q" 'a'"#.into())));
    assert_eq!(field(&m, "CharRefs"), Some(Some("AB😀".into())));
    assert_eq!(field(&m, "Cdata"), Some(Some("<b>bold</b> & raw".into())));
    assert_eq!(field(&m, "Unicode"), Some(Some("Zoë — 東京 🚀".into())));
    assert_eq!(field(&m, "Amount"), Some(Some("9.9213206E7".into())));
    assert_eq!(field(&m, "Absent"), None);
}

#[test]
fn any_prefixes_crlf_comments_and_no_declaration() {
    let xml = concat!(
        "<!-- a comment before the root -->\r\n",
        "<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">\r\n",
        "<e:Header><x:Trace xmlns:x=\"urn:other\">ignored</x:Trace></e:Header>\r\n",
        "<e:Body>\r\n",
        "<out:notifications xmlns:out=\"http://soap.sforce.com/2005/09/outbound\">\r\n",
        "<out:OrganizationId>00Dxx0000001gPF</out:OrganizationId>\r\n",
        "<?some-pi data?>\r\n",
        "<out:Notification><out:Id>04lxx000000CaSiAAK</out:Id>\r\n",
        "<out:sObject i:type=\"obj:acme__Shipment__c\" xmlns:obj=\"urn:sobject.enterprise.soap.sforce.com\">\r\n",
        "<obj:Id>a05xx000003DGb4AAG</obj:Id>\r\n",
        "<obj:acme__Notes__c>line one\r\nline two</obj:acme__Notes__c>\r\n",
        "<!-- a comment inside -->\r\n",
        "</out:sObject></out:Notification>\r\n",
        "</out:notifications></e:Body></e:Envelope>\r\n",
    );
    let m = ok(xml);
    assert_eq!(m.organization_id, "00Dxx0000001gPF");
    assert_eq!(m.action_id, None);
    assert!(!m.has_session_id);
    let n = &m.notifications[0];
    assert_eq!(n.sobject, "acme__Shipment__c");
    assert_eq!(
        n.fields.get("acme__Notes__c"),
        Some(&Some("line one\nline two".into())),
        "XML line ends are normalised to LF"
    );
}

#[test]
fn a_carriage_return_sent_as_a_reference_survives() {
    let m = ok(&one("<sf:Text>a&#13;&#10;b</sf:Text>"));
    assert_eq!(field(&m, "Text"), Some(Some("a\r\nb".into())));
}

#[test]
fn attribute_order_and_a_type_without_prefix() {
    let xml = envelope(
        r#"<Notification><Id>04lxx000000CaSiAAK</Id><sObject xmlns:sf="urn:sobject.enterprise.soap.sforce.com" xsi:type="Invoice__c"><sf:Id>a01xx000003DGb4AAG</sf:Id></sObject></Notification>"#,
    );
    let m = ok(&xml);
    assert_eq!(m.notifications[0].sobject, "Invoice__c");
    assert!(m.notifications[0].fields.is_empty(), "a deleted record may carry only its Id");
}

#[test]
fn several_object_types_in_one_message() {
    let inner = [
        notification(
            "04lxx000000CaS1AAK",
            "Invoice__c",
            "a01xx000003DGb1AAG",
            "<sf:Name>I</sf:Name>",
        ),
        notification("04lxx000000CaS2AAK", "Account", "001xx000003DGb2AAG", "<sf:Name>A</sf:Name>"),
        notification("04lxx000000CaS3AAK", "acme__Shipment__c", "a05xx000003DGb3AAG", ""),
    ]
    .join("\n");
    let m = ok(&envelope(&inner));
    let types: Vec<&str> = m.notifications.iter().map(|n| n.sobject.as_str()).collect();
    assert_eq!(types, ["Invoice__c", "Account", "acme__Shipment__c"]);
}

#[test]
fn one_hundred_notifications_pass_and_one_more_is_refused() {
    let make = |n: usize| {
        let inner: Vec<String> = (0..n)
            .map(|i| {
                notification(
                    &format!("04lxx00000{i:05}AAK"),
                    "Invoice__c",
                    &format!("a01xx00000{i:05}AAG"),
                    "",
                )
            })
            .collect();
        envelope(&inner.join("\n"))
    };
    assert_eq!(ok(&make(100)).notifications.len(), 100);
    assert!(matches!(err(&make(101)), OutboundError::TooManyNotifications { max: 100 }));
}

#[test]
fn fields_to_null_marks_fields_null() {
    let m = ok(&one("<sf:fieldsToNull>Notes__c</sf:fieldsToNull><sf:Name>x</sf:Name>"));
    assert_eq!(field(&m, "Notes__c"), Some(None));
    assert_eq!(field(&m, "Name"), Some(Some("x".into())));
}

#[test]
fn a_session_id_counts_only_when_not_empty() {
    let with =
        one("").replace(r#"<SessionId xsi:nil="true"/>"#, "<SessionId>00D!secret</SessionId>");
    let m = ok(&with);
    assert!(m.has_session_id);
    assert!(!format!("{m:?}").contains("secret"));
    let empty = one("").replace(r#"<SessionId xsi:nil="true"/>"#, "<SessionId></SessionId>");
    assert!(!ok(&empty).has_session_id);
}

#[test]
fn refuses_dtds_and_entity_declarations() {
    let xxe = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
        one("<sf:Name>&xxe;</sf:Name>").replace("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "")
    );
    let e = err(&xxe);
    assert!(matches!(e, OutboundError::DtdRefused { .. }), "{e}");
    assert!(e.to_string().contains("line 1"), "{e}");

    let billion =
        "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><lolz>&lol2;</lolz>";
    assert!(matches!(err(billion), OutboundError::DtdRefused { .. }));
}

#[test]
fn refuses_undefined_entities() {
    let e = err(&one("<sf:Name>&nbsp;</sf:Name>"));
    assert!(matches!(&e, OutboundError::UndefinedEntity { name, .. } if name == "nbsp"), "{e}");
}

#[test]
fn refuses_malformed_and_truncated_xml() {
    let full = one("<sf:Name>x</sf:Name>");
    for cut in [10, full.len() / 3, full.len() / 2, full.len() - 5] {
        let e = err(&full[..cut]);
        assert!(
            matches!(e, OutboundError::Truncated { .. } | OutboundError::Xml { .. }),
            "cut at {cut}: {e}"
        );
    }
    let e = err(&one("<sf:Name>x</sf:Other>"));
    assert!(matches!(e, OutboundError::Xml { .. }), "{e}");
    assert!(e.to_string().contains("line"), "{e}");
    assert!(matches!(
        err("<a><b></a>"),
        OutboundError::Xml { .. } | OutboundError::NotOutboundMessage { .. }
    ));
}

#[test]
fn refuses_what_is_not_an_outbound_message() {
    assert!(matches!(err("<html><body/></html>"), OutboundError::NotOutboundMessage { .. }));
    assert!(matches!(err(""), OutboundError::Empty));
    assert!(matches!(err("  \n "), OutboundError::Empty));
    assert!(matches!(
        err("just text"),
        OutboundError::NotOutboundMessage { .. } | OutboundError::Xml { .. }
    ));
    let soap12 =
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>"#;
    let e = err(soap12);
    assert!(e.to_string().contains("SOAP 1.2"), "{e}");
    let fault = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault/></s:Body></s:Envelope>"#;
    assert!(matches!(err(fault), OutboundError::NotOutboundMessage { .. }));
    let wrong_ns = one("").replace("http://soap.sforce.com/2005/09/outbound", "urn:something-else");
    assert!(matches!(err(&wrong_ns), OutboundError::NotOutboundMessage { .. }));
    let two_roots = format!("{}<x/>", one(""));
    assert!(matches!(
        err(&two_roots),
        OutboundError::NotOutboundMessage { .. } | OutboundError::Xml { .. }
    ));
}

#[test]
fn refuses_missing_required_parts() {
    let no_org = one("").replace(&format!("<OrganizationId>{ORG}</OrganizationId>"), "");
    assert!(matches!(err(&no_org), OutboundError::MissingOrganizationId));

    let bad_org = one("").replace(ORG, "not-an-id");
    let e = err(&bad_org);
    assert!(e.to_string().contains("not-an-id"), "{e}");

    let no_id = envelope(
        r#"<Notification><sObject xsi:type="sf:X" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>a01xx000003DGb4AAG</sf:Id></sObject></Notification>"#,
    );
    assert!(matches!(err(&no_id), OutboundError::NotificationWithoutId { index: 1 }));

    let no_sobject = envelope("<Notification><Id>04lxx000000CaSiAAK</Id></Notification>");
    assert!(matches!(err(&no_sobject), OutboundError::NotificationWithoutSObject { .. }));

    let no_type = envelope(
        r#"<Notification><Id>04lxx000000CaSiAAK</Id><sObject xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>a01xx000003DGb4AAG</sf:Id></sObject></Notification>"#,
    );
    let e = err(&no_type);
    assert!(
        matches!(&e, OutboundError::SObjectWithoutType { notification_id } if notification_id == "04lxx000000CaSiAAK"),
        "{e}"
    );

    let no_record = envelope(
        r#"<Notification><Id>04lxx000000CaSiAAK</Id><sObject xsi:type="sf:X" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Name>x</sf:Name></sObject></Notification>"#,
    );
    assert!(matches!(err(&no_record), OutboundError::SObjectWithoutRecordId { .. }));

    let dup = one("<sf:Name>a</sf:Name><sf:Name>b</sf:Name>");
    let e = err(&dup);
    assert!(matches!(&e, OutboundError::DuplicateField { field, .. } if field == "Name"), "{e}");

    let nested = one("<sf:Address><sf:City>x</sf:City></sf:Address>");
    assert!(matches!(err(&nested), OutboundError::NestedField { .. }));
}

#[test]
fn refuses_bodies_over_the_limit_before_reading_them() {
    let xml = one("<sf:Name>x</sf:Name>");
    let e = parse(xml.as_bytes(), 100).unwrap_err();
    assert!(matches!(e, OutboundError::TooLarge { limit: 100, .. }), "{e}");
}

#[test]
fn refuses_other_encodings_and_invalid_utf8() {
    let latin = one("").replace("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"");
    assert!(matches!(err(&latin), OutboundError::UnsupportedEncoding { .. }));
    let mut bytes = one("<sf:Name>x</sf:Name>").into_bytes();
    let pos = bytes.iter().position(|&b| b == b'x').unwrap();
    bytes[pos] = 0xff;
    assert!(matches!(parse(&bytes, DEFAULT_MAX_BODY_BYTES), Err(OutboundError::NotUtf8 { .. })));
}
