//! The store-level faults, each a decorator of [`TokenStore`] that changes one operation.
//!
//! `behaviour.rs` wraps the real store in one of these per fault switched on; the handlers
//! never know.

use super::{TokenRecord, TokenStore};
use crate::error::ServerError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Forwards every call to `$inner` except the ones the decorator writes itself.
macro_rules! forward {
    ($inner:tt; $($method:ident),*) => {
        $(forward!(@one $inner $method);)*
    };
    (@one $inner:tt blocks) => {
        fn blocks(&self) -> bool { self.$inner.blocks() }
    };
    (@one $inner:tt insert) => {
        fn insert(&self, record: &TokenRecord) -> Result<(), ServerError> { self.$inner.insert(record) }
    };
    (@one $inner:tt list) => {
        fn list(&self, owner: Option<&str>) -> Result<Vec<TokenRecord>, ServerError> { self.$inner.list(owner) }
    };
    (@one $inner:tt get) => {
        fn get(&self, id: &str) -> Result<Option<TokenRecord>, ServerError> { self.$inner.get(id) }
    };
    (@one $inner:tt find_by_hash) => {
        fn find_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, ServerError> { self.$inner.find_by_hash(hash) }
    };
    (@one $inner:tt delete) => {
        fn delete(&self, id: &str, owner: Option<&str>) -> Result<bool, ServerError> { self.$inner.delete(id, owner) }
    };
}

/// The layers of `inner` plus `name`.
fn layered(inner: &Arc<dyn TokenStore>, name: &'static str) -> Vec<&'static str> {
    let mut layers = inner.layers();
    layers.push(name);
    layers
}

/// `delete-noop`: a delete of one's own token reports success and keeps the token.
pub(crate) struct DeleteKeeps(pub Arc<dyn TokenStore>);

impl TokenStore for DeleteKeeps {
    fn layers(&self) -> Vec<&'static str> {
        layered(&self.0, "DeleteKeeps")
    }
    forward!(0; blocks, insert, list, get, find_by_hash);
    fn delete(&self, id: &str, owner: Option<&str>) -> Result<bool, ServerError> {
        Ok(self
            .0
            .get(id)?
            .is_some_and(|r| owner.is_none_or(|o| r.user_id == o)))
    }
}

/// `list-shows-other-users`: the list ignores the owner.
pub(crate) struct ListIgnoresOwner(pub Arc<dyn TokenStore>);

impl TokenStore for ListIgnoresOwner {
    fn layers(&self) -> Vec<&'static str> {
        layered(&self.0, "ListIgnoresOwner")
    }
    forward!(0; blocks, insert, get, find_by_hash, delete);
    fn list(&self, _owner: Option<&str>) -> Result<Vec<TokenRecord>, ServerError> {
        self.0.list(None)
    }
}

/// `delete-other-users`: a delete ignores the owner.
pub(crate) struct DeleteIgnoresOwner(pub Arc<dyn TokenStore>);

impl TokenStore for DeleteIgnoresOwner {
    fn layers(&self) -> Vec<&'static str> {
        layered(&self.0, "DeleteIgnoresOwner")
    }
    forward!(0; blocks, insert, list, get, find_by_hash);
    fn delete(&self, id: &str, _owner: Option<&str>) -> Result<bool, ServerError> {
        self.0.delete(id, None)
    }
}

/// `second-delete-succeeds`: every delete reports success, whether or not a token went.
pub(crate) struct DeleteAlwaysSucceeds(pub Arc<dyn TokenStore>);

impl TokenStore for DeleteAlwaysSucceeds {
    fn layers(&self) -> Vec<&'static str> {
        layered(&self.0, "DeleteAlwaysSucceeds")
    }
    forward!(0; blocks, insert, list, get, find_by_hash);
    fn delete(&self, id: &str, owner: Option<&str>) -> Result<bool, ServerError> {
        self.0.delete(id, owner)?;
        Ok(true)
    }
}

/// `secret-survives-delete`: a deleted token is still found by its secret's hash.
pub(crate) struct DeletedSecretsLinger {
    pub inner: Arc<dyn TokenStore>,
    pub ghosts: Mutex<HashMap<String, TokenRecord>>,
}

impl DeletedSecretsLinger {
    pub fn new(inner: Arc<dyn TokenStore>) -> DeletedSecretsLinger {
        DeletedSecretsLinger {
            inner,
            ghosts: Mutex::default(),
        }
    }
}

impl TokenStore for DeletedSecretsLinger {
    fn layers(&self) -> Vec<&'static str> {
        layered(&self.inner, "DeletedSecretsLinger")
    }
    forward!(inner; blocks, insert, list, get);
    fn find_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, ServerError> {
        match self.inner.find_by_hash(hash)? {
            Some(r) => Ok(Some(r)),
            None => Ok(lock(&self.ghosts).get(hash).cloned()),
        }
    }
    fn delete(&self, id: &str, owner: Option<&str>) -> Result<bool, ServerError> {
        let record = self.inner.get(id)?;
        let deleted = self.inner.delete(id, owner)?;
        if deleted && let Some(r) = record {
            lock(&self.ghosts).insert(r.hash.clone(), r);
        }
        Ok(deleted)
    }
}

/// How many tokens the `list-truncated` fault's list shows: a page size nobody asked for.
pub(crate) const TRUNCATED_LIST_LEN: usize = 20;

/// `list-truncated`: a list shows only the owner's oldest [`TRUNCATED_LIST_LEN`] tokens, as
/// if a forgotten page size applied (the spec has no paging).
pub(crate) struct ListTruncated(pub Arc<dyn TokenStore>);

impl TokenStore for ListTruncated {
    fn layers(&self) -> Vec<&'static str> {
        layered(&self.0, "ListTruncated")
    }
    forward!(0; blocks, insert, get, find_by_hash, delete);
    fn list(&self, owner: Option<&str>) -> Result<Vec<TokenRecord>, ServerError> {
        let mut all = self.0.list(owner)?;
        if owner.is_some() {
            all.truncate(TRUNCATED_LIST_LEN);
        }
        Ok(all)
    }
}

/// `names-ascii-only`: names are stored with every character outside ASCII dropped, as a
/// column in a legacy encoding would keep them; only a name outside ASCII shows it, and only
/// when it is read back.
pub(crate) struct NamesAsciiOnly(pub Arc<dyn TokenStore>);

impl TokenStore for NamesAsciiOnly {
    fn layers(&self) -> Vec<&'static str> {
        layered(&self.0, "NamesAsciiOnly")
    }
    forward!(0; blocks, list, get, find_by_hash, delete);
    fn insert(&self, record: &TokenRecord) -> Result<(), ServerError> {
        let mut stored = record.clone();
        stored.name.retain(|c| c.is_ascii());
        self.0.insert(&stored)
    }
}

/// `delete-stale-index`: each user's tokens sit in a vector with an id → position index;
/// a delete `swap_remove`s from the vector but does not re-index the token it moved, so
/// that token can no longer be deleted (404) after a delete of an older token.
pub(crate) struct DeleteStaleIndex {
    pub inner: Arc<dyn TokenStore>,
    /// Per owner, ids in the order the vector holds them.
    pub order: Mutex<HashMap<String, Vec<String>>>,
    /// Ids whose position is stale.
    pub stale: Mutex<std::collections::HashSet<String>>,
}

impl DeleteStaleIndex {
    pub fn new(inner: Arc<dyn TokenStore>) -> DeleteStaleIndex {
        DeleteStaleIndex {
            inner,
            order: Mutex::default(),
            stale: Mutex::default(),
        }
    }
}

impl TokenStore for DeleteStaleIndex {
    fn layers(&self) -> Vec<&'static str> {
        layered(&self.inner, "DeleteStaleIndex")
    }
    forward!(inner; blocks, list, get, find_by_hash);
    fn insert(&self, record: &TokenRecord) -> Result<(), ServerError> {
        self.inner.insert(record)?;
        lock(&self.order)
            .entry(record.user_id.clone())
            .or_default()
            .push(record.id.clone());
        Ok(())
    }
    fn delete(&self, id: &str, owner: Option<&str>) -> Result<bool, ServerError> {
        if lock(&self.stale).contains(id) {
            return Ok(false);
        }
        let Some(record) = self.inner.get(id)? else {
            return Ok(false);
        };
        let deleted = self.inner.delete(id, owner)?;
        if deleted {
            let mut order = lock(&self.order);
            let ids = order.entry(record.user_id).or_default();
            if let Some(i) = ids.iter().position(|x| x == id) {
                ids.swap_remove(i);
                if let Some(moved) = ids.get(i) {
                    lock(&self.stale).insert(moved.clone());
                }
            }
        }
        Ok(deleted)
    }
}

/// A store fault that changes what is stored, not how it is found: `rewrite` is applied to
/// each record on insert. The create answer is built from the request, so only a later read
/// (the list) shows the change; `layer` names the fault in [`TokenStore::layers`].
pub(crate) struct StoredRewritten {
    pub inner: Arc<dyn TokenStore>,
    pub layer: &'static str,
    pub rewrite: fn(&mut TokenRecord),
}

impl TokenStore for StoredRewritten {
    fn layers(&self) -> Vec<&'static str> {
        layered(&self.inner, self.layer)
    }
    forward!(inner; blocks, list, get, find_by_hash, delete);
    fn insert(&self, record: &TokenRecord) -> Result<(), ServerError> {
        let mut stored = record.clone();
        (self.rewrite)(&mut stored);
        self.inner.insert(&stored)
    }
}

impl StoredRewritten {
    /// `names-trimmed`: surrounding whitespace is dropped, as a form library might.
    pub fn names_trimmed(inner: Arc<dyn TokenStore>) -> StoredRewritten {
        StoredRewritten {
            inner,
            layer: "NamesTrimmed",
            rewrite: |r| r.name = r.name.trim().to_owned(),
        }
    }

    /// `names-nfc-normalized`: names are normalized to Unicode form C.
    pub fn names_nfc(inner: Arc<dyn TokenStore>) -> StoredRewritten {
        use unicode_normalization::UnicodeNormalization;
        StoredRewritten {
            inner,
            layer: "NamesNfcNormalized",
            rewrite: |r| r.name = r.name.nfc().collect(),
        }
    }

    /// `names-html-escaped`: names are escaped for HTML before they are stored.
    pub fn names_html_escaped(inner: Arc<dyn TokenStore>) -> StoredRewritten {
        StoredRewritten {
            inner,
            layer: "NamesHtmlEscaped",
            rewrite: |r| {
                r.name = r
                    .name
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('"', "&quot;")
                    .replace('\'', "&#x27;");
            },
        }
    }

    /// `privileges-sorted`: privileges are stored sorted.
    pub fn privileges_sorted(inner: Arc<dyn TokenStore>) -> StoredRewritten {
        StoredRewritten {
            inner,
            layer: "PrivilegesSorted",
            rewrite: |r| r.privileges.sort(),
        }
    }

    /// `privileges-deduplicated`: a repeated privilege is stored once (first occurrence kept).
    pub fn privileges_deduplicated(inner: Arc<dyn TokenStore>) -> StoredRewritten {
        StoredRewritten {
            inner,
            layer: "PrivilegesDeduplicated",
            rewrite: |r| {
                let mut seen = std::collections::HashSet::new();
                r.privileges.retain(|p| seen.insert(p.clone()));
            },
        }
    }

    /// `privileges-capped`: only the first [`CAPPED_PRIVILEGES`] privileges are kept.
    pub fn privileges_capped(inner: Arc<dyn TokenStore>) -> StoredRewritten {
        StoredRewritten {
            inner,
            layer: "PrivilegesCapped",
            rewrite: |r| r.privileges.truncate(CAPPED_PRIVILEGES),
        }
    }

    /// `updated-at-seconds`: `updatedAt` is stored cut to the whole second.
    pub fn updated_at_seconds(inner: Arc<dyn TokenStore>) -> StoredRewritten {
        StoredRewritten {
            inner,
            layer: "UpdatedAtSeconds",
            rewrite: |r| {
                let secs = r.updated_at.timestamp();
                if let Some(t) = chrono::DateTime::from_timestamp(secs, 0) {
                    r.updated_at = t;
                }
            },
        }
    }
}

impl StoredRewritten {
    /// `privileges-simple-array`: stored comma-joined and split on read, empty items lost.
    pub fn privileges_simple_array(inner: Arc<dyn TokenStore>) -> StoredRewritten {
        StoredRewritten {
            inner,
            layer: "PrivilegesSimpleArray",
            rewrite: |r| {
                let joined = r.privileges.join(",");
                r.privileges = joined
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect();
            },
        }
    }

    /// `privileges-object-keys-dropped`: items a plain JavaScript object already has are
    /// skipped (`if (!seen[p])`).
    pub fn privileges_object_keys_dropped(inner: Arc<dyn TokenStore>) -> StoredRewritten {
        StoredRewritten {
            inner,
            layer: "PrivilegesObjectKeysDropped",
            rewrite: |r| {
                r.privileges
                    .retain(|p| !OBJECT_PROTOTYPE.contains(&p.as_str()))
            },
        }
    }

    /// `privileges-cut-at-255`: each item kept in a varchar(255).
    pub fn privileges_cut_at_255(inner: Arc<dyn TokenStore>) -> StoredRewritten {
        StoredRewritten {
            inner,
            layer: "PrivilegesCutAt255",
            rewrite: |r| {
                for p in &mut r.privileges {
                    *p = p.chars().take(255).collect();
                }
            },
        }
    }

    /// `names-cut-at-nul`: a C string ends at its first NUL.
    pub fn names_cut_at_nul(inner: Arc<dyn TokenStore>) -> StoredRewritten {
        StoredRewritten {
            inner,
            layer: "NamesCutAtNul",
            rewrite: |r| {
                if let Some(i) = r.name.find('\0') {
                    r.name.truncate(i);
                }
            },
        }
    }

    /// `names-controls-stripped`: control characters (C0, DEL, C1) removed.
    pub fn names_controls_stripped(inner: Arc<dyn TokenStore>) -> StoredRewritten {
        StoredRewritten {
            inner,
            layer: "NamesControlsStripped",
            rewrite: |r| r.name.retain(|c| !c.is_control()),
        }
    }
}

/// The members every plain JavaScript object inherits from `Object.prototype`.
const OBJECT_PROTOTYPE: &[&str] = &[
    "__proto__",
    "constructor",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "toString",
    "valueOf",
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
];

/// `delete-by-name`: a delete removes every token of the owner with the named token's name.
pub(crate) struct DeleteByName(pub Arc<dyn TokenStore>);

impl TokenStore for DeleteByName {
    fn layers(&self) -> Vec<&'static str> {
        layered(&self.0, "DeleteByName")
    }
    forward!(0; blocks, insert, list, get, find_by_hash);
    fn delete(&self, id: &str, owner: Option<&str>) -> Result<bool, ServerError> {
        let Some(named) = self.0.get(id)? else {
            return Ok(false);
        };
        if owner.is_some_and(|o| named.user_id != o) {
            return Ok(false);
        }
        for r in self.0.list(Some(&named.user_id))? {
            if r.name == named.name {
                self.0.delete(&r.id, None)?;
            }
        }
        Ok(true)
    }
}

/// `list-row-per-privilege`: a join of tokens and privileges without a group-by.
pub(crate) struct ListRowPerPrivilege(pub Arc<dyn TokenStore>);

impl TokenStore for ListRowPerPrivilege {
    fn layers(&self) -> Vec<&'static str> {
        layered(&self.0, "ListRowPerPrivilege")
    }
    forward!(0; blocks, insert, get, find_by_hash, delete);
    fn list(&self, owner: Option<&str>) -> Result<Vec<TokenRecord>, ServerError> {
        Ok(self
            .0
            .list(owner)?
            .into_iter()
            .flat_map(|r| std::iter::repeat_n(r.clone(), r.privileges.len().max(1)))
            .collect())
    }
}

/// How many privileges `privileges-capped` keeps.
pub(crate) const CAPPED_PRIVILEGES: usize = 64;

/// `unique-names`: a unique index on (user, name): inserting a second live token with a
/// name the user already has fails like a constraint violation does (a storage error).
pub(crate) struct UniqueNames(pub Arc<dyn TokenStore>);

impl TokenStore for UniqueNames {
    fn layers(&self) -> Vec<&'static str> {
        layered(&self.0, "UniqueNames")
    }
    forward!(0; blocks, list, get, find_by_hash, delete);
    fn insert(&self, record: &TokenRecord) -> Result<(), ServerError> {
        let taken = self
            .0
            .list(Some(&record.user_id))?
            .iter()
            .any(|r| r.name == record.name);
        if taken {
            return Err(ServerError::Storage(
                "UNIQUE constraint failed: tokens.user_id, tokens.name".into(),
            ));
        }
        self.0.insert(record)
    }
}

/// How long `racy-delete` waits between finding a token and deleting it.
const RACE_WINDOW: std::time::Duration = std::time::Duration::from_millis(15);

/// `racy-delete`: a delete checks that the token exists, then deletes it without holding a
/// lock in between, and reports what the check saw: two deletes of one token at the same
/// time both answer 204.
pub(crate) struct RacyDelete(pub Arc<dyn TokenStore>);

impl TokenStore for RacyDelete {
    fn layers(&self) -> Vec<&'static str> {
        layered(&self.0, "RacyDelete")
    }
    forward!(0; insert, list, get, find_by_hash);
    /// The race window sleeps, so every call runs on the blocking pool.
    fn blocks(&self) -> bool {
        true
    }
    fn delete(&self, id: &str, owner: Option<&str>) -> Result<bool, ServerError> {
        let found = self
            .0
            .get(id)?
            .is_some_and(|r| owner.is_none_or(|o| r.user_id == o));
        std::thread::sleep(RACE_WINDOW);
        self.0.delete(id, owner)?;
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use chrono::DateTime;

    fn record(id: &str, user: &str) -> TokenRecord {
        let now = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        TokenRecord {
            id: id.into(),
            name: "n".into(),
            hash: format!("hash-{id}"),
            masked: "m".into(),
            privileges: Vec::new(),
            user_id: user.into(),
            organization_id: "o".into(),
            created_at: now,
            updated_at: now,
            expires_on: now,
        }
    }

    fn store_with_two() -> Arc<dyn TokenStore> {
        let s = Store::memory();
        s.insert(&record("a", "u1")).unwrap();
        s.insert(&record("b", "u2")).unwrap();
        Arc::new(s)
    }

    #[test]
    fn each_decorator_changes_one_operation() {
        let keeps = DeleteKeeps(store_with_two());
        assert!(keeps.delete("a", Some("u1")).unwrap());
        assert!(!keeps.delete("b", Some("u1")).unwrap());
        assert_eq!(keeps.list(Some("u1")).unwrap().len(), 1);

        let all = ListIgnoresOwner(store_with_two());
        assert_eq!(all.list(Some("u1")).unwrap().len(), 2);

        let anyone = DeleteIgnoresOwner(store_with_two());
        assert!(anyone.delete("b", Some("u1")).unwrap());
        assert!(anyone.get("b").unwrap().is_none());

        let always = DeleteAlwaysSucceeds(store_with_two());
        assert!(always.delete("zzz", Some("u1")).unwrap());
        assert_eq!(always.list(None).unwrap().len(), 2);

        let short = ListTruncated(store_with_two());
        for i in 0..TRUNCATED_LIST_LEN + 5 {
            short.insert(&record(&format!("x{i}"), "u1")).unwrap();
        }
        assert_eq!(short.list(Some("u1")).unwrap().len(), TRUNCATED_LIST_LEN);
        assert_eq!(short.list(Some("u1")).unwrap()[0].id, "a");

        let stale = DeleteStaleIndex::new(Arc::new(Store::memory()));
        for id in ["p", "q", "r"] {
            stale.insert(&record(id, "u1")).unwrap();
        }
        assert!(stale.delete("p", Some("u1")).unwrap());
        // `r` moved into `p`'s place and kept its old index.
        assert!(!stale.delete("r", Some("u1")).unwrap());
        assert!(stale.get("r").unwrap().is_some());
        assert!(stale.delete("q", Some("u1")).unwrap());

        let racy = RacyDelete(store_with_two());
        assert!(racy.delete("a", Some("u1")).unwrap());
        assert!(!racy.delete("a", Some("u1")).unwrap());

        let rewritten =
            |make: fn(Arc<dyn TokenStore>) -> StoredRewritten, name: &str, privileges: &[&str]| {
                let store = make(Arc::new(Store::memory()));
                let mut r = record("z", "u1");
                r.name = name.into();
                r.privileges = privileges.iter().map(|p| p.to_string()).collect();
                store.insert(&r).unwrap();
                let stored = store.get("z").unwrap().unwrap();
                (stored.name, stored.privileges)
            };
        assert_eq!(
            rewritten(StoredRewritten::names_trimmed, " a b ", &[]).0,
            "a b"
        );
        assert_eq!(
            rewritten(StoredRewritten::names_nfc, "e\u{301}", &[]).0,
            "\u{e9}"
        );
        assert_eq!(
            rewritten(StoredRewritten::names_html_escaped, "<&>", &[]).0,
            "&lt;&amp;&gt;"
        );
        assert_eq!(
            rewritten(StoredRewritten::privileges_sorted, "n", &["b", "a"]).1,
            ["a", "b"]
        );
        assert_eq!(
            rewritten(
                StoredRewritten::privileges_deduplicated,
                "n",
                &["b", "a", "b"]
            )
            .1,
            ["b", "a"]
        );
        let many: Vec<String> = (0..CAPPED_PRIVILEGES + 1).map(|i| i.to_string()).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            rewritten(StoredRewritten::privileges_capped, "n", &many)
                .1
                .len(),
            CAPPED_PRIVILEGES
        );
        let seconds = StoredRewritten::updated_at_seconds(Arc::new(Store::memory()));
        seconds.insert(&record("s", "u1")).unwrap();
        let stored = seconds.get("s").unwrap().unwrap();
        assert!(stored.updated_at < stored.created_at);

        let unique = UniqueNames(store_with_two());
        let mut same = record("c", "u1");
        same.name = "n".into();
        assert!(unique.insert(&same).is_err());
        same.user_id = "u3".into();
        assert!(unique.insert(&same).is_ok());

        let linger = DeletedSecretsLinger::new(store_with_two());
        assert!(linger.delete("a", Some("u1")).unwrap());
        assert!(linger.get("a").unwrap().is_none());
        assert_eq!(linger.find_by_hash("hash-a").unwrap().unwrap().id, "a");
    }
}
