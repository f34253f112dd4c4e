//! Authentication (401) and the privilege check (403).
//!
//! A caller authenticates with either security scheme of the spec: a fixture credential in
//! `Authorization: <bearer scheme> <credential>`, or a created token's secret in the API-key
//! header. The `Authorization` header wins when both are sent.

use crate::behaviour::SecretMatch;
use crate::error::ApiError;
use crate::fixtures::User;
use crate::state::AppState;
use crate::tokens::sha256_hex;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

impl AppState {
    /// The caller, if they may manage tokens; otherwise the 401 or 403 answer.
    pub(crate) async fn authorize(&self, headers: &HeaderMap) -> Result<User, Response> {
        let behaviour = self.behaviour();
        let user = self.authenticate(headers).await.ok_or_else(|| {
            let mut answer = (behaviour.unauthorized)();
            if let Some(challenge) = &behaviour.challenge {
                answer
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, challenge.clone());
            }
            answer
        })?;
        let allowed = behaviour
            .required_privilege
            .as_ref()
            .is_none_or(|p| user.privileges.contains(p));
        if allowed {
            Ok(user)
        } else {
            Err(ApiError::forbidden().into_response())
        }
    }

    async fn authenticate(&self, headers: &HeaderMap) -> Option<User> {
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            return self.bearer(value.to_str().ok()?);
        }
        let behaviour = self.behaviour();
        let mut secret = headers
            .get(&self.contract().access_token_header)?
            .to_str()
            .ok()?
            .trim();
        if behaviour.api_key_strips_bearer {
            secret = strip_scheme_words(secret, &self.contract().bearer_scheme);
        }
        let secret = if behaviour.credential_whitespace_removed {
            secret.chars().filter(|c| !c.is_whitespace()).collect()
        } else {
            secret.to_owned()
        };
        if secret.is_empty() {
            return None;
        }
        let mut hash = sha256_hex(&secret);
        if behaviour.secret_match != SecretMatch::Exact {
            // A faulty server that keeps secrets in plain text and matches them loosely.
            let plain = behaviour
                .plain_secrets
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(stored) = plain
                .iter()
                .rev()
                .find(|stored| behaviour.secret_match.matches(stored, &secret))
            {
                hash = sha256_hex(stored);
            }
        }
        let record = self
            .store(move |s| s.find_by_hash(&hash))
            .await
            .ok()
            .flatten()?;
        (record.expires_on > Utc::now())
            .then(|| self.fixtures().by_id(&record.user_id).cloned())
            .flatten()
    }

    /// The user an `Authorization` header value names.
    fn bearer(&self, value: &str) -> Option<User> {
        let behaviour = self.behaviour();
        let bearer = &self.contract().bearer_scheme;
        let (scheme, credential) = match value.trim().split_once(' ') {
            Some(parts) => parts,
            // `replace('Bearer ', '')`: a bare credential reads as one.
            None if behaviour.scheme_word_optional => (bearer.as_str(), value.trim()),
            None => return None,
        };
        let mut credential = credential.trim();
        if behaviour.scheme_word_optional {
            credential = strip_scheme_words(credential, bearer);
        }
        let credential: String = if behaviour.credential_whitespace_removed {
            credential.chars().filter(|c| !c.is_whitespace()).collect()
        } else {
            credential.to_owned()
        };
        let credential = credential.as_str();
        if !behaviour
            .scheme_match
            .accepts(scheme, &self.contract().bearer_scheme)
            || credential.is_empty()
        {
            return None;
        }
        match self.fixtures().by_credential(credential) {
            Some(u) if behaviour.refuse_expired_credentials && u.is_expired(Utc::now()) => None,
            Some(u) => Some(u.clone()),
            None => behaviour.unknown_credential_user.clone(),
        }
    }
}

/// `value` without every leading `<scheme> ` (compared without regard to case): what a
/// faulty server's `replace('Bearer ', '')` helper leaves.
fn strip_scheme_words<'v>(mut value: &'v str, scheme: &str) -> &'v str {
    loop {
        let word = value.get(..scheme.len());
        let rest = value.get(scheme.len()..);
        match (word, rest) {
            (Some(w), Some(r)) if w.eq_ignore_ascii_case(scheme) && r.starts_with(' ') => {
                value = r.trim_start();
            }
            _ => return value,
        }
    }
}
