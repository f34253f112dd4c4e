//! The known-failures file: lets a team gate only on new failures.
//!
//! ```toml
//! [[failure]]
//! scenario = "validation/missing-name"
//! check = "status_expected"
//! reason = "API-123: the server accepts a missing name"
//! expires = 2027-01-31
//! issue = "https://tracker.example/API-123"   # optional, shown in every report
//! owner = "team-tokens"                       # optional, shown in every report
//! flaky = true                                # optional: failing or passing, both are fine
//! ```
//! A listed failure is reported but does not fail the run until its entry expires. An entry
//! naming a scenario the spec does not yield, or a check that does not exist, is a
//! configuration error. An entry whose check ran and passed is stale: with `CI=true` it fails
//! the run (the file must not rot), outside CI it is a warning; `flaky = true` allows either
//! outcome. An expired entry is reported as a warning and its failure gates again.

use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Mutex;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    failure: Vec<RawEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    scenario: String,
    check: String,
    reason: String,
    expires: toml::value::Datetime,
    #[serde(default)]
    issue: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    flaky: bool,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub scenario: String,
    pub check: String,
    pub reason: String,
    pub expires: NaiveDate,
    /// A link to the tracking issue.
    pub issue: Option<String>,
    /// Who is responsible for the entry.
    pub owner: Option<String>,
    /// The failure comes and goes: an entry whose check passed is not stale.
    pub flaky: bool,
}

impl Entry {
    /// What reports show for a listed failure: the reason, then the issue and the owner.
    pub fn describe(&self) -> String {
        let mut out = self.reason.clone();
        if let Some(issue) = &self.issue {
            out.push_str(&format!(" · issue: {issue}"));
        }
        if let Some(owner) = &self.owner {
            out.push_str(&format!(" · owner: {owner}"));
        }
        if self.flaky {
            out.push_str(" · flaky");
        }
        out
    }
}

/// What the known-failures file says about a finished run.
#[derive(Debug, Default, PartialEq)]
pub struct Review {
    /// One line per entry a person must act on (expired, stale), in file order.
    pub messages: Vec<String>,
    /// Stale entries that fail the run (strict mode: `CI=true`).
    pub failing: usize,
    /// Those entries: (scenario, check, the entry's reason, issue and owner).
    pub stale: Vec<(String, String, String)>,
}

#[derive(Debug, Default)]
pub struct KnownFailures {
    entries: Vec<Entry>,
    today: Option<NaiveDate>,
    /// Under CI a stale entry fails the run instead of warning.
    strict: bool,
    /// Indices of entries whose failure happened in this run.
    hit: Mutex<BTreeSet<usize>>,
    /// Indices of entries whose check ran in their scenario (passed or not).
    judged: Mutex<BTreeSet<usize>>,
}

impl KnownFailures {
    /// Reads the file; strict (stale entries fail the run) when running in CI.
    pub fn load(path: &Path, today: NaiveDate) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read known-failures file {}: {e}", path.display()))?;
        Self::parse(&text, today)
            .map(|k| k.strict(running_in_ci()))
            .map_err(|e| {
                let sep = if e.contains('\n') { "\n" } else { " " };
                format!("{}:{sep}{e}", path.display())
            })
    }

    /// Whether an entry whose failure did not happen fails the run (`true`) or warns.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    pub fn parse(text: &str, today: NaiveDate) -> Result<Self, String> {
        let file: File =
            // toml's message shows the line with a caret under the mistake: keep its lines.
            toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())?;
        let mut entries = Vec::new();
        for (i, raw) in file.failure.into_iter().enumerate() {
            if crate::checks::info(&raw.check).is_none() {
                return Err(format!(
                    "entry {}: unknown check `{}` (`conformance list` shows the checks)",
                    i + 1,
                    raw.check
                ));
            }
            let expires =
                NaiveDate::parse_from_str(&raw.expires.to_string(), "%Y-%m-%d").map_err(|_| {
                    format!(
                        "entry {}: `expires` must be a date like 2027-01-31, found {}",
                        i + 1,
                        raw.expires
                    )
                })?;
            if raw.reason.trim().is_empty() {
                return Err(format!("entry {}: `reason` is empty", i + 1));
            }
            for (key, value) in [("issue", &raw.issue), ("owner", &raw.owner)] {
                if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                    return Err(format!("entry {}: `{key}` is empty", i + 1));
                }
            }
            entries.push(Entry {
                scenario: raw.scenario,
                check: raw.check,
                reason: raw.reason,
                expires,
                issue: raw.issue,
                owner: raw.owner,
                flaky: raw.flaky,
            });
        }
        Ok(KnownFailures {
            entries,
            today: Some(today),
            strict: false,
            hit: Mutex::new(BTreeSet::new()),
            judged: Mutex::new(BTreeSet::new()),
        })
    }

    /// A configuration error when an entry names a scenario the spec does not yield, so a
    /// typo or a renamed scenario cannot silently excuse nothing.
    pub fn check_scenarios(&self, existing: &BTreeSet<String>) -> Result<(), String> {
        match self
            .entries
            .iter()
            .position(|e| !existing.contains(&e.scenario))
        {
            Some(i) => Err(format!(
                "known-failures entry {}: no scenario is named `{}` (`conformance list` shows them)",
                i + 1,
                self.entries[i].scenario
            )),
            None => Ok(()),
        }
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    fn expired(&self, e: &Entry) -> bool {
        self.today.is_some_and(|t| e.expires < t)
    }

    /// Notes that `check` ran in `scenario`, passed or not: an entry for it whose failure
    /// never happened is stale. A check that did not run (not selected, scenario skipped or
    /// interrupted) says nothing about its entry.
    pub fn judged(&self, scenario: &str, check: &str) {
        if self.entries.is_empty() {
            return;
        }
        let mut judged = self.judged.lock().unwrap_or_else(|p| p.into_inner());
        for (i, e) in self.entries.iter().enumerate() {
            if e.scenario == scenario && e.check == check {
                judged.insert(i);
            }
        }
    }

    /// What reports show when this failure is listed and the entry has not expired: the
    /// reason, the issue and the owner.
    pub fn lookup(&self, scenario: &str, check: &str) -> Option<String> {
        let (i, e) = self
            .entries
            .iter()
            .enumerate()
            .find(|(_, e)| e.scenario == scenario && e.check == check)?;
        self.hit.lock().unwrap_or_else(|p| p.into_inner()).insert(i);
        if self.expired(e) {
            None
        } else {
            Some(e.describe())
        }
    }

    /// What a person must act on once the run is over.
    pub fn review(&self) -> Review {
        let hit = self.hit.lock().unwrap_or_else(|p| p.into_inner());
        let judged = self.judged.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Review::default();
        for (i, e) in self.entries.iter().enumerate() {
            if self.expired(e) {
                out.messages.push(format!(
                    "known failure {} / {} expired on {}: it gates again ({})",
                    e.scenario,
                    e.check,
                    e.expires,
                    e.describe()
                ));
            } else if judged.contains(&i) && !hit.contains(&i) && !e.flaky {
                if self.strict {
                    out.failing += 1;
                    out.stale
                        .push((e.scenario.clone(), e.check.clone(), e.describe()));
                    out.messages.push(format!(
                        "known failure {} / {} did not happen: remove it from the known-failures file (CI=true fails the run on an entry that no longer fails; `flaky = true` allows either outcome) ({})",
                        e.scenario,
                        e.check,
                        e.describe()
                    ));
                } else {
                    out.messages.push(format!(
                        "known failure {} / {} now passes: remove it from the known-failures file ({})",
                        e.scenario,
                        e.check,
                        e.describe()
                    ));
                }
            }
        }
        out
    }
}

/// Whether this process runs in CI: insta's rule (`CI` set and not `false`/`0`/empty, or
/// Azure's `TF_BUILD`), the same one the snapshot gate follows, so one variable makes a run
/// strict about both.
pub fn running_in_ci() -> bool {
    match std::env::var("CI").as_deref() {
        Ok("false") | Ok("0") | Ok("") => false,
        Ok(_) => true,
        Err(_) => std::env::var_os("TF_BUILD").is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const FILE: &str = r#"
[[failure]]
scenario = "validation/missing-name"
check = "status_expected"
reason = "API-1"
expires = 2027-01-31

[[failure]]
scenario = "auth/list/basic-scheme"
check = "content_type"
reason = "API-2"
expires = 2026-01-01
"#;

    #[test]
    fn active_entries_match_and_expired_ones_do_not() {
        let k = KnownFailures::parse(FILE, day("2026-11-28")).unwrap();
        assert_eq!(
            k.lookup("validation/missing-name", "status_expected")
                .as_deref(),
            Some("API-1")
        );
        assert_eq!(k.lookup("validation/missing-name", "content_type"), None);
        assert_eq!(k.lookup("auth/list/basic-scheme", "content_type"), None);
        let w = k.review();
        assert_eq!(w.messages.len(), 1, "{w:?}");
        assert!(w.messages[0].contains("expired on 2026-01-01"), "{w:?}");
        assert_eq!(w.failing, 0, "an expired entry gates through its failure");
    }

    #[test]
    fn a_listed_failure_that_no_longer_happens_warns_outside_ci_and_fails_in_ci() {
        for strict in [false, true] {
            let k = KnownFailures::parse(FILE, day("2025-01-01"))
                .unwrap()
                .strict(strict);
            k.judged("validation/missing-name", "status_expected");
            let w = k.review();
            assert_eq!(w.messages.len(), 1, "{w:?}");
            if strict {
                assert_eq!(w.failing, 1);
                assert!(w.messages[0].contains("did not happen: remove it"), "{w:?}");
            } else {
                assert_eq!(w.failing, 0);
                assert!(w.messages[0].contains("now passes: remove it"), "{w:?}");
            }
        }
    }

    #[test]
    fn an_entry_whose_check_did_not_run_is_not_stale() {
        let k = KnownFailures::parse(FILE, day("2025-01-01"))
            .unwrap()
            .strict(true);
        // Another check of the scenario ran; the listed one did not (deselected, skipped).
        k.judged("validation/missing-name", "content_type");
        assert_eq!(k.review(), Review::default());
    }

    #[test]
    fn a_flaky_entry_allows_either_outcome() {
        let flaky = FILE.replace("reason = \"API-1\"", "reason = \"API-1\"\nflaky = true");
        for failed in [false, true] {
            let k = KnownFailures::parse(&flaky, day("2025-01-01"))
                .unwrap()
                .strict(true);
            k.judged("validation/missing-name", "status_expected");
            if failed {
                assert!(
                    k.lookup("validation/missing-name", "status_expected")
                        .is_some()
                );
            }
            assert_eq!(k.review(), Review::default(), "failed: {failed}");
        }
    }

    #[test]
    fn issue_and_owner_are_part_of_what_reports_show() {
        let text = FILE.replace(
            "reason = \"API-1\"",
            "reason = \"API-1\"\nissue = \"https://tracker.example/API-1\"\nowner = \"team-tokens\"",
        );
        let k = KnownFailures::parse(&text, day("2025-01-01")).unwrap();
        assert_eq!(
            k.lookup("validation/missing-name", "status_expected")
                .as_deref(),
            Some("API-1 · issue: https://tracker.example/API-1 · owner: team-tokens")
        );
    }

    #[test]
    fn an_entry_naming_no_scenario_of_the_spec_is_a_configuration_error() {
        let k = KnownFailures::parse(FILE, day("2025-01-01")).unwrap();
        let existing: BTreeSet<String> = ["auth/list/basic-scheme".to_owned()].into();
        let e = k.check_scenarios(&existing).unwrap_err();
        assert!(
            e.contains("entry 1: no scenario is named `validation/missing-name`"),
            "{e}"
        );
        let both: BTreeSet<String> = [
            "auth/list/basic-scheme".to_owned(),
            "validation/missing-name".to_owned(),
        ]
        .into();
        assert_eq!(k.check_scenarios(&both), Ok(()));
    }

    #[test]
    fn bad_files_are_refused_with_a_reason() {
        let today = day("2026-11-28");
        let bad_check = FILE.replace("content_type", "no_such_check");
        assert!(
            KnownFailures::parse(&bad_check, today)
                .unwrap_err()
                .contains("unknown check")
        );
        let bad_date = FILE.replace("expires = 2027-01-31", "expires = \"soon\"");
        assert!(KnownFailures::parse(&bad_date, today).is_err());
        let extra = FILE.replace(
            "reason = \"API-1\"",
            "reason = \"API-1\"\nassignee = \"me\"",
        );
        assert!(KnownFailures::parse(&extra, today).is_err());
        let empty_owner = FILE.replace("reason = \"API-1\"", "reason = \"API-1\"\nowner = \" \"");
        assert!(
            KnownFailures::parse(&empty_owner, today)
                .unwrap_err()
                .contains("`owner` is empty")
        );
    }
}
