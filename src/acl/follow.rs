//! [`AclFollower`]: the ACL graph in memory, resolved, and kept up to date
//! from the change stream. [`Acl`](super::Acl) and the identity registry's
//! snapshot both derive their grants from one.
//!
//! A catch-up reads, in the caller's read transaction, the change batches
//! committed since the stream offset it last applied, re-reads the ACL
//! nodes and edges they name and applies those rows to the graph, so only
//! the principals downstream of a change are re-resolved. It loads the
//! whole graph instead when it cannot follow the stream (batches pruned or
//! undecodable), when the ACL's graph or types changed, or when the named
//! rows do not apply (a row the codec rejects, an edge whose endpoint the
//! graph in memory does not hold).
//!
//! **Failing closed.** When the whole graph cannot be loaded either, the
//! follower holds an *empty* graph until a later catch-up succeeds: every
//! principal then resolves to nothing, so a reader can never be served a
//! grant the store no longer holds. The failure is kept
//! ([`AclFollower::error`]), and the next catch-up retries the full load.

use std::collections::BTreeSet;

use super::check::Identity;
use super::model::{AclEdge, Principal};
use super::resolve::{EffectiveGrant, Resolution, Touched};
use super::snapshot::{edge_entity, node_entity, AclGraph, Affected};
use super::{codec, GRAPH, GRAPH_TYPE};
use crate::outbox::{stream, ChangeBatch, ChangeEvent, EntityKind};
use crate::{Error, Reader, Result};

/// Stream rows read per query while catching up.
const STREAM_PAGE: i64 = 256;

/// Which principals' effective grants a catch-up (or a move in time) may
/// have changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Changed {
    /// Possibly every principal's (the graph was loaded or emptied).
    All,
    /// These principals' (by identity id), removed ones included.
    Principals(BTreeSet<String>),
}

impl Changed {
    /// No principal.
    pub(crate) fn none() -> Self {
        Changed::Principals(BTreeSet::new())
    }

    /// Whether nothing changed.
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Changed::Principals(ids) if ids.is_empty())
    }

    fn merge(&mut self, other: Changed) {
        match (&mut *self, other) {
            (Changed::All, _) => {}
            (_, Changed::All) => *self = Changed::All,
            (Changed::Principals(ids), Changed::Principals(more)) => ids.extend(more),
        }
    }

    fn of_touched(touched: Touched, graph: &AclGraph) -> Changed {
        match touched {
            Touched::All => Changed::All,
            Touched::Some(region) => Changed::Principals(
                region
                    .into_iter()
                    .map(|ix| graph.identity_of(ix).to_owned())
                    .filter(|id| !id.is_empty())
                    .collect(),
            ),
        }
    }
}

/// What one catch-up found.
#[derive(Debug)]
pub(crate) struct Followed {
    /// The store revision the read transaction saw (and the follower now
    /// reflects, or failed to).
    pub(crate) revision: u64,
    /// Whether every batch since the previous offset was read and handed to
    /// the caller's event callback. `false`: batches were pruned or did not
    /// decode (or none were read), and whatever else the caller derives
    /// from the store must be reloaded.
    pub(crate) continuous: bool,
    /// The principals whose grants may have changed, or why the ACL could
    /// not be brought up to date (the graph is empty then).
    pub(crate) acl: Result<Changed>,
}

/// The ACL graph in memory, its resolution, and the stream position they
/// reflect. See the [module documentation](self).
#[derive(Debug)]
pub(crate) struct AclFollower {
    graph: AclGraph,
    resolution: Resolution,
    max_depth: u32,
    /// The last stream offset applied.
    offset: i64,
    /// The store revision applied.
    revision: u64,
    /// Whether the next catch-up must load the whole graph.
    dirty: bool,
    /// Why the last catch-up failed; the graph is empty while it is set.
    error: Option<String>,
    /// The write epoch of the last writes made around the engine that a
    /// catch-up reloaded for (see `outbox::outside_epoch`).
    outside_seen: Option<i64>,
}

impl Clone for AclFollower {
    /// A copy at the same revision and offset; its resolution follows the
    /// copied graph.
    fn clone(&self) -> Self {
        let graph = self.graph.clone();
        let mut resolution = self.resolution.clone();
        resolution.retarget(&graph);
        AclFollower {
            graph,
            resolution,
            max_depth: self.max_depth,
            offset: self.offset,
            revision: self.revision,
            dirty: self.dirty,
            error: self.error.clone(),
            outside_seen: self.outside_seen,
        }
    }
}

/// The ACL node and edge keys, and structural changes, a run of batches
/// names.
#[derive(Default)]
struct Named {
    nodes: BTreeSet<String>,
    edges: BTreeSet<String>,
    /// The ACL's graph or types changed: load everything.
    structure: bool,
}

impl Named {
    fn add(&mut self, event: &ChangeEvent) {
        match event.entity {
            EntityKind::Node if event.graph.as_deref() == Some(GRAPH) => {
                self.nodes.insert(event.key.clone());
            }
            EntityKind::Edge if event.graph.as_deref() == Some(GRAPH) => {
                self.edges.insert(event.key.clone());
            }
            EntityKind::Graph => self.structure |= event.key == GRAPH,
            EntityKind::GraphType => self.structure |= event.key == GRAPH_TYPE,
            EntityKind::NodeType | EntityKind::EdgeType => {
                self.structure |= event.graph_type.as_deref() == Some(GRAPH_TYPE);
            }
            _ => {}
        }
    }
}

/// The stream read by one catch-up.
struct Stream {
    /// The highest offset on the change topic.
    head: i64,
    /// Whether every batch after the previous offset was read and decoded.
    continuous: bool,
}

impl AclFollower {
    /// A follower that has loaded nothing yet: its first catch-up loads the
    /// whole graph.
    pub(crate) fn new(max_depth: u32, now: i64) -> Self {
        let graph = AclGraph::new();
        let resolution = graph.resolver().max_depth(max_depth).resolve_all(now);
        AclFollower {
            graph,
            resolution,
            max_depth,
            offset: 0,
            revision: 0,
            dirty: true,
            error: None,
            outside_seen: None,
        }
    }

    /// The graph in memory (empty while [`error`](Self::error) is set).
    pub(crate) fn graph(&self) -> &AclGraph {
        &self.graph
    }

    /// Every principal's effective grant at [`Resolution::at`].
    pub(crate) fn resolution(&self) -> &Resolution {
        &self.resolution
    }

    /// The store revision it reflects.
    pub(crate) fn revision(&self) -> u64 {
        self.revision
    }

    /// The longest chain resolution follows, in edges.
    pub(crate) fn max_depth(&self) -> u32 {
        self.max_depth
    }

    /// Whether the next catch-up must load the whole graph: a change could
    /// not be applied in memory.
    pub(crate) fn needs_reload(&self) -> bool {
        self.dirty
    }

    /// Why the last catch-up failed, while the graph is held empty.
    pub(crate) fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Makes the next catch-up load the whole graph (after a watcher
    /// restart, when changes may have gone unseen).
    pub(crate) fn invalidate(&mut self) {
        self.dirty = true;
    }

    /// Brings the graph up to the revision `reader` sees and the resolution
    /// to `now`.
    ///
    /// # Errors
    ///
    /// The error that kept the ACL from being read; the graph is empty
    /// until a later catch-up succeeds.
    pub(crate) fn catch_up(&mut self, reader: &Reader, now: i64) -> Result<Changed> {
        self.follow(reader, now, None)?.acl
    }

    /// As [`catch_up`](Self::catch_up), and hands every change event after
    /// the previous offset to `on_event` (when given), so a caller deriving
    /// more from the stream reads it once.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] when the revision or the stream cannot be read;
    /// the graph is empty then. A failure to load the ACL itself is
    /// [`Followed::acl`].
    pub(crate) fn follow(
        &mut self,
        reader: &Reader,
        now: i64,
        on_event: Option<&mut dyn FnMut(&ChangeEvent)>,
    ) -> Result<Followed> {
        let outcome = self.follow_inner(reader, now, on_event);
        match &outcome {
            Ok(followed) => match &followed.acl {
                Ok(_) => {
                    self.dirty = false;
                    self.error = None;
                }
                Err(e) => self.fail(e, now),
            },
            Err(e) => self.fail(e, now),
        }
        outcome
    }

    fn follow_inner(
        &mut self,
        reader: &Reader,
        now: i64,
        mut on_event: Option<&mut dyn FnMut(&ChangeEvent)>,
    ) -> Result<Followed> {
        let revision = reader.revision()?;
        // Rows changed around the engine have no events: reload once for
        // each such change, and have the caller reload what it derives.
        let outside = crate::outbox::outside_epoch(reader.conn())?;
        let outside_unseen = outside.is_some() && outside != self.outside_seen;
        self.outside_seen = outside;
        if outside_unseen {
            self.dirty = true;
        }
        if !self.dirty && revision == self.revision {
            return Ok(Followed {
                revision,
                continuous: true,
                acl: Ok(self.advance(now)),
            });
        }
        let mut named = Named::default();
        let stream = if self.dirty && on_event.is_none() {
            Stream {
                head: stream::head(reader.conn())?,
                continuous: false,
            }
        } else {
            let mut visit = |event: &ChangeEvent| {
                named.add(event);
                if let Some(f) = on_event.as_deref_mut() {
                    f(event);
                }
            };
            read_stream(reader, self.offset, &mut visit)?
        };
        let acl = if !self.dirty && stream.continuous && !named.structure {
            match self.apply_named(reader, &named, now) {
                Ok(changed) => Ok(changed),
                // The rows do not fit the graph in memory: start over.
                Err(_) => self.load(reader, now),
            }
        } else {
            self.load(reader, now)
        };
        self.offset = stream.head;
        self.revision = revision;
        Ok(Followed {
            revision,
            continuous: stream.continuous && !outside_unseen,
            acl,
        })
    }

    /// Holds the graph empty and remembers why.
    fn fail(&mut self, error: &Error, now: i64) {
        self.graph = AclGraph::new();
        self.resolution = self
            .graph
            .resolver()
            .max_depth(self.max_depth)
            .resolve_all(now);
        self.dirty = true;
        self.error = Some(error.to_string());
    }

    fn load(&mut self, reader: &Reader, now: i64) -> Result<Changed> {
        let graph = match codec::load(reader) {
            Ok(graph) => graph,
            Err(e) if e.is_not_found() => AclGraph::new(),
            Err(e) => return Err(e),
        };
        self.resolution = graph.resolver().max_depth(self.max_depth).resolve_all(now);
        self.graph = graph;
        Ok(Changed::All)
    }

    fn apply_named(&mut self, reader: &Reader, named: &Named, now: i64) -> Result<Changed> {
        let mut changed = self.advance(now);
        if named.nodes.is_empty() && named.edges.is_empty() {
            return Ok(changed);
        }
        let rows = codec::read_rows(reader, &named.nodes, &named.edges)?;
        let affected = codec::apply_rows(&mut self.graph, rows)?;
        let touched = self.resolution.update_touched(&self.graph, &affected);
        changed.merge(Changed::of_touched(touched, &self.graph));
        changed.merge(Changed::Principals(
            named
                .nodes
                .iter()
                .filter(|key| !key.starts_with(codec::RESOURCE_KEY_PREFIX))
                .cloned()
                .collect(),
        ));
        Ok(changed)
    }

    /// Moves the resolution to `now`, recomputing the grants whose
    /// `valid_until` passed; pure memory work.
    pub(crate) fn advance(&mut self, now: i64) -> Changed {
        let touched = self.resolution.advance_touched(&self.graph, now);
        Changed::of_touched(touched, &self.graph)
    }

    /// Applies a write of this process that committed at `revision`
    /// (`change` edits the graph and says what it affected). If it does not
    /// apply, the next catch-up loads the whole graph.
    pub(crate) fn apply_local(
        &mut self,
        revision: u64,
        change: impl FnOnce(&mut AclGraph) -> Result<Affected>,
    ) {
        match change(&mut self.graph) {
            Ok(affected) => {
                self.resolution.update(&self.graph, &affected);
            }
            Err(_) => self.dirty = true,
        }
        // The offset stays before this write's batch: a later catch-up
        // re-reads its rows, which is idempotent.
        self.revision = revision;
    }

    // -- reads ------------------------------------------------------------------

    /// [`effective_at`](Self::effective_at) as the flat [`Identity`] the
    /// access check reads; served from memory without building the
    /// grant's sets first.
    pub(crate) fn identity_at(&self, identity_id: &str, t: i64) -> Option<Identity> {
        if self.resolution.covers(&self.graph, identity_id, t) {
            if let Some(identity) = self.resolution.identity(&self.graph, identity_id) {
                return Some(identity);
            }
        }
        self.effective_at(identity_id, t)
            .map(|grant| grant.into_identity(identity_id))
    }

    /// The principal's effective grant at `t`: from the resolution when it
    /// is valid at `t`, resolved on demand otherwise.
    pub(crate) fn effective_at(&self, identity_id: &str, t: i64) -> Option<EffectiveGrant> {
        if self.resolution.covers(&self.graph, identity_id, t) {
            return self.resolution.effective(&self.graph, identity_id);
        }
        self.graph
            .resolver()
            .max_depth(self.max_depth)
            .effective_at(identity_id, t)
    }

    /// The principal, or [`Error::NotFound`].
    pub(crate) fn require_principal(&self, identity_id: &str) -> Result<&Principal> {
        self.graph
            .principal(identity_id)
            .ok_or_else(|| Error::NotFound {
                entity: node_entity(identity_id),
            })
    }

    /// The key of the stored edge `edge` stands for, or [`Error::NotFound`].
    pub(crate) fn require_edge(&self, edge: &AclEdge) -> Result<String> {
        self.graph
            .find_edge(edge)
            .map(str::to_owned)
            .ok_or_else(|| Error::NotFound {
                entity: edge_entity(&edge.key()),
            })
    }

    /// [`Error::AlreadyExists`] if `edge` is stored.
    pub(crate) fn refuse_existing(&self, edge: &AclEdge) -> Result<()> {
        match self.graph.find_edge(edge) {
            Some(key) => Err(Error::AlreadyExists {
                entity: edge_entity(key),
            }),
            None => Ok(()),
        }
    }
}

/// Hands every event of the batches after `offset` to `visit`, page by
/// page; stops at the first batch that does not decode, or reads nothing
/// when batches after `offset` were pruned.
fn read_stream(
    reader: &Reader,
    offset: i64,
    visit: &mut dyn FnMut(&ChangeEvent),
) -> Result<Stream> {
    let head = stream::head(reader.conn())?;
    let pruned_through = stream::pruned_through(reader.conn())?;
    if pruned_through > offset {
        return Ok(Stream {
            head,
            continuous: false,
        });
    }
    let mut last = offset;
    loop {
        let rows = stream::since(reader.conn(), last, STREAM_PAGE)?;
        let full_page = rows.len() as i64 == STREAM_PAGE;
        for (row_offset, payload) in rows {
            // A batch that does not decode, or that follows writes made
            // around the engine, cannot be followed event by event.
            let batch = match ChangeBatch::from_payload(&payload) {
                Ok(batch) if !batch.outside_writes => batch,
                _ => {
                    return Ok(Stream {
                        head,
                        continuous: false,
                    })
                }
            };
            batch.events.iter().for_each(&mut *visit);
            last = row_offset;
        }
        if !full_page {
            break;
        }
    }
    Ok(Stream {
        head: head.max(last),
        continuous: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::model::{Delegation, IdentityType};
    use crate::acl::Acl;
    use crate::Store;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("f.db")).unwrap();
        (dir, store)
    }

    fn raw(store: &Store, sql: &str) {
        rusqlite::Connection::open(store.path())
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    }

    fn scopes(follower: &AclFollower, id: &str) -> Vec<String> {
        follower
            .effective_at(id, crate::time::now_ms())
            .map(|g| g.scopes.into_iter().collect())
            .unwrap_or_default()
    }

    #[test]
    fn catches_up_incrementally_and_reports_the_principals_changed() {
        let (_dir, store) = store();
        let mut acl = Acl::open(&store).unwrap();
        acl.add_principal(&Principal::new("a", IdentityType::Account).scopes(["s"]))
            .unwrap();
        acl.add_principal(&Principal::new("b", IdentityType::Service))
            .unwrap();
        acl.add_principal(&Principal::new("c", IdentityType::Service))
            .unwrap();
        let now = crate::time::now_ms();
        let mut follower = AclFollower::new(8, now);
        let read = store.begin_read().unwrap();
        assert_eq!(follower.catch_up(&read, now).unwrap(), Changed::All);
        drop(read);

        acl.delegate(&Delegation::new("a", "b").scopes(["s"]))
            .unwrap();
        let mut seen = Vec::new();
        let read = store.begin_read().unwrap();
        let followed = follower
            .follow(
                &read,
                now,
                Some(&mut |e: &ChangeEvent| seen.push(e.key.clone())),
            )
            .unwrap();
        assert!(followed.continuous);
        assert_eq!(followed.revision, read.revision().unwrap());
        assert_eq!(
            followed.acl.unwrap(),
            Changed::Principals(BTreeSet::from(["b".to_owned()]))
        );
        assert_eq!(seen, ["delegates a b"]);
        assert_eq!(scopes(&follower, "b"), ["s"]);
        assert!(scopes(&follower, "c").is_empty());

        // Nothing new: nothing changes, and the stream is not read.
        let followed = follower.follow(&read, now, None).unwrap();
        assert!(followed.acl.unwrap().is_empty());
    }

    #[test]
    fn a_row_it_cannot_apply_or_load_empties_the_graph_until_repaired() {
        let (_dir, store) = store();
        let mut acl = Acl::open(&store).unwrap();
        acl.add_principal(&Principal::new("a", IdentityType::Account).scopes(["s"]))
            .unwrap();
        let now = crate::time::now_ms();
        let mut follower = AclFollower::new(8, now);
        follower
            .catch_up(&store.begin_read().unwrap(), now)
            .unwrap();
        assert_eq!(scopes(&follower, "a"), ["s"]);

        // A principal whose identity_id is not its key, named by a batch.
        acl.add_principal(&Principal::new("b", IdentityType::Account))
            .unwrap();
        raw(
            &store,
            r#"UPDATE nodes SET attributes = json_set(attributes, '$.identity_id', 'z')
               WHERE key = 'b'"#,
        );
        let err = follower
            .catch_up(&store.begin_read().unwrap(), now)
            .unwrap_err();
        assert!(
            err.to_string().contains("differs from the node key"),
            "{err}"
        );
        assert_eq!(follower.error(), Some(err.to_string().as_str()));
        assert_eq!(follower.graph().principal_count(), 0);
        assert!(follower.effective_at("a", now).is_none());

        // Retried on the next catch-up, even with no new revision.
        let read = store.begin_read().unwrap();
        assert!(follower.catch_up(&read, now).is_err());
        drop(read);
        raw(
            &store,
            r#"UPDATE nodes SET attributes = json_set(attributes, '$.identity_id', 'b')
               WHERE key = 'b'"#,
        );
        assert_eq!(
            follower
                .catch_up(&store.begin_read().unwrap(), now)
                .unwrap(),
            Changed::All
        );
        assert_eq!(follower.error(), None);
        assert_eq!(scopes(&follower, "a"), ["s"]);
    }

    #[test]
    fn pruned_batches_mean_a_full_load_and_a_discontinuous_stream() {
        let (_dir, store) = store();
        let mut acl = Acl::open(&store).unwrap();
        let now = crate::time::now_ms();
        let mut follower = AclFollower::new(8, now);
        follower
            .catch_up(&store.begin_read().unwrap(), now)
            .unwrap();
        acl.add_principal(&Principal::new("a", IdentityType::Account).scopes(["s"]))
            .unwrap();
        raw(
            &store,
            "INSERT OR REPLACE INTO _alknet_meta (key, value) VALUES ('stream_pruned_through', 1000000)",
        );
        let read = store.begin_read().unwrap();
        let mut called = false;
        let followed = follower
            .follow(&read, now, Some(&mut |_: &ChangeEvent| called = true))
            .unwrap();
        assert!(!followed.continuous);
        assert!(!called);
        assert_eq!(followed.acl.unwrap(), Changed::All);
        assert_eq!(scopes(&follower, "a"), ["s"]);
    }
}
