//! A lane in words: numbered steps for the failure message, and a shell script that replays
//! them with curl and jq.

use super::facts::Facts;
use super::ops::{Caller, Op, Step, Target};
use super::reference::State;
use crate::api::Contract;
use crate::context::RUN_NAME_PREFIX;
use serde_json::json;
use std::fmt::Write as _;

fn caller_text(by: Caller) -> String {
    match by {
        Caller::Bearer(r) => format!("as {}", r.env_var()),
        Caller::Secret(s) => format!("with t{s}'s secret"),
    }
}

/// One operation in words.
pub fn describe_op(op: &Op, facts: &Facts) -> String {
    let privileges = |p: &Option<Vec<String>>| match p {
        None => "no privileges field".to_owned(),
        Some(p) => format!("privileges {}", json!(p)),
    };
    match op {
        Op::Create {
            by,
            slot,
            lifetime,
            privileges: p,
        } => format!(
            "create t{slot} {} (lifetime {}, {})",
            caller_text(*by),
            facts.lifetimes[*lifetime].name,
            privileges(p)
        ),
        Op::List { by } => format!("list {}", caller_text(*by)),
        Op::Delete {
            by,
            target: Target::Slot(s),
        } => format!("delete t{s} {}", caller_text(*by)),
        Op::Delete {
            by,
            target: Target::Unknown(id),
        } => format!("delete the unknown id {id} {}", caller_text(*by)),
        Op::Race { slot, copies } => {
            format!("delete t{slot} {copies} times at once as its owner")
        }
    }
}

/// One step in words: an operation, or several sent at the same time.
pub fn describe(step: &Step, facts: &Facts) -> String {
    match step.as_slice() {
        [op] => describe_op(op, facts),
        ops => format!(
            "at the same time: {}",
            ops.iter()
                .map(|op| describe_op(op, facts))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

/// A shell script that replays the steps with curl and jq. Credentials are the run's
/// environment variables; created ids and secrets are captured into `ID_n`/`SECRET_n`. A
/// step's requests go out in the background and are waited for together.
pub fn script(steps: &[Step], facts: &Facts, api: &Contract, base_url: &str) -> String {
    let auth = |by: Caller| match by {
        Caller::Bearer(r) => format!("-H \"Authorization: Bearer ${}\"", r.env_var()),
        Caller::Secret(s) => format!("-H \"{}: $SECRET_{s}\"", facts.header),
    };
    let secret = &facts.fields.secret;
    let id = &facts.fields.id;
    // The id is a shell variable: put it in after the path is built, so it is not escaped.
    let delete_path = |id: &str| api.delete.path_with("IDMARK").replace("IDMARK", id);
    let body = |slot: usize, lifetime: usize, p: &Option<Vec<String>>| {
        facts
            .fields
            .create_body(
                &super::judge::token_name(&format!("{RUN_NAME_PREFIX}replay-"), slot),
                &facts.lifetimes[lifetime].name,
                p.as_deref(),
            )
            .to_string()
            .replace('\'', "'\\''")
    };
    let mut out = format!(
        "# needs curl and jq; the credentials come from the same variables as the run\nBASE='{base_url}'\nTMP=$(mktemp -d)\n"
    );
    let ct = format!("-H 'content-type: {}'", facts.content_type);
    // The reference model names the owner a race authenticates as.
    let mut state = State::default();
    for (n, step) in steps.iter().enumerate() {
        let _ = writeln!(out, "# {}. {}", n + 1, describe(step, facts));
        let together = step.len() > 1 || step.iter().any(|op| matches!(op, Op::Race { .. }));
        let bg = if together { " &" } else { "" };
        let mut captures = Vec::new();
        for (j, op) in step.iter().enumerate() {
            match op {
                Op::Create {
                    by,
                    slot,
                    lifetime,
                    privileges,
                } => {
                    let _ = writeln!(
                        out,
                        "curl -sS -X POST \"$BASE{}\" {} {ct} --data-binary '{}' > \"$TMP/{n}-{j}\"{bg}",
                        facts.create_path,
                        auth(*by),
                        body(*slot, *lifetime, privileges)
                    );
                    captures.push((*slot, format!("$TMP/{n}-{j}")));
                }
                Op::List { by } => {
                    let _ = writeln!(
                        out,
                        "curl -sS -i \"$BASE{}\" {}; echo{bg}",
                        facts.list_path,
                        auth(*by)
                    );
                }
                Op::Delete { by, target } => {
                    let id = match target {
                        Target::Slot(s) => format!("$ID_{s}"),
                        Target::Unknown(id) => id.clone(),
                    };
                    let _ = writeln!(
                        out,
                        "curl -sS -o /dev/null -w 'DELETE %{{http_code}}\\n' -X DELETE \"$BASE{}\" {}{bg}",
                        delete_path(&id),
                        auth(*by)
                    );
                }
                Op::Race { slot, copies } => {
                    let owner = state
                        .slot(*slot)
                        .map_or(crate::roles::Role::User, |t| t.owner);
                    for _ in 0..*copies {
                        let _ = writeln!(
                            out,
                            "curl -sS -o /dev/null -w 'DELETE %{{http_code}}\\n' -X DELETE \"$BASE{}\" {} &",
                            delete_path(&format!("$ID_{slot}")),
                            auth(Caller::Bearer(owner))
                        );
                    }
                }
            }
        }
        if together {
            out.push_str("wait\n");
        }
        for (slot, file) in captures {
            let _ = writeln!(
                out,
                "R=$(cat \"{file}\"); echo \"$R\"; ID_{slot}=$(printf '%s' \"$R\" | jq -r '.{id}'); SECRET_{slot}=$(printf '%s' \"$R\" | jq -r '.{secret}')"
            );
        }
        state.apply_step(step);
    }
    out
}
