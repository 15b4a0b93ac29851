//! Encryption at rest with AES-256-GCM: data keys with ids, sealed values and their storage
//! layout, and a keyring for key rotation.
//!
//! Every value gets a fresh random 96-bit nonce. With random nonces NIST SP 800-38D allows at
//! most 2^32 encryptions per key, far beyond what one office's records need between rotations.

use std::fmt;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Generate, KeyInit, Nonce, Payload};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use thiserror::Error;

/// Length of an AES-256 key in bytes.
pub const KEY_LEN: usize = 32;
/// Length of the AES-GCM nonce in bytes (96 bits).
pub const NONCE_LEN: usize = 12;
/// Length of the AES-GCM authentication tag, which ends every ciphertext.
pub const TAG_LEN: usize = 16;
/// Longest key id accepted. Ids are stored with every value, so they should be short.
pub const MAX_KEY_ID_LEN: usize = 32;
/// Version byte at the start of [`Sealed::to_bytes`].
pub const FORMAT_VERSION: u8 = 1;

/// An AES-256-GCM key with the id under which it is stored alongside each value it seals.
///
/// `Debug` shows only the id, never key material.
#[derive(Clone)]
pub struct DataKey {
    id: String,
    material: [u8; KEY_LEN],
    cipher: Aes256Gcm,
}

/// A value encrypted by a [`DataKey`]: which key, the nonce, and the ciphertext with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub nonce: [u8; NONCE_LEN],
    /// The encrypted value followed by the 16-byte authentication tag.
    pub ciphertext: Vec<u8>,
}

/// The current key, used for sealing, plus older keys kept so existing values can still be opened.
#[derive(Clone)]
pub struct Keyring {
    current: DataKey,
    previous: Vec<DataKey>,
}

/// Why a key could not be made or added to a keyring.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error(
        "a key id must be 1 to {MAX_KEY_ID_LEN} characters from A-Z, a-z, 0-9, '-', '_' and '.'"
    )]
    InvalidKeyId,
    #[error("the key is not valid base64")]
    InvalidBase64,
    #[error("an AES-256 key is {KEY_LEN} bytes, but {found} bytes were given")]
    WrongLength { found: usize },
    #[error("the keyring already has a key with id {key_id:?}")]
    DuplicateKeyId { key_id: String },
    #[error("the operating system's random number generator failed")]
    RandomUnavailable,
}

/// Why a value could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CryptoError {
    #[error("no key with id {key_id:?} is available to open this value")]
    UnknownKey { key_id: String },
    #[error("the value was sealed with key {sealed_with:?}, not with key {key_id:?}")]
    KeyMismatch { sealed_with: String, key_id: String },
    #[error(
        "the value could not be authenticated: wrong key, wrong associated data, or altered data"
    )]
    AuthenticationFailed,
    #[error("the value or associated data is too long for AES-GCM")]
    TooLong,
    #[error("the operating system's random number generator failed")]
    RandomUnavailable,
}

/// Why bytes are not a sealed value in the storage layout, or a value cannot be written in it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormatError {
    #[error("the sealed value ends before its key id and nonce are complete")]
    Truncated,
    #[error("the sealed value uses format version {0}, but only version {FORMAT_VERSION} is known")]
    UnsupportedVersion(u8),
    #[error(
        "the sealed value's key id is not 1 to {MAX_KEY_ID_LEN} characters from A-Z, a-z, 0-9, '-', '_' and '.'"
    )]
    InvalidKeyId,
    #[error("the ciphertext is shorter than its {TAG_LEN}-byte authentication tag")]
    CiphertextTooShort,
}

/// Key ids are restricted to a short ASCII alphabet so they fit the one-byte length in the
/// storage layout and are safe to show in logs and error messages.
fn is_valid_key_id(id: &str) -> bool {
    (1..=MAX_KEY_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl DataKey {
    /// A key from 32 raw bytes.
    pub fn from_bytes(id: &str, material: [u8; KEY_LEN]) -> Result<DataKey, KeyError> {
        if !is_valid_key_id(id) {
            return Err(KeyError::InvalidKeyId);
        }
        Ok(DataKey {
            id: id.to_owned(),
            material,
            cipher: Aes256Gcm::new(&material.into()),
        })
    }

    /// A key from standard base64 (with padding) of 32 bytes, as kept in configuration or a
    /// secret store. Surrounding whitespace, such as a trailing newline, is ignored.
    pub fn from_base64(id: &str, encoded: &str) -> Result<DataKey, KeyError> {
        // The decode error is dropped because it quotes the offending input, i.e. key material.
        let decoded = BASE64
            .decode(encoded.trim())
            .map_err(|_| KeyError::InvalidBase64)?;
        let material =
            <[u8; KEY_LEN]>::try_from(decoded.as_slice()).map_err(|_| KeyError::WrongLength {
                found: decoded.len(),
            })?;
        Self::from_bytes(id, material)
    }

    /// A new random key from the operating system's random number generator, for tests and
    /// key-generation tools.
    pub fn generate(id: &str) -> Result<DataKey, KeyError> {
        let material = <[u8; KEY_LEN]>::try_generate().map_err(|_| KeyError::RandomUnavailable)?;
        Self::from_bytes(id, material)
    }

    /// The key's id, stored with every value it seals.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The raw key material, for deriving other keys inside this crate.
    pub(crate) fn material(&self) -> &[u8; KEY_LEN] {
        &self.material
    }

    /// The key material as standard base64, the format [`DataKey::from_base64`] reads.
    ///
    /// Named so that calls stand out in review: only key-generation tools should need it.
    pub fn export_base64(&self) -> String {
        BASE64.encode(self.material)
    }

    /// Encrypts `plaintext` under a fresh random nonce, authenticating `associated_data` too.
    ///
    /// The associated data is not stored; the same bytes must be given to [`DataKey::open`].
    /// Binding a value to its row (e.g. the inquiry id) stops it being copied to another row.
    pub fn seal(&self, plaintext: &[u8], associated_data: &[u8]) -> Result<Sealed, CryptoError> {
        let nonce =
            <[u8; NONCE_LEN]>::try_generate().map_err(|_| CryptoError::RandomUnavailable)?;
        let payload = Payload {
            msg: plaintext,
            aad: associated_data,
        };
        // AES-GCM refuses only inputs of 64 GiB and more.
        let ciphertext = self
            .cipher
            .encrypt(&Nonce::<Aes256Gcm>::from(nonce), payload)
            .map_err(|_| CryptoError::TooLong)?;
        Ok(Sealed {
            key_id: self.id.clone(),
            nonce,
            ciphertext,
        })
    }

    /// Decrypts a value sealed by this key with the same associated data.
    pub fn open(&self, sealed: &Sealed, associated_data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        // Checked first to give a precise error; a wrong key would fail authentication anyway.
        if sealed.key_id != self.id {
            return Err(CryptoError::KeyMismatch {
                sealed_with: sealed.key_id.clone(),
                key_id: self.id.clone(),
            });
        }
        let payload = Payload {
            msg: &sealed.ciphertext,
            aad: associated_data,
        };
        self.cipher
            .decrypt(&Nonce::<Aes256Gcm>::from(sealed.nonce), payload)
            .map_err(|_| CryptoError::AuthenticationFailed)
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Sealed {
    /// The storage layout, e.g. for a `bytea` column:
    ///
    /// | bytes      | content                                    |
    /// |------------|--------------------------------------------|
    /// | 1          | format version, [`FORMAT_VERSION`]         |
    /// | 1          | key id length *n* (1 to 32)                |
    /// | *n*        | key id, ASCII                              |
    /// | 12         | nonce                                      |
    /// | the rest   | ciphertext followed by the 16-byte tag     |
    ///
    /// Fails only for a hand-built value whose key id or ciphertext could not have come from
    /// [`DataKey::seal`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, FormatError> {
        if !is_valid_key_id(&self.key_id) {
            return Err(FormatError::InvalidKeyId);
        }
        if self.ciphertext.len() < TAG_LEN {
            return Err(FormatError::CiphertextTooShort);
        }
        let key_id_len = u8::try_from(self.key_id.len()).map_err(|_| FormatError::InvalidKeyId)?;
        let mut bytes =
            Vec::with_capacity(2 + self.key_id.len() + NONCE_LEN + self.ciphertext.len());
        bytes.push(FORMAT_VERSION);
        bytes.push(key_id_len);
        bytes.extend_from_slice(self.key_id.as_bytes());
        bytes.extend_from_slice(&self.nonce);
        bytes.extend_from_slice(&self.ciphertext);
        Ok(bytes)
    }

    /// Reads the layout written by [`Sealed::to_bytes`]. Any malformed input is an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<Sealed, FormatError> {
        let (&version, rest) = bytes.split_first().ok_or(FormatError::Truncated)?;
        if version != FORMAT_VERSION {
            return Err(FormatError::UnsupportedVersion(version));
        }
        let (&key_id_len, rest) = rest.split_first().ok_or(FormatError::Truncated)?;
        let (key_id, rest) = rest
            .split_at_checked(usize::from(key_id_len))
            .ok_or(FormatError::Truncated)?;
        let key_id = std::str::from_utf8(key_id)
            .ok()
            .filter(|key_id| is_valid_key_id(key_id))
            .ok_or(FormatError::InvalidKeyId)?;
        let (nonce, ciphertext) = rest
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(FormatError::Truncated)?;
        if ciphertext.len() < TAG_LEN {
            return Err(FormatError::CiphertextTooShort);
        }
        Ok(Sealed {
            key_id: key_id.to_owned(),
            nonce: *nonce,
            ciphertext: ciphertext.to_vec(),
        })
    }
}

impl Keyring {
    /// A keyring that seals and opens with `current` only.
    pub fn new(current: DataKey) -> Keyring {
        Keyring {
            current,
            previous: Vec::new(),
        }
    }

    /// Adds an older key, used only to open values sealed with it.
    pub fn with_previous(mut self, key: DataKey) -> Result<Keyring, KeyError> {
        if self.key(key.id()).is_some() {
            return Err(KeyError::DuplicateKeyId {
                key_id: key.id.clone(),
            });
        }
        self.previous.push(key);
        Ok(self)
    }

    /// The key new values are sealed with.
    pub fn current(&self) -> &DataKey {
        &self.current
    }

    /// The key with the given id, current or previous.
    pub fn key(&self, id: &str) -> Option<&DataKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id == id)
    }

    /// Every key, the current one first.
    pub fn keys(&self) -> impl Iterator<Item = &DataKey> {
        std::iter::once(&self.current).chain(&self.previous)
    }

    /// Seals with the current key.
    pub fn seal(&self, plaintext: &[u8], associated_data: &[u8]) -> Result<Sealed, CryptoError> {
        self.current.seal(plaintext, associated_data)
    }

    /// Opens with whichever key the value names.
    pub fn open(&self, sealed: &Sealed, associated_data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = self
            .key(&sealed.key_id)
            .ok_or_else(|| CryptoError::UnknownKey {
                key_id: sealed.key_id.clone(),
            })?;
        key.open(sealed, associated_data)
    }

    /// Whether a value was sealed with an older key, so that re-sealing it would let that key be
    /// retired.
    pub fn needs_reseal(&self, sealed: &Sealed) -> bool {
        sealed.key_id != self.current.id
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let previous: Vec<&str> = self.previous.iter().map(DataKey::id).collect();
        f.debug_struct("Keyring")
            .field("current", &self.current.id)
            .field("previous", &previous)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(id: &str, byte: u8) -> DataKey {
        DataKey::from_bytes(id, [byte; KEY_LEN]).expect("valid test key")
    }

    fn decode_hex(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn a_sealed_value_opens_to_the_plaintext() {
        let key = key("k1", 1);
        let sealed = key.seal(b"0101901234", b"inquiry-1").expect("seal");
        assert_eq!(sealed.key_id, "k1");
        assert_eq!(sealed.ciphertext.len(), 10 + TAG_LEN);
        assert_eq!(
            key.open(&sealed, b"inquiry-1").expect("open"),
            b"0101901234"
        );
    }

    #[test]
    fn an_empty_plaintext_and_empty_associated_data_round_trip() {
        let key = key("k1", 1);
        let sealed = key.seal(b"", b"").expect("seal");
        assert_eq!(key.open(&sealed, b"").expect("open"), b"");
    }

    #[test]
    fn sealing_the_same_value_twice_uses_different_nonces() {
        let key = key("k1", 1);
        let first = key.seal(b"0101901234", b"").expect("seal");
        let second = key.seal(b"0101901234", b"").expect("seal");
        assert_ne!(first.nonce, second.nonce);
        assert_ne!(first.ciphertext, second.ciphertext);
    }

    #[test]
    fn the_ciphertext_does_not_contain_the_plaintext() {
        let sealed = key("k1", 1).seal(b"0101901234", b"").expect("seal");
        assert!(!sealed.ciphertext.windows(10).any(|w| w == b"0101901234"));
    }

    #[test]
    fn it_is_aes_256_gcm_as_in_the_published_test_vectors() {
        // Test case 14 of McGrew and Viega, "The Galois/Counter Mode of Operation":
        // zero key, zero nonce, 16 zero bytes of plaintext, no associated data.
        let key = key("nist", 0);
        let sealed = Sealed {
            key_id: "nist".to_owned(),
            nonce: [0; NONCE_LEN],
            ciphertext: decode_hex(
                "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919",
            ),
        };
        assert_eq!(key.open(&sealed, b"").expect("open"), [0; 16]);
    }

    #[test]
    fn altering_any_byte_of_the_ciphertext_or_nonce_fails_authentication() {
        let key = key("k1", 1);
        let sealed = key.seal(b"0101901234", b"inquiry-1").expect("seal");
        for at in 0..sealed.ciphertext.len() {
            let mut tampered = sealed.clone();
            tampered.ciphertext[at] ^= 0x01;
            assert_eq!(
                key.open(&tampered, b"inquiry-1"),
                Err(CryptoError::AuthenticationFailed)
            );
        }
        for at in 0..NONCE_LEN {
            let mut tampered = sealed.clone();
            tampered.nonce[at] ^= 0x80;
            assert_eq!(
                key.open(&tampered, b"inquiry-1"),
                Err(CryptoError::AuthenticationFailed)
            );
        }
        let mut shortened = sealed.clone();
        shortened.ciphertext.pop();
        assert_eq!(
            key.open(&shortened, b"inquiry-1"),
            Err(CryptoError::AuthenticationFailed)
        );
    }

    #[test]
    fn a_value_moved_to_another_row_does_not_open() {
        let key = key("k1", 1);
        let sealed = key.seal(b"0101901234", b"inquiry-1").expect("seal");
        assert_eq!(
            key.open(&sealed, b"inquiry-2"),
            Err(CryptoError::AuthenticationFailed)
        );
        assert_eq!(
            key.open(&sealed, b""),
            Err(CryptoError::AuthenticationFailed)
        );
    }

    #[test]
    fn a_different_key_with_the_same_id_fails_authentication() {
        let sealed = key("k1", 1).seal(b"0101901234", b"").expect("seal");
        assert_eq!(
            key("k1", 2).open(&sealed, b""),
            Err(CryptoError::AuthenticationFailed)
        );
    }

    #[test]
    fn a_key_with_another_id_refuses_the_value() {
        let sealed = key("k1", 1).seal(b"0101901234", b"").expect("seal");
        assert_eq!(
            key("k2", 1).open(&sealed, b""),
            Err(CryptoError::KeyMismatch {
                sealed_with: "k1".to_owned(),
                key_id: "k2".to_owned()
            })
        );
    }

    #[test]
    fn after_rotation_new_values_use_the_new_key_and_old_values_still_open() {
        let before = Keyring::new(key("k1", 1));
        let old_value = before.seal(b"old", b"row-1").expect("seal");

        let after = Keyring::new(key("k2", 2))
            .with_previous(key("k1", 1))
            .expect("distinct ids");
        let new_value = after.seal(b"new", b"row-2").expect("seal");

        assert_eq!(new_value.key_id, "k2");
        assert_eq!(after.current().id(), "k2");
        assert_eq!(after.open(&old_value, b"row-1").expect("open"), b"old");
        assert_eq!(after.open(&new_value, b"row-2").expect("open"), b"new");
        assert!(after.needs_reseal(&old_value));
        assert!(!after.needs_reseal(&new_value));
        // The old keyring has never seen k2.
        assert_eq!(
            before.open(&new_value, b"row-2"),
            Err(CryptoError::UnknownKey {
                key_id: "k2".to_owned()
            })
        );
    }

    #[test]
    fn a_keyring_refuses_two_keys_with_the_same_id() {
        let result = Keyring::new(key("k1", 1)).with_previous(key("k1", 2));
        assert_eq!(
            result.map(|_| ()),
            Err(KeyError::DuplicateKeyId {
                key_id: "k1".to_owned()
            })
        );
    }

    #[test]
    fn a_key_round_trips_through_base64() {
        let generated = DataKey::generate("k1").expect("random");
        let exported = generated.export_base64();
        let imported = DataKey::from_base64("k1", &format!("{exported}\n")).expect("valid");
        let sealed = generated.seal(b"value", b"").expect("seal");
        assert_eq!(imported.open(&sealed, b"").expect("open"), b"value");
    }

    #[test]
    fn generated_keys_differ() {
        let first = DataKey::generate("k1").expect("random");
        let second = DataKey::generate("k1").expect("random");
        assert_ne!(first.export_base64(), second.export_base64());
    }

    #[test]
    fn invalid_base64_or_a_wrong_key_length_is_rejected() {
        assert_eq!(
            DataKey::from_base64("k1", "not base64!").map(|_| ()),
            Err(KeyError::InvalidBase64)
        );
        assert_eq!(
            DataKey::from_base64("k1", &BASE64.encode([0u8; 16])).map(|_| ()),
            Err(KeyError::WrongLength { found: 16 })
        );
        assert_eq!(
            DataKey::from_base64("k1", "").map(|_| ()),
            Err(KeyError::WrongLength { found: 0 })
        );
    }

    #[test]
    fn key_ids_must_be_short_and_plain() {
        for id in ["k1", "2026-11.prod_A", &"x".repeat(MAX_KEY_ID_LEN)] {
            assert!(DataKey::from_bytes(id, [0; KEY_LEN]).is_ok(), "{id}");
        }
        for id in ["", "k 1", "nøgle", "k1\n", &"x".repeat(MAX_KEY_ID_LEN + 1)] {
            assert_eq!(
                DataKey::from_bytes(id, [0; KEY_LEN]).map(|_| ()),
                Err(KeyError::InvalidKeyId),
                "{id:?}"
            );
        }
    }

    #[test]
    fn debug_output_never_contains_key_material() {
        let key = DataKey::from_bytes("k1", [0xAB; KEY_LEN]).expect("valid");
        let keyring = Keyring::new(key.clone())
            .with_previous(DataKey::from_bytes("k0", [0xCD; KEY_LEN]).expect("valid"))
            .expect("distinct ids");
        let debug = format!("{key:?} {key:#?} {keyring:?} {keyring:#?}");
        assert!(debug.contains("k1") && debug.contains("k0"));
        for secret in [key.export_base64(), "171".to_owned(), "abab".to_owned()] {
            assert!(!debug.to_lowercase().contains(&secret), "{debug}");
        }
        assert_eq!(format!("{key:?}"), r#"DataKey { id: "k1", .. }"#);
        assert_eq!(
            format!("{keyring:?}"),
            r#"Keyring { current: "k1", previous: ["k0"] }"#
        );
    }

    #[test]
    fn sealed_bytes_follow_the_documented_layout_and_round_trip() {
        let sealed = Sealed {
            key_id: "k1".to_owned(),
            nonce: [9; NONCE_LEN],
            ciphertext: vec![7; TAG_LEN + 3],
        };
        let bytes = sealed.to_bytes().expect("valid");
        assert_eq!(bytes[..4], [FORMAT_VERSION, 2, b'k', b'1']);
        assert_eq!(bytes[4..16], [9; NONCE_LEN]);
        assert_eq!(bytes[16..], [7; TAG_LEN + 3]);
        assert_eq!(Sealed::from_bytes(&bytes), Ok(sealed));
    }

    #[test]
    fn a_stored_value_opens_after_a_trip_through_bytes() {
        let keyring = Keyring::new(key("k1", 1));
        let bytes = keyring
            .seal(b"0101901234", b"inquiry-1")
            .expect("seal")
            .to_bytes()
            .expect("valid");
        let sealed = Sealed::from_bytes(&bytes).expect("valid");
        assert_eq!(
            keyring.open(&sealed, b"inquiry-1").expect("open"),
            b"0101901234"
        );
    }

    #[test]
    fn every_truncation_of_a_stored_value_is_an_error() {
        let bytes = key("k1", 1)
            .seal(b"0101901234", b"")
            .expect("seal")
            .to_bytes()
            .expect("valid");
        let header = 2 + 2 + NONCE_LEN;
        for len in 0..bytes.len() {
            let expected = if len < header {
                FormatError::Truncated
            } else if len < header + TAG_LEN {
                FormatError::CiphertextTooShort
            } else {
                // Long enough to parse: the missing bytes show up as a failed authentication.
                let sealed = Sealed::from_bytes(&bytes[..len]).expect("parses");
                assert_eq!(
                    key("k1", 1).open(&sealed, b""),
                    Err(CryptoError::AuthenticationFailed)
                );
                continue;
            };
            assert_eq!(Sealed::from_bytes(&bytes[..len]), Err(expected), "{len}");
        }
    }

    #[test]
    fn an_unknown_version_or_a_bad_key_id_in_stored_bytes_is_an_error() {
        let mut bytes = key("k1", 1)
            .seal(b"x", b"")
            .expect("seal")
            .to_bytes()
            .expect("valid");
        bytes[0] = 2;
        assert_eq!(
            Sealed::from_bytes(&bytes),
            Err(FormatError::UnsupportedVersion(2))
        );
        bytes[0] = FORMAT_VERSION;
        bytes[2] = 0xFF; // not UTF-8
        assert_eq!(Sealed::from_bytes(&bytes), Err(FormatError::InvalidKeyId));
        bytes[2] = b' ';
        assert_eq!(Sealed::from_bytes(&bytes), Err(FormatError::InvalidKeyId));
        let mut empty_id = vec![FORMAT_VERSION, 0];
        empty_id.extend_from_slice(&[0; NONCE_LEN + TAG_LEN]);
        assert_eq!(
            Sealed::from_bytes(&empty_id),
            Err(FormatError::InvalidKeyId)
        );
    }

    #[test]
    fn a_hand_built_value_that_cannot_be_stored_is_refused_by_to_bytes() {
        let mut sealed = Sealed {
            key_id: "x".repeat(300),
            nonce: [0; NONCE_LEN],
            ciphertext: vec![0; TAG_LEN],
        };
        assert_eq!(sealed.to_bytes(), Err(FormatError::InvalidKeyId));
        sealed.key_id = "k1".to_owned();
        sealed.ciphertext.pop();
        assert_eq!(sealed.to_bytes(), Err(FormatError::CiphertextTooShort));
    }

    fn arbitrary_sealed() -> impl Strategy<Value = Sealed> {
        (
            "[A-Za-z0-9._-]{1,32}",
            any::<[u8; NONCE_LEN]>(),
            prop::collection::vec(any::<u8>(), TAG_LEN..200),
        )
            .prop_map(|(key_id, nonce, ciphertext)| Sealed {
                key_id,
                nonce,
                ciphertext,
            })
    }

    /// Inputs that get past the version byte, so the deeper checks are exercised too.
    fn stored_bytes_or_noise() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..80),
            (any::<u8>(), prop::collection::vec(any::<u8>(), 0..80)).prop_map(|(len, rest)| {
                let mut bytes = vec![FORMAT_VERSION, len % 40];
                bytes.extend(rest);
                bytes
            }),
        ]
    }

    proptest! {
        #[test]
        fn any_plaintext_survives_seal_to_bytes_from_bytes_and_open(
            plaintext in prop::collection::vec(any::<u8>(), 0..512),
            associated_data in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let key = key("k1", 1);
            let sealed = key.seal(&plaintext, &associated_data).expect("seal");
            let bytes = sealed.to_bytes().expect("valid");
            let read_back = Sealed::from_bytes(&bytes).expect("valid");
            prop_assert_eq!(&read_back, &sealed);
            prop_assert_eq!(key.open(&read_back, &associated_data).expect("open"), plaintext);
        }

        #[test]
        fn any_storable_sealed_value_round_trips_through_bytes(sealed in arbitrary_sealed()) {
            let bytes = sealed.to_bytes().expect("valid");
            prop_assert_eq!(Sealed::from_bytes(&bytes), Ok(sealed));
        }

        #[test]
        fn from_bytes_never_panics(bytes in stored_bytes_or_noise()) {
            if let Ok(sealed) = Sealed::from_bytes(&bytes) {
                // Whatever parses must write back to the same bytes.
                prop_assert_eq!(sealed.to_bytes().expect("valid"), bytes);
            }
        }
    }
}
