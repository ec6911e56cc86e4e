//! Passwords, API tokens and session ids.
//!
//! Passwords are hashed with Argon2id (the OWASP recommendation) in PHC
//! string format, so parameters travel with the hash. Tokens and session ids
//! are 256 random bits from the OS; only their SHA-256 is stored, which is
//! enough for secrets that are already high-entropy and lets a lookup be one
//! indexed equality.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};

/// Shortest password accepted: long enough that a real deployment never
/// runs on a guessable one.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Why a password was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("password too short: at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("password is a well-known default; choose another")]
    Default,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Passwords that ship in manuals and demos; never accepted.
const DEFAULTS: [&str; 6] = [
    "admin", "password", "123456", "12345678", "admin123", "wangge",
];

/// Hashes a new password after checking it is acceptable.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    let lower = password.to_lowercase();
    if DEFAULTS
        .iter()
        .any(|d| lower.trim_end_matches(|c: char| c.is_ascii_digit()) == *d)
    {
        return Err(PasswordError::Default);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// True when `password` matches the stored PHC hash; a malformed hash
/// matches nothing.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A new random secret with a readable prefix (`wgt_` tokens, `wgs_`
/// sessions), hex encoded.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let mut s = String::with_capacity(prefix.len() + 64);
    s.push_str(prefix);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// What is stored for a token or session id: its SHA-256, hex encoded.
pub fn secret_digest(secret: &str) -> String {
    let d = Sha256::digest(secret.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A password made for demo users: random, shown once.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn weak_and_default_passwords_are_refused() {
        assert_eq!(hash_password("short"), Err(PasswordError::TooShort));
        assert_eq!(hash_password("password123456"), Err(PasswordError::Default));
        assert_eq!(
            hash_password("Admin1234567890"),
            Err(PasswordError::Default)
        );
    }

    #[test]
    fn secrets_are_random_and_digests_stable() {
        let a = new_secret("wgt_");
        let b = new_secret("wgt_");
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 64);
        assert_eq!(secret_digest(&a), secret_digest(&a));
        assert_ne!(secret_digest(&a), secret_digest(&b));
        assert_eq!(generate_password().len(), 16);
    }
}
