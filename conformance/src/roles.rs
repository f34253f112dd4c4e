//! The callers a run acts as, and their credentials. Credentials are never printed: the
//! redactor replaces every one of them, and `Debug` says only which are present.

/// The four kinds of caller a scenario can act as. Each maps to one environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A user allowed to manage their own tokens.
    User,
    /// A second such user (isolation scenarios).
    OtherUser,
    /// A valid user without the privilege to manage tokens (expects 403).
    Forbidden,
    /// An expired credential (expects 401).
    Expired,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::User, Role::OtherUser, Role::Forbidden, Role::Expired];

    /// The environment variable that supplies this role's bearer credential.
    pub fn env_var(self) -> &'static str {
        match self {
            Role::User => "ABP_TOKEN",
            Role::OtherUser => "ABP_OTHER_USER_TOKEN",
            Role::Forbidden => "ABP_FORBIDDEN_TOKEN",
            Role::Expired => "ABP_EXPIRED_TOKEN",
        }
    }
}

/// Bearer credentials by role. Never printed: the redactor replaces every one of them.
#[derive(Clone, Default)]
pub struct Credentials {
    pub user: String,
    pub other_user: Option<String>,
    pub forbidden: Option<String>,
    pub expired: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Say which are present, never what they are.
        f.debug_struct("Credentials")
            .field("user", &"<redacted>")
            .field(
                "other_user",
                &self.other_user.as_ref().map(|_| "<redacted>"),
            )
            .field("forbidden", &self.forbidden.as_ref().map(|_| "<redacted>"))
            .field("expired", &self.expired.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Credentials {
    pub fn get(&self, role: Role) -> Option<&str> {
        match role {
            Role::User => Some(self.user.as_str()),
            Role::OtherUser => self.other_user.as_deref(),
            Role::Forbidden => self.forbidden.as_deref(),
            Role::Expired => self.expired.as_deref(),
        }
        .filter(|c| !c.is_empty())
    }

    /// Reads the four variables; empty values count as unset. `ABP_TOKEN` may be missing
    /// here; the caller decides whether that is an error (it is for remote targets).
    pub fn from_env() -> (Option<String>, Credentials) {
        let read = |role: Role| {
            std::env::var(role.env_var())
                .ok()
                .filter(|v| !v.trim().is_empty())
        };
        let user = read(Role::User);
        let creds = Credentials {
            user: user.clone().unwrap_or_default(),
            other_user: read(Role::OtherUser),
            forbidden: read(Role::Forbidden),
            expired: read(Role::Expired),
        };
        (user, creds)
    }
}

/// `bytes` random bytes as lower-case hex (run ids, unknown credentials, unknown token ids).
pub fn random_hex(bytes: usize) -> String {
    use rand::RngExt as _;
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

/// The credential with one character changed (the middle one), so it is close to valid.
pub fn tamper(credential: &str) -> String {
    let mut chars: Vec<char> = credential.chars().collect();
    if chars.is_empty() {
        return "x".into();
    }
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
    chars.into_iter().collect()
}
