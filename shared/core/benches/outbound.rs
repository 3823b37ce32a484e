//! Parsing speed: a 100-notification outbound message of 10 fields each.
//! Run: `cargo bench -p sfhs-core --bench outbound`. Figures in docs/performance.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sfhs_core::outbound::{DEFAULT_MAX_BODY_BYTES, parse};

/// 100 notifications, 10 fields each, with values like real ones (dates, numbers, text with
/// escaped markup, unicode).
pub fn message() -> String {
    let notifications: String = (0..100)
        .map(|i| {
            format!(
                concat!(
                    "<Notification><Id>04lxx00000{i:05}AAK</Id>",
                    "<sObject xsi:type=\"sf:Invoice__c\" xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\">",
                    "<sf:Id>a01xx00000{i:05}AAG</sf:Id>",
                    "<sf:Name>INV-{i:06}</sf:Name>",
                    "<sf:Account__c>001xx00000{i:05}AAQ</sf:Account__c>",
                    "<sf:Amount__c>{i}045.50</sf:Amount__c>",
                    "<sf:Due_Date__c>2026-12-{d:02}</sf:Due_Date__c>",
                    "<sf:Status__c>Open</sf:Status__c>",
                    "<sf:Paid__c>false</sf:Paid__c>",
                    "<sf:Notes__c>Customer asked for &lt;b&gt;net 30&lt;/b&gt; &amp; a PO number — merci, Zoë</sf:Notes__c>",
                    "<sf:Tags__c>north;priority;renewal</sf:Tags__c>",
                    "<sf:LastModifiedDate>2026-11-28T10:{m:02}:00.000Z</sf:LastModifiedDate>",
                    "<sf:SystemModstamp>2026-11-28T10:{m:02}:00.000Z</sf:SystemModstamp>",
                    "</sObject></Notification>\n"
                ),
                i = i,
                d = i % 28 + 1,
                m = i % 60
            )
        })
        .collect();
    format!(
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n",
            "<soapenv:Body>\n<notifications xmlns=\"http://soap.sforce.com/2005/09/outbound\">\n",
            "<OrganizationId>00Dxx0000001gPFEAY</OrganizationId>\n<ActionId>04kxx00000000blCAA</ActionId>\n",
            "<SessionId xsi:nil=\"true\"/>\n",
            "<EnterpriseUrl>https://acme.my.salesforce.com/services/Soap/c/62.0/00Dxx0000001gPF</EnterpriseUrl>\n",
            "<PartnerUrl>https://acme.my.salesforce.com/services/Soap/u/62.0/00Dxx0000001gPF</PartnerUrl>\n",
            "{}</notifications>\n</soapenv:Body>\n</soapenv:Envelope>\n"
        ),
        notifications
    )
}

fn bench(c: &mut Criterion) {
    let body = message();
    let parsed = parse(body.as_bytes(), DEFAULT_MAX_BODY_BYTES).expect("benchmark message parses");
    assert_eq!(parsed.notifications.len(), 100);
    assert!(parsed.notifications.iter().all(|n| n.fields.len() == 10));
    let mut group = c.benchmark_group("outbound");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("parse_100x10", |b| {
        b.iter(|| parse(std::hint::black_box(body.as_bytes()), DEFAULT_MAX_BODY_BYTES))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
