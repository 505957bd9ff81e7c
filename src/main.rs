//! `alknet-graphs`: inspect a store.
//!
//! `alknet-graphs [PATH]` opens the store at PATH (default
//! `./alknet-graphs.db`, or `$ALKNET_GRAPHS_DB`), creating it if needed, and
//! prints its schema version, revision, graph types and graphs.

use std::process::ExitCode;

use alknet_graphs::Store;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let path = match (args.next(), args.next()) {
        (Some(flag), None) if flag == "-h" || flag == "--help" => {
            println!("usage: alknet-graphs [PATH]\n\nOpens (or creates) the store at PATH and prints what it holds.");
            return ExitCode::SUCCESS;
        }
        (Some(path), None) => path,
        (None, None) => {
            std::env::var("ALKNET_GRAPHS_DB").unwrap_or_else(|_| "alknet-graphs.db".to_owned())
        }
        _ => {
            eprintln!("usage: alknet-graphs [PATH]");
            return ExitCode::from(2);
        }
    };
    match summarize(&path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("alknet-graphs: {path}: {err}");
            ExitCode::FAILURE
        }
    }
}

fn summarize(path: &str) -> alknet_graphs::Result<()> {
    let store = Store::open(path)?;
    let read = store.begin_read()?;
    println!(
        "{path}: schema version {}, revision {}",
        read.schema_version()?,
        read.revision()?
    );
    for graph_type in read.graph_types()? {
        let config = serde_json::to_string(&graph_type.config).unwrap_or_default();
        println!("graph type {:?} {config}", graph_type.name);
        for node_type in read.node_types(&graph_type.name)? {
            println!(
                "  node type {:?} (version {})",
                node_type.name, node_type.version
            );
        }
        for edge_type in read.edge_types(&graph_type.name)? {
            println!(
                "  edge type {:?} (version {})",
                edge_type.name, edge_type.version
            );
        }
    }
    for graph in read.graphs()? {
        println!(
            "graph {:?} of type {:?}: {} nodes, {} edges",
            graph.name,
            graph.graph_type,
            read.node_count(&graph.name)?,
            read.edge_count(&graph.name)?
        );
    }
    Ok(())
}
