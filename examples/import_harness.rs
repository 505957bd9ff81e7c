//! Generates graphology documents for `scripts/import-harness.sh`, which
//! measures `alknet-graphs import` and `export` (wall time and peak RSS)
//! beside a bare Python `sqlite3` insert of the same rows.
//!
//! ```sh
//! cargo run --release --example import_harness -- debian debian.json   # 68,467 nodes, 283,161 edges, ~70 MB
//! cargo run --release --example import_harness -- large large.json     # 100,000 nodes, 500,000 edges
//! ```
//!
//! The documents are deterministic (a fixed-seed generator), written
//! compactly as graphology serializes them, with attributes of realistic
//! size: a Debian-like package graph (package name, version, section,
//! maintainer, a description of a few hundred bytes; dependency edges with
//! a kind and a version constraint) and a larger, leaner graph. Keys are
//! unique, and no two edges join the same endpoints in the same direction.

use std::collections::HashSet;
use std::io::{BufWriter, Write};

use serde_json::{json, Value};

/// A small, fixed-seed generator (SplitMix64), so every run writes the
/// same document.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn words(&mut self, count: usize) -> String {
        const WORDS: [&str; 16] = [
            "library",
            "for",
            "the",
            "runtime",
            "support",
            "of",
            "programs",
            "written",
            "in",
            "shared",
            "files",
            "development",
            "tools",
            "package",
            "data",
            "common",
        ];
        let mut out = String::new();
        for i in 0..count {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(WORDS[self.below(WORDS.len() as u64) as usize]);
        }
        out
    }
}

struct Shape {
    name: &'static str,
    nodes: usize,
    edges: usize,
    description_words: usize,
    options: Value,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [which, path] = args.as_slice() else {
        return Err("usage: import_harness debian|large PATH".into());
    };
    let shape = match which.as_str() {
        "debian" => Shape {
            name: "debian",
            nodes: 68_467,
            edges: 283_161,
            description_words: 55,
            options: json!({"type": "directed", "multi": true, "allowSelfLoops": false}),
        },
        "large" => Shape {
            name: "large",
            nodes: 100_000,
            edges: 500_000,
            description_words: 4,
            options: json!({"type": "directed", "multi": false, "allowSelfLoops": true}),
        },
        other => return Err(format!("unknown document {other:?}: debian or large").into()),
    };
    let mut rng = Rng(0x5EED);
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    let attributes = json!({
        "name": shape.name,
        "release": "bookworm",
        "architectures": ["amd64", "arm64"],
        "generated_by": "import_harness",
    });
    write!(
        out,
        r#"{{"options":{},"attributes":{},"nodes":["#,
        shape.options, attributes
    )?;
    const SECTIONS: [&str; 6] = ["libs", "devel", "utils", "net", "python", "admin"];
    for i in 0..shape.nodes {
        if i > 0 {
            out.write_all(b",")?;
        }
        let node = json!({
            "key": format!("pkg-{i}"),
            "attributes": {
                "version": format!("{}.{}.{}-{}", rng.below(10), rng.below(30), rng.below(100), rng.below(5)),
                "section": SECTIONS[rng.below(SECTIONS.len() as u64) as usize],
                "priority": if rng.below(10) == 0 { "required" } else { "optional" },
                "architecture": "amd64",
                "maintainer": format!("Maintainer {} <m{}@lists.example.org>", rng.below(5000), rng.below(5000)),
                "installed_size": rng.below(100_000),
                "description": rng.words(shape.description_words),
            }
        });
        serde_json::to_writer(&mut out, &node)?;
    }
    out.write_all(br#"],"edges":["#)?;
    const KINDS: [&str; 4] = ["depends", "recommends", "suggests", "pre-depends"];
    let mut pairs = HashSet::with_capacity(shape.edges);
    let mut written = 0;
    while written < shape.edges {
        let source = rng.below(shape.nodes as u64);
        let target = rng.below(shape.nodes as u64);
        if source == target || !pairs.insert((source, target)) {
            continue;
        }
        if written > 0 {
            out.write_all(b",")?;
        }
        let edge = json!({
            "key": format!("e{written}"),
            "source": format!("pkg-{source}"),
            "target": format!("pkg-{target}"),
            "attributes": {
                "kind": KINDS[rng.below(KINDS.len() as u64) as usize],
                "constraint": format!(">= {}.{}", rng.below(10), rng.below(30)),
            }
        });
        serde_json::to_writer(&mut out, &edge)?;
        written += 1;
    }
    out.write_all(b"]}\n")?;
    out.flush()?;
    Ok(())
}
