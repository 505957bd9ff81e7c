//! Signed audit checkpoints, anchors and redaction: a forger with write
//! access to the file is caught, a redaction is not mistaken for tampering.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use alknet_graphs::audit::{self, AuditProblemKind, Checkpoint, SigningKey};
use alknet_graphs::identity::{NewApiKey, PeerEntry, SqliteIdentityProvider};
use alknet_graphs::{verify, AuditEntry, Entity, ProblemKind, Store};
use common::audit::{forge_history, rewrite_log, sha256_hex};
use common::{fp, proptest_config, raw_sql, store};
use proptest::prelude::*;

fn provider(store: &Store) -> SqliteIdentityProvider {
    SqliteIdentityProvider::builder()
        .listen(false)
        .open(store)
        .expect("provider")
        .acting_as("admin")
}

/// Three peers added, each followed by a checkpoint covering it.
fn three_checkpoints(
    store: &Store,
    ids: &SqliteIdentityProvider,
    key: &SigningKey,
) -> Vec<Checkpoint> {
    (0..3u8)
        .map(|n| {
            ids.insert_peer(PeerEntry::new(format!("peer-{n}")))
                .unwrap();
            store.create_checkpoint(key).unwrap()
        })
        .collect()
}

/// Four entries: `peer.create` p1 and p2, `api_key.create`, `peer.update` p1.
fn registry(store: &Store) -> SqliteIdentityProvider {
    let ids = provider(store);
    ids.insert_peer(PeerEntry::new("p1").fingerprint(fp(1)).scopes(["ci"]))
        .expect("p1");
    ids.insert_peer(PeerEntry::new("p2").fingerprint(fp(2)).scopes(["ci"]))
        .expect("p2");
    ids.create_api_key(NewApiKey::new("deploy", "p1").scopes(["ci"]))
        .expect("key");
    ids.replace_peer(PeerEntry::new("p1").fingerprint(fp(3)).scopes(["ci"]))
        .expect("update");
    ids
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn entries(store: &Store) -> Vec<AuditEntry> {
    store.begin_read().unwrap().audit_log(0, 10_000).unwrap()
}

fn report(store: &Store, key: &SigningKey, anchors: &[Checkpoint]) -> audit::AuditReport {
    store
        .begin_read()
        .unwrap()
        .verify_audit(&key.verifying_key(), anchors)
        .unwrap()
}

fn messages(report: &audit::AuditReport) -> Vec<String> {
    report.problems().iter().map(ToString::to_string).collect()
}

#[test]
fn a_rewritten_history_passes_the_chain_but_not_a_signed_checkpoint() {
    let (_dir, store) = store();
    registry(&store);
    let key = key(7);
    let checkpoint = store.create_checkpoint(&key).unwrap();
    assert_eq!((checkpoint.seq, checkpoint.audit_seq), (1, 4));
    assert!(report(&store, &key, &[]).is_intact());

    forge_history(store.path());
    // The keyless chain cannot tell.
    assert_eq!(
        store.begin_read().unwrap().verify_audit_chain().unwrap(),
        None
    );

    let found = report(&store, &key, std::slice::from_ref(&checkpoint));
    assert_eq!(
        messages(&found),
        ["audit entry 2: does not match checkpoint 1, which covers entries 1 to 4 (the entry was altered or removed, or one was inserted before it)"]
    );
    assert_eq!(found.first_problem().unwrap().kind, AuditProblemKind::Entry);
    assert_eq!(found.covered_through(), 0);
    // verify() has no key, but the checkpoint's entry hashes still disagree
    // with the rewritten chain.
    let problems = verify(&store).unwrap().problems().to_vec();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].kind, ProblemKind::AuditChain);
    assert!(problems[0]
        .message
        .starts_with("audit entry 2: does not match checkpoint 1"));
}

#[test]
fn a_forger_who_re_signs_or_removes_the_checkpoints_is_caught_by_the_key_or_an_anchor() {
    let (_dir, store) = store();
    registry(&store);
    let key = key(7);
    let anchor = store.create_checkpoint(&key).unwrap();
    forge_history(store.path());
    raw_sql(
        &store,
        "DROP TRIGGER audit_checkpoints_no_delete; DELETE FROM audit_checkpoints;",
    );

    // Without the anchor, a log with no checkpoint is intact but uncovered.
    let bare = report(&store, &key, &[]);
    assert!(bare.is_intact());
    assert_eq!((bare.checkpoints(), bare.covered_through()), (0, 0));
    // The anchor kept elsewhere catches both the removal and the rewrite.
    let anchored = report(&store, &key, std::slice::from_ref(&anchor));
    assert_eq!(
        messages(&anchored),
        [
            "anchored checkpoint 1: is missing from the store (its checkpoints end at 0; they were removed)",
            "audit entry 4: missing: anchored checkpoint 1 covers entries up to 4, but the log ends at 3",
        ]
    );

    // A forger's own key signs a checkpoint of the rewritten log.
    let forger = self::key(9);
    store.create_checkpoint(&forger).unwrap();
    assert!(
        verify(&store).unwrap().is_clean(),
        "verify cannot check signatures"
    );
    let resigned = report(&store, &key, &[]);
    assert_eq!(
        messages(&resigned),
        [format!(
            "checkpoint 1: is signed by key {}, not the trusted key {}",
            audit::verifying_key_hex(&forger.verifying_key()),
            audit::verifying_key_hex(&key.verifying_key())
        )]
    );
    let anchored = report(&store, &key, &[anchor]);
    assert!(messages(&anchored)
        .contains(&"anchored checkpoint 1: does not match the store's checkpoint of that number (the checkpoint was replaced)".to_owned()));
}

#[test]
fn checkpoints_are_numbered_linked_and_monotonic() {
    let (_dir, store) = store();
    let ids = provider(&store);
    let key = key(1);
    let mut made = three_checkpoints(&store, &ids, &key);
    // One with nothing new to cover is still a statement of time.
    made.push(store.create_checkpoint(&key).unwrap());
    let seqs: Vec<u64> = made.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    let covered: Vec<u64> = made.iter().map(|c| c.audit_seq).collect();
    assert_eq!(covered, [1, 2, 3, 3]);
    assert_eq!(made[0].prev_hash, "0".repeat(64));
    for pair in made.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert!(pair[1].revision >= pair[0].revision);
        assert!(pair[1].at >= pair[0].at);
    }
    for checkpoint in &made {
        checkpoint.verify(&key.verifying_key()).unwrap();
        assert_eq!(
            &Checkpoint::from_json(&checkpoint.to_json()).unwrap(),
            checkpoint
        );
    }
    let all = report(&store, &key, &made);
    assert!(all.is_intact(), "{:?}", all.problems());
    assert_eq!(
        (all.checkpoints(), all.anchors(), all.covered_through()),
        (4, 4, 3)
    );
    // A checkpoint does not move the revision: it changes no entity.
    assert_eq!(made[3].revision, store.revision().unwrap());
}

#[test]
fn a_wrong_key_is_refused_to_sign_and_rejected_to_verify() {
    let (_dir, store) = store();
    registry(&store);
    let key = key(1);
    store.create_checkpoint(&key).unwrap();
    let other = self::key(2);
    let err = store.create_checkpoint(&other).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "checkpoint 2: refusing to sign: checkpoint 1 is signed by key {}, not by this key {}",
            audit::verifying_key_hex(&key.verifying_key()),
            audit::verifying_key_hex(&other.verifying_key())
        )
    );
    let found = report(&store, &other, &[]);
    assert_eq!(found.problems().len(), 1);
    assert_eq!(found.problems()[0].kind, AuditProblemKind::Checkpoint);
    assert!(found.problems()[0].reason.starts_with("is signed by key"));
    let forged_signature = {
        let mut cp = store.create_checkpoint(&key).unwrap();
        cp.signature = audit::signing_key_hex(&key).repeat(2);
        cp
    };
    let err = forged_signature.verify(&key.verifying_key()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid checkpoint: checkpoint 2: its signature does not verify with the trusted key"
    );
}

#[test]
fn a_missing_or_swapped_checkpoint_is_detected() {
    let (_dir, store) = store();
    let ids = provider(&store);
    let key = key(1);
    let made = three_checkpoints(&store, &ids, &key);
    raw_sql(
        &store,
        "DROP TRIGGER audit_checkpoints_no_delete; DELETE FROM audit_checkpoints WHERE seq = 2;",
    );
    assert_eq!(
        messages(&report(&store, &key, &[])),
        ["checkpoint 2: missing (the next checkpoint is 3)"]
    );
    let problems = verify(&store).unwrap().problems().to_vec();
    assert_eq!(problems[0].kind, ProblemKind::AuditCheckpoint);

    // Put 2 back in the place of 3 and 3 in the place of 2.
    raw_sql(
        &store,
        &format!(
            "DROP TRIGGER audit_checkpoints_no_update;
             UPDATE audit_checkpoints SET seq = 2 WHERE seq = 3;
             INSERT INTO audit_checkpoints (seq, audit_seq, audit_hash, entries_root, revision, at, prev_hash, public_key, signature, hash, entry_hashes)
             VALUES (3, {}, '{}', '{}', {}, {}, '{}', '{}', '{}', '{}', X'{}');",
            made[1].audit_seq,
            made[1].audit_hash,
            made[1].entries_root,
            made[1].revision,
            made[1].at,
            made[1].prev_hash,
            made[1].public_key,
            made[1].signature,
            made[1].hash,
            entries(&store)[1].hash,
        ),
    );
    assert_eq!(
        messages(&report(&store, &key, &[])),
        ["checkpoint 2: does not link to checkpoint 1 (its prev_hash is not that checkpoint's hash)"]
    );

    // The newest checkpoint removed: only an anchor can tell.
    let (_dir, store) = common::store();
    let ids = provider(&store);
    let mut made = Vec::new();
    for n in 0..2u8 {
        ids.insert_peer(PeerEntry::new(format!("peer-{n}")))
            .unwrap();
        made.push(store.create_checkpoint(&key).unwrap());
    }
    raw_sql(
        &store,
        "DROP TRIGGER audit_checkpoints_no_delete; DELETE FROM audit_checkpoints WHERE seq = 2;",
    );
    assert!(report(&store, &key, &[]).is_intact());
    assert_eq!(
        messages(&report(&store, &key, &made)),
        ["anchored checkpoint 2: is missing from the store (its checkpoints end at 1; they were removed)"]
    );
}

#[test]
fn an_anchor_that_was_altered_or_signed_by_another_key_is_rejected() {
    let (_dir, store) = store();
    registry(&store);
    let key = key(1);
    let genuine = store.create_checkpoint(&key).unwrap();
    let mut altered = genuine.clone();
    altered.audit_seq = 3;
    assert_eq!(
        messages(&report(&store, &key, &[altered])),
        ["anchored checkpoint 1: does not match its hash (the checkpoint was altered)"]
    );
    let elsewhere = {
        let (_dir, other) = common::store();
        registry(&other);
        other.create_checkpoint(&self::key(2)).unwrap()
    };
    let found = report(&store, &key, &[elsewhere]);
    assert_eq!(found.problems()[0].kind, AuditProblemKind::Anchor);
    assert!(found.problems()[0].reason.starts_with("is signed by key"));
}

#[test]
fn the_anchoring_callback_fires_once_per_checkpoint_outside_any_write_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::builder()
        .checkpoint_key(key(5))
        .checkpoint_every(2)
        .open(dir.path().join("auto.db"))
        .unwrap();
    let seen: Arc<Mutex<Vec<(u64, bool)>>> = Arc::default();
    {
        let seen = Arc::clone(&seen);
        let handle = store.clone();
        store.on_checkpoint(move |checkpoint| {
            // A callback may write: it runs after the commit, with the
            // writer released.
            let can_write = match handle.begin_write() {
                Ok(tx) => tx.rollback().is_ok(),
                Err(_) => false,
            };
            seen.lock().unwrap().push((checkpoint.seq, can_write));
        });
    }
    let ids = provider(&store);
    for n in 0..5u8 {
        ids.insert_peer(PeerEntry::new(format!("peer-{n}")))
            .unwrap();
    }
    // Five entries, every two: checkpoints after the 2nd and the 4th.
    assert_eq!(*seen.lock().unwrap(), [(1, true), (2, true)]);
    let explicit = store.create_checkpoint(&key(5)).unwrap();
    assert_eq!(explicit.seq, 3);
    assert_eq!(seen.lock().unwrap().len(), 3);
    let found = report(&store, &key(5), &[]);
    assert!(found.is_intact(), "{:?}", found.problems());
    assert_eq!((found.checkpoints(), found.covered_through()), (3, 5));

    // A rolled-back write makes no checkpoint and calls nobody.
    let tx = store.begin_write().unwrap();
    drop(tx);
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[test]
fn an_interval_makes_a_checkpoint_once_an_uncovered_entry_is_old_enough() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::builder()
        .checkpoint_key(key(5))
        .checkpoint_interval(Duration::ZERO)
        .open(dir.path().join("auto.db"))
        .unwrap();
    let ids = provider(&store);
    ids.insert_peer(PeerEntry::new("a")).unwrap();
    ids.insert_peer(PeerEntry::new("b")).unwrap();
    let found = report(&store, &key(5), &[]);
    assert_eq!((found.checkpoints(), found.covered_through()), (2, 2));
}

#[test]
fn an_automatic_checkpoint_over_a_broken_chain_fails_the_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auto.db");
    let store = Store::open(&path).unwrap();
    registry(&store);
    raw_sql(
        &store,
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE seq = 2;",
    );
    drop(store);
    let store = Store::builder()
        .checkpoint_key(key(5))
        .checkpoint_every(1)
        .open(&path)
        .unwrap();
    let err = provider(&store)
        .insert_peer(PeerEntry::new("late"))
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "checkpoint 1: refusing to sign: audit entry 2: contents do not match its hash"
        ),
        "{err}"
    );
    assert!(store
        .begin_read()
        .unwrap()
        .audit_entry(5)
        .unwrap()
        .is_none());
}

#[test]
fn erasing_a_peer_keeps_verification_clean_and_its_data_out_of_the_file() {
    let (_dir, store) = store();
    let ids = registry(&store);
    let key = key(3);
    let before = store.create_checkpoint(&key).unwrap();

    // p2 (p1 owns an API key, which its removal would leave ownerless).
    let redacted = ids.erase_peer("p2", "erasure request 42").unwrap();
    // p2's create, and the delete the erase made.
    assert_eq!(redacted, [2, 5]);
    assert!(ids.peer("p2").unwrap().is_none());
    let after = store.create_checkpoint(&key).unwrap();
    store.scrub().unwrap();

    let found = report(&store, &key, &[before, after]);
    assert!(found.is_intact(), "{:?}", found.problems());
    assert_eq!(found.redacted(), [2, 5]);
    let problems = verify(&store).unwrap().problems().to_vec();
    assert!(problems.is_empty(), "{problems:?}");
    let log = entries(&store);
    let record = &log[5];
    assert_eq!(
        (
            record.action.as_str(),
            record.entity.as_str(),
            record.actor.as_deref()
        ),
        ("audit.redact", "audit entry 2", Some("admin"))
    );
    assert!(record
        .after
        .as_deref()
        .unwrap()
        .contains("erasure request 42"));
    assert!(log[1].before.is_none() && log[1].after.is_none());
    assert_eq!(log[1].redacted_by, Some(6));
    assert!(log[1].after_sha256.is_some(), "the digest is kept");

    // p2's fingerprint is nowhere in the file; p1's are kept.
    let mut bytes = std::fs::read(store.path()).unwrap();
    if let Ok(wal) = std::fs::read(store.path().with_extension("db-wal")) {
        bytes.extend(wal);
    }
    let holds = |fingerprint: String| {
        let hex = fingerprint.trim_start_matches("ed25519:").to_owned();
        bytes.windows(hex.len()).any(|w| w == hex.as_bytes())
    };
    assert!(!holds(fp(2)), "p2's fingerprint is still in the file");
    assert!(holds(fp(1)) && holds(fp(3)), "p1's are kept");

    // Nothing left to redact is not an error; an erased peer stays erased.
    assert_eq!(ids.erase_peer("p2", "again").unwrap(), Vec::<u64>::new());
}

#[test]
fn redaction_is_refused_where_it_would_hide_something() {
    let (_dir, store) = store();
    registry(&store);
    let refuse = |seq: u64, reason: &str| {
        common::rejected(&store, |tx| tx.redact_audit_entry(seq, reason, None)).to_string()
    };
    assert_eq!(refuse(99, "r"), "audit entry 99 does not exist");
    assert_eq!(refuse(1, " "), "audit entry 1: a redaction needs a reason");
    assert_eq!(
        refuse(1, &"x".repeat(1025)),
        "audit entry 1: the redaction reason is 1025 bytes, over the limit of 1024"
    );
    let by = store
        .write(|tx| tx.redact_audit_entry(1, "r", None))
        .unwrap();
    assert_eq!(by, 5);
    assert_eq!(
        refuse(1, "r"),
        "audit entry 1: is already redacted (by audit entry 5)"
    );
    assert_eq!(
        refuse(5, "r"),
        "audit entry 5: records a redaction; it cannot itself be redacted"
    );
    // An altered entry is not laundered by erasing its payload.
    raw_sql(
        &store,
        "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET after = '{}' WHERE seq = 2;",
    );
    assert_eq!(
        refuse(2, "r"),
        "audit entry 2: after does not match its digest (the entry was altered); refusing to redact it"
    );
}

#[test]
fn raw_sql_cannot_use_the_redaction_path_to_change_anything_else() {
    let (_dir, store) = store();
    registry(&store);
    store
        .write(|tx| tx.redact_audit_entry(1, "r", None))
        .unwrap();
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let refused = |sql: &str| {
        let err = conn.execute_batch(sql).expect_err(sql);
        assert!(
            err.to_string().contains("audit_log is append-only"),
            "{sql}: {err}"
        );
    };
    // Erasing payloads with another field changed, or without a recorded
    // redaction, or twice.
    refused("UPDATE audit_log SET before = NULL, after = NULL, redacted_by = 5, actor = 'x' WHERE seq = 2");
    refused("UPDATE audit_log SET before = NULL, after = NULL, redacted_by = 5 WHERE seq = 2");
    refused("UPDATE audit_log SET before = NULL, after = NULL, redacted_by = 99 WHERE seq = 2");
    refused("UPDATE audit_log SET after_sha256 = NULL WHERE seq = 1");
    refused("UPDATE audit_log SET redacted_by = 5 WHERE seq = 1");
    refused("UPDATE audit_log SET after = '{}' WHERE seq = 5");
    refused("DELETE FROM audit_log WHERE seq = 1");
    refused("UPDATE audit_log SET actor = 'x' WHERE seq = 3");
    assert!(report(&store, &key(1), &[]).is_intact());
}

#[test]
fn an_entry_of_the_old_hash_format_verifies_but_cannot_be_redacted() {
    let (_dir, store) = store();
    // An entry as a store before schema version 4 wrote it.
    let mut old = AuditEntry {
        seq: 1,
        at: 1_700_000_000_000,
        actor: Some("admin".into()),
        action: "peer.create".into(),
        entity: r#"peer "old""#.into(),
        before: None,
        after: Some(r#"{"peer_id":"old"}"#.into()),
        prev_hash: "0".repeat(64),
        hash: String::new(),
        format: 1,
        before_sha256: None,
        after_sha256: None,
        redacted_by: None,
    };
    old.hash = old.computed_hash().unwrap();
    raw_sql(
        &store,
        &format!(
            "INSERT INTO audit_log (seq, at, actor, action, entity, before, after, prev_hash, hash)
             VALUES (1, {}, 'admin', 'peer.create', 'peer \"old\"', NULL, '{{\"peer_id\":\"old\"}}', '{}', '{}');
             INSERT INTO _alknet_meta (key, value) VALUES ('audit_head', '1 {}');",
            old.at, old.prev_hash, old.hash, old.hash
        ),
    );
    provider(&store).insert_peer(PeerEntry::new("new")).unwrap();
    let log = entries(&store);
    assert_eq!((log[0].format, log[1].format), (1, 2));
    let key = key(1);
    store.create_checkpoint(&key).unwrap();
    assert!(report(&store, &key, &[]).is_intact());
    let err = common::rejected(&store, |tx| tx.redact_audit_entry(1, "r", None));
    assert_eq!(
        err.to_string(),
        "audit entry 1: was written before schema version 4 (hash format 1), whose hash covers the payloads themselves; it cannot be redacted"
    );
    let about = Entity::Peer("old".into()).to_string();
    assert!(
        common::rejected(&store, |tx| tx.redact_audit_entity(&about, "r", None))
            .to_string()
            .starts_with("audit entry 1: was written before schema version 4")
    );
}

// -- properties ---------------------------------------------------------------

/// One registry write of a random history.
#[derive(Debug, Clone)]
enum Op {
    Put(u8),
    Replace(u8),
    Delete(u8),
    Checkpoint,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..4).prop_map(Op::Put),
        2 => (0u8..4).prop_map(Op::Replace),
        1 => (0u8..4).prop_map(Op::Delete),
        1 => Just(Op::Checkpoint),
    ]
}

/// A store with the history `ops` (writes that the registry refuses are
/// skipped), ending with a checkpoint, then `redactions` (each an entry
/// index or a peer to erase) applied. Returns the key.
fn history(store: &Store, ops: &[Op], redactions: &[(bool, u16)]) -> SigningKey {
    let ids = provider(store);
    let key = key(11);
    for op in ops {
        let _ = match op {
            Op::Put(n) => ids.insert_peer(PeerEntry::new(format!("p{n}")).fingerprint(fp(*n))),
            Op::Replace(n) => ids.replace_peer(
                PeerEntry::new(format!("p{n}"))
                    .fingerprint(fp(*n + 100))
                    .scopes(["ci"]),
            ),
            Op::Delete(n) => ids.delete_peer(&format!("p{n}")),
            Op::Checkpoint => {
                store.create_checkpoint(&key).unwrap();
                Ok(())
            }
        };
    }
    store.create_checkpoint(&key).unwrap();
    for &(by_entity, pick) in redactions {
        let log = entries(store);
        if log.is_empty() {
            break;
        }
        let target = &log[pick as usize % log.len()];
        if by_entity {
            if let Some(id) = target
                .entity
                .strip_prefix("peer \"")
                .and_then(|s| s.strip_suffix('"'))
            {
                ids.erase_peer(id, "erasure").unwrap();
            }
        } else if !target.is_redacted() && target.action != "audit.redact" {
            store
                .write(|tx| tx.redact_audit_entry(target.seq, "erasure", None))
                .unwrap();
        }
    }
    key
}

/// A change to one field of one entry, as raw SQL would make it.
#[derive(Debug, Clone)]
enum Tamper {
    At,
    Actor,
    Action,
    Entity,
    Before,
    After,
    BeforeDigest,
    AfterDigest,
    RedactedBy,
    Format,
    Remove,
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        Just(Tamper::At),
        Just(Tamper::Actor),
        Just(Tamper::Action),
        Just(Tamper::Entity),
        Just(Tamper::Before),
        Just(Tamper::After),
        Just(Tamper::BeforeDigest),
        Just(Tamper::AfterDigest),
        Just(Tamper::RedactedBy),
        Just(Tamper::Format),
        Just(Tamper::Remove),
    ]
}

fn changed(value: &Option<String>) -> Option<String> {
    match value {
        Some(text) => Some(format!("{text} ")),
        None => Some("{}".into()),
    }
}

/// Applies `how` to entry `at`; a forger who rehashes also gives an
/// altered payload its new digest.
fn apply(log: &mut Vec<AuditEntry>, at: usize, how: &Tamper, rehash: bool) {
    let entry = &mut log[at];
    match how {
        Tamper::At => entry.at += 1,
        Tamper::Actor => entry.actor = changed(&entry.actor),
        Tamper::Action => entry.action.push('x'),
        Tamper::Entity => entry.entity.push('x'),
        Tamper::Before => {
            entry.before = changed(&entry.before);
            if rehash {
                entry.before_sha256 = entry.before.as_deref().map(sha256_hex);
            }
        }
        Tamper::After => {
            entry.after = changed(&entry.after);
            if rehash {
                entry.after_sha256 = entry.after.as_deref().map(sha256_hex);
            }
        }
        Tamper::BeforeDigest => entry.before_sha256 = changed(&entry.before_sha256),
        Tamper::AfterDigest => entry.after_sha256 = changed(&entry.after_sha256),
        Tamper::RedactedBy => entry.redacted_by = Some(entry.redacted_by.map_or(1, |by| by + 1)),
        Tamper::Format => entry.format = 1,
        Tamper::Remove => {
            log.remove(at);
            for (i, entry) in log.iter_mut().enumerate() {
                entry.seq = i as u64 + 1;
            }
        }
    }
}

proptest! {
    #![proptest_config(proptest_config("audit_checkpoints.txt", common::cases_or(24)))]

    #[test]
    fn random_redactions_never_break_verification(
        ops in prop::collection::vec(op(), 1..12),
        redactions in prop::collection::vec((any::<bool>(), any::<u16>()), 0..4),
    ) {
        let (_dir, store) = store();
        let key = history(&store, &ops, &redactions);
        let found = report(&store, &key, &[]);
        prop_assert!(found.is_intact(), "{:?}", found.problems());
        let problems = verify(&store).unwrap().problems().to_vec();
        prop_assert!(problems.is_empty(), "{:?}", problems);
        let log = entries(&store);
        let redacted: Vec<u64> = log.iter().filter(|e| e.is_redacted()).map(|e| e.seq).collect();
        prop_assert_eq!(found.redacted(), redacted.as_slice());
    }

    #[test]
    fn random_tampering_of_a_covered_entry_is_always_caught(
        ops in prop::collection::vec(op(), 1..12),
        redactions in prop::collection::vec((any::<bool>(), any::<u16>()), 0..3),
        pick in any::<u16>(),
        how in tamper(),
        rehash in any::<bool>(),
        drop_checkpoints in any::<bool>(),
    ) {
        let (_dir, store) = store();
        let key = history(&store, &ops, &redactions);
        let anchors = store.begin_read().unwrap().audit_checkpoints(0, 1000).unwrap();
        let mut log = entries(&store);
        prop_assume!(!log.is_empty());
        let covered = report(&store, &key, &[]).covered_through() as usize;
        prop_assume!(covered > 0);
        let at = pick as usize % covered;
        let tail_removed = matches!(how, Tamper::Remove) && at + 1 == log.len();
        apply(&mut log, at, &how, rehash);
        rewrite_log(store.path(), log, rehash);
        let found = report(&store, &key, &[]);
        prop_assert!(!found.is_intact(), "{:?} of entry {} went unnoticed", how, at + 1);
        if drop_checkpoints {
            // A forger who also removes the checkpoints is caught by the
            // anchors, at the entry or at the first anchor that covers it.
            raw_sql(&store, "DROP TRIGGER audit_checkpoints_no_delete; DELETE FROM audit_checkpoints;");
            let anchored = report(&store, &key, &anchors);
            let entry_found = anchored.problems().iter().any(|p| p.kind == AuditProblemKind::Entry);
            prop_assert!(entry_found, "{:?} of entry {}: {:?}", how, at + 1, anchored.problems());
        }
        // Without recomputed hashes even the keyless checks see it, except
        // one forgery: dropping the last entry (and rewriting the head)
        // leaves a shorter chain that links up, and with the checkpoints
        // gone only the anchors held outside the file can tell.
        let hidden_from_keyless = rehash || (tail_removed && drop_checkpoints);
        if !hidden_from_keyless {
            prop_assert!(!verify(&store).unwrap().is_clean(), "{:?} of entry {}", how, at + 1);
        }
    }

    #[test]
    fn random_tampering_of_a_checkpoint_is_always_caught(
        ops in prop::collection::vec(op(), 1..8),
        column in 0usize..11,
    ) {
        let (_dir, store) = store();
        let key = history(&store, &ops, &[]);
        let columns = [
            "seq = seq + 10", "audit_seq = audit_seq + 1", "audit_hash = hash",
            "entries_root = audit_hash", "revision = revision + 1", "at = at + 1",
            "prev_hash = hash", "public_key = hash", "signature = hash || hash",
            "hash = prev_hash", "entry_hashes = X'00'",
        ];
        raw_sql(&store, &format!(
            "DROP TRIGGER audit_checkpoints_no_update;
             UPDATE audit_checkpoints SET {} WHERE seq = (SELECT max(seq) FROM audit_checkpoints);",
            columns[column]
        ));
        let found = report(&store, &key, &[]);
        prop_assert!(!found.is_intact(), "{} went unnoticed", columns[column]);
    }
}
