//! The built-in graphs, each checked by the code its domain's writes,
//! imports and loaders run: the ACL graph, every taskgraph and every
//! workflow; then API keys against the owners those leave.

use std::collections::HashSet;

use super::report::{ProblemKind, Verifier};
use crate::error::Result;
use crate::{acl, identity, taskgraph, workflow};

/// The built-in graphs against the rules their domains keep (the same
/// functions the domain writes, imports and loaders run), and API keys
/// against their owners.
pub(super) fn graphs(v: &mut Verifier<'_>) -> Result<()> {
    let graphs: Vec<(String, String)> = v
        .reader
        .graphs()?
        .into_iter()
        .map(|g| (g.name, g.graph_type))
        .collect();
    let mut principals = HashSet::new();
    for (name, graph_type) in &graphs {
        let problems = match graph_type.as_str() {
            acl::GRAPH_TYPE if name == acl::GRAPH => {
                let (problems, held_by) = acl::verify::graph(v.reader)?;
                principals.extend(held_by);
                problems
            }
            taskgraph::GRAPH_TYPE => taskgraph::status_problems(v.reader, name)?,
            workflow::GRAPH_TYPE => workflow::problems(v.reader, name)?,
            _ => continue,
        };
        for problem in problems {
            v.report.add(ProblemKind::Domain, problem.to_string());
        }
    }
    identity::verify::key_owners(v, &principals)
}
