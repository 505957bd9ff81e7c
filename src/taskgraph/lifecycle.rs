//! A task's lifecycle: reading its status, writing it, and promoting the
//! tasks whose dependencies are all done. The operations and the durable
//! dispatch both build on it; it knows neither.

use serde_json::{Map, Value};

use super::{Dag, First, Status, TaskRule, DEPENDS_ON, GRAPH_TYPE};
use crate::{Direction, Entity, Error, Reader, Result, WriteTxn};

/// Where a task that becomes ready is handed for running: the durable
/// dispatch queue, when the taskgraph has one.
pub(crate) trait Queue {
    /// Enqueues the job of task `key` inside `tx`.
    fn enqueue(&self, tx: &mut WriteTxn<'_>, graph: &str, key: &str) -> Result<()>;
}

pub(crate) fn task_entity(graph: &str, key: &str) -> Entity {
    Entity::Node {
        graph: graph.to_owned(),
        key: key.to_owned(),
    }
}

/// `graph` exists and is a taskgraph.
pub(crate) fn require_taskgraph(reader: &Reader, graph: &str) -> Result<()> {
    crate::metagraph::require_graph_of_type(reader, graph, GRAPH_TYPE)
}

/// The status of task `key`, or `None` if there is no such task.
pub(crate) fn try_status(reader: &Reader, graph: &str, key: &str) -> Result<Option<Status>> {
    let Some(node) = reader.node(graph, key)? else {
        return Ok(None);
    };
    let stored = node.attributes.get("status");
    match stored.and_then(Value::as_str).and_then(|s| s.parse().ok()) {
        Some(status) => Ok(Some(status)),
        None => Err(Error::task(
            task_entity(graph, key),
            TaskRule::NoStatus {
                found: stored.map(Value::to_string),
            },
        )),
    }
}

pub(crate) fn status_of(reader: &Reader, graph: &str, key: &str) -> Result<Status> {
    try_status(reader, graph, key)?.ok_or_else(|| Error::NotFound {
        entity: task_entity(graph, key),
    })
}

pub(crate) fn neighbours(
    reader: &Reader,
    graph: &str,
    key: &str,
    direction: Direction,
) -> Result<Vec<String>> {
    let mut keys: Vec<String> = reader
        .neighbors(graph, key, direction, Some(DEPENDS_ON))?
        .into_iter()
        .map(|n| n.node)
        .collect();
    keys.dedup();
    Ok(keys)
}

/// The tasks `key` depends on that are not done.
pub(crate) fn unfinished(reader: &Reader, graph: &str, key: &str) -> Result<Vec<String>> {
    let mut open = Vec::new();
    for dependency in neighbours(reader, graph, key, Direction::Out)? {
        if status_of(reader, graph, &dependency)? != Status::Done {
            open.push(dependency);
        }
    }
    Ok(open)
}

/// Every break of the taskgraph's status invariant in `graph`, one error
/// per task in key order: a `ready` task with a dependency not done, a
/// `pending` task whose dependencies are all done (it should be ready), a
/// started task (`running`, `done`, `failed`) with a dependency not done,
/// and a status the taskgraph does not know. The import, and `verify`,
/// apply this one rule.
pub(crate) fn status_problems(reader: &Reader, graph: &str) -> Result<Vec<Error>> {
    let dag = Dag::load(reader, graph, First::Target, true)?;
    let status = |i: usize| {
        dag.status[i]
            .as_deref()
            .and_then(|s| s.parse::<Status>().ok())
    };
    let mut problems = Vec::new();
    for (i, key) in dag.keys.iter().enumerate() {
        let entity = || task_entity(graph, key);
        let Some(own) = status(i) else {
            problems.push(Error::task(
                entity(),
                TaskRule::NoStatus {
                    found: dag.status[i].as_deref().map(|s| Value::from(s).to_string()),
                },
            ));
            continue;
        };
        let open = dag.before[i]
            .iter()
            .map(|&d| d as usize)
            .find(|&d| status(d) != Some(Status::Done));
        let broken = match (own, open) {
            (Status::Pending, None) => Some(TaskRule::ShouldBeReady),
            (Status::Ready | Status::Running | Status::Done | Status::Failed, Some(d)) => {
                Some(TaskRule::DependsOnUnfinished {
                    status: own,
                    on: dag.keys[d].clone(),
                    on_status: dag.status[d].clone(),
                })
            }
            _ => None,
        };
        if let Some(rule) = broken {
            problems.push(Error::task(entity(), rule));
        }
    }
    Ok(problems)
}

/// Writes a task's status (and the error of its last attempt).
pub(crate) fn set_status(
    tx: &mut WriteTxn<'_>,
    graph: &str,
    key: &str,
    status: Status,
    error: Option<&str>,
) -> Result<()> {
    let mut patch = Map::new();
    patch.insert("status".into(), Value::from(status.as_str()));
    if let Some(error) = error {
        patch.insert("last_error".into(), Value::from(error));
    }
    tx.as_domain(|tx| tx.patch_node(graph, key, &Value::Object(patch)))?;
    Ok(())
}

/// Makes a task ready and enqueues its job.
pub(crate) fn make_ready(
    tx: &mut WriteTxn<'_>,
    queue: Option<&dyn Queue>,
    graph: &str,
    key: &str,
) -> Result<()> {
    set_status(tx, graph, key, Status::Ready, None)?;
    if let Some(queue) = queue {
        queue.enqueue(tx, graph, key)?;
    }
    Ok(())
}

/// Promotes each candidate that is pending and has every dependency done;
/// returns those promoted.
pub(crate) fn promote_if_ready(
    tx: &mut WriteTxn<'_>,
    queue: Option<&dyn Queue>,
    graph: &str,
    candidates: &[String],
) -> Result<Vec<String>> {
    let mut promoted = Vec::new();
    for key in candidates {
        if status_of(tx, graph, key)? == Status::Pending && unfinished(tx, graph, key)?.is_empty() {
            make_ready(tx, queue, graph, key)?;
            promoted.push(key.clone());
        }
    }
    Ok(promoted)
}

/// The dependents of `key` that became ready now that it is done.
pub(crate) fn promote_dependents(
    tx: &mut WriteTxn<'_>,
    queue: Option<&dyn Queue>,
    graph: &str,
    key: &str,
) -> Result<Vec<String>> {
    let dependents = neighbours(tx, graph, key, Direction::In)?;
    promote_if_ready(tx, queue, graph, &dependents)
}
