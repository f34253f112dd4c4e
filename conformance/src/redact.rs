//! Secrets never leave the runner: every string that reaches an event passes through here.
//!
//! The redactor knows every credential given to the run, every credential derived from one
//! (the tampered variant), and every token secret a server returned. Each is replaced by a
//! placeholder that says what it was, e.g. `[ABP_TOKEN]` or `[created-secret]`.
//!
//! It also knows what a secret and a masked secret look like on this target, learned from the
//! run's own tokens ([`Shapes`]): a secret-field value in a body that is not proven to be a
//! mask is replaced too, whoever's token it is, so a list that shows a person's tokens
//! unmasked prints none of them. And server text is made safe for a terminal
//! ([`neutralize`]): no escape sequence, no carriage return, no bell reaches one.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<Mutex<Vec<(String, String)>>>,
    /// The secrets as one matcher, built when first needed after a secret was added: every
    /// string bound for an output is scanned, and one pass over it for all secrets at once
    /// is what keeps a run with hundreds of tokens fast.
    known: Arc<Mutex<Option<Arc<KnownSecrets>>>>,
    /// Runs of characters of the created secrets, kept up to date as secrets are added.
    runs: Arc<Mutex<Runs>>,
    /// The spec's `x-secret` field names, whose values in a body are secrets or masks.
    secret_fields: Arc<Mutex<Vec<String>>>,
    shapes: Arc<Mutex<Shapes>>,
}

/// Placeholder for the value of a secret field that is not proven to be a mask.
pub const UNPROVEN_SECRET: &str = "[secret]";

/// What the target's secrets and masks look like, learned from the run's own tokens: the
/// secrets of its creates and the values its lists show for them. The rule
/// (`openapi/TRANSCRIPTION.md`, "Other people's secrets") is shape-based, never our server's
/// format: a value has the secret's shape when its length is within the lengths of the
/// run's secrets, it starts with their common prefix (up to its last symbol) and each of its
/// characters is of a class (lower, upper, digit, or that exact symbol) seen in them, or when
/// it is in that alphabet and longer than every mask the run saw; it has the mask's shape
/// when it has a character of a class no secret has (`*`, `•`, `…`), or the characters every
/// learned mask has at the same places.
#[derive(Debug, Default, Clone)]
pub struct Shapes {
    secret_lengths: Option<(usize, usize)>,
    secret_prefix: Option<String>,
    secret_classes: std::collections::BTreeSet<CharClass>,
    /// Chars every mask of a given length has at a given place.
    masks: Vec<Vec<Option<char>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum CharClass {
    Lower,
    Upper,
    Digit,
    Other(char),
}

fn class(c: char) -> CharClass {
    if c.is_ascii_lowercase() {
        CharClass::Lower
    } else if c.is_ascii_uppercase() {
        CharClass::Upper
    } else if c.is_ascii_digit() {
        CharClass::Digit
    } else {
        CharClass::Other(c)
    }
}

impl Shapes {
    /// A secret one of the run's creates returned.
    pub fn learn_secret(&mut self, secret: &str) {
        let n = secret.chars().count();
        self.secret_lengths = Some(match self.secret_lengths {
            Some((lo, hi)) => (lo.min(n), hi.max(n)),
            None => (n, n),
        });
        self.secret_prefix = Some(match self.secret_prefix.take() {
            Some(p) => p
                .chars()
                .zip(secret.chars())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
            None => secret.to_owned(),
        });
        self.secret_classes.extend(secret.chars().map(class));
    }

    /// What a list showed as the secret of one of the run's own tokens.
    pub fn learn_mask(&mut self, mask: &str) {
        let chars: Vec<char> = mask.chars().collect();
        match self.masks.iter_mut().find(|m| m.len() == chars.len()) {
            Some(known) => {
                for (k, c) in known.iter_mut().zip(&chars) {
                    if *k != Some(*c) {
                        *k = None;
                    }
                }
            }
            None => self.masks.push(chars.into_iter().map(Some).collect()),
        }
    }

    /// Whether the run has seen both a secret and a mask, so that a verdict is possible.
    pub fn learned(&self) -> bool {
        self.secret_lengths.is_some() && !self.masks.is_empty()
    }

    /// Whether `value` could be a secret of this target (see [`Shapes`]): the secrets' length,
    /// prefix and alphabet; or, whatever its length and prefix (a person's token of an older
    /// format), the secrets' alphabet at a length no mask the run saw reaches.
    pub fn secret_shaped(&self, value: &str) -> bool {
        let (Some((lo, hi)), Some(prefix)) = (self.secret_lengths, self.prefix()) else {
            return false;
        };
        let n = value.chars().count();
        let alphabet = value
            .chars()
            .all(|c| self.secret_classes.contains(&class(c)));
        let longest_mask = self.masks.iter().map(Vec::len).max();
        alphabet
            && (((lo..=hi).contains(&n) && value.starts_with(prefix))
                || longest_mask.is_some_and(|m| n > m))
    }

    /// The secrets' common prefix up to its last symbol (`uat_`, `sk-live-`): the format's
    /// marker, not the random part, which one secret alone would make look fixed.
    fn prefix(&self) -> Option<&str> {
        let common = self.secret_prefix.as_deref()?;
        let end = common
            .char_indices()
            .rfind(|(_, c)| !c.is_alphanumeric())
            .map_or(0, |(i, c)| i + c.len_utf8());
        Some(&common[..end])
    }

    /// Whether `value` is shaped like the masks the run's own tokens were listed with.
    pub fn mask_shaped(&self, value: &str) -> bool {
        let chars: Vec<char> = value.chars().collect();
        if self.secret_lengths.is_some()
            && chars
                .iter()
                .any(|c| !self.secret_classes.contains(&class(*c)))
        {
            return true;
        }
        self.masks.iter().any(|m| {
            m.len() == chars.len()
                && m.iter().any(Option::is_some)
                && m.iter().zip(&chars).all(|(k, c)| k.is_none_or(|k| k == *c))
                // The secret's own prefix is no evidence of a mask.
                && m.iter()
                    .enumerate()
                    .skip(self.prefix().map_or(0, |p| p.chars().count()))
                    .any(|(_, k)| k.is_some())
        })
    }
}

/// Server text made safe for a terminal and a report: every control character but newline
/// and tab (ESC, CR, BEL, NUL, DEL, the C1 range) and every bidirectional override is shown
/// as `\u{..}` instead of being passed on, so a body cannot clear a screen, rewrite a line
/// or print a fake verdict.
pub fn neutralize(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.len())
    }
}

/// Placeholder for a token secret returned by a create.
pub const CREATED_SECRET: &str = "[created-secret]";

/// The secrets known at one moment, longest first, with a matcher over all of them.
pub struct KnownSecrets {
    /// (value, placeholder), longest first.
    pub entries: Vec<(String, String)>,
    matcher: Option<AhoCorasick>,
    /// The live index of the created secrets' runs of characters (`checks/exposure.rs`).
    runs: Arc<Mutex<Runs>>,
}

/// Which created secrets a run of characters belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RunOwner {
    /// Only this secret has the run.
    One(Arc<str>),
    /// Two or more secrets share it (a fixed prefix, say): it is no secret material.
    Shared,
}

/// Every run of `len` consecutive characters of every created secret, with its owner, by a
/// rolling hash of the run. Built as secrets arrive (a run creates hundreds), and every JSON
/// answer's strings are looked up in it window by window, so a window costs a multiply and
/// an add, not a hash of its characters. A hit is confirmed against the secret itself.
#[derive(Default)]
struct Runs {
    len: usize,
    map: HashMap<u64, RunOwner, std::hash::BuildHasherDefault<Prehashed>>,
    created: Vec<Arc<str>>,
}

/// The rolling hash's base (odd, so that multiplying by it loses nothing mod 2^64).
const BASE: u64 = 0x100_0000_01b3;

/// The hash of every window of `len` characters of `chars`, in order.
fn rolling(chars: &[char], len: usize) -> impl Iterator<Item = (usize, u64)> + '_ {
    let top = BASE.wrapping_pow(len.saturating_sub(1) as u32);
    let mut h: u64 = 0;
    chars.iter().enumerate().filter_map(move |(i, c)| {
        if i >= len {
            h = h.wrapping_sub((chars[i - len] as u64).wrapping_mul(top));
        }
        h = h.wrapping_mul(BASE).wrapping_add(*c as u64);
        (i + 1 >= len).then(|| (i + 1 - len, h))
    })
}

/// A hasher for keys that are hashes already.
#[derive(Default)]
struct Prehashed(u64);

impl std::hash::Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl Runs {
    fn index(&mut self, secret: &Arc<str>) {
        if self.len == 0 {
            return;
        }
        let chars: Vec<char> = secret.chars().collect();
        for (_, h) in rolling(&chars, self.len) {
            self.map
                .entry(h)
                .and_modify(|o| {
                    if *o != RunOwner::One(secret.clone()) {
                        *o = RunOwner::Shared
                    }
                })
                .or_insert_with(|| RunOwner::One(secret.clone()));
        }
    }
}

impl KnownSecrets {
    fn new(entries: Vec<(String, String)>, runs: Arc<Mutex<Runs>>) -> KnownSecrets {
        // Leftmost-longest: a secret that contains another is found (and replaced) whole.
        // The non-contiguous NFA builds in time linear in the secrets' length; it is rebuilt
        // after every create, so its build time matters more than its search speed.
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::NoncontiguousNFA))
            .build(entries.iter().map(|(s, _)| s.as_str()))
            .ok()
            .filter(|_| !entries.is_empty());
        KnownSecrets {
            entries,
            matcher,
            runs,
        }
    }

    /// The entries (by index) whose secret occurs in `haystack`, leftmost first.
    pub fn found_in<'h>(&'h self, haystack: &'h [u8]) -> impl Iterator<Item = usize> + 'h {
        self.matcher
            .iter()
            .flat_map(move |m| m.find_iter(haystack))
            .map(|m| m.pattern().as_usize())
    }

    /// The first created secret for which `earlier` holds that shares a run of the indexed
    /// length ([`Redactor::set_run_length`]) with one of `values`, no other secret sharing it.
    pub fn sharing_a_run(
        &self,
        values: &[Vec<char>],
        earlier: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        if runs.len == 0 {
            return None;
        }
        let len = runs.len;
        values.iter().find_map(|v| {
            rolling(v, len).find_map(|(at, h)| match runs.map.get(&h) {
                Some(RunOwner::One(secret)) if earlier(secret) => {
                    let window = &v[at..at + len];
                    let chars: Vec<char> = secret.chars().collect();
                    chars
                        .windows(len)
                        .any(|w| w == window)
                        .then(|| secret.to_string())
                }
                _ => None,
            })
        })
    }
}

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
        *self.known.lock().unwrap_or_else(|e| e.into_inner()) = None;
        drop(secrets);
        if placeholder == CREATED_SECRET {
            let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
            let secret: Arc<str> = Arc::from(secret);
            runs.index(&secret);
            runs.created.push(secret);
        }
        if placeholder == CREATED_SECRET {
            self.shapes().learn_secret(secret);
        }
    }

    /// The length of the runs of created secrets' characters that the exposure check looks
    /// up (one more than a mask may show); 0 (the default) keeps no index.
    pub fn set_run_length(&self, len: usize) {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        if runs.len == len {
            return;
        }
        runs.len = len;
        runs.map.clear();
        for secret in runs.created.clone() {
            runs.index(&secret);
        }
    }

    /// The spec's `x-secret` field names: their values in bodies are judged by shape.
    pub fn set_secret_fields(&self, fields: &[String]) {
        *self.secret_fields.lock().unwrap_or_else(|e| e.into_inner()) = fields.to_vec();
    }

    fn shapes(&self) -> std::sync::MutexGuard<'_, Shapes> {
        self.shapes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the value a list showed for one of the run's own tokens' secret.
    pub fn learn_mask(&self, mask: &str) {
        self.shapes().learn_mask(mask);
    }

    /// What the run has learned of the target's secret and mask shapes.
    pub fn learned_shapes(&self) -> Shapes {
        self.shapes().clone()
    }

    /// [`Redactor::apply`], then [`neutralize`]: for any server text bound for an output.
    pub fn scrub(&self, text: &str) -> String {
        neutralize(&self.apply(text)).into_owned()
    }

    /// [`Redactor::scrub`] for a body: also every value of a secret field (`"token": "…"`
    /// in JSON text, even cut short) that is not proven to be a mask becomes
    /// [`UNPROVEN_SECRET`], whoever's token it is.
    pub fn scrub_body(&self, text: &str) -> String {
        let text = self.apply(text);
        let fields = self
            .secret_fields
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let shapes = self.shapes().clone();
        let mut out = text;
        for field in &fields {
            out = replace_field_values(&out, field, |value| {
                let placeholder = value.starts_with('[') && value.ends_with(']');
                !(placeholder || value.is_empty() || shapes.mask_shaped(value))
            });
        }
        neutralize(&out).into_owned()
    }

    /// Every string value of `field` found in `text` (JSON text, possibly invalid or cut
    /// short): how a secret is learned from a create answer that does not parse.
    pub fn field_values(text: &str, field: &str) -> Vec<String> {
        let mut found = Vec::new();
        replace_field_values(text, field, |v| {
            found.push(v.to_owned());
            false
        });
        found
    }

    pub fn len(&self) -> usize {
        self.secrets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The secrets known now, with one matcher over all of them.
    pub fn known(&self) -> Arc<KnownSecrets> {
        // The secrets' lock first, as `add` takes it: the snapshot is never older than the
        // list it is built from.
        let secrets = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        known
            .get_or_insert_with(|| Arc::new(KnownSecrets::new(secrets.clone(), self.runs.clone())))
            .clone()
    }

    /// The text with every known secret replaced.
    pub fn apply(&self, text: &str) -> String {
        let known = self.known();
        let Some(matcher) = &known.matcher else {
            return text.to_owned();
        };
        let mut out = String::with_capacity(text.len());
        matcher.replace_all_with(text, &mut out, |m, _, out| {
            out.push_str(&known.entries[m.pattern().as_usize()].1);
            true
        });
        out
    }

    /// The placeholder of the first known secret found in `text`, if any.
    pub fn find_in(&self, text: &str) -> Option<String> {
        let known = self.known();
        known
            .found_in(text.as_bytes())
            .next()
            .map(|i| known.entries[i].1.clone())
    }

    /// Every registered secret value with its placeholder (for checks inside the runner).
    pub fn entries(&self) -> Vec<(String, String)> {
        self.secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// `text` with each string value of `"field":` for which `replace` says so replaced by
/// [`UNPROVEN_SECRET`]. A value runs to its closing quote (escapes skipped) or to the end.
fn replace_field_values(text: &str, field: &str, mut replace: impl FnMut(&str) -> bool) -> String {
    let key = format!("\"{field}\"");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(&key) {
        let (before, after) = rest.split_at(at + key.len());
        out.push_str(before);
        let trimmed = after.trim_start();
        let Some(value_part) = trimmed
            .strip_prefix(':')
            .map(str::trim_start)
            .and_then(|t| t.strip_prefix('"'))
        else {
            rest = after;
            continue;
        };
        out.push_str(&after[..after.len() - value_part.len()]);
        let mut end = value_part.len();
        let mut escaped = false;
        for (i, c) in value_part.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let value = &value_part[..end];
        if replace(value) {
            out.push_str(UNPROVEN_SECRET);
        } else {
            out.push_str(value);
        }
        rest = &value_part[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rolling_hash_is_the_hash_of_its_window() {
        let chars: Vec<char> = "uat_ab€😀cdefab€😀cdX".chars().collect();
        let direct = |w: &[char]| {
            w.iter()
                .fold(0u64, |h, c| h.wrapping_mul(BASE).wrapping_add(*c as u64))
        };
        let rolled: Vec<(usize, u64)> = rolling(&chars, 5).collect();
        assert_eq!(rolled.len(), chars.len() - 4);
        for (at, h) in &rolled {
            assert_eq!(*h, direct(&chars[*at..at + 5]), "window at {at}");
        }
        // Equal windows hash equally wherever they are.
        assert_eq!(rolled[4].1, rolled[12].1);
    }

    #[test]
    fn a_run_of_one_secret_is_found_and_a_shared_run_is_not() {
        let r = Redactor::default();
        r.set_run_length(6);
        r.add("uat_AAAAAAsecret-one", CREATED_SECRET);
        r.add("uat_AAAAAAsecret-two", CREATED_SECRET);
        let known = r.known();
        let values = |s: &str| vec![s.chars().collect::<Vec<char>>()];
        // Shown: six characters only the first secret has.
        assert_eq!(
            known.sharing_a_run(&values("mask: cret-one"), |_| true),
            Some("uat_AAAAAAsecret-one".to_owned())
        );
        // The prefix both share is no secret material; five characters are under the limit.
        assert_eq!(
            known.sharing_a_run(&values("uat_AAAAAA ret-o"), |_| true),
            None
        );
        // This response's own secret is not a leak.
        assert_eq!(
            known.sharing_a_run(&values("cret-one"), |s| !s.ends_with("one")),
            None
        );
    }

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
    fn control_characters_never_pass() {
        let text = "a\u{1b}[2Jb\rc\u{7}\u{0}d\u{202e}e\nf\tg";
        assert_eq!(
            neutralize(text),
            "a\\u{1b}[2Jb\\u{d}c\\u{7}\\u{0}d\\u{202e}e\nf\tg"
        );
        assert!(matches!(neutralize("plain"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn a_secret_of_another_length_in_the_secrets_alphabet_is_secret_shaped() {
        let mut shapes = Shapes::default();
        shapes.learn_secret("uat_Q2hhbmdlIG1lIGFuZCBzZWUgd2hhdCBicmVha3MK");
        shapes.learn_mask("uat_****rM1E");
        // An older format: no prefix, twice the length, same alphabet, longer than any mask.
        let older = "Zm9vYmFyYmF6cXV4cXV1eHF1dXhmb29iYXJiYXpxdXhxdXV4cXV1eA";
        assert!(shapes.secret_shaped(older) && !shapes.mask_shaped(older));
        // Masks, and short values a mask could be, are not.
        assert!(!shapes.secret_shaped("uat_****abcd"));
        assert!(!shapes.secret_shaped("abcdef"));
    }

    #[test]
    fn secret_values_are_replaced_unless_mask_shaped() {
        let r = Redactor::default();
        r.set_secret_fields(&["token".to_owned()]);
        // Nothing learned: every value is withheld.
        assert_eq!(
            r.scrub_body(r#"[{"token":"uat_abc"}]"#),
            r#"[{"token":"[secret]"}]"#
        );
        r.add("uat_K3yZ9aB7qR2mX5", CREATED_SECRET);
        r.learn_mask("uat_****************mX5");
        let body = r#"[{"token": "uat_****************Q1w"},{"token":"uat_P0oI9uY8tR7eW6"},{"token":"uat_K3yZ9aB7qR2mX5"},{"token":"uat_cut"#;
        assert_eq!(
            r.scrub_body(body),
            r#"[{"token": "uat_****************Q1w"},{"token":"[secret]"},{"token":"[created-secret]"},{"token":"[secret]"#
        );
        let shapes = r.learned_shapes();
        assert!(shapes.learned());
        assert!(shapes.secret_shaped("uat_P0oI9uY8tR7eW6"));
        assert!(!shapes.mask_shaped("uat_P0oI9uY8tR7eW6"));
        // Another mask format (a bullet, a shorter form) is a mask, not a secret.
        assert!(shapes.mask_shaped("uat_••••mX5"));
        assert!(!shapes.secret_shaped("uat_…mX5"));
        assert!(!shapes.secret_shaped("old-format-1234"));
        assert_eq!(
            Redactor::field_values(r#"{"name":"\xff","token":"uat_a\"b"#, "token"),
            vec![r#"uat_a\"b"#.to_owned()]
        );
    }

    #[test]
    fn empty_secret_is_ignored() {
        let r = Redactor::default();
        r.add("", "[x]");
        assert!(r.is_empty());
        assert_eq!(r.apply("text"), "text");
    }
}
