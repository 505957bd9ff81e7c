//! The built-in graph types own their rules on every write path.
//!
//! The graphs of `acl`, `taskgraph` and `workflow` keep invariants that the
//! metagraph's generic rules know nothing of: the ACL's key conventions,
//! its delegator-holds check and its audit log; the taskgraph's
//! task-status invariant; the workflow's schema compatibility along
//! `flows_to`. A generic write (`add_node`, `patch_node`, `add_edge`,
//! removals, `drop_graph`, an import, a petgraph save, a type change) to
//! such a graph or type is therefore refused with [`Error::Protected`],
//! naming the rule and what to use instead. The domain handles write
//! through the same metagraph calls inside [`WriteTxn::as_domain`], after
//! running their own checks, so each rule is kept in one place and no path
//! can leave a row that a loader rejects.

use crate::error::{Entity, Error, Result};
use crate::store::WriteTxn;

/// A graph type whose graphs only its domain handle writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    Acl,
    Taskgraph,
    Workflow,
}

impl Builtin {
    /// The built-in graph type called `graph_type`, if it is one.
    pub(crate) fn of(graph_type: &str) -> Option<Builtin> {
        match graph_type {
            crate::acl::GRAPH_TYPE => Some(Builtin::Acl),
            crate::taskgraph::GRAPH_TYPE => Some(Builtin::Taskgraph),
            crate::workflow::GRAPH_TYPE => Some(Builtin::Workflow),
            _ => None,
        }
    }

    /// The rule a generic write would bypass.
    pub(crate) fn rule(self) -> &'static str {
        match self {
            Builtin::Acl => {
                "the built-in ACL graph type is written only through the ACL, which keeps \
                 its key conventions, memberships only into orgs and roles, the \
                 delegator-holds check and the audit log"
            }
            Builtin::Taskgraph => {
                "the built-in taskgraph graph type is written only through the taskgraph API, \
                 which keeps the task-status invariant (a task is ready exactly when every \
                 task it depends on is done, and only a ready task starts)"
            }
            Builtin::Workflow => {
                "the built-in workflow graph type is written only through the workflow API, \
                 which checks that every flows_to edge joins compatible schemas"
            }
        }
    }

    /// What to use instead.
    pub(crate) fn instead(self) -> &'static str {
        match self {
            Builtin::Acl => "`alknet-graphs acl …` (acl::Acl)",
            Builtin::Taskgraph => "`alknet-graphs task …` (taskgraph::Taskgraphs)",
            Builtin::Workflow => "workflow::Workflows",
        }
    }

    /// The refusal of a generic write to `entity`.
    pub(crate) fn refusal(self, entity: Entity) -> Error {
        Error::Protected {
            entity,
            rule: self.rule(),
            instead: self.instead(),
        }
    }
}

impl WriteTxn<'_> {
    /// Runs `f` as the domain handle of a built-in graph type: its generic
    /// writes to built-in graphs and types are allowed, because the handle
    /// has checked its own rules first. Restores the previous mode whether
    /// `f` succeeds or fails.
    pub(crate) fn as_domain<R>(&mut self, f: impl FnOnce(&mut Self) -> Result<R>) -> Result<R> {
        let before = std::mem::replace(&mut self.domain, true);
        let result = f(self);
        self.domain = before;
        result
    }

    /// Refuses a generic write to a graph or type of the graph type
    /// `graph_type` when that is a built-in one and no domain handle is
    /// writing.
    pub(crate) fn guard(&self, graph_type: &str, entity: impl FnOnce() -> Entity) -> Result<()> {
        if self.domain {
            return Ok(());
        }
        match Builtin::of(graph_type) {
            Some(builtin) => Err(builtin.refusal(entity())),
            None => Ok(()),
        }
    }
}
