//! Parsing policy test files (JSON or TOML) into a [`Policy`], with the
//! line of every entry.
//!
//! Both formats deserialize into the same entries. TOML reports spans, so
//! each entry is read as a `toml::Spanned`. serde_json does not, so a JSON
//! document is first parsed whole (which reports the line of any syntax or
//! type error), and then a small scanner, run only on text serde_json has
//! accepted, finds where each element of the top-level arrays starts.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{Assertion, Expect, PolicyError, Subject};
use crate::acl::{IdentityType, Permission};

/// The format of a policy test file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON (`.json`).
    Json,
    /// TOML (`.toml`).
    Toml,
}

impl Format {
    /// The format a file name's extension names (`.json` or `.toml`).
    ///
    /// ```
    /// use alknet_graphs::policy::Format;
    /// assert_eq!(Format::from_path("ci.toml"), Some(Format::Toml));
    /// assert_eq!(Format::from_path("ci.yaml"), None);
    /// ```
    pub fn from_path(path: impl AsRef<std::path::Path>) -> Option<Format> {
        match path.as_ref().extension()?.to_str()? {
            "json" => Some(Format::Json),
            "toml" => Some(Format::Toml),
            _ => None,
        }
    }
}

/// An entry of a policy file and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct Lined<T> {
    /// The line the entry starts on.
    pub line: usize,
    /// The entry.
    pub item: T,
}

/// A principal to create.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalEntry {
    /// Its identity id.
    pub id: String,
    /// `account`, `org`, `service` or `role`.
    #[serde(rename = "type")]
    pub kind: KindEntry,
    /// Scopes it holds itself.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Resource actions it holds itself, by resource name.
    #[serde(default)]
    pub resources: BTreeMap<String, Vec<String>>,
}

/// A principal's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs, reason = "the variants are the identity types")]
pub enum KindEntry {
    Account,
    Org,
    Service,
    Role,
}

impl From<KindEntry> for IdentityType {
    fn from(kind: KindEntry) -> Self {
        match kind {
            KindEntry::Account => IdentityType::Account,
            KindEntry::Org => IdentityType::Org,
            KindEntry::Service => IdentityType::Service,
            KindEntry::Role => IdentityType::Role,
        }
    }
}

/// A membership to add.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipEntry {
    /// The member.
    pub member: String,
    /// The org or role.
    pub group: String,
    /// In force from (unix ms or RFC 3339).
    pub not_before: Option<Value>,
    /// In force until (unix ms or RFC 3339).
    pub expires_at: Option<Value>,
}

/// A delegation to add.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegationEntry {
    /// The delegator.
    pub from: String,
    /// The delegate.
    pub to: String,
    /// Narrowed scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Narrowed resource actions, by resource name.
    #[serde(default)]
    pub resources: BTreeMap<String, Vec<String>>,
    /// In force from.
    pub not_before: Option<Value>,
    /// In force until.
    pub expires_at: Option<Value>,
    /// Revoked as of.
    pub revoked_at: Option<Value>,
}

/// A peer to register.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerEntrySpec {
    /// The peer id (binds to the account or service principal of that id).
    pub id: String,
    /// Scopes it holds itself.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Resource actions it holds itself.
    #[serde(default)]
    pub resources: BTreeMap<String, Vec<String>>,
}

/// An API key to create.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyEntry {
    /// Its name, as assertions name it (`key:NAME`).
    pub name: String,
    /// Its owner: a peer or a principal.
    pub owner: String,
    /// Scopes (within the owner's).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Resource actions (within the owner's).
    #[serde(default)]
    pub resources: BTreeMap<String, Vec<String>>,
    /// Expiry.
    pub expires_at: Option<Value>,
}

/// An assertion as written, before it is checked.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct AssertionEntry {
    #[serde(rename = "assert")]
    kind: String,
    subject: Option<String>,
    scope: Option<String>,
    resource: Option<String>,
    action: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    any: Vec<String>,
    expect: Option<String>,
    via: Option<String>,
    equals: Option<Vec<String>>,
    at: Option<Value>,
}

/// A parsed policy test file: what to build, then what must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Policy {
    /// Principals, created first.
    pub principals: Vec<Lined<PrincipalEntry>>,
    /// Memberships, added next.
    pub memberships: Vec<Lined<MembershipEntry>>,
    /// Delegations, added in order (each delegator must hold what it
    /// passes on when it is added).
    pub delegations: Vec<Lined<DelegationEntry>>,
    /// Peers.
    pub peers: Vec<Lined<PeerEntrySpec>>,
    /// API keys.
    pub api_keys: Vec<Lined<ApiKeyEntry>>,
    /// Assertions, checked in order.
    pub assertions: Vec<Lined<Assertion>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonDoc {
    #[serde(default)]
    principals: Vec<PrincipalEntry>,
    #[serde(default)]
    memberships: Vec<MembershipEntry>,
    #[serde(default)]
    delegations: Vec<DelegationEntry>,
    #[serde(default)]
    peers: Vec<PeerEntrySpec>,
    #[serde(default)]
    api_keys: Vec<ApiKeyEntry>,
    #[serde(default)]
    assertions: Vec<AssertionEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlDoc {
    #[serde(default)]
    principals: Vec<toml::Spanned<PrincipalEntry>>,
    #[serde(default)]
    memberships: Vec<toml::Spanned<MembershipEntry>>,
    #[serde(default)]
    delegations: Vec<toml::Spanned<DelegationEntry>>,
    #[serde(default)]
    peers: Vec<toml::Spanned<PeerEntrySpec>>,
    #[serde(default)]
    api_keys: Vec<toml::Spanned<ApiKeyEntry>>,
    #[serde(default)]
    assertions: Vec<toml::Spanned<AssertionEntry>>,
}

/// The top-level arrays, in the order of [`JsonDoc`]'s fields.
const SECTIONS: [&str; 6] = [
    "principals",
    "memberships",
    "delegations",
    "peers",
    "api_keys",
    "assertions",
];

impl Policy {
    /// Parses a policy test file.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Malformed`] with the line of the problem: a syntax
    /// error, an unknown or missing field, a value of the wrong type, a
    /// time that is neither unix milliseconds nor RFC 3339, or an
    /// assertion that does not say what it checks.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::policy::{Format, Policy};
    /// let text = r#"{
    ///   "principals": [{"id": "ada", "type": "account", "scopes": ["read"]}],
    ///   "assertions": [
    ///     {"assert": "has", "subject": "ada", "scope": "read"},
    ///     {"assert": "nonsense"}
    ///   ]
    /// }"#;
    /// let err = Policy::parse(text, Format::Json).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"line 5: assertion "nonsense": "assert" is one of "has", "lacks", "check", "explain", "who-has""#
    /// );
    /// ```
    pub fn parse(text: &str, format: Format) -> Result<Policy, PolicyError> {
        match format {
            Format::Json => parse_json(text),
            Format::Toml => parse_toml(text),
        }
    }
}

fn malformed(line: usize, message: impl Into<String>) -> PolicyError {
    PolicyError::Malformed {
        line,
        message: message.into(),
    }
}

fn parse_json(text: &str) -> Result<Policy, PolicyError> {
    let doc: JsonDoc = serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        // serde_json appends " at line L column C"; the line goes first.
        let message = match message.rfind(" at line ") {
            Some(at) => message[..at].to_owned(),
            None => message,
        };
        malformed(e.line().max(1), message)
    })?;
    let lines = element_lines(text).ok_or_else(|| malformed(1, "not a JSON object"))?;
    let line_of = |section: usize, i: usize| -> usize {
        lines
            .get(section)
            .and_then(|starts| starts.get(i))
            .copied()
            .unwrap_or(1)
    };
    fn lined<T>(items: Vec<T>, line: impl Fn(usize) -> usize) -> Vec<Lined<T>> {
        items
            .into_iter()
            .enumerate()
            .map(|(i, item)| Lined {
                line: line(i),
                item,
            })
            .collect()
    }
    let assertions = doc
        .assertions
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let line = line_of(5, i);
            Ok(Lined {
                line,
                item: assertion(entry, line)?,
            })
        })
        .collect::<Result<_, PolicyError>>()?;
    let policy = Policy {
        principals: lined(doc.principals, |i| line_of(0, i)),
        memberships: lined(doc.memberships, |i| line_of(1, i)),
        delegations: lined(doc.delegations, |i| line_of(2, i)),
        peers: lined(doc.peers, |i| line_of(3, i)),
        api_keys: lined(doc.api_keys, |i| line_of(4, i)),
        assertions,
    };
    policy.check_times()?;
    Ok(policy)
}

fn parse_toml(text: &str) -> Result<Policy, PolicyError> {
    let doc: TomlDoc = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |span| line_at(text, span.start));
        malformed(line, e.message().trim_end().to_owned())
    })?;
    fn lined<T>(text: &str, items: Vec<toml::Spanned<T>>) -> Vec<Lined<T>> {
        items
            .into_iter()
            .map(|spanned| {
                let line = line_at(text, spanned.span().start);
                Lined {
                    line,
                    item: spanned.into_inner(),
                }
            })
            .collect()
    }
    let assertions = lined(text, doc.assertions)
        .into_iter()
        .map(|entry| {
            Ok(Lined {
                line: entry.line,
                item: assertion(entry.item, entry.line)?,
            })
        })
        .collect::<Result<_, PolicyError>>()?;
    let policy = Policy {
        principals: lined(text, doc.principals),
        memberships: lined(text, doc.memberships),
        delegations: lined(text, doc.delegations),
        peers: lined(text, doc.peers),
        api_keys: lined(text, doc.api_keys),
        assertions,
    };
    policy.check_times()?;
    Ok(policy)
}

impl Policy {
    /// Every time in the setup entries parses.
    fn check_times(&self) -> Result<(), PolicyError> {
        for m in &self.memberships {
            time_field(m.item.not_before.as_ref(), "not_before", m.line)?;
            time_field(m.item.expires_at.as_ref(), "expires_at", m.line)?;
        }
        for d in &self.delegations {
            time_field(d.item.not_before.as_ref(), "not_before", d.line)?;
            time_field(d.item.expires_at.as_ref(), "expires_at", d.line)?;
            time_field(d.item.revoked_at.as_ref(), "revoked_at", d.line)?;
        }
        for k in &self.api_keys {
            time_field(k.item.expires_at.as_ref(), "expires_at", k.line)?;
        }
        Ok(())
    }
}

/// The 1-based line of byte offset `at`.
fn line_at(text: &str, at: usize) -> usize {
    let end = at.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// A time field: unix milliseconds, or an RFC 3339 string.
pub(crate) fn time_field(
    value: Option<&Value>,
    field: &str,
    line: usize,
) -> Result<Option<i64>, PolicyError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let parsed = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(text) => parse_rfc3339(text),
        // A TOML datetime, as serde sees it.
        Value::Object(map) if map.len() == 1 => map
            .get("$__toml_private_datetime")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339),
        _ => None,
    };
    parsed.map(Some).ok_or_else(|| {
        let shown = match value {
            Value::Object(map) => map
                .get("$__toml_private_datetime")
                .and_then(Value::as_str)
                .map_or_else(
                    || value.to_string(),
                    |text| format!("{text} (a TOML datetime without an offset)"),
                ),
            _ => value.to_string(),
        };
        malformed(
            line,
            format!("{field}: {shown} is not unix milliseconds or an RFC 3339 time"),
        )
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` as unix milliseconds.
pub(crate) fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = b.get(range)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        digits.iter().try_fold(0i64, |acc, &d| {
            acc.checked_mul(10)?.checked_add(i64::from(d - b'0'))
        })
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = 19;
    let mut millis = 0;
    if b.get(rest) == Some(&b'.') {
        let start = rest + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start {
            return None;
        }
        let first3 = num(start..(start + 3).min(end))?;
        millis = first3 * 10i64.pow(3 - (end - start).min(3) as u32);
        rest = end;
    }
    let offset_minutes = match b.get(rest..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hh = num(rest + 1..rest + 3)?;
            let mm = num(rest + 4..rest + 6)?;
            let _ = (h1, h2, m1, m2);
            if hh > 23 || mm > 59 {
                return None;
            }
            let total = hh * 60 + mm;
            if *sign == b'+' {
                total
            } else {
                -total
            }
        }
        _ => return None,
    };
    // Days from the civil date (proleptic Gregorian), after H. Hinnant.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second.min(59) - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

/// Checks an assertion entry into an [`Assertion`].
fn assertion(entry: AssertionEntry, line: usize) -> Result<Assertion, PolicyError> {
    let mut checking = Checking {
        entry: &entry,
        line,
        at: None,
        permission: None,
    };
    checking.at = time_field(entry.at.as_ref(), "at", line)?;
    checking.permission = checking.permission_fields()?;
    match entry.kind.as_str() {
        "has" | "lacks" => checking.has_or_lacks(),
        "check" => checking.check(),
        "explain" => checking.explain(),
        "who-has" => checking.who_has(),
        _ => Err(checking
            .bad("\"assert\" is one of \"has\", \"lacks\", \"check\", \"explain\", \"who-has\"")),
    }
}

/// An assertion entry being checked, with its line and what every kind
/// reads alike: its time and its permission.
struct Checking<'a> {
    entry: &'a AssertionEntry,
    line: usize,
    at: Option<i64>,
    permission: Option<Permission>,
}

impl Checking<'_> {
    fn bad(&self, message: &str) -> PolicyError {
        malformed(
            self.line,
            format!("assertion {:?}: {message}", self.entry.kind),
        )
    }

    /// `scope`, or `resource` and `action`, or none of them.
    fn permission_fields(&self) -> Result<Option<Permission>, PolicyError> {
        let entry = self.entry;
        match (&entry.scope, &entry.resource, &entry.action) {
            (Some(scope), None, None) => Ok(Some(Permission::scope(scope))),
            (None, Some(resource), Some(action)) => {
                Ok(Some(Permission::resource(resource, action)))
            }
            (None, None, None) => Ok(None),
            _ => Err(self.bad("give either \"scope\", or \"resource\" and \"action\"")),
        }
    }

    fn subject(&self) -> Result<Subject, PolicyError> {
        let text = self
            .entry
            .subject
            .as_deref()
            .ok_or_else(|| self.bad("needs a \"subject\""))?;
        Ok(Subject::parse(text))
    }

    fn permission(&self) -> Result<Permission, PolicyError> {
        self.permission
            .clone()
            .ok_or_else(|| self.bad("needs \"scope\", or \"resource\" and \"action\""))
    }

    /// Refuses the first of `fields` that is set.
    fn unused(&self, fields: &[(&str, bool)]) -> Result<(), PolicyError> {
        match fields.iter().find(|(_, set)| *set) {
            Some((name, _)) => Err(self.bad(&format!("{name:?} does not apply"))),
            None => Ok(()),
        }
    }

    /// Refuses the fields only `check` reads.
    fn unused_check_fields(&self) -> Result<(), PolicyError> {
        self.unused(&[
            ("scopes", !self.entry.scopes.is_empty()),
            ("any", !self.entry.any.is_empty()),
            ("expect", self.entry.expect.is_some()),
        ])
    }

    fn has_or_lacks(&self) -> Result<Assertion, PolicyError> {
        self.unused_check_fields()?;
        self.unused(&[
            ("via", self.entry.via.is_some()),
            ("equals", self.entry.equals.is_some()),
        ])?;
        let subject = self.subject()?;
        let permission = self.permission()?;
        let at = self.at;
        Ok(if self.entry.kind == "has" {
            Assertion::Has {
                subject,
                permission,
                at,
            }
        } else {
            Assertion::Lacks {
                subject,
                permission,
                at,
            }
        })
    }

    fn check(&self) -> Result<Assertion, PolicyError> {
        let entry = self.entry;
        self.unused(&[
            ("scope", entry.scope.is_some()),
            ("via", entry.via.is_some()),
            ("equals", entry.equals.is_some()),
        ])?;
        let subject = self.subject()?;
        let expect = match entry.expect.as_deref() {
            Some("allowed") => Expect::Allowed,
            Some("denied") => Expect::Denied,
            _ => return Err(self.bad("\"expect\" is \"allowed\" or \"denied\"")),
        };
        let resource = match (&entry.resource, &entry.action) {
            (Some(resource), Some(action)) => Some((resource.clone(), action.clone())),
            _ => None,
        };
        if entry.scopes.is_empty() && entry.any.is_empty() && resource.is_none() {
            return Err(self.bad("needs \"scopes\", \"any\", or \"resource\" and \"action\""));
        }
        Ok(Assertion::Check {
            subject,
            scopes: entry.scopes.clone(),
            any: entry.any.clone(),
            resource,
            expect,
            at: self.at,
        })
    }

    fn explain(&self) -> Result<Assertion, PolicyError> {
        self.unused_check_fields()?;
        self.unused(&[("equals", self.entry.equals.is_some())])?;
        let Subject::Principal(principal) = self.subject()? else {
            return Err(self.bad("explains a principal's grant; the subject is a principal"));
        };
        let via = self
            .entry
            .via
            .clone()
            .ok_or_else(|| self.bad("needs \"via\": the hop it names, as FROM→TO"))?;
        Ok(Assertion::Explain {
            principal,
            permission: self.permission()?,
            via,
            at: self.at,
        })
    }

    fn who_has(&self) -> Result<Assertion, PolicyError> {
        self.unused_check_fields()?;
        self.unused(&[
            ("subject", self.entry.subject.is_some()),
            ("via", self.entry.via.is_some()),
        ])?;
        let equals = self
            .entry
            .equals
            .clone()
            .ok_or_else(|| self.bad("needs \"equals\": the subjects holding it"))?;
        Ok(Assertion::WhoHas {
            permission: self.permission()?,
            equals,
            at: self.at,
        })
    }
}

// ---------------------------------------------------------------------------
// Where JSON array elements start

/// For each of [`SECTIONS`], the line each element of its array starts on.
/// Runs on text serde_json has accepted; `None` if it is not an object
/// (which serde_json would have refused).
fn element_lines(text: &str) -> Option<Vec<Vec<usize>>> {
    let mut scan = Scanner {
        b: text.as_bytes(),
        at: 0,
        line: 1,
    };
    let mut lines = vec![Vec::new(); SECTIONS.len()];
    scan.ws();
    scan.eat(b'{')?;
    loop {
        scan.ws();
        if scan.peek()? == b'}' {
            return Some(lines);
        }
        let key = scan.string()?;
        scan.ws();
        scan.eat(b':')?;
        scan.ws();
        let section = SECTIONS.iter().position(|s| *s == key);
        match (section, scan.peek()?) {
            (Some(i), b'[') => {
                scan.eat(b'[')?;
                loop {
                    scan.ws();
                    if scan.peek()? == b']' {
                        scan.eat(b']')?;
                        break;
                    }
                    lines[i].push(scan.line);
                    scan.value()?;
                    scan.ws();
                    if scan.peek()? == b',' {
                        scan.eat(b',')?;
                    }
                }
            }
            _ => scan.value()?,
        }
        scan.ws();
        if scan.peek()? == b',' {
            scan.eat(b',')?;
        }
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    at: usize,
    line: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.at += 1;
        if c == b'\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.bump()? == c).then_some(())
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.bump();
        }
    }

    /// A string, returned with its escapes left as written (keys compared
    /// with it are plain ASCII).
    fn string(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let start = self.at;
        loop {
            match self.bump()? {
                b'\\' => {
                    self.bump()?;
                }
                b'"' => break,
                _ => {}
            }
        }
        let raw = self.b.get(start..self.at - 1)?;
        Some(String::from_utf8_lossy(raw).into_owned())
    }

    /// Skips one value.
    fn value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                        }
                        b'{' | b'[' => {
                            depth += 1;
                            self.bump();
                        }
                        b'}' | b']' => {
                            depth -= 1;
                            self.bump();
                            if depth == 0 {
                                return Some(());
                            }
                        }
                        _ => {
                            self.bump();
                        }
                    }
                }
            }
            _ => {
                while !matches!(
                    self.peek(),
                    None | Some(b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r')
                ) {
                    self.bump();
                }
                Some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times_are_unix_milliseconds() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2027-01-01T00:00:00Z"),
            Some(1_798_761_600_000)
        );
        assert_eq!(
            parse_rfc3339("2027-01-01T01:00:00.5+01:00"),
            Some(1_798_761_600_500)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T12:00:00.123456z"),
            Some(1_709_208_000_123)
        );
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Some(-1_000));
        for bad in [
            "2023-02-29T00:00:00Z",
            "2027-13-01T00:00:00Z",
            "2027-01-01T00:00:00",
            "2027-01-01T24:00:00Z",
            "2027-01-01T00:00:00.Z",
            "2027-01-01",
            "",
            "2027-01-01T00:00:00+1:00",
            "２０２７-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn json_elements_are_found_on_their_lines() {
        let text = "{\"x\": {\"principals\": [1]},\n \"principals\": [\n  {\"id\": \"a\\\"[\"},\n  {}, [\n]],\n \"assertions\": [], \"peers\": [\"}\"]}";
        let lines = element_lines(text).unwrap();
        assert_eq!(lines[0], [3, 4, 4]);
        assert!(lines[5].is_empty());
        assert_eq!(lines[3], [6]);
        assert!(element_lines("[1]").is_none());
    }

    #[test]
    fn a_bad_time_names_its_line_and_field() {
        let text = "{\"delegations\": [\n{\"from\": \"a\", \"to\": \"b\"},\n{\"from\": \"a\", \"to\": \"b\", \"expires_at\": \"soon\"}]}";
        let err = Policy::parse(text, Format::Json).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"line 3: expires_at: "soon" is not unix milliseconds or an RFC 3339 time"#
        );
        let toml = "[[delegations]]\nfrom = \"a\"\nto = \"b\"\n\n[[delegations]]\nfrom = \"a\"\nto = \"b\"\nexpires_at = 2027-01-01T00:00:00Z\n";
        let policy = Policy::parse(toml, Format::Toml).unwrap();
        assert_eq!(policy.delegations[1].line, 5);
        let local = "[[assertions]]\nassert = \"has\"\nsubject = \"a\"\nscope = \"s\"\nat = 2027-01-01T00:00:00\n";
        assert_eq!(
            Policy::parse(local, Format::Toml).unwrap_err().to_string(),
            "line 1: at: 2027-01-01T00:00:00 (a TOML datetime without an offset) is not unix milliseconds or an RFC 3339 time"
        );
        assert_eq!(
            time_field(
                policy.delegations[1].item.expires_at.as_ref(),
                "expires_at",
                5
            )
            .unwrap(),
            Some(1_798_761_600_000)
        );
    }
}
