//! The command line of budgets: `acl budget set | rm | show`, `acl reserve`,
//! `acl commit`, `acl release`, `acl prune`, and the budget lines of
//! `acl effective` and `acl explain`.

mod common;

use common::cli::Env;

/// alice holds llm and delegates it to bot with a budget of 5000 USD.
fn env() -> Env {
    let env = Env::init();
    env.ok(&[
        "acl",
        "principal",
        "add",
        "alice",
        "--type",
        "account",
        "--scope",
        "llm",
    ]);
    env.ok(&["acl", "principal", "add", "bot", "--type", "service"]);
    env.ok(&["acl", "delegate", "alice", "bot", "--scope", "llm"]);
    env
}

#[test]
fn set_reserve_commit_release_and_show() {
    let env = env();
    assert_eq!(
        env.text_ok(&["acl", "budget", "set", "alice", "bot", "--unit", "USD", "--amount", "5000"]),
        "alice → bot has a budget of 5000 USD (revision 6)\n"
    );
    // The id is the first line of the text output, for scripts.
    let text = env.text_ok(&[
        "acl", "reserve", "bot", "--unit", "USD", "--amount", "3000", "--ttl", "1h",
    ]);
    let id = text.lines().next().unwrap().to_owned();
    assert_eq!(id.len(), 36, "{text}");
    assert!(
        text.lines()
            .nth(1)
            .unwrap()
            .starts_with("reserved 3000 USD for bot until "),
        "{text}"
    );
    let second = env.ok(&[
        "acl", "reserve", "bot", "--unit", "USD", "--amount", "1000", "--ttl", "30m",
    ]);
    assert_eq!(second["reservation"]["state"], "reserved");
    assert_eq!(second["reservation"]["edges"][0], "delegates alice bot");
    let (kind, message) = env.fails(
        &[
            "acl", "reserve", "bot", "--unit", "USD", "--amount", "1001", "--ttl", "1h",
        ],
        1,
    );
    assert_eq!(kind, "invalid");
    assert_eq!(
        message,
        r#"edge "delegates alice bot" in graph "acl": reserving 1001 USD would exceed its budget of 5000 USD (4000 spent or reserved, 1000 remaining)"#
    );
    let committed = env.ok(&["acl", "commit", &id]);
    assert_eq!(committed["reservation"]["state"], "committed");
    let (_, message) = env.fails(&["acl", "release", &id], 1);
    assert_eq!(
        message,
        format!("reservation {id:?}: is committed; spend is never released")
    );
    let other = second["reservation"]["id"].as_str().unwrap();
    assert!(env
        .text_ok(&["acl", "release", other])
        .starts_with(&format!("released reservation {other} of 1000 USD for bot")));
    let (_, message) = env.fails(&["acl", "release", other], 1);
    assert_eq!(
        message,
        format!("reservation {other:?}: is already released")
    );
    let (kind, message) = env.fails(&["acl", "commit", "nope"], 1);
    assert_eq!(
        (kind.as_str(), message.as_str()),
        ("not_found", r#"reservation "nope" does not exist"#)
    );

    let show = env.ok(&["acl", "budget", "show", "bot"]);
    let usd = &show["budgets"][0];
    assert_eq!(
        (
            &usd["unit"],
            &usd["amount"],
            &usd["spent"],
            &usd["reserved"],
            &usd["remaining"],
            &usd["tightest"]
        ),
        (
            &"USD".into(),
            &5000.into(),
            &3000.into(),
            &0.into(),
            &2000.into(),
            &"delegates alice bot".into()
        )
    );
    assert_eq!(
        env.text_ok(&["acl", "budget", "show", "bot"]),
        "bot:\n  budget USD: 5000, 3000 spent, 0 reserved, 2000 remaining (tightest: \"delegates alice bot\")\n    \"delegates alice bot\" USD: 5000, 3000 spent, 0 reserved, 2000 remaining\n"
    );
    assert_eq!(
        env.text_ok(&["acl", "budget", "show"]),
        "\"delegates alice bot\" USD: 5000, 3000 spent, 0 reserved, 2000 remaining\n"
    );
    assert_eq!(
        env.text_ok(&["acl", "budget", "show", "alice"]),
        "alice: no budget on a chain into it\n"
    );
    let (kind, _) = env.fails(&["acl", "budget", "show", "ghost"], 1);
    assert_eq!(kind, "not_found");

    env.ok(&["acl", "budget", "rm", "alice", "bot", "--unit", "USD"]);
    let (_, message) = env.fails(&["acl", "budget", "rm", "alice", "bot", "--unit", "USD"], 1);
    assert_eq!(
        message,
        r#"edge "delegates alice bot" in graph "acl": has no budget in "USD""#
    );
    assert_eq!(env.text_ok(&["acl", "budget", "show"]), "no budgets\n");

    let audit = env.text_ok(&["audit", "list"]);
    for action in [
        "acl.budget.set",
        "acl.reserve",
        "acl.commit",
        "acl.release",
        "acl.budget.remove",
    ] {
        assert!(audit.contains(action), "{action} in {audit}");
    }
    assert!(env.text_ok(&["verify"]).starts_with("clean"));
}

#[test]
fn effective_and_explain_show_what_remains() {
    let env = env();
    env.ok(&[
        "acl", "budget", "set", "alice", "bot", "--unit", "USD", "--amount", "5000",
    ]);
    env.ok(&[
        "acl", "budget", "set", "alice", "bot", "--unit", "calls", "--amount", "10",
    ]);
    env.ok(&[
        "acl", "reserve", "bot", "--unit", "calls", "--amount", "4", "--ttl", "1h",
    ]);
    assert_eq!(
        env.text_ok(&["acl", "effective", "bot"]),
        "bot: llm\n  budget USD: 5000, 0 spent, 0 reserved, 5000 remaining (tightest: \"delegates alice bot\")\n  budget calls: 10, 0 spent, 4 reserved, 6 remaining (tightest: \"delegates alice bot\")\n"
    );
    let effective = env.ok(&["acl", "effective", "bot"]);
    assert_eq!(effective["budgets"][1]["unit"], "calls");
    assert_eq!(effective["budgets"][1]["remaining"], 6);
    assert_eq!(
        env.ok(&["acl", "effective", "alice"])["budgets"],
        serde_json::json!([])
    );
    let all = env.ok(&["acl", "effective", "--all"]);
    assert_eq!(all["principals"][1]["budgets"][0]["unit"], "USD");
    let explain = env.text_ok(&["acl", "explain", "bot", "llm"]);
    assert!(
        explain.ends_with("  budget calls: 10, 0 spent, 4 reserved, 6 remaining (tightest: \"delegates alice bot\")\n"),
        "{explain}"
    );
    let explain = env.ok(&["acl", "explain", "bot", "llm"]);
    assert_eq!(
        explain["budgets"][0]["edges"][0]["edge"],
        "delegates alice bot"
    );
}

#[test]
fn bad_arguments_are_refused_before_the_store_is_touched() {
    let env = env();
    env.ok(&[
        "acl", "budget", "set", "alice", "bot", "--unit", "USD", "--amount", "5",
    ]);
    let (kind, message) = env.fails(
        &[
            "acl", "reserve", "bot", "--unit", "USD", "--amount", "1", "--ttl", "5",
        ],
        2,
    );
    assert_eq!(kind, "usage");
    assert!(message.contains("is not a duration"), "{message}");
    env.fails(
        &[
            "acl", "reserve", "bot", "--unit", "USD", "--amount", "-1", "--ttl", "5s",
        ],
        2,
    );
    let (_, message) = env.fails(
        &[
            "acl",
            "budget",
            "set",
            "alice",
            "bot",
            "--unit",
            "USD",
            "--amount",
            "9223372036854775808",
        ],
        1,
    );
    assert_eq!(
        message,
        r#"edge "delegates alice bot" in graph "acl": a budget of 9223372036854775808 exceeds the largest amount, 9223372036854775807"#
    );
    let (_, message) = env.fails(
        &[
            "acl", "reserve", "alice", "--unit", "USD", "--amount", "1", "--ttl", "5s",
        ],
        1,
    );
    assert_eq!(
        message,
        r#"node "alice" in graph "acl": no delegation in force on a chain into it has a budget in "USD"; spending needs one"#
    );
    env.fails(&["acl", "prune"], 2);
    let (_, message) = env.fails(&["acl", "prune", "--expired-before", "4000000000000"], 1);
    assert_eq!(
        message,
        r#"graph "acl": cannot prune what expires before 4000000000000: that is after now; a prune removes only what has already expired"#
    );
}

#[test]
fn prune_removes_what_expired_and_says_so() {
    let env = env();
    env.ok(&["acl", "principal", "add", "old", "--type", "service"]);
    env.ok(&[
        "acl",
        "delegate",
        "alice",
        "old",
        "--scope",
        "llm",
        "--expires-at=-2h",
    ]);
    env.ok(&[
        "acl",
        "delegate",
        "bot",
        "old",
        "--scope",
        "llm",
        "--expires-at=-1m",
    ]);
    assert_eq!(
        env.text_ok(&["acl", "prune", "--retention", "1d"])
            .split(" before ")
            .next()
            .unwrap(),
        "nothing expired"
    );
    let pruned = env.ok(&["acl", "prune", "--retention", "1h"]);
    assert_eq!(
        (
            &pruned["delegations"],
            &pruned["memberships"],
            &pruned["reservations"]
        ),
        (&1.into(), &0.into(), &0.into())
    );
    let text = env.text_ok(&["acl", "prune", "--expired-before", "now"]);
    assert!(
        text.starts_with(
            "pruned 1 delegation(s), 0 membership(s) and 0 reservation(s) expired before "
        ),
        "{text}"
    );
    let audit = env.text_ok(&["audit", "list"]);
    assert_eq!(audit.matches("acl.prune").count(), 2, "{audit}");
    let edges = env.ok(&["edge", "list", "--graph", "acl"]);
    assert_eq!(edges["items"].as_array().map(Vec::len), Some(1), "{edges}");
}
