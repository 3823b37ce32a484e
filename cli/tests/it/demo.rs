//! `sfhs demo`: the whole product end to end on the simulators, judged by its own comparison.

use std::process::Command;

#[test]
fn the_demo_ends_with_hubspot_matching_salesforce() {
    let o = Command::new(env!("CARGO_BIN_EXE_sfhs"))
        .args(["demo", "--invoices", "40"])
        .output()
        .expect("run sfhs demo");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("HubSpot matches Salesforce."), "{out}");
    assert!(out.contains("archived (deletes)        1"), "{out}");
    assert!(out.contains("error records             0"), "{out}");
    assert!(out.contains("Invoice_Line__c: 80 records imported"), "{out}");
    // Every line and invoice is linked to the parent its lookup names (checked one by one).
    let checked: u64 = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("associations checked"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no associations line: {out}"));
    assert!(checked >= 100, "{checked} associations checked: {out}");
}
