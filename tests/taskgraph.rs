//! Taskgraphs: the built-in type, tasks and dependencies, the ready set,
//! generations, status changes by compare-and-set, and the critical path.

mod common;

use alknet_graphs::taskgraph::{Status, Task, TaskRule, Taskgraphs, GRAPH_TYPE};
use alknet_graphs::{GraphConfig, Store};
use common::{raw_sql, rejected, store};
use serde_json::json;

/// `fetch` ← `build` ← `ship` → `lint` → `fetch`, and an unrelated `docs`:
///
/// ```text
/// fetch ─┬─ build ─┬─ ship
///        └─ lint  ─┘
/// docs
/// ```
fn release(store: &Store) -> Taskgraphs {
    let tasks = Taskgraphs::open(store).unwrap();
    store
        .write(|tx| {
            tasks.create(tx, "release")?;
            for (key, duration) in [
                ("fetch", 2.0),
                ("build", 5.0),
                ("lint", 1.0),
                ("ship", 1.5),
                ("docs", 4.0),
            ] {
                tasks.add_task(tx, "release", key, &Task::new().duration(duration))?;
            }
            for (task, on) in [
                ("build", "fetch"),
                ("lint", "fetch"),
                ("ship", "build"),
                ("ship", "lint"),
            ] {
                tasks.add_dependency(tx, "release", task, on)?;
            }
            Ok(())
        })
        .unwrap();
    tasks
}

fn status(store: &Store, tasks: &Taskgraphs, key: &str) -> Status {
    store.read(|r| tasks.status(r, "release", key)).unwrap()
}

fn run(store: &Store, tasks: &Taskgraphs, key: &str) -> Vec<String> {
    store
        .write(|tx| {
            tasks.transition(tx, "release", key, Status::Ready, Status::Running)?;
            tasks.transition(tx, "release", key, Status::Running, Status::Done)
        })
        .unwrap()
}

#[test]
fn opening_is_idempotent_and_defines_the_built_in_type() {
    let (_dir, store) = store();
    Taskgraphs::open(&store).unwrap();
    let revision = store.revision().unwrap();
    Taskgraphs::open(&store).unwrap();
    assert_eq!(store.revision().unwrap(), revision, "nothing to write");
    let read = store.begin_read().unwrap();
    let graph_type = read.graph_type(GRAPH_TYPE).unwrap().unwrap();
    assert_eq!(
        graph_type.config,
        GraphConfig::directed()
            .acyclic(true)
            .allow_self_loops(false)
    );
    let names: Vec<String> = read
        .node_types(GRAPH_TYPE)
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["task"]);
    drop(read);

    // A drifted schema is brought back in line.
    raw_sql(
        &store,
        "UPDATE node_types SET schema = '{}' WHERE name = 'task'
           AND graph_type_id = (SELECT id FROM graph_types WHERE name = 'taskgraph')",
    );
    Taskgraphs::open(&store).unwrap();
    let schema = store
        .read(|r| r.node_type(GRAPH_TYPE, "task"))
        .unwrap()
        .unwrap()
        .schema;
    assert_eq!(schema["required"], json!(["status"]));
}

#[test]
fn the_ready_set_and_generations_follow_the_dependencies() {
    let (_dir, store) = store();
    let tasks = release(&store);
    let read = || store.begin_read().unwrap();
    assert_eq!(tasks.ready(&read(), "release").unwrap(), ["docs", "fetch"]);
    assert_eq!(
        tasks.generations(&read(), "release").unwrap(),
        [vec!["docs", "fetch"], vec!["build", "lint"], vec!["ship"]]
    );
    assert_eq!(
        tasks.topological_order(&read(), "release").unwrap(),
        ["docs", "fetch", "build", "lint", "ship"]
    );
    for (key, expected) in [
        ("fetch", Status::Ready),
        ("docs", Status::Ready),
        ("build", Status::Pending),
        ("ship", Status::Pending),
    ] {
        assert_eq!(status(&store, &tasks, key), expected, "{key}");
    }

    // Finishing fetch promotes build and lint, not ship.
    assert_eq!(run(&store, &tasks, "fetch"), ["build", "lint"]);
    assert_eq!(
        tasks.ready(&read(), "release").unwrap(),
        ["build", "docs", "lint"]
    );
    assert_eq!(run(&store, &tasks, "build"), Vec::<String>::new());
    assert_eq!(tasks.ready(&read(), "release").unwrap(), ["docs", "lint"]);
    assert_eq!(run(&store, &tasks, "lint"), ["ship"]);
    assert_eq!(tasks.ready(&read(), "release").unwrap(), ["docs", "ship"]);
    // Generations describe the structure, not the progress.
    assert_eq!(tasks.generations(&read(), "release").unwrap().len(), 3);
}

#[test]
fn status_changes_are_compare_and_set() {
    let (_dir, store) = store();
    let tasks = release(&store);
    let err = rejected(&store, |tx| {
        tasks.transition(tx, "release", "fetch", Status::Pending, Status::Ready)
    });
    assert_eq!(
        err.to_string(),
        r#"node "fetch" in graph "release": status is "ready", not the expected "pending""#
    );
    assert_eq!(err.status_conflict(), Some(("ready", "pending")));
    assert_eq!(err.kind(), "invalid");
    store
        .write(|tx| tasks.transition(tx, "release", "fetch", Status::Ready, Status::Running))
        .unwrap();
    // A second worker that saw it ready loses.
    let err = rejected(&store, |tx| {
        tasks.transition(tx, "release", "fetch", Status::Ready, Status::Running)
    });
    assert_eq!(
        err.to_string(),
        r#"node "fetch" in graph "release": status is "running", not the expected "ready""#
    );
}

#[test]
fn illegal_transitions_are_rejected_with_the_allowed_ones() {
    let (_dir, store) = store();
    let tasks = release(&store);
    let cases = [
        (
            "build",
            Status::Pending,
            Status::Done,
            r#"node "build" in graph "release": cannot change status from "pending" to "done"; from "pending" it can become "ready" or "cancelled""#,
        ),
        (
            "build",
            Status::Pending,
            Status::Ready,
            r#"node "build" in graph "release": cannot become "ready": it depends on "fetch", not done yet"#,
        ),
        (
            "fetch",
            Status::Ready,
            Status::Failed,
            r#"node "fetch" in graph "release": cannot change status from "ready" to "failed"; from "ready" it can become "running" or "cancelled""#,
        ),
    ];
    for (key, from, to, expected) in cases {
        let err = rejected(&store, |tx| tasks.transition(tx, "release", key, from, to));
        assert_eq!(err.to_string(), expected);
        assert_eq!(err.kind(), "invalid");
        let rule = if to == Status::Ready {
            TaskRule::DependenciesNotDone {
                open: vec!["fetch".into()],
            }
        } else {
            TaskRule::Transition { from, to }
        };
        assert_eq!(err.task_rule(), Some(&rule));
    }
    run(&store, &tasks, "fetch");
    let err = rejected(&store, |tx| {
        tasks.transition(tx, "release", "fetch", Status::Done, Status::Running)
    });
    assert_eq!(
        err.to_string(),
        r#"node "fetch" in graph "release": cannot change status from "done" to "running"; "done" is final"#
    );
    store
        .write(|tx| tasks.transition(tx, "release", "docs", Status::Ready, Status::Cancelled))
        .unwrap();
    let err = rejected(&store, |tx| {
        tasks.transition(tx, "release", "docs", Status::Cancelled, Status::Pending)
    });
    assert!(
        err.to_string().ends_with(r#""cancelled" is final"#),
        "{err}"
    );

    // The whole table.
    let allowed = [
        (Status::Pending, Status::Ready),
        (Status::Pending, Status::Cancelled),
        (Status::Ready, Status::Running),
        (Status::Ready, Status::Cancelled),
        (Status::Running, Status::Done),
        (Status::Running, Status::Failed),
        (Status::Running, Status::Cancelled),
        (Status::Failed, Status::Pending),
        (Status::Failed, Status::Cancelled),
    ];
    for from in Status::ALL {
        for to in Status::ALL {
            assert_eq!(
                from.can_become(to),
                allowed.contains(&(from, to)),
                "{from} -> {to}"
            );
        }
    }
}

#[test]
fn a_failed_task_is_retried_by_going_back_to_pending() {
    let (_dir, store) = store();
    let tasks = release(&store);
    let promoted = store
        .write(|tx| {
            tasks.transition(tx, "release", "docs", Status::Ready, Status::Running)?;
            tasks.transition(tx, "release", "docs", Status::Running, Status::Failed)?;
            tasks.transition(tx, "release", "docs", Status::Failed, Status::Pending)
        })
        .unwrap();
    assert_eq!(promoted, ["docs"], "nothing to wait for: ready at once");
    assert_eq!(status(&store, &tasks, "docs"), Status::Ready);
}

#[test]
fn the_critical_path_is_the_longest_chain_by_duration() {
    let (_dir, store) = store();
    let tasks = release(&store);
    let path = store.read(|r| tasks.critical_path(r, "release")).unwrap();
    assert_eq!(path.tasks, ["fetch", "build", "ship"]);
    assert_eq!(path.duration, 8.5);

    // The classic example: a(3) → c(4) → e(3) beats a → d → e and b → d → e.
    let tasks = Taskgraphs::open(&store).unwrap();
    store
        .write(|tx| {
            tasks.create(tx, "pert")?;
            for (key, duration) in [("a", 3.0), ("b", 2.0), ("c", 4.0), ("d", 2.0), ("e", 3.0)] {
                tasks.add_task(tx, "pert", key, &Task::new().duration(duration))?;
            }
            for (task, on) in [("c", "a"), ("d", "a"), ("d", "b"), ("e", "c"), ("e", "d")] {
                tasks.add_dependency(tx, "pert", task, on)?;
            }
            tasks.create(tx, "empty")
        })
        .unwrap();
    let path = store.read(|r| tasks.critical_path(r, "pert")).unwrap();
    assert_eq!(
        (path.tasks, path.duration),
        (vec!["a".into(), "c".into(), "e".into()], 10.0)
    );
    let empty = store.read(|r| tasks.critical_path(r, "empty")).unwrap();
    assert_eq!((empty.tasks.len(), empty.duration), (0, 0.0));
}

#[test]
fn dependencies_keep_the_ready_invariant() {
    let (_dir, store) = store();
    let tasks = release(&store);
    // docs is ready; depending on build (pending) sends it back to pending.
    store
        .write(|tx| tasks.add_dependency(tx, "release", "docs", "build"))
        .unwrap();
    assert_eq!(status(&store, &tasks, "docs"), Status::Pending);
    // Removing the dependency makes it ready again.
    let promoted = store
        .write(|tx| tasks.remove_dependency(tx, "release", "docs", "build"))
        .unwrap();
    assert_eq!(promoted, ["docs"]);

    // A task that has started cannot gain an unfinished dependency.
    store
        .write(|tx| tasks.transition(tx, "release", "docs", Status::Ready, Status::Running))
        .unwrap();
    let err = rejected(&store, |tx| {
        tasks.add_dependency(tx, "release", "docs", "lint")
    });
    assert_eq!(
        err.to_string(),
        r#"node "docs" in graph "release": is running; it cannot depend on "lint", which is pending, not done"#
    );
    assert_eq!(
        err.task_rule(),
        Some(&TaskRule::StartedOnUnfinished {
            status: Status::Running,
            on: "lint".into(),
            on_status: Status::Pending,
        })
    );
    let err = rejected(&store, |tx| {
        tasks.add_dependency(tx, "release", "fetch", "ship")
    });
    assert!(err.is_cycle(), "{err}");
    assert_eq!(err.cycle().unwrap(), ["fetch", "ship", "build", "fetch"]);
    let err = rejected(&store, |tx| {
        tasks.remove_dependency(tx, "release", "ship", "docs")
    });
    assert_eq!(
        err.to_string(),
        r#"node "ship" in graph "release": does not depend on "docs""#
    );
    assert_eq!(
        err.task_rule(),
        Some(&TaskRule::NotADependency { on: "docs".into() })
    );

    // Removing a task promotes what waited only for it.
    run(&store, &tasks, "fetch");
    run(&store, &tasks, "build");
    let promoted = store
        .write(|tx| tasks.remove_task(tx, "release", "lint"))
        .unwrap();
    assert_eq!(promoted, ["ship"]);
}

#[test]
fn tasks_are_validated() {
    let (_dir, store) = store();
    let tasks = release(&store);
    let err = rejected(&store, |tx| {
        tasks.add_task(
            tx,
            "release",
            "x",
            &Task::new().attribute("status", json!("done")),
        )
    });
    assert_eq!(
        err.to_string(),
        r#"node "x" in graph "release": the taskgraph sets a task's status; leave "status" out of its attributes"#
    );
    assert_eq!(err.task_rule(), Some(&TaskRule::StatusGiven));
    let err = rejected(&store, |tx| {
        tasks.add_task(tx, "release", "x", &Task::new().duration(-1.0))
    });
    assert_eq!(
        err.to_string(),
        r#"node "x" in graph "release": attribute /duration: -1.0 is less than the minimum of 0"#
    );
    let err = rejected(&store, |tx| {
        tasks.add_task(tx, "release", "fetch", &Task::new())
    });
    assert!(err.is_already_exists());

    common::people(&store, GraphConfig::directed());
    let err = rejected(&store, |tx| tasks.add_task(tx, "acme", "x", &Task::new()));
    assert_eq!(
        err.to_string(),
        r#"graph "acme": is of graph type "people", not "taskgraph""#
    );
    let err = store
        .read(|r| tasks.topological_order(r, "nowhere"))
        .unwrap_err();
    assert!(err.is_not_found());
    let err = store
        .read(|r| tasks.status(r, "release", "nope"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"node "nope" in graph "release" does not exist"#
    );
}

#[test]
fn neighbourhoods_follow_dependencies_for_a_number_of_hops() {
    let (_dir, store) = store();
    let tasks = release(&store);
    let read = store.begin_read().unwrap();
    assert_eq!(
        tasks.dependencies(&read, "release", "ship", 1).unwrap(),
        ["build", "lint"]
    );
    assert_eq!(
        tasks.dependencies(&read, "release", "ship", 2).unwrap(),
        ["build", "fetch", "lint"]
    );
    assert_eq!(
        tasks.dependents(&read, "release", "fetch", 1).unwrap(),
        ["build", "lint"]
    );
    assert_eq!(
        tasks.dependents(&read, "release", "fetch", 3).unwrap(),
        ["build", "lint", "ship"]
    );
    assert!(tasks
        .dependencies(&read, "release", "docs", 3)
        .unwrap()
        .is_empty());
    assert!(tasks
        .dependencies(&read, "release", "ship", 0)
        .unwrap()
        .is_empty());
    assert!(tasks
        .dependencies(&read, "release", "nope", 1)
        .unwrap_err()
        .is_not_found());
}

#[test]
fn promote_repairs_writes_that_went_around_the_api() {
    let (_dir, store) = store();
    let tasks = release(&store);
    // Writes around the engine: a task added as pending, and fetch marked
    // done by hand.
    raw_sql(
        &store,
        r#"INSERT INTO nodes (graph_id, key, node_type_id, attributes, created_at, updated_at)
             SELECT g.id, 'raw', t.id, '{"status": "pending"}', 0, 0
               FROM graphs g JOIN node_types t ON t.graph_type_id = g.graph_type_id
              WHERE g.name = 'release' AND t.name = 'task';
           UPDATE nodes SET attributes = json_set(attributes, '$.status', 'done')
            WHERE key = 'fetch';"#,
    );
    assert_eq!(
        store.read(|r| tasks.ready(r, "release")).unwrap(),
        ["build", "docs", "lint", "raw"],
        "the ready set is computed from the dependencies"
    );
    let promoted = store.write(|tx| tasks.promote(tx, "release")).unwrap();
    assert_eq!(promoted, ["build", "lint", "raw"]);
    assert!(store
        .write(|tx| tasks.promote(tx, "release"))
        .unwrap()
        .is_empty());
}
