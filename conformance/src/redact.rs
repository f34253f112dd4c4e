//! Secrets never leave the runner: every string that reaches an event passes through here.
//!
//! The redactor knows every credential given to the run, every credential derived from one
//! (the tampered variant), and every token secret a server returned. Each is replaced by a
//! placeholder that says what it was, e.g. `[ABP_TOKEN]` or `[created-secret]`.

use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<Mutex<Vec<(String, String)>>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.len())
    }
}

/// Placeholder for a token secret returned by a create.
pub const CREATED_SECRET: &str = "[created-secret]";

impl Redactor {
    /// Registers a secret with the placeholder that replaces it. Empty strings are ignored.
    pub fn add(&self, secret: &str, placeholder: &str) {
        if secret.is_empty() {
            return;
        }
        let mut secrets = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        if secrets.iter().any(|(s, _)| s == secret) {
            return;
        }
        secrets.push((secret.to_owned(), placeholder.to_owned()));
        // Longest first, so a secret that contains another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
    }

    pub fn len(&self) -> usize {
        self.secrets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text with every known secret replaced.
    pub fn apply(&self, text: &str) -> String {
        let secrets = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_owned();
        for (secret, placeholder) in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), placeholder);
            }
        }
        out
    }

    /// The placeholder of the first known secret found in `text`, if any.
    pub fn find_in(&self, text: &str) -> Option<String> {
        let secrets = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        secrets
            .iter()
            .find(|(s, _)| text.contains(s.as_str()))
            .map(|(_, p)| p.clone())
    }

    /// Every registered secret value with its placeholder (for checks inside the runner).
    pub fn entries(&self) -> Vec<(String, String)> {
        self.secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_longest_first_and_every_occurrence() {
        let r = Redactor::default();
        r.add("abc", "[short]");
        r.add("abcdef", "[long]");
        assert_eq!(
            r.apply("x abcdef y abc abcdef"),
            "x [long] y [short] [long]"
        );
        assert_eq!(r.find_in("..abc.."), Some("[short]".into()));
        assert_eq!(r.find_in("nothing"), None);
    }

    #[test]
    fn empty_secret_is_ignored() {
        let r = Redactor::default();
        r.add("", "[x]");
        assert!(r.is_empty());
        assert_eq!(r.apply("text"), "text");
    }
}
