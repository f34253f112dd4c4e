//! The input classes the suites derive from the spec, as `conformance list` shows them: each
//! class with what it is applied to (read from the compiled contract, as the generators read
//! it) and the rule its expected outcome rests on: a spec keyword at its pointer, a decision of
//! `openapi/TRANSCRIPTION.md`, or an RFC section.

use super::near_miss::Bend;
use super::schemes::{Carrier, carriers};
use crate::api::Contract;
use abp_spec::{BodyField, JsonType};

/// One class of inputs, where it applies, and what decides the answer it must get.
pub struct InputClass {
    pub class: String,
    pub applies_to: Vec<String>,
    pub rule: String,
}

fn class(class: impl Into<String>, applies_to: Vec<String>, rule: impl Into<String>) -> InputClass {
    InputClass {
        class: class.into(),
        applies_to,
        rule: rule.into(),
    }
}

/// Every class, in the order the suites derive them.
pub fn input_classes(api: &Contract) -> Vec<InputClass> {
    let body = &api.create_body;
    let fields = |keep: fn(&BodyField) -> bool| -> Vec<String> {
        body.fields
            .iter()
            .filter(|f| keep(f))
            .map(|f| f.name.clone())
            .collect()
    };
    let decided = |title: &str| format!("decided: TRANSCRIPTION.md, {title}");
    let mut out = vec![
        class(
            "a required property left out: 400, nothing changes",
            body.required.clone(),
            format!("{}/required", body.schema_pointer),
        ),
        class(
            "every other JSON type, for each property and each array's items: 400",
            fields(|f| f.json_type().is_some()),
            "each property's type, at its pointer",
        ),
        class(
            "outside the enum (unknown, upper case, empty): 400",
            fields(|f| !f.constraints.enumeration.is_empty()),
            "each property's enum",
        ),
        class(
            "a string one character past its bounds (also in two-byte and astral characters): 400; exactly at them: stored as sent",
            fields(|f| f.constraints.max_length.is_some() || f.constraints.min_length.is_some()),
            format!(
                "minLength, maxLength; {}",
                decided("The name's length limits")
            ),
        ),
        class(
            "special strings (the Big List of Naughty Strings, naughty-strings 0.2.4; control characters, delimiters, markup, decomposed and astral Unicode): stored and listed as sent",
            fields(|f| {
                f.json_type() == Some(JsonType::String) && f.constraints.enumeration.is_empty()
                    || f.is_string_array()
            }),
            format!(
                "{}; {}",
                decided("Special strings are data"),
                decided("What is stored is what was sent")
            ),
        ),
        class(
            "a token property the create body lacks, with a look-alike value, at the top level and under __proto__, constructor.prototype and $set: the server's own value or 400, never the value sent",
            api.server_set.iter().map(|s| s.field.clone()).collect(),
            format!(
                "{} (OWASP API3:2023)",
                decided("Properties a create does not take")
            ),
        ),
        class(
            "a body of exactly x-max-body-bytes: accepted; one byte more: 400 or 413",
            vec![body.pointer.clone()],
            decided("The request body limit"),
        ),
    ];
    if !body.closed {
        out.push(class(
            "a property the schema does not name: ignored",
            vec![body.schema_pointer.clone()],
            "additionalProperties is not false",
        ));
    }
    for (key, carrier, _) in carriers(api) {
        let whose = match carrier {
            Carrier::Bearer => "a user's bearer credential",
            Carrier::ApiKey { .. } => "a created token's secret",
        };
        out.push(class(
            format!(
                "{whose} {}: 401 with a challenge naming a scheme of the spec",
                Bend::described(&carrier).join(", ")
            ),
            vec![key],
            format!("{}; RFC 9110 §11.6.1", decided("Near-miss credentials")),
        ));
    }
    out.push(class(
        "a delete among look-alikes (tokens sharing its name, privileges, lifetime and second): only it goes; every list holds each token once",
        vec![api.delete.id.clone()],
        decided("A list is a set of tokens"),
    ));
    out.push(class(
        "a method the spec does not document on a path: 405 with Allow",
        api.operations()
            .map(|(_, op)| op.path.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
        format!(
            "{}; RFC 9110 §15.5.6",
            decided("Undocumented methods answer 405")
        ),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every decision a class cites is a row of the transcription record.
    #[test]
    fn every_cited_decision_exists() {
        let rows = abp_spec::decisions::decisions();
        for c in input_classes(&Contract::embedded()) {
            assert!(!c.applies_to.is_empty(), "{}", c.class);
            for cited in c.rule.split("TRANSCRIPTION.md, ").skip(1) {
                let title = cited.split([';', '(']).next().unwrap().trim();
                assert!(
                    rows.iter().any(|r| r.title == title),
                    "`{title}` is not a row of TRANSCRIPTION.md"
                );
            }
        }
    }
}
