//! The properties the fuzz targets check, one method per target.
//!
//! This file is compiled twice: by the fuzz crate, whose targets feed it
//! libFuzzer's inputs, and by the root crate's `tests/fuzz_corpus.rs`, which
//! replays the committed corpus through it under plain `cargo test`. So it
//! uses only what both crates have: `alknet_graphs`, `serde_json`,
//! `jsonschema` and `tempfile`.
//!
//! The reference for "valid" is `jsonschema` itself, called directly with
//! format assertion on; the store must agree with it on every input, after
//! its own limits (an object, nested at most 64 deep, at most 1 MiB).

use alknet_graphs::{Entity, Error, GraphConfig, Limits, Store, WriteTxn};
use serde_json::{json, Value};
use tempfile::TempDir;

const GRAPH_TYPE: &str = "fuzz";
const GRAPH: &str = "g";
/// The node type each fuzzed schema is defined as; never committed.
const FUZZED_TYPE: &str = "fuzzed";

/// The fixed node types of the `attributes` target: together they use the
/// keywords whose validation untrusted attributes reach.
fn node_types() -> Vec<(&'static str, Value)> {
    vec![
        // required, enum, integer and number ranges, multipleOf.
        (
            "record",
            json!({
                "type": "object",
                "required": ["status", "count"],
                "properties": {
                    "status": {"enum": ["pending", "running", "done"]},
                    "count": {"type": "integer", "minimum": 0, "maximum": 100},
                    "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
                    "step": {"type": "integer", "multipleOf": 5}
                }
            }),
        ),
        // Closed nested objects, string lengths.
        (
            "nested",
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "owner": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string", "minLength": 1, "maxLength": 64},
                            "address": {
                                "type": "object",
                                "additionalProperties": false,
                                "properties": {"city": {"type": "string"}}
                            }
                        }
                    }
                }
            }),
        ),
        // Arrays: items, bounds, uniqueness, tuples, nesting.
        (
            "lists",
            json!({
                "type": "object",
                "properties": {
                    "tags": {
                        "type": "array",
                        "items": {"type": "string"},
                        "minItems": 1,
                        "maxItems": 8,
                        "uniqueItems": true
                    },
                    "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
                    "pair": {
                        "type": "array",
                        "prefixItems": [{"type": "string"}, {"type": "integer"}],
                        "items": false
                    },
                    "set": {"type": "array", "uniqueItems": true}
                }
            }),
        ),
        // pattern and asserted formats.
        (
            "contact",
            json!({
                "type": "object",
                "required": ["email"],
                "properties": {
                    "email": {"type": "string", "format": "email"},
                    "seen": {"type": "string", "format": "date-time"},
                    "site": {"format": "uri"},
                    "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"}
                },
                "patternProperties": {"^x-": {"type": "string", "pattern": "(a|b)*c"}}
            }),
        ),
        // Local and recursive `$ref` into `$defs`.
        (
            "tree",
            json!({
                "$defs": {
                    "status": {"enum": ["pending", "done"]},
                    "node": {
                        "type": "object",
                        "properties": {
                            "status": {"$ref": "#/$defs/status"},
                            "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}
                        }
                    }
                },
                "$ref": "#/$defs/node"
            }),
        ),
        // Combinators and conditionals.
        (
            "logic",
            json!({
                "type": "object",
                "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
                "not": {"required": ["forbidden"]},
                "if": {"properties": {"kind": {"const": "n"}}},
                "then": {"properties": {"value": {"type": "number"}}},
                "else": {"properties": {"value": {"type": "string"}}},
                "dependentRequired": {"from": ["to"]}
            }),
        ),
        // Any object: only the store's own limits apply.
        ("any", json!({})),
    ]
}

/// The reference validator for `schema`.
fn reference(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| e.to_string())
}

/// Nesting depth of arrays and objects; a scalar is 0.
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A store holding graph `g` of graph type `fuzz` with the node types of
/// [`node_types`], and each type's reference validator.
pub struct Fixture {
    store: Store,
    types: Vec<(&'static str, jsonschema::Validator)>,
    // Declared last so that it is dropped after the store's connections.
    _dir: TempDir,
}

impl Fixture {
    /// Sets up the store in a new temporary directory, removed on drop.
    pub fn open() -> Fixture {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let store = Store::open(dir.path().join("fuzz.db")).expect("open the store");
        let mut types = Vec::new();
        let mut tx = store.begin_write().expect("begin the setup transaction");
        tx.define_graph_type(GRAPH_TYPE, GraphConfig::default())
            .expect("define the graph type");
        for (name, schema) in node_types() {
            tx.define_node_type(GRAPH_TYPE, name, &schema)
                .expect("define a fixed node type");
            let validator = reference(&schema).expect("compile a fixed node type's schema");
            types.push((name, validator));
        }
        tx.create_graph(GRAPH, GRAPH_TYPE)
            .expect("create the graph");
        tx.commit().expect("commit the setup");
        Fixture {
            store,
            types,
            _dir: dir,
        }
    }

    fn begin_write(&self) -> WriteTxn<'_> {
        self.store.begin_write().expect("begin a write transaction")
    }

    /// For every fixed node type, `add_node` accepts `attributes` exactly
    /// when the reference validator does and the document is within the
    /// store's limits, and otherwise rejects it with the error for the
    /// reason. Every write is rolled back.
    pub fn check_attributes(&self, attributes: &Value) {
        for (node_type, validator) in &self.types {
            let mut tx = self.begin_write();
            check_add_node(&mut tx, "k", node_type, validator, attributes);
        }
    }

    /// [`alknet_graphs::check_schema`] never panics, and `define_node_type`
    /// accepts exactly the schemas it accepts, rejecting the others with its
    /// reason. A defined schema reads back unchanged, and its stored text
    /// compiles to a validator that judges nodes as the reference does.
    /// Every write is rolled back.
    pub fn check_schema(&self, schema: &Value) {
        let checked = alknet_graphs::check_schema(schema);
        let too_large = schema.to_string().len() > self.store.limits().max_schema_bytes;
        let mut tx = self.begin_write();
        let defined = tx.define_node_type(GRAPH_TYPE, FUZZED_TYPE, schema);
        let err = match defined {
            Ok(defined) => {
                assert!(
                    checked.is_ok() && !too_large,
                    "define_node_type accepted {schema}, check_schema said {checked:?}"
                );
                assert_eq!(&defined.schema, schema, "the schema read back changed");
                let validator = reference(schema).unwrap_or_else(|reason| {
                    panic!("check_schema accepted {schema}, the reference rejects it: {reason}")
                });
                check_add_node(&mut tx, "empty", FUZZED_TYPE, &validator, &json!({}));
                // The schema itself makes a varied document to validate.
                check_add_node(&mut tx, "itself", FUZZED_TYPE, &validator, schema);
                return;
            }
            Err(err) => err,
        };
        let entity = Entity::NodeType {
            graph_type: GRAPH_TYPE.to_owned(),
            name: FUZZED_TYPE.to_owned(),
        };
        assert_eq!(err.entity(), Some(&entity), "{err}");
        match err {
            // Not compared with `checked`'s reason: when a schema has several
            // unresolvable references, which one the compiler names varies
            // from one compilation to the next.
            Error::InvalidSchema { reason, .. } => {
                assert!(!too_large, "{schema}: size checked after compiling");
                assert!(
                    checked.is_err(),
                    "{schema}: rejected, check_schema accepts it"
                );
                assert!(!reason.is_empty(), "{schema}: rejected without a reason");
            }
            Error::TooLarge { what: "schema", .. } => assert!(too_large, "{schema}"),
            other => panic!("define_node_type({schema}): unexpected error: {other}"),
        }
    }
}

/// Adds node `key` with `attributes` in `tx` and checks the outcome against
/// `validator` and the store's limits.
fn check_add_node(
    tx: &mut WriteTxn<'_>,
    key: &str,
    node_type: &str,
    validator: &jsonschema::Validator,
    attributes: &Value,
) {
    let Limits {
        max_attributes_bytes,
        max_depth,
        ..
    } = Limits::default();
    let malformed = !attributes.is_object() || depth(attributes) > max_depth;
    let too_large = attributes.to_string().len() > max_attributes_bytes;
    let valid = validator.is_valid(attributes);
    let err = match tx.add_node(GRAPH, key, node_type, attributes) {
        Ok(()) => {
            assert!(
                !malformed && !too_large && valid,
                "{node_type}: accepted {attributes}"
            );
            return;
        }
        Err(err) => err,
    };
    let entity = Entity::Node {
        graph: GRAPH.to_owned(),
        key: key.to_owned(),
    };
    assert_eq!(err.entity(), Some(&entity), "{node_type}: {err}");
    match err {
        Error::Invalid { .. } => assert!(malformed, "{node_type}: {err} for {attributes}"),
        Error::TooLarge {
            what: "attributes", ..
        } => assert!(!malformed && too_large, "{node_type}: {err}"),
        Error::SchemaViolation { ref violations, .. } => {
            assert!(
                !malformed && !too_large && !valid,
                "{node_type}: {err} for {attributes}"
            );
            assert!(!violations.is_empty(), "{node_type}: no violation listed");
            for violation in violations {
                assert!(
                    attributes.pointer(&violation.instance_path).is_some(),
                    "{node_type}: {:?} does not point into {attributes}",
                    violation.instance_path
                );
            }
        }
        other => panic!("{node_type}: unexpected error {other} for {attributes}"),
    }
}
