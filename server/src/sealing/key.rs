//! The master key: 32 random bytes kept outside the store, written as
//! base64 (or hex) text, and its id, a fingerprint that stores record so a
//! wrong key is named instead of producing garbage.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use ring::hmac;

/// Problems reading, parsing or writing a key, with where.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key {origin}: {reason}")]
    Bad { origin: String, reason: String },
    #[error("key file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("{0}")]
    Setup(String),
}

/// A 256-bit master key. Its bytes never leave this module except through
/// `Key::derive`; `Debug` shows the id only, and the bytes are wiped on drop.
pub struct Key([u8; 32]);

/// A key's fingerprint: 8 hex digits of a keyed digest of a fixed label,
/// so it tells keys apart without saying anything about them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An id read back from a store or a sealed value; `None` when it is
    /// not 8 lower-case hex digits.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 8 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(s.to_string()))
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.id())
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl Key {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Self, KeyError> {
        let mut bytes = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
            .map_err(|_| KeyError::Setup("the system random source failed".into()))?;
        Ok(Self(bytes))
    }

    /// Parses key text: base64 (standard or URL alphabet, padded or not)
    /// or hex of exactly 32 bytes; surrounding white space is ignored.
    /// `origin` names where the text came from, for the error.
    pub fn parse(text: &str, origin: &str) -> Result<Self, KeyError> {
        let t = text.trim();
        let bad = |reason: String| KeyError::Bad {
            origin: origin.to_string(),
            reason,
        };
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|e| bad(e.to_string()))?
        } else {
            let cleaned: String = t.trim_end_matches('=').replace('-', "+").replace('_', "/");
            base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(cleaned)
                .map_err(|_| {
                    bad(format!(
                        "not base64 or hex ({} characters); a key is 32 bytes written as \
                         base64 (44 characters) or hex (64); make one with `wangge key new`",
                        t.chars().count()
                    ))
                })?
        };
        let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            bad(format!(
                "{} bytes; a key is 32 bytes (base64 or hex); make one with `wangge key new`",
                bytes.len()
            ))
        })?;
        Ok(Self(arr))
    }

    /// Reads a key file.
    pub fn read(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        warn_if_readable_by_others(path);
        Self::parse(&text, &path.display().to_string())
    }

    /// The key as it is written to a file: base64 and a newline.
    pub fn to_text(&self) -> String {
        let mut s = base64::engine::general_purpose::STANDARD.encode(self.0);
        s.push('\n');
        s
    }

    /// Writes the key to a new file readable by its owner only (0600 on
    /// Unix); an existing file is never overwritten.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyError> {
        let err = |reason: String| KeyError::File {
            path: path.display().to_string(),
            reason,
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                err("exists already; a key file is never overwritten".into())
            } else {
                err(e.to_string())
            }
        })?;
        f.write_all(self.to_text().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| err(e.to_string()))
    }

    /// A subkey for one purpose: HMAC-SHA256 of the master key over a
    /// label (HKDF's expand step with one block), so the cipher key, the
    /// blind-index key and the id are independent.
    pub(crate) fn derive(&self, label: &str) -> [u8; 32] {
        let k = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let tag = hmac::sign(&k, label.as_bytes());
        tag.as_ref().try_into().expect("SHA-256 is 32 bytes")
    }

    pub fn id(&self) -> KeyId {
        let d = self.derive("wangge/v1/key-id");
        KeyId(hex(&d[..4]))
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A key readable by others is a leak waiting to happen: say so, once.
fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path) {
            if m.permissions().mode() & 0o077 != 0 {
                super::source::announce(&format!(
                    "key file {} can be read by other users (mode {:o}); chmod 600 it",
                    path.display(),
                    m.permissions().mode() & 0o777
                ));
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn base64_and_hex_of_the_same_bytes_are_the_same_key() {
        let k = Key::generate().unwrap();
        let a = Key::parse(&k.to_text(), "test").unwrap();
        let b = Key::parse(&format!("  {}\n", hex(&k.0)), "test").unwrap();
        assert_eq!(a.0, k.0);
        assert_eq!(b.0, k.0);
        assert_eq!(a.id(), k.id());
    }

    #[test]
    fn short_long_and_garbage_keys_are_refused_with_their_origin() {
        let e = Key::parse("c2hvcnQ=", "WANGGE_KEY")
            .unwrap_err()
            .to_string();
        assert!(e.contains("WANGGE_KEY") && e.contains("5 bytes"), "{e}");
        let e = Key::parse("not a key!", "f").unwrap_err().to_string();
        assert!(e.contains("not base64 or hex"), "{e}");
        assert!(Key::parse(&"ab".repeat(33), "f").is_err());
    }

    #[test]
    fn ids_differ_between_keys_and_look_like_ids() {
        let (a, b) = (Key::generate().unwrap(), Key::generate().unwrap());
        assert_ne!(a.id(), b.id());
        assert!(KeyId::parse(a.id().as_str()).is_some());
        assert!(!format!("{a:?}").contains(&a.to_text().trim().to_string()));
    }

    #[test]
    fn a_key_file_is_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        let k = Key::generate().unwrap();
        k.write_new(&p).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let e = Key::generate().unwrap().write_new(&p).unwrap_err();
        assert!(e.to_string().contains("never overwritten"), "{e}");
        assert_eq!(Key::read(&p).unwrap().id(), k.id());
    }
}
