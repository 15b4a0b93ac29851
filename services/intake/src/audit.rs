//! The access log: every response that carries personal data is recorded first (when, who, in
//! which role and organisational unit, which inquiry, which data, why, and the trace), so the
//! office can tell a person when and for what purpose their data was consulted, and anyone can
//! check that the record was not changed afterwards.
//!
//! Entries form a hash chain: each entry's hash covers its position, its content and the hash of
//! the entry before, so a changed, removed or inserted entry breaks every hash after it, and a
//! removed tail no longer matches the recorded head. The database refuses to update or delete
//! entries (a trigger, see the migration); the chain shows it if someone gets round that.
//!
//! This module is pure: [`chain_hash`] and [`Verifier`]; [`store`] holds the SQL.

pub mod store;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The hash before the first entry.
pub const GENESIS: [u8; 32] = [0; 32];

/// What a CPR number is fingerprinted as, to find a person's inquiries (see the migration):
/// prefixed, so a CPR number's fingerprint is never that of some other message.
pub fn person_key(cpr_digits: &str) -> Vec<u8> {
    [b"cpr:".as_slice(), cpr_digits.as_bytes()].concat()
}

/// What kind of personal data a response carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DataKind {
    /// Names, contact and representative details, the form's other personal answers.
    Requester,
    /// A CPR number shown masked (`DDMMYY-XXXX`).
    CprMasked,
    /// A CPR number shown in full.
    CprRevealed,
    /// The person's own description.
    Description,
    /// The journal's free text: notes, requests, answers, reasons.
    Notes,
    /// The access log of a person, looked up by their CPR or CVR number.
    AccessLog,
    /// A person's inquiries, looked up by their CPR or CVR number to erase their personal data.
    Erasure,
}

impl DataKind {
    pub const ALL: [Self; 7] = [
        Self::Requester,
        Self::CprMasked,
        Self::CprRevealed,
        Self::Description,
        Self::Notes,
        Self::AccessLog,
        Self::Erasure,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Requester => "requester",
            Self::CprMasked => "cpr_masked",
            Self::CprRevealed => "cpr_revealed",
            Self::Description => "description",
            Self::Notes => "notes",
            Self::AccessLog => "access_log",
            Self::Erasure => "erasure",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == code)
    }
}

/// Who read: the token's subject and client, the role the call used, and the organisational unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accessor {
    pub subject: String,
    pub client_id: Option<String>,
    pub role: String,
    pub department: Option<String>,
}

/// One access to one inquiry's personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// Microsecond precision, as PostgreSQL keeps it (the hash must match what is stored).
    pub at: DateTime<Utc>,
    pub accessor: Accessor,
    pub inquiry_id: Uuid,
    /// Sorted, each kind once.
    pub data: Vec<DataKind>,
    pub purpose: Option<String>,
    pub trace_id: Option<String>,
}

impl Access {
    pub fn new(
        at: DateTime<Utc>,
        accessor: Accessor,
        inquiry_id: Uuid,
        data: impl IntoIterator<Item = DataKind>,
        purpose: Option<String>,
        trace_id: Option<String>,
    ) -> Self {
        let mut data: Vec<DataKind> = data.into_iter().collect();
        data.sort_unstable();
        data.dedup();
        Self {
            at: truncate_to_micros(at),
            accessor,
            inquiry_id,
            data,
            purpose,
            trace_id,
        }
    }
}

/// An entry as stored: its place in the chain and its hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub position: i64,
    pub access: Access,
    pub previous_hash: [u8; 32],
    pub hash: [u8; 32],
}

fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// The hash of the entry at `position` after `previous`: SHA-256 over the previous hash and every
/// field, each length-prefixed, so no two different entries encode alike.
pub fn chain_hash(previous: &[u8; 32], position: i64, access: &Access) -> [u8; 32] {
    fn field(hasher: &mut Sha256, bytes: &[u8]) {
        hasher.update((bytes.len() as u64).to_be_bytes());
        hasher.update(bytes);
    }
    fn optional(hasher: &mut Sha256, value: Option<&str>) {
        match value {
            None => hasher.update([0]),
            Some(value) => {
                hasher.update([1]);
                field(hasher, value.as_bytes());
            }
        }
    }
    let mut hasher = Sha256::new();
    hasher.update(b"borgerraad access log v1");
    hasher.update(previous);
    hasher.update(position.to_be_bytes());
    hasher.update(access.at.timestamp_micros().to_be_bytes());
    field(&mut hasher, access.accessor.subject.as_bytes());
    optional(&mut hasher, access.accessor.client_id.as_deref());
    field(&mut hasher, access.accessor.role.as_bytes());
    optional(&mut hasher, access.accessor.department.as_deref());
    hasher.update(access.inquiry_id.as_bytes());
    hasher.update((access.data.len() as u64).to_be_bytes());
    for kind in &access.data {
        field(&mut hasher, kind.as_str().as_bytes());
    }
    optional(&mut hasher, access.purpose.as_deref());
    optional(&mut hasher, access.trace_id.as_deref());
    hasher.finalize().into()
}

/// Chains `accesses` after the entry at `head` (position and hash): the entries to store.
pub fn chain(head: (i64, [u8; 32]), accesses: Vec<Access>) -> Vec<Entry> {
    let (mut position, mut previous) = head;
    accesses
        .into_iter()
        .map(|access| {
            position += 1;
            let hash = chain_hash(&previous, position, &access);
            let entry = Entry {
                position,
                access,
                previous_hash: previous,
                hash,
            };
            previous = hash;
            entry
        })
        .collect()
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry is where and what the chain says, up to the recorded head.
    Intact { entries: i64, head: [u8; 32] },
    /// The first entry (by position) where the chain breaks, and why.
    Broken { position: i64, problem: String },
}

/// Checks entries fed in position order, one page at a time, so the log need not fit in memory.
#[derive(Debug, Clone)]
pub struct Verifier {
    position: i64,
    previous: [u8; 32],
    broken: Option<(i64, String)>,
}

impl Default for Verifier {
    fn default() -> Self {
        Self {
            position: 0,
            previous: GENESIS,
            broken: None,
        }
    }
}

impl Verifier {
    /// Feeds the next entries; after the first break the rest are ignored.
    pub fn feed<'a>(&mut self, entries: impl IntoIterator<Item = &'a Entry>) {
        for entry in entries {
            if self.broken.is_some() {
                return;
            }
            let expected = self.position + 1;
            let problem = if entry.position != expected {
                Some(format!(
                    "entry {expected} is missing (the next one stored is {})",
                    entry.position
                ))
            } else if entry.previous_hash != self.previous {
                Some("it does not follow the entry before it".to_owned())
            } else if chain_hash(&self.previous, entry.position, &entry.access) != entry.hash {
                Some("its content does not match its hash".to_owned())
            } else {
                None
            };
            match problem {
                Some(problem) => self.broken = Some((expected.min(entry.position), problem)),
                None => {
                    self.position = entry.position;
                    self.previous = entry.hash;
                }
            }
        }
    }

    /// The first break found so far, if any.
    pub fn broken(&self) -> Option<Verdict> {
        self.broken
            .as_ref()
            .map(|(position, problem)| Verdict::Broken {
                position: *position,
                problem: problem.clone(),
            })
    }

    /// The verdict once every entry was fed, against the head the log recorded with its last
    /// append (so removing the newest entries is found too).
    pub fn finish(self, head: (i64, [u8; 32])) -> Verdict {
        if let Some((position, problem)) = self.broken {
            return Verdict::Broken { position, problem };
        }
        if (self.position, self.previous) != head {
            return Verdict::Broken {
                position: self.position + 1,
                problem: format!(
                    "the log ends at entry {}, but its head records entry {}",
                    self.position, head.0
                ),
            };
        }
        Verdict::Intact {
            entries: self.position,
            head: self.previous,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn access(n: u32) -> Access {
        Access::new(
            Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, n)
                .single()
                .expect("valid")
                + chrono::TimeDelta::nanoseconds(123_456_789),
            Accessor {
                subject: format!("cw-{n}"),
                client_id: Some("sagssystem".into()),
                role: "caseworker".into(),
                department: None,
            },
            Uuid::from_u128(u128::from(n)),
            [
                DataKind::Description,
                DataKind::Requester,
                DataKind::Description,
            ],
            Some("Besvarelse af henvendelsen".into()),
            Some("4bf92f3577b34da6a3ce929d0e0e4736".into()),
        )
    }

    fn log(n: u32) -> Vec<Entry> {
        chain((0, GENESIS), (1..=n).map(access).collect())
    }

    fn verify(entries: &[Entry], head: (i64, [u8; 32])) -> Verdict {
        let mut verifier = Verifier::default();
        for page in entries.chunks(2) {
            verifier.feed(page);
        }
        verifier.finish(head)
    }

    fn head_of(entries: &[Entry]) -> (i64, [u8; 32]) {
        entries
            .last()
            .map_or((0, GENESIS), |last| (last.position, last.hash))
    }

    #[test]
    fn an_access_keeps_microseconds_and_each_kind_of_data_once_in_order() {
        let a = access(1);
        assert_eq!(a.at.timestamp_subsec_nanos(), 123_456_000);
        assert_eq!(a.data, [DataKind::Requester, DataKind::Description]);
    }

    #[test]
    fn an_untouched_log_verifies_and_an_empty_one_too() {
        let entries = log(5);
        assert_eq!(
            verify(&entries, head_of(&entries)),
            Verdict::Intact {
                entries: 5,
                head: entries[4].hash
            }
        );
        assert_eq!(
            verify(&[], (0, GENESIS)),
            Verdict::Intact {
                entries: 0,
                head: GENESIS
            }
        );
    }

    #[test]
    fn a_changed_field_is_found_at_its_entry() {
        let head = head_of(&log(5));
        for change in [
            |e: &mut Entry| e.access.purpose = Some("Nysgerrighed".into()),
            |e: &mut Entry| e.access.accessor.subject = "someone-else".into(),
            |e: &mut Entry| e.access.data.push(DataKind::CprRevealed),
            |e: &mut Entry| e.access.at += chrono::TimeDelta::seconds(1),
            |e: &mut Entry| e.access.trace_id = None,
        ] {
            let mut entries = log(5);
            change(&mut entries[2]);
            assert_eq!(
                verify(&entries, head),
                Verdict::Broken {
                    position: 3,
                    problem: "its content does not match its hash".into()
                }
            );
        }
    }

    #[test]
    fn a_removed_entry_an_inserted_one_and_a_removed_tail_are_found() {
        let entries = log(5);
        let head = head_of(&entries);
        let mut removed = entries.clone();
        removed.remove(1);
        assert!(matches!(
            verify(&removed, head),
            Verdict::Broken { position: 2, .. }
        ));

        // Rehashing the rest after a removal still leaves the positions short of the head.
        let rehashed = chain(
            (0, GENESIS),
            removed.into_iter().map(|e| e.access).collect(),
        );
        assert!(matches!(
            verify(&rehashed, head),
            Verdict::Broken { position: 5, .. }
        ));

        let tail_removed = &entries[..3];
        assert_eq!(
            verify(tail_removed, head),
            Verdict::Broken {
                position: 4,
                problem: "the log ends at entry 3, but its head records entry 5".into()
            }
        );

        // An entry forged to follow entry 2 leaves the genuine entry 3 out of place.
        let mut inserted = entries.clone();
        let forged = chain(head_of(&entries[..2]), vec![access(9)]);
        inserted.insert(2, forged[0].clone());
        assert!(matches!(
            verify(&inserted, head),
            Verdict::Broken { position: 3, .. }
        ));
    }

    #[test]
    fn no_two_different_accesses_hash_alike_by_moving_text_between_fields() {
        let mut a = access(1);
        a.accessor.subject = "ab".into();
        a.accessor.role = "c".into();
        let mut b = a.clone();
        b.accessor.subject = "a".into();
        b.accessor.role = "bc".into();
        assert_ne!(chain_hash(&GENESIS, 1, &a), chain_hash(&GENESIS, 1, &b));
        let mut c = a.clone();
        c.purpose = None;
        c.trace_id = Some("x".into());
        let mut d = a.clone();
        d.purpose = Some("x".into());
        d.trace_id = None;
        assert_ne!(chain_hash(&GENESIS, 1, &c), chain_hash(&GENESIS, 1, &d));
    }

    #[test]
    fn data_kinds_have_stable_codes() {
        for kind in DataKind::ALL {
            assert_eq!(DataKind::from_code(kind.as_str()), Some(kind));
        }
    }
}
