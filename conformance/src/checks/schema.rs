//! The body validates against the spec's schema for the status and media type.

use super::{Failure, Outcome, ResponseCx};
use abp_spec::{SchemaValidator, Spec, SpecError};
use std::collections::HashMap;

/// Every response and parameter schema of the spec, compiled once per run, by the JSON
/// pointer of the schema (responses) or of the parameter.
pub struct Validators {
    by_location: HashMap<String, SchemaValidator>,
    /// The spec's lifetimes, for the cross-field checks of `invariants.rs`.
    pub lifetimes: Vec<abp_spec::Lifetime>,
    /// How much of a secret a mask may show, for `exposure.rs`.
    pub mask_limit: Option<super::exposure::MaskLimit>,
    /// A token's fields by role, for `invariants.rs` and the snapshot's normalizer.
    pub fields: abp_spec::TokenFields,
    /// The auth-schemes of the spec's `type: http` security schemes: what a 401's challenge
    /// must name (`semantics.rs`).
    pub challenge_schemes: Vec<String>,
}

impl Validators {
    /// Compiles each (response, media type) schema; a schema that does not compile is a spec
    /// error, reported before any request is sent.
    pub fn compile(spec: &Spec) -> Result<Self, SpecError> {
        let mut by_location = HashMap::new();
        for op in spec.operations() {
            for param in &op.params {
                if let std::collections::hash_map::Entry::Vacant(slot) =
                    by_location.entry(param.pointer.clone())
                {
                    slot.insert(spec.validator(&param.schema, &param.pointer)?);
                }
            }
            for response in &op.responses {
                for (media, schema) in &response.content {
                    let Some(schema) = schema else { continue };
                    let pointer = format!(
                        "{}/content/{}/schema",
                        response.pointer,
                        abp_spec::escape_pointer(media)
                    );
                    if let std::collections::hash_map::Entry::Vacant(slot) =
                        by_location.entry(pointer)
                    {
                        let v = spec.validator(schema, slot.key())?;
                        slot.insert(v);
                    }
                }
            }
        }
        Ok(Validators {
            by_location,
            // A spec whose lifetimes do not parse is refused before a run starts (Shared::new).
            lifetimes: spec.lifetimes().unwrap_or_default(),
            mask_limit: super::exposure::limit_from_spec(spec),
            fields: spec.token_fields()?,
            challenge_schemes: spec.http_auth_schemes(),
        })
    }

    pub fn get(&self, pointer: &str) -> Option<&SchemaValidator> {
        self.by_location.get(pointer)
    }
}

pub fn response_schema(cx: &ResponseCx) -> Outcome {
    let response = cx.op.response(cx.response.status)?;
    let media = cx.response.media_type()?;
    let (documented_media, _) = response
        .content
        .iter()
        .find(|(ct, _)| ct.eq_ignore_ascii_case(&media))?;
    let pointer = format!(
        "{}/content/{}/schema",
        response.pointer,
        abp_spec::escape_pointer(documented_media)
    );
    let validator = cx.validators.get(&pointer)?;
    let body: serde_json::Value = match serde_json::from_slice(&cx.response.body) {
        Ok(v) => v,
        Err(e) => {
            return Some(Err(Failure::new(format!(
                "the {} body is not JSON: {e}",
                cx.response.status
            ))
            .expected(format!("JSON matching {pointer}"))
            .actual(excerpt(&String::from_utf8_lossy(&cx.response.body)))
            .at(pointer)));
        }
    };
    let violations = validator.violations(&body);
    if violations.is_empty() {
        return Some(Ok(()));
    }
    let shown: Vec<String> = violations.iter().take(5).map(|v| v.to_string()).collect();
    let more = violations.len().saturating_sub(shown.len());
    let mut message = format!(
        "the {} body breaks the spec's schema: {}",
        cx.response.status,
        shown.join("; ")
    );
    if more > 0 {
        message.push_str(&format!(" (and {more} more)"));
    }
    Some(Err(Failure::new(message)
        .expected(format!("a body matching {pointer}"))
        .actual(violations[0].to_string())
        .at(pointer)))
}

fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(200).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}
