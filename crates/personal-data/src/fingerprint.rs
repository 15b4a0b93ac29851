//! Keyed fingerprints: telling whether two messages are the same without storing either.
//!
//! An idempotency key must answer "is this retry the same request?" long after the request was
//! sealed away, yet a plain hash of a request that holds a CPR number and a person's own words
//! could be matched against guesses. HMAC-SHA256 under a key derived from a data key cannot: only
//! the holder of the key ring can compute or compare one. The fingerprint names its key, so a
//! fingerprint made before a key rotation is still compared with the key that made it.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::crypto::{CryptoError, DataKey, FormatError, Keyring, MAX_KEY_ID_LEN};

type HmacSha256 = hmac::Hmac<Sha256>;

/// Length of the MAC in a fingerprint.
pub const MAC_LEN: usize = 32;

/// Separates fingerprint keys from encryption keys: the data key is never used as a MAC key
/// itself.
const DERIVATION_LABEL: &[u8] = b"borgerraad fingerprint v1";

/// An HMAC-SHA256 of a message under a key derived from the named data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub key_id: String,
    pub mac: [u8; MAC_LEN],
}

fn mac_key(key: &DataKey) -> [u8; MAC_LEN] {
    let mut derive = HmacSha256::new_from_slice(key.material()).unwrap_or_else(|_| {
        // HMAC takes keys of any length; a 32-byte key cannot be refused.
        unreachable!("HMAC accepts a 32-byte key")
    });
    derive.update(DERIVATION_LABEL);
    derive.finalize().into_bytes().into()
}

fn mac_of(key: &DataKey, message: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(&mac_key(key))
        .unwrap_or_else(|_| unreachable!("HMAC accepts a 32-byte key"));
    mac.update(message);
    mac
}

impl Keyring {
    /// The fingerprint of `message` under the current key.
    pub fn fingerprint(&self, message: &[u8]) -> Fingerprint {
        let key = self.current();
        Fingerprint {
            key_id: key.id().to_owned(),
            mac: mac_of(key, message).finalize().into_bytes().into(),
        }
    }

    /// The fingerprints `message` has under each key of the ring, current first: what to look
    /// for among values fingerprinted before and after a rotation.
    pub fn fingerprints(&self, message: &[u8]) -> Vec<Fingerprint> {
        self.keys()
            .map(|key| Fingerprint {
                key_id: key.id().to_owned(),
                mac: mac_of(key, message).finalize().into_bytes().into(),
            })
            .collect()
    }

    /// Whether `message` has the fingerprint `stored` (compared in constant time, with the key
    /// the fingerprint names).
    pub fn matches(&self, stored: &Fingerprint, message: &[u8]) -> Result<bool, CryptoError> {
        let key = self
            .key(&stored.key_id)
            .ok_or_else(|| CryptoError::UnknownKey {
                key_id: stored.key_id.clone(),
            })?;
        Ok(mac_of(key, message).verify_slice(&stored.mac).is_ok())
    }
}

impl Fingerprint {
    /// `[key id length][key id][32-byte MAC]`, for a `bytea` column.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(1 + self.key_id.len() + MAC_LEN);
        // Key ids are at most 32 ASCII bytes (checked when the key was made).
        bytes.push(self.key_id.len() as u8);
        bytes.extend_from_slice(self.key_id.as_bytes());
        bytes.extend_from_slice(&self.mac);
        bytes
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        let (&id_len, rest) = bytes.split_first().ok_or(FormatError::Truncated)?;
        let id_len = usize::from(id_len);
        if id_len == 0 || id_len > MAX_KEY_ID_LEN {
            return Err(FormatError::InvalidKeyId);
        }
        if rest.len() != id_len + MAC_LEN {
            return Err(FormatError::Truncated);
        }
        let (id, mac) = rest.split_at(id_len);
        let key_id = std::str::from_utf8(id)
            .map_err(|_| FormatError::InvalidKeyId)?
            .to_owned();
        let mac = <[u8; MAC_LEN]>::try_from(mac).map_err(|_| FormatError::Truncated)?;
        Ok(Self { key_id, mac })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(id: &str, byte: u8) -> Keyring {
        Keyring::new(DataKey::from_bytes(id, [byte; 32]).expect("key"))
    }

    #[test]
    fn the_same_message_has_the_same_fingerprint_and_another_does_not_match() {
        let ring = ring("k1", 1);
        let a = ring.fingerprint(b"request one");
        assert_eq!(a, ring.fingerprint(b"request one"));
        assert_eq!(ring.matches(&a, b"request one"), Ok(true));
        assert_eq!(ring.matches(&a, b"request two"), Ok(false));
    }

    #[test]
    fn a_fingerprint_is_useless_without_the_key() {
        let message = b"0101901234 Karen Jensen";
        assert_ne!(
            ring("k1", 1).fingerprint(message).mac,
            ring("k1", 2).fingerprint(message).mac
        );
    }

    #[test]
    fn a_fingerprint_from_before_a_rotation_is_compared_with_its_own_key() {
        let old = ring("k1", 1);
        let before = old.fingerprint(b"request");
        let rotated = ring("k2", 2)
            .with_previous(DataKey::from_bytes("k1", [1; 32]).expect("key"))
            .expect("ring");
        assert_eq!(rotated.matches(&before, b"request"), Ok(true));
        assert_eq!(
            ring("k2", 2).matches(&before, b"request"),
            Err(CryptoError::UnknownKey {
                key_id: "k1".into()
            })
        );
    }

    #[test]
    fn a_message_is_found_under_every_key_of_the_ring() {
        let old = ring("k1", 1);
        let before = old.fingerprint(b"0101901234");
        let rotated = ring("k2", 2)
            .with_previous(DataKey::from_bytes("k1", [1; 32]).expect("key"))
            .expect("ring");
        let all = rotated.fingerprints(b"0101901234");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], rotated.fingerprint(b"0101901234"));
        assert!(all.contains(&before));
    }

    #[test]
    fn the_storage_layout_round_trips_and_refuses_damage() {
        let fingerprint = ring("k1", 1).fingerprint(b"request");
        let bytes = fingerprint.to_bytes();
        assert_eq!(Fingerprint::from_bytes(&bytes), Ok(fingerprint));
        assert_eq!(
            Fingerprint::from_bytes(&bytes[..bytes.len() - 1]),
            Err(FormatError::Truncated)
        );
        assert_eq!(Fingerprint::from_bytes(&[]), Err(FormatError::Truncated));
        assert_eq!(
            Fingerprint::from_bytes(&[0, 1, 2]),
            Err(FormatError::InvalidKeyId)
        );
    }
}
