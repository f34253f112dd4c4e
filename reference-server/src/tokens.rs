//! Token values: ids, secrets, their hashes and masked forms, and the clock they are stamped
//! with.

use crate::fixtures::random_b64;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// A fresh secret: `uat_` and 32 random bytes in URL-safe base64.
pub(crate) fn fresh_secret() -> String {
    format!("uat_{}", random_b64(32))
}

pub(crate) fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `uat_`, then `*` for all but the last four characters, then those four.
pub(crate) fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    let stars = chars.len().saturating_sub(8);
    format!("uat_{}{tail}", "*".repeat(stars))
}

/// A 24-hex ObjectId: 4 bytes of big-endian seconds, then 8 random bytes.
pub(crate) fn object_id(now: DateTime<Utc>) -> String {
    let seconds = u32::try_from(now.timestamp()).unwrap_or(u32::MAX);
    let mut bytes = [0u8; 12];
    bytes[..4].copy_from_slice(&seconds.to_be_bytes());
    rand::fill(&mut bytes[4..]);
    hex::encode(bytes)
}

/// Now, cut to milliseconds (the precision of the timestamps the server writes).
pub(crate) fn now_ms() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_length_and_last_four() {
        let secret = fresh_secret();
        let masked = mask(&secret);
        assert_eq!(masked.len(), secret.len());
        assert!(masked.starts_with("uat_****"));
        assert_eq!(&masked[masked.len() - 4..], &secret[secret.len() - 4..]);
        assert!(!masked.contains(&secret[4..12]));
    }

    #[test]
    fn object_ids_are_24_hex() {
        let id = object_id(Utc::now());
        assert_eq!(id.len(), 24);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
}
