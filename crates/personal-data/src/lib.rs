//! Danish personal identifiers for Borgerraad, handled as personal data: validated on the way in,
//! masked whenever they are printed, spotted in free text, and encrypted before they are stored.
//!
//! The crate is pure: no I/O, no async, no clock (callers pass today's date), so every rule can be
//! tested on its own. The modules divide the work as follows:
//!
//! - [`cpr`] parses CPR numbers ([`Cpr`]) by the CPR office's rules, including the century encoded
//!   in the 7th digit. A [`Cpr`] prints only its masked form (`DDMMYY-XXXX`) through `Debug` and
//!   `Display`, so it cannot leak into logs; the digits are available only through the explicit
//!   [`Cpr::digits`]. [`find_cpr_like`], [`mask_cpr_like`] and [`redact_cpr_like`] catch CPR
//!   numbers written into free-text fields such as an inquiry's description, and show them
//!   masked the same way.
//! - [`cvr`] parses CVR numbers ([`Cvr`]), the public company register numbers, with their
//!   modulus-11 check.
//! - [`crypto`] encrypts values at rest with AES-256-GCM: a [`DataKey`] seals a value into a
//!   [`Sealed`] (key id, random nonce, ciphertext) bound to caller-chosen associated data, such as
//!   the row's id; [`Sealed::to_bytes`] gives a compact versioned layout for a `bytea` column; and
//!   a [`Keyring`] seals with the current key while still opening values sealed with older keys.
//! - [`fingerprint`] gives keyed fingerprints ([`Fingerprint`], HMAC-SHA256 under a key derived
//!   from the key ring) that tell whether two messages are the same without storing either.
//!
//! ```
//! use chrono::NaiveDate;
//! use personal_data::{Cpr, DataKey, Sealed};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let today = NaiveDate::from_ymd_opt(2026, 11, 25).ok_or("invalid date")?;
//! let cpr = Cpr::parse("010190-1234", today)?;
//! assert_eq!(format!("{cpr:?}"), r#"Cpr("010190-XXXX")"#);
//!
//! let key = DataKey::from_bytes("k1", [7; 32])?;
//! let inquiry_id = b"inquiry-42";
//! let stored = key.seal(cpr.digits().as_bytes(), inquiry_id)?.to_bytes()?;
//! let opened = key.open(&Sealed::from_bytes(&stored)?, inquiry_id)?;
//! assert_eq!(opened, b"0101901234");
//! # Ok(())
//! # }
//! ```

pub mod cpr;
pub mod crypto;
pub mod cvr;
pub mod fingerprint;

pub use cpr::{Cpr, CprError, find_cpr_like, mask_cpr_like, redact_cpr_like};
pub use crypto::{CryptoError, DataKey, FormatError, KeyError, Keyring, Sealed};
pub use cvr::{Cvr, CvrError};
pub use fingerprint::Fingerprint;
