//! Reverse lookups: who holds a scope or a resource action, served from
//! the inverted index a [`Resolution`] keeps (see
//! [`holders`](super::holders)), at the current instant or any other.

use std::borrow::Cow;

use super::handle::Acl;
use super::model::{Permission, Resources};
use super::resolve::{holders_in, Resolution};
use super::snapshot::AclGraph;
use crate::time::now_ms;

/// A resolution of `graph` at `t`: `resolution` itself when it follows
/// `graph` and holds every principal's grant at `t`, otherwise a copy moved
/// forward to `t` (only the grants whose `valid_until` passed are
/// recomputed) or, for an instant before it, a fresh resolution at `t`.
pub(crate) fn resolution_at<'r>(
    graph: &AclGraph,
    resolution: &'r Resolution,
    t: i64,
) -> Cow<'r, Resolution> {
    if resolution.follows(graph) && resolution.at() <= t {
        if resolution.stable_until().is_none_or(|until| t < until) {
            return Cow::Borrowed(resolution);
        }
        let mut moved = resolution.clone();
        moved.advance(graph, t);
        return Cow::Owned(moved);
    }
    Cow::Owned(
        graph
            .resolver()
            .max_depth(resolution.max_depth())
            .resolve_all(t),
    )
}

/// [`holders_in`] at `t`, resolving at `t` when `resolution` does not hold
/// it (see [`resolution_at`]).
pub(crate) fn subjects_at(
    graph: &AclGraph,
    resolution: &Resolution,
    permission: &Permission,
    t: i64,
) -> Vec<String> {
    let at_t = resolution_at(graph, resolution, t);
    holders_in(graph, &at_t, permission)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

impl Acl {
    /// Every principal holding `permission` (a scope, or an action on a
    /// resource) now, sorted by identity id. Peers, which also hold their
    /// principal's grant, are looked up by
    /// [`SqliteIdentityProvider::subjects`](crate::identity::SqliteIdentityProvider::subjects).
    ///
    /// # Complexity
    ///
    /// As [`subjects_at`](Acl::subjects_at) at the current time.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::{Acl, Delegation, IdentityType, Membership, Permission, Principal};
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("acl.db"))?;
    /// let mut acl = Acl::open(&store)?;
    /// acl.add_principal(&Principal::new("eng", IdentityType::Org).scopes(["repo:read"]))?;
    /// acl.add_principal(&Principal::new("ada", IdentityType::Account))?;
    /// acl.add_principal(&Principal::new("bot", IdentityType::Service))?;
    /// acl.add_membership(&Membership::new("ada", "eng"))?;
    /// acl.delegate(&Delegation::new("ada", "bot").scopes(["repo:read"]).expires_at(2_000_000_000_000))?;
    ///
    /// assert_eq!(acl.subjects(&Permission::scope("repo:read")), ["ada", "bot", "eng"]);
    /// // After the delegation expires, the bot no longer holds it.
    /// assert_eq!(acl.subjects_at(&Permission::scope("repo:read"), 2_000_000_000_000), ["ada", "eng"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subjects(&self, permission: &Permission) -> Vec<String> {
        self.subjects_at(permission, now_ms())
    }

    /// Every principal holding `permission` at `t` (unix milliseconds),
    /// sorted by identity id.
    ///
    /// # Complexity
    ///
    /// Served from the resolution's inverted index in O(h log h) for h
    /// holders when the resolution in memory holds every grant at `t`
    /// (`t` at or after [`Resolution::at`] and before every grant's
    /// `valid_until`: the usual case for "now"), after an O(N) check.
    /// A later `t` copies the resolution (O(N + A)) and recomputes the
    /// grants whose `valid_until` passed; an earlier `t` resolves every
    /// principal at `t`, as [`Resolver::resolve_all`](super::Resolver::resolve_all).
    pub fn subjects_at(&self, permission: &Permission, t: i64) -> Vec<String> {
        subjects_at(self.graph(), self.resolution(), permission, t)
    }

    /// Every resource action the principal holds now, by resource name, or
    /// `None` if there is no such principal.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::{Acl, Action, IdentityType, Principal, Resource};
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("acl.db"))?;
    /// let mut acl = Acl::open(&store)?;
    /// acl.add_principal(&Principal::new("ada", IdentityType::Account).resource("repo", ["read"]))?;
    /// acl.add_resource(&Resource::instance("repo", "web"))?;
    /// acl.grant("ada", Action::Write, "repo/web")?;
    /// let held = acl.resources("ada").unwrap();
    /// assert_eq!(held["repo"].iter().collect::<Vec<_>>(), ["read"]);
    /// assert_eq!(held["repo/web"].iter().collect::<Vec<_>>(), ["write"]);
    /// assert!(acl.resources("nobody").is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resources(&self, identity_id: &str) -> Option<Resources> {
        self.resources_at(identity_id, now_ms())
    }

    /// Every resource action the principal holds at `t`, by resource
    /// name, or `None` if there is no such principal.
    ///
    /// # Complexity
    ///
    /// As [`effective_at`](Acl::effective_at).
    pub fn resources_at(&self, identity_id: &str, t: i64) -> Option<Resources> {
        self.effective_at(identity_id, t)
            .map(|grant| grant.resources)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::model::{AclEdge, Delegation, IdentityType, Principal};

    #[test]
    fn the_index_built_after_updates_agrees_with_one_built_before() {
        let mut graph = AclGraph::new();
        graph.insert_principal(Principal::new("alice", IdentityType::Account).scopes(["s", "t"]));
        graph.insert_principal(Principal::new("bob", IdentityType::Account));
        graph.insert_principal(Principal::new("carol", IdentityType::Account));
        let mut early = graph.resolver().resolve_all(0);
        let mut late = graph.resolver().resolve_all(0);
        let s = Permission::scope("s");
        assert_eq!(holders_in(&graph, &early, &s), ["alice"], "built now");
        for edge in [
            AclEdge::Delegates(Delegation::new("alice", "bob").scopes(["s"])),
            AclEdge::Delegates(Delegation::new("bob", "carol").scopes(["s"])),
        ] {
            let affected = graph.insert_edge(edge).unwrap();
            early.update(&graph, &affected);
            late.update(&graph, &affected);
        }
        let affected = graph.remove_principal("bob");
        early.update(&graph, &affected);
        late.update(&graph, &affected);
        let fresh = graph.resolver().resolve_all(0);
        for permission in [s, Permission::scope("t")] {
            let want = holders_in(&graph, &fresh, &permission);
            assert_eq!(holders_in(&graph, &early, &permission), want);
            assert_eq!(holders_in(&graph, &late, &permission), want);
        }
    }

    #[test]
    fn lookups_follow_incremental_updates_and_time() {
        let mut graph = AclGraph::new();
        graph.insert_principal(Principal::new("alice", IdentityType::Account).scopes(["s"]));
        graph.insert_principal(Principal::new("bob", IdentityType::Account));
        let mut resolution = graph.resolver().resolve_all(0);
        let s = Permission::scope("s");
        assert_eq!(holders_in(&graph, &resolution, &s), ["alice"]);

        let d = Delegation::new("alice", "bob").scopes(["s"]).expires_at(10);
        let affected = graph.insert_edge(AclEdge::Delegates(d)).unwrap();
        resolution.update(&graph, &affected);
        assert_eq!(holders_in(&graph, &resolution, &s), ["alice", "bob"]);
        assert_eq!(subjects_at(&graph, &resolution, &s, 9), ["alice", "bob"]);
        assert_eq!(subjects_at(&graph, &resolution, &s, 10), ["alice"]);
        assert!(matches!(
            resolution_at(&graph, &resolution, 9),
            Cow::Borrowed(_)
        ));

        let affected = graph.remove_principal("alice");
        resolution.update(&graph, &affected);
        assert!(holders_in(&graph, &resolution, &s).is_empty());
        assert!(holders_in(&graph, &resolution, &Permission::scope("never")).is_empty());
    }
}
