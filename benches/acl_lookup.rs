//! Reverse lookups ("who holds this scope?") on a graph of 100,000
//! principals, with the brute-force baseline in the same run so the
//! figures read as ratios.
//!
//! The graph: 1,000 orgs of 100 members each (members inherit their org's
//! grant), every org holding 8 scopes of a vocabulary of 1,000 and every
//! member 4 of its own, plus 2 delegations into each member from other
//! orgs' members (narrowed to one scope each). The looked-up scope
//! `deploy` is held by 100 of the orgs, so by 10,000 of the 100,000
//! principals (and the 100 orgs), the target of the goal: ≤ 10 ms.
//!
//! - **index**: `Resolution::holders` (the inverted index the resolution
//!   keeps), names sorted;
//! - **brute force**: `Resolution::effective` of every principal, keeping
//!   those that hold it (the baseline);
//! - **at another instant**: `Resolver::resolve_all` at that instant, then
//!   the index (what a lookup `--at` an instant before the resolution's
//!   costs).
//!
//! ```text
//! cargo bench --bench acl_lookup -- --warm-up-time 1 --measurement-time 5
//! ```

#![allow(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use alknet_graphs::acl::{
    AclEdge, AclGraph, Delegation, IdentityType, Membership, Permission, Principal,
};
use criterion::{criterion_group, Criterion};

const ORGS: usize = 1_000;
const MEMBERS: usize = 100;
const VOCABULARY: usize = 1_000;
/// One org in this many holds `deploy`.
const DEPLOY_EVERY: usize = 10;

/// A small deterministic generator (xorshift), so every run builds the
/// same graph.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as usize
    }

    fn scope(&mut self) -> String {
        format!("scope-{}", self.next() % VOCABULARY)
    }
}

fn member(org: usize, i: usize) -> String {
    format!("m{org}-{i}")
}

fn graph() -> AclGraph {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut graph = AclGraph::new();
    for org in 0..ORGS {
        let mut scopes: Vec<String> = (0..8).map(|_| rng.scope()).collect();
        if org % DEPLOY_EVERY == 0 {
            scopes.push("deploy".to_owned());
        }
        graph.insert_principal(
            Principal::new(format!("org{org}"), IdentityType::Org).scopes(scopes),
        );
        for i in 0..MEMBERS {
            let own: Vec<String> = (0..4).map(|_| rng.scope()).collect();
            graph.insert_principal(
                Principal::new(member(org, i), IdentityType::Account).scopes(own),
            );
            graph
                .insert_edge(AclEdge::BelongsTo(Membership::new(
                    member(org, i),
                    format!("org{org}"),
                )))
                .expect("both ends exist");
        }
    }
    for org in 0..ORGS {
        for i in 0..MEMBERS {
            for _ in 0..2 {
                let from_org = (org + 1 + rng.next() % (ORGS - 1)) % ORGS;
                let from = member(from_org, rng.next() % MEMBERS);
                let scope = rng.scope();
                let d = Delegation::new(from, member(org, i)).scopes([scope]);
                // A repeated pair replaces the earlier delegation; fine.
                graph
                    .insert_edge(AclEdge::Delegates(d))
                    .expect("both ends exist");
            }
        }
    }
    graph
}

fn benches(c: &mut Criterion) {
    let graph = graph();
    let resolution = graph.resolver().resolve_all(0);
    let deploy = Permission::scope("deploy");
    let ids: Vec<String> = graph.principals().map(|p| p.identity_id.clone()).collect();

    let by_index = resolution.holders(&graph, &deploy);
    let mut by_scan: Vec<String> = ids
        .iter()
        .filter(|id| {
            resolution
                .effective(&graph, id)
                .is_some_and(|g| g.has_scope("deploy"))
        })
        .cloned()
        .collect();
    by_scan.sort();
    assert_eq!(by_index, by_scan, "the index and the scan agree");
    assert_eq!(by_index.len(), ORGS / DEPLOY_EVERY * (MEMBERS + 1));
    eprintln!(
        "{} principals, {} edges; \"deploy\" held by {}",
        graph.principal_count(),
        graph.edge_count(),
        by_index.len()
    );

    let mut group = c.benchmark_group("who holds a scope held by 10k of 100k principals");
    group.sample_size(20);
    group.bench_function("index (Resolution::holders)", |b| {
        b.iter(|| black_box(resolution.holders(&graph, black_box(&deploy))))
    });
    group.bench_function("brute force (effective of every principal)", |b| {
        b.iter(|| {
            let mut held: Vec<&str> = ids
                .iter()
                .filter(|id| {
                    resolution
                        .effective(&graph, id)
                        .is_some_and(|g| g.has_scope("deploy"))
                })
                .map(String::as_str)
                .collect();
            held.sort_unstable();
            black_box(held)
        })
    });
    group.sample_size(10);
    group.bench_function("at another instant (resolve_all, then the index)", |b| {
        b.iter(|| {
            let other = graph.resolver().resolve_all(black_box(1));
            black_box(other.holders(&graph, &deploy))
        })
    });
    group.finish();
}

criterion_group!(lookup_benches, benches);

fn main() {
    lookup_benches();
    Criterion::default().configure_from_args().final_summary();
}
