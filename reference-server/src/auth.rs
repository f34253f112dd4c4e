//! Authentication (401) and the privilege check (403).
//!
//! A caller authenticates with either security scheme of the spec: a fixture credential in
//! `Authorization: <bearer scheme> <credential>`, or a created token's secret in the API-key
//! header. The `Authorization` header wins when both are sent.

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
        let secret = headers
            .get(&self.contract().access_token_header)?
            .to_str()
            .ok()?
            .trim();
        if secret.is_empty() {
            return None;
        }
        let hash = sha256_hex(secret);
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
        let (scheme, credential) = value.trim().split_once(' ')?;
        let credential = credential.trim();
        if !behaviour
            .scheme
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
