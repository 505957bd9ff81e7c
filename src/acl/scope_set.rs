//! The set of scopes an identity holds: hashed for the access check,
//! listed in sorted order for everything else.

use std::fmt;
use std::hash::BuildHasher;
use std::ops::Range;

use hashbrown::HashTable;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};

/// The scopes an [`Identity`](super::Identity) holds.
///
/// Membership is one hash probe, so [`AccessControl::check`](super::AccessControl::check)
/// costs the same whether the caller holds three scopes or three hundred.
/// The hash is foldhash keyed by a seed drawn at random once per process
/// (and varied per set): scope names come from whoever writes a principal,
/// a peer or an API key, and a fixed hash would let them pick names that
/// all land in one bucket.
///
/// Everything that lists the scopes ([`iter`](Self::iter), `Debug`,
/// serialization, the equality with lists) sees them in sorted order,
/// without duplicates, so text and JSON built from an identity are
/// deterministic. The order is not stored: [`iter`](Self::iter) sorts
/// references to the scopes each time it is called, O(n log n) for n
/// scopes. Keeping a sorted list beside the set would make listing O(n),
/// but it adds to what building and cloning a set cost, and the identity
/// provider clones an identity on every lookup it serves, while scopes are
/// listed only to display, explain or serialize them.
///
/// The scopes' text is kept in one buffer, beside a hash table of where
/// each scope is in it: a set is two allocations whatever it holds, so a
/// clone (or a drop) is two copies of contiguous memory rather than one
/// allocation per scope.
///
/// # Example
///
/// ```
/// use alknet_graphs::acl::ScopeSet;
/// let mut scopes: ScopeSet = ["deploy", "ci", "deploy"].into_iter().collect();
/// assert!(scopes.contains("ci"));
/// assert_eq!(scopes.len(), 2);
/// assert!(scopes.insert("build"));
/// assert_eq!(scopes.iter().collect::<Vec<_>>(), ["build", "ci", "deploy"]);
/// // Compared with a list, as a sorted list without duplicates.
/// assert_eq!(scopes, ["deploy", "ci", "build"]);
/// assert_eq!(format!("{scopes:?}"), r#"["build", "ci", "deploy"]"#);
/// ```
#[derive(Clone, Default)]
pub struct ScopeSet {
    // Every scope's text one after another in `text`, and a hash table of
    // where each one is: two allocations whatever the number of scopes, so
    // that cloning (which the identity provider does on every lookup it
    // serves) and dropping a set costs two copies of contiguous memory,
    // not one allocation per scope. A removed scope's text stays until
    // the dead text outweighs the live, then the set is compacted.
    text: String,
    table: HashTable<Span>,
    /// Bytes of `text` that belong to a scope still held.
    live: usize,
    hasher: foldhash::fast::RandomState,
}

/// Where a scope's text is in [`ScopeSet::text`].
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
}

impl Span {
    fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

impl ScopeSet {
    /// An empty set.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::ScopeSet;
    /// assert!(ScopeSet::new().is_empty());
    /// ```
    pub fn new() -> Self {
        ScopeSet::default()
    }

    /// Whether `scope` is held.
    ///
    /// # Complexity
    ///
    /// O(1): one hash of `scope` and, on a match, one comparison.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::ScopeSet;
    /// let scopes = ScopeSet::from_iter(["repo:read"]);
    /// assert!(scopes.contains("repo:read"));
    /// assert!(!scopes.contains("repo:write"));
    /// ```
    pub fn contains(&self, scope: &str) -> bool {
        let hash = self.hasher.hash_one(scope);
        self.table
            .find(hash, |span| &self.text[span.range()] == scope)
            .is_some()
    }

    /// Adds `scope`; whether it was not held before.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::ScopeSet;
    /// let mut scopes = ScopeSet::new();
    /// assert!(scopes.insert("deploy"));
    /// assert!(!scopes.insert(String::from("deploy")));
    /// assert_eq!(scopes.len(), 1);
    /// ```
    pub fn insert(&mut self, scope: impl AsRef<str>) -> bool {
        let scope = scope.as_ref();
        let ScopeSet {
            text,
            table,
            live,
            hasher,
        } = self;
        let hash = hasher.hash_one(scope);
        let entry = table.entry(
            hash,
            |span| &text[span.range()] == scope,
            |span| hasher.hash_one(&text[span.range()]),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(vacant) => {
                let start = text.len();
                text.push_str(scope);
                *live += scope.len();
                vacant.insert(Span {
                    start,
                    end: text.len(),
                });
                true
            }
        }
    }

    /// Makes room for at least `additional` more scopes without growing
    /// the table again.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::ScopeSet;
    /// let mut scopes = ScopeSet::from_iter(["a"]);
    /// scopes.reserve(100);
    /// scopes.extend((0..100).map(|i| format!("s{i}")));
    /// assert_eq!(scopes.len(), 101);
    /// assert!(scopes.contains("a") && scopes.contains("s99"));
    /// ```
    pub fn reserve(&mut self, additional: usize) {
        let ScopeSet {
            text,
            table,
            hasher,
            ..
        } = self;
        table.reserve(additional, |span| hasher.hash_one(&text[span.range()]));
    }

    /// The scopes' text, each once, in no particular order.
    fn unordered(&self) -> impl Iterator<Item = &str> {
        self.table.iter().map(|span| &self.text[span.range()])
    }

    /// Drops the text of removed scopes.
    fn compact(&mut self) {
        let mut text = String::with_capacity(self.live);
        for span in self.table.iter_mut() {
            let start = text.len();
            text.push_str(&self.text[span.range()]);
            *span = Span {
                start,
                end: text.len(),
            };
        }
        self.text = text;
    }

    /// Removes `scope`; whether it was held.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::ScopeSet;
    /// let mut scopes = ScopeSet::from_iter(["ci", "deploy"]);
    /// assert!(scopes.remove("ci"));
    /// assert!(!scopes.remove("ci"));
    /// assert_eq!(scopes, ["deploy"]);
    /// ```
    pub fn remove(&mut self, scope: &str) -> bool {
        let hash = self.hasher.hash_one(scope);
        let Ok(entry) = self
            .table
            .find_entry(hash, |span| &self.text[span.range()] == scope)
        else {
            return false;
        };
        entry.remove();
        self.live -= scope.len();
        if self.text.len() > 2 * self.live + 64 {
            self.compact();
        }
        true
    }

    /// How many scopes are held.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no scope is held.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The scopes, in sorted order.
    ///
    /// # Complexity
    ///
    /// O(n log n) for n scopes, when called: it sorts references to them
    /// (see the type's documentation for why the order is not kept).
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::ScopeSet;
    /// let scopes = ScopeSet::from_iter(["b", "c", "a"]);
    /// assert_eq!(scopes.iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    /// ```
    pub fn iter(&self) -> ScopeSetIter<'_> {
        let mut sorted: Vec<&str> = self.unordered().collect();
        sorted.sort_unstable();
        ScopeSetIter {
            sorted: sorted.into_iter(),
        }
    }

    /// The set, equal to a list when the list, sorted and without
    /// duplicates, lists what it holds.
    fn equals_list<'a>(&self, list: impl IntoIterator<Item = &'a str>) -> bool {
        let mut list: Vec<&str> = list.into_iter().collect();
        list.sort_unstable();
        list.dedup();
        list.len() == self.len() && list.iter().all(|scope| self.contains(scope))
    }
}

/// The scopes of a [`ScopeSet`], in sorted order: made by
/// [`ScopeSet::iter`].
#[derive(Debug, Clone)]
pub struct ScopeSetIter<'a> {
    sorted: std::vec::IntoIter<&'a str>,
}

impl<'a> Iterator for ScopeSetIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        self.sorted.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.sorted.size_hint()
    }
}

impl DoubleEndedIterator for ScopeSetIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.sorted.next_back()
    }
}

impl ExactSizeIterator for ScopeSetIter<'_> {}

impl<'a> IntoIterator for &'a ScopeSet {
    type Item = &'a str;
    type IntoIter = ScopeSetIter<'a>;

    fn into_iter(self) -> ScopeSetIter<'a> {
        self.iter()
    }
}

/// The scopes, owned, in sorted order.
///
/// # Example
///
/// ```
/// use alknet_graphs::acl::ScopeSet;
/// let scopes = ScopeSet::from_iter(["b", "a"]);
/// assert_eq!(scopes.into_iter().collect::<Vec<String>>(), ["a", "b"]);
/// ```
impl IntoIterator for ScopeSet {
    type Item = String;
    type IntoIter = std::vec::IntoIter<String>;

    fn into_iter(self) -> Self::IntoIter {
        let mut sorted: Vec<String> = self.unordered().map(String::from).collect();
        sorted.sort_unstable();
        sorted.into_iter()
    }
}

impl<S: AsRef<str>> FromIterator<S> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = S>>(scopes: I) -> Self {
        let mut set = ScopeSet::new();
        set.extend(scopes);
        set
    }
}

impl<S: AsRef<str>> Extend<S> for ScopeSet {
    fn extend<I: IntoIterator<Item = S>>(&mut self, scopes: I) {
        for scope in scopes {
            self.insert(scope);
        }
    }
}

/// A list of the scopes, in sorted order: `["ci", "deploy"]`.
impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Set equality: the same scopes, whatever the order they were added in.
impl PartialEq for ScopeSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.unordered().all(|scope| other.contains(scope))
    }
}

impl Eq for ScopeSet {}

/// Equal when the list, sorted and without duplicates, lists the set.
impl<const N: usize> PartialEq<[&str; N]> for ScopeSet {
    fn eq(&self, list: &[&str; N]) -> bool {
        self.equals_list(list.iter().copied())
    }
}

/// Equal when the list, sorted and without duplicates, lists the set.
impl PartialEq<&[&str]> for ScopeSet {
    fn eq(&self, list: &&[&str]) -> bool {
        self.equals_list(list.iter().copied())
    }
}

/// Equal when the list, sorted and without duplicates, lists the set.
impl PartialEq<Vec<&str>> for ScopeSet {
    fn eq(&self, list: &Vec<&str>) -> bool {
        self.equals_list(list.iter().copied())
    }
}

/// Equal when the list, sorted and without duplicates, lists the set.
impl PartialEq<Vec<String>> for ScopeSet {
    fn eq(&self, list: &Vec<String>) -> bool {
        self.equals_list(list.iter().map(String::as_str))
    }
}

/// A JSON array of the scopes, in sorted order.
impl Serialize for ScopeSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// From an array of strings; a duplicate is held once.
impl<'de> Deserialize<'de> for ScopeSet {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<String>::deserialize(deserializer).map(ScopeSet::from_iter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_sorted_without_duplicates() {
        let scopes = ScopeSet::from_iter(["deploy", "ci", "b", "ci"]);
        assert_eq!(scopes.len(), 3);
        assert_eq!(scopes.iter().collect::<Vec<_>>(), ["b", "ci", "deploy"]);
        assert_eq!(scopes.iter().next_back(), Some("deploy"));
        assert_eq!(scopes.iter().len(), 3);
        assert_eq!(format!("{scopes:?}"), r#"["b", "ci", "deploy"]"#);
        assert_eq!(
            scopes.clone().into_iter().collect::<Vec<_>>(),
            ["b", "ci", "deploy"]
        );
    }

    #[test]
    fn equals_lists_as_sorted_and_deduplicated() {
        let scopes = ScopeSet::from_iter(["b", "a"]);
        assert_eq!(scopes, ["a", "b"]);
        assert_eq!(scopes, ["b", "a", "b"]);
        assert_eq!(scopes, &["a", "b"][..]);
        assert_eq!(scopes, vec!["a", "b"]);
        assert_eq!(scopes, vec!["a".to_owned(), "b".to_owned()]);
        assert_ne!(scopes, ["a"]);
        assert_ne!(scopes, ["a", "b", "c"]);
        assert_ne!(scopes, ["a", "c"]);
        assert_ne!(ScopeSet::new(), ["a"]);
        assert_eq!(ScopeSet::new(), [""; 0]);
    }

    #[test]
    fn equality_is_set_equality() {
        let mut left = ScopeSet::from_iter(["a", "b"]);
        let right = ScopeSet::from_iter(["b", "a", "a"]);
        assert_eq!(left, right);
        left.remove("a");
        assert_ne!(left, right);
        assert_eq!(ScopeSet::new(), ScopeSet::default());
    }

    #[test]
    fn serializes_as_a_sorted_array() {
        let scopes = ScopeSet::from_iter(["z", "a", "m"]);
        let json = serde_json::to_string(&scopes).unwrap();
        assert_eq!(json, r#"["a","m","z"]"#);
        let back: ScopeSet = serde_json::from_str(r#"["m","a","z","a"]"#).unwrap();
        assert_eq!(back, scopes);
        let err = serde_json::from_str::<ScopeSet>(r#""a""#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid type: string \"a\", expected a sequence at line 1 column 3"
        );
    }

    #[test]
    fn removing_most_scopes_compacts_the_text() {
        let name = |i: usize| format!("service-{i}:deploy:production");
        let mut scopes: ScopeSet = (0..100).map(name).collect();
        let full = scopes.text.len();
        for i in 10..100 {
            assert!(scopes.remove(&name(i)));
            assert!(scopes.text.len() <= 2 * scopes.live + 64 + name(i).len());
        }
        assert!(
            scopes.text.len() < full / 4,
            "{} of {full}",
            scopes.text.len()
        );
        assert_eq!(scopes.len(), 10);
        assert!((0..10).all(|i| scopes.contains(&name(i))));
        assert!(!scopes.contains(&name(10)));
        let copy = scopes.clone();
        assert!(scopes.insert(name(10)));
        assert_eq!(copy.len(), 10);
        assert_eq!(scopes.iter().count(), 11);
    }

    #[test]
    fn extends_with_strings_and_str() {
        let mut scopes = ScopeSet::new();
        scopes.extend(["a"]);
        scopes.extend(vec![String::from("b")]);
        scopes.extend([&String::from("c")]);
        assert_eq!(scopes, ["a", "b", "c"]);
        assert!(!scopes.is_empty());
    }
}
