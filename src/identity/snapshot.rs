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

/// A fingerprint or token hash as the snapshot keys it: the kind, then the
/// 32 bytes its 64 hex digits spell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Digest([u8; 33]);

/// The kinds of [`Digest`], its first byte.
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
        let mut key = [TOKEN; 33];
        key[1..].copy_from_slice(&hash);
        Digest(key)
    }

    fn of_hex(kind: u8, hex: &str) -> Option<Digest> {
        let hex = hex.as_bytes();
        if hex.len() != HEX_LEN {
            return None;
        }
        let mut key = [kind; 33];
        let mut bad = 0u8;
        for (byte, pair) in key[1..].iter_mut().zip(hex.chunks_exact(2)) {
            let (high, low) = (nibble(pair[0]), nibble(pair[1]));
            bad |= (high | low) & 0xf0;
            *byte = (high << 4) | (low & 0x0f);
        }
        (bad == 0).then_some(Digest(key))
    }

    fn shard(&self) -> usize {
        usize::from(self.0[32])
    }
}

/// The value of a hex digit, in any case; `0xff` for any other byte.
fn nibble(b: u8) -> u8 {
    HEX_VALUE[usize::from(b)]
}

/// [`nibble`] as a table: one load a digit, no branch.
static HEX_VALUE: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            c @ b'0'..=b'9' => c - b'0',
            c @ b'a'..=b'f' => c - b'a' + 10,
            c @ b'A'..=b'F' => c - b'A' + 10,
            _ => 0xff,
        };
        b += 1;
    }
    table
};

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

    proptest! {
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
        assert_eq!(key.0[1..3], [0x01, 0x23]);
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
