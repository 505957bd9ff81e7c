//! The taskgraph operations: tasks, dependencies, status changes, and the
//! queries on a graph of tasks.

use std::collections::HashSet;

use rusqlite::OptionalExtension;
use serde_json::{Map, Value};

use super::dispatch::Dispatch;
use super::lifecycle::{
    make_ready, neighbours, promote_dependents, promote_if_ready, require_taskgraph, set_status,
    status_of, status_problems, task_entity, unfinished, Queue,
};
use super::{Dag, First, Status, Task, TaskRule, Taskgraphs, DEPENDS_ON, GRAPH_TYPE, TASK};
use crate::{Direction, Entity, Error, Graph, NewEdge, Reader, Result, WriteTxn};

/// The longest chain of dependencies by total duration.
#[derive(Debug, Clone, PartialEq)]
pub struct CriticalPath {
    /// Task keys, the first to run first; empty for an empty graph.
    pub tasks: Vec<String>,
    /// The sum of their durations (a task without one counts as 0).
    pub duration: f64,
}

impl Taskgraphs {
    fn queue(&self) -> Option<&Dispatch> {
        self.dispatch.as_ref()
    }

    fn ready_queue(&self) -> Option<&dyn Queue> {
        self.dispatch.as_ref().map(|d| d as &dyn Queue)
    }

    /// Creates an empty taskgraph.
    ///
    /// # Errors
    ///
    /// [`Error::AlreadyExists`] if a graph of that name exists;
    /// [`Error::Invalid`] for a bad name.
    pub fn create(&self, tx: &mut WriteTxn<'_>, name: &str) -> Result<Graph> {
        tx.as_domain(|tx| tx.create_graph(name, GRAPH_TYPE))
    }

    /// Drops taskgraph `name` with its tasks, cancelling their queued jobs.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist; [`Error::Invalid`]
    /// if it is not a taskgraph.
    pub fn drop_graph(&self, tx: &mut WriteTxn<'_>, name: &str) -> Result<()> {
        require_taskgraph(tx, name)?;
        if let Some(dispatch) = self.queue() {
            for key in crate::interop::all_nodes(tx, name, None)?
                .into_iter()
                .map(|n| n.key)
            {
                dispatch.cancel(tx, name, &key)?;
            }
        }
        tx.as_domain(|tx| tx.drop_graph(name))
    }

    /// Adds task `key`. Having no dependencies yet, it is ready at once (and
    /// its job enqueued); returns its status.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist; [`Error::Invalid`]
    /// if it is not a taskgraph; [`Error::Task`] ([`TaskRule::StatusGiven`])
    /// if `task` sets `status`; [`Error::AlreadyExists`] if the key is taken;
    /// [`Error::SchemaViolation`] for attributes the task schema rejects.
    pub fn add_task(
        &self,
        tx: &mut WriteTxn<'_>,
        graph: &str,
        key: &str,
        task: &Task,
    ) -> Result<Status> {
        require_taskgraph(tx, graph)?;
        if task.attributes().contains_key("status") {
            return Err(Error::task(task_entity(graph, key), TaskRule::StatusGiven));
        }
        let mut attributes = Map::with_capacity(task.attributes().len() + 1);
        attributes.insert("status".into(), Value::from(Status::Pending.as_str()));
        attributes.extend(task.attributes().clone());
        tx.as_domain(|tx| tx.add_node(graph, key, TASK, &Value::Object(attributes)))?;
        make_ready(tx, self.ready_queue(), graph, key)?;
        Ok(Status::Ready)
    }

    /// Replaces task `key`'s attributes with `task`'s, keeping its status
    /// (and the error of its last attempt): a status changes only through
    /// [`transition`](Taskgraphs::transition) and the dispatch.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph or task does not exist;
    /// [`Error::Invalid`] if it is not a taskgraph; [`Error::Task`]
    /// ([`TaskRule::StatusRewritten`]) if `task` sets `status`;
    /// [`Error::SchemaViolation`] for attributes the task schema
    /// rejects.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::taskgraph::{Status, Task, Taskgraphs};
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("tasks.db"))?;
    /// let tasks = Taskgraphs::open(&store)?;
    /// store.write(|tx| {
    ///     tasks.create(tx, "release")?;
    ///     tasks.add_task(tx, "release", "build", &Task::new().duration(5.0))?;
    ///     tasks.update_task(tx, "release", "build", &Task::new().duration(8.0))
    /// })?;
    /// assert_eq!(store.read(|r| tasks.status(r, "release", "build"))?, Status::Ready);
    /// assert_eq!(store.read(|r| tasks.critical_path(r, "release"))?.duration, 8.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn update_task(
        &self,
        tx: &mut WriteTxn<'_>,
        graph: &str,
        key: &str,
        task: &Task,
    ) -> Result<()> {
        require_taskgraph(tx, graph)?;
        if task.attributes().contains_key("status") {
            return Err(Error::task(
                task_entity(graph, key),
                TaskRule::StatusRewritten,
            ));
        }
        let current = tx.node(graph, key)?.ok_or_else(|| Error::NotFound {
            entity: task_entity(graph, key),
        })?;
        let mut attributes = Map::with_capacity(task.attributes().len() + 2);
        for kept in ["status", "last_error"] {
            if let Some(value) = current.attributes.get(kept) {
                attributes.insert(kept.into(), value.clone());
            }
        }
        attributes.extend(task.attributes().clone());
        tx.as_domain(|tx| tx.replace_node(graph, key, &Value::Object(attributes)))
    }

    /// Makes task `task` depend on task `on` and returns the edge's key. If
    /// `on` is not done, a ready `task` goes back to pending (and its queued
    /// job is cancelled).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if either task does not exist; [`Error::Cycle`]
    /// naming the cycle if `on` already depends on `task`, directly or not;
    /// [`Error::Task`] ([`TaskRule::StartedOnUnfinished`]) if `task` has
    /// already started (running, done or failed) and `on` is not done;
    /// [`Error::Rule`] for a self-dependency or a duplicate.
    ///
    /// # Example
    ///
    /// ```
    /// # use alknet_graphs::taskgraph::{Task, Taskgraphs};
    /// # use alknet_graphs::Store;
    /// # let dir = tempfile::tempdir()?;
    /// # let store = Store::open(dir.path().join("t.db"))?;
    /// let tasks = Taskgraphs::open(&store)?;
    /// let err = store.write(|tx| {
    ///     tasks.create(tx, "g")?;
    ///     for key in ["a", "b", "c"] {
    ///         tasks.add_task(tx, "g", key, &Task::new())?;
    ///     }
    ///     tasks.add_dependency(tx, "g", "b", "a")?;
    ///     tasks.add_dependency(tx, "g", "c", "b")?;
    ///     tasks.add_dependency(tx, "g", "a", "c")
    /// }).unwrap_err();
    /// assert_eq!(err.cycle().unwrap(), ["a", "c", "b", "a"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_dependency(
        &self,
        tx: &mut WriteTxn<'_>,
        graph: &str,
        task: &str,
        on: &str,
    ) -> Result<String> {
        require_taskgraph(tx, graph)?;
        let task_status = status_of(tx, graph, task)?;
        let on_status = status_of(tx, graph, on)?;
        if on_status != Status::Done
            && matches!(task_status, Status::Running | Status::Done | Status::Failed)
        {
            return Err(Error::task(
                task_entity(graph, task),
                TaskRule::StartedOnUnfinished {
                    status: task_status,
                    on: on.to_owned(),
                    on_status,
                },
            ));
        }
        let key = tx.as_domain(|tx| tx.add_edge(graph, NewEdge::new(DEPENDS_ON, task, on)))?;
        if on_status != Status::Done && task_status == Status::Ready {
            set_status(tx, graph, task, Status::Pending, None)?;
            if let Some(dispatch) = self.queue() {
                dispatch.cancel(tx, graph, task)?;
            }
        }
        Ok(key)
    }

    /// Removes every dependency of `task` on `on`; returns `[task]` if that
    /// made it ready, else nothing.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the task does not exist; [`Error::Task`]
    /// ([`TaskRule::NotADependency`]) if it does not depend on `on`.
    pub fn remove_dependency(
        &self,
        tx: &mut WriteTxn<'_>,
        graph: &str,
        task: &str,
        on: &str,
    ) -> Result<Vec<String>> {
        require_taskgraph(tx, graph)?;
        status_of(tx, graph, task)?;
        let edges: Vec<String> = tx
            .neighbors(graph, task, Direction::Out, Some(DEPENDS_ON))?
            .into_iter()
            .filter(|n| n.node == on)
            .map(|n| n.edge)
            .collect();
        if edges.is_empty() {
            return Err(Error::task(
                task_entity(graph, task),
                TaskRule::NotADependency { on: on.to_owned() },
            ));
        }
        for edge in edges {
            tx.as_domain(|tx| tx.remove_edge(graph, &edge))?;
        }
        promote_if_ready(tx, self.ready_queue(), graph, &[task.to_owned()])
    }

    /// Removes task `key` with its dependencies in both directions (and its
    /// queued job); returns the dependents that became ready.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph or task does not exist.
    pub fn remove_task(
        &self,
        tx: &mut WriteTxn<'_>,
        graph: &str,
        key: &str,
    ) -> Result<Vec<String>> {
        require_taskgraph(tx, graph)?;
        status_of(tx, graph, key)?;
        let dependents = neighbours(tx, graph, key, Direction::In)?;
        if let Some(dispatch) = self.queue() {
            dispatch.cancel(tx, graph, key)?;
        }
        tx.as_domain(|tx| tx.remove_node(graph, key))?;
        promote_if_ready(tx, self.ready_queue(), graph, &dependents)
    }

    /// The status of task `key`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph or task does not exist;
    /// [`Error::Invalid`] if the graph is not a taskgraph.
    pub fn status(&self, reader: &Reader, graph: &str, key: &str) -> Result<Status> {
        require_taskgraph(reader, graph)?;
        status_of(reader, graph, key)
    }

    /// Moves task `key` from status `expected` to `new`: a compare-and-set
    /// along the transitions of [`Status::can_become`]. Returns the tasks
    /// that became ready as a consequence:
    ///
    /// - to `ready`: every dependency must be done; its job is enqueued;
    /// - to `done`: each dependent whose dependencies are now all done
    ///   becomes ready;
    /// - to `pending` (a retry of a failed task): it becomes ready again at
    ///   once, its dependencies being done;
    /// - to `running`, `done`, `failed` or `cancelled`: its queued job, if
    ///   any, is cancelled (a worker holding it can no longer ack it).
    ///
    /// # Errors
    ///
    /// [`Error::StatusConflict`] naming the task if its status is not
    /// `expected` (someone else changed it first); [`Error::Task`] if the
    /// transition is not allowed ([`TaskRule::Transition`]) or the task
    /// cannot become ready yet ([`TaskRule::DependenciesNotDone`]); [`Error::NotFound`] if the graph or
    /// task does not exist.
    ///
    /// # Example
    ///
    /// ```
    /// # use alknet_graphs::taskgraph::{Status, Task, Taskgraphs};
    /// # use alknet_graphs::Store;
    /// # let dir = tempfile::tempdir()?;
    /// # let store = Store::open(dir.path().join("t.db"))?;
    /// let tasks = Taskgraphs::open(&store)?;
    /// store.write(|tx| {
    ///     tasks.create(tx, "g")?;
    ///     tasks.add_task(tx, "g", "a", &Task::new())?;
    ///     tasks.transition(tx, "g", "a", Status::Ready, Status::Running)
    /// })?;
    /// // A second worker that also saw it ready loses the race.
    /// let err = store
    ///     .write(|tx| tasks.transition(tx, "g", "a", Status::Ready, Status::Running))
    ///     .unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"node "a" in graph "g": status is "running", not the expected "ready""#
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn transition(
        &self,
        tx: &mut WriteTxn<'_>,
        graph: &str,
        key: &str,
        expected: Status,
        new: Status,
    ) -> Result<Vec<String>> {
        require_taskgraph(tx, graph)?;
        let entity = || task_entity(graph, key);
        let current = status_of(tx, graph, key)?;
        if current != expected {
            return Err(Error::StatusConflict {
                entity: entity(),
                current: current.as_str().to_owned(),
                expected: expected.as_str().to_owned(),
            });
        }
        if !current.can_become(new) {
            return Err(Error::task(
                entity(),
                TaskRule::Transition {
                    from: current,
                    to: new,
                },
            ));
        }
        match new {
            Status::Ready => {
                let open = unfinished(tx, graph, key)?;
                if !open.is_empty() {
                    return Err(Error::task(
                        entity(),
                        TaskRule::DependenciesNotDone { open },
                    ));
                }
                make_ready(tx, self.ready_queue(), graph, key)?;
                Ok(vec![key.to_owned()])
            }
            Status::Pending => {
                set_status(tx, graph, key, Status::Pending, None)?;
                promote_if_ready(tx, self.ready_queue(), graph, &[key.to_owned()])
            }
            Status::Done => {
                if let Some(dispatch) = self.queue() {
                    dispatch.cancel(tx, graph, key)?;
                }
                set_status(tx, graph, key, Status::Done, None)?;
                promote_dependents(tx, self.ready_queue(), graph, key)
            }
            Status::Running | Status::Failed | Status::Cancelled => {
                if let Some(dispatch) = self.queue() {
                    dispatch.cancel(tx, graph, key)?;
                }
                set_status(tx, graph, key, new, None)?;
                Ok(Vec::new())
            }
        }
    }

    /// Restores the ready invariant over the whole graph, after rows
    /// changed around the engine: every pending task whose dependencies are all
    /// done becomes ready (with a job), every ready task with a dependency
    /// not done goes back to pending. Returns the tasks made ready.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist; [`Error::Invalid`] if
    /// it is not a taskgraph.
    ///
    /// # Complexity
    ///
    /// O(V + E) to read the graph, plus one write per change.
    pub fn promote(&self, tx: &mut WriteTxn<'_>, graph: &str) -> Result<Vec<String>> {
        require_taskgraph(tx, graph)?;
        let dag = Dag::load(tx, graph, First::Target, true)?;
        let done = |i: u32| dag.status[i as usize].as_deref() == Some(Status::Done.as_str());
        let mut promoted = Vec::new();
        for (i, key) in dag.keys.iter().enumerate() {
            let ready = dag.before[i].iter().all(|&d| done(d));
            match dag.status[i].as_deref() {
                Some("pending") if ready => {
                    make_ready(tx, self.ready_queue(), graph, key)?;
                    promoted.push(key.clone());
                }
                Some("ready") if !ready => {
                    set_status(tx, graph, key, Status::Pending, None)?;
                    if let Some(dispatch) = self.queue() {
                        dispatch.cancel(tx, graph, key)?;
                    }
                }
                _ => {}
            }
        }
        Ok(promoted)
    }

    /// Imports a graphology document as a taskgraph (see
    /// [`import_graphology`](crate::interop::import_graphology)), then
    /// restores the ready invariant as [`promote`](Taskgraphs::promote)
    /// does and refuses a document in which a task has started (`running`,
    /// `done` or `failed`) before a task it depends on is done. Returns the
    /// import and the tasks made ready.
    ///
    /// # Errors
    ///
    /// Those of [`import_graphology`](crate::interop::import_graphology),
    /// with the graph type fixed to `taskgraph`; [`Error::Task`] naming
    /// the first task (in key order) whose status breaks the lifecycle. The caller's
    /// transaction then holds a partial import: drop it to roll back.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::interop::ImportOptions;
    /// use alknet_graphs::taskgraph::Taskgraphs;
    /// use alknet_graphs::Store;
    /// use serde_json::json;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("tasks.db"))?;
    /// let tasks = Taskgraphs::open(&store)?;
    /// let doc = json!({
    ///     "attributes": {"name": "release"},
    ///     "nodes": [
    ///         {"key": "build", "attributes": {"status": "done"}},
    ///         {"key": "test", "attributes": {"status": "pending"}},
    ///         {"key": "ship", "attributes": {"status": "running"}}
    ///     ],
    ///     "edges": [
    ///         {"source": "test", "target": "build"},
    ///         {"source": "ship", "target": "test"}
    ///     ]
    /// });
    /// let err = store
    ///     .write(|tx| tasks.import_graphology(tx, &doc, &ImportOptions::new()))
    ///     .unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"node "ship" in graph "release": is running, but it depends on "test", which is ready, not done"#
    /// );
    /// assert!(store.begin_read()?.graph("release")?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn import_graphology(
        &self,
        tx: &mut WriteTxn<'_>,
        doc: &Value,
        options: &crate::interop::ImportOptions,
    ) -> Result<(crate::interop::Imported, Vec<String>)> {
        let options = options.clone().graph_type(GRAPH_TYPE);
        let imported = tx.as_domain(|tx| crate::interop::import_graphology(tx, doc, &options))?;
        let promoted = self.promote(tx, &imported.graph)?;
        if let Some(problem) = status_problems(tx, &imported.graph)?.into_iter().next() {
            return Err(problem);
        }
        Ok((imported, promoted))
    }

    /// Every task, each after every task it depends on; among tasks
    /// available at the same point, the smaller key first, so the order is
    /// deterministic.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph does not exist; [`Error::Invalid`] if
    /// it is not a taskgraph.
    ///
    /// # Complexity
    ///
    /// One read of the graph, then O((V + E) log V) (Kahn's algorithm).
    pub fn topological_order(&self, reader: &Reader, graph: &str) -> Result<Vec<String>> {
        require_taskgraph(reader, graph)?;
        let dag = Dag::load(reader, graph, First::Target, false)?;
        let order = dag.order(graph)?;
        Ok(dag.keys_of(order))
    }

    /// Every task, each after every task it depends on, in the order the
    /// graph keeps for its acyclicity check rather than by key: a valid
    /// topological order that is cheaper to read than
    /// [`topological_order`](Taskgraphs::topological_order), but that
    /// depends on the order dependencies were written in. Two graphs with
    /// the same tasks and dependencies may list them differently, and a
    /// write may change the order of tasks it did not touch. Use it when
    /// any valid order will do (scheduling, a pass over the tasks in
    /// dependency order); use `topological_order` when the order must be
    /// reproducible from the graph alone.
    ///
    /// # Errors
    ///
    /// As [`topological_order`](Taskgraphs::topological_order).
    ///
    /// # Complexity
    ///
    /// One read of the tasks, O(V log V), and one index probe for each
    /// task that shares its order value with another (see the graph's kept
    /// order); the dependencies are not otherwise read.
    ///
    /// # Example
    ///
    /// ```
    /// # use alknet_graphs::taskgraph::{Task, Taskgraphs};
    /// # use alknet_graphs::Store;
    /// # let dir = tempfile::tempdir()?;
    /// # let store = Store::open(dir.path().join("t.db"))?;
    /// let tasks = Taskgraphs::open(&store)?;
    /// store.write(|tx| {
    ///     tasks.create(tx, "g")?;
    ///     for key in ["fetch", "build", "ship"] {
    ///         tasks.add_task(tx, "g", key, &Task::new())?;
    ///     }
    ///     // Each new dependency shares its task's order value with what it
    ///     // depends on; the edges between them decide.
    ///     tasks.add_dependency(tx, "g", "build", "fetch")?;
    ///     tasks.add_dependency(tx, "g", "ship", "build")?;
    ///     Ok(())
    /// })?;
    /// let order = store.read(|r| tasks.kept_order(r, "g"))?;
    /// assert_eq!(order, ["fetch", "build", "ship"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kept_order(&self, reader: &Reader, graph: &str) -> Result<Vec<String>> {
        require_taskgraph(reader, graph)?;
        let graph_id = crate::metagraph::graph_id(reader.conn(), graph)?;
        // The kept order runs along edges, from a dependent task to what it
        // depends on; dependencies come first here, so it is read backwards.
        let order = crate::metagraph::kept_order(reader.conn(), graph, graph_id)?;
        Ok(order.into_iter().rev().map(|(_, key)| key).collect())
    }

    /// Topological generations: the tasks with no dependencies, then the
    /// tasks whose dependencies are all in earlier generations, and so on;
    /// each generation in key order. Tasks in one generation can run in
    /// parallel.
    ///
    /// # Errors
    ///
    /// As [`topological_order`](Taskgraphs::topological_order).
    ///
    /// # Complexity
    ///
    /// One read of the graph, then O(V log V + E).
    ///
    /// # Example
    ///
    /// ```
    /// # use alknet_graphs::taskgraph::{Task, Taskgraphs};
    /// # use alknet_graphs::Store;
    /// # let dir = tempfile::tempdir()?;
    /// # let store = Store::open(dir.path().join("t.db"))?;
    /// let tasks = Taskgraphs::open(&store)?;
    /// store.write(|tx| {
    ///     tasks.create(tx, "g")?;
    ///     for key in ["fetch", "build", "lint", "ship"] {
    ///         tasks.add_task(tx, "g", key, &Task::new())?;
    ///     }
    ///     tasks.add_dependency(tx, "g", "build", "fetch")?;
    ///     tasks.add_dependency(tx, "g", "lint", "fetch")?;
    ///     tasks.add_dependency(tx, "g", "ship", "build")?;
    ///     tasks.add_dependency(tx, "g", "ship", "lint")?;
    ///     Ok(())
    /// })?;
    /// let generations = store.read(|r| tasks.generations(r, "g"))?;
    /// assert_eq!(generations, [vec!["fetch"], vec!["build", "lint"], vec!["ship"]]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn generations(&self, reader: &Reader, graph: &str) -> Result<Vec<Vec<String>>> {
        require_taskgraph(reader, graph)?;
        let dag = Dag::load(reader, graph, First::Target, false)?;
        let layers = dag.generations(graph)?;
        Ok(layers.into_iter().map(|l| dag.keys_of(l)).collect())
    }

    /// The ready set: tasks not started yet (pending or ready) whose
    /// dependencies are all done, in key order. Computed from the
    /// dependencies, so it is right even after writes that went around
    /// this API.
    ///
    /// # Errors
    ///
    /// As [`topological_order`](Taskgraphs::topological_order).
    ///
    /// # Complexity
    ///
    /// One read of the graph, then O(V + E).
    pub fn ready(&self, reader: &Reader, graph: &str) -> Result<Vec<String>> {
        require_taskgraph(reader, graph)?;
        let dag = Dag::load(reader, graph, First::Target, true)?;
        let is = |i: usize, s: Status| dag.status[i].as_deref() == Some(s.as_str());
        Ok((0..dag.keys.len())
            .filter(|&i| is(i, Status::Pending) || is(i, Status::Ready))
            .filter(|&i| dag.before[i].iter().all(|&d| is(d as usize, Status::Done)))
            .map(|i| dag.keys[i].clone())
            .collect())
    }

    /// The critical path: the chain of dependencies with the largest total
    /// duration, which bounds how soon the whole graph can be done. Ties go
    /// to the smaller keys.
    ///
    /// # Errors
    ///
    /// As [`topological_order`](Taskgraphs::topological_order).
    ///
    /// # Complexity
    ///
    /// One read of the graph, then O((V + E) log V).
    pub fn critical_path(&self, reader: &Reader, graph: &str) -> Result<CriticalPath> {
        require_taskgraph(reader, graph)?;
        let dag = Dag::load(reader, graph, First::Target, true)?;
        let (path, duration) = dag.longest_path(graph)?;
        Ok(CriticalPath {
            tasks: dag.keys_of(path),
            duration,
        })
    }

    /// The tasks `key` depends on within `hops` dependency edges (directly
    /// for 1 hop), in key order, without `key` itself.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the graph or task does not exist.
    ///
    /// # Complexity
    ///
    /// One index lookup per task reached before the last hop: O(R log E)
    /// for R tasks reached.
    pub fn dependencies(
        &self,
        reader: &Reader,
        graph: &str,
        key: &str,
        hops: usize,
    ) -> Result<Vec<String>> {
        within(reader, graph, key, hops, true)
    }

    /// The tasks that depend on `key` within `hops` dependency edges, in
    /// key order, without `key` itself.
    ///
    /// # Errors
    ///
    /// As [`dependencies`](Taskgraphs::dependencies).
    ///
    /// # Complexity
    ///
    /// As [`dependencies`](Taskgraphs::dependencies).
    pub fn dependents(
        &self,
        reader: &Reader,
        graph: &str,
        key: &str,
        hops: usize,
    ) -> Result<Vec<String>> {
        within(reader, graph, key, hops, false)
    }
}

/// Breadth-first search along the edge indexes, by row id, one query per
/// level (the frontier passed as a JSON array), then one query for the
/// keys of everything reached.
fn within(
    reader: &Reader,
    graph: &str,
    key: &str,
    hops: usize,
    outgoing: bool,
) -> Result<Vec<String>> {
    let conn = reader.conn();
    let found: Option<(i64, String)> = conn
        .prepare_cached(
            "SELECT g.id, t.name FROM graphs g JOIN graph_types t ON t.id = g.graph_type_id
              WHERE g.name = ?1",
        )?
        .query_row([graph], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let graph_id = match found {
        None => {
            return Err(Error::NotFound {
                entity: Entity::Graph(graph.to_owned()),
            })
        }
        Some((_, graph_type)) if graph_type != GRAPH_TYPE => {
            return Err(crate::metagraph::wrong_graph_type(
                graph,
                &graph_type,
                GRAPH_TYPE,
            ))
        }
        Some((id, _)) => id,
    };
    let start: i64 = conn
        .prepare_cached("SELECT id FROM nodes WHERE graph_id = ?1 AND key = ?2")?
        .query_row(rusqlite::params![graph_id, key], |row| row.get(0))
        .optional()?
        .ok_or_else(|| Error::NotFound {
            entity: task_entity(graph, key),
        })?;
    // Each step reads the neighbours' keys with their ids (the key is one
    // seek away in the same query), so no lookups are left for the end.
    let mut step = conn.prepare_cached(if outgoing {
        "SELECT e.target, n.key FROM edges e JOIN nodes n ON n.id = e.target WHERE e.source = ?1"
    } else {
        "SELECT e.source, n.key FROM edges e JOIN nodes n ON n.id = e.source WHERE e.target = ?1"
    })?;
    let mut seen: HashSet<i64> = HashSet::from([start]);
    let mut keys: Vec<String> = Vec::new();
    let mut frontier = vec![start];
    for _ in 0..hops {
        let mut next = Vec::new();
        for id in frontier {
            let mut rows = step.query([id])?;
            while let Some(row) = rows.next()? {
                let found: i64 = row.get(0)?;
                if seen.insert(found) {
                    next.push(found);
                    keys.push(row.get(1)?);
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    keys.sort_unstable();
    Ok(keys)
}
