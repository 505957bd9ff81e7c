//! The immutable snapshot reads are served from, and its sharded maps.
//!
//! A snapshot is replaced whole (one `ArcSwap` store) but built by
//! copy-on-write of only the shards a change touched: the maps are split in
//! 256 shards by the last two hex digits of the key (fingerprints and token
//! hashes end in uniformly distributed hex), so a one-peer change at 100k
//! peers copies ~400 entries, not 100k.
//!
//! Within a shard the keys are hashed with foldhash, keyed by a random seed
//! drawn once per process. The keys are chosen by whoever registers a peer
//! or an API key, so the hash must stay keyed: a fixed hash would let them
//! register keys that all fall in one bucket. foldhash hashes a 71-byte
//! fingerprint in a few nanoseconds where SipHash-1-3, std's default, takes
//! tens, and that is most of what a lookup costs beside cloning the identity.

use std::collections::HashMap;
use std::sync::Arc;

use super::{EncryptedData, Identity, ProviderHealth};
use crate::time::now_ms;

const SHARDS: usize = 256;

/// One shard: a map keyed with a per-process random seed.
type Shard<V> = HashMap<Box<str>, V, foldhash::fast::RandomState>;

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

    fn index(key: &str) -> usize {
        fn nibble(b: u8) -> usize {
            match b {
                b'0'..=b'9' => usize::from(b - b'0'),
                b'a'..=b'f' => usize::from(b - b'a' + 10),
                _ => usize::from(b & 0x0f),
            }
        }
        match key.as_bytes() {
            [.., a, b] => (nibble(*a) << 4) | nibble(*b),
            _ => 0,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.shards[Self::index(key)].get(key)
    }

    pub(crate) fn insert(&mut self, key: &str, value: V) {
        Arc::make_mut(&mut self.shards[Self::index(key)]).insert(key.into(), value);
    }

    pub(crate) fn remove(&mut self, key: &str) {
        let shard = &mut self.shards[Self::index(key)];
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

    /// The identity for a canonical fingerprint. The clock is read only
    /// for a grant with a time bound.
    pub(crate) fn by_fingerprint(&self, canonical: &str) -> Lookup {
        match self.fingerprints.get(canonical) {
            Some(resolved) => serve(resolved),
            None => Lookup::Missing,
        }
    }

    /// The identity for a token hash.
    pub(crate) fn by_token_hash(&self, hash: &str) -> Lookup {
        match self.tokens.get(hash) {
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
    use super::*;

    #[test]
    fn a_write_copies_only_its_shard() {
        let mut a: Shards<u32> = Shards::new();
        for i in 0..1000u32 {
            a.insert(&format!("{i:064x}"), i);
        }
        let mut b = a.clone();
        b.insert(&format!("{:064x}", 5000), 5000);
        b.remove(&format!("{:064x}", 7));
        let shared = a
            .shards
            .iter()
            .zip(&b.shards)
            .filter(|(x, y)| Arc::ptr_eq(x, y))
            .count();
        assert_eq!(shared, SHARDS - 2);
        assert_eq!(a.len(), 1000);
        assert_eq!(b.len(), 1000);
        assert_eq!(b.get(&format!("{:064x}", 5000)), Some(&5000));
        assert_eq!(b.get(&format!("{:064x}", 7)), None);
        assert_eq!(a.get(&format!("{:064x}", 7)), Some(&7));
    }
}
