//! Status checks: no 5xx, documented, expected.

use super::{Failure, Outcome, ResponseCx};

fn list(statuses: &[u16]) -> String {
    statuses
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

pub fn not_a_server_error(cx: &ResponseCx) -> Outcome {
    let status = cx.response.status;
    Some(if status >= 500 {
        Err(Failure::new(format!(
            "{} {} answered {status}: a server error is never a conforming answer",
            cx.op.method, cx.op.path
        ))
        .expected("a status below 500")
        .actual(status.to_string()))
    } else {
        Ok(())
    })
}

pub fn status_documented(cx: &ResponseCx) -> Outcome {
    let status = cx.response.status;
    Some(match cx.op.response(status) {
        Some(_) => Ok(()),
        None => Err(Failure::new(format!(
            "{status} is not documented for {} ({} {})",
            cx.op.id, cx.op.method, cx.op.path
        ))
        .expected(list(&cx.op.documented_statuses()))
        .actual(status.to_string())
        .at(format!("{}/responses", cx.op.pointer))),
    })
}

pub fn status_expected(cx: &ResponseCx) -> Outcome {
    if cx.expected.is_empty() {
        return None;
    }
    let status = cx.response.status;
    Some(if cx.expected.contains(&status) {
        Ok(())
    } else {
        // Where the operation documents the expected status, not the shared response its
        // `$ref` leads to: the expectation rests on the operation's list of statuses (and on a
        // decision only where one cites that entry), the shared response on the body's shape.
        let pointer = cx
            .expected
            .first()
            .and_then(|s| cx.op.response(*s))
            .map(|r| {
                format!(
                    "{}/responses/{}",
                    cx.op.pointer,
                    abp_spec::escape_pointer(&r.status)
                )
            })
            .unwrap_or_else(|| format!("{}/responses", cx.op.pointer));
        Err(Failure::new(format!(
            "expected {} from {}, got {status}",
            list(cx.expected),
            cx.op.id
        ))
        .expected(list(cx.expected))
        .actual(status.to_string())
        .at(pointer))
    })
}
