//! Policy test files: the shipped examples pass (through the library and
//! the binary) and validate against the JSON Schema; the failing fixture
//! reports each failure with its line, messages pinned; malformed files
//! exit 2 naming the line, in both formats.

mod common;

use std::path::{Path, PathBuf};

use alknet_graphs::policy::{Format, Policy, PolicyError};
use common::cli::{utf8, Env};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn examples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("examples/policies"))
        .expect("examples/policies exists")
        .map(|entry| entry.expect("list examples/policies").path())
        .filter(|path| Format::from_path(path).is_some())
        .collect();
    files.sort();
    assert!(files.len() >= 2, "ships a JSON and a TOML example");
    files
}

fn parse_file(path: &Path) -> Result<Policy, PolicyError> {
    let text = std::fs::read_to_string(path).expect("read the policy file");
    Policy::parse(&text, Format::from_path(path).expect(".json or .toml"))
}

/// The document as JSON, whichever format it is written in.
fn as_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("read the policy file");
    match Format::from_path(path) {
        Some(Format::Json) => serde_json::from_str(&text).expect("valid JSON"),
        Some(Format::Toml) => toml::from_str(&text).expect("valid TOML"),
        None => panic!("{}: not a policy file", path.display()),
    }
}

#[test]
fn the_shipped_examples_pass() {
    for path in examples() {
        let report = parse_file(&path).unwrap().run().unwrap();
        assert!(report.passed(), "{}:\n{report}", path.display());
        assert!(
            report.assertions >= 8,
            "{} checks something",
            path.display()
        );
    }
    let env = Env::new();
    let paths: Vec<String> = examples().iter().map(|p| p.display().to_string()).collect();
    let mut args = vec!["test"];
    args.extend(paths.iter().map(String::as_str));
    let out = env.run(&args);
    assert_eq!(out.status.code(), Some(0), "{}", utf8(&out.stderr));
    assert!(utf8(&out.stdout).contains("org.toml: all 12 assertions hold"));
}

#[test]
fn the_shipped_examples_and_fixtures_validate_against_the_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/policy-test.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let mut files = examples();
    files.push(root().join("tests/fixtures/policies/failing.toml"));
    for path in files {
        let doc = as_json(&path);
        let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
    // And it refuses what the parser refuses for its shape.
    for bad in [
        r#"{"principals": [{"id": "a", "type": "robot"}]}"#,
        r#"{"assertions": [{"assert": "has", "subject": "a"}]}"#,
        r#"{"assertions": [{"assert": "has", "subject": "a", "scope": "s", "resource": "r", "action": "x"}]}"#,
        r#"{"assertions": [{"assert": "check", "subject": "a", "expect": "allowed"}]}"#,
        r#"{"assertions": [{"assert": "who-has", "scope": "s"}]}"#,
        r#"{"delegations": [{"from": "a", "to": "b", "expires_at": "soon"}]}"#,
        r#"{"extra": []}"#,
    ] {
        let doc: Value = serde_json::from_str(bad).unwrap();
        assert!(!validator.is_valid(&doc), "the schema accepts {bad}");
        assert!(
            Policy::parse(bad, Format::Json).is_err(),
            "the parser accepts {bad}"
        );
    }
}

#[test]
fn the_failing_fixture_names_each_failed_assertion_and_its_line() {
    let path = root().join("tests/fixtures/policies/failing.toml");
    let report = parse_file(&path).unwrap().run().unwrap();
    assert_eq!(
        report.to_string(),
        "line 30: \"bot\" has \"repo:write\": it holds \"repo:read\"\n\
         line 35: \"bot\" lacks \"repo:read\": it holds it, granted: held by eng via belongs_to ada→eng, delegates ada→bot\n\
         line 40: check peer \"bot\" for \"repo:read\", \"deploy\" is allowed: it is denied: missing scopes \"deploy\"\n\
         line 46: explain \"bot\" \"repo:read\" names eng→bot: it is granted: held by eng via belongs_to ada→eng, delegates ada→bot\n\
         line 52: who-has \"repo:read\" at 2100-01-01T00:00:00Z equals [\"ada\", \"bot\"]: it is [\"ada\", \"eng\"]; missing [\"bot\"]; not expected [\"eng\"]\n\
         line 58: \"nobody\" has \"repo:read\": there is no principal \"nobody\"\n\
         6 of 7 assertions failed"
    );

    let env = Env::new();
    let file = path.display().to_string();
    let out = env.run(&["test", &file]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = utf8(&out.stdout);
    assert!(
        stdout.starts_with(&format!(
            "{file}:30: \"bot\" has \"repo:write\": it holds \"repo:read\"\n"
        )),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(&format!("{file}: 6 of 7 assertions failed\n")),
        "{stdout}"
    );

    let out = env.run(&["--json", "test", &file]);
    assert_eq!(out.status.code(), Some(1));
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["passed"], Value::Bool(false));
    let lines: Vec<u64> = value["files"][0]["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [30, 35, 40, 46, 52, 58]);
    assert_eq!(
        value["files"][0]["failed"][2]["message"],
        "it is denied: missing scopes \"deploy\""
    );

    // One failing file among passing ones fails the run.
    let example = examples()[0].display().to_string();
    assert_eq!(env.run(&["test", &example, &file]).status.code(), Some(1));
}

/// (file name, contents, the message `test` exits 2 with)
const MALFORMED: [(&str, &str, &str); 9] = [
    (
        "syntax.json",
        "{\"principals\": [\n  {\"id\": \"a\", \"type\": \"account\"},\n  {\"id\": \"b\" \"type\": \"account\"}\n]}",
        "line 3: expected `,` or `}`",
    ),
    (
        "unknown-field.json",
        "{\n\"principals\": [{\"id\": \"a\", \"type\": \"account\", \"scope\": []}]}",
        "line 2: unknown field `scope`, expected one of `id`, `type`, `scopes`, `resources`",
    ),
    (
        "bad-kind.json",
        "{\"assertions\": [\n\n  {\"assert\": \"has\", \"subject\": \"a\", \"scope\": \"s\"},\n  {\"assert\": \"holds\", \"subject\": \"a\"}]}",
        "line 4: assertion \"holds\": \"assert\" is one of \"has\", \"lacks\", \"check\", \"explain\", \"who-has\"",
    ),
    (
        "bad-time.json",
        "{\"assertions\": [\n  {\"assert\": \"has\", \"subject\": \"a\", \"scope\": \"s\",\n   \"at\": \"tomorrow\"}]}",
        "line 2: at: \"tomorrow\" is not unix milliseconds or an RFC 3339 time",
    ),
    (
        "not-held.json",
        "{\"principals\": [{\"id\": \"a\", \"type\": \"account\"}, {\"id\": \"b\", \"type\": \"account\"}],\n \"delegations\": [\n  {\"from\": \"a\", \"to\": \"b\", \"scopes\": [\"deploy\"]}]}",
        "line 3: edge \"delegates a b\" in graph \"acl\": delegator \"a\" does not hold \"deploy\"",
    ),
    (
        "syntax.toml",
        "[[principals]]\nid = \"a\"\ntype = \"account\"\n\n[[principals]\nid = \"b\"\n",
        "line 5: unclosed array table, expected `]`",
    ),
    (
        "missing-field.toml",
        "[[principals]]\nid = \"a\"\ntype = \"account\"\n\n[[memberships]]\nmember = \"a\"\n",
        "line 5: missing field `group`",
    ),
    (
        "explain-peer.toml",
        "[[assertions]]\nassert = \"has\"\nsubject = \"a\"\nscope = \"s\"\n\n[[assertions]]\nassert = \"explain\"\nsubject = \"peer:a\"\nscope = \"s\"\nvia = \"b→a\"\n",
        "line 6: assertion \"explain\": explains a principal's grant; the subject is a principal",
    ),
    (
        "two-permissions.toml",
        "[[assertions]]\nassert = \"lacks\"\nsubject = \"a\"\nscope = \"s\"\nresource = \"repo\"\naction = \"read\"\n",
        "line 1: assertion \"lacks\": give either \"scope\", or \"resource\" and \"action\"",
    ),
];

#[test]
fn malformed_files_exit_2_naming_the_line() {
    let env = Env::new();
    for (name, text, message) in MALFORMED {
        let path = env.write(name, text);
        let format = Format::from_path(&path).unwrap();
        let err = Policy::parse(text, format)
            .and_then(|policy| policy.run())
            .expect_err(name);
        assert_eq!(err.to_string(), message, "{name}");
        let file = path.display().to_string();
        let (_, stderr) = env.fails(&["test", &file], 2);
        assert_eq!(stderr, format!("{file}: {message}"), "{name}");
    }
    let path = env.write("policy.yaml", "principals: []");
    let (_, stderr) = env.fails(&["test", &path.display().to_string()], 2);
    assert!(
        stderr.ends_with("policy.yaml: a policy test file is .json or .toml"),
        "{stderr}"
    );
}

#[test]
fn json_lines_follow_the_elements_however_the_document_is_laid_out() {
    // Strings holding brackets, quotes and newlines escaped, nested arrays,
    // other keys before the sections, and a section written twice.
    let text = "{\"peers\": [{\"id\": \"p]\\\"[\"}],\n\"principals\": [{\"id\": \"a\", \"type\": \"account\", \"resources\": {\"r\": [\"x\"]}},\n\n{\"id\": \"b\\n\", \"type\": \"org\"}], \"assertions\": [\n{\"assert\": \"who-has\", \"scope\": \"[\", \"equals\": []}, {\"assert\": \"has\", \"subject\": \"a\", \"scope\": \"{\"}\n]}";
    let policy = Policy::parse(text, Format::Json).unwrap();
    let lines = |items: Vec<usize>| items;
    assert_eq!(lines(policy.peers.iter().map(|e| e.line).collect()), [1]);
    assert_eq!(
        lines(policy.principals.iter().map(|e| e.line).collect()),
        [2, 4]
    );
    assert_eq!(
        lines(policy.assertions.iter().map(|e| e.line).collect()),
        [5, 5]
    );
}
