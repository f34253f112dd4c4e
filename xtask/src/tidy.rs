//! Tidy: tests that keep the tree honest, mechanically (rust-analyzer's idea).
//!
//! - every hand-written Rust file opens with module docs (`//!`);
//! - no stubs or debugging leftovers (`todo!`, `unimplemented!`, `dbg!`);
//! - the generated files (client, operations enum) carry the header that names the command
//!   that made them;
//! - committed snapshots hold no credential or secret (they are shared and reviewed);
//! - every conformant variant of its catalog appears in the README's specificity table;
//! - every JSON pointer the runner's sources cite resolves in the embedded spec;
//! - the runner's and the reference server's modules import only modules below them
//!   (ARCHITECTURE.md, "conformance"; `REFERENCE_SERVER_LAYERS` here);
//! - no source file of the runtime crates is longer than 800 lines: a file that
//!   grows past it holds more than one responsibility and is split.

#[cfg(test)]
mod tests {
    use crate::codegen::{COMMAND, Outputs, workspace_root};
    use std::path::{Path, PathBuf};

    /// Files under `dir` (recursively) whose names end with `suffix`, skipping build output.
    fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(dir) else {
            return out;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    out.extend(files(&path, suffix));
                }
            } else if name.ends_with(suffix) {
                out.push(path);
            }
        }
        out.sort();
        out
    }

    fn hand_written_rust() -> Vec<PathBuf> {
        let generated = Outputs::committed();
        files(&workspace_root(), ".rs")
            .into_iter()
            .filter(|p| *p != generated.client && *p != generated.operations)
            .collect()
    }

    /// The longest a source file of `conformance/src` or `reference-server/src` may be.
    const MAX_SOURCE_LINES: usize = 800;

    #[test]
    fn no_runtime_source_file_is_over_the_line_limit() {
        let mut long = Vec::new();
        for dir in ["conformance/src", "reference-server/src"] {
            for path in files(&workspace_root().join(dir), ".rs") {
                let lines = std::fs::read_to_string(&path).unwrap().lines().count();
                if lines > MAX_SOURCE_LINES {
                    long.push(format!("{}: {lines} lines", path.display()));
                }
            }
        }
        assert!(
            long.is_empty(),
            "split these by responsibility (at most {MAX_SOURCE_LINES} lines each): {long:#?}"
        );
    }

    /// The longest a runtime function may be: a screenful, so the run loop and its steps can
    /// be read in one sitting.
    const MAX_FUNCTION_LINES: usize = 120;

    /// Each function of the code before the file's unit tests, with its first line (1-based)
    /// and length. rustfmt's layout is relied on: a function's closing brace is alone on a
    /// line at the indentation of its `fn`.
    fn functions(text: &str) -> Vec<(String, usize, usize)> {
        let lines: Vec<&str> = code_without_tests(text).lines().collect();
        let mut out = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            let rest = ["pub(crate) ", "pub(super) ", "pub ", "const ", "async "]
                .iter()
                .fold(trimmed, |t, p| t.strip_prefix(p).unwrap_or(t));
            let rest = rest.strip_prefix("async ").unwrap_or(rest);
            let Some(signature) = rest.strip_prefix("fn ") else {
                continue;
            };
            if line.trim_end().ends_with(';') {
                continue;
            }
            let name: String = signature
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let close = format!("{indent}}}");
            if let Some(end) = lines[i + 1..].iter().position(|l| *l == close) {
                out.push((name, i + 1, end + 2));
            }
        }
        out
    }

    #[test]
    fn no_runtime_function_is_over_a_screenful() {
        let mut long = Vec::new();
        for dir in ["conformance/src", "reference-server/src", "openapi/src"] {
            for path in files(&workspace_root().join(dir), ".rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                // A test-only module (`#![cfg(test)]`) is not runtime code.
                if text.contains("\n#![cfg(test)]") {
                    continue;
                }
                for (name, at, length) in functions(&text) {
                    if length > MAX_FUNCTION_LINES {
                        long.push(format!(
                            "{}:{at}: fn {name}, {length} lines",
                            path.display()
                        ));
                    }
                }
            }
        }
        assert!(
            long.is_empty(),
            "split these into named steps (at most {MAX_FUNCTION_LINES} lines each): {long:#?}"
        );
    }

    #[test]
    fn the_function_finder_measures_a_function() {
        let text = "fn a() {\n    1;\n}\n\nimpl X {\n    pub async fn b(&self) {\n        2;\n        3;\n    }\n}\n#[cfg(test)]\nfn c() {\n}\n";
        let found = functions(text);
        assert_eq!(found, vec![("a".to_owned(), 1, 3), ("b".to_owned(), 6, 4)]);
    }

    #[test]
    fn every_rust_file_has_module_docs() {
        let missing: Vec<_> = hand_written_rust()
            .into_iter()
            .filter(|p| {
                !std::fs::read_to_string(p)
                    .unwrap_or_default()
                    .starts_with("//!")
            })
            .collect();
        assert!(
            missing.is_empty(),
            "files without `//!` module docs: {missing:#?}"
        );
    }

    #[test]
    fn no_stubs_or_debugging_leftovers() {
        // Spelled in pieces so this file does not match itself.
        let patterns = [
            concat!("todo", "!("),
            concat!("unimplemented", "!("),
            concat!("dbg", "!("),
        ];
        let mut found = Vec::new();
        for path in hand_written_rust() {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for (i, line) in text.lines().enumerate() {
                if patterns.iter().any(|p| line.contains(p)) {
                    found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                }
            }
        }
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn generated_files_name_their_command() {
        let generated = Outputs::committed();
        for path in [generated.client, generated.operations] {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.starts_with(&format!("// @generated by `{COMMAND}`")),
                "{}",
                path.display()
            );
            assert!(
                text.lines()
                    .nth(2)
                    .is_some_and(|l| l.starts_with("// Spec SHA-256: ")),
                "{}",
                path.display()
            );
        }
    }

    #[test]
    fn committed_snapshots_hold_no_secrets() {
        let snapshots = files(&workspace_root().join("conformance/snapshots"), ".snap");
        assert!(!snapshots.is_empty());
        for path in snapshots {
            let text = std::fs::read_to_string(&path).unwrap();
            for needle in ["uat_", "rnd-", "dev-alice-token", "Bearer ", "conformance-"] {
                assert!(
                    !text.contains(needle),
                    "{} contains `{needle}`: secrets and run names must be normalized away",
                    path.display()
                );
            }
        }
    }

    #[test]
    fn readme_specificity_table_lists_every_variant() {
        let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
        let catalog =
            std::fs::read_to_string(workspace_root().join("reference-server/src/variant/mod.rs"))
                .unwrap();
        // Catalog lines look like: `Variant => ("name", "class", "basis", "description"),`.
        let names: Vec<&str> = catalog
            .lines()
            .filter_map(|l| l.split("=> (\"").nth(1))
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(names.len() >= 15, "{names:?}");
        let missing: Vec<_> = names
            .iter()
            .filter(|n| !readme.contains(&format!("| {n} |")))
            .collect();
        assert!(
            missing.is_empty(),
            "README's specificity table lacks {missing:?}"
        );
    }

    /// The runner's modules, bottom up. A module may import only modules listed before it.
    const CONFORMANCE_LAYERS: &[&str] = &[
        "error",
        "roles",
        "redact",
        "api",
        "exchange",
        "pacing",
        "concurrency",
        "tls",
        "transport",
        "checks",
        "known",
        "config",
        "events",
        "tally",
        "report",
        "snapshot",
        "context",
        "preflight",
        "suites",
        "runner",
        // The binary's command line (its `crate::` is the binary; it uses the library above).
        "cli",
    ];

    /// The reference server's modules, bottom up. A module may import only modules listed
    /// before it: the middleware of the conditions and the variants take their own state,
    /// so neither reaches up to the `AppState` that holds them.
    const REFERENCE_SERVER_LAYERS: &[&str] = &[
        "error",
        // The declaration mechanism of the fault and variant catalogs.
        "catalog",
        "fault",
        "fixtures",
        "tokens",
        "store",
        "taken",
        // The transport: connection habits and limits.
        "wire",
        "guard",
        // The compiled contract seen through axum's types, and the behaviour faults change.
        "contract",
        "behaviour",
        "answers",
        "decode",
        // Middleware over the handlers, each with its own state.
        "conditions",
        "variant",
        "state",
        "auth",
        "handlers",
        "router",
        "server",
    ];

    /// The file's code before its unit tests (tests may reach anywhere).
    fn code_without_tests(text: &str) -> &str {
        text.split("#[cfg(test)]").next().unwrap_or("")
    }

    /// Checks that every module of the crate at `src` (relative to the workspace root) imports
    /// (`crate::name`, outside its unit tests) only modules listed before it in `layers`, and
    /// that `layers` names exactly the modules that exist (`lib.rs` and `main.rs` aside).
    fn assert_layered(src: &str, layers: &[&str]) {
        let src = workspace_root().join(src);
        let mut violations = Vec::new();
        let mut modules_seen = std::collections::BTreeSet::new();
        for path in files(&src, ".rs") {
            let relative = path.strip_prefix(&src).unwrap();
            let first = relative.components().next().unwrap();
            let module = first
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            if module == "lib" || module == "main" {
                continue;
            }
            modules_seen.insert(module.clone());
            let Some(own) = layers.iter().position(|m| *m == module) else {
                violations.push(format!(
                    "{}: module `{module}` has no layer",
                    relative.display()
                ));
                continue;
            };
            let text = std::fs::read_to_string(&path).unwrap();
            for (at, _) in code_without_tests(&text).match_indices("crate::") {
                let rest = &text[at + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if name == module || name.is_empty() {
                    continue;
                }
                match layers.iter().position(|m| *m == name) {
                    Some(layer) if layer < own => {}
                    _ => violations.push(format!(
                        "{}: `{module}` imports `crate::{name}`, which is not below it",
                        relative.display()
                    )),
                }
            }
        }
        violations.sort();
        violations.dedup();
        assert!(violations.is_empty(), "{violations:#?}");
        let listed: std::collections::BTreeSet<String> =
            layers.iter().map(|m| m.to_string()).collect();
        assert_eq!(
            modules_seen, listed,
            "the layer list names exactly the modules that exist"
        );
    }

    #[test]
    fn conformance_modules_import_only_lower_layers() {
        assert_layered("conformance/src", CONFORMANCE_LAYERS);
    }

    #[test]
    fn reference_server_modules_import_only_lower_layers() {
        assert_layered("reference-server/src", REFERENCE_SERVER_LAYERS);
    }

    /// Spec keywords that only `openapi/` may look up: everywhere else asks the compiled
    /// `abp_spec::Contract`, so the spec is read once and one model answers every question.
    const SPEC_KEYWORDS: &[&str] = &[
        "$ref",
        "additionalProperties",
        "allOf",
        "anyOf",
        "components",
        "enum",
        "example",
        "examples",
        "format",
        "in",
        "items",
        "maxItems",
        "maxLength",
        "minItems",
        "minLength",
        "nullable",
        "oneOf",
        "paths",
        "pattern",
        "properties",
        "readOnly",
        "required",
        "scheme",
        "securitySchemes",
        "type",
        "writeOnly",
        "x-durations",
        "x-expires-from",
        "x-max-body-bytes",
        "x-owner",
        "x-secret",
        "x-unknown-id-status",
    ];

    #[test]
    fn no_raw_spec_lookups_outside_openapi() {
        let mut found = Vec::new();
        for dir in ["conformance/src", "reference-server/src", "generated/src"] {
            for path in files(&workspace_root().join(dir), ".rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (i, line) in code_without_tests(&text).lines().enumerate() {
                    if line.trim_start().starts_with("//") {
                        continue;
                    }
                    for literal in line.split('"').skip(1).step_by(2) {
                        if SPEC_KEYWORDS.contains(&literal) {
                            found.push(format!("{}:{}: \"{literal}\"", path.display(), i + 1));
                        }
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "spec keywords looked up outside openapi/ (ask abp_spec::Contract): {found:#?}"
        );
    }

    #[test]
    fn json_pointers_in_the_runner_resolve_in_the_spec() {
        let spec = abp_spec::Spec::embedded();
        let mut broken = Vec::new();
        for dir in ["conformance/src", "reference-server/src"] {
            for path in files(&workspace_root().join(dir), ".rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (i, line) in text.lines().enumerate() {
                    for literal in line.split('"').skip(1).step_by(2) {
                        // Whole pointers only; a pointer built with format! is checked where
                        // it is used.
                        if literal.starts_with("#/")
                            && !literal.contains('{')
                            && spec.lookup(literal).is_none()
                        {
                            broken.push(format!("{}:{}: {literal}", path.display(), i + 1));
                        }
                    }
                }
            }
        }
        assert!(
            broken.is_empty(),
            "pointers that do not resolve: {broken:#?}"
        );
    }
}
