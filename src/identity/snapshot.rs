//! The immutable snapshot reads are served from, and its sharded maps.
//!
//! A snapshot is replaced whole (one `ArcSwap` store) but built by
//! copy-on-write of only the shards a change touched: the maps are split in
//! 256 shards by the last byte of the key (fingerprints and token hashes
//! end in uniformly distributed bits), so a one-peer change at 100k peers
//! copies ~400 entries, not 100k.
//!
//! Every key is a [`Digest`]: a fingerprint's or token hash's 64 hex digits
//! decoded to their 32 bytes, behind a byte for the kind, held inline in
//! the map's entry. A lookup parses the text it is given once (which is
//! also its validation), and compares the key without following a pointer
//! to a string elsewhere in memory, which, at 100k entries, is a cache
//! miss a map of `String` keys pays on every hit.
//!
//! Within a shard the keys are hashed with foldhash, keyed by a random seed
//! drawn once per process. The keys are chosen by whoever registers a peer
//! or an API key, so the hash must stay keyed: a fixed hash would let them
//! register keys that all fall in one bucket.

use std::collections::HashMap;
use std::sync::Arc;

use super::validate::HEX_LEN;
use super::{EncryptedData, Identity, ProviderHealth};
use crate::time::now_ms;

const SHARDS: usize = 256;

/// A fingerprint or token hash as the snapshot keys it: the 32 bytes its
/// 64 hex digits spell, as four little-endian words, and the kind. Equal
/// keys compare word by word, inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Digest {
    words: [u64; 4],
    kind: u8,
}

/// The kinds of [`Digest`].
const TOKEN: u8 = 0;
const ED25519: u8 = 1;
const SHA256: u8 = 2;

impl Digest {
    /// The key of a fingerprint, in any case: `ed25519:<64 hex digits>` or
    /// `SHA256:<64 hex digits>`; `None` for anything else. It accepts
    /// exactly what [`normalize_fingerprint`](super::normalize_fingerprint)
    /// does, and two fingerprints have the same key when they normalize
    /// to the same text.
    pub(crate) fn of_fingerprint(fingerprint: &str) -> Option<Digest> {
        let (prefix, hex) =
            fingerprint.split_at_checked(fingerprint.len().checked_sub(HEX_LEN + 1)?)?;
        let hex = hex.strip_prefix(':')?;
        let kind = if prefix.eq_ignore_ascii_case("ed25519") {
            ED25519
        } else if prefix.eq_ignore_ascii_case("sha256") {
            SHA256
        } else {
            return None;
        };
        Digest::of_hex(kind, hex)
    }

    /// The key of a token hash: 64 hex digits, in any case.
    pub(crate) fn of_token_hash(hash: &str) -> Option<Digest> {
        Digest::of_hex(TOKEN, hash)
    }

    /// The key of the token hash whose bytes are `hash`.
    pub(crate) fn of_token_bytes(hash: [u8; 32]) -> Digest {
        let mut words = [0; 4];
        for (word, bytes) in words.iter_mut().zip(hash.chunks_exact(8)) {
            *word = u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
        }
        Digest { words, kind: TOKEN }
    }

    fn of_hex(kind: u8, hex: &str) -> Option<Digest> {
        let hex: &[u8; HEX_LEN] = hex.as_bytes().try_into().ok()?;
        let mut words = [0; 4];
        let mut bad = 0;
        for (word, digits) in words.iter_mut().zip(hex.chunks_exact(16)) {
            let (low, high) = digits.split_at(8);
            let (low, low_bad) = hex_to_bytes(u64::from_le_bytes(low.try_into().ok()?));
            let (high, high_bad) = hex_to_bytes(u64::from_le_bytes(high.try_into().ok()?));
            *word = low | (high << 32);
            bad |= low_bad | high_bad;
        }
        (bad == 0).then_some(Digest { words, kind })
    }

    fn shard(&self) -> usize {
        (self.words[3] >> 56) as usize
    }

    /// The bytes the hex digits spell, in order.
    #[cfg(test)]
    fn bytes(&self) -> [u8; 32] {
        let mut bytes = [0; 32];
        for (chunk, word) in bytes.chunks_exact_mut(8).zip(self.words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        bytes
    }
}

impl std::hash::Hash for Digest {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for word in self.words {
            state.write_u64(word);
        }
        state.write_u8(self.kind);
    }
}

/// Eight ASCII hex digits, as the little-endian word of their bytes,
/// decoded to the four bytes they spell (the low half of the result), and
/// a value that is not zero when any of the eight is not a hex digit. All
/// eight at once, without a branch on the data.
fn hex_to_bytes(digits: u64) -> (u64, u64) {
    const fn each(byte: u8) -> u64 {
        u64::from_ne_bytes([byte; 8])
    }
    const HIGH: u64 = each(0x80);
    // For bytes below 0x80, adding 0x80 - lo sets a byte's high bit exactly
    // when it is at least lo, and adding 0x7f - hi when it is above hi; no
    // sum carries into the next byte. A byte at or above 0x80 is refused
    // whatever the sums say.
    let at_least = |lo: u8, x: u64| x.wrapping_add(each(0x80 - lo)) & HIGH;
    let above = |hi: u8, x: u64| x.wrapping_add(each(0x7f - hi)) & HIGH;
    let digit = at_least(b'0', digits) & !above(b'9', digits);
    let folded = digits | each(0x20);
    let letter = at_least(b'a', folded) & !above(b'f', folded);
    let bad = (digits & HIGH) | (HIGH & !(digit | letter));
    // '0'..='9' are 0x30..=0x39, and the letters 0x41..=0x46 and
    // 0x61..=0x66: the low four bits, plus 9 for a letter (bit 6).
    let values = (digits & each(0x0f)) + 9 * ((digits >> 6) & each(0x01));
    // Pair the digits: the first of each pair is the high nibble.
    let pairs = ((values & 0x00ff_00ff_00ff_00ff) << 4) | ((values >> 8) & 0x00ff_00ff_00ff_00ff);
    let pairs = (pairs | (pairs >> 8)) & 0x0000_ffff_0000_ffff;
    let bytes = (pairs | (pairs >> 16)) & 0xffff_ffff;
    (bytes, bad)
}

/// One shard: a map keyed with a per-process random seed.
type Shard<V> = HashMap<Digest, V, foldhash::fast::RandomState>;

/// A map split in shards that are shared between snapshots until written.
#[derive(Debug, Clone)]
pub(crate) struct Shards<V> {
    shards: Vec<Arc<Shard<V>>>,
}

impl<V: Clone> Shards<V> {
    pub(crate) fn new() -> Self {
        Shards {
            shards: (0..SHARDS)
                .map(|_| Arc::new(Shard::with_hasher(Default::default())))
                .collect(),
        }
    }

    pub(crate) fn get(&self, key: &Digest) -> Option<&V> {
        self.shards[key.shard()].get(key)
    }

    pub(crate) fn insert(&mut self, key: Digest, value: V) {
        Arc::make_mut(&mut self.shards[key.shard()]).insert(key, value);
    }

    pub(crate) fn remove(&mut self, key: &Digest) {
        let shard = &mut self.shards[key.shard()];
        if shard.contains_key(key) {
            Arc::make_mut(shard).remove(key);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }
}

/// A peer's resolved identity and until when it holds. Stored inline under
/// each of the peer's keys (one copy per fingerprint and token): a lookup
/// then touches the map entry only, no further pointer to chase.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) identity: Identity,
    /// When the ACL part of the grant may change with no write; `None`:
    /// only a write can change it.
    pub(crate) valid_until: Option<i64>,
}

/// What a token hash resolves through.
#[derive(Debug, Clone)]
pub(crate) enum TokenEntry {
    Peer(Resolved),
    /// A usable API key whose owner exists (disabled and revoked keys, and
    /// keys whose owner is gone, are not in the map), holding key ∩ what
    /// its owner held when it was indexed.
    Key {
        identity: Identity,
        expires_at: Option<i64>,
        /// When the owner's grant may change with no write.
        valid_until: Option<i64>,
    },
}

/// The outcome of a lookup at an instant.
pub(crate) enum Lookup {
    Found(Identity),
    /// Known, but its grant may have changed since the snapshot was built:
    /// recompute before serving.
    Stale,
    Missing,
}

/// Everything reads need, as of one store revision.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) revision: u64,
    /// What it serves (see `SqliteIdentityProvider::status`).
    pub(crate) health: ProviderHealth,
    pub(crate) fingerprints: Shards<Resolved>,
    pub(crate) tokens: Shards<TokenEntry>,
    pub(crate) credentials: Arc<HashMap<String, EncryptedData>>,
}

impl Snapshot {
    pub(crate) fn empty() -> Self {
        Snapshot {
            revision: 0,
            health: ProviderHealth::Healthy,
            fingerprints: Shards::new(),
            tokens: Shards::new(),
            credentials: Arc::default(),
        }
    }

    /// The identity for a fingerprint, in any case. The clock is read only
    /// for a grant with a time bound.
    pub(crate) fn by_fingerprint(&self, fingerprint: &str) -> Lookup {
        match Digest::of_fingerprint(fingerprint).and_then(|key| self.fingerprints.get(&key)) {
            Some(resolved) => serve(resolved),
            None => Lookup::Missing,
        }
    }

    /// The identity for a token hash, in hex.
    #[cfg(test)]
    pub(crate) fn by_token_hash(&self, hash: &str) -> Lookup {
        match Digest::of_token_hash(hash) {
            Some(key) => self.by_token(&key),
            None => Lookup::Missing,
        }
    }

    /// The identity for a token hash.
    pub(crate) fn by_token(&self, key: &Digest) -> Lookup {
        match self.tokens.get(key) {
            Some(TokenEntry::Peer(resolved)) => serve(resolved),
            Some(TokenEntry::Key {
                identity,
                expires_at,
                valid_until,
            }) => {
                if expires_at.is_none() && valid_until.is_none() {
                    return Lookup::Found(identity.clone());
                }
                let now = now_ms();
                if expires_at.is_some_and(|t| now >= t) {
                    Lookup::Missing
                } else if valid_until.is_some_and(|t| now >= t) {
                    Lookup::Stale
                } else {
                    Lookup::Found(identity.clone())
                }
            }
            None => Lookup::Missing,
        }
    }
}

fn serve(resolved: &Resolved) -> Lookup {
    if resolved.valid_until.is_some_and(|t| now_ms() >= t) {
        Lookup::Stale
    } else {
        Lookup::Found(resolved.identity.clone())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::identity::normalize_fingerprint;

    /// The value of a hex digit, one byte at a time.
    fn digit_value(b: u8) -> Option<u8> {
        char::from(b).to_digit(16).map(|v| v as u8)
    }

    proptest! {
        /// Eight bytes decode as eight digits read one by one: the same
        /// bytes when every one is a hex digit, refused when any is not.
        #[test]
        fn words_decode_as_digits_one_by_one(
            digits in proptest::array::uniform8(prop_oneof![
                3 => proptest::sample::select(b"0123456789abcdefABCDEF".to_vec()),
                1 => any::<u8>(),
            ]),
        ) {
            let (bytes, bad) = hex_to_bytes(u64::from_le_bytes(digits));
            let values: Option<Vec<u8>> = digits.iter().map(|&b| digit_value(b)).collect();
            prop_assert_eq!(bad == 0, values.is_some(), "{:?}", digits);
            if let Some(values) = values {
                let expected: Vec<u8> = values.chunks(2).map(|p| (p[0] << 4) | p[1]).collect();
                prop_assert_eq!(bytes.to_le_bytes()[..4].to_vec(), expected);
                prop_assert_eq!(bytes >> 32, 0);
            }
        }

        /// The text of any 32 bytes, in either case, is the key of those
        /// bytes.
        #[test]
        fn hex_spells_its_bytes(bytes in proptest::array::uniform32(any::<u8>())) {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let key = Digest::of_token_bytes(bytes);
            prop_assert_eq!(key.bytes(), bytes);
            prop_assert_eq!(Digest::of_token_hash(&hex), Some(key));
            prop_assert_eq!(Digest::of_token_hash(&hex.to_ascii_uppercase()), Some(key));
        }

        /// A fingerprint has a key exactly when it normalizes, and two have
        /// the same key exactly when they normalize to the same text.
        #[test]
        fn keys_agree_with_normalizing(
            a in "(ed25519|ED25519|sha256|SHA256|Sha256|ed2551|x)?:?[0-9a-fA-Fg:]{62,66}",
            b in "(ed25519|SHA256):[0-9a-fA-F]{64}",
        ) {
            for (x, y) in [(&a, &b), (&a, &a), (&b, &b)] {
                let keys = (Digest::of_fingerprint(x), Digest::of_fingerprint(y));
                let texts = (normalize_fingerprint(x).ok(), normalize_fingerprint(y).ok());
                prop_assert_eq!(keys.0.is_some(), texts.0.is_some(), "{}", x);
                prop_assert_eq!(keys.1.is_some(), texts.1.is_some(), "{}", y);
                if keys.0.is_some() && keys.1.is_some() {
                    prop_assert_eq!(keys.0 == keys.1, texts.0 == texts.1, "{} {}", x, y);
                }
            }
            if let Ok(text) = normalize_fingerprint(&a) {
                prop_assert_eq!(Digest::of_fingerprint(&text), Digest::of_fingerprint(&a));
                let flipped = text.to_ascii_uppercase();
                prop_assert_eq!(Digest::of_fingerprint(&flipped), Digest::of_fingerprint(&a));
            }
        }
    }

    #[test]
    fn every_byte_in_every_place_is_refused_unless_a_hex_digit() {
        for place in 0..8 {
            for b in 0..=255u8 {
                let mut digits = *b"00000000";
                digits[place] = b;
                let (bytes, bad) = hex_to_bytes(u64::from_le_bytes(digits));
                match digit_value(b) {
                    Some(v) => {
                        assert_eq!(bad, 0, "{b:#x} at {place}");
                        let shift = if place % 2 == 0 { 4 } else { 0 };
                        let expected = u64::from(v << shift) << (8 * (place / 2));
                        assert_eq!(bytes, expected, "{b:#x} at {place}");
                    }
                    None => assert_ne!(bad, 0, "{b:#x} at {place}"),
                }
            }
        }
    }

    fn key(i: u32) -> Digest {
        Digest::of_token_hash(&format!("{i:064x}")).expect("64 hex digits")
    }

    #[test]
    fn a_write_copies_only_its_shard() {
        let mut a: Shards<u32> = Shards::new();
        for i in 0..1000u32 {
            a.insert(key(i), i);
        }
        let mut b = a.clone();
        b.insert(key(5000), 5000);
        b.remove(&key(7));
        let shared = a
            .shards
            .iter()
            .zip(&b.shards)
            .filter(|(x, y)| Arc::ptr_eq(x, y))
            .count();
        assert_eq!(shared, SHARDS - 2);
        assert_eq!(a.len(), 1000);
        assert_eq!(b.len(), 1000);
        assert_eq!(b.get(&key(5000)), Some(&5000));
        assert_eq!(b.get(&key(7)), None);
        assert_eq!(a.get(&key(7)), Some(&7));
    }

    #[test]
    fn a_key_is_the_normalized_text_and_nothing_else_has_one() {
        let hex = "0123456789abcdefABCDEF".repeat(3)[..64].to_owned();
        let canonical = format!("ed25519:{}", hex.to_ascii_lowercase());
        let key = Digest::of_fingerprint(&canonical).expect("canonical");
        for same in [
            format!("ED25519:{hex}"),
            format!("Ed25519:{}", hex.to_ascii_uppercase()),
        ] {
            assert_eq!(Digest::of_fingerprint(&same), Some(key), "{same}");
        }
        assert_ne!(Digest::of_fingerprint(&format!("SHA256:{hex}")), Some(key));
        assert_ne!(Digest::of_token_hash(&hex), Some(key));
        assert_eq!(key.bytes()[..2], [0x01, 0x23]);
        for refused in [
            format!("ed25519:{}", &hex[..63]),
            format!("ed25519:{hex}0"),
            format!("ed25519:{}g", &hex[..63]),
            format!("ed25519 {hex}"),
            format!("ed25518:{hex}"),
            format!("ed25519::{}", &hex[..63]),
            format!("é:{}", &hex[..63]),
            hex.clone(),
            String::new(),
        ] {
            assert_eq!(Digest::of_fingerprint(&refused), None, "{refused}");
        }
        assert_eq!(Digest::of_token_hash(&format!("{}+", &hex[..63])), None);
        assert_eq!(
            Digest::of_token_bytes([0xab; 32]),
            Digest::of_token_hash(&"ab".repeat(32)).expect("hex")
        );
    }
}
