//! First contact with the target, before any scenario: is it reachable, does it look like
//! this API, and can the run act as its users? A setup mistake is one line naming the
//! mistake (exit 2, or 3 when nothing answers), not a hundred failed checks.
//!
//! Preflight stops a run only for what cannot be a server bug: no answer, not this API, a
//! user credential (`ABP_TOKEN`, `ABP_OTHER_USER_TOKEN`) refused, or one credential given
//! for two roles. A credential that does not play its role (an "expired" one accepted, a
//! "forbidden" one allowed) may be the server's bug as much as the variable's mistake: that
//! is the auth suite's to report, so the run goes on. A probe with a credential nobody
//! issued (random, shaped like `ABP_TOKEN`) tells the two apart: its answer is kept for the
//! auth suite's messages.
//!
//! The probes are reads (GET of the list), sent at once, never retried on a refused
//! connection, and they create nothing.

use crate::context::Shared;
use crate::error::RunError;
use crate::roles::Role;
use crate::transport::{Auth, Sent};
use abp_tokens_client::RecordedResponse;

/// Runs every probe; the first setup mistake found is the error.
pub async fn preflight(shared: &Shared) -> Result<(), RunError> {
    let list = &shared.api.list;
    let transport = &shared.transport;
    let probe = |auth: Auth| async move {
        transport
            .probe(&list.method, &list.path, &auth, &list.id)
            .await
            .map_err(RunError::Config)
    };
    let credentials = &shared.config.credentials;
    let roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| credentials.get(*r).is_some())
        .collect();
    // One credential for two roles makes a scenario about one of them meaningless.
    for (i, a) in roles.iter().enumerate() {
        for b in &roles[i + 1..] {
            if credentials.get(*a) == credentials.get(*b) {
                return Err(RunError::Config(format!(
                    "{} is the same credential as {}: each role needs a credential of its own (or leave {} unset to skip its scenarios)",
                    b.env_var(),
                    a.env_var(),
                    b.env_var()
                )));
            }
        }
    }
    let unissued = unissued_credential(credentials.get(Role::User).unwrap_or_default());
    let unissued_auth = Auth::Header {
        name: reqwest::header::AUTHORIZATION.as_str().to_owned(),
        value: format!("Bearer {unissued}"),
        owner: None,
    };
    let (anonymous, by_role, unissued_probe) = tokio::join!(
        probe(Auth::None),
        futures_util::future::join_all(roles.iter().map(|r| probe(Auth::Role(*r)))),
        probe(unissued_auth)
    );
    let anonymous = anonymous?;
    let response = answered(shared, &anonymous)?;
    looks_like_the_api(shared, response)?;
    if let Ok(r) = &unissued_probe?.exchange.response {
        let _ = shared.unissued_status.set(r.status);
    }

    for (role, sent) in roles.iter().zip(by_role) {
        let sent = sent?;
        let status = answered(shared, &sent)?.status;
        shared.note_listed(answered(shared, &sent)?);
        if let Some(problem) = role_problem(*role, status) {
            return Err(RunError::Config(format!(
                "{}: GET {} answered {status}: {problem}",
                role.env_var(),
                list.path
            )));
        }
    }
    Ok(())
}

/// The response, or the reason there was none as an "unreachable" error (exit 3).
fn answered<'a>(shared: &Shared, sent: &'a Sent) -> Result<&'a RecordedResponse, RunError> {
    let response = sent.exchange.response.as_ref().map_err(|e| match e.kind {
        // The target answered, with more than the run will hold: it was reached, and the
        // way on is a flag, not a network fix.
        abp_tokens_client::TransportErrorKind::Limit => RunError::Config(format!(
            "GET {} answered, but {}",
            shared.api.list.path,
            shared.redactor.scrub(&e.message)
        )),
        _ => RunError::Unreachable {
            url: shared.config.base_url.clone(),
            reason: shared.redactor.scrub(&e.message),
        },
    })?;
    if (300..400).contains(&response.status) {
        let location = shared
            .redactor
            .scrub(response.header("location").unwrap_or("nowhere"));
        return Err(RunError::Config(redirected(
            &shared.config.base_url,
            &shared.api.list.path,
            response.status,
            &location,
        )));
    }
    Ok(response)
}

/// What to do about a redirect of the list: a base URL that ends where the redirect leads, or,
/// when the target only adds (or drops) a trailing slash, no base URL at all: the path is the
/// spec's, and the server must answer at it.
fn redirected(base: &str, path: &str, status: u16, location: &str) -> String {
    let target = reqwest::Url::parse(&format!("{base}{path}"))
        .and_then(|url| url.join(location))
        .map(|u| u.to_string())
        .unwrap_or_else(|_| location.to_owned());
    let said = format!("the target redirects GET {path} with {status} to {location}");
    if target.trim_end_matches('/') == format!("{base}{path}").trim_end_matches('/') {
        return format!(
            "{said}, the same path with a trailing slash changed: the spec's path is {path}, so no --base-url avoids it; the server must answer at {path} itself (a framework's strict-slash or append-slash setting)"
        );
    }
    match target.strip_suffix(path) {
        Some(new_base) => format!("{said}: try --base-url {new_base}"),
        None => format!(
            "{said}, which is not {path} under any base URL: the runner judges the answer the target gives and follows no redirect"
        ),
    }
}

/// A request without credentials must get one of the list's documented statuses (401, in
/// practice), and not a web page. A 404, an HTML page, or an undocumented status with a body
/// that is not JSON means the URL points somewhere else. A documented status with a wrong
/// body is this API misbehaving: the scenarios report that.
fn looks_like_the_api(shared: &Shared, response: &RecordedResponse) -> Result<(), RunError> {
    let list = &shared.api.list;
    let media = response.media_type();
    let html = media.as_deref() == Some("text/html");
    let json = response.json().is_some();
    let documented = list.response(response.status).is_some();
    if response.status != 404 && !html && (documented || json) {
        return Ok(());
    }
    let what = match media {
        Some(m) if !json => format!(
            "{} with a {} body",
            response.status,
            shared.redactor.scrub(&m)
        ),
        None if !response.body.is_empty() && !json => {
            format!("{} with a body of no declared type", response.status)
        }
        _ => response.status.to_string(),
    };
    Err(RunError::Config(format!(
        "GET {}{} answered {what}, not this API: {}",
        shared.config.base_url,
        list.path,
        hint(shared)
    )))
}

/// The likely mistake behind a base URL that does not answer like the API. Only the path of
/// the spec's servers is named: their hosts (production among them) are not the user's target.
fn hint(shared: &Shared) -> String {
    let base = &shared.config.base_url;
    // The path stem every server of the spec has (`/api/v1`), if they agree on one.
    let stems: Vec<String> = shared
        .api
        .servers
        .iter()
        .filter_map(|s| reqwest::Url::parse(&s.url).ok())
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .collect();
    match stems.first() {
        Some(stem) if !stem.is_empty() && stems.iter().all(|s| s == stem) => {
            match base.strip_suffix(stem.as_str()) {
                // The stem is there already: the API may live elsewhere on this host (at its
                // root, or under another prefix), which only the user knows.
                Some(root) => format!(
                    "is the API served under another path? --base-url ends in `{stem}` like the spec's servers; if this host serves the API at its root, try --base-url {root}"
                ),
                None => format!(
                    "is the path stem missing? The spec's servers end in `{stem}`: try --base-url {base}{stem}"
                ),
            }
        }
        Some(stem) if !stem.is_empty() => format!(
            "is --base-url the API's base URL? The spec's servers end in paths like `{stem}`"
        ),
        _ => "is --base-url the API's base URL?".to_owned(),
    }
}

/// What is wrong with a user's credential, judged by the status its probe got. The
/// expired and forbidden credentials are judged by the auth suite, never here.
fn role_problem(role: Role, status: u16) -> Option<&'static str> {
    match role {
        Role::User | Role::OtherUser if status == 401 => {
            Some("the credential is unknown, expired or malformed")
        }
        Role::User | Role::OtherUser if status == 403 => Some("that user may not manage tokens"),
        _ => None,
    }
}

/// A credential nobody issued, shaped like `like`: every letter and digit replaced by a
/// random one of its class, everything else kept, so a server that checks only the shape
/// would take it for a real one. Never equal to `like`.
pub fn unissued_credential(like: &str) -> String {
    use rand::RngExt as _;
    let mut rng = rand::rng();
    loop {
        let out: String = like
            .chars()
            .map(|c| {
                let pick = |set: &[u8], rng: &mut rand::rngs::ThreadRng| {
                    char::from(set[rng.random_range(0..set.len())])
                };
                if c.is_ascii_digit() {
                    pick(b"0123456789", &mut rng)
                } else if c.is_ascii_lowercase() {
                    pick(b"abcdefghijklmnopqrstuvwxyz", &mut rng)
                } else if c.is_ascii_uppercase() {
                    pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", &mut rng)
                } else {
                    c
                }
            })
            .collect();
        if out != like && !out.is_empty() {
            return out;
        }
        if like.chars().all(|c| !c.is_ascii_alphanumeric()) {
            return format!("{like}{}", crate::roles::random_hex(8));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_user_credentials_stop_the_run() {
        assert!(role_problem(Role::User, 200).is_none());
        assert!(role_problem(Role::User, 401).is_some());
        assert!(role_problem(Role::OtherUser, 403).is_some());
        // An accepted expired or forbidden credential is the auth suite's to report.
        assert!(role_problem(Role::Forbidden, 200).is_none());
        assert!(role_problem(Role::Expired, 200).is_none());
        assert!(role_problem(Role::Expired, 403).is_none());
    }

    #[test]
    fn an_unissued_credential_has_the_shape_of_the_real_one() {
        let real = "dev-alice-Token-42";
        let fake = unissued_credential(real);
        assert_ne!(fake, real);
        assert_eq!(fake.len(), real.len());
        for (a, b) in real.chars().zip(fake.chars()) {
            assert_eq!(a.is_ascii_digit(), b.is_ascii_digit());
            assert_eq!(a.is_ascii_lowercase(), b.is_ascii_lowercase());
            assert_eq!(a.is_ascii_uppercase(), b.is_ascii_uppercase());
            if !a.is_ascii_alphanumeric() {
                assert_eq!(a, b);
            }
        }
        assert_ne!(unissued_credential("----"), "----");
    }

    #[test]
    fn a_redirect_names_a_base_url_only_when_one_would_do() {
        let base = "http://h:1/api/v1";
        let slash = redirected(base, "/me/tokens", 301, "/api/v1/me/tokens/");
        assert!(slash.contains("no --base-url avoids it"), "{slash}");
        let moved = redirected(base, "/me/tokens", 308, "https://h2/v1/me/tokens");
        assert!(moved.ends_with("try --base-url https://h2/v1"), "{moved}");
        let elsewhere = redirected(base, "/me/tokens", 302, "/login");
        assert!(
            elsewhere.contains("not /me/tokens under any base URL"),
            "{elsewhere}"
        );
    }
}
