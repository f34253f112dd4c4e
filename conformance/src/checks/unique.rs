//! `ids_and_secrets_unique`: every create of the run returns a new id and a new secret. The
//! registry is shared by every scenario of the run, so concurrent creates are compared too.
//!
//! It is also the clean-up's proof of ownership: the run deletes by id only a token whose id
//! a create of the run returned once, and that no list showed as someone else's token before.

use super::Failure;
use crate::redact::CREATED_SECRET;
use std::collections::HashSet;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct SeenTokens {
    ids: Mutex<HashSet<String>>,
    secrets: Mutex<HashSet<String>>,
    /// Ids a list showed for tokens this run did not create (a person's, another run's).
    foreign: Mutex<HashSet<String>>,
    /// Ids a create of this run returned, claimed for the clean-up.
    claimed: Mutex<HashSet<String>>,
}

/// What [`SeenTokens::claim`] fails with: the token is not provably this run's.
pub const NOT_JUST_CREATED: &str = "the server returned an id that is not the token just created";

/// An id as the registry keeps it: either letter case names the same token (TRANSCRIPTION.md,
/// "Either letter case of an id"), so a DELETE of a person's id in the other case is refused too.
fn key(id: &str) -> String {
    id.to_ascii_lowercase()
}

impl SeenTokens {
    /// A list showed a token with this id that is not this run's (its name does not carry
    /// the run's prefix): a create that returns it later did not create it.
    pub fn note_foreign(&self, id: &str) {
        let claimed = self
            .claimed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&key(id));
        if !claimed {
            self.foreign
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key(id));
        }
    }

    /// Whether a list showed this id as a token this run did not create: nothing of the run
    /// may delete it, whatever a create answered.
    pub fn is_foreign(&self, id: &str) -> bool {
        self.foreign
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&key(id))
    }

    /// Claims the id of a create's answer for the clean-up; fails, so that nothing deletes
    /// it, when the id is one a list showed as someone else's or another create returned.
    pub fn claim(&self, id: &str) -> Result<(), Failure> {
        if self
            .foreign
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&key(id))
        {
            return Err(Failure::new(format!(
                "{NOT_JUST_CREATED}: {id} was listed before as a token this run did not create; it is not deleted"
            ))
            .expected("the id of a new token")
            .actual(id.to_owned()));
        }
        let new = self
            .claimed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key(id));
        if new {
            Ok(())
        } else {
            Err(Failure::new(format!(
                "{NOT_JUST_CREATED}: another create of this run returned {id} too; it is deleted once, by the first"
            ))
            .expected("the id of a new token")
            .actual(id.to_owned()))
        }
    }

    /// Registers a created token; fails when its id or secret was returned before.
    pub fn check_new(&self, id: &str, secret: &str) -> Result<(), Failure> {
        // Either letter case of an id names one token (TRANSCRIPTION.md): two creates whose
        // ids differ only in case returned the same id.
        let new_id = self
            .ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key(id));
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

/// `list_items_unique`: a successful answer that is a JSON array of tokens shows each token
/// once. A list is a set of tokens; an id twice is a token counted twice (a join without a
/// group-by, a page boundary read twice), whatever the rest of the item says. Either letter
/// case of an id names the same token.
pub fn list_items_unique(cx: &super::ResponseCx) -> super::Outcome {
    if !(200..300).contains(&cx.response.status) {
        return None;
    }
    let serde_json::Value::Array(items) = cx.response.json()? else {
        return None;
    };
    let fields = &cx.contract.fields;
    let mut seen = HashSet::new();
    let mut twice: Vec<String> = Vec::new();
    for id in items.iter().filter_map(|i| fields.id_of(i)) {
        if !seen.insert(key(id)) && !twice.contains(&id.to_owned()) {
            twice.push(id.to_owned());
        }
    }
    Some(if twice.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "{} {} listed {} token(s) more than once: {}",
            cx.op.method,
            cx.op.path,
            twice.len(),
            twice.join(", ")
        ))
        .expected("each token once (ids unique)")
        .actual(format!(
            "{} items, {} distinct ids",
            items.len(),
            seen.len()
        ))
        .at(fields.pointer(&fields.id)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_returned_again_in_the_other_case_is_not_new() {
        let seen = SeenTokens::default();
        assert!(seen.check_new("63ea10b94a472e003305232b", "s1").is_ok());
        assert!(seen.check_new("63EA10B94A472E003305232B", "s2").is_err());
    }

    #[test]
    fn only_a_new_unlisted_id_is_claimed() {
        let seen = SeenTokens::default();
        seen.note_foreign("persons");
        assert!(
            seen.claim("persons")
                .unwrap_err()
                .message
                .contains(NOT_JUST_CREATED)
        );
        assert!(seen.claim("mine").is_ok());
        assert!(
            seen.claim("mine")
                .unwrap_err()
                .message
                .contains("another create")
        );
        // A list that shows a claimed token does not make it foreign.
        seen.note_foreign("mine");
        assert!(!seen.foreign.lock().unwrap().contains("mine"));
    }

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
