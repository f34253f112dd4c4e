//! The Content-Type is a documented media type; a response documented without content has
//! neither a body nor a Content-Type.

use super::{Failure, Outcome, ResponseCx};

pub fn content_type(cx: &ResponseCx) -> Outcome {
    let response = cx.op.response(cx.response.status)?;
    let actual = cx.response.media_type();
    if response.content.is_empty() {
        let mut found = Vec::new();
        if !cx.response.body.is_empty() {
            found.push(format!("a {}-byte body", cx.response.body.len()));
        }
        if let Some(ct) = &actual {
            found.push(format!("Content-Type: {ct}"));
        }
        return Some(if found.is_empty() {
            Ok(())
        } else {
            let found = found.join(" and ");
            Err(Failure::new(format!(
                "{} is documented without content, but the response has {found}",
                cx.response.status
            ))
            .expected("no body and no Content-Type")
            .actual(found)
            .at(response.pointer.clone()))
        });
    }
    let documented: Vec<&str> = response.content.iter().map(|(ct, _)| ct.as_str()).collect();
    Some(match &actual {
        Some(ct) if documented.iter().any(|d| media_matches(d, ct)) => Ok(()),
        _ => Err(Failure::new(format!(
            "{} answered {} with Content-Type {}, documented: {}",
            cx.op.id,
            cx.response.status,
            actual.as_deref().unwrap_or("(none)"),
            documented.join(", ")
        ))
        .expected(documented.join(", "))
        .actual(actual.unwrap_or_else(|| "(none)".into()))
        .at(format!("{}/content", response.pointer))),
    })
}

/// Matches `application/json` against itself and against ranges like `application/*`.
fn media_matches(documented: &str, actual: &str) -> bool {
    let documented = documented.to_ascii_lowercase();
    documented == actual
        || documented == "*/*"
        || documented
            .strip_suffix("/*")
            .is_some_and(|major| actual.starts_with(&format!("{major}/")))
}

#[cfg(test)]
mod tests {
    use super::media_matches;

    #[test]
    fn ranges_match() {
        assert!(media_matches("application/json", "application/json"));
        assert!(media_matches("application/*", "application/json"));
        assert!(!media_matches("application/json", "text/plain"));
    }
}
