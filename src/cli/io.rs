//! `import` and `export`: whole graphs in and out, the built-in `acl` and
//! taskgraphs included.

use std::cell::Cell;
use std::io::{BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use alknet_graphs::interop::{
    import_graphology_reader, to_dot, to_mermaid, write_graphology_with_progress, ExportOptions,
    ImportOptions, PictureOptions, GRAPH_TYPE_ATTRIBUTE, NAME_ATTRIBUTE,
};
use alknet_graphs::{acl, taskgraph, workflow, Entity, Error, Reader, Store};
use clap::{Args, ValueEnum};
use serde_json::{json, Value};

use super::output::show;
use super::progress::{Counting, Reporter, Unit};
use super::{ensure_builtins, io_reason, parse_json, CliError, CliResult, Ctx, Output};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    /// graphology's serialized JSON, types in "@type"
    Graphology,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// graphology's serialized JSON, types in "@type" (imports back losslessly)
    Graphology,
    /// graphviz DOT (render with `dot -Tsvg`)
    Dot,
    /// a Mermaid flowchart
    Mermaid,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The graph to create [default: the document's "name" attribute]
    #[arg(long)]
    graph: Option<String>,
    /// The graph type to import into when the document has no
    /// "@graphType" attribute (when it has one, they must agree)
    #[arg(
        long = "type",
        value_name = "GRAPH_TYPE",
        conflicts_with = "define_type"
    )]
    graph_type: Option<String>,
    /// Define this graph type from the document, in the same transaction:
    /// its options (type, multi, allowSelfLoops) and an open node and edge
    /// type for every type the document uses ("node" and "edge" for
    /// untagged items)
    #[arg(long = "define-type", value_name = "NAME")]
    define_type: Option<String>,
    /// The document's format
    #[arg(long, value_enum, default_value_t = ImportFormat::Graphology)]
    format: ImportFormat,
    /// Replace the graph if it exists and has nodes (an existing empty
    /// graph, such as the `acl` graph of a fresh store, is always replaced)
    #[arg(long)]
    replace: bool,
    /// The document, or `-` for stdin
    file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The graph to export
    #[arg(long)]
    graph: String,
    /// The output format
    #[arg(long, value_enum, default_value_t = ExportFormat::Graphology)]
    format: ExportFormat,
    /// Write to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// graphology: one line, no indentation (the default unless stdout is
    /// a terminal)
    #[arg(long, conflicts_with = "pretty")]
    compact: bool,
    /// graphology: indented, one member per line (the default when stdout
    /// is a terminal)
    #[arg(long)]
    pretty: bool,
    /// Pictures: show this node attribute under each key
    #[arg(long, value_name = "ATTRIBUTE")]
    label: Option<String>,
    /// Pictures: label edges with their edge type
    #[arg(long)]
    edge_labels: bool,
    /// Pictures: lay out left to right
    #[arg(long)]
    left_to_right: bool,
}

/// Where the document comes from: a file is read twice (a quick pass for
/// the graph's name and type, then the import), stdin is held in memory
/// as bytes.
enum Source {
    File(PathBuf),
    Bytes(Vec<u8>),
}

impl Source {
    fn open(path: &Path) -> CliResult<Source> {
        if path != Path::new("-") {
            return Ok(Source::File(path.to_owned()));
        }
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| CliError::io(format!("cannot read stdin: {}", io_reason(&e))))?;
        Ok(Source::Bytes(bytes))
    }

    fn reader(&self) -> CliResult<Box<dyn Read + '_>> {
        match self {
            Source::File(path) => {
                let file = std::fs::File::open(path).map_err(|e| {
                    CliError::io(format!("cannot read {}: {}", path.display(), io_reason(&e)))
                })?;
                Ok(Box::new(BufReader::with_capacity(1 << 16, file)))
            }
            Source::Bytes(bytes) => Ok(Box::new(bytes.as_slice())),
        }
    }

    /// The reader, counting what it reads into `reporter`.
    fn counted<'r>(&'r self, reporter: &'r Reporter) -> CliResult<Box<dyn Read + 'r>> {
        match self {
            Source::File(path) => {
                let file = std::fs::File::open(path).map_err(|e| {
                    CliError::io(format!("cannot read {}: {}", path.display(), io_reason(&e)))
                })?;
                let counted = Counting {
                    inner: file,
                    reporter,
                };
                Ok(Box::new(BufReader::with_capacity(1 << 16, counted)))
            }
            Source::Bytes(bytes) => Ok(Box::new(Counting {
                inner: bytes.as_slice(),
                reporter,
            })),
        }
    }

    /// The document's size in bytes, when it can be known.
    fn len(&self) -> u64 {
        match self {
            Source::File(path) => std::fs::metadata(path).map_or(0, |m| m.len()),
            Source::Bytes(bytes) => bytes.len() as u64,
        }
    }
}

/// The document's graph-level `attributes`, read without building the
/// items, and without reading past them: the reading stops as soon as
/// they have been read (graphology writes them before the nodes).
fn header(reader: impl Read) -> Option<Value> {
    use serde::de::{Deserializer as _, Error as _, IgnoredAny, MapAccess, Visitor};

    struct Header<'a>(&'a mut Option<Value>);

    impl<'de> Visitor<'de> for Header<'_> {
        type Value = ();

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a graphology document")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key::<String>()? {
                if key == "attributes" {
                    *self.0 = Some(map.next_value()?);
                    // Found: stop reading here.
                    return Err(A::Error::custom("header read"));
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }

    let mut found = None;
    let mut de = serde_json::Deserializer::from_reader(reader);
    let _ = de.deserialize_map(Header(&mut found));
    found
}

pub fn import(ctx: &Ctx, args: ImportArgs) -> CliResult {
    let ImportFormat::Graphology = args.format;
    let shown = if args.file == Path::new("-") {
        "stdin".to_owned()
    } else {
        args.file.display().to_string()
    };
    let source = Source::open(&args.file)?;
    let (name, graph_type) = routing(&args, &source)?;

    let store = ctx.open()?;
    let builtin = matches!(
        graph_type.as_deref(),
        Some(acl::GRAPH_TYPE | taskgraph::GRAPH_TYPE | workflow::GRAPH_TYPE)
    );
    if builtin {
        ensure_builtins(&store)?;
    }
    let mut options = ImportOptions::new();
    options.graph = args.graph.clone();
    options.graph_type = args.graph_type.clone();
    options.define_type = args.define_type.clone();
    let shown_graph = name.as_deref().map(show).unwrap_or_else(|| "?".to_owned());
    let progress = Reporter::new(
        ctx.progress,
        format!("importing {shown} into graph {shown_graph}"),
        source.len(),
        Unit::Bytes,
    );
    let result = match (graph_type.as_deref(), &name) {
        (
            Some(builtin @ (acl::GRAPH_TYPE | workflow::GRAPH_TYPE | taskgraph::GRAPH_TYPE)),
            Some(name),
        ) => {
            // The domain imports check the whole document against their
            // rules, so they take it parsed.
            let doc = read_document(&source, &progress, &shown)?;
            let options = options.graph(name);
            import_builtin(ctx, &store, builtin, name, &doc, &options, args.replace)
        }
        _ => import_in_one_transaction(&store, name.as_deref(), args.replace, |tx| {
            let reader = source.counted(&progress)?;
            Ok((import_graphology_reader(tx, reader, &options)?, Vec::new()))
        }),
    };
    progress.finish();
    Ok(imported_output(result?, args.define_type))
}

/// The graph's name and type: `--graph`, else the document's name; the
/// document's type, else `--type`.
fn routing(args: &ImportArgs, source: &Source) -> CliResult<(Option<String>, Option<String>)> {
    // A document that does not parse is the import's to report, at its
    // pointer; the header is only a hint for routing and --replace.
    let doc_attributes = header(source.reader()?);
    let attribute = |name: &str| {
        doc_attributes
            .as_ref()
            .and_then(|a| a.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let name = args.graph.clone().or_else(|| attribute(NAME_ATTRIBUTE));
    let graph_type = attribute(GRAPH_TYPE_ATTRIBUTE).or_else(|| args.graph_type.clone());
    Ok((name, graph_type))
}

/// The whole document, parsed, its reading counted into `progress`.
fn read_document(source: &Source, progress: &Reporter, shown: &str) -> CliResult<Value> {
    let mut text = String::new();
    source
        .counted(progress)?
        .read_to_string(&mut text)
        .map_err(|e| CliError::io(format!("cannot read {shown}: {}", io_reason(&e))))?;
    parse_json(shown, &text)
}

/// Imports `doc` into the graph `name` through the built-in
/// graph type's own API: the ACL's, a workflow's or a taskgraph's.
fn import_builtin(
    ctx: &Ctx,
    store: &Store,
    builtin: &str,
    name: &str,
    doc: &Value,
    options: &ImportOptions,
    replace: bool,
) -> CliResult<ImportResult> {
    match builtin {
        acl::GRAPH_TYPE => import_acl(ctx, store, doc, name, replace),
        workflow::GRAPH_TYPE => {
            let flows = workflow::Workflows::open(store)?;
            import_in_one_transaction(store, Some(name), replace, |tx| {
                Ok((flows.import_graphology(tx, doc, options)?, Vec::new()))
            })
        }
        _ => {
            let tasks = taskgraph::Taskgraphs::open(store)?;
            import_in_one_transaction(store, Some(name), replace, |tx| {
                Ok(tasks.import_graphology(tx, doc, options)?)
            })
        }
    }
}

fn imported_output(
    (imported, replaced, promoted, revision): ImportResult,
    defined_type: Option<String>,
) -> Output {
    let mut text = format!(
        "imported graph {} of type {}: {} nodes, {} edges",
        show(&imported.graph),
        show(&imported.graph_type),
        imported.nodes,
        imported.edges
    );
    if replaced {
        text.push_str(" (replacing the existing graph)");
    }
    if let Some(defined) = &defined_type {
        text.push_str(&format!(" (graph type {} defined)", show(defined)));
    }
    if !promoted.is_empty() {
        text.push_str(&format!("; {} task(s) made ready", promoted.len()));
    }
    text.push_str(&format!(" (revision {revision})"));
    Output::new(
        json!({
            "graph": imported.graph,
            "graph_type": imported.graph_type,
            "nodes": imported.nodes,
            "edges": imported.edges,
            "replaced": replaced,
            "defined_type": defined_type,
            "promoted": promoted,
            "revision": revision,
        }),
        text,
    )
}

type ImportResult = (alknet_graphs::interop::Imported, bool, Vec<String>, u64);

/// Drops the graph it replaces (a taskgraph or a workflow through its own
/// API) and imports (through the graph type's own rules, for a built-in
/// one), in one transaction: a rejected document changes nothing.
fn import_in_one_transaction(
    store: &Store,
    name: Option<&str>,
    replace: bool,
    import: impl FnOnce(
        &mut alknet_graphs::WriteTxn<'_>,
    ) -> CliResult<(alknet_graphs::interop::Imported, Vec<String>)>,
) -> CliResult<ImportResult> {
    // The domain handles ensure their types with a write of their own, so
    // they are opened before this transaction begins.
    let Some(name) = name else {
        // The document names no graph (or not with a string): the import
        // reports it, at its pointer.
        let mut tx = store.begin_write()?;
        let (imported, promoted) = import(&mut tx)?;
        let revision = tx.commit()?;
        return Ok((imported, false, promoted, revision));
    };
    let existing = store.read(|r| r.graph(name))?.map(|g| g.graph_type);
    let tasks = match existing.as_deref() {
        Some(taskgraph::GRAPH_TYPE) => Some(taskgraph::Taskgraphs::open(store)?),
        _ => None,
    };
    let flows = match existing.as_deref() {
        Some(workflow::GRAPH_TYPE) => Some(workflow::Workflows::open(store)?),
        _ => None,
    };
    let mut tx = store.begin_write()?;
    let replaced = match tx.graph(name)? {
        None => false,
        Some(graph) if replace || tx.node_count(name)? == 0 => {
            match (graph.graph_type.as_str(), &tasks, &flows) {
                (taskgraph::GRAPH_TYPE, Some(tasks), _) => tasks.drop_graph(&mut tx, name)?,
                (workflow::GRAPH_TYPE, _, Some(flows)) => flows.drop_graph(&mut tx, name)?,
                _ => tx.drop_graph(name)?,
            }
            true
        }
        Some(_) => return Err(exists_with_nodes(name)),
    };
    let (imported, promoted) = import(&mut tx)?;
    let revision = tx.commit()?;
    Ok((imported, replaced, promoted, revision))
}

/// The ACL is imported whole through the ACL's own rules and audit log,
/// into the graph `acl` only.
fn import_acl(
    ctx: &Ctx,
    store: &Store,
    doc: &Value,
    name: &str,
    replace: bool,
) -> CliResult<ImportResult> {
    if name != acl::GRAPH {
        return Err(CliError::Store(Error::Invalid {
            entity: Entity::Graph(name.to_owned()),
            reason: format!(
                "the document is an ACL (graph type {:?}); the ACL lives in graph {:?}: import it with --graph {}",
                acl::GRAPH_TYPE,
                acl::GRAPH,
                acl::GRAPH
            ),
        }));
    }
    let mut handle = acl::Acl::open(store)?;
    handle.set_actor(ctx.actor.as_deref());
    let holds = store.read(|r| r.node_count(acl::GRAPH))?;
    if holds > 0 && !replace {
        return Err(exists_with_nodes(name));
    }
    let done = handle.import_graphology(doc, replace)?;
    // The ACL's graph always exists, so an import always replaces it.
    Ok((done.imported, true, Vec::new(), done.revision))
}

fn exists_with_nodes(name: &str) -> CliError {
    CliError::Store(Error::Invalid {
        entity: Entity::Graph(name.to_owned()),
        reason: "already exists and has nodes; pass --replace to replace it".to_owned(),
    })
}

pub fn export(ctx: &Ctx, args: ExportArgs) -> CliResult {
    let store = ctx.open()?;
    let read = store.begin_read()?;
    if args.format == ExportFormat::Graphology {
        return export_graphology(ctx, &args, &read);
    }
    let (text, format) = picture(&args, &read)?;
    drop(read);
    picture_output(ctx, &args, text, format)
}

/// Writes the graph as graphology JSON to `--out` or stdout, pretty when
/// asked or when stdout is a terminal.
fn export_graphology(ctx: &Ctx, args: &ExportArgs, read: &Reader) -> CliResult {
    let pretty = args.pretty
        || (!args.compact && args.out.is_none() && !ctx.json && std::io::stdout().is_terminal());
    let options = ExportOptions::new().pretty(pretty);
    let total = read.node_count(&args.graph)? + read.edge_count(&args.graph)?;
    let progress = Reporter::new(
        ctx.progress,
        format!("exporting graph {}", show(&args.graph)),
        total,
        Unit::Items("items"),
    );
    match &args.out {
        Some(path) => graphology_to_file(read, &args.graph, &options, path, &progress),
        None => graphology_to_stdout(read, &args.graph, &options, &progress),
    }
}

fn graphology_to_file(
    read: &Reader,
    graph: &str,
    options: &ExportOptions,
    path: &Path,
    progress: &Reporter,
) -> CliResult {
    let file = std::fs::File::create(path).map_err(|e| {
        CliError::io(format!(
            "cannot write {}: {}",
            path.display(),
            io_reason(&e)
        ))
    })?;
    let report = |done: u64| progress.set(done);
    let written =
        write_graphology_with_progress(read, graph, options, BufWriter::new(file), &report);
    progress.finish();
    let bytes = written?;
    Ok(Output::new(
        json!({"graph": graph, "format": "graphology", "out": path.display().to_string(), "bytes": bytes}),
        format!(
            "wrote graph {} as graphology to {} ({bytes} bytes)",
            show(graph),
            path.display()
        ),
    ))
}

/// Writes the document to stdout, ending a compact one with a newline;
/// a reader that goes away early (`| head`) is not an error.
fn graphology_to_stdout(
    read: &Reader,
    graph: &str,
    options: &ExportOptions,
    progress: &Reporter,
) -> CliResult {
    let closed = Cell::new(false);
    let stdout = Stdout {
        out: std::io::stdout().lock(),
        closed: &closed,
    };
    let mut out = BufWriter::new(stdout);
    let report = |done: u64| progress.set(done);
    let written = write_graphology_with_progress(read, graph, options, &mut out, &report);
    progress.finish();
    if closed.get() {
        // The reader went away (`| head`): nothing to report.
        return Ok(Output::new(Value::Null, ""));
    }
    written?;
    if !options.pretty {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
    Ok(Output::new(Value::Null, ""))
}

/// The graph drawn as DOT or Mermaid, with the format's name.
fn picture(args: &ExportArgs, read: &Reader) -> CliResult<(String, &'static str)> {
    let mut picture = PictureOptions::new()
        .edge_labels(args.edge_labels)
        .left_to_right(args.left_to_right);
    if let Some(label) = &args.label {
        picture = picture.label(label.clone());
    }
    Ok(match args.format {
        ExportFormat::Dot => (to_dot(read, &args.graph, &picture)?, "dot"),
        _ => (to_mermaid(read, &args.graph, &picture)?, "mermaid"),
    })
}

/// A picture written to `--out`, or printed (in a JSON document with
/// `--json`).
fn picture_output(ctx: &Ctx, args: &ExportArgs, text: String, format: &str) -> CliResult {
    match &args.out {
        Some(path) => {
            write_file(path, &text)?;
            Ok(Output::new(
                json!({"graph": args.graph, "format": format, "out": path.display().to_string(), "bytes": text.len()}),
                format!(
                    "wrote graph {} as {format} to {} ({} bytes)",
                    show(&args.graph),
                    path.display(),
                    text.len()
                ),
            ))
        }
        None if ctx.json => Ok(Output::new(
            json!({"graph": args.graph, "format": format, "text": text}),
            "",
        )),
        None => Ok(Output::new(Value::Null, text)),
    }
}

/// Standard output that notes when its reader has gone away.
struct Stdout<'a, W> {
    out: W,
    closed: &'a Cell<bool>,
}

impl<W: Write> Write for Stdout<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf).inspect_err(|e| self.note(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush().inspect_err(|e| self.note(e))
    }
}

impl<W> Stdout<'_, W> {
    fn note(&self, err: &std::io::Error) {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            self.closed.set(true);
        }
    }
}

/// Writes `text` to `path`, naming the file on failure.
pub fn write_file(path: &Path, text: &str) -> CliResult<()> {
    std::fs::write(path, text).map_err(|e| {
        CliError::io(format!(
            "cannot write {}: {}",
            path.display(),
            io_reason(&e)
        ))
    })
}
