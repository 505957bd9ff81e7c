//! Size bounds on what the store accepts.

use serde_json::Value;

use crate::error::{Entity, Error, Result};

/// Bounds on keys, names and documents, checked on every write.
///
/// Defaults: attribute documents up to 1 MiB serialized, nesting depth 64,
/// keys up to 1024 bytes, names up to 128 bytes, schemas up to 1 MiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest serialized attribute document, in bytes.
    pub max_attributes_bytes: usize,
    /// Deepest nesting of arrays and objects in an attribute document.
    pub max_depth: usize,
    /// Longest node or edge key, in bytes.
    pub max_key_bytes: usize,
    /// Longest graph or type name, in bytes.
    pub max_name_bytes: usize,
    /// Largest serialized JSON Schema, in bytes.
    pub max_schema_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_attributes_bytes: 1024 * 1024,
            max_depth: 64,
            max_key_bytes: 1024,
            max_name_bytes: 128,
            max_schema_bytes: 1024 * 1024,
        }
    }
}

impl Limits {
    /// A name of a graph or type: non-empty, no control characters, bounded.
    pub(crate) fn check_name(&self, entity: impl FnOnce() -> Entity, name: &str) -> Result<()> {
        if name.is_empty() {
            return Err(Error::invalid(entity(), "name must not be empty"));
        }
        if name.len() > self.max_name_bytes {
            return Err(Error::TooLarge {
                entity: entity(),
                what: "name",
                actual: name.len(),
                limit: self.max_name_bytes,
            });
        }
        if name.chars().any(char::is_control) {
            return Err(Error::invalid(
                entity(),
                "name must not contain control characters",
            ));
        }
        Ok(())
    }

    /// A node or edge key: any string a JSON string can hold, bounded in length.
    pub(crate) fn check_key(&self, entity: impl FnOnce() -> Entity, key: &str) -> Result<()> {
        if key.len() > self.max_key_bytes {
            return Err(Error::TooLarge {
                entity: entity(),
                what: "key",
                actual: key.len(),
                limit: self.max_key_bytes,
            });
        }
        Ok(())
    }

    /// An attribute document: an object, bounded in depth and size. Returns
    /// the serialized text, which is what gets stored.
    pub(crate) fn check_attributes(
        &self,
        entity: impl Fn() -> Entity,
        attributes: &Value,
    ) -> Result<String> {
        if !attributes.is_object() {
            return Err(Error::invalid(
                entity(),
                format!(
                    "attributes must be a JSON object, not {}",
                    kind_of(attributes)
                ),
            ));
        }
        // Serializing a `Value` cannot fail: its keys are strings.
        let text = serde_json::to_string(attributes).unwrap_or_default();
        if text_depth(&text) > self.max_depth {
            return Err(Error::invalid(
                entity(),
                format!(
                    "attributes nest deeper than the limit of {}",
                    self.max_depth
                ),
            ));
        }
        if text.len() > self.max_attributes_bytes {
            return Err(Error::TooLarge {
                entity: entity(),
                what: "attributes",
                actual: text.len(),
                limit: self.max_attributes_bytes,
            });
        }
        Ok(text)
    }
}

/// The JSON type of a value, as JSON Schema names it.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Nesting depth of arrays and objects in serialized JSON (a scalar is 0),
/// by one pass over the bytes.
pub(crate) fn text_depth(json: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for byte in json.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Nesting depth of arrays and objects (a scalar is 0), computed without recursion.
pub(crate) fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Value::Array(items) => {
                deepest = deepest.max(d + 1);
                stack.extend(items.iter().map(|item| (item, d + 1)));
            }
            Value::Object(map) => {
                deepest = deepest.max(d + 1);
                stack.extend(map.values().map(|item| (item, d + 1)));
            }
            _ => {}
        }
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node() -> Entity {
        Entity::Node {
            graph: "g".into(),
            key: "k".into(),
        }
    }

    #[test]
    fn depth_counts_containers() {
        for (value, expected) in [
            (json!(1), 0),
            (json!({}), 1),
            (json!({"a": [1, {"b": []}]}), 4),
            (json!({"[[[": "{{\\\"[", "b": [[]]}), 3),
        ] {
            assert_eq!(depth(&value), expected, "{value}");
            assert_eq!(text_depth(&value.to_string()), expected, "{value}");
        }
    }

    #[test]
    fn attributes_must_be_a_bounded_object() {
        let limits = Limits {
            max_attributes_bytes: 16,
            max_depth: 2,
            ..Limits::default()
        };
        assert_eq!(
            limits
                .check_attributes(node, &json!([1]))
                .unwrap_err()
                .to_string(),
            r#"node "k" in graph "g": attributes must be a JSON object, not array"#
        );
        assert!(limits
            .check_attributes(node, &json!({"a": {"b": {}}}))
            .is_err());
        assert_eq!(
            limits
                .check_attributes(node, &json!({"a": "0123456789"}))
                .unwrap_err()
                .to_string(),
            r#"node "k" in graph "g": attributes is 18 bytes, over the limit of 16"#
        );
        assert_eq!(
            limits.check_attributes(node, &json!({"a": 1})).unwrap(),
            r#"{"a":1}"#
        );
    }

    #[test]
    fn names_are_non_empty_printable_and_bounded() {
        let limits = Limits::default();
        let gt = || Entity::GraphType(String::new());
        assert!(limits.check_name(gt, "").is_err());
        assert!(limits.check_name(gt, "a\u{0}b").is_err());
        assert!(limits.check_name(gt, &"x".repeat(129)).is_err());
        assert!(limits.check_name(gt, "release-7 ✓").is_ok());
    }
}
