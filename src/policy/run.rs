//! Running a policy: build it in a scratch store, check each assertion.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::parse::time_field;
use super::report::{instant, Failure, Report};
use super::{Assertion, Expect, Policy, PolicyError, Subject};
use crate::acl::{
    AccessControl, Acl, Delegation, Explanation, Identity, Membership, Permission, Principal,
    ScopeSet, Validity,
};
use crate::identity::{
    ApiKey, AuthToken, IdentityProvider, NewApiKey, PeerEntry, SqliteIdentityProvider,
};
use crate::time::now_ms;
use crate::Store;

impl Policy {
    /// Builds the policy in a scratch store and checks every assertion.
    ///
    /// The store is a file in a private temporary directory (the store
    /// needs a file: its readers, writer and change watcher are separate
    /// connections to it), removed when the run ends, whatever happens.
    /// Entries are written in the order principals, memberships,
    /// delegations, peers, API keys, each through the same API (and checks)
    /// as the command line; assertions without `at` are checked at the
    /// time of the run.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Malformed`] with the entry's line when a write is
    /// refused (e.g. a delegation of something the delegator does not hold
    /// when it is added); [`PolicyError::Store`] when the scratch store
    /// cannot be created.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::policy::{Format, Policy};
    /// let policy = Policy::parse(r#"{
    ///   "principals": [{"id": "ada", "type": "account", "scopes": ["read"]}],
    ///   "assertions": [{"assert": "has", "subject": "ada", "scope": "write"}]
    /// }"#, Format::Json)?;
    /// let report = policy.run()?;
    /// assert_eq!(report.to_string(), "line 3: \"ada\" has \"write\": it holds \"read\"\n1 of 1 assertion failed");
    /// # Ok::<(), alknet_graphs::policy::PolicyError>(())
    /// ```
    pub fn run(&self) -> Result<Report, PolicyError> {
        // Declared first, so it is removed after everything that uses it.
        let dir = tempfile::Builder::new()
            .prefix("alknet-policy-")
            .tempdir()
            .map_err(PolicyError::Io)?;
        let store = Store::open(dir.path().join("policy.db")).map_err(PolicyError::Store)?;
        let built = self.build(&store)?;
        let mut report = Report {
            assertions: self.assertions.len(),
            failures: Vec::new(),
        };
        let now = now_ms();
        for entry in &self.assertions {
            if let Err((assertion, message)) = built.check(&entry.item, now) {
                report.failures.push(Failure {
                    line: entry.line,
                    assertion,
                    message,
                });
            }
        }
        drop(built);
        drop(store);
        drop(dir);
        Ok(report)
    }

    fn build(&self, store: &Store) -> Result<Built, PolicyError> {
        let mut acl = Acl::open(store).map_err(PolicyError::Store)?;
        self.add_principals(&mut acl)?;
        self.add_memberships(&mut acl)?;
        self.add_delegations(&mut acl)?;
        let provider = SqliteIdentityProvider::builder()
            .listen(false)
            .open(store)
            .map_err(PolicyError::Registry)?;
        self.add_peers(&provider)?;
        let keys = self.create_api_keys(&provider)?;
        acl.refresh().map_err(PolicyError::Store)?;
        provider.refresh().map_err(PolicyError::Registry)?;
        Ok(Built {
            acl,
            provider,
            keys,
        })
    }

    fn add_principals(&self, acl: &mut Acl) -> Result<(), PolicyError> {
        for entry in &self.principals {
            let p = &entry.item;
            let mut principal =
                Principal::new(&p.id, p.kind.into()).scopes(p.scopes.iter().cloned());
            for (resource, actions) in &p.resources {
                principal = principal.resource(resource, actions.iter().cloned());
            }
            acl.add_principal(&principal).map_err(refused(entry.line))?;
        }
        Ok(())
    }

    fn add_memberships(&self, acl: &mut Acl) -> Result<(), PolicyError> {
        for entry in &self.memberships {
            let m = &entry.item;
            let validity = Validity {
                not_before: time_field(m.not_before.as_ref(), "not_before", entry.line)?,
                expires_at: time_field(m.expires_at.as_ref(), "expires_at", entry.line)?,
                revoked_at: None,
            };
            acl.add_membership(&Membership::new(&m.member, &m.group).validity(validity))
                .map_err(refused(entry.line))?;
        }
        Ok(())
    }

    fn add_delegations(&self, acl: &mut Acl) -> Result<(), PolicyError> {
        for entry in &self.delegations {
            let d = &entry.item;
            let validity = Validity {
                not_before: time_field(d.not_before.as_ref(), "not_before", entry.line)?,
                expires_at: time_field(d.expires_at.as_ref(), "expires_at", entry.line)?,
                revoked_at: time_field(d.revoked_at.as_ref(), "revoked_at", entry.line)?,
            };
            let mut delegation = Delegation::new(&d.from, &d.to)
                .scopes(d.scopes.iter().cloned())
                .validity(validity);
            for (resource, actions) in &d.resources {
                delegation = delegation.resource(resource, actions.iter().cloned());
            }
            acl.delegate(&delegation).map_err(refused(entry.line))?;
        }
        Ok(())
    }

    fn add_peers(&self, provider: &SqliteIdentityProvider) -> Result<(), PolicyError> {
        for entry in &self.peers {
            let p = &entry.item;
            let mut peer = PeerEntry::new(&p.id).scopes(p.scopes.iter().cloned());
            for (resource, actions) in &p.resources {
                peer = peer.resource(resource, actions.iter().cloned());
            }
            provider.insert_peer(peer).map_err(refused(entry.line))?;
        }
        Ok(())
    }

    /// Creates the API keys, each with its token, by name.
    fn create_api_keys(
        &self,
        provider: &SqliteIdentityProvider,
    ) -> Result<HashMap<String, (ApiKey, AuthToken)>, PolicyError> {
        let mut keys = HashMap::new();
        for entry in &self.api_keys {
            let k = &entry.item;
            let mut key = NewApiKey::new(&k.name, &k.owner).scopes(k.scopes.iter().cloned());
            for (resource, actions) in &k.resources {
                key = key.resource(resource, actions.iter().cloned());
            }
            if let Some(t) = time_field(k.expires_at.as_ref(), "expires_at", entry.line)? {
                key = key.expires_at(t);
            }
            if keys.contains_key(&k.name) {
                return Err(PolicyError::Malformed {
                    line: entry.line,
                    message: format!("API key {:?} is defined twice", k.name),
                });
            }
            let created = provider.create_api_key(key).map_err(refused(entry.line))?;
            keys.insert(k.name.clone(), created);
        }
        Ok(keys)
    }
}

/// A write the store refused, as the malformed entry on `line`.
fn refused<E: std::fmt::Display>(line: usize) -> impl FnOnce(E) -> PolicyError {
    move |e| PolicyError::Malformed {
        line,
        message: e.to_string(),
    }
}

/// A policy built in its store.
struct Built {
    acl: Acl,
    provider: SqliteIdentityProvider,
    keys: HashMap<String, (ApiKey, AuthToken)>,
}

/// `(the assertion as a sentence, why it does not hold)`.
type Failed = (String, String);

impl Built {
    /// The identity `subject` resolves to at `t`, or why there is none.
    fn identity(&self, subject: &Subject, t: i64, now: bool) -> Result<Identity, String> {
        match subject {
            Subject::Principal(id) => self
                .acl
                .effective_at(id, t)
                .map(|grant| grant.into_identity(id))
                .ok_or_else(|| format!("there is no principal {id:?}")),
            Subject::Peer(id) => self
                .provider
                .identity_at(id, t)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("there is no peer {id:?}")),
            Subject::Key(name) => {
                let (key, token) = self
                    .keys
                    .get(name)
                    .ok_or_else(|| format!("there is no API key {name:?} in the file"))?;
                if now {
                    // The real path: the token, through the provider.
                    return Ok(self
                        .provider
                        .resolve_from_token(token)
                        .unwrap_or_else(|| empty(&key.owner_id)));
                }
                if key.expires_at.is_some_and(|until| t >= until) {
                    return Ok(empty(&key.owner_id));
                }
                let owner = match self.provider.identity_at(&key.owner_id, t) {
                    Ok(Some(peer)) => peer,
                    _ => self
                        .acl
                        .effective_at(&key.owner_id, t)
                        .map_or_else(|| empty(&key.owner_id), |g| g.into_identity(&key.owner_id)),
                };
                Ok(crate::identity::attenuate(key, &owner))
            }
        }
    }

    fn check(&self, assertion: &Assertion, now: i64) -> Result<(), Failed> {
        let when = |at: &Option<i64>| When { at: *at, now };
        match assertion {
            Assertion::Has {
                subject,
                permission,
                at,
            } => self.check_has(subject, permission, when(at)),
            Assertion::Lacks {
                subject,
                permission,
                at,
            } => self.check_lacks(subject, permission, when(at)),
            Assertion::Check {
                subject,
                scopes,
                any,
                resource,
                expect,
                at,
            } => self.check_access(subject, scopes, any, resource.as_ref(), *expect, when(at)),
            Assertion::Explain {
                principal,
                permission,
                via,
                at,
            } => self.check_explain(principal, permission, via, when(at)),
            Assertion::WhoHas {
                permission,
                equals,
                at,
            } => self.check_who_has(permission, equals, when(at)),
        }
    }

    /// The identity `subject` resolves to `when`; a failure of `sentence`
    /// when there is none.
    fn identity_when(
        &self,
        subject: &Subject,
        when: When,
        sentence: &str,
    ) -> Result<Identity, Failed> {
        self.identity(subject, when.t(), when.at.is_none())
            .map_err(|why| (sentence.to_owned(), why))
    }

    fn check_has(
        &self,
        subject: &Subject,
        permission: &Permission,
        when: When,
    ) -> Result<(), Failed> {
        let sentence = format!("{subject} has {permission}{}", when.suffix());
        let identity = self.identity_when(subject, when, &sentence)?;
        if holds(&identity, permission) {
            Ok(())
        } else {
            Err((sentence, format!("it holds {}", holdings(&identity))))
        }
    }

    /// Fails naming the chain that grants the permission, for a principal.
    fn check_lacks(
        &self,
        subject: &Subject,
        permission: &Permission,
        when: When,
    ) -> Result<(), Failed> {
        let sentence = format!("{subject} lacks {permission}{}", when.suffix());
        let identity = self.identity_when(subject, when, &sentence)?;
        if !holds(&identity, permission) {
            return Ok(());
        }
        let why = match subject {
            Subject::Principal(id) => self
                .acl
                .explain_at(id, permission, when.t())
                .map_or_else(|| "it holds it".to_owned(), |e| format!("it holds it, {e}")),
            _ => "it holds it".to_owned(),
        };
        Err((sentence, why))
    }

    /// The flat access check of `scopes`, one of `any` and `resource`
    /// decides as `expect` says.
    fn check_access(
        &self,
        subject: &Subject,
        scopes: &[String],
        any: &[String],
        resource: Option<&(String, String)>,
        expect: Expect,
        when: When,
    ) -> Result<(), Failed> {
        let decision = match expect {
            Expect::Allowed => "allowed",
            Expect::Denied => "denied",
        };
        let mut access = AccessControl::new().require(scopes.iter().cloned());
        if !any.is_empty() {
            access = access.require_any(any.iter().cloned());
        }
        if let Some((resource, action)) = resource {
            access = access.resource(resource.as_str(), action.as_str());
        }
        let sentence = format!(
            "check {subject} for {} is {decision}{}",
            requirements(scopes, any, resource),
            when.suffix()
        );
        let identity = self.identity_when(subject, when, &sentence)?;
        let result = access.check(Some(&identity));
        if result.is_allowed() == (expect == Expect::Allowed) {
            Ok(())
        } else {
            Err((sentence, format!("it is {result}")))
        }
    }

    /// The shortest chain granting `permission` to `principal` has the
    /// hop `via`.
    fn check_explain(
        &self,
        principal: &str,
        permission: &Permission,
        via: &str,
        when: When,
    ) -> Result<(), Failed> {
        let sentence = format!(
            "explain {principal:?} {permission} names {via}{}",
            when.suffix()
        );
        let wanted = via.replace("->", "→");
        match self.acl.explain_at(principal, permission, when.t()) {
            None => Err((sentence, format!("there is no principal {principal:?}"))),
            Some(Explanation::Granted(witness))
                if witness
                    .chain
                    .iter()
                    .any(|hop| format!("{}→{}", hop.from, hop.to) == wanted) =>
            {
                Ok(())
            }
            Some(other) => Err((sentence, format!("it is {other}"))),
        }
    }

    /// The principals and peers holding `permission` are exactly `equals`.
    fn check_who_has(
        &self,
        permission: &Permission,
        equals: &[String],
        when: When,
    ) -> Result<(), Failed> {
        let sentence = format!(
            "who-has {permission}{} equals {}",
            when.suffix(),
            list(equals.iter())
        );
        let who = self
            .provider
            .subjects_at(permission, when.t())
            .map_err(|e| (sentence.clone(), e.to_string()))?;
        let got: BTreeSet<String> = who
            .principals
            .into_iter()
            .chain(who.peers.into_iter().map(|p| format!("peer:{p}")))
            .collect();
        let want: BTreeSet<String> = equals.iter().cloned().collect();
        if got == want {
            return Ok(());
        }
        let mut why = format!("it is {}", list(got.iter()));
        let missing: Vec<&String> = want.difference(&got).collect();
        let extra: Vec<&String> = got.difference(&want).collect();
        if !missing.is_empty() {
            why.push_str(&format!("; missing {}", list(missing.into_iter())));
        }
        if !extra.is_empty() {
            why.push_str(&format!("; not expected {}", list(extra.into_iter())));
        }
        Err((sentence, why))
    }
}

/// When an assertion is checked: at its `at`, else at the time of the run.
#[derive(Clone, Copy)]
struct When {
    at: Option<i64>,
    now: i64,
}

impl When {
    fn t(self) -> i64 {
        self.at.unwrap_or(self.now)
    }

    /// ` at TIME` for an assertion with its own time, else nothing.
    fn suffix(self) -> String {
        self.at
            .map_or(String::new(), |t| format!(" at {}", instant(t)))
    }
}

/// `"a", "b", one of "c", "d", write on "repo"`: what a check requires.
fn requirements(scopes: &[String], any: &[String], resource: Option<&(String, String)>) -> String {
    let mut wants: Vec<String> = scopes.iter().map(|s| format!("{s:?}")).collect();
    if !any.is_empty() {
        let any: Vec<String> = any.iter().map(|s| format!("{s:?}")).collect();
        wants.push(format!("one of {}", any.join(", ")));
    }
    if let Some((resource, action)) = resource {
        wants.push(format!("{action} on {resource:?}"));
    }
    wants.join(", ")
}

fn empty(id: &str) -> Identity {
    Identity {
        id: id.to_owned(),
        scopes: ScopeSet::new(),
        resources: HashMap::new(),
    }
}

fn holds(identity: &Identity, permission: &Permission) -> bool {
    match permission {
        Permission::Scope(scope) => identity.scopes.contains(scope),
        Permission::Resource { resource, action } => identity
            .resources
            .get(resource)
            .is_some_and(|actions| actions.contains(action)),
    }
}

/// `"a", "b", read on "repo"`, or `nothing`.
fn holdings(identity: &Identity) -> String {
    let mut parts: Vec<String> = identity.scopes.iter().map(|s| format!("{s:?}")).collect();
    let resources: BTreeMap<&String, BTreeSet<&String>> = identity
        .resources
        .iter()
        .map(|(r, actions)| (r, actions.iter().collect()))
        .collect();
    for (resource, actions) in resources {
        for action in actions {
            parts.push(format!("{action} on {resource:?}"));
        }
    }
    if parts.is_empty() {
        "nothing".to_owned()
    } else {
        parts.join(", ")
    }
}

/// `["a", "b"]`.
fn list<'a>(items: impl Iterator<Item = &'a String>) -> String {
    let items: Vec<String> = items.map(|s| format!("{s:?}")).collect();
    format!("[{}]", items.join(", "))
}
