//! The known-failures file: lets a team gate only on new failures.
//!
//! ```toml
//! [[failure]]
//! scenario = "validation/missing-name"
//! check = "status_expected"
//! reason = "API-123: the server accepts a missing name"
//! expires = 2027-01-31
//! ```
//! A listed failure is reported but does not fail the run until its entry expires. An expired
//! entry, or an entry whose failure no longer happens, is reported as a warning.

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
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub scenario: String,
    pub check: String,
    pub reason: String,
    pub expires: NaiveDate,
}

#[derive(Debug, Default)]
pub struct KnownFailures {
    entries: Vec<Entry>,
    today: Option<NaiveDate>,
    /// Indices of entries whose failure happened in this run.
    hit: Mutex<BTreeSet<usize>>,
}

impl KnownFailures {
    pub fn load(path: &Path, today: NaiveDate) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read known-failures file {}: {e}", path.display()))?;
        Self::parse(&text, today).map_err(|e| {
            let sep = if e.contains('\n') { "\n" } else { " " };
            format!("{}:{sep}{e}", path.display())
        })
    }

    pub fn parse(text: &str, today: NaiveDate) -> Result<Self, String> {
        let file: File =
            // toml's message shows the line with a caret under the mistake: keep its lines.
            toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())?;
        let mut entries = Vec::new();
        for (i, raw) in file.failure.into_iter().enumerate() {
            if crate::checks::info(&raw.check).is_none() {
                return Err(format!("entry {}: unknown check `{}`", i + 1, raw.check));
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
            entries.push(Entry {
                scenario: raw.scenario,
                check: raw.check,
                reason: raw.reason,
                expires,
            });
        }
        Ok(KnownFailures {
            entries,
            today: Some(today),
            hit: Mutex::new(BTreeSet::new()),
        })
    }

    fn expired(&self, e: &Entry) -> bool {
        self.today.is_some_and(|t| e.expires < t)
    }

    /// The reason, when this failure is listed and the entry has not expired.
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
            Some(e.reason.clone())
        }
    }

    /// What a person must act on, given the scenarios that ran and every scenario the spec
    /// yields (to tell a typo from a scenario that was merely not selected).
    pub fn warnings(&self, ran: &BTreeSet<String>, existing: &BTreeSet<String>) -> Vec<String> {
        let hit = self.hit.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            if self.expired(e) {
                out.push(format!(
                    "known failure {} / {} expired on {}: it gates again ({})",
                    e.scenario, e.check, e.expires, e.reason
                ));
            } else if ran.contains(&e.scenario) && !hit.contains(&i) {
                out.push(format!(
                    "known failure {} / {} now passes: remove it from the known-failures file ({})",
                    e.scenario, e.check, e.reason
                ));
            } else if !ran.contains(&e.scenario) && !existing.contains(&e.scenario) {
                out.push(format!(
                    "known failure names no scenario: `{}` (`conformance list` shows them)",
                    e.scenario
                ));
            }
        }
        out
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
        let ran: BTreeSet<String> = ["validation/missing-name".to_owned()].into();
        let w = k.warnings(&ran, &ran);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("expired on 2026-01-01"), "{w:?}");
    }

    #[test]
    fn a_listed_failure_that_no_longer_happens_is_reported() {
        let k = KnownFailures::parse(FILE, day("2025-01-01")).unwrap();
        let ran: BTreeSet<String> = ["validation/missing-name".to_owned()].into();
        let w = k.warnings(&ran, &ran);
        assert!(w.iter().any(|w| w.contains("now passes")), "{w:?}");
    }

    #[test]
    fn an_entry_naming_no_scenario_of_the_spec_is_reported() {
        let k = KnownFailures::parse(FILE, day("2025-01-01")).unwrap();
        let existing: BTreeSet<String> = ["auth/list/basic-scheme".to_owned()].into();
        let w = k.warnings(&BTreeSet::new(), &existing);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("names no scenario: `validation/missing-name`"),
            "{w:?}"
        );
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
        let extra = FILE.replace("reason = \"API-1\"", "reason = \"API-1\"\nowner = \"me\"");
        assert!(KnownFailures::parse(&extra, today).is_err());
    }
}
