//! `conformance list`: suites, scenarios and checks, one line each.

use super::{CliError, print, target::load_spec};
use clap::Args;
use conformance::{checks, suites};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Args)]
pub struct ListArgs {
    /// The spec to generate scenarios from (default: the one compiled into this binary).
    #[arg(long, value_name = "PATH")]
    spec: Option<PathBuf>,
}

pub fn list(args: ListArgs) -> Result<(), CliError> {
    let spec = load_spec(args.spec.as_ref())?;
    let scenarios = suites::all(&spec)?;
    let mut out = String::from("suites:\n");
    for suite in suites::Suite::ALL {
        let n = scenarios.iter().filter(|s| s.suite == suite).count();
        let _ = writeln!(
            out,
            "  {:<12} {n:>3} scenarios  {}",
            suite.as_str(),
            suite.description()
        );
    }
    out.push_str("\nscenarios:\n");
    let width = scenarios.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in &scenarios {
        let needs = if s.needs.is_empty() {
            String::new()
        } else {
            let vars: Vec<_> = s.needs.iter().map(|r| r.env_var()).collect();
            format!("  [needs {}]", vars.join(", "))
        };
        let _ = writeln!(out, "  {:<width$}  {}{needs}", s.name, s.summary);
    }
    out.push_str("\ninput classes (derived from the spec, with the rule each answer rests on):\n");
    for c in suites::classes::input_classes(&spec) {
        let _ = writeln!(
            out,
            "  {}\n      applied to: {}\n      rule: {}",
            c.class,
            c.applies_to.join(", "),
            c.rule
        );
    }
    out.push_str("\nchecks:\n");
    for c in checks::ALL {
        let scope = match c.scope {
            checks::Scope::Response => "every response",
            checks::Scope::Scenario => "scenario",
        };
        let _ = writeln!(out, "  {:<28} {:<15} {}", c.name, scope, c.description);
    }
    print(&out)
}
