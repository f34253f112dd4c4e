//! The comparison written out: for a terminal, and as GitHub-flavoured Markdown for a job
//! summary. Each section stops at [`MAX_ITEMS`] with a "… N more" line.

use super::{CheckChange, Comparison, MAX_ITEMS, Report, ScenarioChange};
use conformance::report::markdown::{code, cut, text};
use std::fmt::Write as _;

impl Comparison {
    fn summary(&self, before: &Report, after: &Report) -> String {
        let cov = |r: &Report| {
            format!(
                "{}/{}",
                r.stat("coverage_exercised"),
                r.stat("coverage_documented")
            )
        };
        format!(
            "{}: {} regressed, {} fixed, {} still failing, {} new, {} removed, {} not compared, {} passed in both · coverage {} → {}",
            if self.regressed.is_empty() {
                "NO REGRESSION"
            } else {
                "REGRESSED"
            },
            self.regressed.len(),
            self.fixed.len(),
            self.still_failing.len(),
            self.new.len(),
            self.removed.len(),
            self.not_compared.len(),
            self.unchanged,
            cov(before),
            cov(after)
        )
    }

    pub(super) fn terminal(&self, before: &Report, after: &Report) -> String {
        let mut t = String::new();
        let _ = writeln!(t, "before {}", before.describe());
        let _ = writeln!(t, "after  {}", after.describe());
        let section = |t: &mut String, title: &str, items: Vec<String>| {
            if items.is_empty() {
                return;
            }
            let _ = writeln!(t, "\n{title} ({})", items.len());
            for item in items.iter().take(MAX_ITEMS) {
                let _ = writeln!(t, "  {item}");
            }
            if items.len() > MAX_ITEMS {
                let _ = writeln!(t, "  … {} more", items.len() - MAX_ITEMS);
            }
        };
        let changes = |list: &[ScenarioChange]| -> Vec<String> {
            list.iter()
                .map(|c| {
                    let mut s = format!("{} ({} → {})", c.scenario, c.before, c.after);
                    for k in &c.checks {
                        let _ = write!(s, "\n      {}: {}", k.how, k.check);
                        if !k.message.is_empty() {
                            let _ = write!(s, ": {}", cut(&k.message, 200));
                        }
                        if k.known {
                            s.push_str(" (listed as known)");
                        }
                    }
                    s
                })
                .collect()
        };
        section(&mut t, "REGRESSED", changes(&self.regressed));
        section(&mut t, "FIXED", changes(&self.fixed));
        section(&mut t, "STILL FAILING", changes(&self.still_failing));
        section(
            &mut t,
            "NEW",
            self.new
                .iter()
                .map(|(s, v, failing)| {
                    let mut line = format!("{s} ({v})");
                    for (check, message) in failing {
                        let _ = write!(line, "\n      {check}: {}", cut(message, 200));
                    }
                    line
                })
                .collect(),
        );
        section(
            &mut t,
            "REMOVED",
            self.removed
                .iter()
                .map(|(s, v)| format!("{s} (was {v})"))
                .collect(),
        );
        section(
            &mut t,
            "NOT COMPARED (judged in one run only)",
            self.not_compared
                .iter()
                .map(|(s, b, a, why)| {
                    let why = if why.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", cut(why, 200))
                    };
                    format!("{s} ({b} → {a}){why}")
                })
                .collect(),
        );
        section(&mut t, "COVERAGE", self.coverage.clone());
        let _ = writeln!(t, "\n{}", self.summary(before, after));
        t
    }

    pub(super) fn markdown(&self, before: &Report, after: &Report) -> String {
        let mut d = String::new();
        let icon = if self.regressed.is_empty() {
            "✅"
        } else {
            "❌"
        };
        let _ = writeln!(d, "## {icon} {}\n", text(&self.summary(before, after), 400));
        runs_table(&mut d, before, after);
        changes_table(&mut d, "Regressed", &self.regressed);
        changes_table(&mut d, "Fixed", &self.fixed);
        changes_table(&mut d, "Still failing", &self.still_failing);
        list(
            &mut d,
            "New",
            self.new
                .iter()
                .map(|(s, v, failing)| {
                    let checks: Vec<String> =
                        failing.iter().map(|(c, _)| code(&cut(c, 60))).collect();
                    let failing = if checks.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", checks.join(", "))
                    };
                    format!("{} ({}){failing}", code(&cut(s, 120)), text(v, 40))
                })
                .collect(),
        );
        list(
            &mut d,
            "Removed",
            self.removed
                .iter()
                .map(|(s, v)| format!("{} (was {})", code(&cut(s, 120)), text(v, 40)))
                .collect(),
        );
        list(
            &mut d,
            "Not compared (judged in one run only)",
            self.not_compared
                .iter()
                .map(|(s, b, a, why)| {
                    format!(
                        "{} ({}) {}",
                        code(&cut(s, 120)),
                        text(&format!("{b} → {a}"), 80),
                        text(why, 200)
                    )
                })
                .collect(),
        );
        list(
            &mut d,
            "Coverage",
            self.coverage.iter().map(|c| text(c, 200)).collect(),
        );
        d
    }
}

/// The two runs, a row each: file, target, spec, start.
fn runs_table(d: &mut String, before: &Report, after: &Report) {
    d.push_str("| | run | target | spec | started |\n|---|---|---|---|---|\n");
    for (label, r) in [("before", before), ("after", after)] {
        let _ = writeln!(
            d,
            "| {label} | {} | {} ({}) | {} | {} |",
            code(&cut(&r.name, 200)),
            code(&cut(&r.target, 120)),
            text(&r.base_url, 200),
            text(&format!("\"{}\" {}", r.spec_title, r.spec_version), 120),
            text(&r.started_at, 64)
        );
    }
    d.push('\n');
}

/// A table of changed scenarios, a row per changed check (one empty row for a scenario
/// whose verdict alone changed), at most [`MAX_ITEMS`] rows.
fn changes_table(d: &mut String, title: &str, list: &[ScenarioChange]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(
        d,
        "### {title} ({})\n\n| scenario | verdict | check | change | message |\n|---|---|---|---|---|",
        list.len()
    );
    let mut rows = 0;
    let total: usize = list.iter().map(|c| c.checks.len().max(1)).sum();
    'rows: for c in list {
        let verdict = text(&format!("{} → {}", c.before, c.after), 80);
        let checks: Vec<Option<&CheckChange>> = if c.checks.is_empty() {
            vec![None]
        } else {
            c.checks.iter().map(Some).collect()
        };
        for k in checks {
            if rows == MAX_ITEMS {
                break 'rows;
            }
            rows += 1;
            let (check, how, message) = match k {
                Some(k) => (
                    code(&cut(&k.check, 60)),
                    format!("{}{}", k.how, if k.known { " (known)" } else { "" }),
                    text(&k.message, 200),
                ),
                None => (String::new(), String::new(), String::new()),
            };
            let _ = writeln!(
                d,
                "| {} | {verdict} | {check} | {how} | {message} |",
                code(&cut(&c.scenario, 120))
            );
        }
    }
    if total > rows {
        let _ = writeln!(d, "\n… {} more rows", total - rows);
    }
    d.push('\n');
}

/// A bulleted section, at most [`MAX_ITEMS`] items; nothing when there are none.
fn list(d: &mut String, title: &str, items: Vec<String>) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(d, "### {title} ({})\n", items.len());
    for item in items.iter().take(MAX_ITEMS) {
        let _ = writeln!(d, "- {item}");
    }
    if items.len() > MAX_ITEMS {
        let _ = writeln!(d, "- … {} more", items.len() - MAX_ITEMS);
    }
    d.push('\n');
}
