//! `sfhs mappings` end to end: the real binary, the example files, DynamoDB on moto's server.

use std::path::Path;
use std::process::{Command, Output};

use sfhs_aws::dynamo::create_table;
use sfhs_tests::aws::{child_env, dynamodb};
use sfhs_tests::moto::{moto, unique};

fn examples() -> String {
    format!("{}/../examples/mappings", env!("CARGO_MANIFEST_DIR"))
}

fn sfhs(table: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sfhs"))
        .args(args)
        .envs(child_env(&moto().endpoint))
        .env("SFHS_MAPPINGS_TABLE", table)
        .output()
        .expect("run sfhs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn validate_plan_apply_enable_pause_list_show() {
    let table = unique("mappings");
    create_table(&dynamodb(&moto().endpoint), &table).await.unwrap();
    let dir = examples();

    let o = sfhs(&table, &["mappings", "validate", &dir]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("2 mapping(s) valid"));

    let o = sfhs(&table, &["mappings", "plan", &dir, "--exit-code"]);
    assert_eq!(o.status.code(), Some(1), "changes pending");
    assert!(stdout(&o).contains("+ create  Invoice__c"), "{}", stdout(&o));

    let o = sfhs(&table, &["mappings", "apply", &dir]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("2 mapping(s) written"));

    let o = sfhs(&table, &["mappings", "plan", &dir, "--exit-code", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["plan"].as_array().unwrap().iter().all(|l| l["change"] == "unchanged"));

    // Edit a copy: plan shows the update and which keys differ.
    let tmp = std::env::temp_dir().join(unique("mappings-dir"));
    std::fs::create_dir_all(&tmp).unwrap();
    for f in ["invoice.yaml", "invoice_line.yaml"] {
        let text = std::fs::read_to_string(Path::new(&dir).join(f)).unwrap();
        std::fs::write(tmp.join(f), text.replace("on_delete: archive", "on_delete: keep")).unwrap();
    }
    let o = sfhs(&table, &["mappings", "plan", tmp.to_str().unwrap()]);
    assert!(stdout(&o).contains("~ update  Invoice__c (v1): on_delete"), "{}", stdout(&o));

    let o = sfhs(&table, &["mappings", "pause", "Invoice_Line__c"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("paused"));

    let o = sfhs(&table, &["mappings", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let states: Vec<(&str, &str, u64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["mapping"]["salesforce_object"].as_str().unwrap(),
                m["mapping"]["state"].as_str().unwrap(),
                m["version"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(states, [("Invoice__c", "enabled", 1), ("Invoice_Line__c", "paused", 2)]);

    let o = sfhs(&table, &["mappings", "enable", "invoice_line__c"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("changes made from now on sync"));

    let o = sfhs(&table, &["mappings", "show", "Invoice_Line__c"]);
    assert!(stdout(&o).contains("# version 3"), "{}", stdout(&o));
    assert!(stdout(&o).contains("enabled since"));
    assert!(stdout(&o).contains("find_parent_by:\n    mapping: Invoice__c"), "{}", stdout(&o));
}

#[tokio::test]
async fn invalid_files_block_apply_with_every_problem_listed() {
    let table = unique("mappings");
    create_table(&dynamodb(&moto().endpoint), &table).await.unwrap();
    let tmp = std::env::temp_dir().join(unique("bad-mappings"));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(
        tmp.join("a.yaml"),
        "salesforce_object: A__c\nhubspot_object: nope\nid_property: sid\nfields:\n  - {salesforce: Name, hubspot: name}\n  - {salesforce: Name, hubspot: name}\n",
    )
    .unwrap();
    std::fs::write(tmp.join("b.yml"), "salesforce_object: B__c\nunknown_key: 1\n").unwrap();

    let o = sfhs(&table, &["mappings", "apply", tmp.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    for expected in [
        "a.yaml: hubspot_object",
        "a.yaml: fields[1].salesforce",
        "a.yaml: fields[1].hubspot",
        "b.yml: line 2",
        "nothing applied",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in\n{err}");
    }
    let o = sfhs(&table, &["mappings", "list", "--json"]);
    assert_eq!(stdout(&o).trim(), "[]", "nothing was written");
}

#[test]
fn without_a_table_it_cannot_run() {
    let o = Command::new(env!("CARGO_BIN_EXE_sfhs"))
        .args(["mappings", "list"])
        .env_remove("SFHS_MAPPINGS_TABLE")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("SFHS_MAPPINGS_TABLE"));
}
