//! The `alknet-graphs` command line: one module per command group, each
//! turning parsed arguments into calls of the library and an [`Output`].

mod acl;
mod algo;
mod apikey;
mod audit;
mod demo;
mod graph;
mod io;
mod output;
mod peer;
mod progress;
mod task;
mod test;
mod time;
mod types;
mod verify;
mod watch;

use std::path::{Path, PathBuf};

use alknet_graphs::identity::SqliteIdentityProvider;
use alknet_graphs::Store;
use clap::{Parser, Subcommand};
use serde_json::{json, Value};

pub use output::{print_cli_error, print_error, print_output, CliError, CliResult, Output, Status};

/// The store file used when neither `--db` nor `ALKNET_GRAPHS_DB` is given.
pub const DEFAULT_DB: &str = "./alknet-graphs.db";

/// The store file `demo` builds when neither `--db` nor `ALKNET_GRAPHS_DB` is given.
pub const DEFAULT_DEMO_DB: &str = "./alknet-graphs-demo.db";

/// Typed, JSON-Schema-validated graphs in one SQLite file, with ACL
/// delegation and taskgraphs.
#[derive(Debug, Parser)]
#[command(
    name = "alknet-graphs",
    version,
    about,
    after_help = "Exit codes: 0 ok, 1 error (or problems found by verify / audit verify), 2 usage,\n\
                  3 access denied (acl check).\n\
                  Start with `alknet-graphs demo` to build a sample store and see it explained."
)]
pub struct Cli {
    /// The store file [default: ./alknet-graphs.db; ./alknet-graphs-demo.db for `demo`]
    #[arg(long, global = true, env = "ALKNET_GRAPHS_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Machine-readable output: one JSON document on stdout (JSON lines for
    /// `watch`), errors as {"error": {"kind", "message"}}
    #[arg(long, global = true)]
    pub json: bool,

    /// Who is making the change, recorded in the audit log for peer, API
    /// key and ACL writes
    #[arg(long, global = true, env = "ALKNET_GRAPHS_ACTOR", value_name = "NAME")]
    pub actor: Option<String>,

    /// Progress of import, export and verify on stderr: a bar when stderr
    /// is a terminal (auto), always a bar, or a line every few seconds for
    /// logs (plain)
    #[arg(long, global = true, value_enum, default_value_t = progress::ProgressMode::Auto)]
    pub progress: progress::ProgressMode,

    /// No progress output (as --progress none)
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,

    /// Open the store read-only: reads work, writes are refused, nothing is
    /// written to the file (a store that cannot be written is opened
    /// read-only anyway)
    #[arg(long, global = true)]
    pub read_only: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the store file (mode 0600), initialise an empty one, or bring
    /// one up to date, with the built-in `acl` and `taskgraph` types; print
    /// its path and schema version
    Init,
    /// Define, list, show and drop graph types with their node and edge types
    #[command(subcommand, name = "type")]
    Type(types::TypeCommand),
    /// Create, list and drop graphs
    #[command(subcommand)]
    Graph(graph::GraphCommand),
    /// Add, read, list, update and remove nodes
    #[command(subcommand)]
    Node(graph::NodeCommand),
    /// Add, read, list and remove edges
    #[command(subcommand)]
    Edge(graph::EdgeCommand),
    /// The nodes adjacent to a node
    Neighbors(graph::NeighborsArgs),
    /// Import a graph from a graphology JSON document
    Import(io::ImportArgs),
    /// Export a graph as graphology JSON, DOT or Mermaid
    Export(io::ExportArgs),
    /// Principals, delegations, memberships and grants; effective scopes,
    /// explanations and access checks
    #[command(subcommand)]
    Acl(acl::AclCommand),
    /// Taskgraphs: tasks, dependencies, statuses, ready set, order, critical path
    #[command(subcommand)]
    Task(task::TaskCommand),
    /// Peers of the identity registry: key fingerprints, token, scopes, and
    /// the history of the credentials each has held; resolve a fingerprint
    /// or token to the identity it stands for
    #[command(subcommand)]
    Peer(peer::PeerCommand),
    /// API keys: tokens that resolve to their owner's id with the key's own
    /// scopes; create, revoke, disable, enable, list
    #[command(subcommand)]
    Apikey(apikey::ApikeyCommand),
    /// The hash-chained audit log of identity and ACL writes: list it,
    /// verify the chain (exit 1 when broken)
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Check the whole store for damage and rule violations; exit 1 when
    /// a problem is found
    Verify,
    /// Print committed change batches as they happen, from any process
    Watch(watch::WatchArgs),
    /// Build a sample store (an organisation's ACL and a release taskgraph)
    /// and walk through it
    Demo(demo::DemoArgs),
    /// Run policy test files (JSON or TOML): build each in a scratch store
    /// and check its assertions; exit 1 when one fails, 2 for a malformed
    /// file
    Test(test::TestArgs),
}

/// What every command needs: where the store is, and how to print.
pub struct Ctx {
    pub db: PathBuf,
    pub json: bool,
    /// Who the audit log records as making writes (`--actor`).
    pub actor: Option<String>,
    /// Whether to open the store read-only (`--read-only`).
    pub read_only: bool,
    /// How to show progress (`--progress`, `--quiet`).
    pub progress: progress::ProgressMode,
}

impl Ctx {
    /// Opens the store's identity provider for one command: no listener,
    /// acting as `--actor` when given.
    pub fn identity_provider(&self) -> CliResult<SqliteIdentityProvider> {
        let store = self.open()?;
        let provider = SqliteIdentityProvider::builder()
            .listen(false)
            .open(&store)?;
        Ok(match &self.actor {
            Some(actor) => provider.acting_as(actor),
            None => provider,
        })
    }

    /// Opens the store, which must exist: a mistyped `--db` should not
    /// leave an empty store behind.
    pub fn open(&self) -> CliResult<Store> {
        if !self.db.exists() {
            return Err(CliError::Input {
                kind: "not_found",
                message: format!(
                    "store {} does not exist; create it with `alknet-graphs init`",
                    self.db.display()
                ),
            });
        }
        Ok(Store::builder().read_only(self.read_only).open(&self.db)?)
    }

    /// Opens the store for `init` or `demo`, creating it if need be and
    /// initialising an existing empty file; a store that cannot be written
    /// is refused, as they write.
    pub fn open_to_initialize(&self) -> CliResult<Store> {
        let store = Store::builder().initialize_empty(true).open(&self.db)?;
        if store.is_read_only() {
            return Err(alknet_graphs::Error::ReadOnly {
                path: self.db.clone(),
            }
            .into());
        }
        Ok(store)
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> CliResult {
    let is_demo = matches!(cli.command, Command::Demo(_));
    let db = cli
        .db
        .unwrap_or_else(|| PathBuf::from(if is_demo { DEFAULT_DEMO_DB } else { DEFAULT_DB }));
    if cli.read_only && matches!(cli.command, Command::Init | Command::Demo(_)) {
        let name = if is_demo { "demo" } else { "init" };
        return Err(CliError::Usage(format!(
            "--read-only: `{name}` writes the store; run it without --read-only"
        )));
    }
    let ctx = Ctx {
        db,
        json: cli.json,
        actor: cli.actor,
        read_only: cli.read_only,
        progress: if cli.quiet {
            progress::ProgressMode::None
        } else {
            cli.progress
        },
    };
    match cli.command {
        Command::Init => init(&ctx),
        Command::Type(command) => types::run(&ctx, command),
        Command::Graph(command) => graph::run_graph(&ctx, command),
        Command::Node(command) => graph::run_node(&ctx, command),
        Command::Edge(command) => graph::run_edge(&ctx, command),
        Command::Neighbors(args) => graph::neighbors(&ctx, args),
        Command::Import(args) => io::import(&ctx, args),
        Command::Export(args) => io::export(&ctx, args),
        Command::Acl(command) => acl::run(&ctx, command),
        Command::Task(command) => task::run(&ctx, command),
        Command::Peer(command) => peer::run(&ctx, command),
        Command::Apikey(command) => apikey::run(&ctx, command),
        Command::Audit(command) => audit::run(&ctx, command),
        Command::Verify => verify::run(&ctx),
        Command::Watch(args) => watch::run(&ctx, args),
        Command::Demo(args) => demo::run(&ctx, args),
        Command::Test(args) => test::run(&ctx, args),
    }
}

fn init(ctx: &Ctx) -> CliResult {
    let existed = ctx.db.exists();
    let was_empty = existed && std::fs::metadata(&ctx.db).is_ok_and(|meta| meta.len() == 0);
    let store = ctx.open_to_initialize()?;
    ensure_builtins(&store)?;
    let read = store.begin_read()?;
    let version = read.schema_version()?;
    let revision = read.revision()?;
    let path = ctx.db.display().to_string();
    let verb = match (existed, was_empty) {
        (false, _) => "created",
        (true, true) => "initialised",
        (true, false) => "opened",
    };
    Ok(Output::new(
        json!({"path": path, "created": !existed, "schema_version": version, "revision": revision}),
        format!("{verb} {path}: schema version {version}, revision {revision}"),
    ))
}

/// Ensures the built-in graph types (`acl` with its graph, `taskgraph`);
/// a no-op on a store that has them.
pub fn ensure_builtins(store: &Store) -> CliResult<()> {
    alknet_graphs::acl::Acl::open(store)?;
    alknet_graphs::taskgraph::Taskgraphs::open(store)?;
    Ok(())
}

/// Reads a file's text, or stdin for `-`, naming the file on failure.
pub fn read_text(path: &Path) -> CliResult<String> {
    use std::io::Read;
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| CliError::io(format!("cannot read stdin: {e}")))?;
        return Ok(text);
    }
    std::fs::read_to_string(path)
        .map_err(|e| CliError::io(format!("cannot read {}: {}", path.display(), io_reason(&e))))
}

/// An I/O error's reason without the `(os error N)` suffix.
pub fn io_reason(err: &std::io::Error) -> String {
    match err.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => {
            let text = err.to_string();
            match text.find(" (os error") {
                Some(at) => text[..at].to_owned(),
                None => text,
            }
        }
    }
}

/// Parses JSON text given for `what` (an option name or a file), naming it
/// and the position of the problem.
pub fn parse_json(what: &str, text: &str) -> CliResult<Value> {
    serde_json::from_str(text).map_err(|e| CliError::Input {
        kind: "invalid_json",
        message: format!("{what}: not valid JSON: {e}"),
    })
}

/// An `--attrs` value: inline JSON, or `@FILE` to read it from a file.
pub fn attrs_arg(value: Option<&str>) -> CliResult<Value> {
    match value {
        None => Ok(json!({})),
        Some(text) => match text.strip_prefix('@') {
            Some(path) => {
                let text = read_text(Path::new(path))?;
                parse_json(path, &text)
            }
            None => parse_json("--attrs", text),
        },
    }
}

/// A `TYPE:ACTION` argument, split at its last colon (resource names may
/// hold colons; actions are single words).
pub fn resource_action(text: &str) -> CliResult<(String, String)> {
    match text.rsplit_once(':') {
        Some((resource, action)) if !resource.is_empty() && !action.is_empty() => {
            Ok((resource.to_owned(), action.to_owned()))
        }
        _ => Err(CliError::Usage(format!(
            "{text:?} is not TYPE:ACTION (e.g. repo:write or repo/alknet:read)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn resource_actions_split_at_the_last_colon() {
        assert_eq!(
            resource_action("repo/alknet:write").unwrap(),
            ("repo/alknet".to_owned(), "write".to_owned())
        );
        assert_eq!(
            resource_action("ns:repo:read").unwrap(),
            ("ns:repo".to_owned(), "read".to_owned())
        );
        for bad in ["repo", ":read", "repo:"] {
            assert_eq!(resource_action(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn attrs_name_the_option_when_they_are_not_json() {
        let err = attrs_arg(Some("{name: 1}")).unwrap_err();
        assert_eq!(err.kind(), "invalid_json");
        assert!(err.to_string().starts_with("--attrs: not valid JSON: "));
        assert_eq!(attrs_arg(None).unwrap(), json!({}));
    }
}
