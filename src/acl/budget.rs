//! Budgets on delegations, and the reservations that spend them: the
//! semantics are documented on [`Acl::reserve`]. Reservations are rows of
//! `acl_reservations`, their draws rows of `acl_reservation_draws` (by
//! edge row, so a removed and re-added delegation starts with no spend);
//! the SQL for both lives here.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use super::input::{check_amount, check_identity_id, check_unit};
use super::model::AclEdge;
use super::ops::{Mutation, Op, State};
use super::scope::token_problem;
use super::snapshot::{edge_entity, node_entity, AclGraph};
use super::{codec, Acl, GRAPH};
use crate::outbox::{ChangeOp, EntityKind};
use crate::time::now_ms;
use crate::{Entity, Error, Result, WriteTxn};

const EDGE_ROW: &str = "SELECT e.id FROM edges e JOIN graphs g ON g.id = e.graph_id
     WHERE g.name = ?1 AND e.key = ?2";
/// Spent (committed) and reserved (live at ?3) through edge row ?1 in unit ?2.
const USED: &str = "SELECT
       COALESCE(SUM(CASE WHEN r.state = 'committed' THEN r.amount END), 0),
       COALESCE(SUM(CASE WHEN r.state = 'reserved' AND r.expires_at > ?3 THEN r.amount END), 0)
     FROM acl_reservation_draws d JOIN acl_reservations r ON r.id = d.reservation
     WHERE d.edge = ?1 AND r.unit = ?2";
const INSERT: &str = "INSERT INTO acl_reservations
       (uid, principal, unit, amount, state, created_at, expires_at)
     VALUES (?1, ?2, ?3, ?4, 'reserved', ?5, ?6) RETURNING id";
const INSERT_DRAW: &str =
    "INSERT INTO acl_reservation_draws (reservation, edge, budget) VALUES (?1, ?2, ?3)";
const SELECT: &str =
    "SELECT id, uid, principal, unit, amount, state, created_at, expires_at, settled_at
     FROM acl_reservations WHERE uid = ?1";
const DRAWS: &str = "SELECT e.key FROM acl_reservation_draws d JOIN edges e ON e.id = d.edge
     WHERE d.reservation = ?1 ORDER BY e.key";
const SETTLE: &str = "UPDATE acl_reservations SET state = ?2, settled_at = ?3 WHERE id = ?1";

/// Where a reservation stands at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReservationState {
    /// Live: it counts against its budgets until committed, released or
    /// expired.
    Reserved,
    /// Spent: it counts against its budgets for good.
    Committed,
    /// Returned: it no longer counts.
    Released,
    /// Past its ttl without being settled: it no longer counts, and can
    /// be neither committed nor released.
    Expired,
}

impl ReservationState {
    /// `reserved`, `committed`, `released` or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationState::Reserved => "reserved",
            ReservationState::Committed => "committed",
            ReservationState::Released => "released",
            ReservationState::Expired => "expired",
        }
    }
}

impl fmt::Display for ReservationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reservation against delegation budgets, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// Its id (time-ordered).
    pub id: String,
    /// The principal it spends for.
    pub principal: String,
    /// The unit.
    pub unit: String,
    /// The amount, in the unit's smallest denomination.
    pub amount: u64,
    /// Its state at the instant it was read (or written).
    pub state: ReservationState,
    /// When it was made (unix ms).
    pub created_at: i64,
    /// When it stops counting unless settled before (unix ms).
    pub expires_at: i64,
    /// When it was committed or released (unix ms).
    pub settled_at: Option<i64>,
    /// The keys of the `delegates` edges it counts against (those still in
    /// the store), in key order.
    pub edges: Vec<String>,
}

impl Reservation {
    fn audit_value(&self) -> Value {
        json!({
            "principal": self.principal,
            "unit": self.unit,
            "amount": self.amount,
            "state": stored_state(self.state),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "settled_at": self.settled_at,
            "edges": self.edges,
        })
    }
}

fn stored_state(state: ReservationState) -> &'static str {
    match state {
        ReservationState::Expired => "reserved",
        other => other.as_str(),
    }
}

/// One delegation's budget in one unit, and what is used of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeBudget {
    /// The `delegates` edge's key.
    pub edge: String,
    /// The delegator.
    pub from: String,
    /// The delegate.
    pub to: String,
    /// The unit.
    pub unit: String,
    /// The budget.
    pub amount: u64,
    /// Committed.
    pub spent: u64,
    /// Reserved by reservations live at the instant asked.
    pub reserved: u64,
    /// `amount - spent - reserved`, or 0 when the budget was lowered below
    /// what is used.
    pub remaining: u64,
    /// Whether the delegation is in force at the instant asked.
    pub active: bool,
}

/// What a principal can still reserve in one unit: the budget of the
/// tightest delegation on its chains, and every budget it draws on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetStatus {
    /// The unit.
    pub unit: String,
    /// The tightest budget's amount.
    pub amount: u64,
    /// Spent through the tightest budget.
    pub spent: u64,
    /// Reserved against the tightest budget.
    pub reserved: u64,
    /// The most a reservation can be now: the least remaining of all the
    /// budgets in [`edges`](BudgetStatus::edges).
    pub remaining: u64,
    /// The key of the delegation with the least remaining (the first in
    /// key order among equals).
    pub tightest: String,
    /// Every budget in this unit a reservation draws on, in key order.
    pub edges: Vec<EdgeBudget>,
}

/// The operation of [`Acl::set_budget`] (`Some` amount) and
/// [`Acl::remove_budget`] (`None`).
pub(super) fn change_budget<'a>(
    from: &'a str,
    to: &'a str,
    unit: &'a str,
    amount: Option<u64>,
    actor: Option<&'a str>,
) -> Result<impl Op + 'a> {
    check_identity_id(from)?;
    check_identity_id(to)?;
    let key = AclEdge::Delegates(super::Delegation::new(from, to)).key();
    check_unit(|| edge_entity(&key), unit)?;
    if let Some(amount) = amount {
        check_amount(|| edge_entity(&key), "a budget", amount)?;
    }
    Ok(move |tx: &mut WriteTxn<'_>, state: &State, now: i64| {
        let key = state.require_edge(&AclEdge::Delegates(super::Delegation::new(from, to)))?;
        let Some(AclEdge::Delegates(current)) = state.graph().edge(&key) else {
            return Err(Error::NotFound {
                entity: edge_entity(&key),
            });
        };
        let mut updated = current.clone();
        let action = match amount {
            Some(amount) => {
                updated.budgets.insert(unit.to_owned(), amount);
                "acl.budget.set"
            }
            None => {
                if updated.budgets.remove(unit).is_none() {
                    return Err(Error::invalid(
                        edge_entity(&key),
                        format!("has no budget in {unit:?}"),
                    ));
                }
                "acl.budget.remove"
            }
        };
        if updated == *current {
            return Ok(Mutation::Nothing);
        }
        let value = match amount {
            Some(amount) => json!(amount),
            None => Value::Null,
        };
        tx.patch_edge(GRAPH, &key, &json!({ "budgets": { unit: value } }))?;
        let before = AclEdge::Delegates(current.clone());
        let after = AclEdge::Delegates(updated);
        crate::audit::append(
            tx.conn(),
            crate::audit::Record {
                at: now,
                actor,
                action,
                entity: edge_entity(&key).to_string(),
                before: Some(codec::edge_audit_value(&before)?),
                after: Some(codec::edge_audit_value(&after)?),
            },
        )?;
        Ok(Mutation::Audited(Box::new(Mutation::Edge(key, after))))
    })
}

/// The operation of [`Acl::reserve`], for a reservation expiring at
/// `expires_at`: the reservation goes to `made`.
pub(super) fn reserve<'a>(
    principal: &'a str,
    unit: &'a str,
    amount: u64,
    expires_at: i64,
    max_depth: u32,
    actor: Option<&'a str>,
    made: &'a mut Option<Reservation>,
) -> impl Op + 'a {
    move |tx: &mut WriteTxn<'_>, state: &State, now: i64| {
        state.require_principal(principal)?;
        let budgets = budgets_into(tx.conn(), state.graph(), principal, unit, now, max_depth)?;
        refuse_overdraw(&budgets, amount, unit)?;
        let reservation = Reservation {
            id: uuid::Uuid::now_v7().to_string(),
            principal: principal.to_owned(),
            unit: unit.to_owned(),
            amount,
            state: ReservationState::Reserved,
            created_at: now,
            expires_at,
            settled_at: None,
            edges: budgets.iter().map(|b| b.edge.clone()).collect(),
        };
        insert_reservation(tx.conn(), &reservation, &budgets)?;
        crate::audit::append(
            tx.conn(),
            crate::audit::Record {
                at: now,
                actor,
                action: "acl.reserve",
                entity: reservation_entity(&reservation.id).to_string(),
                before: None,
                after: Some(reservation.audit_value()),
            },
        )?;
        tx.outbox
            .record(EntityKind::Reservation, ChangeOp::Create, &reservation.id);
        *made = Some(reservation);
        Ok(Mutation::Nothing)
    }
}

/// The operation of [`Acl::commit`] (`to` committed) and [`Acl::release`]
/// (`to` released): the settled reservation goes to `settled`.
pub(super) fn settle<'a>(
    id: &'a str,
    to: ReservationState,
    actor: Option<&'a str>,
    settled: &'a mut Option<Reservation>,
) -> impl Op + 'a {
    move |tx: &mut WriteTxn<'_>, _: &State, now: i64| {
        let Some((rowid, before)) = read_reservation(tx.conn(), id, now)? else {
            return Err(Error::NotFound {
                entity: reservation_entity(id),
            });
        };
        let refuse = |reason: String| Err(Error::invalid(reservation_entity(id), reason));
        let verb = match to {
            ReservationState::Committed => "committed",
            _ => "released",
        };
        match (before.state, to) {
            (ReservationState::Reserved, _) => {}
            (ReservationState::Committed, ReservationState::Committed) => {
                return refuse("is already committed".to_owned())
            }
            (ReservationState::Committed, _) => {
                return refuse("is committed; spend is never released".to_owned())
            }
            (ReservationState::Released, ReservationState::Released) => {
                return refuse("is already released".to_owned())
            }
            (ReservationState::Released, _) => {
                return refuse(format!(
                    "was released; only a live reservation can be {verb}"
                ))
            }
            (ReservationState::Expired, ReservationState::Released) => {
                return refuse(format!(
                    "expired at {} and was released then",
                    before.expires_at
                ))
            }
            (ReservationState::Expired, _) => {
                return refuse(format!(
                    "expired at {}; only a live reservation can be {verb}",
                    before.expires_at
                ))
            }
        }
        tx.conn()
            .prepare_cached(SETTLE)?
            .execute(params![rowid, stored_state(to), now])?;
        let after = Reservation {
            state: to,
            settled_at: Some(now),
            ..before.clone()
        };
        crate::audit::append(
            tx.conn(),
            crate::audit::Record {
                at: now,
                actor,
                action: match to {
                    ReservationState::Committed => "acl.commit",
                    _ => "acl.release",
                },
                entity: reservation_entity(id).to_string(),
                before: Some(before.audit_value()),
                after: Some(after.audit_value()),
            },
        )?;
        tx.outbox
            .record(EntityKind::Reservation, ChangeOp::Update, id);
        *settled = Some(after);
        Ok(Mutation::Nothing)
    }
}

/// A reservation's input: well-formed, an amount of at least 1, a ttl of
/// at least 1 ms; returns when a reservation made at `now` expires.
pub(super) fn check_reservation(
    principal: &str,
    unit: &str,
    amount: u64,
    ttl: Duration,
    now: i64,
) -> Result<i64> {
    check_identity_id(principal)?;
    let entity = || node_entity(principal);
    check_unit(entity, unit)?;
    if amount == 0 {
        return Err(Error::invalid(
            entity(),
            "a reservation's amount must be at least 1",
        ));
    }
    check_amount(entity, "a reservation's amount", amount)?;
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    if ttl_ms < 1 {
        return Err(Error::invalid(
            entity(),
            "a reservation's ttl must be at least 1 ms",
        ));
    }
    now.checked_add(ttl_ms).ok_or_else(|| {
        Error::invalid(
            entity(),
            format!("a reservation's ttl of {ttl_ms} ms runs past the largest instant"),
        )
    })
}

/// Every budget in `unit` on a chain into `principal` at `t`, in key
/// order; refused when there is none.
fn budgets_into(
    conn: &Connection,
    graph: &AclGraph,
    principal: &str,
    unit: &str,
    t: i64,
    max_depth: u32,
) -> Result<Vec<EdgeBudget>> {
    let mut budgets = Vec::new();
    for (key, d) in &upstream_delegations(graph, principal, t, max_depth) {
        if let Some(&budget) = d.budgets.get(unit) {
            budgets.push(edge_budget(conn, key, d, unit, budget, t)?);
        }
    }
    if budgets.is_empty() {
        return Err(Error::invalid(
            node_entity(principal),
            format!(
                "no delegation in force on a chain into it has a budget in {unit:?}; spending needs one"
            ),
        ));
    }
    Ok(budgets)
}

/// Refuses `amount` when a budget cannot take it, naming the tightest
/// (the first in key order among equals).
fn refuse_overdraw(budgets: &[EdgeBudget], amount: u64, unit: &str) -> Result<()> {
    let Some(short) = budgets
        .iter()
        .filter(|b| b.remaining < amount)
        .min_by_key(|b| b.remaining)
    else {
        return Ok(());
    };
    Err(Error::invalid(
        edge_entity(&short.edge),
        format!(
            "reserving {amount} {unit} would exceed its budget of {} {unit} ({} spent or reserved, {} remaining)",
            short.amount,
            u128::from(short.spent) + u128::from(short.reserved),
            short.remaining
        ),
    ))
}

/// Writes a reservation's row and one draw on each of its `budgets`.
fn insert_reservation(
    conn: &Connection,
    reservation: &Reservation,
    budgets: &[EdgeBudget],
) -> Result<()> {
    let r = reservation;
    let rowid: i64 = conn.prepare_cached(INSERT)?.query_row(
        params![
            r.id,
            r.principal,
            r.unit,
            r.amount as i64,
            r.created_at,
            r.expires_at
        ],
        |row| row.get(0),
    )?;
    for b in budgets {
        let edge = edge_row(conn, &b.edge)?.ok_or_else(|| Error::NotFound {
            entity: edge_entity(&b.edge),
        })?;
        conn.prepare_cached(INSERT_DRAW)?
            .execute(params![rowid, edge, b.amount as i64])?;
    }
    Ok(())
}

fn reservation_entity(id: &str) -> Entity {
    Entity::Reservation(id.to_owned())
}

// ---------------------------------------------------------------------------
// The chains into a principal

/// A grant flowing into a principal: from whom, and through which
/// delegation (`None`: a membership).
type Inflow<'g> = (&'g str, Option<(&'g str, &'g super::Delegation)>);

/// Every `delegates` edge in force at `t` on a chain into `principal` of at
/// most `max_depth` edges (see the module docs), by key.
///
/// # Complexity
///
/// O(V + E) for the whole graph: one pass to index incoming flows, then a
/// breadth-first search back from the principal.
pub(super) fn upstream_delegations<'g>(
    graph: &'g AclGraph,
    principal: &str,
    t: i64,
    max_depth: u32,
) -> BTreeMap<&'g str, &'g super::Delegation> {
    // Who passes a grant into whom, along edges in force at t.
    let mut into: HashMap<&str, Vec<Inflow<'_>>> = HashMap::new();
    for (key, edge) in graph.edges() {
        if !edge.validity().is_active_at(t) {
            continue;
        }
        match edge {
            AclEdge::Delegates(d) => into
                .entry(d.to.as_str())
                .or_default()
                .push((d.from.as_str(), Some((key, d)))),
            AclEdge::BelongsTo(m) => {
                let is_group = graph
                    .principal(&m.group)
                    .is_some_and(|g| g.identity_type.is_group());
                if is_group {
                    into.entry(m.member.as_str())
                        .or_default()
                        .push((m.group.as_str(), None));
                }
            }
            AclEdge::Can(_) => {}
        }
    }
    let mut found = BTreeMap::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut queue: VecDeque<(&str, u32)> = VecDeque::new();
    if let Some(p) = graph.principal(principal) {
        seen.insert(p.identity_id.as_str());
        queue.push_back((p.identity_id.as_str(), 0));
    }
    while let Some((at, depth)) = queue.pop_front() {
        if depth >= max_depth {
            continue;
        }
        for &(source, delegation) in into.get(at).map(Vec::as_slice).unwrap_or_default() {
            if let Some((key, d)) = delegation {
                found.insert(key, d);
            }
            if seen.insert(source) {
                queue.push_back((source, depth + 1));
            }
        }
    }
    found
}

// ---------------------------------------------------------------------------
// SQL

fn edge_row(conn: &Connection, key: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(EDGE_ROW)?
        .query_row(params![GRAPH, key], |row| row.get(0))
        .optional()?)
}

/// (spent, reserved at `t`) through edge row `edge` in `unit`.
fn used(conn: &Connection, edge: i64, unit: &str, t: i64) -> Result<(u64, u64)> {
    let (spent, reserved): (i64, i64) = conn
        .prepare_cached(USED)?
        .query_row(params![edge, unit, t], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok((spent.max(0) as u64, reserved.max(0) as u64))
}

fn edge_budget(
    conn: &Connection,
    key: &str,
    d: &super::Delegation,
    unit: &str,
    amount: u64,
    t: i64,
) -> Result<EdgeBudget> {
    let (spent, reserved) = match edge_row(conn, key)? {
        Some(row) => used(conn, row, unit, t)?,
        None => (0, 0),
    };
    let used = u128::from(spent) + u128::from(reserved);
    Ok(EdgeBudget {
        edge: key.to_owned(),
        from: d.from.clone(),
        to: d.to.clone(),
        unit: unit.to_owned(),
        amount,
        spent,
        reserved,
        remaining: u128::from(amount).saturating_sub(used) as u64,
        active: d.validity.is_active_at(t),
    })
}

fn read_reservation(conn: &Connection, id: &str, t: i64) -> Result<Option<(i64, Reservation)>> {
    let row = conn
        .prepare_cached(SELECT)?
        .query_row([id], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, i64>(4)?,
                row.get::<_, String>(5)?,
                row.get::<_, i64>(6)?,
                row.get::<_, i64>(7)?,
                row.get::<_, Option<i64>>(8)?,
            ))
        })
        .optional()?;
    let Some((rowid, uid, principal, unit, amount, state, created_at, expires_at, settled_at)) =
        row
    else {
        return Ok(None);
    };
    let state = match state.as_str() {
        "committed" => ReservationState::Committed,
        "released" => ReservationState::Released,
        "reserved" if expires_at <= t => ReservationState::Expired,
        "reserved" => ReservationState::Reserved,
        other => {
            return Err(Error::invalid(
                reservation_entity(id),
                format!("has the unknown state {other:?}"),
            ))
        }
    };
    let mut stmt = conn.prepare_cached(DRAWS)?;
    let edges = stmt
        .query_map([rowid], |row| row.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(Some((
        rowid,
        Reservation {
            id: uid,
            principal,
            unit,
            amount: amount.max(0) as u64,
            state,
            created_at,
            expires_at,
            settled_at,
            edges,
        },
    )))
}

// ---------------------------------------------------------------------------
// The API

impl Acl {
    /// Sets the budget in `unit` of the delegation `from` → `to` to
    /// `amount` (the unit's smallest denomination), adding it or replacing
    /// it. Lowering it below what is spent and reserved leaves nothing
    /// remaining; the spend stays recorded. Audited as `acl.budget.set`;
    /// setting the amount it already has writes nothing and returns the
    /// current revision.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a bad unit or an amount over [`MAX_AMOUNT`](super::MAX_AMOUNT);
    /// [`Error::NotFound`] if there is no delegation between them.
    ///
    /// # Example
    ///
    /// ```
    /// use alknet_graphs::acl::{Acl, AclEdge, Delegation, IdentityType, Principal};
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("acl.db"))?;
    /// let mut acl = Acl::open(&store)?;
    /// acl.add_principal(&Principal::new("alice", IdentityType::Account).scopes(["s"]))?;
    /// acl.add_principal(&Principal::new("bot", IdentityType::Service))?;
    /// acl.delegate(&Delegation::new("alice", "bot").scopes(["s"]))?;
    /// acl.set_budget("alice", "bot", "calls", 1_000)?;
    /// let Some(AclEdge::Delegates(d)) = acl.graph().edge("delegates alice bot") else { panic!() };
    /// assert_eq!(d.budgets["calls"], 1_000);
    /// acl.remove_budget("alice", "bot", "calls")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_budget(&mut self, from: &str, to: &str, unit: &str, amount: u64) -> Result<u64> {
        self.change_budget(from, to, unit, Some(amount))
    }

    /// Removes the budget in `unit` from the delegation `from` → `to`: it
    /// no longer limits (nor allows) spending. What was spent against it
    /// stays recorded and counts again if a budget in that unit is set
    /// again. Audited as `acl.budget.remove`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is no delegation between them;
    /// [`Error::Invalid`] if it has no budget in `unit`.
    pub fn remove_budget(&mut self, from: &str, to: &str, unit: &str) -> Result<u64> {
        self.change_budget(from, to, unit, None)
    }

    fn change_budget(
        &mut self,
        from: &str,
        to: &str,
        unit: &str,
        amount: Option<u64>,
    ) -> Result<u64> {
        let actor = self.actor().map(str::to_owned);
        let op = change_budget(from, to, unit, amount, actor.as_deref())?;
        self.write(op)
    }

    /// Reserves `amount` of `unit` for `principal` for `ttl`, against every
    /// budget in `unit` on every chain into it, and returns the
    /// reservation. Audited as `acl.reserve`.
    ///
    /// A `delegates` edge may carry **budgets**: per unit (`USD`, `calls`, any
    /// token), an amount that is an exact integer in the unit's smallest
    /// denomination (cents for `USD`), at most [`MAX_AMOUNT`](super::MAX_AMOUNT). A budget caps
    /// what may be spent, in total, by everyone the delegation's grant flows
    /// into.
    ///
    /// # Which budgets a reservation draws on
    ///
    /// A reservation for principal P in unit U at instant t draws on **every
    /// budget in U on every chain into P**: each `delegates` edge that is in
    /// force at t and from whose delegate P can be reached along edges in force
    /// at t (delegations forwards, memberships from the group to its member),
    /// within the ACL's maximum depth, counted in edges back from P. It
    /// succeeds only if every one of them has room for the whole amount, and
    /// then counts against each of them; the edges it drew on are recorded
    /// with it. So a delegate never spends more than any budget upstream of it
    /// allows (attenuation), whichever way it holds its grant. Budgets are not
    /// per scope: they bind whatever flows through their delegation.
    ///
    /// Fail closed:
    ///
    /// - No budget in U on any chain into P: the reservation is refused
    ///   (spending needs a budget). A principal that holds its grant only
    ///   itself, or only through unbudgeted chains, cannot spend.
    /// - A delegation that is revoked, expired or not yet in force is on no
    ///   chain: its budget does not count for new reservations (and if it was
    ///   the only budget, reservations are refused). What was reserved and
    ///   spent against it stays recorded.
    /// - A budget lowered below what is spent and reserved has nothing
    ///   remaining: further reservations are refused; the spend stays.
    ///
    /// A live reservation is settled by [`commit`](Acl::commit) (it
    /// becomes spend and counts for good) or [`release`](Acl::release) (it
    /// stops counting). A reservation is committed even if a delegation it
    /// drew on has been revoked since: it was within every budget when
    /// made, and the spend it records is real.
    /// A reservation past its ttl stops counting at that instant, with no
    /// write; it can no longer be committed or released, and
    /// [`prune_expired`](Acl::prune_expired) removes it later.
    ///
    /// Reservations are rows of the table `acl_reservations` (their draws in
    /// `acl_reservation_draws`, by edge row: a removed and re-added delegation
    /// starts with no spend), written in the store's write transaction
    /// (`BEGIN IMMEDIATE`), so concurrent reservations from any number of
    /// processes never over-commit a budget. Every budget change,
    /// reservation, commit and release is audited and appears on the change
    /// feed.
    ///
    /// # Example (reserve, refuse, commit)
    ///
    /// ```
    /// use std::time::Duration;
    /// use alknet_graphs::acl::{Acl, Delegation, IdentityType, Principal, ReservationState};
    /// use alknet_graphs::Store;
    ///
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::open(dir.path().join("acl.db"))?;
    /// let mut acl = Acl::open(&store)?;
    /// acl.add_principal(&Principal::new("alice", IdentityType::Account).scopes(["llm:call"]))?;
    /// acl.add_principal(&Principal::new("agent", IdentityType::Service))?;
    /// acl.delegate(&Delegation::new("alice", "agent").scopes(["llm:call"]).budget("USD", 5_000))?;
    ///
    /// let r = acl.reserve("agent", "USD", 3_000, Duration::from_secs(60))?;
    /// let err = acl.reserve("agent", "USD", 2_500, Duration::from_secs(60)).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"edge "delegates alice agent" in graph "acl": reserving 2500 USD would exceed its budget of 5000 USD (3000 spent or reserved, 2000 remaining)"#
    /// );
    /// assert_eq!(acl.commit(&r.id)?.state, ReservationState::Committed);
    ///
    /// let usd = &acl.budgets("agent")?.expect("agent exists")[0];
    /// assert_eq!((usd.spent, usd.reserved, usd.remaining), (3_000, 0, 2_000));
    /// assert_eq!(usd.tightest, "delegates alice agent");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the principal for a bad unit, an amount
    /// of 0 or over [`MAX_AMOUNT`](super::MAX_AMOUNT), a ttl under 1 ms, or when no budget in
    /// `unit` is on a chain into it; naming the delegation whose budget
    /// has too little remaining; [`Error::NotFound`] if there is no such
    /// principal.
    pub fn reserve(
        &mut self,
        principal: &str,
        unit: &str,
        amount: u64,
        ttl: Duration,
    ) -> Result<Reservation> {
        self.reserve_at(principal, unit, amount, ttl, now_ms())
    }

    /// [`reserve`](Acl::reserve) as of `now` (unix ms): chains are taken
    /// at `now`, reservations live at `now` count, and it expires at
    /// `now + ttl`. For tests and replays with an explicit clock.
    ///
    /// # Errors
    ///
    /// As [`reserve`](Acl::reserve).
    pub fn reserve_at(
        &mut self,
        principal: &str,
        unit: &str,
        amount: u64,
        ttl: Duration,
        now: i64,
    ) -> Result<Reservation> {
        let expires_at = check_reservation(principal, unit, amount, ttl, now)?;
        let max_depth = self.max_depth();
        let actor = self.actor().map(str::to_owned);
        let mut made = None;
        let op = reserve(
            principal,
            unit,
            amount,
            expires_at,
            max_depth,
            actor.as_deref(),
            &mut made,
        );
        self.write_at(now, op)?;
        made.ok_or_else(|| Error::NotFound {
            entity: node_entity(principal),
        })
    }

    /// Commits a live reservation: its amount becomes spend and counts
    /// against its budgets for good, even if a delegation it drew on was
    /// revoked since. Audited as `acl.commit`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is no such reservation;
    /// [`Error::Invalid`] if it is already committed, released, or
    /// expired.
    pub fn commit(&mut self, id: &str) -> Result<Reservation> {
        self.commit_at(id, now_ms())
    }

    /// [`commit`](Acl::commit) as of `now` (unix ms).
    ///
    /// # Errors
    ///
    /// As [`commit`](Acl::commit).
    pub fn commit_at(&mut self, id: &str, now: i64) -> Result<Reservation> {
        self.settle(id, now, ReservationState::Committed)
    }

    /// Releases a live reservation: it stops counting. Audited as
    /// `acl.release`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is no such reservation;
    /// [`Error::Invalid`] if it is committed, already released, or expired
    /// (an expired reservation was released when it expired).
    pub fn release(&mut self, id: &str) -> Result<Reservation> {
        self.release_at(id, now_ms())
    }

    /// [`release`](Acl::release) as of `now` (unix ms).
    ///
    /// # Errors
    ///
    /// As [`release`](Acl::release).
    pub fn release_at(&mut self, id: &str, now: i64) -> Result<Reservation> {
        self.settle(id, now, ReservationState::Released)
    }

    fn settle(&mut self, id: &str, now: i64, to: ReservationState) -> Result<Reservation> {
        let actor = self.actor().map(str::to_owned);
        let mut settled = None;
        self.write_at(now, settle(id, to, actor.as_deref(), &mut settled))?;
        settled.ok_or_else(|| Error::NotFound {
            entity: reservation_entity(id),
        })
    }

    /// The reservation `id` with its state now, or `None` if there is none.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure.
    pub fn reservation(&self, id: &str) -> Result<Option<Reservation>> {
        self.reservation_at(id, now_ms())
    }

    /// The reservation `id` with its state at `t`, or `None` if there is
    /// none.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure.
    pub fn reservation_at(&self, id: &str, t: i64) -> Result<Option<Reservation>> {
        let read = self.store().begin_read()?;
        Ok(read_reservation(read.conn(), id, t)?.map(|(_, r)| r))
    }

    /// What `principal` can still reserve now, per unit in which a budget
    /// is on a chain into it (in unit order), or `None` if there is no
    /// such principal. Reads the store for what is spent and reserved.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure.
    pub fn budgets(&self, principal: &str) -> Result<Option<Vec<BudgetStatus>>> {
        self.budgets_at(principal, now_ms())
    }

    /// [`budgets`](Acl::budgets) with chains taken at `t` and the
    /// reservations live at `t` counted (spend counts whenever it was
    /// committed).
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure.
    ///
    /// # Complexity
    ///
    /// O(V + E) for the chains, then one indexed query per budget on them.
    pub fn budgets_at(&self, principal: &str, t: i64) -> Result<Option<Vec<BudgetStatus>>> {
        let graph = self.graph();
        if graph.principal(principal).is_none() {
            return Ok(None);
        }
        let read = self.store().begin_read()?;
        let mut by_unit: BTreeMap<&str, Vec<EdgeBudget>> = BTreeMap::new();
        for (key, d) in upstream_delegations(graph, principal, t, self.max_depth()) {
            for (unit, &amount) in &d.budgets {
                by_unit.entry(unit).or_default().push(edge_budget(
                    read.conn(),
                    key,
                    d,
                    unit,
                    amount,
                    t,
                )?);
            }
        }
        Ok(Some(
            by_unit
                .into_iter()
                .filter_map(|(unit, edges)| {
                    let tightest = edges.iter().min_by_key(|b| b.remaining)?.clone();
                    Some(BudgetStatus {
                        unit: unit.to_owned(),
                        amount: tightest.amount,
                        spent: tightest.spent,
                        reserved: tightest.reserved,
                        remaining: tightest.remaining,
                        tightest: tightest.edge,
                        edges,
                    })
                })
                .collect(),
        ))
    }

    /// Every budget on every delegation (in force at `t` or not), with
    /// what is spent and reserved at `t`, in edge key and unit order.
    ///
    /// # Errors
    ///
    /// [`Error::Sqlite`] on a storage failure.
    pub fn delegation_budgets_at(&self, t: i64) -> Result<Vec<EdgeBudget>> {
        let read = self.store().begin_read()?;
        let mut edges: Vec<(&str, &super::Delegation)> = self
            .graph()
            .edges()
            .filter_map(|(key, edge)| match edge {
                AclEdge::Delegates(d) if !d.budgets.is_empty() => Some((key, d)),
                _ => None,
            })
            .collect();
        edges.sort_by_key(|(key, _)| *key);
        let mut out = Vec::new();
        for (key, d) in edges {
            for (unit, &amount) in &d.budgets {
                out.push(edge_budget(read.conn(), key, d, unit, amount, t)?);
            }
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// Verification

/// Every reservation draw on a row that is not a `delegates` edge of the
/// ACL, every reservation that held more than a budget allowed, and every
/// reservation row that breaks the rules its writes keep
/// (a well-formed principal and unit, a positive amount, an expiry after
/// its creation, a settlement time exactly when it is settled and not
/// before it was made), each with the reservation it is about.
///
/// # Errors
///
/// [`Error::Sqlite`] on a storage failure.
pub(crate) fn reservation_problems(conn: &Connection) -> Result<Vec<(Entity, String)>> {
    let mut problems = Vec::new();
    stray_draws(conn, &mut problems)?;
    overdrawn(conn, &mut problems)?;
    malformed(conn, &mut problems)?;
    Ok(problems)
}

/// Draws on a row that is not a delegation of the ACL.
fn stray_draws(conn: &Connection, problems: &mut Vec<(Entity, String)>) -> Result<()> {
    let mut stmt = conn.prepare(
        "SELECT r.uid, d.edge, e.key, t.name, g.name
           FROM acl_reservation_draws d
           JOIN acl_reservations r ON r.id = d.reservation
           LEFT JOIN edges e ON e.id = d.edge
           LEFT JOIN edge_types t ON t.id = e.edge_type_id
           LEFT JOIN graphs g ON g.id = e.graph_id
          ORDER BY r.id, d.edge",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, Option<String>>(2)?,
            row.get::<_, Option<String>>(3)?,
            row.get::<_, Option<String>>(4)?,
        ))
    })?;
    for row in rows {
        let (uid, edge, key, edge_type, graph) = row?;
        let reason = match (key, edge_type, graph) {
            (None, _, _) => format!("draws on edge row {edge}, which does not exist"),
            (Some(_), Some(t), Some(g)) if t == super::DELEGATES && g == GRAPH => continue,
            (Some(key), _, graph) => format!(
                "draws on edge {key:?} in graph {:?}, which is not a delegation of the ACL",
                graph.unwrap_or_default()
            ),
        };
        problems.push((reservation_entity(&uid), reason));
    }
    Ok(())
}

/// Over budget: a reservation that, with those made before it that
/// still count and were live when it was made, holds more against a
/// delegation than the budget it had then. Released ones are left out
/// (when they were released is not ordered against the reservation),
/// so this never reports a reservation the engine accepted, whatever
/// became of the others since.
fn overdrawn(conn: &Connection, problems: &mut Vec<(Entity, String)>) -> Result<()> {
    let mut stmt = conn.prepare(
        "SELECT r.uid, e.key, r.unit, d.budget, r.amount,
                (SELECT COALESCE(SUM(o.amount), 0)
                   FROM acl_reservation_draws od JOIN acl_reservations o ON o.id = od.reservation
                  WHERE od.edge = d.edge AND o.unit = r.unit AND o.id < r.id
                    AND o.state IN ('reserved', 'committed') AND o.expires_at > r.created_at)
           FROM acl_reservation_draws d
           JOIN acl_reservations r ON r.id = d.reservation
           JOIN edges e ON e.id = d.edge
          ORDER BY r.id, e.key",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, SqlValue>(2)?,
            row.get::<_, SqlValue>(3)?,
            row.get::<_, SqlValue>(4)?,
            row.get::<_, SqlValue>(5)?,
        ))
    })?;
    for row in rows {
        let (uid, key, unit, budget, amount, before) = row?;
        let (
            SqlValue::Text(unit),
            SqlValue::Integer(budget),
            SqlValue::Integer(amount),
            SqlValue::Integer(before),
        ) = (unit, budget, amount, before)
        else {
            problems.push((
                reservation_entity(&uid),
                format!("its draw on {key:?} has no integer budget or amount"),
            ));
            continue;
        };
        let held = i128::from(before) + i128::from(amount);
        if held > i128::from(budget) {
            problems.push((
                reservation_entity(&uid),
                format!(
                    "over budget: with the reservations live when it was made, {held} {unit} were held against {key:?}, whose budget was {budget} {unit}"
                ),
            ));
        }
    }
    Ok(())
}

/// Reservation rows whose columns break the table's rules.
fn malformed(conn: &Connection, problems: &mut Vec<(Entity, String)>) -> Result<()> {
    let mut stmt = conn.prepare(
        "SELECT uid, principal, unit, amount, state, created_at, expires_at, settled_at
           FROM acl_reservations ORDER BY id",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, SqlValue>(1)?,
            row.get::<_, SqlValue>(2)?,
            row.get::<_, SqlValue>(3)?,
            row.get::<_, SqlValue>(4)?,
            row.get::<_, SqlValue>(5)?,
            row.get::<_, SqlValue>(6)?,
            row.get::<_, SqlValue>(7)?,
        ))
    })?;
    for row in rows {
        let (uid, principal, unit, amount, state, created, expires, settled) = row?;
        let stored = StoredReservation {
            principal,
            unit,
            amount,
            state,
            created,
            expires,
            settled,
        };
        for reason in stored.problems() {
            problems.push((reservation_entity(&uid), reason));
        }
    }
    Ok(())
}

/// A reservation row's columns as stored.
struct StoredReservation {
    principal: SqlValue,
    unit: SqlValue,
    amount: SqlValue,
    state: SqlValue,
    created: SqlValue,
    expires: SqlValue,
    settled: SqlValue,
}

impl StoredReservation {
    /// What is wrong with the row, each reason once.
    fn problems(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        match &self.principal {
            SqlValue::Text(p) => reasons.extend(token_problem("principal", p)),
            _ => reasons.push("principal is not text".to_owned()),
        }
        match &self.unit {
            SqlValue::Text(u) => reasons.extend(token_problem("unit", u)),
            _ => reasons.push("unit is not text".to_owned()),
        }
        if !matches!(self.amount, SqlValue::Integer(n) if n > 0) {
            reasons.push("amount is not a positive integer".to_owned());
        }
        let settled = match &self.state {
            SqlValue::Text(s) if s == "reserved" => Some(false),
            SqlValue::Text(s) if s == "committed" || s == "released" => Some(true),
            _ => {
                reasons.push("state is not reserved, committed or released".to_owned());
                None
            }
        };
        self.time_problems(settled, &mut reasons);
        reasons
    }

    /// The instants: expiry after creation, and a settled_at exactly when
    /// `settled` (unknown for a bad state), not before creation.
    fn time_problems(&self, settled: Option<bool>, reasons: &mut Vec<String>) {
        let (SqlValue::Integer(c), SqlValue::Integer(e)) = (&self.created, &self.expires) else {
            reasons.push("created_at or expires_at is not an integer".to_owned());
            return;
        };
        if e <= c {
            reasons.push(format!("expires_at ({e}) is not after created_at ({c})"));
        }
        match (settled, &self.settled) {
            (Some(false), SqlValue::Null) | (None, _) => {}
            (Some(false), _) => reasons.push("is not settled but has a settled_at".to_owned()),
            (Some(true), SqlValue::Integer(s)) if s >= c => {}
            (Some(true), SqlValue::Integer(s)) => {
                reasons.push(format!("settled_at ({s}) is before created_at ({c})"))
            }
            (Some(true), _) => reasons.push("is settled but has no settled_at".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{Delegation, IdentityType, Membership, Principal};

    fn graph() -> AclGraph {
        let mut g = AclGraph::new();
        for (id, kind) in [
            ("root", IdentityType::Account),
            ("team", IdentityType::Org),
            ("a", IdentityType::Account),
            ("b", IdentityType::Service),
            ("c", IdentityType::Service),
        ] {
            g.insert_principal(Principal::new(id, kind).scopes(["s"]));
        }
        g.insert_edge(AclEdge::Delegates(
            Delegation::new("root", "team").scopes(["s"]),
        ))
        .unwrap();
        g.insert_edge(AclEdge::BelongsTo(Membership::new("a", "team")))
            .unwrap();
        g.insert_edge(AclEdge::Delegates(Delegation::new("a", "b").scopes(["s"])))
            .unwrap();
        g.insert_edge(AclEdge::Delegates(
            Delegation::new("c", "b").scopes(["s"]).expires_at(10),
        ))
        .unwrap();
        g
    }

    #[test]
    fn chains_follow_delegations_and_memberships_in_force() {
        let g = graph();
        let keys = |t, depth| -> Vec<&str> {
            upstream_delegations(&g, "b", t, depth)
                .into_keys()
                .collect()
        };
        assert_eq!(
            keys(0, 32),
            ["delegates a b", "delegates c b", "delegates root team"]
        );
        // The expired delegation is on no chain.
        assert_eq!(keys(10, 32), ["delegates a b", "delegates root team"]);
        // b ← a (1) ← team (2) ← root (3): the depth bound counts edges.
        assert_eq!(keys(10, 2), ["delegates a b"]);
        assert_eq!(keys(10, 3), ["delegates a b", "delegates root team"]);
        assert!(upstream_delegations(&g, "nobody", 0, 32).is_empty());
    }
}
