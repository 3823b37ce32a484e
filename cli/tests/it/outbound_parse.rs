//! `sfhs outbound parse` end to end: the real binary, real fixture files.

use std::io::Write;
use std::process::{Command, Stdio};

const SFHS: &str = env!("CARGO_BIN_EXE_sfhs");

fn fixture(name: &str) -> String {
    format!("{}/../tests/fixtures/salesforce/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn prints_the_message_as_one_json_object() {
    let out = Command::new(SFHS)
        .args(["outbound", "parse", &fixture("om_account_field_populated_ampersand.xml")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "organization_id": "00Dxx0000001gPFEAY",
            "action_id": "04kxx00000000blCAA",
            "has_session_id": false,
            "enterprise_url": "https://yourInstance.salesforce.com/services/Soap/c/60.0/00Dxx0000001gPF",
            "partner_url": "https://yourInstance.salesforce.com/services/Soap/u/60.0/00Dxx0000001gPF",
            "notifications": [{
                "id": "04lxx000000CaSiAAK", "sobject": "Account", "record_id": "001xx000003DGb4AAG",
                "fields": {"CreatedDate": "2026-09-09T19:01:52.000Z", "Industry": "Agriculture",
                           "LastModifiedDate": "2026-09-09T19:10:58.000Z"}
            }]
        })
    );
}

#[test]
fn reads_standard_input() {
    let mut child = Command::new(SFHS)
        .args(["outbound", "parse", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let body = std::fs::read(fixture("om_lead_3notifications_bom_aspnet.xml")).unwrap();
    child.stdin.take().unwrap().write_all(&body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["notifications"].as_array().unwrap().len(), 3);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("BSGSRAzG9lPxyKRPjJ3"), "no SessionId");
}

#[test]
fn invalid_input_prints_nothing_on_stdout_and_exits_2() {
    let out = Command::new(SFHS)
        .args(["outbound", "parse", &fixture("om_empty_notifications_bom_aspnet.xml")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no Notification"), "{err}");

    let out =
        Command::new(SFHS).args(["outbound", "parse", "/nonexistent/file.xml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
