//! Users, organizations, privileges and credentials: from a TOML file, the built-in
//! development fixture, or freshly random for embedded mode.

use crate::error::ServerError;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;

/// The privilege that allows a user to list, create and delete their own tokens.
pub const MANAGE_PRIVILEGE: &str = "me:tokens:manage";

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// The id of one of the fixture's organizations.
    pub organization: String,
    /// The bearer credential (`Authorization: Bearer <credential>`).
    pub credential: String,
    #[serde(default)]
    pub privileges: Vec<String>,
    /// When the credential stops working; in the past means an expired credential.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

impl User {
    pub fn may_manage_tokens(&self) -> bool {
        self.privileges.iter().any(|p| p == MANAGE_PRIVILEGE)
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// The identities the server knows.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Fixtures {
    #[serde(default)]
    pub organizations: Vec<Organization>,
    #[serde(default)]
    pub users: Vec<User>,
}

/// The bearer credentials of the four roles the suite needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// May manage tokens.
    pub user: String,
    /// May manage tokens too, same organization as `user`.
    pub other_user: String,
    /// A valid user without the privilege to manage tokens (403).
    pub forbidden: String,
    /// An expired credential (401).
    pub expired: String,
}

/// The built-in development fixture's organization.
const DEV_ORG: &str = "dev-organization";

fn fixture(users: [(&str, &str, String, bool, bool); 4]) -> Fixtures {
    let expired_at = DateTime::from_timestamp(1_577_836_800, 0); // 2020-01-01T00:00:00Z
    Fixtures {
        organizations: vec![Organization {
            id: DEV_ORG.into(),
            name: "Development Organization".into(),
        }],
        users: users
            .into_iter()
            .map(|(id, name, credential, manage, expired)| User {
                id: id.into(),
                name: name.into(),
                organization: DEV_ORG.into(),
                credential,
                privileges: if manage {
                    vec![MANAGE_PRIVILEGE.into(), "project:read".into()]
                } else {
                    vec!["project:read".into()]
                },
                expires_at: if expired { expired_at } else { None },
            })
            .collect(),
    }
}

impl Fixtures {
    /// Two users who may manage tokens (same organization), one who may not, and one whose
    /// credential has expired, all with fixed, obviously-development credentials.
    pub fn development() -> Fixtures {
        fixture([
            (
                "dev-user-alice",
                "alice",
                "dev-alice-token".into(),
                true,
                false,
            ),
            ("dev-user-bob", "bob", "dev-bob-token".into(), true, false),
            (
                "dev-user-carol",
                "carol",
                "dev-carol-token".into(),
                false,
                false,
            ),
            (
                "dev-user-dave",
                "dave",
                "dev-expired-token".into(),
                true,
                true,
            ),
        ])
    }

    /// The development fixture's shape with fresh random credentials.
    pub fn random() -> Fixtures {
        let credential = |role: &str| format!("rnd-{role}-{}", random_b64(24));
        fixture([
            ("user-alice", "alice", credential("alice"), true, false),
            ("user-bob", "bob", credential("bob"), true, false),
            ("user-carol", "carol", credential("carol"), false, false),
            ("user-dave", "dave", credential("dave"), true, true),
        ])
    }

    /// Reads and checks a TOML fixture file.
    pub fn load(path: &Path) -> Result<Fixtures, ServerError> {
        let text = std::fs::read_to_string(path).map_err(|source| ServerError::FixturesRead {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |message: String| ServerError::FixturesInvalid {
            path: path.to_owned(),
            message,
        };
        let fixtures: Fixtures = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        fixtures.check().map_err(invalid)?;
        Ok(fixtures)
    }

    /// Consistency rules: at least one user, unique ids and credentials, known organizations.
    pub fn check(&self) -> Result<(), String> {
        if self.users.is_empty() {
            return Err("no users".into());
        }
        let orgs: HashSet<&str> = self.organizations.iter().map(|o| o.id.as_str()).collect();
        if orgs.len() != self.organizations.len() {
            return Err("duplicate organization id".into());
        }
        let mut ids = HashSet::new();
        let mut credentials = HashSet::new();
        for user in &self.users {
            if user.id.is_empty() {
                return Err("a user has an empty id".into());
            }
            if !ids.insert(user.id.as_str()) {
                return Err(format!("duplicate user id `{}`", user.id));
            }
            if user.credential.trim().is_empty() || user.credential.contains(char::is_whitespace) {
                return Err(format!(
                    "user `{}` has an empty credential or one with whitespace",
                    user.id
                ));
            }
            if !credentials.insert(user.credential.as_str()) {
                return Err(format!("user `{}` shares a credential", user.id));
            }
            if !orgs.contains(user.organization.as_str()) {
                return Err(format!(
                    "user `{}` names unknown organization `{}`",
                    user.id, user.organization
                ));
            }
        }
        Ok(())
    }

    /// The credentials of the four roles, when the fixture has a user for each.
    pub fn credentials(&self) -> Option<Credentials> {
        let now = Utc::now();
        let managers: Vec<&User> = self
            .users
            .iter()
            .filter(|u| u.may_manage_tokens() && !u.is_expired(now))
            .collect();
        let user = managers.first()?;
        let other_user = managers[1..]
            .iter()
            .find(|u| u.organization == user.organization)
            .or_else(|| managers.get(1))?;
        let forbidden = self
            .users
            .iter()
            .find(|u| !u.may_manage_tokens() && !u.is_expired(now))?;
        let expired = self.users.iter().find(|u| u.is_expired(now))?;
        Some(Credentials {
            user: user.credential.clone(),
            other_user: other_user.credential.clone(),
            forbidden: forbidden.credential.clone(),
            expired: expired.credential.clone(),
        })
    }

    /// The user with this credential.
    pub fn by_credential(&self, credential: &str) -> Option<&User> {
        self.users.iter().find(|u| u.credential == credential)
    }

    pub fn by_id(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }
}

/// `n` random bytes, base64url without padding.
pub(crate) fn random_b64(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::fill(&mut bytes[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_fixture_has_all_roles() {
        let c = Fixtures::development().credentials().unwrap();
        assert_eq!(c.user, "dev-alice-token");
        assert_eq!(c.other_user, "dev-bob-token");
        assert_eq!(c.forbidden, "dev-carol-token");
        assert_eq!(c.expired, "dev-expired-token");
        Fixtures::development().check().unwrap();
    }

    #[test]
    fn random_fixtures_differ() {
        let a = Fixtures::random().credentials().unwrap();
        let b = Fixtures::random().credentials().unwrap();
        assert_ne!(a.user, b.user);
        Fixtures::random().check().unwrap();
    }

    /// The documented example file loads and has the four roles the suite needs.
    #[test]
    fn example_fixture_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures.example.toml");
        let f = Fixtures::load(&path).unwrap();
        let c = f.credentials().expect("all four roles");
        assert_eq!(c.user, "ann-local-credential");
        assert_eq!(c.expired, "dee-expired-credential");
    }

    #[test]
    fn toml_round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.toml");
        std::fs::write(
            &path,
            r#"
[[organizations]]
id = "org"
[[users]]
id = "a"
organization = "org"
credential = "secret-a"
privileges = ["me:tokens:manage"]
[[users]]
id = "b"
organization = "org"
credential = "secret-b"
expires_at = "2001-01-01T00:00:00Z"
"#,
        )
        .unwrap();
        let f = Fixtures::load(&path).unwrap();
        assert_eq!(f.users.len(), 2);
        assert!(f.users[1].is_expired(Utc::now()));
        assert!(f.credentials().is_none());

        std::fs::write(
            &path,
            "[[users]]\nid = \"a\"\norganization = \"x\"\ncredential = \"c\"\n",
        )
        .unwrap();
        let err = Fixtures::load(&path).unwrap_err().to_string();
        assert!(err.contains("unknown organization"), "{err}");
        std::fs::write(&path, "users = 3").unwrap();
        assert!(Fixtures::load(&path).is_err());
    }
}
