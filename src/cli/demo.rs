//! `demo`: builds a sample store — a small organisation's ACL and a release
//! taskgraph — and walks through what the engine answers about it.
//!
//! The demo is a list of [`STEPS`]; each step builds part of the store or
//! shows something about it, through a shared [`Demo`]. A new step is a
//! function `fn(&mut Demo) -> CliResult<()>` added to the list.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use alknet_graphs::acl::{
    AccessControl, Acl, AclEdge, AclGraph, Action, Delegation, IdentityType, Membership,
    Permission, Principal, Resource,
};
use alknet_graphs::identity::{IdentityProvider, PeerEntry, SqliteIdentityProvider};
use alknet_graphs::interop::{export_graphology, to_dot, PictureOptions};
use alknet_graphs::taskgraph::{Status, Task, Taskgraphs};
use alknet_graphs::Store;
use clap::Args;
use serde_json::{json, Map, Value};

use super::acl::{
    check_output, effective_json, effective_text, explanation_json, explanation_text,
    require_effective,
};
use super::io::write_file;
use super::output::{list_or_none, print_line, Status as ExitStatus};
use super::peer::{identity_json, identity_text, peer_json};
use super::task::task_list;
use super::time::{format_instant, now_ms};
use super::{ensure_builtins, io_reason, CliError, CliResult, Ctx, Output};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the pictures (DOT) and the ACL's graphology export
    #[arg(long, value_name = "DIR", default_value = "./demo-out")]
    out: PathBuf,
    /// Replace the store file if it exists and holds data
    #[arg(long)]
    force: bool,
}

/// The taskgraph the demo builds.
pub const TASKGRAPH: &str = "release-1.0";

/// One step of the demo: a title and what it does.
pub struct Step {
    pub title: &'static str,
    pub run: fn(&mut Demo) -> CliResult<()>,
}

/// The steps, in order. Building steps come first; the ones after them
/// only read the graphs (the peer step registers a peer, outside them).
pub const STEPS: &[Step] = &[
    Step {
        title: "The organisation's ACL",
        run: build_acl,
    },
    Step {
        title: "The release taskgraph",
        run: build_taskgraph,
    },
    Step {
        title: "Effective scopes, resolved through memberships and delegations",
        run: show_effective,
    },
    Step {
        title: "Why? (explain)",
        run: show_explanations,
    },
    Step {
        title: "Access checks (flat, on the resolved identity)",
        run: show_checks,
    },
    Step {
        title: "A peer bound to a principal (the identity registry)",
        run: show_peer,
    },
    Step {
        title: "Ready tasks",
        run: show_tasks,
    },
    Step {
        title: "Pictures and exports",
        run: write_pictures,
    },
];

/// What the steps share: the store, its ACL and taskgraphs, where to write
/// files, the demo's "now", and the report being built.
pub struct Demo {
    pub store: Store,
    pub acl: Acl,
    pub tasks: Taskgraphs,
    pub out_dir: PathBuf,
    pub now: i64,
    json_mode: bool,
    report: Map<String, Value>,
}

impl Demo {
    /// Prints a line of the walkthrough (text mode only).
    pub fn say(&self, line: impl AsRef<str>) {
        if !self.json_mode {
            print_line(line.as_ref());
        }
    }

    /// Records a value in the JSON report under `section`.
    pub fn record(&mut self, section: &str, value: Value) {
        self.report.insert(section.to_owned(), value);
    }

    /// Appends a value to the JSON report's list `section`.
    pub fn push(&mut self, section: &str, value: Value) {
        let entry = self
            .report
            .entry(section.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = entry {
            items.push(value);
        }
    }
}

pub fn run(ctx: &Ctx, args: DemoArgs) -> CliResult {
    prepare_store_file(&ctx.db, args.force)?;
    let store = ctx.open_to_initialize()?;
    ensure_builtins(&store)?;
    let acl = Acl::open(&store)?;
    let tasks = Taskgraphs::open(&store)?;
    std::fs::create_dir_all(&args.out).map_err(|e| {
        CliError::io(format!(
            "cannot create {}: {}",
            args.out.display(),
            io_reason(&e)
        ))
    })?;
    let mut demo = Demo {
        store,
        acl,
        tasks,
        out_dir: args.out,
        now: now_ms(),
        json_mode: ctx.json,
        report: Map::new(),
    };
    let db = ctx.db.display().to_string();
    demo.record("db", json!(db));
    demo.say(format!("Building a demo store at {db}"));
    for step in STEPS {
        // Each step sees the clock as it is when it starts, so what the
        // steps before it wrote (a revocation, say) is in the past.
        demo.now = now_ms();
        demo.say("");
        demo.say(format!("== {}", step.title));
        (step.run)(&mut demo)?;
    }
    demo.say("");
    demo.say("Explore it:");
    for hint in [
        "acl effective --all",
        "acl explain log-shipper repo:read",
        "acl check deploy-bot --scope deploy:prod",
        "task ready --graph release-1.0",
        &format!("peer resolve --fingerprint {PEER_FINGERPRINT}"),
        "watch",
    ] {
        demo.say(format!("  alknet-graphs --db {db} {hint}"));
    }
    Ok(Output::new(Value::Object(demo.report), ""))
}

/// Refuses to touch a file that holds anything unless `force`; with
/// `force`, removes it (and its WAL and shared-memory files).
fn prepare_store_file(path: &Path, force: bool) -> CliResult<()> {
    let holds_data = match std::fs::metadata(path) {
        Err(_) => false,
        Ok(meta) if meta.len() == 0 => false,
        Ok(_) => match Store::open(path) {
            Ok(store) => {
                let read = store.begin_read()?;
                !read.graph_types()?.is_empty() || read.revision()? > 0
            }
            Err(_) => true,
        },
    };
    if !holds_data {
        return Ok(());
    }
    if !force {
        return Err(CliError::Input {
            kind: "already_exists",
            message: format!(
                "{} already holds data; the demo builds a fresh store (pass --force to replace it, or --db to choose another file)",
                path.display()
            ),
        });
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(CliError::io(format!(
                    "cannot remove {}: {}",
                    Path::new(&file).display(),
                    io_reason(&e)
                )))
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Building

fn build_acl(demo: &mut Demo) -> CliResult<()> {
    // Carol's delegation expires in an hour, on a whole second so it
    // reads cleanly.
    let expires = (demo.now / 1_000 + 3_600) * 1_000;
    add_organisation(&mut demo.acl)?;
    add_delegations(&mut demo.acl, expires)?;
    tell_acl(demo, expires);
    record_acl(demo, expires);
    Ok(())
}

/// The principals, the repository resource, acme's grants on it, and the
/// memberships.
fn add_organisation(acl: &mut Acl) -> CliResult<()> {
    let principals = [
        Principal::new("acme", IdentityType::Org).scopes([
            "repo:read",
            "repo:write",
            "billing:read",
        ]),
        Principal::new("release-managers", IdentityType::Role)
            .scopes(["deploy:staging", "deploy:prod"]),
        Principal::new("ada", IdentityType::Account),
        Principal::new("bob", IdentityType::Account),
        Principal::new("carol", IdentityType::Account),
        Principal::new("ci-bot", IdentityType::Service),
        Principal::new("deploy-bot", IdentityType::Service),
        Principal::new("log-shipper", IdentityType::Service),
        Principal::new("preview-bot", IdentityType::Service),
    ];
    for principal in &principals {
        acl.add_principal(principal)?;
    }
    acl.add_resource(&Resource::instance("repo", "alknet"))?;
    acl.grant("acme", Action::Read, "repo/alknet")?;
    acl.grant("acme", Action::Write, "repo/alknet")?;
    for (member, group) in [
        ("ada", "acme"),
        ("ada", "release-managers"),
        ("bob", "acme"),
    ] {
        acl.add_membership(&Membership::new(member, group))?;
    }
    Ok(())
}

/// The narrowing chain from ada, a revoked delegation, and one that
/// `expires`.
fn add_delegations(acl: &mut Acl, expires: i64) -> CliResult<()> {
    // The chain: each hop passes on less than it holds.
    acl.delegate(
        &Delegation::new("ada", "ci-bot")
            .scopes(["repo:read", "repo:write", "deploy:staging"])
            .resource("repo/alknet", ["read", "write"]),
    )?;
    acl.delegate(
        &Delegation::new("ci-bot", "deploy-bot")
            .scopes(["repo:read", "deploy:staging"])
            .resource("repo/alknet", ["read"]),
    )?;
    acl.delegate(&Delegation::new("deploy-bot", "log-shipper").scopes(["repo:read"]))?;
    // Revoked: it stays on record, granting nothing from now on.
    acl.delegate(&Delegation::new("bob", "preview-bot").scopes(["repo:read"]))?;
    acl.revoke("bob", "preview-bot")?;
    acl.delegate(
        &Delegation::new("ada", "carol")
            .scopes(["billing:read"])
            .expires_at(expires),
    )?;
    Ok(())
}

fn tell_acl(demo: &Demo, expires: i64) {
    demo.say("  org acme holds repo:read, repo:write, billing:read, and read+write on repo/alknet");
    demo.say("  role release-managers holds deploy:staging, deploy:prod");
    demo.say("  ada belongs to acme and release-managers; bob belongs to acme");
    demo.say("  delegation chain, narrowing at every hop:");
    demo.say("    ada → ci-bot:          repo:read, repo:write, deploy:staging; read+write on repo/alknet");
    demo.say("    ci-bot → deploy-bot:   repo:read, deploy:staging; read on repo/alknet");
    demo.say("    deploy-bot → log-shipper: repo:read");
    demo.say("  bob → preview-bot: repo:read, revoked");
    demo.say(format!(
        "  ada → carol: billing:read, expires {} (in one hour)",
        format_instant(expires)
    ));
}

fn record_acl(demo: &mut Demo, expires: i64) {
    let mut listed: Vec<Value> = demo
        .acl
        .graph()
        .principals()
        .map(super::acl::principal_json)
        .collect();
    listed.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    demo.record("principals", Value::Array(listed));
    demo.record(
        "delegations",
        json!([
            {"from": "ada", "to": "ci-bot", "scopes": ["deploy:staging", "repo:read", "repo:write"]},
            {"from": "ci-bot", "to": "deploy-bot", "scopes": ["deploy:staging", "repo:read"]},
            {"from": "deploy-bot", "to": "log-shipper", "scopes": ["repo:read"]},
            {"from": "bob", "to": "preview-bot", "scopes": ["repo:read"], "revoked": true},
            {"from": "ada", "to": "carol", "scopes": ["billing:read"], "expires_at": expires},
        ]),
    );
}

fn build_taskgraph(demo: &mut Demo) -> CliResult<()> {
    let tasks = demo.tasks.clone();
    let plan: [(&str, f64, &[&str]); 9] = [
        ("fetch", 1.0, &[]),
        ("build", 5.0, &["fetch"]),
        ("lint", 2.0, &["fetch"]),
        ("unit-tests", 4.0, &["build"]),
        ("integration-tests", 8.0, &["build"]),
        ("package", 2.0, &["unit-tests", "integration-tests", "lint"]),
        ("sign", 1.0, &["package"]),
        ("publish", 1.0, &["sign"]),
        ("announce", 0.5, &["publish"]),
    ];
    let done = ["fetch", "build", "lint"];
    demo.store.write(|tx| {
        tasks.create(tx, TASKGRAPH)?;
        for (key, duration, _) in &plan {
            tasks.add_task(tx, TASKGRAPH, key, &Task::new().duration(*duration))?;
        }
        for (key, _, deps) in &plan {
            for dep in *deps {
                tasks.add_dependency(tx, TASKGRAPH, key, dep)?;
            }
        }
        // Run the first tasks to completion, each along the allowed transitions.
        for key in done {
            tasks.transition(tx, TASKGRAPH, key, Status::Ready, Status::Running)?;
            tasks.transition(tx, TASKGRAPH, key, Status::Running, Status::Done)?;
        }
        Ok(())
    })?;
    demo.say(format!(
        "  taskgraph {TASKGRAPH}: {} tasks with dependencies (an edge a → b: a depends on b)",
        plan.len()
    ));
    for (key, duration, deps) in &plan {
        demo.say(format!(
            "    {key:<18} {duration:>4}  after {}",
            list_or_none(deps.iter())
        ));
    }
    demo.say(format!("  done: {}", done.join(", ")));
    demo.record(
        "taskgraph",
        json!({
            "graph": TASKGRAPH,
            "tasks": plan.iter().map(|(key, duration, deps)| json!({
                "key": key, "duration": duration, "depends_on": deps,
            })).collect::<Vec<_>>(),
            "done": done,
        }),
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Showing

fn show_effective(demo: &mut Demo) -> CliResult<()> {
    for id in [
        "ada",
        "ci-bot",
        "deploy-bot",
        "log-shipper",
        "carol",
        "preview-bot",
    ] {
        let grant = require_effective(&demo.acl, id, demo.now)?;
        demo.say(format!("  {}", effective_text(id, &grant)));
        demo.push("effective", effective_json(id, &grant));
    }
    Ok(())
}

fn show_explanations(demo: &mut Demo) -> CliResult<()> {
    let in_two_hours = demo.now + 2 * 3_600_000;
    let cases = [
        ("log-shipper", Permission::scope("repo:read"), demo.now, ""),
        (
            "log-shipper",
            Permission::scope("deploy:staging"),
            demo.now,
            "",
        ),
        (
            "deploy-bot",
            Permission::resource("repo/alknet", "write"),
            demo.now,
            "",
        ),
        ("preview-bot", Permission::scope("repo:read"), demo.now, ""),
        (
            "carol",
            Permission::scope("billing:read"),
            in_two_hours,
            " (asked as of two hours from now)",
        ),
    ];
    for (principal, permission, t, note) in cases {
        let explanation = demo
            .acl
            .explain_at(principal, &permission, t)
            .ok_or_else(|| CliError::invalid(format!("the demo has no principal {principal:?}")))?;
        let text = explanation_text(principal, &permission, &explanation);
        let mut lines = text.lines();
        if let Some(first) = lines.next() {
            demo.say(format!("  {first}{note}"));
        }
        for line in lines {
            demo.say(format!("  {line}"));
        }
        demo.push(
            "explain",
            explanation_json(principal, &permission, &explanation, t),
        );
    }
    Ok(())
}

fn show_checks(demo: &mut Demo) -> CliResult<()> {
    let checks = [
        (
            "deploy-bot",
            AccessControl::new()
                .require(["deploy:staging"])
                .resource("repo/alknet", "read"),
            "deploy:staging and read on repo/alknet",
        ),
        (
            "deploy-bot",
            AccessControl::new().require(["deploy:prod"]),
            "deploy:prod",
        ),
    ];
    for (principal, access, wanted) in checks {
        let output = check_output(&demo.acl, principal, &access, demo.now)?;
        let verdict = if output.status == ExitStatus::Ok {
            "exit 0"
        } else {
            "exit 3"
        };
        demo.say(format!(
            "  acl check {principal} ({wanted}) → {} [{verdict}]",
            output.json["result"].as_str().unwrap_or("?")
        ));
        demo.push("checks", output.json);
    }
    Ok(())
}

/// The demo peer's key fingerprint (a made-up ed25519 public key).
pub const PEER_FINGERPRINT: &str =
    "ed25519:3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";

/// Registers a peer whose id is the `deploy-bot` principal's, and resolves
/// its key: the peer's own scopes plus everything delegated down to
/// `deploy-bot`.
fn show_peer(demo: &mut Demo) -> CliResult<()> {
    let provider = SqliteIdentityProvider::builder()
        .listen(false)
        .open(&demo.store)?;
    let peer = PeerEntry::new("deploy-bot")
        .fingerprint(PEER_FINGERPRINT)
        .scopes(["metrics:write"]);
    provider.insert_peer(peer.clone())?;
    let identity = provider
        .resolve_from_fingerprint(PEER_FINGERPRINT)
        .ok_or_else(|| CliError::invalid("the demo peer's fingerprint does not resolve"))?;
    demo.say(format!(
        "  registered peer deploy-bot (the principal's id), key {PEER_FINGERPRINT}, holding metrics:write itself"
    ));
    demo.say(format!(
        "  its key resolves to {} (its own scope plus what the ACL delegates to deploy-bot)",
        identity_text(&identity)
    ));
    demo.record(
        "peer",
        json!({"peer": peer_json(&peer, None), "resolved": identity_json(&identity)}),
    );
    Ok(())
}

fn show_tasks(demo: &mut Demo) -> CliResult<()> {
    let read = demo.store.begin_read()?;
    let ready = demo.tasks.ready(&read, TASKGRAPH)?;
    let order = demo.tasks.topological_order(&read, TASKGRAPH)?;
    let path = demo.tasks.critical_path(&read, TASKGRAPH)?;
    let listed = task_list(&read, TASKGRAPH)?;
    drop(read);
    demo.say(format!("  ready now: {}", list_or_none(&ready)));
    demo.say(format!("  order: {}", order.join(" → ")));
    demo.say(format!(
        "  critical path ({} in all): {}",
        path.duration,
        path.tasks.join(" → ")
    ));
    demo.record(
        "tasks",
        json!({
            "graph": TASKGRAPH,
            "ready": ready,
            "order": order,
            "critical_path": {"tasks": path.tasks, "duration": path.duration},
            "statuses": listed.iter().map(|(key, status, _)| (key.clone(), json!(status))).collect::<Map<String, Value>>(),
        }),
    );
    Ok(())
}

fn write_pictures(demo: &mut Demo) -> CliResult<()> {
    let acl_dot = acl_picture(demo.acl.graph(), demo.now);
    let read = demo.store.begin_read()?;
    let tasks_dot = to_dot(
        &read,
        TASKGRAPH,
        &PictureOptions::new().label("duration").left_to_right(true),
    )?;
    let acl_doc = export_graphology(&read, alknet_graphs::acl::GRAPH)?;
    drop(read);
    let acl_json = serde_json::to_string_pretty(&acl_doc)
        .map_err(|e| CliError::invalid(format!("cannot write the ACL export: {e}")))?;
    let files = [
        ("acl_dot", "acl.dot", acl_dot),
        ("tasks_dot", "tasks.dot", tasks_dot),
        ("acl_graphology", "acl.graphology.json", acl_json + "\n"),
    ];
    let mut written = Map::new();
    for (what, name, text) in files {
        let path = demo.out_dir.join(name);
        write_file(&path, &text)?;
        written.insert(what.to_owned(), json!(path.display().to_string()));
    }
    let acl_path = demo.out_dir.join("acl.dot");
    let tasks_path = demo.out_dir.join("tasks.dot");
    demo.say(format!(
        "  wrote {} (the delegation graph: narrowed scopes on each delegation, revoked red, expiring orange)",
        acl_path.display()
    ));
    demo.say(format!(
        "  wrote {} (the taskgraph, coloured by status)",
        tasks_path.display()
    ));
    demo.say(format!(
        "  wrote {} (the whole ACL; load it elsewhere with `alknet-graphs import --graph acl FILE`)",
        demo.out_dir.join("acl.graphology.json").display()
    ));
    demo.say(format!(
        "  render: dot -Tsvg {} -o acl.svg",
        acl_path.display()
    ));
    demo.record("files", Value::Object(written));
    Ok(())
}

/// The ACL as DOT, annotated beyond the generic export: what each principal
/// holds itself, the narrowed scopes of each delegation, and whether a
/// delegation is revoked or expires.
fn acl_picture(graph: &AclGraph, now: i64) -> String {
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut out = String::from(
        "digraph \"acl\" {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=9];\n",
    );
    write_principal_nodes(&mut out, &mut ids, graph);
    write_resource_nodes(&mut out, &mut ids, graph);
    let mut edges: Vec<(&str, &AclEdge)> = graph.edges().collect();
    edges.sort_by(|a, b| a.0.cmp(b.0));
    for (_, edge) in edges {
        let (source, target) = edge.ends();
        let target_key = match edge {
            AclEdge::Can(_) => format!("resource {target}"),
            _ => target.to_owned(),
        };
        let (Some(from), Some(to)) = (ids.get(source), ids.get(&target_key)) else {
            continue;
        };
        let _ = writeln!(out, "  {from} -> {to} [{}];", edge_attributes(edge, now));
    }
    out.push_str("}\n");
    out
}

/// A node per principal in id order, coloured by its identity type and
/// labelled with the scopes it holds itself; `ids` maps each id to its node.
fn write_principal_nodes(out: &mut String, ids: &mut BTreeMap<String, String>, graph: &AclGraph) {
    let mut principals: Vec<&Principal> = graph.principals().collect();
    principals.sort_by(|a, b| a.identity_id.cmp(&b.identity_id));
    for (i, principal) in principals.iter().enumerate() {
        let id = format!("p{i}");
        let fill = match principal.identity_type {
            IdentityType::Org => "#c5cae9",
            IdentityType::Role => "#d1c4e9",
            IdentityType::Service => "#ffe0b2",
            IdentityType::Account => "#ffffff",
        };
        let mut label = format!("{}\n{}", principal.identity_id, principal.identity_type);
        if !principal.scopes.is_empty() {
            let scopes: Vec<&str> = principal.scopes.iter().map(String::as_str).collect();
            label.push('\n');
            label.push_str(&scopes.join(", "));
        }
        let _ = writeln!(
            out,
            "  {id} [label=\"{}\", fillcolor=\"{fill}\"];",
            dot_escape(&label)
        );
        ids.insert(principal.identity_id.clone(), id);
    }
}

/// A node per resource in name order; `ids` maps `resource NAME` to its node.
fn write_resource_nodes(out: &mut String, ids: &mut BTreeMap<String, String>, graph: &AclGraph) {
    let mut resources: Vec<String> = graph.resources().map(Resource::name).collect();
    resources.sort();
    for (i, name) in resources.iter().enumerate() {
        let id = format!("r{i}");
        let _ = writeln!(
            out,
            "  {id} [label=\"{}\\nresource\", shape=cylinder, style=filled, fillcolor=\"#e0e0e0\"];",
            dot_escape(name)
        );
        ids.insert(format!("resource {name}"), id);
    }
}

/// The DOT attributes of an ACL edge.
fn edge_attributes(edge: &AclEdge, now: i64) -> String {
    match edge {
        AclEdge::BelongsTo(_) => "label=\"member of\", style=dashed, color=\"#757575\"".to_owned(),
        AclEdge::Can(grant) => {
            format!("label=\"can {}\", color=\"#757575\"", grant.action.as_str())
        }
        AclEdge::Delegates(delegation) => delegation_attributes(delegation, now),
    }
}

/// A delegation labelled with what it passes on: red and dashed when
/// revoked, orange with its end when it expires, blue otherwise.
fn delegation_attributes(delegation: &Delegation, now: i64) -> String {
    let mut lines: Vec<String> = delegation.narrowed_scopes.iter().cloned().collect();
    for (resource, actions) in &delegation.narrowed_resources {
        let actions: Vec<&str> = actions.iter().map(String::as_str).collect();
        lines.push(format!("{} on {resource}", actions.join("+")));
    }
    let validity = delegation.validity;
    let (color, note) = if validity.revoked_at.is_some_and(|t| t <= now) {
        ("#c62828", Some("revoked".to_owned()))
    } else if let Some(until) = validity.expires_at {
        ("#ef6c00", Some(format!("until {}", format_instant(until))))
    } else {
        ("#1565c0", None)
    };
    if let Some(note) = note {
        lines.push(format!("({note})"));
    }
    let style = if color == "#c62828" {
        ", style=dashed"
    } else {
        ""
    };
    format!(
        "label=\"{}\", color=\"{color}\", fontcolor=\"{color}\", penwidth=1.5{style}",
        dot_escape(&lines.join("\n"))
    )
}

/// Text inside a DOT double-quoted string; newlines become `\n` breaks.
fn dot_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_labels_are_escaped() {
        assert_eq!(dot_escape("a\"b\\c\nd\u{7}"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn the_acl_picture_marks_revoked_and_expiring_delegations() {
        let mut graph = AclGraph::new();
        graph.insert_principal(Principal::new("ada", IdentityType::Account).scopes(["x", "y"]));
        graph.insert_principal(Principal::new("bot", IdentityType::Service));
        graph.insert_principal(Principal::new("old", IdentityType::Service));
        graph
            .insert_edge(AclEdge::Delegates(
                Delegation::new("ada", "bot")
                    .scopes(["x"])
                    .expires_at(1_000),
            ))
            .unwrap();
        graph
            .insert_edge(AclEdge::Delegates(
                Delegation::new("ada", "old")
                    .scopes(["y"])
                    .validity(alknet_graphs::acl::Validity::always().revoked_at(10)),
            ))
            .unwrap();
        let dot = acl_picture(&graph, 500);
        assert!(dot.contains("p0 [label=\"ada\\naccount\\nx, y\""), "{dot}");
        assert!(
            dot.contains("p0 -> p1 [label=\"x\\n(until 1970-01-01T00:00:01Z)\""),
            "{dot}"
        );
        assert!(dot.contains("p0 -> p2 [label=\"y\\n(revoked)\""), "{dot}");
    }
}
