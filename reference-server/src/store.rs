//! Token storage: in memory, or SQLite (WAL, one transaction per write, synchronous=FULL) so
//! that an acknowledged create survives a SIGKILL. Both back ends sit behind one enum so the
//! handlers do not care which is in use. Secrets are never stored, only their SHA-256 hash and
//! the masked form.
//!
//! Handlers see storage through [`TokenStore`]; the faults that change what storage does are
//! decorators of it (`store/faulty.rs`).

pub(crate) mod faulty;

use crate::error::ServerError;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;

/// One stored token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    /// SHA-256 of the secret, lowercase hex.
    pub hash: String,
    /// The masked secret shown by the list.
    pub masked: String,
    pub privileges: Vec<String>,
    pub user_id: String,
    pub organization_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_on: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct Memory {
    next: u64,
    /// Insertion order is the list order (oldest first).
    tokens: BTreeMap<u64, TokenRecord>,
    by_id: HashMap<String, u64>,
    by_hash: HashMap<String, u64>,
}

/// The storage back end.
#[derive(Debug)]
pub enum Store {
    Memory(Mutex<Memory>),
    Sqlite(Mutex<Connection>),
}

/// What the server needs from token storage. [`Store`] implements it; the store-level faults
/// wrap it.
pub(crate) trait TokenStore: Send + Sync {
    /// True when calls block (SQLite): they then run on the blocking pool.
    fn blocks(&self) -> bool;
    fn insert(&self, record: &TokenRecord) -> Result<(), ServerError>;
    /// Tokens oldest first: one owner's, or everyone's with `None`. Expired ones included.
    fn list(&self, owner: Option<&str>) -> Result<Vec<TokenRecord>, ServerError>;
    fn get(&self, id: &str) -> Result<Option<TokenRecord>, ServerError>;
    /// The most recent token whose secret has this hash.
    fn find_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, ServerError>;
    /// Deletes the token with this id when it belongs to `owner` (any owner with `None`);
    /// true when it was deleted.
    fn delete(&self, id: &str, owner: Option<&str>) -> Result<bool, ServerError>;
    /// The decorators around the back end, innermost first (none for a plain [`Store`]).
    fn layers(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

impl TokenStore for Store {
    fn blocks(&self) -> bool {
        self.is_sqlite()
    }
    fn insert(&self, record: &TokenRecord) -> Result<(), ServerError> {
        Store::insert(self, record)
    }
    fn list(&self, owner: Option<&str>) -> Result<Vec<TokenRecord>, ServerError> {
        Store::list(self, owner)
    }
    fn get(&self, id: &str) -> Result<Option<TokenRecord>, ServerError> {
        Store::get(self, id)
    }
    fn find_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, ServerError> {
        Store::find_by_hash(self, hash)
    }
    fn delete(&self, id: &str, owner: Option<&str>) -> Result<bool, ServerError> {
        Store::delete(self, id, owner).map(|r| r.is_some())
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tokens (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    hash TEXT NOT NULL,
    masked TEXT NOT NULL,
    privileges TEXT NOT NULL,
    user_id TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    expires_on TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_by_hash ON tokens(hash);
CREATE INDEX IF NOT EXISTS tokens_by_user ON tokens(user_id, seq);
";

fn db_error(e: rusqlite::Error) -> ServerError {
    ServerError::Storage(e.to_string())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the data half-written in a way we care
    // about (every write is one map insert or one SQL transaction), so poisoning is ignored.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_ts(text: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
        })
}

fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    let privileges: String = row.get("privileges")?;
    Ok(TokenRecord {
        id: row.get("id")?,
        name: row.get("name")?,
        hash: row.get("hash")?,
        masked: row.get("masked")?,
        privileges: serde_json::from_str(&privileges).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
        })?,
        user_id: row.get("user_id")?,
        organization_id: row.get("organization_id")?,
        created_at: parse_ts(&row.get::<_, String>("created_at")?)?,
        updated_at: parse_ts(&row.get::<_, String>("updated_at")?)?,
        expires_on: parse_ts(&row.get::<_, String>("expires_on")?)?,
    })
}

const COLUMNS: &str = "id, name, hash, masked, privileges, user_id, organization_id, created_at, updated_at, expires_on";

impl Store {
    pub fn memory() -> Store {
        Store::Memory(Mutex::new(Memory::default()))
    }

    /// Opens (creating if needed) a SQLite database in WAL mode with full syncs.
    pub fn sqlite(path: &Path) -> Result<Store, ServerError> {
        let err = |source| ServerError::Database {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        Ok(Store::Sqlite(Mutex::new(conn)))
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Store::Sqlite(_))
    }

    pub fn insert(&self, record: &TokenRecord) -> Result<(), ServerError> {
        match self {
            Store::Memory(m) => {
                let mut m = lock(m);
                let seq = m.next;
                m.next += 1;
                m.by_id.insert(record.id.clone(), seq);
                m.by_hash.insert(record.hash.clone(), seq);
                m.tokens.insert(seq, record.clone());
                Ok(())
            }
            Store::Sqlite(c) => {
                let mut c = lock(c);
                let tx = c.transaction().map_err(db_error)?;
                let privileges = serde_json::to_string(&record.privileges)
                    .map_err(|e| ServerError::Storage(e.to_string()))?;
                tx.execute(
                    &format!("INSERT INTO tokens ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                    params![
                        record.id,
                        record.name,
                        record.hash,
                        record.masked,
                        privileges,
                        record.user_id,
                        record.organization_id,
                        ts(&record.created_at),
                        ts(&record.updated_at),
                        ts(&record.expires_on),
                    ],
                )
                .map_err(db_error)?;
                tx.commit().map_err(db_error)
            }
        }
    }

    /// Tokens oldest first: one owner's, or everyone's with `None`. Expired ones included.
    pub fn list(&self, owner: Option<&str>) -> Result<Vec<TokenRecord>, ServerError> {
        match self {
            Store::Memory(m) => Ok(lock(m)
                .tokens
                .values()
                .filter(|t| owner.is_none_or(|o| t.user_id == o))
                .cloned()
                .collect()),
            Store::Sqlite(c) => {
                let c = lock(c);
                let mut stmt = c
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM tokens WHERE ?1 IS NULL OR user_id = ?1 ORDER BY seq"
                    ))
                    .map_err(db_error)?;
                let rows = stmt
                    .query_map(params![owner], row_to_record)
                    .map_err(db_error)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(db_error)
            }
        }
    }

    pub fn get(&self, id: &str) -> Result<Option<TokenRecord>, ServerError> {
        match self {
            Store::Memory(m) => {
                let m = lock(m);
                Ok(m.by_id.get(id).and_then(|seq| m.tokens.get(seq)).cloned())
            }
            Store::Sqlite(c) => {
                let c = lock(c);
                c.query_row(
                    &format!("SELECT {COLUMNS} FROM tokens WHERE id = ?1"),
                    params![id],
                    row_to_record,
                )
                .optional()
                .map_err(db_error)
            }
        }
    }

    /// The most recent token whose secret has this hash.
    pub fn find_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, ServerError> {
        match self {
            Store::Memory(m) => {
                let m = lock(m);
                Ok(m.by_hash
                    .get(hash)
                    .and_then(|seq| m.tokens.get(seq))
                    .cloned())
            }
            Store::Sqlite(c) => {
                let c = lock(c);
                c.query_row(
                    &format!(
                        "SELECT {COLUMNS} FROM tokens WHERE hash = ?1 ORDER BY seq DESC LIMIT 1"
                    ),
                    params![hash],
                    row_to_record,
                )
                .optional()
                .map_err(db_error)
            }
        }
    }

    /// Deletes the token with this id when it belongs to `owner` (any owner with `None`);
    /// returns what was deleted.
    pub fn delete(
        &self,
        id: &str,
        owner: Option<&str>,
    ) -> Result<Option<TokenRecord>, ServerError> {
        match self {
            Store::Memory(m) => {
                let mut m = lock(m);
                let Some(&seq) = m.by_id.get(id) else {
                    return Ok(None);
                };
                let owned = m
                    .tokens
                    .get(&seq)
                    .is_some_and(|t| owner.is_none_or(|o| t.user_id == o));
                if !owned {
                    return Ok(None);
                }
                m.by_id.remove(id);
                let record = m.tokens.remove(&seq);
                if let Some(r) = &record
                    && m.by_hash.get(&r.hash) == Some(&seq)
                {
                    m.by_hash.remove(&r.hash);
                }
                Ok(record)
            }
            Store::Sqlite(c) => {
                let mut c = lock(c);
                let tx = c.transaction().map_err(db_error)?;
                let record = tx
                    .query_row(
                        &format!(
                            "SELECT {COLUMNS} FROM tokens WHERE id = ?1 AND (?2 IS NULL OR user_id = ?2)"
                        ),
                        params![id, owner],
                        row_to_record,
                    )
                    .optional()
                    .map_err(db_error)?;
                if record.is_some() {
                    tx.execute("DELETE FROM tokens WHERE id = ?1", params![id])
                        .map_err(db_error)?;
                }
                tx.commit().map_err(db_error)?;
                Ok(record)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, user: &str, hash: &str) -> TokenRecord {
        let now = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        TokenRecord {
            id: id.into(),
            name: "n".into(),
            hash: hash.into(),
            masked: "uat_**x".into(),
            privileges: vec!["p".into()],
            user_id: user.into(),
            organization_id: "o".into(),
            created_at: now,
            updated_at: now,
            expires_on: now,
        }
    }

    fn exercise(store: &Store) {
        store.insert(&record("a", "u1", "h1")).unwrap();
        store.insert(&record("b", "u2", "h2")).unwrap();
        store.insert(&record("c", "u1", "h3")).unwrap();
        let ids: Vec<_> = store
            .list(Some("u1"))
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(store.list(None).unwrap().len(), 3);
        assert_eq!(store.find_by_hash("h2").unwrap().unwrap().id, "b");
        assert_eq!(store.get("a").unwrap(), Some(record("a", "u1", "h1")));
        assert!(store.delete("b", Some("u1")).unwrap().is_none());
        assert!(store.delete("b", Some("u2")).unwrap().is_some());
        assert!(store.delete("b", Some("u2")).unwrap().is_none());
        assert!(store.find_by_hash("h2").unwrap().is_none());
    }

    #[test]
    fn memory_store_behaves() {
        exercise(&Store::memory());
    }

    #[test]
    fn sqlite_store_behaves_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        exercise(&Store::sqlite(&path).unwrap());
        let reopened = Store::sqlite(&path).unwrap();
        assert_eq!(reopened.list(None).unwrap().len(), 2);
    }
}
