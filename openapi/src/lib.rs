//! The transcribed OpenAPI document of the User Access Token API.
//!
//! The YAML file next to this crate is the single source of truth of the project. This crate
//! embeds it, parses it into a JSON tree, lints it, and answers the questions the other crates
//! ask of it (operations, documented responses, lifetimes and their durations, servers, JSON
//! Schema validators). Nothing outside this crate hard-codes an API fact that the spec states.

mod contract;
pub mod decisions;
mod fields;
mod inputs;
mod lint;
mod model;
mod operations;
mod schema;

pub use contract::{
    BodyField, BodyModel, Constraints, Contract, JsonType, MaskLimit, SchemaFacts, SecurityScheme,
};
pub use fields::TokenFields;
pub use inputs::{ServerSet, Shape};
pub use lint::{LintError, lint};
pub use model::{
    LIFETIME_SCHEMA, Lifetime, METHODS as PATH_ITEM_METHODS, Operation, Operations, Param,
    RequestBody, Response, Server,
};
pub use operations::OperationId;
pub use schema::{SchemaValidator, SchemaViolation};

use serde_json::Value;
use std::path::{Path, PathBuf};

/// The spec as committed, compiled into every binary.
pub const EMBEDDED_YAML: &str = include_str!("../user-access-tokens.yaml");

/// Where the spec lives, relative to the workspace root.
pub const SPEC_RELATIVE_PATH: &str = "openapi/user-access-tokens.yaml";

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read spec {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("spec is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("spec is invalid at {pointer}: {message}")]
    Invalid { pointer: String, message: String },
    #[error("spec fails its lint:\n{}", .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    Lint(Vec<LintError>),
}

/// A parsed spec document.
#[derive(Debug, Clone)]
pub struct Spec {
    doc: Value,
}

impl Spec {
    /// The spec compiled into this binary. It is linted by the test suite, so this cannot fail
    /// at run time unless the committed file is broken, which `cargo test` catches.
    pub fn embedded() -> Spec {
        Spec::parse(EMBEDDED_YAML).expect("the embedded spec parses (checked by tests)")
    }

    /// Parses YAML (or JSON, a subset of YAML) text. The result is not linted: call
    /// [`Spec::parse_checked`] for input from outside.
    pub fn parse(text: &str) -> Result<Spec, SpecError> {
        let doc: Value = serde_yaml::from_str(text)?;
        if !doc.is_object() {
            return Err(SpecError::Invalid {
                pointer: "#".into(),
                message: "the document is not a mapping".into(),
            });
        }
        Ok(Spec { doc })
    }

    /// Parses and lints; any lint finding is an error naming the JSON path.
    pub fn parse_checked(text: &str) -> Result<Spec, SpecError> {
        let spec = Spec::parse(text)?;
        let findings = lint(&spec);
        if findings.is_empty() {
            Ok(spec)
        } else {
            Err(SpecError::Lint(findings))
        }
    }

    /// Reads, parses and lints a spec file.
    pub fn load(path: &Path) -> Result<Spec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: path.to_owned(),
            source,
        })?;
        Spec::parse_checked(&text)
    }

    /// The whole document as JSON.
    pub fn document(&self) -> &Value {
        &self.doc
    }

    /// `info.version`, which the generated client sends as the `api-version` header.
    pub fn version(&self) -> &str {
        self.doc
            .pointer("/info/version")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// Looks up a local reference such as `#/components/schemas/Error`.
    pub fn lookup(&self, reference: &str) -> Option<&Value> {
        let pointer = reference.strip_prefix('#')?;
        self.doc.pointer(pointer)
    }

    /// Follows `$ref` chains (bounded, so a cycle cannot hang us) and returns the target and
    /// the JSON pointer it lives at.
    pub fn resolve<'a>(&'a self, mut node: &'a Value, mut at: String) -> (&'a Value, String) {
        for _ in 0..32 {
            match node.get("$ref").and_then(Value::as_str) {
                Some(reference) => match self.lookup(reference) {
                    Some(target) => {
                        node = target;
                        at = reference.to_owned();
                    }
                    None => break,
                },
                None => break,
            }
        }
        (node, at)
    }
}

/// Escapes one JSON-pointer segment (RFC 6901).
pub fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_spec_passes_its_lint() {
        let spec = Spec::embedded();
        let findings = lint(&spec);
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn non_mapping_document_is_rejected() {
        let err = Spec::parse("- 1\n- 2\n").unwrap_err();
        assert!(err.to_string().contains("not a mapping"), "{err}");
    }
}
