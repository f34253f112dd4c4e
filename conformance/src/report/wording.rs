//! How the reporters word the run's typed warnings and notices. The runner says what happened
//! (an [`events::Warning`] with its data); the commands a person runs next (record a
//! baseline, clean up) are the command line's, given to the reporters as [`Commands`].

use crate::events::{self, Notice, Warning};

/// The commands a warning points to, composed by the command line for this target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commands {
    /// Records this target's baseline (`… --update-snapshots`).
    pub record: String,
    /// Lists this target's leftover tokens (`--yes` deletes them).
    pub cleanup: String,
}

impl Default for Commands {
    fn default() -> Self {
        Commands {
            record: "the same command with --update-snapshots".into(),
            cleanup: "conformance cleanup".into(),
        }
    }
}

/// The warning in one line.
pub fn warning(w: &Warning, commands: &Commands) -> String {
    let cleanup = &commands.cleanup;
    match w {
        Warning::Interrupted {
            deadline_s,
            not_run,
            scenarios,
            cut_short,
            tokens_left,
        } => {
            let why = match deadline_s {
                Some(s) => format!("the run's deadline (--deadline {s} s) passed"),
                None => "interrupted by a signal".to_owned(),
            };
            let tokens = if *tokens_left == 0 {
                "the tokens this run created were deleted"
            } else {
                "not every token this run created could be deleted (see below)"
            };
            format!(
                "{why}: {not_run} of {scenarios} scenarios did not run and {cut_short} were cut short; {tokens}"
            )
        }
        Warning::NoBaseline {
            without,
            scenarios,
            target,
            dir,
            approvable,
        } => {
            let approve = if *approvable {
                format!(
                    "Approve this run's answers as the baseline with: {}",
                    commands.record
                )
            } else {
                "Fix the failures (or finish the run) before approving its answers as the baseline."
                    .to_owned()
            };
            format!(
                "{without} of {scenarios} scenarios have no approved snapshot for target `{target}` yet, so snapshots did not gate this run; their exchanges are pending review in {dir} (.snap.new). {approve}"
            )
        }
        Warning::Slowed {
            requests_per_second,
        } => format!(
            "the target refused requests (429 or 503): the run slowed down to {requests_per_second:.1} requests/s; --max-rps sets a pace from the start"
        ),
        Warning::KnownFailures { message } => message.clone(),
        Warning::CoverageMissing { missing, required } => format!(
            "documented statuses never exercised: {}{}",
            missing.join(", "),
            if *required {
                " (--require-coverage fails the run)"
            } else {
                ""
            }
        ),
        Warning::RolesNotPlayed { missing, lanes } => format!(
            "{} played without {} (not set): the steps of {} were left out, so they were not checked against the model",
            events::count(*lanes, "model lane", "model lanes"),
            missing.join(", "),
            if missing.len() == 1 {
                "that caller"
            } else {
                "those callers"
            }
        ),
        Warning::EarlierTokens { tokens } => format!(
            "{tokens} tokens named by earlier runs are still on the account (a run killed or interrupted twice leaves its tokens, and so does a target that does not carry out its DELETEs); list them with `{cleanup}` and delete them with `{cleanup} --yes`"
        ),
        Warning::TokensLeft {
            still,
            unconfirmed,
            unread,
            prefix,
        } => {
            let mut parts = Vec::new();
            if *still > 0 {
                parts.push(format!(
                    "{} this run created {} still listed after the final clean-up ({} answered its DELETE; the target did not remove {})",
                    events::count(*still, "access token", "access tokens"),
                    if *still == 1 { "is" } else { "are" },
                    if *unconfirmed > 0 { "not every one" } else { "every one" },
                    if *still == 1 { "it" } else { "them" }
                ));
            }
            if *unconfirmed > 0 {
                parts.push(format!(
                    "{unconfirmed} tokens this run created could not be confirmed deleted (their DELETE got no success or unknown-id answer)"
                ));
            }
            if !unread.is_empty() {
                parts.push(format!(
                    "the final list of {} could not be read, so tokens of this run whose create got no readable answer may be left",
                    unread.join(" and ")
                ));
            }
            format!(
                "{}; list them with `{cleanup}` and delete them with `{cleanup} --yes` (they are named {prefix}…)",
                parts.join("; ")
            )
        }
    }
}

/// The notice in one line.
pub fn notice(n: &Notice) -> String {
    match n {
        Notice::Recorded { new, updated, dir } => format!(
            "recorded {new} new and {updated} changed approved snapshots in {dir}; review and commit them"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commands_a_warning_names_are_the_reporters() {
        let commands = Commands {
            record: "conformance run --base-url https://s.example --update-snapshots".into(),
            cleanup: "conformance cleanup --base-url https://s.example".into(),
        };
        let left = warning(
            &Warning::TokensLeft {
                still: 1,
                unconfirmed: 0,
                unread: vec![],
                prefix: "conformance-ab12-".into(),
            },
            &commands,
        );
        assert!(
            left.starts_with("1 access token this run created is still listed")
                && left.contains("`conformance cleanup --base-url https://s.example --yes`"),
            "{left}"
        );
        let baseline = |approvable| {
            warning(
                &Warning::NoBaseline {
                    without: 2,
                    scenarios: 3,
                    target: "staging".into(),
                    dir: "snapshots/staging".into(),
                    approvable,
                },
                &commands,
            )
        };
        assert!(
            baseline(true).ends_with(&commands.record),
            "{}",
            baseline(true)
        );
        assert!(!baseline(false).contains(&commands.record));
    }
}
