//! Policy test files: an ACL and an identity registry written down
//! (principals, memberships, delegations with their times, peers and API
//! keys) together with assertions about who holds what, run against a
//! store of their own that is thrown away afterwards.
//!
//! A file is JSON or TOML; both hold the same entries (the format is
//! described in `docs/policy-tests.md` and by the JSON Schema
//! `schemas/policy-test.schema.json`). [`Policy::parse`] reads one,
//! naming the line of any problem; [`Policy::run`] builds it and checks
//! every assertion, and its [`Report`] names each failed assertion and its
//! line. The command line runs them with `alknet-graphs test FILE…`.
//!
//! # Example
//!
//! ```
//! use alknet_graphs::policy::{Format, Policy};
//!
//! let text = r#"
//! [[principals]]
//! id = "eng"
//! type = "org"
//! scopes = ["repo:read", "repo:write"]
//!
//! [[principals]]
//! id = "ada"
//! type = "account"
//!
//! [[memberships]]
//! member = "ada"
//! group = "eng"
//!
//! [[assertions]]
//! assert = "has"
//! subject = "ada"
//! scope = "repo:write"
//!
//! [[assertions]]
//! assert = "lacks"
//! subject = "ada"
//! scope = "deploy"
//! at = "2026-01-01T00:00:00Z"
//! "#;
//! let policy = Policy::parse(text, Format::Toml)?;
//! let report = policy.run()?;
//! assert_eq!(report.assertions, 2);
//! assert!(report.passed(), "{report}");
//! # Ok::<(), alknet_graphs::policy::PolicyError>(())
//! ```

mod parse;
mod report;
mod run;

pub use parse::{
    ApiKeyEntry, DelegationEntry, Format, KindEntry, Lined, MembershipEntry, PeerEntrySpec, Policy,
    PrincipalEntry,
};
pub use report::{Failure, Report};

use crate::acl::Permission;

/// Why a policy file could not be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file is malformed, or what it describes cannot be built (a
    /// write the store refuses, such as a delegation of something the
    /// delegator does not hold): the line of the entry, and why.
    #[error("line {line}: {message}")]
    Malformed {
        /// The line (1-based).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The scratch store could not be created or written.
    #[error("policy store: {0}")]
    Store(#[source] crate::Error),
    /// The scratch store's identity registry could not be read.
    #[error("policy store: {0}")]
    Registry(#[source] crate::identity::StoreError),
    /// The scratch directory could not be created.
    #[error("policy store: cannot create a scratch directory: {0}")]
    Io(#[source] std::io::Error),
}

impl PolicyError {
    /// The line of a malformed file's problem.
    pub fn line(&self) -> Option<usize> {
        match self {
            PolicyError::Malformed { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// Who an assertion is about, as written: `NAME` (a principal),
/// `peer:NAME` or `key:NAME` (an API key of the file, by name).
/// `principal:NAME` names a principal whose id itself starts with `peer:`
/// or `key:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// An ACL principal: its effective grant.
    Principal(String),
    /// A peer: its own grant ∪ its principal's.
    Peer(String),
    /// An API key: key ∩ its owner's grant, while it has not expired.
    Key(String),
}

impl Subject {
    /// Reads `NAME`, `principal:NAME`, `peer:NAME` or `key:NAME`.
    ///
    /// ```
    /// use alknet_graphs::policy::Subject;
    /// assert_eq!(Subject::parse("ada"), Subject::Principal("ada".into()));
    /// assert_eq!(Subject::parse("peer:ci"), Subject::Peer("ci".into()));
    /// assert_eq!(Subject::parse("principal:key:x"), Subject::Principal("key:x".into()));
    /// ```
    pub fn parse(text: &str) -> Subject {
        if let Some(name) = text.strip_prefix("principal:") {
            Subject::Principal(name.to_owned())
        } else if let Some(name) = text.strip_prefix("peer:") {
            Subject::Peer(name.to_owned())
        } else if let Some(name) = text.strip_prefix("key:") {
            Subject::Key(name.to_owned())
        } else {
            Subject::Principal(text.to_owned())
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Principal(id) => write!(f, "{id:?}"),
            Subject::Peer(id) => write!(f, "peer {id:?}"),
            Subject::Key(name) => write!(f, "key {name:?}"),
        }
    }
}

/// What an access check must decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Allowed.
    Allowed,
    /// Denied.
    Denied,
}

/// One assertion of a policy file. Each is checked at its `at` (unix
/// milliseconds), or at the time the file is run.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Assertion {
    /// The subject holds the permission.
    Has {
        /// Who.
        subject: Subject,
        /// What.
        permission: Permission,
        /// When.
        at: Option<i64>,
    },
    /// The subject does not hold the permission.
    Lacks {
        /// Who.
        subject: Subject,
        /// What.
        permission: Permission,
        /// When.
        at: Option<i64>,
    },
    /// The flat access check decides as expected.
    Check {
        /// Who.
        subject: Subject,
        /// Scopes all required.
        scopes: Vec<String>,
        /// Scopes of which one is required.
        any: Vec<String>,
        /// A required (resource, action).
        resource: Option<(String, String)>,
        /// The decision.
        expect: Expect,
        /// When.
        at: Option<i64>,
    },
    /// The principal holds the permission, and the shortest chain that
    /// grants it has the hop `via` (`FROM→TO`, or `FROM->TO`).
    Explain {
        /// The principal.
        principal: String,
        /// What.
        permission: Permission,
        /// The hop, `FROM→TO`.
        via: String,
        /// When.
        at: Option<i64>,
    },
    /// The subjects holding the permission are exactly `equals`
    /// (principals by id, peers as `peer:ID`), in any order.
    WhoHas {
        /// What.
        permission: Permission,
        /// The subjects.
        equals: Vec<String>,
        /// When.
        at: Option<i64>,
    },
}
