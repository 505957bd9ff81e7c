//! Whole-graph scans for bulk loaders: one query per table, rows handed
//! over as borrowed text, without building a [`Node`](super::Node) or an
//! [`Edge`](super::Edge) (and their attribute maps) for each.
//!
//! A scan sees exactly the rows [`Reader::nodes`] and [`Reader::edges`]
//! page through, in the same key order, or it gives up: a row the joins of
//! those queries would leave out, or a column they would fail to read,
//! ends the scan with `Ok(false)` so the caller can fall back to the paged
//! read, which reports such rows as it always has.

use std::collections::HashMap;

use rusqlite::params;

use super::graph_id;
use crate::error::Result;
use crate::store::Reader;

/// A map keyed by row id, hashed with randomly seeded foldhash: far cheaper than
/// std's SipHash on integer keys.
pub(crate) type IdMap<V> = HashMap<i64, V, foldhash::fast::RandomState>;

/// A map keyed by row id, built once: a plain array indexed from the
/// smallest id when the ids are dense (as the rows of one graph, written
/// together, nearly always are), an [`IdMap`] otherwise.
#[derive(Debug)]
pub(crate) enum RowTable<V> {
    Dense { first: i64, values: Vec<Option<V>> },
    Sparse(IdMap<V>),
}

impl<V> RowTable<V> {
    /// The table of these `(row id, value)` pairs; of a repeated id, the
    /// last value is kept.
    pub(crate) fn from_pairs(pairs: Vec<(i64, V)>) -> RowTable<V> {
        let (first, last) = pairs
            .iter()
            .fold((i64::MAX, i64::MIN), |(lo, hi), &(id, _)| {
                (lo.min(id), hi.max(id))
            });
        // Dense when the array is at most about twice the pairs' own size.
        let span = u64::try_from(last.wrapping_sub(first)).ok();
        let dense_limit = 2 * pairs.len() as u64 + 64;
        match span {
            Some(span) if span < dense_limit => {
                let mut values: Vec<Option<V>> = Vec::new();
                values.resize_with(span as usize + 1, || None);
                for (id, value) in pairs {
                    values[(id - first) as usize] = Some(value);
                }
                RowTable::Dense { first, values }
            }
            _ => RowTable::Sparse(pairs.into_iter().collect()),
        }
    }

    pub(crate) fn get(&self, id: i64) -> Option<&V> {
        match self {
            RowTable::Dense { first, values } => usize::try_from(id.wrapping_sub(*first))
                .ok()
                .filter(|_| id >= *first)
                .and_then(|at| values.get(at))
                .and_then(Option::as_ref),
            RowTable::Sparse(map) => map.get(&id),
        }
    }
}

/// A node row as stored: row id, key, node type name and attribute text.
pub(crate) struct RawNode<'a> {
    pub id: i64,
    pub key: &'a str,
    pub node_type: &'a str,
    pub attributes: &'a str,
}

/// An edge row as stored: key, edge type name, end keys and node row ids,
/// and attribute text.
pub(crate) struct RawEdge<'a> {
    pub key: &'a str,
    pub edge_type: &'a str,
    pub source: &'a str,
    pub target: &'a str,
    pub source_id: i64,
    pub target_id: i64,
    pub attributes: &'a str,
}

const NODE_TYPES: &str = "SELECT id, name FROM node_types";
const EDGE_TYPES: &str = "SELECT id, name FROM edge_types";
const SCAN_NODES: &str = "SELECT key, node_type_id, attributes, created_at, updated_at, id
     FROM nodes WHERE graph_id = ?1 ORDER BY key";
const NODE_KEYS: &str = "SELECT id, key FROM nodes WHERE graph_id = ?1";
const SCAN_EDGES: &str =
    "SELECT key, edge_type_id, source, target, undirected, attributes, created_at, updated_at
     FROM edges WHERE graph_id = ?1 ORDER BY key";

/// The `(row id, name)` rows `sql` selects.
fn names<T: FromIterator<(i64, String)>>(
    reader: &Reader,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<T> {
    let mut stmt = reader.conn().prepare_cached(sql)?;
    let rows = stmt.query_map(params, |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl Reader {
    /// Calls `each` with every node of `graph`, in key order, until it
    /// returns `false`. Returns whether every row was handed over: `false`
    /// also when a row could not be read as [`Reader::nodes`] reads it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) if the graph does not
    /// exist; [`Error::Sqlite`](crate::Error::Sqlite) on a storage failure.
    pub(crate) fn scan_nodes(
        &self,
        graph: &str,
        mut each: impl FnMut(RawNode<'_>) -> bool,
    ) -> Result<bool> {
        let gid = graph_id(self.conn(), graph)?;
        let types: IdMap<String> = names(self, NODE_TYPES, [])?;
        let mut stmt = self.conn().prepare_cached(SCAN_NODES)?;
        let mut rows = stmt.query(params![gid])?;
        while let Some(row) = rows.next()? {
            let mut read = || -> rusqlite::Result<Option<bool>> {
                let type_id: i64 = row.get(1)?;
                let (Some(node_type), _, _) = (
                    types.get(&type_id),
                    row.get::<_, i64>(3)?,
                    row.get::<_, i64>(4)?,
                ) else {
                    return Ok(None);
                };
                Ok(Some(each(RawNode {
                    id: row.get(5)?,
                    key: row.get_ref(0)?.as_str()?,
                    node_type,
                    attributes: row.get_ref(2)?.as_str()?,
                })))
            };
            match read() {
                Ok(Some(true)) => {}
                Ok(Some(false) | None) | Err(_) => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Calls `each` with every edge of `graph`, in key order, until it
    /// returns `false`; see [`Reader::scan_nodes`].
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) if the graph does not
    /// exist; [`Error::Sqlite`](crate::Error::Sqlite) on a storage failure.
    pub(crate) fn scan_edges(
        &self,
        graph: &str,
        mut each: impl FnMut(RawEdge<'_>) -> bool,
    ) -> Result<bool> {
        let gid = graph_id(self.conn(), graph)?;
        let types: IdMap<String> = names(self, EDGE_TYPES, [])?;
        // An end outside the graph is left to the paged read (which joins
        // ends to node rows of any graph).
        let keys = RowTable::from_pairs(names(self, NODE_KEYS, params![gid])?);
        let mut stmt = self.conn().prepare_cached(SCAN_EDGES)?;
        let mut rows = stmt.query(params![gid])?;
        while let Some(row) = rows.next()? {
            let mut read = || -> rusqlite::Result<Option<bool>> {
                let (type_id, source_id, target_id): (i64, i64, i64) =
                    (row.get(1)?, row.get(2)?, row.get(3)?);
                let _: (bool, i64, i64) = (row.get(4)?, row.get(6)?, row.get(7)?);
                let (Some(edge_type), Some(source), Some(target)) = (
                    types.get(&type_id),
                    keys.get(source_id),
                    keys.get(target_id),
                ) else {
                    return Ok(None);
                };
                Ok(Some(each(RawEdge {
                    key: row.get_ref(0)?.as_str()?,
                    edge_type,
                    source,
                    target,
                    source_id,
                    target_id,
                    attributes: row.get_ref(5)?.as_str()?,
                })))
            };
            match read() {
                Ok(Some(true)) => {}
                Ok(Some(false) | None) | Err(_) => return Ok(false),
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::RowTable;

    #[test]
    fn a_row_table_finds_every_id_it_was_given_and_no_other() {
        let dense = RowTable::from_pairs(vec![(10, "a"), (12, "b"), (11, "c"), (12, "d")]);
        assert!(matches!(dense, RowTable::Dense { .. }));
        let sparse = RowTable::from_pairs(vec![(-5, "a"), (1 << 40, "b"), (i64::MAX, "c")]);
        assert!(matches!(sparse, RowTable::Sparse(_)));
        assert_eq!(dense.get(10), Some(&"a"));
        assert_eq!(dense.get(12), Some(&"d"), "the last of a repeated id");
        for absent in [9, 13, 0, -1, i64::MIN, i64::MAX] {
            assert_eq!(dense.get(absent), None, "{absent}");
        }
        assert_eq!(sparse.get(i64::MAX), Some(&"c"));
        assert_eq!(sparse.get(-5), Some(&"a"));
        assert_eq!(sparse.get(0), None);
        let far = RowTable::from_pairs(vec![(i64::MIN, 1), (i64::MAX, 2)]);
        assert_eq!(
            (far.get(i64::MIN), far.get(i64::MAX), far.get(0)),
            (Some(&1), Some(&2), None)
        );
        let empty = RowTable::<u8>::from_pairs(Vec::new());
        assert_eq!(empty.get(0), None);
    }
}
