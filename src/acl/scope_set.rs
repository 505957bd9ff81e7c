//! The set of scopes an identity holds: hashed for the access check,
//! listed in sorted order for everything else.

use std::collections::HashSet;
use std::fmt;

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
/// but it doubles what building and cloning a set cost (measured at 5 and
/// 157 scopes: a clone 125 ns → 253 ns and 6.4 µs → 12.4 µs, while a
/// sorted listing costs 62 ns and 5.4 µs), and the identity provider
/// clones an identity on every lookup it serves, while scopes are listed
/// only to display, explain or serialize them.
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
    // `Box<str>` rather than `String`: 16 bytes a slot instead of 24, with
    // no capacity to keep; the check measured the same either way.
    scopes: HashSet<Box<str>, foldhash::fast::RandomState>,
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
        self.scopes.contains(scope)
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
    pub fn insert(&mut self, scope: impl Into<String>) -> bool {
        self.scopes.insert(scope.into().into_boxed_str())
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
        self.scopes.remove(scope)
    }

    /// How many scopes are held.
    pub fn len(&self) -> usize {
        self.scopes.len()
    }

    /// Whether no scope is held.
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
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
        let mut sorted: Vec<&str> = self.scopes.iter().map(|scope| &**scope).collect();
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
        let mut sorted: Vec<String> = self.scopes.into_iter().map(String::from).collect();
        sorted.sort_unstable();
        sorted.into_iter()
    }
}

impl<S: Into<String>> FromIterator<S> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = S>>(scopes: I) -> Self {
        let mut set = ScopeSet::new();
        set.extend(scopes);
        set
    }
}

impl<S: Into<String>> Extend<S> for ScopeSet {
    fn extend<I: IntoIterator<Item = S>>(&mut self, scopes: I) {
        self.scopes.extend(
            scopes
                .into_iter()
                .map(|scope| scope.into().into_boxed_str()),
        );
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
        self.scopes == other.scopes
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
    fn extends_with_strings_and_str() {
        let mut scopes = ScopeSet::new();
        scopes.extend(["a"]);
        scopes.extend(vec![String::from("b")]);
        scopes.extend([&String::from("c")]);
        assert_eq!(scopes, ["a", "b", "c"]);
        assert!(!scopes.is_empty());
    }
}
