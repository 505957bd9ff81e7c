//! The schema registry: compiling JSON Schemas and caching the validators.
//!
//! A validator is compiled once per (type, version) and shared by every
//! transaction of the process. Types are keyed by their never-reused `uid`,
//! so a dropped and re-created type can never be served its predecessor's
//! validator; the version is read from the file inside each transaction, so
//! a schema changed by another process is recompiled, never served stale.
//! Validators compiled for a schema a transaction changed stay private to it
//! until it commits.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::error::Violation;

/// A compiled JSON Schema for one version of a node or edge type.
pub(crate) struct CompiledSchema {
    pub(crate) version: i64,
    validator: jsonschema::Validator,
}

impl CompiledSchema {
    /// Every violation of `instance`, each with its JSON-pointer path; empty
    /// when the instance is valid.
    pub(crate) fn violations(&self, instance: &Value) -> Vec<Violation> {
        if self.validator.is_valid(instance) {
            return Vec::new();
        }
        self.validator
            .iter_errors(instance)
            .map(|error| Violation {
                instance_path: error.instance_path().as_str().to_owned(),
                message: error.to_string(),
            })
            .collect()
    }
}

/// The deepest nesting of arrays and objects a schema may have.
pub const MAX_SCHEMA_DEPTH: usize = 100;

/// Compiles `schema` without any network or file access.
///
/// Draft 2020-12 unless the schema's `$schema` names another draft; `format`
/// is asserted, not just annotated. A `$ref` that leaves the document is an
/// error.
///
/// # Errors
///
/// The compiler's message: the schema nests deeper than
/// [`MAX_SCHEMA_DEPTH`], is not valid against its meta-schema,
/// a `$ref` cannot be resolved inside the document, or a pattern is not a
/// valid regular expression.
pub(crate) fn compile(schema: &Value, version: i64) -> Result<CompiledSchema, String> {
    // Checked first and without recursion: the compiler recurses per level,
    // and a stored schema must parse back (serde_json stops at 128 levels).
    if crate::limits::depth(schema) > MAX_SCHEMA_DEPTH {
        return Err(format!(
            "the schema nests deeper than the limit of {MAX_SCHEMA_DEPTH}"
        ));
    }
    let validator = jsonschema::options()
        .offline()
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| e.to_string())?;
    Ok(CompiledSchema { version, validator })
}

/// Validates `schema` as a type schema, as [`define_node_type`] would.
///
/// Useful for checking a schema before it is stored, and for fuzzing.
///
/// [`define_node_type`]: crate::WriteTxn::define_node_type
///
/// # Errors
///
/// The compiler's message, as in [`Error::InvalidSchema`](crate::Error::InvalidSchema).
///
/// # Example
///
/// ```
/// use serde_json::json;
/// assert!(alknet_graphs::check_schema(&json!({"type": "object"})).is_ok());
/// assert!(alknet_graphs::check_schema(&json!({"type": 7})).is_err());
/// assert!(alknet_graphs::check_schema(&json!({"$ref": "https://example.com/s.json"})).is_err());
/// ```
pub fn check_schema(schema: &Value) -> Result<(), String> {
    compile(schema, 0).map(|_| ())
}

/// The process-wide cache: type uid → the newest compiled version seen.
#[derive(Default)]
pub(crate) struct SchemaCache {
    compiled: RwLock<HashMap<String, Arc<CompiledSchema>>>,
}

impl SchemaCache {
    pub(crate) fn get(&self, uid: &str, version: i64) -> Option<Arc<CompiledSchema>> {
        let map = self
            .compiled
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(uid)
            .filter(|compiled| compiled.version == version)
            .cloned()
    }

    pub(crate) fn insert(&self, uid: &str, compiled: Arc<CompiledSchema>) {
        let mut map = self
            .compiled
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let newer = map
            .get(uid)
            .is_none_or(|existing| existing.version < compiled.version);
        if newer {
            map.insert(uid.to_owned(), compiled);
        }
    }

    /// Makes a committed transaction's compiled schemas visible to all.
    pub(crate) fn promote(&self, txn: TxnSchemas) {
        for (uid, compiled) in txn.compiled {
            self.insert(&uid, compiled);
        }
    }
}

/// Schemas compiled inside one write transaction after it changed a type.
#[derive(Default)]
pub(crate) struct TxnSchemas {
    /// Set once the transaction defines, updates or drops a type.
    pub(crate) dirty: bool,
    compiled: HashMap<String, Arc<CompiledSchema>>,
}

impl TxnSchemas {
    pub(crate) fn get(&self, uid: &str, version: i64) -> Option<Arc<CompiledSchema>> {
        self.compiled
            .get(uid)
            .filter(|compiled| compiled.version == version)
            .cloned()
    }

    pub(crate) fn insert(&mut self, uid: &str, compiled: Arc<CompiledSchema>) {
        self.compiled.insert(uid.to_owned(), compiled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn remote_and_file_refs_are_rejected_without_fetching() {
        for reference in [
            "https://example.com/schema.json",
            "http://127.0.0.1:9/x.json",
            "file:///etc/passwd",
        ] {
            let schema = json!({"$ref": reference});
            assert!(compile(&schema, 1).is_err(), "{reference} compiled");
        }
    }

    #[test]
    fn schema_depth_is_bounded_before_compiling() {
        // Moved, not copied, into each level (`json!` would copy: quadratic).
        let nested = |levels: usize| {
            let mut schema = Value::Object(serde_json::Map::new());
            for _ in 1..levels {
                let mut level = serde_json::Map::new();
                level.insert("not".to_owned(), schema);
                schema = Value::Object(level);
            }
            schema
        };
        assert!(compile(&nested(MAX_SCHEMA_DEPTH), 1).is_ok());
        let err = compile(&nested(MAX_SCHEMA_DEPTH + 1), 1).err().unwrap();
        assert_eq!(err, "the schema nests deeper than the limit of 100");
        // Deep enough to overflow the compiler's stack if it were reached
        // (building and dropping such a value needs a large stack itself).
        let deep = std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn(move || compile(&nested(20_000), 1).is_err())
            .unwrap();
        assert!(deep.join().unwrap());
    }

    #[test]
    fn local_refs_resolve() {
        let schema = json!({
            "$defs": {"status": {"enum": ["pending", "done"]}},
            "type": "object",
            "properties": {"status": {"$ref": "#/$defs/status"}}
        });
        let compiled = compile(&schema, 1).unwrap();
        assert!(compiled.violations(&json!({"status": "done"})).is_empty());
        let violations = compiled.violations(&json!({"status": "finished"}));
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].instance_path, "/status");
    }

    #[test]
    fn every_violation_is_listed() {
        let schema = json!({
            "type": "object",
            "required": ["name"],
            "properties": {"age": {"type": "integer"}, "email": {"format": "email"}}
        });
        let compiled = compile(&schema, 1).unwrap();
        let violations = compiled.violations(&json!({"age": "x", "email": "nope"}));
        let mut paths: Vec<&str> = violations
            .iter()
            .map(|v| v.instance_path.as_str())
            .collect();
        paths.sort();
        assert_eq!(paths, ["", "/age", "/email"]);
    }

    #[test]
    fn cache_serves_only_the_matching_version() {
        let cache = SchemaCache::default();
        cache.insert("t", Arc::new(compile(&json!({}), 2).unwrap()));
        assert!(cache.get("t", 2).is_some());
        assert!(cache.get("t", 1).is_none());
        assert!(cache.get("t", 3).is_none());
        cache.insert("t", Arc::new(compile(&json!({}), 1).unwrap()));
        assert!(
            cache.get("t", 2).is_some(),
            "an older version never replaces a newer one"
        );
    }
}
