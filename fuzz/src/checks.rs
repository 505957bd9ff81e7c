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
//!
//! The `graphology` target has its own fixture, [`GraphologyFixture`]: its
//! reference is the document itself (what was imported must export back)
//! and a second import of the export (which must export identically).

use alknet_graphs::interop::{
    export_graphology, import_graphology_reader, import_graphology_str, ImportOptions,
    GRAPH_TYPE_ATTRIBUTE, NAME_ATTRIBUTE, TYPE_ATTRIBUTE,
};
use alknet_graphs::{Endpoints, Entity, Error, GraphConfig, GraphKind, Limits, Store, WriteTxn};
use serde_json::{json, Map, Value};
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

// ---------------------------------------------------------------------------
// graphology

/// The graph type a document without [`GRAPH_TYPE_ATTRIBUTE`] imports into.
const PLAIN: &str = "plain";
/// The graph a document without [`NAME_ATTRIBUTE`] imports as.
const IMPORTED: &str = "imported";
/// A graph that exists, so importing a document that names it must fail.
const TAKEN: &str = "taken";

/// The graph types of the `graphology` target: one per graph kind, each
/// with its own rules, and a plain one for documents that name none.
fn graphology_types() -> Vec<GraphType> {
    vec![
        // Directed and acyclic, no self-loops; two node types, edge types
        // restricted by endpoint, closed schemas.
        (
            "directed",
            GraphConfig {
                kind: GraphKind::Directed,
                multi: false,
                allow_self_loops: false,
                acyclic: true,
            },
            vec![
                (
                    "task",
                    json!({
                        "type": "object",
                        "additionalProperties": false,
                        "properties": {
                            "status": {"enum": ["pending", "running", "done"]},
                            "priority": {"type": "integer", "minimum": 0, "maximum": 9}
                        }
                    }),
                ),
                ("note", json!({})),
            ],
            vec![
                (
                    "depends",
                    json!({"properties": {"weight": {"type": "number"}}}),
                    Endpoints::between(&["task"], &["task"]),
                ),
                (
                    "about",
                    json!({}),
                    Endpoints::between(&["note"], &["task", "note"]),
                ),
            ],
        ),
        // Undirected with one node and one edge type: plain graphology
        // documents need no "@type".
        (
            "undirected",
            GraphConfig::undirected(),
            vec![(
                "person",
                json!({
                    "properties": {
                        "name": {"type": "string", "maxLength": 32},
                        "age": {"type": "integer", "minimum": 0}
                    }
                }),
            )],
            vec![("knows", json!({}), Endpoints::any())],
        ),
        // Mixed multigraph: one node type, two edge types.
        (
            "mixed",
            GraphConfig::default().multi(true),
            vec![("item", json!({}))],
            vec![
                ("link", json!({}), Endpoints::any()),
                (
                    "ref",
                    json!({"required": ["label"], "properties": {"label": {"type": "string"}}}),
                    Endpoints::any(),
                ),
            ],
        ),
        // Mixed, not multi, anything goes.
        (
            PLAIN,
            GraphConfig::default(),
            vec![("n", json!({}))],
            vec![("e", json!({}), Endpoints::any())],
        ),
    ]
}

/// A graph type: name, config, node types (name, schema) and edge types
/// (name, schema, endpoints).
type GraphType = (
    &'static str,
    GraphConfig,
    Vec<(&'static str, Value)>,
    Vec<(&'static str, Value, Endpoints)>,
);

/// A store holding the graph types of [`graphology_types`] and a graph
/// [`TAKEN`]; every import into it is rolled back.
pub struct GraphologyFixture {
    store: Store,
    // Declared last so that it is dropped after the store's connections.
    _dir: TempDir,
}

impl GraphologyFixture {
    /// Sets up the store in a new temporary directory, removed on drop.
    pub fn open() -> GraphologyFixture {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let store = Store::open(dir.path().join("graphology.db")).expect("open the store");
        let mut tx = store.begin_write().expect("begin the setup transaction");
        for (graph_type, config, node_types, edge_types) in graphology_types() {
            tx.define_graph_type(graph_type, config)
                .expect("define a graph type");
            for (name, schema) in node_types {
                tx.define_node_type(graph_type, name, &schema)
                    .expect("define a node type");
            }
            for (name, schema, endpoints) in edge_types {
                tx.define_edge_type(graph_type, name, &schema, &endpoints)
                    .expect("define an edge type");
            }
        }
        tx.create_graph(TAKEN, PLAIN).expect("create the graph");
        tx.commit().expect("commit the setup");
        GraphologyFixture { store, _dir: dir }
    }

    /// `import_graphology_str` never panics on `data` (skipped unless it is
    /// UTF-8) and either rejects it as a bad document, or imports what the
    /// document says: its export holds the document's nodes and edges with
    /// their types and attributes, and imports again (as another graph) into
    /// a graph that exports identically. Nothing is committed.
    ///
    /// The graph's name is the document's if it has one, otherwise
    /// [`IMPORTED`]; its graph type the document's if it names one,
    /// otherwise [`PLAIN`].
    pub fn check_graphology(&self, data: &[u8]) {
        self.check_reader_agrees(data);
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let doc: Option<Value> = serde_json::from_str(text).ok();
        let attribute = |name: &str| {
            doc.as_ref()
                .and_then(|d| d.get("attributes"))
                .and_then(|a| a.get(name))
                .and_then(Value::as_str)
        };
        let mut options = ImportOptions::new();
        if attribute(NAME_ATTRIBUTE).is_none() {
            options = options.graph(IMPORTED);
        }
        if attribute(GRAPH_TYPE_ATTRIBUTE).is_none() {
            options = options.graph_type(PLAIN);
        }

        let mut tx = self.store.begin_write().expect("begin a write transaction");
        let imported = match import_graphology_str(&mut tx, text, &options) {
            Ok(imported) => imported,
            Err(err) => {
                drop(tx);
                check_rejection(&err, text);
                self.check_unchanged(options.graph.as_deref().or(attribute(NAME_ATTRIBUTE)));
                return;
            }
        };
        let doc = doc.unwrap_or_else(|| panic!("imported a document that is not JSON: {text}"));
        let graph = imported.graph.as_str();
        assert_ne!(graph, TAKEN, "imported over an existing graph: {text}");
        let first = export_graphology(&tx, graph)
            .unwrap_or_else(|e| panic!("export of the import of {text} failed: {e}"));
        check_exported(&doc, &first, &imported.graph_type);
        assert_eq!(
            (imported.nodes, imported.edges),
            (items(&first, "nodes").len(), items(&first, "edges").len()),
            "the counts reported for {text}"
        );

        // The export imports back, under another name, and exports the same.
        let copy = if graph == "roundtrip" {
            "roundtrip-2"
        } else {
            "roundtrip"
        };
        let again = import_graphology_str(
            &mut tx,
            &first.to_string(),
            &ImportOptions::new().graph(copy),
        )
        .unwrap_or_else(|e| panic!("the export {first} does not import again: {e}"));
        assert_eq!(again.graph_type, imported.graph_type, "{first}");
        let mut second = export_graphology(&tx, copy)
            .unwrap_or_else(|e| panic!("export of the second import of {first} failed: {e}"));
        second["attributes"][NAME_ATTRIBUTE] = Value::from(graph);
        assert_eq!(
            first, second,
            "the export changed on a round trip of {text}"
        );
        drop(tx);
        self.check_unchanged(Some(graph));
    }

    /// The streaming import from a reader (bytes of any kind, not only
    /// UTF-8) never panics, rejects as a bad document what it rejects, and
    /// accepts a UTF-8 document exactly when the import from text does,
    /// with the same counts. Nothing is committed.
    fn check_reader_agrees(&self, data: &[u8]) {
        let options = ImportOptions::new().graph(IMPORTED).graph_type(PLAIN);
        let mut tx = self.store.begin_write().expect("begin a write transaction");
        let from_reader = import_graphology_reader(&mut tx, data, &options);
        drop(tx);
        let short = String::from_utf8_lossy(&data[..data.len().min(2000)]).into_owned();
        match (&from_reader, std::str::from_utf8(data)) {
            (Err(err), _) => check_rejection(err, &short),
            (Ok(_), Err(_)) => panic!("imported bytes that are not UTF-8: {short}"),
            (Ok(_), Ok(_)) => {}
        }
        if let Ok(text) = std::str::from_utf8(data) {
            let mut tx = self.store.begin_write().expect("begin a write transaction");
            let from_text = import_graphology_str(&mut tx, text, &options);
            drop(tx);
            match (&from_reader, &from_text) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{short}"),
                (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{short}: {a} / {b}"),
                (a, b) => panic!("the reader and the text disagree on {short}: {a:?} / {b:?}"),
            }
        }
        self.check_unchanged(Some(IMPORTED));
    }

    /// The rolled-back import left no graph behind: not `graph`, not the
    /// round trip's copy, and [`TAKEN`] is still there.
    fn check_unchanged(&self, graph: Option<&str>) {
        let read = self.store.begin_read().expect("begin a read transaction");
        for name in graph.into_iter().chain(["roundtrip", "roundtrip-2"]) {
            if name == TAKEN {
                continue;
            }
            let found = read.graph(name).expect("read a graph");
            assert!(
                found.is_none(),
                "graph {name:?} is still there after rolling back"
            );
        }
        assert!(read.graph(TAKEN).expect("read a graph").is_some());
    }
}

/// A rejection is the error the importer documents for a bad document,
/// about the graph (or the graph type), never a storage failure.
fn check_rejection(err: &Error, text: &str) {
    let short: String = text.chars().take(2000).collect();
    match err {
        Error::Import { entity, cause, .. } => {
            assert!(
                matches!(entity, Entity::Graph(_)),
                "rejected {short} about {entity}: {err}"
            );
            if let Some(cause) = cause {
                assert!(
                    !matches!(**cause, Error::Sqlite(_) | Error::Corrupt { .. }),
                    "rejected {short} with a storage failure: {err}"
                );
            }
        }
        Error::Invalid { entity, reason } => {
            assert!(
                matches!(entity, Entity::Graph(_)),
                "rejected {short} about {entity}: {err}"
            );
            assert!(
                reason.starts_with("graphology document"),
                "rejected {short} with a reason that names no place in the document: {err}"
            );
        }
        Error::AlreadyExists { entity } => assert!(
            matches!(entity, Entity::Graph(name) if name == TAKEN),
            "rejected {short}: {err}"
        ),
        Error::NotFound { .. }
        | Error::SchemaViolation { .. }
        | Error::TooLarge { .. }
        | Error::Cycle { .. } => {
            assert!(
                matches!(err.entity(), Some(Entity::Graph(_) | Entity::GraphType(_))),
                "rejected {short} about {:?}: {err}",
                err.entity()
            );
        }
        other => panic!("rejected {short} with an unexpected error: {other}"),
    }
}

/// A document's key as the store keeps it: a string, or a number as
/// graphology stringifies it.
fn key_of(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(alknet_graphs::interop::number_key(number)),
        _ => None,
    }
}

/// The items of an exported list.
fn items<'v>(export: &'v Value, list: &str) -> &'v [Value] {
    export[list]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("the export has no {list} array: {export}"))
}

/// An item's attributes without the type tag, and the tag.
fn untagged(item: &Value) -> (Map<String, Value>, Option<Value>) {
    let mut attributes = item
        .get("attributes")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let tag = attributes.shift_remove(TYPE_ATTRIBUTE);
    (attributes, tag)
}

/// The export of an imported document holds exactly the document's nodes
/// and edges, with their attributes (and types, where the document gives
/// them).
fn check_exported(doc: &Value, export: &Value, graph_type: &str) {
    assert_eq!(
        export["attributes"][GRAPH_TYPE_ATTRIBUTE], graph_type,
        "{export}"
    );
    // The graph's own attributes are kept exactly.
    let own = |attributes: &Value| {
        let mut map = attributes.as_object().cloned().unwrap_or_default();
        map.shift_remove(NAME_ATTRIBUTE);
        map.shift_remove(GRAPH_TYPE_ATTRIBUTE);
        map
    };
    let empty = Value::Object(Map::new());
    assert_eq!(
        own(doc.get("attributes").unwrap_or(&empty)),
        own(&export["attributes"]),
        "graph attributes of {doc} in {export}"
    );
    if let Some(options) = doc.get("options") {
        assert_eq!(options, &export["options"], "options of {doc} in {export}");
    }
    let doc_items = |list: &str| {
        doc.get(list)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };

    let exported: std::collections::HashMap<String, &Value> = items(export, "nodes")
        .iter()
        .map(|n| {
            (
                n["key"].as_str().expect("an exported node key").to_owned(),
                n,
            )
        })
        .collect();
    let nodes = doc_items("nodes");
    assert_eq!(nodes.len(), exported.len(), "nodes of {doc} in {export}");
    for node in &nodes {
        let key = key_of(&node["key"]).expect("an imported node key");
        let out = exported
            .get(&key)
            .unwrap_or_else(|| panic!("node {key:?} of {doc} is not in {export}"));
        compare_item(node, out, doc, export);
    }

    let mixed = export["options"]["type"] == "mixed";
    let exported: std::collections::HashMap<String, &Value> = items(export, "edges")
        .iter()
        .map(|e| {
            (
                e["key"].as_str().expect("an exported edge key").to_owned(),
                e,
            )
        })
        .collect();
    let edges = doc_items("edges");
    assert_eq!(edges.len(), exported.len(), "edges of {doc} in {export}");
    for edge in &edges {
        // Edges without a key got a generated one; they are counted above.
        let Some(key) = edge.get("key").and_then(key_of) else {
            continue;
        };
        let out = exported
            .get(&key)
            .unwrap_or_else(|| panic!("edge {key:?} of {doc} is not in {export}"));
        assert_eq!(
            (key_of(&edge["source"]), key_of(&edge["target"])),
            (key_of(&out["source"]), key_of(&out["target"])),
            "edge {key:?} of {doc} in {export}"
        );
        if mixed {
            let undirected = edge.get("undirected") == Some(&Value::Bool(true))
                || doc["options"]["type"] == "undirected";
            assert_eq!(
                out.get("undirected") == Some(&Value::Bool(true)),
                undirected,
                "edge {key:?} of {doc} in {export}"
            );
        }
        compare_item(edge, out, doc, export);
    }
}

/// An exported item has the document item's attributes, and its type if
/// the document gave one.
fn compare_item(item: &Value, out: &Value, doc: &Value, export: &Value) {
    let (attributes, tag) = untagged(item);
    let (out_attributes, out_tag) = untagged(out);
    assert_eq!(
        attributes, out_attributes,
        "attributes of {item} from {doc} in {export}"
    );
    let out_tag = out_tag.unwrap_or_else(|| panic!("{out} has no type tag in {export}"));
    if let Some(tag) = tag {
        assert_eq!(tag, out_tag, "type of {item} from {doc} in {export}");
    }
}
