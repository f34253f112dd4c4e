//! The README documents the JSON report's field names; this keeps that table true.

use crate::common::{Creds, run_against};
use std::collections::{BTreeMap, BTreeSet};

/// Backticked words of each `| `event` | fields |` row of the README's JSON table.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let mut out = BTreeMap::new();
    // The rows after the table's header, up to the first line that is not a table row.
    let table = readme
        .lines()
        .skip_while(|l| !l.starts_with("| `event` | fields |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'));
    for line in table {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[1].starts_with('`') {
            continue;
        }
        let event = cells[1].trim_matches('`').to_owned();
        let fields: BTreeSet<String> = cells[2]
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        out.insert(event, fields);
    }
    out
}

/// Every key of a JSON value, nested objects and arrays of objects included.
fn keys(value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone());
                keys(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| keys(i, out)),
        _ => {}
    }
}

#[tokio::test]
async fn readme_json_table_names_every_field_of_every_event() {
    let outcome = run_against(vec![reference_server::Fault::DeleteNoop], Creds::All, |c| {
        c.scenario_glob = Some("lifecycle/*".into());
        // A filtered run warns about coverage only when asked to gate on it.
        c.require_coverage = true;
    })
    .await;
    let docs = documented();
    let mut seen = BTreeSet::new();
    for event in &outcome.events {
        let json = serde_json::to_value(event).unwrap();
        let kind = json["event"].as_str().unwrap().to_owned();
        let documented = docs
            .get(&kind)
            .unwrap_or_else(|| panic!("event `{kind}` is not in the README's JSON table"));
        let mut fields = BTreeSet::new();
        keys(&json, &mut fields);
        fields.remove("event");
        let undocumented: Vec<_> = fields.difference(documented).collect();
        assert!(
            undocumented.is_empty(),
            "`{kind}` fields missing from the README: {undocumented:?}"
        );
        seen.insert(kind);
    }
    // A run that ends before its first scenario has one event of its own.
    let aborted = serde_json::to_value(conformance::Event::RunAborted {
        target: "t".into(),
        base_url: "u".into(),
        reason: "r".into(),
        exit_code: 2,
    })
    .unwrap();
    let mut fields = BTreeSet::new();
    keys(&aborted, &mut fields);
    fields.remove("event");
    assert_eq!(
        Some(&fields),
        docs.get("run_aborted"),
        "`run_aborted` fields"
    );
    // A retry needs a busy or flaky target (tests/staging.rs checks that event's fields), and
    // a notice a recording.
    let expected: BTreeSet<String> = docs
        .keys()
        .filter(|k| !["retry", "run_aborted", "notice"].contains(&k.as_str()))
        .cloned()
        .collect();
    assert_eq!(
        seen, expected,
        "every documented event kind occurs in this run"
    );
}

#[test]
fn readme_lists_exactly_the_report_formats() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.starts_with("`--report ") && l.contains("=PATH`"))
        .expect("README's Reports section names the formats");
    let documented: BTreeSet<String> = line
        .split("`--report ")
        .skip(1)
        .filter_map(|rest| rest.split('=').next())
        .map(str::to_owned)
        .collect();
    let formats: BTreeSet<String> = conformance::report::Format::names().into_iter().collect();
    assert_eq!(documented, formats, "README's formats vs report::Format");
}
