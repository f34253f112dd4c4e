//! First contact with the target, before any scenario: is it reachable, does it look like
//! this API, and is every credential what its variable says it is? A setup mistake is one
//! line naming the mistake (exit 2, or 3 when nothing answers), not a hundred failed checks.
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
    let roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| shared.config.credentials.get(*r).is_some())
        .collect();
    let (anonymous, by_role) = tokio::join!(
        probe(Auth::None),
        futures_util::future::join_all(roles.iter().map(|r| probe(Auth::Role(*r))))
    );
    let anonymous = anonymous?;
    let response = answered(shared, &anonymous)?;
    looks_like_the_api(shared, response)?;

    if shared.config.credentials.other_user.is_some()
        && shared.config.credentials.other_user.as_deref() == Some(&shared.config.credentials.user)
    {
        return Err(RunError::Config(format!(
            "{} is the same credential as {}: the isolation scenarios need a second user (or leave it unset to skip them)",
            Role::OtherUser.env_var(),
            Role::User.env_var()
        )));
    }
    for (role, sent) in roles.iter().zip(by_role) {
        let sent = sent?;
        let status = answered(shared, &sent)?.status;
        shared.note_listed(answered(shared, &sent)?);
        if let Some(problem) = role_problem(*role, status, shared.config.verify_roles) {
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
    let response = sent
        .exchange
        .response
        .as_ref()
        .map_err(|e| RunError::Unreachable {
            url: shared.config.base_url.clone(),
            reason: shared.redactor.scrub(&e.message),
        })?;
    if (300..400).contains(&response.status) {
        let location = shared
            .redactor
            .scrub(response.header("location").unwrap_or("nowhere"));
        return Err(RunError::Config(format!(
            "the target redirects GET {} with {} to {location}: give the final URL as --base-url",
            shared.api.list.path, response.status
        )));
    }
    Ok(response)
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

/// The likely mistake behind a base URL that does not answer like the API.
fn hint(shared: &Shared) -> String {
    let base = &shared.config.base_url;
    // The path stem every server of the spec has (`/api/v1`), if they agree on one.
    let stems: Vec<String> = shared
        .config
        .spec
        .servers()
        .iter()
        .filter_map(|s| reqwest::Url::parse(&s.url).ok())
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .collect();
    match stems.first() {
        Some(stem)
            if !stem.is_empty()
                && stems.iter().all(|s| s == stem)
                && !base.ends_with(stem.as_str()) =>
        {
            format!(
                "is the path stem missing? The spec's servers end in `{stem}`: try --base-url {base}{stem}"
            )
        }
        _ => {
            let example = shared
                .config
                .spec
                .servers()
                .first()
                .map(|s| format!(" (the spec's servers look like `{}`)", s.url))
                .unwrap_or_default();
            format!("is --base-url the API's base URL{example}?")
        }
    }
}

/// What is wrong with a credential, judged by the status its probe got.
fn role_problem(role: Role, status: u16, verify_roles: bool) -> Option<&'static str> {
    let ok = (200..300).contains(&status);
    match role {
        Role::User | Role::OtherUser if status == 401 => {
            Some("the credential is unknown, expired or malformed")
        }
        Role::User | Role::OtherUser if status == 403 => Some("that user may not manage tokens"),
        // Credentials the run was given by hand must play their part; an embedded fixture's
        // are right by construction, so a server accepting them is left to the auth suite.
        Role::Forbidden if verify_roles && status != 403 => Some(if ok {
            "it was accepted, so it is not a user without the token privilege (or the server ignores privileges, which the auth suite reports); unset it to skip those scenarios"
        } else {
            "expected 403: it must be a valid user without the privilege to manage tokens"
        }),
        Role::Expired if verify_roles && status != 401 => Some(if ok {
            "it was accepted, so it has not expired (or the server accepts expired credentials, which the auth suite reports); unset it to skip those scenarios"
        } else {
            "expected 401 for an expired credential"
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_is_judged_by_its_own_status() {
        assert!(role_problem(Role::User, 200, true).is_none());
        assert!(role_problem(Role::User, 401, true).is_some());
        assert!(role_problem(Role::OtherUser, 403, true).is_some());
        assert!(role_problem(Role::Forbidden, 403, true).is_none());
        assert!(role_problem(Role::Forbidden, 200, true).is_some());
        assert!(role_problem(Role::Forbidden, 200, false).is_none());
        assert!(role_problem(Role::Expired, 401, true).is_none());
        assert!(role_problem(Role::Expired, 403, true).is_some());
    }
}
