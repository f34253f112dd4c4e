//! The spec's lint: the rules the generator, the server and the runner rely on.
//!
//! Every finding names the JSON pointer of the offending node, so a broken spec points at
//! the line to fix. `cargo xtask regenerate` refuses to generate from a spec with findings,
//! and `conformance --spec` refuses to run with one.

use crate::model::METHODS;
use crate::{Spec, escape_pointer};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintError {
    /// JSON pointer (`#/paths/...`) of the offending node.
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for LintError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.pointer, self.message)
    }
}

/// Runs every rule; an empty result means the spec is fit to generate from and test against.
pub fn lint(spec: &Spec) -> Vec<LintError> {
    let mut out = Vec::new();
    let doc = spec.document();
    match doc.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0.") => {}
        other => out.push(finding(
            "#/openapi",
            format!("expected an OpenAPI 3.0.x document, found {other:?}"),
        )),
    }
    check_refs(spec, doc, "#", &mut out);
    check_operations(spec, &mut out);
    check_examples(spec, &mut out);
    if let Err(e) = spec.lifetimes() {
        match e {
            crate::SpecError::Invalid { pointer, message } => out.push(finding(&pointer, message)),
            other => out.push(finding(crate::model::LIFETIME_SCHEMA, other.to_string())),
        }
    }
    // Every field role the tools read has a field (TRANSCRIPTION.md, "Field roles").
    if let Err(e) = spec.token_fields() {
        match e {
            crate::SpecError::Invalid { pointer, message } => out.push(finding(&pointer, message)),
            other => out.push(finding("#/components/schemas", other.to_string())),
        }
    }
    out
}

fn finding(pointer: &str, message: impl Into<String>) -> LintError {
    LintError {
        pointer: pointer.to_owned(),
        message: message.into(),
    }
}

/// Every `$ref` must be local and resolve.
fn check_refs(spec: &Spec, node: &Value, at: &str, out: &mut Vec<LintError>) {
    match node {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{at}/{}", escape_pointer(k));
                if k == "$ref" {
                    match v.as_str() {
                        Some(r) if r.starts_with('#') => {
                            if spec.lookup(r).is_none() {
                                out.push(finding(&here, format!("`{r}` does not resolve")));
                            }
                        }
                        Some(r) => out.push(finding(
                            &here,
                            format!("`{r}` is not a local reference (only `#/...` is supported)"),
                        )),
                        None => out.push(finding(&here, "`$ref` is not a string")),
                    }
                } else {
                    check_refs(spec, v, &here, out);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                check_refs(spec, v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Unique operationIds, a security requirement and a documented 401 on every operation,
/// required path parameters.
fn check_operations(spec: &Spec, out: &mut Vec<LintError>) {
    let doc = spec.document();
    let global_security = doc
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        out.push(finding("#/paths", "the spec has no paths"));
        return;
    };
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let at = format!("#/paths/{}/{method}", escape_pointer(path));
            match op.get("operationId").and_then(Value::as_str) {
                None | Some("") => out.push(finding(&at, "operation has no operationId")),
                Some(id) => {
                    if let Some(first) = seen.insert(id.to_owned(), at.clone()) {
                        out.push(finding(
                            &format!("{at}/operationId"),
                            format!("operationId `{id}` is also used at {first}"),
                        ));
                    }
                }
            }
            let security = match op.get("security") {
                Some(s) => s.as_array().is_some_and(|s| !s.is_empty()),
                None => global_security,
            };
            if !security {
                out.push(finding(&at, "operation has no security requirement"));
            }
            if let Some(status) = op.get("x-unknown-id-status") {
                let documented = status
                    .as_u64()
                    .is_some_and(|s| op.pointer(&format!("/responses/{s}")).is_some());
                if !documented {
                    out.push(finding(
                        &format!("{at}/x-unknown-id-status"),
                        format!("{status} is not a documented response of this operation"),
                    ));
                }
            }
            if op.pointer("/responses/401").is_none() {
                out.push(finding(
                    &format!("{at}/responses"),
                    "operation does not document 401",
                ));
            }
            for (i, p) in op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let (p, _) = spec.resolve(p, String::new());
                if p.get("in").and_then(Value::as_str) == Some("path")
                    && p.get("required").and_then(Value::as_bool) != Some(true)
                {
                    out.push(finding(
                        &format!("{at}/parameters/{i}"),
                        "path parameter must say `required: true`",
                    ));
                }
            }
        }
    }
}

/// Every `example` and every `examples/*/value` must validate against its schema.
fn check_examples(spec: &Spec, out: &mut Vec<LintError>) {
    let doc = spec.document();
    let mut check = |schema: &Value, schema_at: &str, example: &Value, example_at: &str| match spec
        .validator(schema, schema_at)
    {
        Ok(v) => {
            for violation in v.violations(example) {
                out.push(finding(
                    example_at,
                    format!("example does not match {schema_at}: {violation}"),
                ));
            }
        }
        Err(e) => out.push(finding(schema_at, e.to_string())),
    };
    // Schema objects carry their own `example`.
    let mut schemas = Vec::new();
    collect_schemas(doc, "#", false, &mut schemas);
    for (at, schema) in &schemas {
        if let Some(example) = schema.get("example") {
            check(schema, at, example, &format!("{at}/example"));
        }
    }
    // Media types and parameters carry examples for their `schema`.
    let mut holders = Vec::new();
    collect_example_holders(doc, "#", &mut holders);
    for (at, holder) in holders {
        let Some(schema) = holder.get("schema") else {
            continue;
        };
        let schema_at = format!("{at}/schema");
        if let Some(example) = holder.get("example") {
            check(schema, &schema_at, example, &format!("{at}/example"));
        }
        for (name, ex) in holder
            .get("examples")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let (ex, _) = spec.resolve(ex, String::new());
            if let Some(value) = ex.get("value") {
                let ex_at = format!("{at}/examples/{}/value", escape_pointer(name));
                check(schema, &schema_at, value, &ex_at);
            }
        }
    }
}

/// Finds schema objects: values under `schema`, `components/schemas/*`, and their
/// sub-schemas (`properties/*`, `items`, `allOf`/`anyOf`/`oneOf`, `additionalProperties`, `not`).
fn collect_schemas<'a>(
    node: &'a Value,
    at: &str,
    is_schema: bool,
    out: &mut Vec<(String, &'a Value)>,
) {
    let Some(map) = node.as_object() else {
        if let Some(items) = node.as_array() {
            for (i, v) in items.iter().enumerate() {
                collect_schemas(v, &format!("{at}/{i}"), false, out);
            }
        }
        return;
    };
    if is_schema {
        out.push((at.to_owned(), node));
        for (k, v) in map {
            let here = format!("{at}/{}", escape_pointer(k));
            match k.as_str() {
                "properties" => {
                    for (name, sub) in v.as_object().into_iter().flatten() {
                        collect_schemas(
                            sub,
                            &format!("{here}/{}", escape_pointer(name)),
                            true,
                            out,
                        );
                    }
                }
                "items" | "not" | "additionalProperties" => collect_schemas(v, &here, true, out),
                "allOf" | "anyOf" | "oneOf" => {
                    for (i, sub) in v.as_array().into_iter().flatten().enumerate() {
                        collect_schemas(sub, &format!("{here}/{i}"), true, out);
                    }
                }
                _ => {}
            }
        }
        return;
    }
    for (k, v) in map {
        let here = format!("{at}/{}", escape_pointer(k));
        if k == "schema" {
            collect_schemas(v, &here, true, out);
        } else if at == "#/components" && k == "schemas" {
            for (name, sub) in v.as_object().into_iter().flatten() {
                collect_schemas(sub, &format!("{here}/{}", escape_pointer(name)), true, out);
            }
        } else if k != "example" && k != "examples" {
            collect_schemas(v, &here, false, out);
        }
    }
}

/// Finds nodes that have a `schema` next to `example`/`examples` (media types, parameters).
fn collect_example_holders<'a>(node: &'a Value, at: &str, out: &mut Vec<(String, &'a Value)>) {
    match node {
        Value::Object(map) => {
            if map.contains_key("schema")
                && (map.contains_key("example") || map.contains_key("examples"))
            {
                out.push((at.to_owned(), node));
            }
            for (k, v) in map {
                if k == "example" || k == "examples" || k == "schema" {
                    continue;
                }
                collect_example_holders(v, &format!("{at}/{}", escape_pointer(k)), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_example_holders(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EMBEDDED_YAML;

    fn lint_text(text: &str) -> Vec<LintError> {
        lint(&Spec::parse(text).unwrap())
    }

    #[test]
    fn broken_ref_is_named() {
        let text = EMBEDDED_YAML.replacen(
            "$ref: \"#/components/schemas/TokenLifetime\"",
            "$ref: \"#/components/schemas/NoSuchLifetime\"",
            1,
        );
        let findings = lint_text(&text);
        assert!(
            findings.iter().any(|f| f.pointer
                == "#/components/schemas/CreateUserAccessTokenRequest/properties/lifetime/$ref"
                && f.message.contains("does not resolve")),
            "{findings:#?}"
        );
    }

    #[test]
    fn missing_operation_id_is_named() {
        let text = EMBEDDED_YAML.replacen("      operationId: deleteMyToken\n", "", 1);
        let findings = lint_text(&text);
        assert!(
            findings
                .iter()
                .any(|f| f.pointer == "#/paths/~1me~1tokens~1{tokenId}/delete"
                    && f.message.contains("no operationId")),
            "{findings:#?}"
        );
    }

    #[test]
    fn duplicate_operation_id_is_named() {
        let text =
            EMBEDDED_YAML.replacen("operationId: deleteMyToken", "operationId: listMyTokens", 1);
        let findings = lint_text(&text);
        assert!(
            findings.iter().any(|f| f.message.contains("also used")),
            "{findings:#?}"
        );
    }

    #[test]
    fn example_violating_its_schema_is_named() {
        // The docs' own defect: privileges nested in an extra array.
        let text = EMBEDDED_YAML.replacen(
            "              privileges:\n                - organization:user:read\n",
            "              privileges:\n                - - organization:user:read\n",
            1,
        );
        assert_ne!(text, EMBEDDED_YAML);
        let findings = lint_text(&text);
        assert!(
            findings.iter().any(|f| f.pointer
                == "#/paths/~1me~1tokens/post/requestBody/content/application~1json/example"
                && f.message.contains("/privileges/0")),
            "{findings:#?}"
        );
    }

    #[test]
    fn missing_401_and_security_are_named() {
        let text = EMBEDDED_YAML
            .replacen("security:\n  - bearerAuth: []\n  - accessToken: []\n", "", 1)
            .replacen(
                "      security:\n        - bearerAuth: []\n        - accessToken: []\n      responses:\n        \"200\"",
                "      responses:\n        \"200\"",
                1,
            );
        let text = text.replacen(
            "                  updatedAt: \"2025-12-06T01:49:03.391Z\"\n        \"401\":\n          $ref: \"#/components/responses/Unauthorized\"\n",
            "                  updatedAt: \"2025-12-06T01:49:03.391Z\"\n",
            1,
        );
        let findings = lint_text(&text);
        assert!(
            findings
                .iter()
                .any(|f| f.pointer == "#/paths/~1me~1tokens/get"
                    && f.message.contains("no security")),
            "{findings:#?}"
        );
        assert!(
            findings
                .iter()
                .any(|f| f.pointer == "#/paths/~1me~1tokens/get/responses"
                    && f.message.contains("401")),
            "{findings:#?}"
        );
    }

    #[test]
    fn lifetime_without_duration_is_named() {
        let text = EMBEDDED_YAML.replacen(
            "        - one-year\n",
            "        - one-year\n        - forever\n",
            1,
        );
        let findings = lint_text(&text);
        assert!(
            findings
                .iter()
                .any(|f| f.pointer == "#/components/schemas/TokenLifetime/x-durations/forever"),
            "{findings:#?}"
        );
    }
}
