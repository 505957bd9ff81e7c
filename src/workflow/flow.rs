//! The flow rule's findings: what stops a source operation's output from
//! feeding a target's input, and the edge that joins them.

use std::fmt;

/// A required input property whose type the output does not satisfy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeMismatch {
    /// The property.
    pub property: String,
    /// The types the input accepts.
    pub expected: Vec<String>,
    /// The types the output declares; `None` when it declares none.
    pub found: Option<Vec<String>>,
}

/// Why a source's output cannot feed a target's input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Incompatibility {
    /// Required input properties the output does not declare.
    pub missing: Vec<String>,
    /// Required input properties the output declares with another type.
    pub mismatched: Vec<TypeMismatch>,
}

impl Incompatibility {
    /// True when the output satisfies the input.
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.mismatched.is_empty()
    }
}

impl fmt::Display for Incompatibility {
    /// Every problem, by property name: `"count" (needs integer, gets
    /// string), "table" (missing)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<(&str, String)> = self
            .missing
            .iter()
            .map(|p| (p.as_str(), format!("{p:?} (missing)")))
            .collect();
        for m in &self.mismatched {
            let found = match &m.found {
                Some(types) => types.join(" or "),
                None => "no declared type".to_owned(),
            };
            parts.push((
                &m.property,
                format!(
                    "{:?} (needs {}, gets {found})",
                    m.property,
                    m.expected.join(" or ")
                ),
            ));
        }
        parts.sort();
        let texts: Vec<String> = parts.into_iter().map(|(_, t)| t).collect();
        f.write_str(&texts.join(", "))
    }
}

/// An edge that breaks the flow rule, as [`Workflows::check`](super::Workflows::check)
/// reports it and [`Error::Flow`](crate::Error::Flow) carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenFlow {
    /// The edge's key.
    pub edge: String,
    /// Its source operation.
    pub source: String,
    /// Its target operation.
    pub target: String,
    /// What the source's output lacks.
    pub problems: Incompatibility,
}

impl fmt::Display for BrokenFlow {
    /// `operation "load" needs input properties that "parse" does not
    /// provide: "table" (missing)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "operation {:?} needs input properties that {:?} does not provide: {}",
            self.target, self.source, self.problems
        )
    }
}
