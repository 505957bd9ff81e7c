//! The inverted index atom → principals that a [`Resolution`] keeps up to
//! date with its own incremental updates, for reverse lookups (who holds a
//! scope or a resource action).
//!
//! The index's interface to the resolver is one call per principal it
//! recomputes ([`Holders::update`], with the atoms it held before and those
//! it holds now) and one read ([`Holders::of`]); whatever the resolver
//! keeps internally, that is all it has to provide.
//!
//! [`Resolution`]: super::Resolution

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use super::snapshot::{AtomId, Ix};

/// Atom → the principals holding it.
///
/// Sets rather than sorted lists, so that an update costs what changed
/// (O(1) per atom gained or lost) however many principals hold an atom.
#[derive(Debug, Clone, Default)]
pub(crate) struct Holders {
    by_atom: HashMap<AtomId, HashSet<Ix, IxHash>, IxHash>,
}

impl Holders {
    /// The index of `held`: for each principal slot in order, the atoms it
    /// holds.
    pub(crate) fn from_atoms<I>(held: impl IntoIterator<Item = I>) -> Self
    where
        I: IntoIterator<Item = AtomId>,
    {
        let mut holders = Holders::default();
        for (ix, atoms) in held.into_iter().enumerate() {
            for atom in atoms {
                holders.by_atom.entry(atom).or_default().insert(ix as Ix);
            }
        }
        holders
    }

    /// Principal `ix` held `old` (sorted atoms) and now holds `new`
    /// (sorted by atom): it is dropped from the sets of the atoms it lost
    /// and added to those of the atoms it gained.
    pub(crate) fn update(&mut self, ix: Ix, old: &[AtomId], new: &[(AtomId, u32)]) {
        let (mut i, mut j) = (0, 0);
        while i < old.len() || j < new.len() {
            match (old.get(i), new.get(j).map(|&(atom, _)| atom)) {
                (Some(&a), Some(b)) if a == b => {
                    i += 1;
                    j += 1;
                }
                (Some(&a), Some(b)) if a < b => {
                    self.forget(a, ix);
                    i += 1;
                }
                (Some(&a), None) => {
                    self.forget(a, ix);
                    i += 1;
                }
                (_, Some(b)) => {
                    self.by_atom.entry(b).or_default().insert(ix);
                    j += 1;
                }
                (None, None) => break,
            }
        }
    }

    fn forget(&mut self, atom: AtomId, ix: Ix) {
        if let Some(set) = self.by_atom.get_mut(&atom) {
            set.remove(&ix);
            if set.is_empty() {
                self.by_atom.remove(&atom);
            }
        }
    }

    /// The principals holding `atom`, in no particular order.
    pub(crate) fn of(&self, atom: AtomId) -> impl Iterator<Item = Ix> + '_ {
        self.by_atom.get(&atom).into_iter().flatten().copied()
    }
}

/// Hashing for dense `u32` indexes: one multiplication (the keys are
/// never chosen by an adversary: they are slots and interned atoms).
type IxHash = BuildHasherDefault<IxHasher>;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IxHasher(u64);

impl Hasher for IxHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_follows_what_each_principal_gains_and_loses() {
        let mut holders = Holders::default();
        let sorted = |holders: &Holders, atom| {
            let mut ixs: Vec<Ix> = holders.of(atom).collect();
            ixs.sort_unstable();
            ixs
        };
        holders.update(5, &[], &[(1, 0), (2, 1)]);
        holders.update(2, &[], &[(1, 0)]);
        assert_eq!(sorted(&holders, 1), [2, 5]);
        holders.update(5, &[1, 2], &[(2, 0), (3, 2)]);
        assert_eq!(sorted(&holders, 1), [2]);
        assert_eq!(sorted(&holders, 2), [5]);
        assert_eq!(sorted(&holders, 3), [5]);
        holders.update(5, &[2, 3], &[]);
        holders.update(2, &[1], &[]);
        assert!(holders.by_atom.is_empty(), "empty sets are dropped");
    }
}
