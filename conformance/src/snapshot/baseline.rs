//! Where a target's approved snapshots are found, in and out of a checkout.
//!
//! In a checkout of the project (a directory, the current one or above, that holds
//! `conformance/snapshots`) a target's baseline is `conformance/snapshots/<target>/` there;
//! `--snapshot-dir DIR` names another root anywhere. An installed binary runs outside any
//! checkout: there the embedded target is compared with its baseline compiled into the binary
//! (unpacked into a private temporary directory for the run, removed after it), and nothing is
//! written unless the user names a directory. Another target has no baseline outside a
//! checkout: outside CI its snapshots do not gate (and the run says so), in CI that is a
//! configuration error, since a gate that cannot compare would pass silently.

mod compiled;

use std::path::{Path, PathBuf};

/// The target name of the embedded reference server, whose baseline is compiled in.
pub const EMBEDDED_TARGET: &str = "embedded";

/// Where the committed snapshots of the embedded target live in the source tree, relative to
/// the `conformance` crate; the compiled list is generated from this directory.
pub const COMMITTED_DIR: &str = "snapshots/embedded";

/// The embedded target's approved snapshots compiled into the binary: (file name, contents).
pub fn compiled() -> &'static [(&'static str, &'static str)] {
    compiled::SNAPSHOTS
}

/// The snapshot root of the checkout `cwd` is in: the nearest of `cwd` and its ancestors that
/// holds a `conformance/snapshots` directory.
pub fn checkout_root(cwd: &Path) -> Option<PathBuf> {
    cwd.ancestors()
        .map(|d| d.join("conformance").join("snapshots"))
        .find(|d| d.is_dir())
}

/// Whether a run with this `--snapshot-dir` has no directory to write snapshots to: none was
/// named and the current directory is in no checkout.
pub fn outside_checkout(snapshot_dir: Option<&Path>) -> bool {
    snapshot_dir.is_none()
        && std::env::current_dir()
            .map(|cwd| checkout_root(&cwd).is_none())
            .unwrap_or(true)
}

/// What the run asks of the baseline.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    /// `--snapshot-dir`: the root holding one directory per target.
    pub snapshot_dir: Option<&'a Path>,
    /// The target's name (`--target-name`, or the one the target resolution gave).
    pub target: &'a str,
    /// The target is the embedded reference server.
    pub embedded: bool,
    /// `--update-snapshots`: the baseline is written.
    pub record: bool,
    /// The `snapshot` check is selected.
    pub gate: bool,
    /// Running in CI, where a missing baseline fails.
    pub ci: bool,
}

/// Where this run's baseline is.
#[derive(Debug)]
pub struct Baseline {
    /// The target's snapshot directory; `None`: the snapshot gate is off for this run.
    pub dir: Option<PathBuf>,
    /// One line for the person running it, when the baseline is not the usual one.
    pub notice: Option<String>,
    /// Holds the unpacked compiled baseline for the run; removed when dropped.
    _unpacked: Option<tempfile::TempDir>,
}

/// Finds the baseline for a run started in `cwd`.
pub fn locate(wanted: &Wanted<'_>, cwd: &Path) -> Result<Baseline, String> {
    let dir_name = super::target_dir_name(wanted.target);
    let on_disk = |root: PathBuf| Baseline {
        dir: Some(root.join(&dir_name)),
        notice: None,
        _unpacked: None,
    };
    if let Some(root) = wanted.snapshot_dir {
        return Ok(on_disk(root.to_owned()));
    }
    if let Some(root) = checkout_root(cwd) {
        return Ok(on_disk(root));
    }
    if wanted.record {
        return Err(
            "--update-snapshots outside a checkout of the project needs --snapshot-dir DIR: the directory to write the baseline to (nothing is written anywhere else)"
                .to_owned(),
        );
    }
    if !wanted.gate {
        return Ok(Baseline {
            dir: None,
            notice: None,
            _unpacked: None,
        });
    }
    if wanted.embedded && wanted.target == EMBEDDED_TARGET {
        let unpacked = unpack().map_err(|e| {
            format!("cannot unpack the compiled baseline into a temporary directory: {e}")
        })?;
        return Ok(Baseline {
            dir: Some(unpacked.path().to_owned()),
            notice: Some(format!(
                "snapshots: not in a checkout, so the embedded target is compared with the baseline compiled into this binary ({} scenarios); nothing is written (--snapshot-dir DIR keeps pending snapshots there)\n",
                compiled().len()
            )),
            _unpacked: Some(unpacked),
        });
    }
    if wanted.ci {
        return Err(format!(
            "no approved baseline for target `{}`: not in a checkout (no conformance/snapshots here or above) and no --snapshot-dir, and with CI=true a run that cannot compare snapshots does not pass; run inside the checkout that holds conformance/snapshots/{dir_name}, pass --snapshot-dir DIR, or --skip-check snapshot",
            wanted.target
        ));
    }
    Ok(Baseline {
        dir: None,
        notice: Some(format!(
            "snapshots: not in a checkout and no --snapshot-dir, so target `{}` has no approved baseline here and snapshots do not gate this run; nothing is written (--snapshot-dir DIR --update-snapshots records one)\n",
            wanted.target
        )),
        _unpacked: None,
    })
}

/// Writes the compiled baseline into a fresh temporary directory.
fn unpack() -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("conformance-baseline-")
        .tempdir()?;
    for (name, contents) in compiled() {
        std::fs::write(dir.path().join(name), contents)?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The source of `compiled.rs` for the given snapshot file names (sorted by the caller).
    fn compiled_source(names: &[String]) -> String {
        let mut out = String::from(
            "//! @generated by the unit test `snapshot::baseline::tests::the_compiled_baseline_lists_every_committed_snapshot`\n//! from `conformance/snapshots/embedded`: the embedded target's approved snapshots, compiled\n//! into the binary so that an installed `conformance` gates outside a checkout. Do not edit:\n//! `cargo test -p conformance --lib baseline` rewrites it when the directory changes.\n\n#[rustfmt::skip]\npub const SNAPSHOTS: &[(&str, &str)] = &[\n",
        );
        for name in names {
            out.push_str(&format!(
                "    (\"{name}\", include_str!(\"../../../{COMMITTED_DIR}/{name}\")),\n"
            ));
        }
        out.push_str("];\n");
        out
    }

    fn crate_dir() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    fn committed_names() -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(crate_dir().join(COMMITTED_DIR))
            .expect("the committed baseline exists")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".snap"))
            .collect();
        names.sort();
        names
    }

    /// The tidy test behind `compiled.rs`: it names exactly the committed snapshots. When
    /// they change, the file is rewritten (outside CI) and the test fails once, so the next
    /// build compiles the new list.
    #[test]
    fn the_compiled_baseline_lists_every_committed_snapshot() {
        let path = crate_dir().join("src/snapshot/baseline/compiled.rs");
        let expected = compiled_source(&committed_names());
        let actual = std::fs::read_to_string(&path).unwrap_or_default();
        if actual != expected {
            if !crate::known::running_in_ci() {
                std::fs::write(&path, &expected).expect("compiled.rs is writable");
            }
            panic!(
                "{} was stale (conformance/snapshots/embedded changed){}",
                path.display(),
                if crate::known::running_in_ci() {
                    "; run `cargo test -p conformance --lib baseline` and commit it"
                } else {
                    ": it has been rewritten, run the tests again and commit it"
                }
            );
        }
    }

    #[test]
    fn the_compiled_baseline_is_the_committed_one_byte_for_byte() {
        let names: Vec<&str> = compiled().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, committed_names());
        for (name, contents) in compiled() {
            let on_disk = std::fs::read_to_string(crate_dir().join(COMMITTED_DIR).join(name))
                .expect("a committed snapshot");
            assert!(
                on_disk == *contents,
                "{name} differs from the committed file"
            );
        }
    }

    fn wanted(target: &str, embedded: bool) -> Wanted<'_> {
        Wanted {
            snapshot_dir: None,
            target,
            embedded,
            record: false,
            gate: true,
            ci: false,
        }
    }

    #[test]
    fn a_checkout_is_found_from_any_directory_below_it() {
        let root = tempfile::tempdir().unwrap();
        let snapshots = root.path().join("conformance/snapshots");
        let deep = root.path().join("a/b");
        std::fs::create_dir_all(&snapshots).unwrap();
        std::fs::create_dir_all(&deep).unwrap();
        let b = locate(&wanted("my staging", false), &deep).unwrap();
        assert_eq!(b.dir, Some(snapshots.join("my_staging")));
        assert_eq!(b.notice, None);
        let named = Path::new("/elsewhere");
        let b = locate(
            &Wanted {
                snapshot_dir: Some(named),
                ..wanted("x", false)
            },
            &deep,
        )
        .unwrap();
        assert_eq!(b.dir, Some(named.join("x")));
    }

    #[test]
    fn outside_a_checkout_the_embedded_target_uses_the_compiled_baseline_and_removes_it() {
        let nowhere = tempfile::tempdir().unwrap();
        let b = locate(&wanted(EMBEDDED_TARGET, true), nowhere.path()).unwrap();
        let dir = b.dir.clone().unwrap();
        assert!(!dir.starts_with(nowhere.path()));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), compiled().len());
        assert!(
            b.notice
                .as_deref()
                .unwrap()
                .contains("compiled into this binary")
        );
        drop(b);
        assert!(
            !dir.exists(),
            "the unpacked baseline is removed after the run"
        );
        assert_eq!(std::fs::read_dir(nowhere.path()).unwrap().count(), 0);
    }

    #[test]
    fn outside_a_checkout_another_target_is_not_gated_and_ci_or_recording_refuse() {
        let nowhere = tempfile::tempdir().unwrap();
        let b = locate(&wanted("test", false), nowhere.path()).unwrap();
        assert_eq!(b.dir, None);
        assert!(b.notice.unwrap().contains("snapshots do not gate this run"));
        let ci = locate(
            &Wanted {
                ci: true,
                ..wanted("test", false)
            },
            nowhere.path(),
        )
        .unwrap_err();
        assert!(ci.contains("--snapshot-dir DIR"), "{ci}");
        let skip = locate(
            &Wanted {
                ci: true,
                gate: false,
                ..wanted("test", false)
            },
            nowhere.path(),
        )
        .unwrap();
        assert_eq!((skip.dir, skip.notice), (None, None));
        let record = locate(
            &Wanted {
                record: true,
                ..wanted(EMBEDDED_TARGET, true)
            },
            nowhere.path(),
        )
        .unwrap_err();
        assert!(record.contains("needs --snapshot-dir"), "{record}");
    }
}
