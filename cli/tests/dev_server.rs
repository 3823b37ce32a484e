//! `sfhs dev` end to end: the real binary serving HTTP, a real HTTP client posting a fixture.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

#[tokio::test]
async fn dev_acks_a_real_outbound_message_and_prints_its_work_items() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sfhs"))
        .args([
            "dev",
            "--addr",
            "127.0.0.1:0",
            "--org-id",
            "00Dxx0000001gPF",
            "--secret",
            "s3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sfhs dev");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let _server = Server(child);
    let mut first = String::new();
    stdout.read_line(&mut first).expect("first line");
    let base = first.trim().trim_end_matches("?secret=...").to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");

    let body = std::fs::read(format!(
        "{}/../tests/fixtures/salesforce/om_contact_batch3_update_ampersand.xml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    let client = reqwest::Client::new();
    let r = client
        .post(format!("{base}?secret=s3"))
        .header("content-type", "text/xml; charset=utf-8")
        .body(body.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("body");
    assert!(text.contains("<Ack>true</Ack>"), "{text}");

    let items: Vec<serde_json::Value> = (0..3)
        .map(|_| {
            let mut line = String::new();
            stdout.read_line(&mut line).expect("a work item line");
            serde_json::from_str(&line).expect("json work item")
        })
        .collect();
    let ids: Vec<&str> = items
        .iter()
        .map(|i| i["record_id"].as_str().expect("record_id"))
        .collect();
    assert_eq!(
        ids,
        [
            "003xx000004TmiQAAS",
            "003xx000004TmiRAAS",
            "003xx000004TmiSAAS"
        ]
    );

    let r = client
        .post(format!("{base}?secret=nope"))
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403);
}
