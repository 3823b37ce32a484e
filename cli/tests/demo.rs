//! `sfhs demo`: the whole product end to end on the simulators, judged by its own comparison.

use std::process::Command;

#[test]
fn the_demo_ends_with_hubspot_matching_salesforce() {
    let o = Command::new(env!("CARGO_BIN_EXE_sfhs"))
        .args(["demo", "--invoices", "40"])
        .output()
        .expect("run sfhs demo");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("HubSpot matches Salesforce."), "{out}");
    assert!(out.contains("archived (deletes)        1"), "{out}");
    assert!(out.contains("error records             0"), "{out}");
    assert!(
        out.contains("Invoice_Line__c: 80 records imported"),
        "{out}"
    );
}
