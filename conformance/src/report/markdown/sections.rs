//! The sections of the Markdown summary, each rendered into the document in turn: the header
//! (verdict, counts, target), the failures with their replay lines, known failures, scenarios
//! not judged, the coverage matrix, traffic (retries, rate limiting) and warnings.

use super::*;

impl<W: Write> Markdown<W> {
    pub(super) fn render_header(&self, d: &mut String) {
        if let Some((reason, code)) = &self.aborted {
            let word = if *code == crate::error::exit::INTERRUPTED {
                "INTERRUPTED"
            } else {
                "NOT RUN"
            };
            let _ = writeln!(
                d,
                "## ⚠️ Conformance {word}\n\nThe run ended before any scenario (exit {code}): {}\n",
                text(reason, 600)
            );
            return;
        }
        let Some((stats, _)) = &self.finished else {
            d.push_str("## ⚠️ Conformance: NO RESULT\n\nThe run ended before it finished (a configuration error, or the target could not be reached): the job log's last line says why.\n");
            return;
        };
        let (icon, word) = run_word(stats);
        let target = self
            .header
            .as_ref()
            .map(|h| format!(" against {}", code(&cut(&h.target, 120))))
            .unwrap_or_default();
        let _ = writeln!(d, "## {icon} Conformance {word}{target}\n");
        let mut counts = vec![
            format!("**{}** scenarios", stats.scenarios),
            format!("**{}** passed", stats.passed),
            format!("**{}** failed", stats.failed),
        ];
        counts.extend(stats.beside_failed());
        counts.push(format!("{} skipped", stats.skipped));
        if stats.not_run > 0 {
            counts.push(format!("{} not run", stats.not_run));
        }
        if stats.cut_short > 0 {
            counts.push(format!("{} cut short", stats.cut_short));
        }
        if stats.flaky > 0 {
            counts.push(format!(
                "{} flaky{}",
                stats.flaky,
                if stats.allow_flaky { " (allowed)" } else { "" }
            ));
        }
        if stats.unavailable > 0 {
            counts.push(format!(
                "{} without a verdict (target unavailable)",
                stats.unavailable
            ));
        }
        let mut checks = format!(
            "{} checks ({} failed",
            stats.checks_run, stats.checks_failed
        );
        if stats.known_failures > 0 {
            checks.push_str(&format!(", {} known", stats.known_failures));
        }
        checks.push(')');
        let _ = writeln!(
            d,
            "{} · {checks} · coverage {}/{} documented statuses · {} requests · {:.1} s\n",
            counts.join(", "),
            stats.coverage_exercised,
            stats.coverage_documented,
            stats.requests,
            stats.duration_ms as f64 / 1000.0
        );
        if !self.verdicts.is_empty() {
            let list: Vec<String> = self
                .verdicts
                .iter()
                .map(|(v, n)| format!("{v} {n}"))
                .collect();
            let _ = writeln!(d, "Scenario verdicts: {}\n", list.join(" · "));
        }
        if let Some(h) = &self.header {
            // The target is the table's header row: GitHub needs one, and an empty one shows
            // as a blank band.
            let _ = writeln!(
                d,
                "| target | {} ({}) |\n|---|---|",
                code(&cut(&h.target, 120)),
                text(&h.base_url, 200)
            );
            let _ = writeln!(d, "| spec | {} |", text(&h.spec, 200));
            let _ = writeln!(
                d,
                "| run | {} · started {} |\n",
                code(&cut(&h.run_id, 64)),
                text(&h.started_at, 64)
            );
        }
    }

    pub(super) fn render_failures(&self, d: &mut String) {
        if self.failed_total == 0 {
            return;
        }
        let _ = writeln!(d, "### Failed checks ({})\n", self.failed_total);
        // The command is the same for every row but for the scenario's flags: said once, so
        // a long base URL does not widen every row.
        let _ = writeln!(
            d,
            "Rerun a row with {} followed by its rerun flags.\n",
            code(&cut(&self.rerun_prefix(), 300))
        );
        d.push_str("| scenario | check | message | basis | rerun |\n|---|---|---|---|---|\n");
        let budget = MAX_BYTES - TAIL_RESERVE;
        let shown = push_rows(
            d,
            self.failed.iter().map(|f| f.row.as_str()),
            budget,
            self.failed_total,
            "failed checks",
        );
        d.push('\n');
        let replays: Vec<&str> = self.failed[..shown]
            .iter()
            .filter_map(|f| f.replay.as_deref())
            .take(MAX_REPLAYS)
            .collect();
        if replays.is_empty() {
            return;
        }
        d.push_str(
            "<details><summary>Replay lines (curl, with $ABP_TOKEN-style variables)</summary>\n\n",
        );
        let mut left = replays.len();
        for r in &replays {
            let block = fenced(r);
            if d.len() + block.len() > budget {
                break;
            }
            d.push_str(&block);
            left -= 1;
        }
        if left > 0 {
            let _ = writeln!(
                d,
                "… {left} more replay lines: see the HTML or JUnit report\n"
            );
        }
        d.push_str("</details>\n\n");
    }

    pub(super) fn render_known(&self, d: &mut String) {
        if self.known_total == 0 {
            return;
        }
        let _ = writeln!(
            d,
            "### Known failures ({}, listed: they do not fail the run)\n",
            self.known_total
        );
        d.push_str("| scenario | check | listed as |\n|---|---|---|\n");
        let budget = MAX_BYTES - TAIL_RESERVE / 2;
        push_rows(
            d,
            self.known.iter().map(String::as_str),
            budget,
            self.known_total,
            "known failures",
        );
        d.push('\n');
    }

    pub(super) fn render_not_judged(&self, d: &mut String) {
        if self.not_judged.is_empty() {
            return;
        }
        d.push_str("### Scenarios without a verdict\n\n| why | scenarios |\n|---|---|\n");
        let rows: Vec<String> = self
            .not_judged
            .iter()
            .map(|(why, n)| format!("| {} | {n} |\n", text(why, 200)))
            .collect();
        push_rows(
            d,
            rows.iter().map(String::as_str),
            MAX_BYTES - TAIL_RESERVE / 2,
            rows.len(),
            "reasons",
        );
        d.push('\n');
    }

    pub(super) fn render_coverage(&self, d: &mut String) {
        let Some((_, coverage)) = &self.finished else {
            return;
        };
        if coverage.is_empty() {
            return;
        }
        let mut statuses: Vec<u16> = coverage.iter().map(|c| c.status).collect();
        statuses.sort_unstable();
        statuses.dedup();
        statuses.truncate(20);
        // Operations in the order the run lists them.
        let mut ops: Vec<(&str, &str, &str)> = Vec::new();
        for c in coverage {
            let op = (c.operation.as_str(), c.method.as_str(), c.path.as_str());
            if !ops.contains(&op) {
                ops.push(op);
            }
        }
        d.push_str("### Coverage of documented statuses\n\n✅ exercised, every check passed · ❌ exercised, a check failed · — documented, never exercised\n\n| operation |");
        for s in &statuses {
            let _ = write!(d, " {s} |");
        }
        d.push_str("\n|---|");
        d.push_str(&"---|".repeat(statuses.len()));
        d.push('\n');
        let rows: Vec<String> = ops
            .iter()
            .map(|(id, method, path)| {
                let mut row = format!(
                    "| {} {} |",
                    code(&cut(&format!("{method} {path}"), 120)),
                    text(id, 80)
                );
                for s in &statuses {
                    let cell = coverage
                        .iter()
                        .find(|c| c.operation == *id && c.status == *s)
                        .map(|c| match (c.exercised, c.passed) {
                            (0, _) => "—".to_owned(),
                            (n, true) => format!("✅ {n}"),
                            (n, false) => format!("❌ {n}"),
                        })
                        .unwrap_or_default();
                    let _ = write!(row, " {cell} |");
                }
                row.push('\n');
                row
            })
            .collect();
        push_rows(
            d,
            rows.iter().map(String::as_str),
            MAX_BYTES - TAIL_RESERVE / 3,
            rows.len(),
            "operations",
        );
        d.push('\n');
    }

    pub(super) fn render_traffic(&self, d: &mut String) {
        let Some((stats, _)) = &self.finished else {
            return;
        };
        if stats.retries == 0 && stats.rate_limited == 0 && stats.unavailable == 0 {
            return;
        }
        d.push_str("### Retries and rate limiting\n\n");
        let _ = writeln!(
            d,
            "{} requests, {} sent again (429/503 waited out, or a dropped connection retried), {} refused past the retry policy, {} scenarios without a verdict.\n",
            stats.requests, stats.retries, stats.rate_limited, stats.unavailable
        );
        if self.retries.is_empty() {
            return;
        }
        d.push_str("| reason | status | retries | waited |\n|---|---|---|---|\n");
        let mut rows: Vec<_> = self.retries.iter().collect();
        rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
        let rows: Vec<String> = rows
            .into_iter()
            .map(|((reason, status), (n, wait))| {
                format!(
                    "| {} | {} | {n} | {:.1} s |\n",
                    text(reason, 160),
                    text(status, 16),
                    *wait as f64 / 1000.0
                )
            })
            .collect();
        let total = rows.len();
        let mut shown = rows;
        shown.truncate(10);
        push_rows(
            d,
            shown.iter().map(String::as_str),
            MAX_BYTES - TAIL_RESERVE / 4,
            total,
            "retry reasons",
        );
        d.push('\n');
    }

    pub(super) fn render_warnings(&self, d: &mut String) {
        if self.warnings_total == 0 {
            return;
        }
        let _ = writeln!(d, "### Warnings ({})\n", self.warnings_total);
        for w in &self.warnings {
            if d.len() + w.len() + 256 > MAX_BYTES {
                break;
            }
            let _ = writeln!(d, "- {w}");
        }
        let more = self.warnings_total - self.warnings.len();
        if more > 0 {
            let _ = writeln!(d, "- … {more} more warnings: see the HTML or JSON report");
        }
    }
}
