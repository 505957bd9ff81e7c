//! ACL writes composed into a caller's transaction (`Acl::within`): the
//! same checks as the handle's own writes, seen by the writes after them,
//! and committed or rolled back together with everything else.

mod common;

use alknet_graphs::acl::{Acl, Action, Delegation, IdentityType, Membership, Principal, Resource};
use alknet_graphs::{GraphConfig, Store};
use common::{snapshot, store};

/// Writes one ACL through `write`, the same for both ways of writing.
fn build(write: &mut dyn FnMut(Step) -> alknet_graphs::Result<()>) {
    use Step::*;
    let steps = [
        Principal(
            alknet_graphs::acl::Principal::new("root", IdentityType::Account)
                .scopes(["repo:read", "repo:write", "deploy"])
                .resource("repo", ["read", "write"]),
        ),
        Principal(alknet_graphs::acl::Principal::new(
            "alice",
            IdentityType::Account,
        )),
        Principal(alknet_graphs::acl::Principal::new(
            "ci",
            IdentityType::Service,
        )),
        Principal(alknet_graphs::acl::Principal::new("eng", IdentityType::Org).scopes(["wiki"])),
        Resource(alknet_graphs::acl::Resource::instance("repo", "web")),
        Delegate(
            Delegation::new("root", "alice")
                .scopes(["repo:read", "deploy"])
                .resource("repo", ["read"]),
        ),
        Delegate(Delegation::new("alice", "ci").scopes(["deploy"])),
        Member(Membership::new("alice", "eng")),
        Grant("ci", Action::Execute, "repo/web"),
        Revoke("root", "alice"),
    ];
    for step in steps {
        write(step).unwrap();
    }
}

enum Step {
    Principal(Principal),
    Resource(Resource),
    Delegate(Delegation),
    Member(Membership),
    Grant(&'static str, Action, &'static str),
    Revoke(&'static str, &'static str),
}

fn grants(acl: &Acl) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<_> = acl
        .graph()
        .principals()
        .map(|p| {
            let grant = acl.effective(&p.identity_id).unwrap();
            (p.identity_id.clone(), grant.scopes.into_iter().collect())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn composed_writes_resolve_as_the_handles_own_writes_do() {
    let (_d1, one_by_one) = store();
    let mut acl = Acl::open(&one_by_one).unwrap();
    build(&mut |step| {
        match step {
            Step::Principal(p) => acl.add_principal(&p),
            Step::Resource(r) => acl.add_resource(&r),
            Step::Delegate(d) => acl.delegate(&d),
            Step::Member(m) => acl.add_membership(&m),
            Step::Grant(id, action, resource) => acl.grant(id, action, resource),
            Step::Revoke(from, to) => acl.revoke(from, to),
        }
        .map(drop)
    });

    let (_d2, composed) = store();
    let mut other = Acl::open(&composed).unwrap();
    let before = composed.revision().unwrap();
    let mut tx = composed.begin_write().unwrap();
    let mut writes = other.within(&mut tx).unwrap();
    build(&mut |step| match step {
        Step::Principal(p) => writes.add_principal(&p),
        Step::Resource(r) => writes.add_resource(&r),
        Step::Delegate(d) => writes.delegate(&d),
        Step::Member(m) => writes.add_membership(&m),
        Step::Grant(id, action, resource) => writes.grant(id, action, resource),
        Step::Revoke(from, to) => writes.revoke(from, to),
    });
    drop(writes);
    assert_eq!(
        tx.commit().unwrap(),
        before + 1,
        "one transaction, one revision"
    );

    assert!(
        other.effective("root").is_none(),
        "not seen before a refresh"
    );
    other.refresh().unwrap();
    assert_eq!(grants(&other), grants(&acl));
    // A fresh load agrees with what the handle caught up to.
    assert_eq!(grants(&Acl::open(&composed).unwrap()), grants(&acl));
    // Every write was audited.
    let actions: Vec<String> = composed
        .begin_read()
        .unwrap()
        .audit_log(0, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.starts_with("acl."))
        .collect();
    assert_eq!(actions.len(), 10, "{actions:?}");
}

#[test]
fn a_refused_write_leaves_the_transaction_to_roll_back_with_everything_in_it() {
    let (_dir, store) = store();
    let mut acl = Acl::open(&store).unwrap();
    acl.add_principal(&Principal::new("ops", IdentityType::Account).scopes(["deploy"]))
        .unwrap();
    let before = snapshot(&store);

    let mut tx = store.begin_write().unwrap();
    tx.define_graph_type("plain", GraphConfig::default())
        .unwrap();
    tx.create_graph("notes", "plain").unwrap();
    let mut writes = acl.within(&mut tx).unwrap();
    writes
        .add_principal(&Principal::new("bot", IdentityType::Service))
        .unwrap();
    // The earlier write is seen by the later ones.
    writes
        .delegate(&Delegation::new("ops", "bot").scopes(["deploy"]))
        .unwrap();
    assert!(writes.effective("bot").unwrap().has_scope("deploy"));
    let err = writes
        .delegate(&Delegation::new("bot", "ops").scopes(["admin"]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"edge "delegates bot ops" in graph "acl": delegator "bot" does not hold "admin""#
    );
    drop(writes);
    drop(tx);

    assert_eq!(
        snapshot(&store),
        before,
        "nothing of the transaction remains"
    );
    acl.refresh().unwrap();
    assert!(acl.effective("bot").is_none());
}

#[test]
fn a_revocation_in_the_transaction_takes_effect_for_the_writes_after_it() {
    let (_dir, store) = store();
    let mut acl = Acl::open(&store).unwrap();
    acl.add_principal(&Principal::new("root", IdentityType::Account).scopes(["s"]))
        .unwrap();
    acl.add_principal(&Principal::new("mid", IdentityType::Account))
        .unwrap();
    acl.add_principal(&Principal::new("leaf", IdentityType::Account))
        .unwrap();
    acl.delegate(&Delegation::new("root", "mid").scopes(["s"]))
        .unwrap();

    let mut tx = store.begin_write().unwrap();
    let mut writes = acl.within(&mut tx).unwrap();
    writes.revoke("root", "mid").unwrap();
    let err = writes
        .delegate(&Delegation::new("mid", "leaf").scopes(["s"]))
        .unwrap_err();
    assert!(err.not_held().is_some(), "{err}");
    drop(writes);
    tx.commit().unwrap();
    acl.refresh().unwrap();
    assert!(!acl.effective("mid").unwrap().has_scope("s"));
}

#[test]
fn a_transaction_of_another_store_is_refused() {
    let (_d1, store) = store();
    let (_d2, other) = common::store();
    let mut acl = Acl::open(&store).unwrap();
    let mut tx = other.begin_write().unwrap();
    let err = acl.within(&mut tx).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"graph "acl": the transaction writes another store than this ACL's"#
    );
    drop(tx);

    // Another handle on the same file is the same store.
    let same = Store::open(store.path()).unwrap();
    let mut tx = same.begin_write().unwrap();
    acl.within(&mut tx)
        .unwrap()
        .add_principal(&Principal::new("x", IdentityType::Account))
        .unwrap();
    tx.define_graph_type("t", GraphConfig::default()).unwrap();
    tx.commit().unwrap();
    acl.refresh().unwrap();
    assert!(acl.effective("x").is_some());
    assert!(store
        .begin_read()
        .unwrap()
        .graph_type("t")
        .unwrap()
        .is_some());
}

#[test]
fn a_peer_and_its_principal_commit_or_roll_back_together() {
    use alknet_graphs::identity::{IdentityProvider, PeerEntry, SqliteIdentityProvider};
    let (_dir, store) = store();
    let acl = Acl::open(&store).unwrap();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    let fingerprint = format!("ed25519:{}", "cd".repeat(32));
    let before = snapshot(&store);

    let mut tx = store.begin_write().unwrap();
    acl.within(&mut tx)
        .unwrap()
        .add_principal(&Principal::new("ci", IdentityType::Service).scopes(["deploy"]))
        .unwrap();
    ids.within(&mut tx)
        .unwrap()
        .insert_peer(PeerEntry::new("ci").fingerprint(fingerprint.clone()))
        .unwrap();
    drop(tx);
    assert_eq!(snapshot(&store), before, "rolled back together");
    assert!(ids.resolve_from_fingerprint(&fingerprint).is_none());

    // The binding rule sees the principal written earlier in the same
    // transaction: a peer does not bind to an org.
    let mut tx = store.begin_write().unwrap();
    acl.within(&mut tx)
        .unwrap()
        .add_principal(&Principal::new("eng", IdentityType::Org))
        .unwrap();
    let err = ids
        .within(&mut tx)
        .unwrap()
        .insert_peer(PeerEntry::new("eng"))
        .unwrap_err();
    assert_eq!(err.kind(), "invalid", "{err}");
    drop(tx);

    let mut tx = store.begin_write().unwrap();
    acl.within(&mut tx)
        .unwrap()
        .add_principal(&Principal::new("ci", IdentityType::Service).scopes(["deploy"]))
        .unwrap();
    ids.within(&mut tx)
        .unwrap()
        .insert_peer(PeerEntry::new("ci").fingerprint(fingerprint.clone()))
        .unwrap();
    tx.commit().unwrap();
    // The provider follows the commit by itself.
    let identity = ids.resolve_from_fingerprint(&fingerprint).unwrap();
    assert_eq!(identity.scopes, ["deploy"]);
}

#[test]
fn a_key_for_an_owner_of_the_same_transaction_is_refused_as_ownerless() {
    use alknet_graphs::identity::{NewApiKey, SqliteIdentityProvider};
    let (_dir, store) = store();
    let acl = Acl::open(&store).unwrap();
    let ids = SqliteIdentityProvider::open(&store).unwrap();
    let mut tx = store.begin_write().unwrap();
    acl.within(&mut tx)
        .unwrap()
        .add_principal(&Principal::new("bot", IdentityType::Service).scopes(["s"]))
        .unwrap();
    let err = ids
        .within(&mut tx)
        .unwrap()
        .create_api_key(NewApiKey::new("k", "bot").scopes(["s"]))
        .unwrap_err();
    assert_eq!(err.kind(), "not_found", "{err}");
    tx.commit().unwrap();
    // Once the owner is committed, the key can be made in a later one.
    let mut tx = store.begin_write().unwrap();
    let (key, _token) = ids
        .within(&mut tx)
        .unwrap()
        .create_api_key(NewApiKey::new("k", "bot").scopes(["s"]))
        .unwrap();
    tx.commit().unwrap();
    assert_eq!(key.owner_id, "bot");
}

#[test]
fn budgets_and_reservations_compose_and_see_each_other() {
    use std::time::Duration;
    let (_dir, store) = store();
    let mut acl = Acl::open(&store).unwrap();
    acl.add_principal(&Principal::new("org", IdentityType::Account).scopes(["spend"]))
        .unwrap();
    acl.add_principal(&Principal::new("team", IdentityType::Service))
        .unwrap();
    acl.delegate(&Delegation::new("org", "team").scopes(["spend"]))
        .unwrap();
    let before = snapshot(&store);

    let mut tx = store.begin_write().unwrap();
    let mut writes = acl.within(&mut tx).unwrap();
    writes.set_budget("org", "team", "USD", 100).unwrap();
    let first = writes
        .reserve("team", "USD", 60, Duration::from_secs(60))
        .unwrap();
    // The reservation made earlier in the transaction counts.
    let err = writes
        .reserve("team", "USD", 50, Duration::from_secs(60))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("would exceed its budget of 100 USD"),
        "{err}"
    );
    writes.commit_reservation(&first.id).unwrap();
    drop(writes);
    drop(tx);
    assert_eq!(snapshot(&store), before, "all of it rolled back");

    let mut tx = store.begin_write().unwrap();
    let mut writes = acl.within(&mut tx).unwrap();
    writes.set_budget("org", "team", "USD", 100).unwrap();
    let held = writes
        .reserve("team", "USD", 60, Duration::from_secs(60))
        .unwrap();
    writes.release_reservation(&held.id).unwrap();
    drop(writes);
    tx.commit().unwrap();
    acl.refresh().unwrap();
    let status = acl.budgets("team").unwrap().unwrap();
    assert_eq!(status[0].remaining, 100, "{status:?}");
}

#[test]
fn a_prune_in_the_transaction_commits_or_rolls_back_with_the_writes_beside_it() {
    let (_dir, store) = store();
    let mut acl = Acl::open(&store).unwrap();
    acl.add_principal(&Principal::new("ops", IdentityType::Account).scopes(["deploy", "read"]))
        .unwrap();
    acl.add_principal(&Principal::new("bot", IdentityType::Service))
        .unwrap();
    acl.add_principal(&Principal::new("ci", IdentityType::Service))
        .unwrap();
    acl.delegate(
        &Delegation::new("ops", "bot")
            .scopes(["deploy"])
            .expires_at(1_000),
    )
    .unwrap();
    acl.delegate(&Delegation::new("ops", "ci").scopes(["read"]))
        .unwrap();
    let actions = |store: &Store| -> Vec<String> {
        let read = store.begin_read().unwrap();
        read.audit_log(0, 1_000)
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect()
    };
    let before = snapshot(&store);

    // A prune the caller drops with its transaction removes nothing.
    let mut tx = store.begin_write().unwrap();
    let mut writes = acl.within(&mut tx).unwrap();
    let pruned = writes.prune_expired(2_000).unwrap();
    assert_eq!((pruned.delegations, pruned.memberships), (1, 0));
    assert!(writes.effective("bot").unwrap().scopes.is_empty());
    drop(writes);
    drop(tx);
    assert_eq!(
        snapshot(&store),
        before,
        "nothing of the transaction remains"
    );

    // Committed, the prune and the write after it land together, the prune
    // audited once, as the handle's own prune is.
    let mut tx = store.begin_write().unwrap();
    let mut writes = acl.within(&mut tx).unwrap();
    let err = writes.prune_expired(i64::MAX).unwrap_err();
    assert!(
        err.to_string()
            .contains("a prune removes only what has already expired"),
        "{err}"
    );
    assert_eq!(writes.prune_expired(2_000).unwrap().delegations, 1);
    writes
        .delegate(&Delegation::new("ops", "bot").scopes(["read"]))
        .unwrap();
    drop(writes);
    tx.commit().unwrap();
    acl.refresh().unwrap();
    let edge = acl.graph().edge("delegates ops bot").unwrap();
    assert_eq!(edge.validity().expires_at, None);
    assert!(acl.effective("bot").unwrap().has_scope("read"));
    assert!(acl.effective("ci").unwrap().has_scope("read"));
    let log = actions(&store);
    assert_eq!(
        log.iter()
            .rev()
            .take(2)
            .map(String::as_str)
            .collect::<Vec<_>>(),
        ["acl.delegate", "acl.prune"]
    );
    assert_eq!(log.iter().filter(|a| *a == "acl.prune").count(), 1);
}
