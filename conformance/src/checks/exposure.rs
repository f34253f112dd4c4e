//! How much of a created secret any value in a response may show. "The list never contains
//! the secret" misses a mask that shows most of it; this check bounds the longest run of
//! consecutive characters a response value shares with an earlier secret.
//!
//! The bound comes from the spec's masked example (TRANSCRIPTION.md, "How much of the secret
//! a mask shows"): a mask may show as many of the secret's characters as the example mask
//! shows in all (`uat_` and the last four: 8), never more in one run. A run of characters
//! that two different secrets share (a fixed prefix, a JWT header) is not secret material
//! and is not counted. Nothing of the secret is ever quoted in a failure: only lengths and
//! the placeholder.

use super::{Failure, Outcome, ResponseCx};
use crate::redact::CREATED_SECRET;
use serde_json::Value;

fn collect_strings<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// The length of the longest run of characters `a` and `b` share.
pub fn longest_common_run(a: &[char], b: &[char]) -> usize {
    let mut best = 0;
    let mut row = vec![0usize; b.len() + 1];
    for x in a {
        let mut diagonal = 0;
        for (j, y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if x == y { diagonal + 1 } else { 0 };
            best = best.max(row[j + 1]);
            diagonal = above;
        }
    }
    best
}

pub fn secret_exposure(cx: &ResponseCx) -> Outcome {
    let mask = cx.contract.mask_limit.as_ref()?;
    let limit = mask.shown;
    // Applies to every JSON body, whether or not a secret is known yet: what concurrent
    // scenarios created so far must not change which checks a report shows.
    let body: Value = serde_json::from_slice(&cx.response.body).ok()?;
    let mut strings = Vec::new();
    collect_strings(&body, &mut strings);
    let values: Vec<Vec<char>> = strings.iter().map(|s| s.chars().collect()).collect();
    // A run of `limit + 1` characters of an earlier secret that no other secret shares
    // (the redactor indexes them as secrets arrive: `Redactor::set_run_length`).
    let Some(secret) = cx.secrets.sharing_a_run(&values, |s| !cx.own.contains(&s)) else {
        return Some(Ok(()));
    };
    let secret: Vec<char> = secret.chars().collect();
    let longest = values
        .iter()
        .map(|v| longest_common_run(v, &secret))
        .max()
        .unwrap_or(0);
    Some(Err(Failure::new(format!(
        "a value in the {} body shows {longest} consecutive characters of {CREATED_SECRET} (of {}); a mask may show at most {limit}",
        cx.response.status,
        secret.len()
    ))
    .expected(format!(
        "at most {limit} consecutive characters of any secret, as the spec's masked example shows"
    ))
    .actual(format!("{longest} consecutive characters of {CREATED_SECRET}"))
    .at(mask.pointer.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn the_limit_is_what_the_example_mask_shows() {
        let contract = crate::api::Contract::embedded();
        let limit = contract.mask_limit.as_ref().expect("the spec shows a mask");
        assert_eq!(limit.shown, 8);
        assert!(
            limit.pointer.ends_with("/example/0/token"),
            "{}",
            limit.pointer
        );
    }

    #[test]
    fn longest_common_run_counts_consecutive_characters() {
        assert_eq!(
            longest_common_run(&chars("uat_****rM1E"), &chars("uat_Q2hhrM1E")),
            4
        );
        assert_eq!(longest_common_run(&chars("abcdef"), &chars("xbcdey")), 4);
        assert_eq!(longest_common_run(&chars(""), &chars("abc")), 0);
    }
}
