//! The SAM template, checked where cfn-lint cannot see: every `!Ref`, `!GetAtt` and `${...}` in
//! `!Sub` names a resource, a parameter or a pseudo parameter, with an attribute the resource type
//! has; every function's binary exists in the workspace; and every `SFHS_*` variable a function is
//! given is one its code reads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_norway::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn template() -> Value {
    let text =
        std::fs::read_to_string(root().join("infra/template.yaml")).expect("read the template");
    serde_norway::from_str(&text).expect("the template is YAML")
}

fn map(v: &Value) -> BTreeMap<String, Value> {
    v.as_mapping()
        .map(|m| {
            m.iter().filter_map(|(k, v)| k.as_str().map(|k| (k.to_owned(), v.clone()))).collect()
        })
        .unwrap_or_default()
}

/// Every (tag, argument) of an intrinsic function in `v`, with the path it was found at.
fn intrinsics(v: &Value, path: &str, out: &mut Vec<(String, String, String)>) {
    match v {
        Value::Tagged(t) => {
            let tag = t.tag.to_string().trim_start_matches('!').to_owned();
            match &t.value {
                Value::String(s) => out.push((tag, s.clone(), path.to_owned())),
                Value::Sequence(items) if tag == "GetAtt" => {
                    let joined: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                    out.push((tag, joined.join("."), path.to_owned()));
                }
                other => intrinsics(other, path, out),
            }
        }
        Value::Mapping(m) => {
            for (k, v) in m {
                let key = k.as_str().unwrap_or("?");
                if let Some(arg) = v.as_str().filter(|_| matches!(key, "Ref" | "Fn::Sub")) {
                    out.push((
                        key.trim_start_matches("Fn::").to_owned(),
                        arg.to_owned(),
                        path.to_owned(),
                    ));
                }
                intrinsics(v, &format!("{path}.{key}"), out);
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                intrinsics(item, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Attributes `!GetAtt` may ask of each resource type used here.
fn attributes(resource_type: &str) -> &'static [&'static str] {
    match resource_type {
        "AWS::SQS::Queue" => &["Arn", "QueueName", "QueueUrl"],
        "AWS::DynamoDB::Table" => &["Arn", "StreamArn"],
        "AWS::Logs::LogGroup" => &["Arn"],
        "AWS::Serverless::Function" => &["Arn"],
        "AWS::SecretsManager::Secret" => &["Id"],
        "AWS::ApiGatewayV2::DomainName" => &["RegionalDomainName", "RegionalHostedZoneId"],
        _ => &[],
    }
}

#[test]
fn every_reference_resolves() {
    let t = template();
    let top = map(&t);
    let resources = map(&top["Resources"]);
    let parameters = map(&top["Parameters"]);
    let mut found = Vec::new();
    intrinsics(&t, "", &mut found);
    assert!(found.len() > 20, "the walk finds the template's references ({})", found.len());
    let known = |name: &str| {
        resources.contains_key(name) || parameters.contains_key(name) || name.starts_with("AWS::")
    };
    let mut problems = Vec::new();
    for (tag, arg, path) in &found {
        match tag.as_str() {
            "Ref" if !known(arg) => problems.push(format!("{path}: !Ref {arg} names nothing")),
            "GetAtt" => {
                let (name, attr) = arg.split_once('.').unwrap_or((arg, ""));
                match resources.get(name) {
                    None => problems.push(format!("{path}: !GetAtt {arg}: no resource {name}")),
                    Some(r) => {
                        let kind = map(r)["Type"].as_str().unwrap_or_default().to_owned();
                        if !attributes(&kind).contains(&attr) {
                            problems.push(format!(
                                "{path}: !GetAtt {arg}: {kind} has no attribute {attr}"
                            ));
                        }
                    }
                }
            }
            "Sub" => {
                for var in arg.split("${").skip(1).filter_map(|s| s.split_once('}').map(|(v, _)| v))
                {
                    let base = var.split('.').next().unwrap_or(var);
                    if !known(base) {
                        problems.push(format!("{path}: !Sub ${{{var}}} names nothing"));
                    }
                }
            }
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Binary name -> the crate folder that builds it.
fn binaries() -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("functions")).expect("functions/") {
        let dir = entry.expect("entry").path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        for line in manifest.lines() {
            if let Some(name) =
                line.trim().strip_prefix("name = \"").and_then(|s| s.strip_suffix('"'))
                && manifest.contains("[[bin]]")
                && manifest
                    .split("[[bin]]")
                    .nth(1)
                    .is_some_and(|b| b.contains(&format!("name = \"{name}\"")))
            {
                out.insert(name.to_owned(), dir.clone());
            }
        }
    }
    out
}

fn sources(dirs: &[PathBuf]) -> String {
    let mut text = String::new();
    let mut stack: Vec<PathBuf> = dirs.to_vec();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).expect("dir").flatten() {
                stack.push(e.path());
            }
        } else if p.extension().is_some_and(|e| e == "rs") {
            text.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
        }
    }
    text
}

#[test]
fn functions_build_existing_binaries_and_get_only_variables_their_code_reads() {
    let t = template();
    let resources = map(&map(&t)["Resources"]);
    let bins = binaries();
    let mut checked = BTreeSet::new();
    let mut problems = Vec::new();
    for (name, r) in &resources {
        let r = map(r);
        if r.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = map(&map(&r["Metadata"])["BuildProperties"])["Binary"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let Some(dir) = bins.get(&binary) else {
            problems
                .push(format!("{name}: binary {binary:?} is built by no crate under functions/"));
            continue;
        };
        let code = sources(&[
            dir.join("src"),
            root().join("shared/aws/src"),
            root().join("shared/core/src"),
        ]);
        let env = map(&map(&map(&r["Properties"])["Environment"])["Variables"]);
        for var in env.keys().filter(|v| v.starts_with("SFHS_")) {
            if !code.contains(&format!("\"{var}\"")) {
                problems.push(format!("{name}: {var} is set, but no code of {binary} reads it"));
            }
        }
        checked.insert(binary);
    }
    assert!(checked.contains("webhook"), "the webhook is deployed");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The dashboard's body is JSON once substituted, every `sfhs` metric it plots is one the code
/// emits, and every alarm of the stack is on it.
#[test]
fn the_dashboard_plots_metrics_the_code_emits_and_links_every_alarm() {
    let t = template();
    let resources = map(&map(&t)["Resources"]);
    let body = match &map(&map(&resources["Dashboard"])["Properties"])["DashboardBody"] {
        Value::Tagged(sub) => sub.value.as_str().unwrap_or_default().to_owned(),
        other => panic!("DashboardBody is not a !Sub: {other:?}"),
    };
    let mut substituted = String::new();
    let mut rest = body.as_str();
    while let Some(start) = rest.find("${") {
        substituted.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("a closed ${...}");
        substituted.push('x');
        rest = &rest[start + end + 1..];
    }
    substituted.push_str(rest);
    let dashboard: serde_json::Value =
        serde_json::from_str(&substituted).expect("the dashboard body is JSON");
    let widgets = dashboard["widgets"].as_array().expect("widgets");
    assert!(widgets.len() >= 10, "{}", widgets.len());
    let code = sources(&[root().join("functions"), root().join("shared/core/src")]);
    let mut plotted = BTreeSet::new();
    for w in widgets {
        for m in w["properties"]["metrics"].as_array().into_iter().flatten() {
            if m[0] == "sfhs" {
                plotted.insert(m[1].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    assert!(plotted.contains("HubSpotCalls"), "{plotted:?}");
    for name in &plotted {
        assert!(
            code.contains(&format!("\"{name}\"")),
            "the dashboard plots sfhs/{name}, which no code emits"
        );
    }
    assert!(body.contains("RecordsSettled") && code.contains("\"RecordsSettled\""));
    for (name, r) in &resources {
        if map(r).get("Type").and_then(Value::as_str) == Some("AWS::CloudWatch::Alarm") {
            assert!(
                body.contains(&format!("${{{name}.Arn}}")),
                "alarm {name} is not on the dashboard"
            );
        }
    }
}
