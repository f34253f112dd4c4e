//! Typed views of the parts of the spec the tools act on: operations, responses, lifetimes,
//! servers. Each view carries the JSON pointer it came from, so a failure can name it.

use crate::{OperationId, Spec, SpecError, escape_pointer};
use chrono::TimeDelta;
use serde_json::Value;

/// The HTTP methods of OpenAPI 3.0's Path Item Object, in the order the standard lists them.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One documented response of one operation.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status key as written (`"200"`, `"4XX"` or `"default"`).
    pub status: String,
    /// Where the response is defined (after following `$ref`).
    pub pointer: String,
    /// The documented media types and, for each, the schema (if any).
    pub content: Vec<(String, Option<Value>)>,
}

impl Response {
    /// True when `status` is this response's key, or matches its `NXX` range.
    pub fn matches(&self, status: u16) -> bool {
        let s = status.to_string();
        if self.status == s {
            return true;
        }
        let key = self.status.as_bytes();
        key.len() == 3 && key[1..].eq_ignore_ascii_case(b"XX") && key[0] == s.as_bytes()[0]
    }
}

/// A path or query parameter.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub location: String,
    pub required: bool,
    pub schema: Value,
    pub pointer: String,
}

#[derive(Debug, Clone)]
pub struct RequestBody {
    pub required: bool,
    /// `x-max-body-bytes`: the largest body the server must accept.
    pub max_bytes: Option<u64>,
    pub content_type: String,
    pub schema: Value,
    pub pointer: String,
}

/// One operation of the spec.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    /// Upper-case HTTP method.
    pub method: String,
    /// Path template relative to the server URL, e.g. `/me/tokens/{tokenId}`.
    pub path: String,
    pub summary: String,
    pub pointer: String,
    pub params: Vec<Param>,
    pub body: Option<RequestBody>,
    pub responses: Vec<Response>,
    /// `x-unknown-id-status`: what the operation answers for a well-formed id that names no
    /// resource of the caller (unknown, deleted, or someone else's).
    pub unknown_id_status: Option<u16>,
}

impl Operation {
    /// The documented 2xx status (the spec gives one success per operation).
    pub fn success_status(&self) -> Option<u16> {
        self.documented_statuses()
            .into_iter()
            .find(|s| (200..300).contains(s))
    }

    /// The documented response for a status: an exact key wins over a range, and `default`
    /// comes last.
    pub fn response(&self, status: u16) -> Option<&Response> {
        let exact = status.to_string();
        self.responses
            .iter()
            .find(|r| r.status == exact)
            .or_else(|| self.responses.iter().find(|r| r.matches(status)))
            .or_else(|| self.responses.iter().find(|r| r.status == "default"))
    }

    /// Documented status codes that are concrete numbers, in spec order.
    pub fn documented_statuses(&self) -> Vec<u16> {
        self.responses
            .iter()
            .filter_map(|r| r.status.parse().ok())
            .collect()
    }

    /// The parameters that are part of the path, in declaration order.
    pub fn path_params(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|p| p.location == "path")
    }

    /// The path with every path parameter (`{name}`) replaced by `value`, percent-encoded
    /// so that any text stays one path segment.
    pub fn path_with(&self, value: &str) -> String {
        let encoded = encode_segment(value);
        let mut path = self.path.clone();
        for p in self.path_params() {
            path = path.replace(&format!("{{{}}}", p.name), &encoded);
        }
        path
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_segment(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A value of the lifetime enum with its duration (from the schema's `x-durations`).
#[derive(Debug, Clone, PartialEq)]
pub struct Lifetime {
    pub name: String,
    pub iso8601: String,
    pub duration: TimeDelta,
}

/// An entry of `servers`; `name` is its `description`.
#[derive(Debug, Clone)]
pub struct Server {
    pub name: String,
    pub url: String,
    /// `x-production: true`: real users and credentials live there.
    pub production: bool,
}

/// Every operation of [`OperationId::ALL`], bound to the spec's text of it.
#[derive(Debug, Clone)]
pub struct Operations(Vec<(OperationId, Operation)>);

impl Operations {
    pub fn get(&self, id: OperationId) -> &Operation {
        self.0
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, op)| op)
            .expect("bind_operations binds every OperationId")
    }

    /// Each operation with its id, in document order.
    pub fn iter(&self) -> impl Iterator<Item = (OperationId, &Operation)> {
        self.0.iter().map(|(id, op)| (*id, op))
    }
}

/// The schema whose enum lists the lifetimes.
pub const LIFETIME_SCHEMA: &str = "#/components/schemas/TokenLifetime";

impl Spec {
    /// Every operation, in document order.
    pub fn operations(&self) -> Vec<Operation> {
        let mut out = Vec::new();
        let Some(paths) = self.doc.get("paths").and_then(Value::as_object) else {
            return out;
        };
        for (path, item) in paths {
            let path_ptr = format!("#/paths/{}", escape_pointer(path));
            let shared_params = item.get("parameters");
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let pointer = format!("{path_ptr}/{method}");
                let mut params = Vec::new();
                for (list, list_ptr) in [
                    (shared_params, format!("{path_ptr}/parameters")),
                    (op.get("parameters"), format!("{pointer}/parameters")),
                ] {
                    for (i, p) in list
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .enumerate()
                    {
                        let (p, p_ptr) = self.resolve(p, format!("{list_ptr}/{i}"));
                        params.push(Param {
                            name: str_at(p, "name"),
                            location: str_at(p, "in"),
                            required: p.get("required").and_then(Value::as_bool) == Some(true),
                            schema: p.get("schema").cloned().unwrap_or(Value::Null),
                            pointer: p_ptr,
                        });
                    }
                }
                let body = op.get("requestBody").and_then(|b| {
                    let (b, b_ptr) = self.resolve(b, format!("{pointer}/requestBody"));
                    let (ct, media) = b.get("content")?.as_object()?.iter().next()?;
                    Some(RequestBody {
                        required: b.get("required").and_then(Value::as_bool) == Some(true),
                        max_bytes: b.get("x-max-body-bytes").and_then(Value::as_u64),
                        content_type: ct.clone(),
                        schema: media.get("schema").cloned().unwrap_or(Value::Null),
                        pointer: format!("{b_ptr}/content/{}", escape_pointer(ct)),
                    })
                });
                let mut responses = Vec::new();
                if let Some(map) = op.get("responses").and_then(Value::as_object) {
                    for (status, r) in map {
                        let (r, r_ptr) = self
                            .resolve(r, format!("{pointer}/responses/{}", escape_pointer(status)));
                        let content = r
                            .get("content")
                            .and_then(Value::as_object)
                            .map(|c| {
                                c.iter()
                                    .map(|(ct, m)| (ct.clone(), m.get("schema").cloned()))
                                    .collect()
                            })
                            .unwrap_or_default();
                        responses.push(Response {
                            status: status.clone(),
                            pointer: r_ptr,
                            content,
                        });
                    }
                }
                out.push(Operation {
                    id: str_at(op, "operationId"),
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                    summary: str_at(op, "summary"),
                    pointer,
                    params,
                    body,
                    responses,
                    unknown_id_status: op
                        .get("x-unknown-id-status")
                        .and_then(Value::as_u64)
                        .and_then(|s| u16::try_from(s).ok()),
                });
            }
        }
        out
    }

    /// The spec's operations under this build's [`OperationId`]s. Refuses, with one line naming
    /// the operation, a spec that documents an operation this build was not generated for
    /// (the runner and the server would leave it untested and unserved) or lacks one it was.
    pub fn bind_operations(&self) -> Result<Operations, SpecError> {
        let documented = self.operations();
        if let Some(op) = documented
            .iter()
            .find(|o| OperationId::from_id(&o.id).is_none())
        {
            return Err(SpecError::Invalid {
                pointer: op.pointer.clone(),
                message: format!(
                    "the spec documents operation `{}` ({} {}), which this build does not know: \
                     run `cargo xtask regenerate` and handle it in the runner and the reference server",
                    op.id, op.method, op.path
                ),
            });
        }
        let mut bound = Vec::new();
        for id in OperationId::ALL {
            let op =
                documented
                    .iter()
                    .find(|o| o.id == id.id())
                    .ok_or_else(|| SpecError::Invalid {
                        pointer: "#/paths".into(),
                        message: format!(
                            "the spec has no operation `{}`, which this build was generated for",
                            id.id()
                        ),
                    })?;
            bound.push((id, op.clone()));
        }
        Ok(Operations(bound))
    }

    /// The operation with this `operationId`.
    pub fn operation(&self, id: &str) -> Option<Operation> {
        self.operations().into_iter().find(|o| o.id == id)
    }

    /// The lifetime enum in spec order, each with its duration. Errors name the spec location.
    pub fn lifetimes(&self) -> Result<Vec<Lifetime>, SpecError> {
        let invalid = |pointer: String, message: String| SpecError::Invalid { pointer, message };
        let schema = self.lookup(LIFETIME_SCHEMA).ok_or_else(|| {
            invalid(
                LIFETIME_SCHEMA.into(),
                "the lifetime schema is missing".into(),
            )
        })?;
        let values = schema
            .get("enum")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid(format!("{LIFETIME_SCHEMA}/enum"), "no enum".into()))?;
        let durations = schema
            .get("x-durations")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                invalid(
                    format!("{LIFETIME_SCHEMA}/x-durations"),
                    "no x-durations map".into(),
                )
            })?;
        let mut out = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let name = v.as_str().ok_or_else(|| {
                invalid(format!("{LIFETIME_SCHEMA}/enum/{i}"), "not a string".into())
            })?;
            let at = format!("{LIFETIME_SCHEMA}/x-durations/{}", escape_pointer(name));
            let text = durations
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(at.clone(), format!("lifetime `{name}` has no duration")))?;
            let duration = parse_duration(text).map_err(|m| invalid(at, m))?;
            out.push(Lifetime {
                name: name.to_owned(),
                iso8601: text.to_owned(),
                duration,
            });
        }
        if let Some(extra) = durations
            .keys()
            .find(|k| !values.iter().any(|v| v.as_str() == Some(k.as_str())))
        {
            return Err(invalid(
                format!("{LIFETIME_SCHEMA}/x-durations/{}", escape_pointer(extra)),
                format!("duration given for `{extra}`, which is not in the enum"),
            ));
        }
        Ok(out)
    }

    /// The header of the spec's `apiKey` security scheme (`in: header`), if it has one.
    /// The auth-scheme (`scheme`) of every `type: http` security scheme, as written
    /// (`bearer`): what a 401's `WWW-Authenticate` challenge names.
    pub fn http_auth_schemes(&self) -> Vec<String> {
        self.lookup("#/components/securitySchemes")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(_, s)| s.get("type").and_then(Value::as_str) == Some("http"))
            .filter_map(|(_, s)| s.get("scheme").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }

    pub fn api_key_header(&self) -> Option<String> {
        self.doc
            .pointer("/components/securitySchemes")
            .and_then(Value::as_object)?
            .values()
            .find(|s| {
                s.get("type").and_then(Value::as_str) == Some("apiKey")
                    && s.get("in").and_then(Value::as_str) == Some("header")
            })
            .and_then(|s| s.get("name").and_then(Value::as_str))
            .map(str::to_owned)
    }

    /// The `servers` list; each server's name is its `description`.
    pub fn servers(&self) -> Vec<Server> {
        self.doc
            .get("servers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|s| Server {
                name: str_at(s, "description"),
                url: str_at(s, "url"),
                production: s.get("x-production").and_then(Value::as_bool) == Some(true),
            })
            .collect()
    }
}

fn str_at(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_owned()
}

/// Parses an ISO 8601 duration made of days, weeks, hours, minutes and seconds. Years and
/// months are refused: their length depends on the calendar, and a token lifetime must be exact.
fn parse_duration(text: &str) -> Result<TimeDelta, String> {
    let parsed = iso8601::duration(text)
        .map_err(|e| format!("`{text}` is not an ISO 8601 duration: {e}"))?;
    let seconds: i64 = match parsed {
        iso8601::Duration::Weeks(w) => i64::from(w) * 7 * 86_400,
        iso8601::Duration::YMDHMS {
            year,
            month,
            day,
            hour,
            minute,
            second,
            millisecond,
        } => {
            if year != 0 || month != 0 {
                return Err(format!(
                    "`{text}` uses years or months, whose length varies; write days (e.g. P30D)"
                ));
            }
            if millisecond != 0 {
                return Err(format!("`{text}` has fractional seconds"));
            }
            i64::from(day) * 86_400
                + i64::from(hour) * 3_600
                + i64::from(minute) * 60
                + i64::from(second)
        }
    };
    if seconds <= 0 {
        return Err(format!("`{text}` is not a positive duration"));
    }
    TimeDelta::try_seconds(seconds).ok_or_else(|| format!("`{text}` is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_spec_binds_every_operation_of_this_build() {
        let spec = Spec::embedded();
        let bound = spec.bind_operations().unwrap();
        let ids: Vec<&str> = bound.iter().map(|(_, op)| op.id.as_str()).collect();
        let documented: Vec<String> = spec.operations().into_iter().map(|o| o.id).collect();
        assert_eq!(ids, documented);
        for id in OperationId::ALL {
            assert_eq!(bound.get(id).id, id.id());
            assert_eq!(OperationId::from_id(id.id()), Some(id));
        }
    }

    /// An operation the build was not generated for is refused with one line that names it
    /// and points at it, whatever its method (a second GET is no different from a PATCH).
    #[test]
    fn an_operation_this_build_does_not_know_is_refused_by_name() {
        let mut doc = Spec::embedded().document().clone();
        let item = doc["paths"]["/me/tokens/{tokenId}"]
            .as_object_mut()
            .unwrap();
        let mut patch = item["delete"].clone();
        patch["operationId"] = "renameMyToken".into();
        item.insert("patch".into(), patch);
        let spec = Spec::parse(&doc.to_string()).unwrap();
        let e = spec.bind_operations().unwrap_err().to_string();
        assert!(
            e.contains("`renameMyToken` (PATCH /me/tokens/{tokenId})"),
            "{e}"
        );
        assert!(e.contains("#/paths/~1me~1tokens~1{tokenId}/patch"), "{e}");
        assert!(e.contains("cargo xtask regenerate"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn a_spec_without_an_operation_of_this_build_is_refused_by_name() {
        let mut doc = Spec::embedded().document().clone();
        doc["paths"]["/me/tokens/{tokenId}"]["delete"]["operationId"] = "removeMyToken".into();
        let spec = Spec::parse(&doc.to_string()).unwrap();
        let e = spec.bind_operations().unwrap_err().to_string();
        assert!(e.contains("`removeMyToken`"), "{e}");
        let mut doc = Spec::embedded().document().clone();
        doc["paths"]["/me/tokens/{tokenId}"]
            .as_object_mut()
            .unwrap()
            .remove("delete");
        let e = Spec::parse(&doc.to_string())
            .unwrap()
            .bind_operations()
            .unwrap_err()
            .to_string();
        assert!(e.contains("no operation `deleteMyToken`"), "{e}");
    }

    #[test]
    fn lifetimes_come_with_durations_and_include_one_week() {
        let lifetimes = Spec::embedded().lifetimes().unwrap();
        let week = lifetimes.iter().find(|l| l.name == "one-week").unwrap();
        assert_eq!(week.duration, TimeDelta::days(7));
        assert!(lifetimes.len() >= 2);
    }

    #[test]
    fn durations_reject_calendar_units_and_garbage() {
        assert_eq!(parse_duration("P2W").unwrap(), TimeDelta::days(14));
        assert_eq!(parse_duration("PT12H").unwrap(), TimeDelta::hours(12));
        assert!(parse_duration("P1M").unwrap_err().contains("months"));
        assert!(parse_duration("seven days").is_err());
        assert!(parse_duration("P0D").is_err());
    }

    #[test]
    fn servers_are_named_by_description() {
        let servers = Spec::embedded().servers();
        let names: Vec<_> = servers.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["production", "test", "local"]);
    }

    #[test]
    fn operations_resolve_response_refs() {
        let spec = Spec::embedded();
        let delete = spec.operation("deleteMyToken").unwrap();
        assert_eq!(delete.method, "DELETE");
        let r401 = delete.response(401).unwrap();
        assert_eq!(r401.pointer, "#/components/responses/Unauthorized");
        assert_eq!(r401.content[0].0, "application/json");
        assert!(delete.response(204).unwrap().content.is_empty());
        assert!(delete.response(500).is_none());
    }
}
