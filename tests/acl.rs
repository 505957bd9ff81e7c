//! The ACL on a store: its types, every write and every rejection (each
//! naming the reason and leaving the store unchanged), time, explanations,
//! and staying in step with other writers.

mod common;

use std::time::Duration;

use alknet_graphs::acl::{
    AccessControl, Acl, Action, Delegation, Explanation, IdentityType, Membership, Permission,
    Principal, Reason, Resource, Validity,
};
use alknet_graphs::{Endpoints, Error, GraphConfig, NewEdge, Store};
use common::{raw_sql, snapshot, store};
use serde_json::{json, Value};

const HOUR: i64 = 3_600_000;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// root (account: repo:read, repo:write, deploy; read+write on repo)
///   → alice (delegates repo:read, repo:write, deploy; read on repo)
///   → ci-bot (delegates repo:read)
/// plus the org eng (scope eng:wiki) with no members yet.
fn fixture(store: &Store) -> Acl {
    let mut acl = Acl::open(store).expect("open");
    acl.add_principal(
        &Principal::new("root", IdentityType::Account)
            .scopes(["repo:read", "repo:write", "deploy"])
            .resource("repo", ["read", "write"]),
    )
    .unwrap();
    acl.add_principal(&Principal::new("alice", IdentityType::Account))
        .unwrap();
    acl.add_principal(&Principal::new("ci-bot", IdentityType::Service))
        .unwrap();
    acl.add_principal(&Principal::new("eng", IdentityType::Org).scopes(["eng:wiki"]))
        .unwrap();
    acl.delegate(
        &Delegation::new("root", "alice")
            .scopes(["repo:read", "repo:write", "deploy"])
            .resource("repo", ["read"]),
    )
    .unwrap();
    acl.delegate(&Delegation::new("alice", "ci-bot").scopes(["repo:read"]))
        .unwrap();
    acl
}

fn scopes(acl: &Acl, id: &str) -> Vec<String> {
    acl.effective(id)
        .expect("principal exists")
        .scopes
        .into_iter()
        .collect()
}

/// Runs a write that must fail, and checks that neither the store nor the
/// grants in memory changed. Returns the error.
fn refused<T: std::fmt::Debug>(
    store: &Store,
    acl: &mut Acl,
    write: impl FnOnce(&mut Acl) -> alknet_graphs::Result<T>,
) -> Error {
    let before = snapshot(store);
    let grants: Vec<_> = acl
        .graph()
        .principals()
        .map(|p| acl.effective(&p.identity_id))
        .collect();
    let err = write(acl).expect_err("the write should be refused");
    assert_eq!(snapshot(store), before, "a refused write changed the store");
    let after: Vec<_> = acl
        .graph()
        .principals()
        .map(|p| acl.effective(&p.identity_id))
        .collect();
    assert_eq!(after, grants, "a refused write changed the grants");
    err
}

// ---------------------------------------------------------------------------
// Types

fn embedded(name: &str) -> Value {
    let path = format!(
        "{}/schemas/acl/{name}.schema.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("schema file")).expect("json")
}

#[test]
fn open_defines_the_types_once() {
    let (_dir, store) = store();
    let acl = Acl::open(&store).unwrap();
    let revision = store.revision().unwrap();
    assert_eq!(acl.revision(), revision);
    drop(acl);
    let before = snapshot(&store);
    Acl::open(&store).unwrap();
    assert_eq!(snapshot(&store), before, "a second open writes nothing");

    let read = store.begin_read().unwrap();
    let graph_type = read.graph_type("acl").unwrap().expect("graph type acl");
    assert_eq!(
        graph_type.config,
        GraphConfig::directed().allow_self_loops(false)
    );
    assert_eq!(read.graph("acl").unwrap().unwrap().graph_type, "acl");
    for name in ["principal", "resource"] {
        let node_type = read.node_type("acl", name).unwrap().expect(name);
        assert_eq!(node_type.schema, embedded(name), "{name}");
    }
    let principal_to_principal = Endpoints::between(&["principal"], &["principal"]);
    let principal_to_resource = Endpoints::between(&["principal"], &["resource"]);
    for (name, schema, endpoints) in [
        ("delegates", "delegates", &principal_to_principal),
        ("belongs_to", "belongs_to", &principal_to_principal),
        ("can_read", "can", &principal_to_resource),
        ("can_write", "can", &principal_to_resource),
        ("can_execute", "can", &principal_to_resource),
    ] {
        let edge_type = read.edge_type("acl", name).unwrap().expect(name);
        assert_eq!(edge_type.schema, embedded(schema), "{name}");
        assert_eq!(&edge_type.endpoints, endpoints, "{name}");
    }
}

#[test]
fn open_brings_differing_types_in_line() {
    let (_dir, store) = store();
    Acl::open(&store).unwrap();
    // The types as an older version (or a hand edit of the file) left them.
    raw_sql(
        &store,
        r#"UPDATE node_types SET schema = '{"type": "object"}'
             WHERE name = 'principal'
               AND graph_type_id = (SELECT id FROM graph_types WHERE name = 'acl');
           UPDATE graph_types
             SET config = '{"type":"directed","multi":false,"allowSelfLoops":true,"acyclic":false}'
             WHERE name = 'acl';"#,
    );
    Acl::open(&store).unwrap();
    let read = store.begin_read().unwrap();
    let principal = read.node_type("acl", "principal").unwrap().unwrap();
    assert_eq!(principal.schema, embedded("principal"));
    assert_eq!(principal.version, 2);
    assert!(
        !read
            .graph_type("acl")
            .unwrap()
            .unwrap()
            .config
            .allow_self_loops
    );
}

#[test]
fn open_refuses_a_graph_acl_of_another_type() {
    let (_dir, store) = store();
    store
        .write(|tx| {
            tx.define_graph_type("other", GraphConfig::default())?;
            tx.create_graph("acl", "other")
        })
        .unwrap();
    let err = Acl::open(&store).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"graph "acl": is of graph type "other"; the ACL needs it to be of graph type "acl""#
    );
}

#[test]
fn a_principal_whose_key_is_not_its_identity_id_is_refused_on_load() {
    let (_dir, store) = store();
    Acl::open(&store).unwrap();
    // Only a write around the engine can store such a row.
    raw_sql(
        &store,
        r#"INSERT INTO nodes (graph_id, key, node_type_id, attributes, created_at, updated_at)
           SELECT g.id, 'alice', t.id,
                  '{"identity_type": "account", "identity_id": "mallory"}', 0, 0
             FROM graphs g JOIN node_types t ON t.graph_type_id = g.graph_type_id
            WHERE g.name = 'acl' AND t.name = 'principal';"#,
    );
    let err = Acl::open(&store).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"node "alice" in graph "acl": identity_id "mallory" differs from the node key; a principal's key is its identity_id"#
    );
}

// ---------------------------------------------------------------------------
// Writes

#[test]
fn delegation_narrows_along_the_chain() {
    let (_dir, store) = store();
    let acl = fixture(&store);
    assert_eq!(scopes(&acl, "alice"), ["deploy", "repo:read", "repo:write"]);
    assert_eq!(scopes(&acl, "ci-bot"), ["repo:read"]);
    let alice = acl.effective("alice").unwrap();
    assert!(alice.allows("repo", "read") && !alice.allows("repo", "write"));
    assert!(acl.effective("ci-bot").unwrap().resources.is_empty());
    assert_eq!(acl.effective("nobody"), None);
}

#[test]
fn every_write_commits_one_revision_with_its_change_event() {
    let (_dir, store) = store();
    let mut acl = fixture(&store);
    let revision = acl.revision();
    let committed = acl
        .add_membership(&Membership::new("ci-bot", "eng"))
        .unwrap();
    assert_eq!(committed, revision + 1);
    assert_eq!(store.revision().unwrap(), committed);
    assert_eq!(acl.revision(), committed);
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let payload: String = conn
        .query_row(
            "SELECT payload FROM _honker_stream ORDER BY offset DESC LIMIT 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(payload.contains("belongs_to ci-bot eng"), "{payload}");
}

#[test]
fn members_inherit_the_group_grant_until_they_leave() {
    let (_dir, store) = store();
    let mut acl = fixture(&store);
    acl.add_membership(&Membership::new("ci-bot", "eng"))
        .unwrap();
    assert_eq!(scopes(&acl, "ci-bot"), ["eng:wiki", "repo:read"]);
    let why = acl
        .explain("ci-bot", &Permission::scope("eng:wiki"))
        .unwrap();
    assert_eq!(
        why.to_string(),
        "granted: held by eng via belongs_to ci-bot→eng"
    );
    acl.remove_membership("ci-bot", "eng").unwrap();
    assert_eq!(scopes(&acl, "ci-bot"), ["repo:read"]);
}

#[test]
fn resource_actions_are_granted_by_edges() {
    let (_dir, store) = store();
    let mut acl = fixture(&store);
    acl.add_resource(&Resource::instance("repo", "alknet"))
        .unwrap();
    acl.grant("ci-bot", Action::Write, "repo/alknet").unwrap();
    acl.grant("ci-bot", Action::Execute, "repo/alknet").unwrap();
    let ci = acl.effective("ci-bot").unwrap();
    assert!(ci.allows("repo/alknet", "write") && ci.allows("repo/alknet", "execute"));
    assert!(
        !ci.allows("repo", "write"),
        "a grant on an instance is not one on the type"
    );

    acl.revoke_grant("ci-bot", Action::Execute, "repo/alknet")
        .unwrap();
    let ci = acl.effective("ci-bot").unwrap();
    assert!(ci.allows("repo/alknet", "write") && !ci.allows("repo/alknet", "execute"));

    acl.remove_resource("repo/alknet").unwrap();
    assert!(acl.effective("ci-bot").unwrap().resources.is_empty());
    assert_eq!(acl.graph().edge_count(), 2, "only the delegations remain");
}

#[test]
fn narrowing_a_delegator_narrows_its_delegates() {
    let (_dir, store) = store();
    let mut acl = fixture(&store);
    acl.update_principal(&Principal::new("root", IdentityType::Account).scopes(["deploy"]))
        .unwrap();
    assert_eq!(scopes(&acl, "alice"), ["deploy"]);
    assert!(scopes(&acl, "ci-bot").is_empty());
}

#[test]
fn removing_a_principal_removes_its_edges() {
    let (_dir, store) = store();
    let mut acl = fixture(&store);
    acl.remove_principal("alice").unwrap();
    assert!(scopes(&acl, "ci-bot").is_empty());
    assert_eq!(acl.graph().edge_count(), 0);
    assert_eq!(store.begin_read().unwrap().edge_count("acl").unwrap(), 0);
}

#[test]
fn grants_in_memory_match_a_fresh_load() {
    let (_dir, store) = store();
    let mut acl = fixture(&store);
    acl.add_membership(&Membership::new("alice", "eng"))
        .unwrap();
    acl.add_resource(&Resource::of_type("job")).unwrap();
    acl.grant("eng", Action::Execute, "job").unwrap();
    acl.revoke("root", "alice").unwrap();
    acl.update_principal(&Principal::new("eng", IdentityType::Org).scopes(["eng:wiki", "eng:ci"]))
        .unwrap();
    let fresh = Acl::open(&store).unwrap();
    let at = acl.resolution().at();
    for principal in fresh.graph().principals() {
        let id = &principal.identity_id;
        assert_eq!(acl.effective_at(id, at), fresh.effective_at(id, at), "{id}");
        assert_eq!(
            acl.resolution().effective(acl.graph(), id),
            fresh
                .graph()
                .resolver()
                .resolve_all(at)
                .effective(fresh.graph(), id),
            "{id}"
        );
    }
}

#[test]
fn writes_by_another_handle_are_seen_after_refresh_and_before_writing() {
    let (_dir, store) = store();
    let mut mine = fixture(&store);
    let mut theirs = Acl::open(&store).unwrap();
    theirs
        .add_principal(&Principal::new("bob", IdentityType::Account))
        .unwrap();
    assert_eq!(mine.effective("bob"), None, "not refreshed yet");
    // A write reloads first, so its checks see bob.
    mine.delegate(&Delegation::new("alice", "bob").scopes(["deploy"]))
        .unwrap();
    assert_eq!(scopes(&mine, "bob"), ["deploy"]);

    // theirs has not seen the delegation, but its write catches up first.
    theirs.revoke("alice", "bob").unwrap();
    assert_eq!(scopes(&mine, "bob"), ["deploy"], "reads wait for a refresh");
    assert!(mine.refresh().unwrap());
    assert!(scopes(&mine, "bob").is_empty());
    assert!(!mine.refresh().unwrap(), "nothing new");
}

#[test]
fn handles_can_move_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Acl>();
    shareable::<alknet_graphs::acl::AclGraph>();
    shareable::<alknet_graphs::acl::Resolution>();
}

#[test]
fn the_identity_feeds_the_flat_check() {
    let (_dir, store) = store();
    let acl = fixture(&store);
    let ci = acl.identity("ci-bot").unwrap();
    assert_eq!(ci.id, "ci-bot");
    assert!(AccessControl::new()
        .require(["repo:read"])
        .check(Some(&ci))
        .is_allowed());
    assert!(!AccessControl::new()
        .require(["deploy"])
        .check(Some(&ci))
        .is_allowed());
}

#[test]
fn chains_longer_than_the_maximum_depth_do_not_contribute() {
    let (_dir, store) = store();
    drop(fixture(&store));
    let shallow = Acl::builder().max_depth(1).open(&store).unwrap();
    assert_eq!(shallow.max_depth(), 1);
    assert!(scopes(&shallow, "ci-bot").is_empty());
    assert_eq!(
        shallow
            .explain("ci-bot", &Permission::scope("repo:read"))
            .unwrap()
            .to_string(),
        "denied: beyond max depth: the shortest chain has 2 hops, over the maximum of 1"
    );
}

// ---------------------------------------------------------------------------
// Time

#[test]
fn a_delegation_stops_granting_at_its_expiry_without_a_write() {
    let (_dir, store) = store();
    let mut acl = fixture(&store);
    let expiry = now() + HOUR;
    acl.add_principal(&Principal::new("temp", IdentityType::Service))
        .unwrap();
    acl.delegate(
        &Delegation::new("alice", "temp")
            .scopes(["deploy"])
            .expires_at(expiry),
    )
    .unwrap();
    let grant = acl.effective("temp").unwrap();
    assert!(grant.has_scope("deploy"));
    assert_eq!(grant.valid_until, Some(expiry));
    assert!(acl
        .effective_at("temp", expiry - 1)
        .unwrap()
        .has_scope("deploy"));
    assert!(!acl
        .effective_at("temp", expiry)
        .unwrap()
        .has_scope("deploy"));
    assert!(!acl
        .effective_at("temp", expiry + HOUR)
        .unwrap()
        .has_scope("deploy"));
    assert_eq!(
        acl.explain_at("temp", &Permission::scope("deploy"), expiry)
            .unwrap()
            .to_string(),
        format!("denied: expired at {expiry}: hop 2, delegates alice→temp")
    );
}

#[test]
fn the_wall_clock_expires_a_grant_with_no_write_in_between() {
    let (_dir, store) = store();
    let mut acl = fixture(&store);
    let expiry = now() + 1_000;
    acl.add_principal(&Principal::new("temp", IdentityType::Service))
        .unwrap();
    acl.delegate(
        &Delegation::new("alice", "temp")
            .scopes(["deploy"])
            .expires_at(expiry),
    )
    .unwrap();
    assert!(acl.effective("temp").unwrap().has_scope("deploy"));
    let wait = expiry - now() + 20;
    std::thread::sleep(Duration::from_millis(wait.max(0) as u64));
    assert!(!acl.effective("temp").unwrap().has_scope("deploy"));
    assert_eq!(
        acl.revision(),
        store.revision().unwrap(),
        "no write happened"
    );
}

#[test]
fn a_delegation_starts_granting_at_not_before() {
    let (_dir, store) = store();
    let mut acl = fixture(&store);
    let start = now() + HOUR;
    acl.add_principal(&Principal::new("later", IdentityType::Service))
        .unwrap();
    acl.delegate(
        &Delegation::new("alice", "later")
            .scopes(["deploy"])
            .not_before(start),
    )
    .unwrap();
    let grant = acl.effective("later").unwrap();
    assert!(!grant.has_scope("deploy"));
    assert_eq!(grant.valid_until, Some(start));
    assert!(!acl
        .effective_at("later", start - 1)
        .unwrap()
        .has_scope("deploy"));
    assert!(acl
        .effective_at("later", start)
        .unwrap()
        .has_scope("deploy"));
    assert_eq!(
        acl.explain_at("later", &Permission::scope("deploy"), start - 1)
            .unwrap()
            .to_string(),
        format!("denied: not valid before {start}: hop 2, delegates alice→later")
    );
}

#[test]
fn revocation_keeps_the_edge_and_its_history() {
    let (_dir, store) = store();
    let mut acl = fixture(&store);
    let before = now() - 1;
    acl.revoke("alice", "ci-bot").unwrap();
    assert!(scopes(&acl, "ci-bot").is_empty());
    let edge = store
        .begin_read()
        .unwrap()
        .edge("acl", "delegates alice ci-bot")
        .unwrap()
        .expect("the edge stays");
    let revoked_at = edge.attributes["revoked_at"].as_i64().expect("revoked_at");
    assert!(revoked_at > before);
    assert!(acl
        .effective_at("ci-bot", revoked_at - 1)
        .unwrap()
        .has_scope("repo:read"));
    let why = acl
        .explain("ci-bot", &Permission::scope("repo:read"))
        .unwrap();
    assert!(
        matches!(why, Explanation::Denied(Reason::Revoked { hop: 2, at, .. }) if at == revoked_at),
        "{why}"
    );

    let revision = store.revision().unwrap();
    acl.revoke("alice", "ci-bot").unwrap();
    assert_eq!(
        store.revision().unwrap(),
        revision,
        "revoking twice changes nothing"
    );

    acl.update_delegation(&Delegation::new("alice", "ci-bot").scopes(["repo:read"]))
        .unwrap();
    assert_eq!(
        scopes(&acl, "ci-bot"),
        ["repo:read"],
        "an update lifts the revocation"
    );
}

#[test]
fn explain_names_the_hop_that_drops_a_scope() {
    let (_dir, store) = store();
    let acl = fixture(&store);
    let why = acl.explain("ci-bot", &Permission::scope("deploy")).unwrap();
    assert_eq!(
        why.to_string(),
        "denied: dropped at hop 2: not in narrowed_scopes of alice→ci-bot"
    );
    let why = acl
        .explain("ci-bot", &Permission::scope("repo:read"))
        .unwrap();
    assert_eq!(
        why.to_string(),
        "granted: held by root via delegates root→alice, delegates alice→ci-bot"
    );
    let why = acl
        .explain("ci-bot", &Permission::resource("repo", "read"))
        .unwrap();
    assert_eq!(
        why.to_string(),
        "denied: dropped at hop 2: not in narrowed_resources of alice→ci-bot"
    );
}

// ---------------------------------------------------------------------------
// Rejections: each names the reason and leaves the store unchanged

#[test]
fn delegating_what_the_delegator_does_not_hold_is_refused() {
    let (_dir, store) = store();
    let mut acl = fixture(&store);
    acl.add_principal(&Principal::new("bob", IdentityType::Account))
        .unwrap();
    let err = refused(&store, &mut acl, |acl| {
        acl.delegate(
            &Delegation::new("ci-bot", "bob")
                .scopes(["repo:read", "repo:write", "deploy"])
                .resource("repo", ["read", "write"]),
        )
    });
    assert_eq!(
        err.to_string(),
        r#"edge "delegates ci-bot bob" in graph "acl": delegator "ci-bot" does not hold "deploy", "repo:write", read on "repo", write on "repo""#
    );
    assert_eq!(err.kind(), "invalid");
    assert_eq!(
        err.not_held(),
        Some(
            &[
                Permission::scope("deploy"),
                Permission::scope("repo:write"),
                Permission::resource("repo", "read"),
                Permission::resource("repo", "write"),
            ][..]
        )
    );
    let err = refused(&store, &mut acl, |acl| {
        acl.update_delegation(&Delegation::new("alice", "ci-bot").scopes(["eng:wiki"]))
    });
    assert_eq!(
        err.to_string(),
        r#"edge "delegates alice ci-bot" in graph "acl": delegator "alice" does not hold "eng:wiki""#
    );
}

#[test]
fn bad_scope_strings_are_refused() {
    let (_dir, store) = store();
    let mut acl = fixture(&store);
    let long = "x".repeat(257);
    let cases = [
        ("", "scope must not be empty"),
        ("repo read", r#"scope "repo read" contains whitespace"#),
        (
            "repo\u{0}",
            r#"scope "repo\0" contains a control character"#,
        ),
    ];
    for (scope, reason) in cases {
        let err = refused(&store, &mut acl, |acl| {
            acl.add_principal(&Principal::new("bob", IdentityType::Account).scopes([scope]))
        });
        assert_eq!(
            err.to_string(),
            format!(r#"node "bob" in graph "acl": {reason}"#)
        );
        let err = refused(&store, &mut acl, |acl| {
            acl.delegate(&Delegation::new("alice", "ci-bot").scopes([scope]))
        });
        assert_eq!(
            err.to_string(),
            format!(r#"edge "delegates alice ci-bot" in graph "acl": {reason}"#)
        );
    }
    let err = refused(&store, &mut acl, |acl| {
        acl.add_principal(&Principal::new("bob", IdentityType::Account).scopes([long.as_str()]))
    });
    assert_eq!(
        err.to_string(),
        format!(
            r#"node "bob" in graph "acl": scope "{}"… is 257 bytes, over the limit of 256"#,
            "x".repeat(40)
        )
    );
    let err = refused(&store, &mut acl, |acl| {
        acl.add_principal(&Principal::new("bob", IdentityType::Account).resource("repo", ["re ad"]))
    });
    assert_eq!(
        err.to_string(),
        r#"node "bob" in graph "acl": action "re ad" contains whitespace"#
    );
    let err = refused(&store, &mut acl, |acl| {
        acl.add_principal(&Principal::new("b o b", IdentityType::Account))
    });
    assert_eq!(
        err.to_string(),
        r#"node "b o b" in graph "acl": identity_id "b o b" contains whitespace"#
    );
    let err = refused(&store, &mut acl, |acl| {
        acl.add_resource(&Resource::of_type("a/b"))
    });
    assert_eq!(
        err.to_string(),
        r#"node "resource a/b" in graph "acl": resource_type "a/b" must not contain '/'"#
    );
}

const PROTECTED_ACL: &str = "graph \"acl\": the built-in ACL graph type is written only through the ACL, which keeps its key conventions, memberships only into orgs and roles, the delegator-holds check and the audit log; use `alknet-graphs acl …` (acl::Acl) instead";

#[test]
fn wrong_endpoint_types_are_refused() {
    let (_dir, store) = store();
    let mut acl = fixture(&store);
    acl.add_resource(&Resource::of_type("repo")).unwrap();
    // A generic write to the ACL graph is refused, naming the rule, whatever
    // it holds: only the ACL's own writes reach its graph.
    for edge in [
        NewEdge::new("delegates", "alice", "resource repo")
            .key("d")
            .attributes(&json!({"narrowed_scopes": []})),
        NewEdge::new("can_read", "alice", "ci-bot").key("c"),
    ] {
        let err = refused(&store, &mut acl, |_| {
            store.write(|tx| tx.add_edge("acl", edge))
        });
        assert!(err.is_protected());
        assert_eq!(err.to_string(), PROTECTED_ACL);
    }
    // A membership's target must be an org or a role.
    let err = refused(&store, &mut acl, |acl| {
        acl.add_membership(&Membership::new("ci-bot", "alice"))
    });
    assert_eq!(
        err.to_string(),
        r#"edge "belongs_to ci-bot alice" in graph "acl": group "alice" is an account; only an org or a role can have members"#
    );
    // A group with members stays a group.
    acl.add_membership(&Membership::new("ci-bot", "eng"))
        .unwrap();
    let err = refused(&store, &mut acl, |acl| {
        acl.update_principal(&Principal::new("eng", IdentityType::Service))
    });
    assert_eq!(
        err.to_string(),
        r#"node "eng" in graph "acl": has members ("ci-bot"); only an org or a role can have members"#
    );
}

#[test]
fn missing_and_duplicate_entities_are_refused() {
    let (_dir, store) = store();
    let mut acl = fixture(&store);
    let err = refused(&store, &mut acl, |acl| {
        acl.delegate(&Delegation::new("alice", "zed").scopes(["deploy"]))
    });
    assert!(err.is_not_found());
    assert_eq!(
        err.to_string(),
        r#"node "zed" in graph "acl" does not exist"#
    );
    let err = refused(&store, &mut acl, |acl| {
        acl.delegate(&Delegation::new("alice", "ci-bot"))
    });
    assert!(err.is_already_exists());
    assert_eq!(
        err.to_string(),
        r#"edge "delegates alice ci-bot" in graph "acl" already exists"#
    );
    let err = refused(&store, &mut acl, |acl| {
        acl.add_principal(&Principal::new("alice", IdentityType::Account))
    });
    assert_eq!(
        err.to_string(),
        r#"node "alice" in graph "acl" already exists"#
    );
    let err = refused(&store, &mut acl, |acl| acl.revoke("ci-bot", "alice"));
    assert_eq!(
        err.to_string(),
        r#"edge "delegates ci-bot alice" in graph "acl" does not exist"#
    );
    let err = refused(&store, &mut acl, |acl| {
        acl.grant("alice", Action::Read, "repo")
    });
    assert_eq!(
        err.to_string(),
        r#"node "resource repo" in graph "acl" does not exist"#
    );
    let err = refused(&store, &mut acl, |acl| acl.remove_principal("zed"));
    assert!(err.is_not_found());
    let err = refused(&store, &mut acl, |acl| {
        acl.remove_membership("alice", "eng")
    });
    assert!(err.is_not_found());
}

#[test]
fn malformed_delegations_are_refused() {
    let (_dir, store) = store();
    let mut acl = fixture(&store);
    let err = refused(&store, &mut acl, |acl| {
        acl.delegate(&Delegation::new("alice", "alice").scopes(["deploy"]))
    });
    assert_eq!(
        err.to_string(),
        r#"edge "delegates alice alice" in graph "acl": self-loop on node "alice": graph type "acl" does not allow self-loops"#
    );
    let err = refused(&store, &mut acl, |acl| {
        acl.delegate(
            &Delegation::new("alice", "eng")
                .scopes(["deploy"])
                .validity(Validity::always().not_before(200).expires_at(100)),
        )
    });
    assert_eq!(
        err.to_string(),
        r#"edge "delegates alice eng" in graph "acl": expires_at (100) is not after not_before (200); it would never be in force"#
    );
    let err = refused(&store, &mut acl, |acl| {
        acl.delegate(
            &Delegation::new("alice", "eng")
                .scopes(["deploy"])
                .expires_at(-5),
        )
    });
    assert!(err.is_schema_violation(), "{err}");
    assert_eq!(
        err.to_string(),
        r#"edge "delegates alice eng" in graph "acl": attribute /expires_at: -5 is less than the minimum of 0"#
    );
}
