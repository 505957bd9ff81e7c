//! `task`: taskgraphs — tasks, dependencies, validated status changes, and
//! the ready set, topological order and critical path.

use std::fmt::Write as _;

use alknet_graphs::taskgraph::{Status, Task, Taskgraphs, TASK};
use alknet_graphs::{ListOptions, Reader, Store};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::output::{list_or_none, show};
use super::{attrs_arg, parse_json, CliError, CliResult, Ctx, Output};

/// A task's attributes, as `task add` and `task update` take them.
#[derive(Debug, Args)]
pub struct TaskFields {
    /// Its expected duration (weighs the critical path)
    #[arg(long)]
    duration: Option<f64>,
    /// Its dispatch priority (higher first)
    #[arg(long)]
    priority: Option<i64>,
    /// What a worker needs to run it (JSON)
    #[arg(long, value_name = "JSON")]
    payload: Option<String>,
    /// Further attributes: a JSON object, or @FILE
    #[arg(long, value_name = "JSON")]
    attrs: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Create an empty taskgraph
    Create {
        /// The taskgraph's name
        #[arg(long)]
        graph: String,
    },
    /// Add a task (ready at once unless it depends on an unfinished task)
    Add {
        #[arg(long)]
        graph: String,
        /// The task's key
        key: String,
        #[command(flatten)]
        fields: TaskFields,
        /// A task it depends on (repeatable), added in the same transaction
        #[arg(long = "depends-on", value_name = "TASK")]
        depends_on: Vec<String>,
    },
    /// Replace a task's attributes (its status stays; change it with
    /// `task status`)
    Update {
        #[arg(long)]
        graph: String,
        /// The task's key
        key: String,
        #[command(flatten)]
        fields: TaskFields,
    },
    /// Make TASK depend on ON (ON must be done first), or remove that
    /// dependency with --rm
    Dep {
        #[arg(long)]
        graph: String,
        /// The dependent task
        task: String,
        /// The task it depends on
        on: String,
        /// Remove the dependency instead
        #[arg(long)]
        rm: bool,
    },
    /// Remove a task with its dependencies in both directions
    Rm {
        #[arg(long)]
        graph: String,
        key: String,
    },
    /// List tasks with their statuses
    List {
        #[arg(long)]
        graph: String,
    },
    /// The ready set: tasks not started whose dependencies are all done
    Ready {
        #[arg(long)]
        graph: String,
    },
    /// Show a task's status, or change it to NEW along the allowed
    /// transitions (pending→ready/cancelled, ready→running/cancelled,
    /// running→done/failed/cancelled, failed→pending/cancelled)
    Status {
        #[arg(long)]
        graph: String,
        key: String,
        /// The status to move to
        new: Option<String>,
        /// Only if the task is in this status now (compare-and-set)
        #[arg(long, value_name = "STATUS", requires = "new")]
        from: Option<String>,
    },
    /// Every task after the tasks it depends on
    Order {
        #[arg(long)]
        graph: String,
        /// Group tasks into generations that can run in parallel
        #[arg(long)]
        generations: bool,
    },
    /// The chain of dependencies with the largest total duration
    CriticalPath {
        #[arg(long)]
        graph: String,
    },
}

fn status_arg(text: &str) -> CliResult<Status> {
    text.parse::<Status>()
        .map_err(|e| CliError::Usage(e.to_string()))
}

pub fn run(ctx: &Ctx, command: TaskCommand) -> CliResult {
    // Arguments first, so bad input never touches the store.
    let prepared = Prepared::from(&command)?;
    let store = ctx.open()?;
    let tasks = Taskgraphs::open(&store)?;
    let open = OpenTaskgraphs { store, tasks };
    match command {
        TaskCommand::Create { graph } => open.create(&graph),
        TaskCommand::Add {
            graph,
            key,
            depends_on,
            ..
        } => open.add(
            &graph,
            &key,
            &prepared.task.unwrap_or_default(),
            &depends_on,
        ),
        TaskCommand::Update { graph, key, .. } => {
            open.update(&graph, &key, &prepared.task.unwrap_or_default())
        }
        TaskCommand::Dep {
            graph,
            task,
            on,
            rm,
        } => open.dependency(&graph, &task, &on, rm),
        TaskCommand::Rm { graph, key } => open.remove(&graph, &key),
        TaskCommand::List { graph } => open.list(&graph),
        TaskCommand::Ready { graph } => open.ready(&graph),
        TaskCommand::Status {
            graph, key, new, ..
        } => match (new, prepared.new_status) {
            (Some(_), Some(new)) => open.change_status(&graph, &key, prepared.from_status, new),
            _ => open.show_status(&graph, &key),
        },
        TaskCommand::Order { graph, generations } => {
            if generations {
                open.generations(&graph)
            } else {
                open.order(&graph)
            }
        }
        TaskCommand::CriticalPath { graph } => open.critical_path(&graph),
    }
}

/// The store with its taskgraph operations: what every subcommand runs on.
struct OpenTaskgraphs {
    store: Store,
    tasks: Taskgraphs,
}

impl OpenTaskgraphs {
    fn create(&self, graph: &str) -> CliResult {
        let mut tx = self.store.begin_write()?;
        self.tasks.create(&mut tx, graph)?;
        let revision = tx.commit()?;
        Ok(Output::new(
            json!({"graph": graph, "revision": revision}),
            format!("created taskgraph {} (revision {revision})", show(graph)),
        ))
    }

    /// Adds `task` with its dependencies in one transaction.
    fn add(&self, graph: &str, key: &str, task: &Task, depends_on: &[String]) -> CliResult {
        let mut tx = self.store.begin_write()?;
        self.tasks.add_task(&mut tx, graph, key, task)?;
        for on in depends_on {
            self.tasks.add_dependency(&mut tx, graph, key, on)?;
        }
        let status = self.tasks.status(&tx, graph, key)?;
        let revision = tx.commit()?;
        let deps = if depends_on.is_empty() {
            String::new()
        } else {
            format!(", depending on {}", list_or_none(depends_on))
        };
        Ok(Output::new(
            json!({"graph": graph, "task": key, "status": status, "depends_on": depends_on, "revision": revision}),
            format!(
                "added task {} to {}{deps}: {status} (revision {revision})",
                show(key),
                show(graph)
            ),
        ))
    }

    fn update(&self, graph: &str, key: &str, task: &Task) -> CliResult {
        let mut tx = self.store.begin_write()?;
        self.tasks.update_task(&mut tx, graph, key, task)?;
        let status = self.tasks.status(&tx, graph, key)?;
        let revision = tx.commit()?;
        Ok(Output::new(
            json!({"graph": graph, "task": key, "status": status, "revision": revision}),
            format!(
                "updated task {} in {}: {status} (revision {revision})",
                show(key),
                show(graph)
            ),
        ))
    }

    /// Makes `task` depend on `on`, or removes that dependency when `rm`.
    fn dependency(&self, graph: &str, task: &str, on: &str, rm: bool) -> CliResult {
        let mut tx = self.store.begin_write()?;
        let made_ready = if rm {
            self.tasks.remove_dependency(&mut tx, graph, task, on)?
        } else {
            self.tasks.add_dependency(&mut tx, graph, task, on)?;
            Vec::new()
        };
        let status = self.tasks.status(&tx, graph, task)?;
        let revision = tx.commit()?;
        let text = if rm {
            format!(
                "{} no longer depends on {}: {status} (revision {revision})",
                show(task),
                show(on)
            )
        } else {
            format!(
                "{} depends on {}: {status} (revision {revision})",
                show(task),
                show(on)
            )
        };
        Ok(Output::new(
            json!({"graph": graph, "task": task, "on": on, "removed": rm, "status": status, "made_ready": made_ready, "revision": revision}),
            text,
        ))
    }

    fn remove(&self, graph: &str, key: &str) -> CliResult {
        let mut tx = self.store.begin_write()?;
        let made_ready = self.tasks.remove_task(&mut tx, graph, key)?;
        let revision = tx.commit()?;
        Ok(Output::new(
            json!({"graph": graph, "removed": key, "made_ready": made_ready, "revision": revision}),
            format!(
                "removed task {}; made ready: {} (revision {revision})",
                show(key),
                list_or_none(&made_ready)
            ),
        ))
    }

    fn list(&self, graph: &str) -> CliResult {
        let read = self.store.begin_read()?;
        // The ready set also checks that the graph is a taskgraph.
        self.tasks.ready(&read, graph)?;
        let listed = task_list(&read, graph)?;
        let mut text = String::new();
        for (key, status, duration) in &listed {
            let _ = write!(text, "{}  {status}", show(key));
            if let Some(duration) = duration {
                let _ = write!(text, "  duration {duration}");
            }
            text.push('\n');
        }
        if listed.is_empty() {
            text.push_str("no tasks");
        }
        Ok(Output::new(
            json!({"graph": graph, "tasks": listed.iter().map(|(key, status, duration)| json!({
                "key": key, "status": status, "duration": duration,
            })).collect::<Vec<_>>()}),
            text,
        ))
    }

    fn ready(&self, graph: &str) -> CliResult {
        let read = self.store.begin_read()?;
        let ready = self.tasks.ready(&read, graph)?;
        Ok(Output::new(
            json!({"graph": graph, "ready": ready}),
            format!("ready in {}: {}", show(graph), list_or_none(&ready)),
        ))
    }

    /// Moves a task to `new`, from `from` when given, else from its status now.
    fn change_status(
        &self,
        graph: &str,
        key: &str,
        from: Option<Status>,
        new: Status,
    ) -> CliResult {
        let mut tx = self.store.begin_write()?;
        let current = self.tasks.status(&tx, graph, key)?;
        let expected = from.unwrap_or(current);
        let made_ready = self.tasks.transition(&mut tx, graph, key, expected, new)?;
        let revision = tx.commit()?;
        let promoted: Vec<&String> = made_ready.iter().filter(|k| *k != key).collect();
        let mut text = format!("task {}: {current} → {new}", show(key));
        if !promoted.is_empty() {
            let _ = write!(text, "; now ready: {}", list_or_none(&promoted));
        }
        let _ = write!(text, " (revision {revision})");
        Ok(Output::new(
            json!({"graph": graph, "task": key, "from": current, "status": new, "made_ready": made_ready, "revision": revision}),
            text,
        ))
    }

    fn show_status(&self, graph: &str, key: &str) -> CliResult {
        let read = self.store.begin_read()?;
        let status = self.tasks.status(&read, graph, key)?;
        Ok(Output::new(
            json!({"graph": graph, "task": key, "status": status}),
            format!("task {}: {status}", show(key)),
        ))
    }

    /// The tasks in generations that can run in parallel, one line each.
    fn generations(&self, graph: &str) -> CliResult {
        let read = self.store.begin_read()?;
        let layers = self.tasks.generations(&read, graph)?;
        let mut text = String::new();
        for (i, layer) in layers.iter().enumerate() {
            let _ = writeln!(text, "{}. {}", i + 1, list_or_none(layer));
        }
        Ok(Output::new(
            json!({"graph": graph, "generations": layers}),
            text,
        ))
    }

    fn order(&self, graph: &str) -> CliResult {
        let read = self.store.begin_read()?;
        let order = self.tasks.topological_order(&read, graph)?;
        Ok(Output::new(
            json!({"graph": graph, "order": order}),
            arrows(&order),
        ))
    }

    fn critical_path(&self, graph: &str) -> CliResult {
        let read = self.store.begin_read()?;
        let path = self.tasks.critical_path(&read, graph)?;
        Ok(Output::new(
            json!({"graph": graph, "tasks": path.tasks, "duration": path.duration}),
            format!(
                "critical path of {} ({} in all): {}",
                show(graph),
                path.duration,
                arrows(&path.tasks)
            ),
        ))
    }
}

/// Task keys joined by arrows, in the order given.
fn arrows(keys: &[String]) -> String {
    keys.iter().map(|k| show(k)).collect::<Vec<_>>().join(" → ")
}

/// Arguments parsed before the store is opened.
#[derive(Default)]
struct Prepared {
    task: Option<Task>,
    new_status: Option<Status>,
    from_status: Option<Status>,
}

impl Prepared {
    fn from(command: &TaskCommand) -> CliResult<Prepared> {
        let mut prepared = Prepared::default();
        match command {
            TaskCommand::Add { fields, .. } | TaskCommand::Update { fields, .. } => {
                let TaskFields {
                    duration,
                    priority,
                    payload,
                    attrs,
                } = fields;
                let mut task = Task::new();
                if let Value::Object(map) = attrs_arg(attrs.as_deref())? {
                    for (name, value) in map {
                        task = task.attribute(name, value);
                    }
                } else {
                    return Err(CliError::invalid("--attrs: must be a JSON object"));
                }
                if let Some(duration) = duration {
                    if !duration.is_finite() || *duration < 0.0 {
                        return Err(CliError::Usage(format!(
                            "--duration {duration}: must be a finite number, not negative"
                        )));
                    }
                    task = task.duration(*duration);
                }
                if let Some(priority) = priority {
                    task = task.priority(*priority);
                }
                if let Some(payload) = payload {
                    task = task.payload(parse_json("--payload", payload)?);
                }
                prepared.task = Some(task);
            }
            TaskCommand::Status { new, from, .. } => {
                prepared.new_status = new.as_deref().map(status_arg).transpose()?;
                prepared.from_status = from.as_deref().map(status_arg).transpose()?;
            }
            _ => {}
        }
        Ok(prepared)
    }
}

/// Every task of `graph` with its status and duration, in key order.
pub fn task_list(read: &Reader, graph: &str) -> CliResult<Vec<(String, String, Option<Value>)>> {
    let mut out = Vec::new();
    let mut options = ListOptions::new().limit(10_000).of_type(TASK);
    loop {
        let page = read.nodes(graph, &options)?;
        for node in page.items {
            let status = node
                .attributes
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned();
            let duration = node.attributes.get("duration").cloned();
            out.push((node.key, status, duration));
        }
        match page.next {
            Some(next) => options = options.after(next),
            None => return Ok(out),
        }
    }
}
