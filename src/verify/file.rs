//! The file as SQLite and the store keep it, checked first: SQLite's own
//! integrity check, every foreign key, and the schema version the store
//! records.

use rusqlite::{Connection, OptionalExtension};

use super::report::{int, opt_text, text, ProblemKind, Verifier};
use crate::error::Result;
use crate::store::SCHEMA_VERSION;

/// SQLite's own check of pages, B-trees, indexes and constraints.
pub(super) fn integrity(v: &mut Verifier<'_>) -> Result<()> {
    let lines: Vec<String> = v
        .conn
        .prepare("PRAGMA integrity_check")?
        .query_map([], |row| text(row, 0))?
        .collect::<rusqlite::Result<_>>()?;
    for line in lines {
        if line != "ok" {
            v.report.add(
                ProblemKind::Integrity,
                format!("sqlite integrity check: {line}"),
            );
        }
    }
    Ok(())
}

/// Every row that refers to a row that does not exist, named by entity
/// where the table is one of the metagraph's.
pub(super) fn foreign_keys(v: &mut Verifier<'_>) -> Result<()> {
    let violations: Vec<(String, Option<i64>, String, i64)> = v
        .conn
        .prepare("PRAGMA foreign_key_check")?
        .query_map([], |row| {
            Ok((text(row, 0)?, int(row, 1)?, text(row, 2)?, row.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (table, rowid, parent, fk) in violations {
        let column: Option<String> = v
            .conn
            .query_row(
                "SELECT group_concat(\"from\", ', ') FROM pragma_foreign_key_list(?1) WHERE id = ?2",
                rusqlite::params![table, fk],
                |row| row.get(0),
            )
            .optional()?
            .flatten();
        let column = column.unwrap_or_else(|| "a column".to_owned());
        let value = match rowid {
            Some(rowid) if !column.contains(',') => v
                .conn
                .query_row(
                    &format!(
                        "SELECT {} FROM {} WHERE rowid = ?1",
                        quote(&column),
                        quote(&table)
                    ),
                    [rowid],
                    |row| text(row, 0),
                )
                .optional()?,
            _ => None,
        };
        let who = describe_row(v.conn, &table, rowid)?;
        let target = match value {
            Some(value) => format!("{parent} row {value}"),
            None => format!("a row of {parent}"),
        };
        v.report.add(
            ProblemKind::ForeignKey,
            format!("{who}: {column} refers to {target}, which does not exist"),
        );
    }
    Ok(())
}

/// A table row as a user would name it, with its table and row id.
fn describe_row(conn: &Connection, table: &str, rowid: Option<i64>) -> Result<String> {
    let Some(rowid) = rowid else {
        return Ok(format!("a row of {table}"));
    };
    let sql = match table {
        "nodes" => {
            "SELECT 'node', x.key, g.name FROM nodes x LEFT JOIN graphs g ON g.id = x.graph_id
              WHERE x.id = ?1"
        }
        "edges" => {
            "SELECT 'edge', x.key, g.name FROM edges x LEFT JOIN graphs g ON g.id = x.graph_id
              WHERE x.id = ?1"
        }
        "node_types" => {
            "SELECT 'node type', x.name, t.name FROM node_types x
               LEFT JOIN graph_types t ON t.id = x.graph_type_id WHERE x.id = ?1"
        }
        "edge_types" => {
            "SELECT 'edge type', x.name, t.name FROM edge_types x
               LEFT JOIN graph_types t ON t.id = x.graph_type_id WHERE x.id = ?1"
        }
        "graphs" => "SELECT 'graph', x.name, NULL FROM graphs x WHERE x.id = ?1",
        _ => return Ok(format!("{table} row {rowid}")),
    };
    let found = conn
        .query_row(sql, [rowid], |row| {
            Ok((text(row, 0)?, text(row, 1)?, opt_text(row, 2)?))
        })
        .optional()?;
    let Some((what, name, owner)) = found else {
        return Ok(format!("{table} row {rowid}"));
    };
    let owner = match (what.as_str(), owner) {
        ("node" | "edge", Some(graph)) => format!(" in graph {graph:?}"),
        ("node type" | "edge type", Some(graph_type)) => format!(" of graph type {graph_type:?}"),
        _ => String::new(),
    };
    Ok(format!("{what} {name:?}{owner} ({table} row {rowid})"))
}

/// The schema version recorded in the file is the one this build expects.
pub(super) fn schema_version(v: &mut Verifier<'_>) -> Result<()> {
    let found = v
        .conn
        .query_row(
            "SELECT value FROM _alknet_meta WHERE key = 'schema_version'",
            [],
            |row| row.get::<_, rusqlite::types::Value>(0),
        )
        .optional()?;
    let reason = match found {
        Some(rusqlite::types::Value::Integer(n)) if n == SCHEMA_VERSION => return Ok(()),
        Some(rusqlite::types::Value::Integer(n)) => format!("is {n}"),
        Some(other) => format!("is {other:?}, not an integer"),
        None => "is missing".to_owned(),
    };
    v.report.add(
        ProblemKind::SchemaVersion,
        format!(
            "the schema version in _alknet_meta {reason}; this library expects {SCHEMA_VERSION}"
        ),
    );
    Ok(())
}

/// An SQL identifier, quoted.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
