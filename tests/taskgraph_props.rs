//! Random sequences of taskgraph operations against a small reference
//! model (a map of tasks to statuses and a set of dependencies):
//!
//! - every operation is accepted or rejected as the model predicts, and
//!   every task's status matches the model's afterwards;
//! - the ready invariant holds after every step: a task is ready exactly
//!   when it has not started and all its dependencies are done, and the
//!   queue holds a waiting job for exactly the ready tasks;
//! - the topological order puts every task after each of its
//!   dependencies, generations are consistent with it, and the critical
//!   path's duration is the longest chain found by brute force;
//! - the kept order (`Taskgraphs::kept_order`) lists every task once, after
//!   each of its dependencies, after any sequence of dependency inserts and
//!   removals on tasks added as they go.
//!
//! The default case count is 64; `PROPTEST_CASES` overrides it.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use alknet_graphs::taskgraph::{Dispatch, Status, Task, Taskgraphs};
use alknet_graphs::Store;
use proptest::collection::vec;
use proptest::prelude::*;

const KEYS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

#[derive(Debug, Clone)]
enum Op {
    AddTask(usize, u8),
    AddDependency(usize, usize),
    RemoveDependency(usize, usize),
    RemoveTask(usize),
    Transition(usize, Status),
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0..KEYS.len();
    prop_oneof![
        3 => (key.clone(), 0..10u8).prop_map(|(k, d)| Op::AddTask(k, d)),
        4 => (key.clone(), key.clone()).prop_map(|(t, o)| Op::AddDependency(t, o)),
        1 => (key.clone(), key.clone()).prop_map(|(t, o)| Op::RemoveDependency(t, o)),
        1 => key.clone().prop_map(Op::RemoveTask),
        5 => (key, proptest::sample::select(Status::ALL.to_vec()))
            .prop_map(|(k, s)| Op::Transition(k, s)),
    ]
}

#[derive(Debug, Default)]
struct Model {
    status: BTreeMap<&'static str, Status>,
    duration: BTreeMap<&'static str, f64>,
    /// (task, dependency)
    deps: BTreeSet<(&'static str, &'static str)>,
}

impl Model {
    fn deps_of(&self, task: &str) -> Vec<&'static str> {
        self.deps
            .iter()
            .filter(|(t, _)| *t == task)
            .map(|(_, d)| *d)
            .collect()
    }

    fn dependents_of(&self, task: &str) -> Vec<&'static str> {
        self.deps
            .iter()
            .filter(|(_, d)| *d == task)
            .map(|(t, _)| *t)
            .collect()
    }

    fn all_done(&self, task: &str) -> bool {
        self.deps_of(task)
            .iter()
            .all(|d| self.status[d] == Status::Done)
    }

    fn promote(&mut self, candidates: Vec<&'static str>) {
        for task in candidates {
            if self.status.get(task) == Some(&Status::Pending) && self.all_done(task) {
                self.status.insert(task, Status::Ready);
            }
        }
    }

    /// Whether `from` reaches `to` along dependencies.
    fn reaches(&self, from: &str, to: &str) -> bool {
        let mut stack = vec![from];
        let mut seen = BTreeSet::new();
        while let Some(at) = stack.pop() {
            if at == to {
                return true;
            }
            if seen.insert(at) {
                stack.extend(self.deps_of(at));
            }
        }
        false
    }

    /// Applies `op` if the store should accept it; returns whether it did.
    fn apply(&mut self, op: &Op) -> bool {
        match *op {
            Op::AddTask(k, d) => {
                let key = KEYS[k];
                if self.status.contains_key(key) {
                    return false;
                }
                self.status.insert(key, Status::Ready);
                self.duration.insert(key, f64::from(d));
                true
            }
            Op::AddDependency(t, o) => {
                let (task, on) = (KEYS[t], KEYS[o]);
                let (Some(&ts), Some(&os)) = (self.status.get(task), self.status.get(on)) else {
                    return false;
                };
                if os != Status::Done
                    && matches!(ts, Status::Running | Status::Done | Status::Failed)
                {
                    return false;
                }
                if task == on || self.deps.contains(&(task, on)) || self.reaches(on, task) {
                    return false;
                }
                self.deps.insert((task, on));
                if os != Status::Done && ts == Status::Ready {
                    self.status.insert(task, Status::Pending);
                }
                true
            }
            Op::RemoveDependency(t, o) => {
                let (task, on) = (KEYS[t], KEYS[o]);
                if !self.status.contains_key(task) || !self.deps.remove(&(task, on)) {
                    return false;
                }
                self.promote(vec![task]);
                true
            }
            Op::RemoveTask(k) => {
                let key = KEYS[k];
                if self.status.remove(key).is_none() {
                    return false;
                }
                self.duration.remove(key);
                let dependents = self.dependents_of(key);
                self.deps.retain(|(t, d)| *t != key && *d != key);
                self.promote(dependents);
                true
            }
            Op::Transition(k, to) => {
                let key = KEYS[k];
                let Some(&from) = self.status.get(key) else {
                    return false;
                };
                if !from.can_become(to) || (to == Status::Ready && !self.all_done(key)) {
                    return false;
                }
                self.status.insert(key, to);
                match to {
                    Status::Pending => self.promote(vec![key]),
                    Status::Done => {
                        let dependents = self.dependents_of(key);
                        self.promote(dependents);
                    }
                    _ => {}
                }
                true
            }
        }
    }

    /// The longest chain by duration, by brute force over every path.
    fn longest(&self, task: &str) -> f64 {
        self.duration[task]
            + self
                .deps_of(task)
                .iter()
                .map(|d| self.longest(d))
                .fold(0.0, f64::max)
    }
}

fn run(store: &Store, tasks: &Taskgraphs, model: &Model, op: &Op) -> bool {
    let result = store.write(|tx| match *op {
        Op::AddTask(k, d) => tasks
            .add_task(tx, "g", KEYS[k], &Task::new().duration(f64::from(d)))
            .map(drop),
        Op::AddDependency(t, o) => tasks.add_dependency(tx, "g", KEYS[t], KEYS[o]).map(drop),
        Op::RemoveDependency(t, o) => tasks.remove_dependency(tx, "g", KEYS[t], KEYS[o]).map(drop),
        Op::RemoveTask(k) => tasks.remove_task(tx, "g", KEYS[k]).map(drop),
        Op::Transition(k, to) => {
            // The caller states what it believes: the model's status.
            let expected = model
                .status
                .get(KEYS[k])
                .copied()
                .unwrap_or(Status::Pending);
            tasks.transition(tx, "g", KEYS[k], expected, to).map(drop)
        }
    });
    result.is_ok()
}

proptest! {
    // 64 cases unless PROPTEST_CASES says otherwise; failures are saved
    // under proptest-regressions/ and replayed first.
    #![proptest_config(common::proptest_config("taskgraph_props.txt", common::cases_or(64)))]

    #[test]
    fn operations_agree_with_the_model_and_keep_the_invariants(ops in vec(op(), 0..40)) {
        let (_dir, store) = common::store();
        let dispatch = Dispatch::new("q");
        let tasks = Taskgraphs::builder().dispatch(dispatch.clone()).open(&store).unwrap();
        store.write(|tx| tasks.create(tx, "g")).unwrap();
        let mut model = Model::default();
        for op in &ops {
            let accepted = run(&store, &tasks, &model, op);
            let predicted = model.apply(op);
            prop_assert_eq!(accepted, predicted, "{:?}", op);

            let read = store.begin_read().unwrap();
            for (key, status) in &model.status {
                prop_assert_eq!(tasks.status(&read, "g", key).unwrap(), *status, "{}", key);
                let runnable = matches!(status, Status::Pending | Status::Ready) && model.all_done(key);
                prop_assert_eq!(*status == Status::Ready, runnable, "invariant for {}", key);
            }
            prop_assert_eq!(read.node_count("g").unwrap(), model.status.len() as u64);
            let waiting: BTreeSet<String> = dispatch
                .jobs(&read)
                .unwrap()
                .into_iter()
                .map(|j| j.task)
                .collect();
            let ready: BTreeSet<String> = model
                .status
                .iter()
                .filter(|(_, s)| **s == Status::Ready)
                .map(|(k, _)| (*k).to_owned())
                .collect();
            prop_assert_eq!(&waiting, &ready, "one job per ready task");
            prop_assert_eq!(
                tasks.ready(&read, "g").unwrap(),
                ready.iter().cloned().collect::<Vec<_>>()
            );
        }

        let read = store.begin_read().unwrap();
        let order = tasks.topological_order(&read, "g").unwrap();
        prop_assert_eq!(order.len(), model.status.len());
        let position: BTreeMap<&str, usize> =
            order.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
        for (task, on) in &model.deps {
            prop_assert!(position[on] < position[task], "{} before {}", on, task);
        }
        let generations = tasks.generations(&read, "g").unwrap();
        let level: BTreeMap<&str, usize> = generations
            .iter()
            .enumerate()
            .flat_map(|(i, g)| g.iter().map(move |k| (k.as_str(), i)))
            .collect();
        for key in model.status.keys() {
            let deps = model.deps_of(key);
            let expected = deps.iter().map(|d| level[d] + 1).max().unwrap_or(0);
            prop_assert_eq!(level[key], expected, "generation of {}", key);
        }
        let path = tasks.critical_path(&read, "g").unwrap();
        let longest = model.status.keys().map(|k| model.longest(k)).fold(0.0, f64::max);
        prop_assert_eq!(path.duration, longest);
        let along: f64 = path.tasks.iter().map(|k| model.duration[k.as_str()]).sum();
        prop_assert_eq!(along, longest);
        for pair in path.tasks.windows(2) {
            prop_assert!(model.deps.contains(&(model_key(&pair[1]), model_key(&pair[0]))));
        }
    }
}

fn model_key(key: &str) -> &'static str {
    KEYS.iter().find(|k| **k == key).copied().unwrap_or("")
}

/// Whether `from` depends on `to`, directly or not, in `deps` (pairs of
/// (task, dependency)).
fn depends(deps: &BTreeSet<(usize, usize)>, from: usize, to: usize) -> bool {
    let mut seen = BTreeSet::from([from]);
    let mut stack = vec![from];
    while let Some(n) = stack.pop() {
        if n == to {
            return true;
        }
        for &(_, next) in deps.range((n, 0)..(n + 1, 0)) {
            if seen.insert(next) {
                stack.push(next);
            }
        }
    }
    false
}

proptest! {
    #![proptest_config(common::proptest_config("taskgraph_props.txt", common::cases_or(64)))]

    /// Tasks appear as dependencies name them, so the kept order goes
    /// through every kind of repair: a new task depending on an existing
    /// one (which ties their order values), an existing task depending on
    /// a new one, and reorders between existing tasks.
    #[test]
    fn the_kept_order_is_a_topological_order(
        ops in vec((0..24usize, 0..24usize, 0..5u8), 1..120),
    ) {
        let (_dir, store) = common::store();
        let tasks = Taskgraphs::open(&store).unwrap();
        store.write(|tx| tasks.create(tx, "g")).unwrap();
        let key = |i: usize| format!("t{i:02}");
        let mut present = BTreeSet::new();
        let mut deps = BTreeSet::new();
        for (task, on, kind) in ops {
            let result = store.write(|tx| {
                for k in [task, on] {
                    if !present.contains(&k) {
                        tasks.add_task(tx, "g", &key(k), &Task::new())?;
                    }
                }
                if kind == 0 {
                    tasks.remove_dependency(tx, "g", &key(task), &key(on)).map(drop)
                } else {
                    tasks.add_dependency(tx, "g", &key(task), &key(on)).map(drop)
                }
            });
            let expected = if kind == 0 {
                deps.contains(&(task, on))
            } else {
                task != on && !deps.contains(&(task, on)) && !depends(&deps, on, task)
            };
            prop_assert_eq!(result.is_ok(), expected, "{} {} {}: {:?}", task, on, kind, result);
            if result.is_ok() {
                present.extend([task, on]);
                if kind == 0 {
                    deps.remove(&(task, on));
                } else {
                    deps.insert((task, on));
                }
            }

            let read = store.begin_read().unwrap();
            let order = tasks.kept_order(&read, "g").unwrap();
            let listed: BTreeSet<String> = order.iter().cloned().collect();
            prop_assert_eq!(listed.len(), order.len(), "each task once: {:?}", order);
            prop_assert_eq!(listed, present.iter().map(|&k| key(k)).collect::<BTreeSet<_>>());
            let position: BTreeMap<&str, usize> =
                order.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
            for &(t, o) in &deps {
                prop_assert!(
                    position[key(o).as_str()] < position[key(t).as_str()],
                    "{} before {} in {:?}", key(o), key(t), order
                );
            }
        }
    }
}
