//! Personal fields sealed at rest: a household head's name, phone, address
//! and sensitive flags, a person's name and phone are stored encrypted, so
//! a copied GeoPackage or a database dump does not leak them, and the key
//! is kept outside the store.
//!
//! # Layout
//! - [`key`]: the master key, its id, making, reading and writing one;
//! - [`source`]: where a command's key comes from (one rule for all);
//! - this file: [`Sealer`], the cipher of stored values and the blind index
//!   that finds a record by phone without decrypting the others.
//!
//! # Format
//! A sealed value is text: `v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`,
//! XChaCha20-Poly1305 with a random 192-bit nonce per value (random nonces
//! of that size never repeat in practice, so values need no counter) and
//! the version, key id and column as associated data: a value moved to
//! another column, relabelled or altered fails to open instead of reading
//! as something else. Lengths are not hidden (a phone stays about 11
//! characters long). The construction is the draft standard's (HChaCha20
//! subkey, then IETF ChaCha20-Poly1305), run by ring: a test checks it
//! against RustCrypto's XChaCha20-Poly1305 both ways.
//!
//! The blind index of a phone is HMAC-SHA256, under a key derived from the
//! master key, of the phone's digits (`+86`/`0086` dropped), 128 bits in
//! hex: equal phones give equal indexes, and without the key an index says
//! nothing about the phone (a bare hash of an 11-digit phone would fall to
//! brute force in seconds).

pub mod key;
pub mod source;

use base64::Engine;
use ring::aead::{self, Aad, LessSafeKey, UnboundKey, CHACHA20_POLY1305};
use ring::hmac;
use zeroize::Zeroize;

pub use key::{Key, KeyError, KeyId};

/// The prefix of every value sealed in this format.
const V1: &str = "v1:";
const NONCE: usize = 24;
const TAG: usize = 16;

/// The stored columns that hold personal data; the name is bound into each
/// value (associated data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    HouseholdHeadName,
    HouseholdPhone,
    HouseholdAddress,
    HouseholdFlags,
    PersonName,
    PersonPhone,
}

impl Column {
    const ALL: [Column; 6] = [
        Self::HouseholdHeadName,
        Self::HouseholdPhone,
        Self::HouseholdAddress,
        Self::HouseholdFlags,
        Self::PersonName,
        Self::PersonPhone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::HouseholdHeadName => "households.head_name",
            Self::HouseholdPhone => "households.phone",
            Self::HouseholdAddress => "households.address",
            Self::HouseholdFlags => "households.flags",
            Self::PersonName => "people.name",
            Self::PersonPhone => "people.phone",
        }
    }
}

/// Why a stored value did not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("not a sealed value (no {V1} prefix)")]
    NotSealed,
    #[error("malformed sealed value: {0}")]
    Malformed(&'static str),
    #[error("sealed with key {value}, but the key given is {given}")]
    OtherKey { value: String, given: KeyId },
    #[error("failed authentication: the value was altered, moved from another column, or the key is wrong")]
    Tampered,
}

/// Seals and opens stored values with one key, and computes blind indexes.
pub struct Sealer {
    /// The field-cipher key (derived from the master key).
    cipher: [u8; 32],
    index: hmac::Key,
    id: KeyId,
    /// Associated data per column (`v1:<key id>:<column>`), made once.
    aads: [String; 6],
    rng: ring::rand::SystemRandom,
}

impl Drop for Sealer {
    fn drop(&mut self) {
        self.cipher.zeroize();
    }
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer({})", self.id)
    }
}

impl Sealer {
    pub fn new(key: &Key) -> Self {
        let mut ik = key.derive("wangge/v1/phone-index");
        let index = hmac::Key::new(hmac::HMAC_SHA256, &ik);
        ik.zeroize();
        let id = key.id();
        Self {
            cipher: key.derive("wangge/v1/field-cipher"),
            index,
            aads: Column::ALL.map(|c| format!("{V1}{id}:{}", c.as_str())),
            id,
            rng: ring::rand::SystemRandom::new(),
        }
    }

    /// The id of the key, as stores record it.
    pub fn key_id(&self) -> &KeyId {
        &self.id
    }

    /// XChaCha20-Poly1305 as draft-irtf-cfrg-xchacha builds it: HChaCha20
    /// of the key and the nonce's first 16 bytes is the key of an IETF
    /// ChaCha20-Poly1305 whose nonce is four zero bytes and the last 8.
    fn aead(&self, nonce: &[u8; NONCE]) -> (LessSafeKey, aead::Nonce) {
        let head: [u8; 16] = nonce[..16].try_into().expect("16 of 24 bytes");
        let mut sub: [u8; 32] =
            chacha20::hchacha::<chacha20::R20>(&self.cipher.into(), &head.into()).into();
        let key = LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, &sub).expect("a 32-byte ChaCha20 key"),
        );
        sub.zeroize();
        let mut inner = [0u8; 12];
        inner[4..].copy_from_slice(&nonce[16..]);
        (key, aead::Nonce::assume_unique_for_key(inner))
    }

    fn aad(&self, column: Column) -> &str {
        &self.aads[column as usize]
    }

    /// Encrypts `plain` for `column`.
    pub fn seal(&self, column: Column, plain: &str) -> String {
        let mut nonce = [0u8; NONCE];
        ring::rand::SecureRandom::fill(&self.rng, &mut nonce)
            .expect("the system random source works");
        let aad = self.aad(column);
        let (key, inner) = self.aead(&nonce);
        let mut raw = Vec::with_capacity(NONCE + plain.len() + TAG);
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(plain.as_bytes());
        let tag = key
            .seal_in_place_separate_tag(inner, Aad::from(aad.as_bytes()), &mut raw[NONCE..])
            .expect("ChaCha20-Poly1305 seals any length we store");
        raw.extend_from_slice(tag.as_ref());
        // `v1:<key id>:`, the associated data without its column.
        let mut out = aad[..=V1.len() + self.id.as_str().len()].to_string();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(raw, &mut out);
        out
    }

    /// Decrypts a value sealed for `column` with this key.
    pub fn open(&self, column: Column, sealed: &str) -> Result<String, SealError> {
        let rest = sealed.strip_prefix(V1).ok_or(SealError::NotSealed)?;
        let (kid, body) = rest
            .split_once(':')
            .ok_or(SealError::Malformed("no key id"))?;
        if kid != self.id.as_str() {
            return Err(SealError::OtherKey {
                value: kid.chars().take(16).collect(),
                given: self.id.clone(),
            });
        }
        let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SealError::Malformed("not base64"))?;
        if raw.len() < NONCE + TAG {
            return Err(SealError::Malformed("too short"));
        }
        let nonce: [u8; NONCE] = raw[..NONCE].try_into().expect("checked length");
        let (key, inner) = self.aead(&nonce);
        let aad = self.aad(column);
        let n = key
            .open_in_place(inner, Aad::from(aad.as_bytes()), &mut raw[NONCE..])
            .map_err(|_| SealError::Tampered)?
            .len();
        raw.truncate(NONCE + n);
        raw.drain(..NONCE);
        String::from_utf8(raw).map_err(|_| SealError::Malformed("not UTF-8"))
    }

    /// Sensitive flags are bits; sealed as their decimal text.
    pub fn seal_flags(&self, bits: u16) -> String {
        self.seal(Column::HouseholdFlags, &bits.to_string())
    }

    pub fn open_flags(&self, sealed: &str) -> Result<u16, SealError> {
        self.open(Column::HouseholdFlags, sealed)?
            .parse()
            .map_err(|_| SealError::Malformed("flags are not a number"))
    }

    /// The blind index of a phone; `None` for a phone without digits
    /// (nothing to find it by).
    pub fn phone_index(&self, phone: &str) -> Option<String> {
        let digits = normalise_phone(phone)?;
        let tag = hmac::sign(&self.index, digits.as_bytes());
        Some(key::hex(&tag.as_ref()[..16]))
    }
}

/// Whether a stored value is in a sealed format (a store written before
/// sealing holds plain text).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(V1)
}

/// A phone as it is indexed: its digits, without a +86/0086 country code
/// in front of an 11-digit mobile number. `None` when it has no digits.
pub fn normalise_phone(phone: &str) -> Option<String> {
    let d: String = phone.chars().filter(char::is_ascii_digit).collect();
    let d = match d.as_str() {
        s if s.len() == 15 && s.starts_with("00861") => s[4..].to_string(),
        s if s.len() == 13 && s.starts_with("861") => s[2..].to_string(),
        _ => d,
    };
    (!d.is_empty()).then_some(d)
}

#[cfg(test)]
mod test {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::new(&Key::generate().unwrap())
    }

    #[test]
    fn values_round_trip_and_each_sealing_differs() {
        let s = sealer();
        for v in ["13812345678", "张三", "兴安路12号3栋501", ""] {
            let a = s.seal(Column::HouseholdPhone, v);
            let b = s.seal(Column::HouseholdPhone, v);
            assert_ne!(a, b, "a random nonce per value");
            assert!(is_sealed(&a));
            assert!(a.starts_with(&format!("v1:{}:", s.key_id())), "{a}");
            assert!(!v.is_empty() && !a.contains(v) || v.is_empty());
            assert_eq!(s.open(Column::HouseholdPhone, &a).unwrap(), v);
        }
        assert_eq!(s.open_flags(&s.seal_flags(0b10_0011)).unwrap(), 0b10_0011);
    }

    #[test]
    fn an_altered_value_fails_authentication() {
        let s = sealer();
        let v = s.seal(Column::PersonName, "李四");
        // Flip one bit of every byte position of the body in turn.
        let (head, body) = v.rsplit_once(':').unwrap();
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .unwrap();
        for i in 0..raw.len() {
            let mut r = raw.clone();
            r[i] ^= 1;
            let t = format!(
                "{head}:{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&r)
            );
            assert_eq!(s.open(Column::PersonName, &t), Err(SealError::Tampered));
        }
        let cut = &v[..v.len() - 4];
        assert!(s.open(Column::PersonName, cut).is_err());
        assert_eq!(
            s.open(Column::PersonName, "v1:abc"),
            Err(SealError::Malformed("no key id"))
        );
        assert_eq!(
            s.open(Column::PersonName, "李四"),
            Err(SealError::NotSealed)
        );
    }

    /// Our construction is XChaCha20-Poly1305 itself: RustCrypto's
    /// implementation opens what we seal and we open what it seals.
    #[test]
    fn the_format_is_standard_xchacha20_poly1305() {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        use chacha20poly1305::{XChaCha20Poly1305, XNonce};
        let key = Key::generate().unwrap();
        let s = Sealer::new(&key);
        let reference = XChaCha20Poly1305::new(&key.derive("wangge/v1/field-cipher").into());
        let aad = s.aad(Column::HouseholdAddress);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        for plain in ["", "兴安路12号3栋501", &"长".repeat(200)] {
            let sealed = s.seal(Column::HouseholdAddress, plain);
            let raw = b64.decode(sealed.rsplit_once(':').unwrap().1).unwrap();
            let nonce: [u8; 24] = raw[..24].try_into().unwrap();
            let opened = reference
                .decrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: &raw[24..],
                        aad: aad.as_bytes(),
                    },
                )
                .unwrap();
            assert_eq!(opened, plain.as_bytes());
            let theirs = reference
                .encrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: plain.as_bytes(),
                        aad: aad.as_bytes(),
                    },
                )
                .unwrap();
            let mut body = nonce.to_vec();
            body.extend_from_slice(&theirs);
            let text = format!("v1:{}:{}", s.key_id(), b64.encode(body));
            assert_eq!(s.open(Column::HouseholdAddress, &text).unwrap(), plain);
        }
    }

    #[test]
    fn a_value_moved_to_another_column_does_not_open() {
        let s = sealer();
        let v = s.seal(Column::HouseholdPhone, "13812345678");
        assert_eq!(s.open(Column::PersonPhone, &v), Err(SealError::Tampered));
    }

    #[test]
    fn a_wrong_key_is_named_not_garbage() {
        let (a, b) = (sealer(), sealer());
        let v = a.seal(Column::HouseholdAddress, "兴安路12号");
        match b.open(Column::HouseholdAddress, &v) {
            Err(SealError::OtherKey { value, given }) => {
                assert_eq!(value, a.key_id().as_str());
                assert_eq!(&given, b.key_id());
            }
            other => panic!("{other:?}"),
        }
        // Relabelled with the other key's id, it still fails: the id is
        // bound into the tag.
        let relabelled = v.replacen(a.key_id().as_str(), b.key_id().as_str(), 1);
        assert_eq!(
            b.open(Column::HouseholdAddress, &relabelled),
            Err(SealError::Tampered)
        );
    }

    #[test]
    fn the_blind_index_is_keyed_and_ignores_formatting() {
        let (a, b) = (sealer(), sealer());
        let i = a.phone_index("138-1234-5678").unwrap();
        assert_eq!(a.phone_index("+86 138 1234 5678").unwrap(), i);
        assert_eq!(a.phone_index("008613812345678").unwrap(), i);
        assert_eq!(i.len(), 32);
        assert_ne!(a.phone_index("13812345679").unwrap(), i);
        assert_ne!(b.phone_index("13812345678").unwrap(), i);
        assert!(!i.contains("13812345678"));
        assert_eq!(a.phone_index("无"), None);
        assert_eq!(normalise_phone("0915-1234567").unwrap(), "09151234567");
    }
}
