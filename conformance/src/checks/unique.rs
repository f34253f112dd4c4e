//! `ids_and_secrets_unique`: every create of the run returns a new id and a new secret. The
//! registry is shared by every scenario of the run, so concurrent creates are compared too.

use super::Failure;
use crate::redact::CREATED_SECRET;
use std::collections::HashSet;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct SeenTokens {
    ids: Mutex<HashSet<String>>,
    secrets: Mutex<HashSet<String>>,
}

impl SeenTokens {
    /// Registers a created token; fails when its id or secret was returned before.
    pub fn check_new(&self, id: &str, secret: &str) -> Result<(), Failure> {
        let new_id = self
            .ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_owned());
        let new_secret = self
            .secrets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(secret.to_owned());
        match (new_id, new_secret) {
            (true, true) => Ok(()),
            (false, _) => Err(Failure::new(format!(
                "the create returned id {id}, which an earlier create of this run returned too"
            ))
            .expected("a new id")
            .actual(id.to_owned())),
            (true, false) => Err(Failure::new(
                "the create returned a secret that an earlier create of this run returned too",
            )
            .expected("a new secret")
            .actual(CREATED_SECRET)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_id_or_secret_fails() {
        let seen = SeenTokens::default();
        assert!(seen.check_new("a", "s1").is_ok());
        assert!(
            seen.check_new("a", "s2")
                .unwrap_err()
                .message
                .contains("id a")
        );
        assert!(
            seen.check_new("b", "s1")
                .unwrap_err()
                .message
                .contains("secret")
        );
    }
}
