//! The shape of `src/`, checked: no import circle between files and no
//! function over 80 lines outside tests.
//!
//! A file depends on another when it names an item defined there, through a
//! `use` or a `crate::`/`super::`/`self::` path. A `pub use` re-export is a
//! facade, not a dependency: a path through a re-export is followed to the
//! file that defines the item. Comments, doc links and string literals are not
//! code and are ignored, as is everything from a file's `#[cfg(test)]` on.
//! A module may name its own submodules freely (it declares and dispatches
//! to them), so only dependencies between siblings and cousins, and from a
//! child up to its parent, can close a circle.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

const MAX_FN_LINES: usize = 80;

/// A module path: `["acl", "handle"]` for `src/acl/handle.rs`, `[]` for
/// `src/lib.rs`.
type Module = Vec<String>;

struct SourceFile {
    path: PathBuf,
    /// The code with comments and literal contents blanked, newlines kept,
    /// cut at the first top-level `#[cfg(test)]`.
    code: String,
}

fn sources() -> BTreeMap<Module, SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(&root).unwrap().with_extension("");
                let mut module: Module = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                match module.last().map(String::as_str) {
                    Some("main") if module.len() == 1 => continue,
                    Some("lib") if module.len() == 1 => module.clear(),
                    Some("mod") => {
                        module.pop();
                    }
                    _ => {}
                }
                let text = fs::read_to_string(&path).expect("a source file is UTF-8");
                let code = cut_tests(&blank_non_code(&text));
                files.insert(module, SourceFile { path, code });
            }
        }
    }
    files
}

/// Blanks comments and the contents of string and character literals,
/// keeping every newline so line numbers still hold.
fn blank_non_code(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let keep_newlines = |out: &mut String, span: &[char]| {
        out.extend(span.iter().filter(|&&c| c == '\n'));
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            let end = chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |p| i + p);
            i = end;
        } else if c == '/' && next == Some('*') {
            let (mut depth, mut j) = (1, i + 2);
            while j < chars.len() && depth > 0 {
                if chars[j] == '/' && chars.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 1;
                } else if chars[j] == '*' && chars.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 1;
                }
                j += 1;
            }
            keep_newlines(&mut out, &chars[i..j.min(chars.len())]);
            i = j;
        } else if c == 'r' && matches!(next, Some('"') | Some('#')) && !ident_before(&chars, i) {
            let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let mut j = i + 2 + hashes;
            while j < chars.len()
                && !(chars[j] == '"' && chars[j + 1..].iter().take(hashes).all(|&c| c == '#'))
            {
                j += 1;
            }
            out.push_str("\"\"");
            keep_newlines(&mut out, &chars[i..j.min(chars.len())]);
            i = j + 1 + hashes;
        } else if c == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            keep_newlines(&mut out, &chars[i..j.min(chars.len())]);
            i = j + 1;
        } else if c == '\'' {
            // A character literal, or a lifetime (which is code).
            let len = if next == Some('\\') {
                chars[i + 2..]
                    .iter()
                    .position(|&c| c == '\'')
                    .map(|p| p + 3)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(3)
            } else {
                None
            };
            match len {
                Some(len) => {
                    out.push_str("' '");
                    i += len;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

fn cut_tests(code: &str) -> String {
    match code.find("\n#[cfg(test)]") {
        Some(at) => code[..at].to_owned(),
        None => code.to_owned(),
    }
}

/// Every `use` item of a file: whether it is `pub`, and its paths with
/// braces expanded and any `as` rename dropped.
fn use_items(code: &str) -> Vec<(bool, Vec<String>)> {
    let mut items = Vec::new();
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(at) = code[from..].find("use ").map(|p| p + from) {
        from = at + 4;
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
            continue;
        }
        let Some(end) = code[at..].find(';').map(|p| p + at) else {
            break;
        };
        let before = code[..at].trim_end();
        // `pub use` or `pub(crate) use` and the like, right before `use`.
        let public = before.ends_with("pub")
            || before.rfind("pub(").is_some_and(|p| {
                let visibility = &before[p + 4..];
                visibility.ends_with(')') && !visibility.contains(['(', ';', '{', '}'])
            });
        let body: String = code[at + 4..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let mut paths = Vec::new();
        expand(String::new(), &body, &mut paths);
        items.push((public, paths));
        from = end;
    }
    items
}

fn expand(prefix: String, body: &str, out: &mut Vec<String>) {
    let mut depth = 0;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    for part in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
        match part.find('{') {
            Some(open) => {
                let inner = part[open + 1..].trim_end().trim_end_matches('}');
                expand(format!("{prefix}{}", part[..open].trim()), inner, out);
            }
            None => {
                let path = part.split(" as ").next().unwrap_or(part).trim();
                out.push(format!("{prefix}{path}").replace(' ', ""));
            }
        }
    }
}

/// A path as seen from `module`, made absolute; `None` for paths into other
/// crates.
fn absolute(files: &BTreeMap<Module, SourceFile>, module: &Module, path: &str) -> Option<Module> {
    let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    if segments.last() == Some(&"*") || segments.last() == Some(&"self") {
        segments.pop();
    }
    let mut base = match *segments.first()? {
        "crate" => Vec::new(),
        "super" | "self" => module.clone(),
        first => {
            let mut child = module.clone();
            child.push(first.to_owned());
            if !files.contains_key(&child) {
                return None;
            }
            segments.insert(0, "self");
            module.clone()
        }
    };
    let mut rest = segments.as_slice();
    if rest.first() == Some(&"crate") {
        rest = &rest[1..];
    }
    while let Some((&head, tail)) = rest.split_first() {
        match head {
            "super" => {
                base.pop();
            }
            "self" => {}
            _ => break,
        }
        rest = tail;
    }
    base.extend(rest.iter().map(|s| s.to_string()));
    Some(base)
}

struct Crate {
    files: BTreeMap<Module, SourceFile>,
    /// For each module, the items it re-exports: name → absolute path.
    reexports: HashMap<Module, HashMap<String, Module>>,
}

impl Crate {
    fn load() -> Crate {
        let files = sources();
        let mut reexports: HashMap<Module, HashMap<String, Module>> = HashMap::new();
        for (module, file) in &files {
            for (public, paths) in use_items(&file.code) {
                for path in paths.iter().filter(|_| public) {
                    if let Some(target) = absolute(&files, module, path) {
                        if let Some(name) = target.last().cloned() {
                            reexports
                                .entry(module.clone())
                                .or_default()
                                .insert(name, target);
                        }
                    }
                }
            }
        }
        Crate { files, reexports }
    }

    /// The file that defines the item an absolute path names.
    fn defining_file(&self, path: &Module, hops: usize) -> Option<Module> {
        (0..=path.len()).rev().find_map(|k| {
            let module = path[..k].to_vec();
            self.files.contains_key(&module).then(|| {
                let via = path
                    .get(k)
                    .and_then(|name| self.reexports.get(&module)?.get(name));
                match via {
                    Some(target) if hops < 16 && target != path => {
                        let mut next = target.clone();
                        next.extend(path[k + 1..].iter().cloned());
                        self.defining_file(&next, hops + 1).unwrap_or(module)
                    }
                    _ => module,
                }
            })
        })
    }

    fn dependencies(&self) -> BTreeMap<Module, BTreeSet<Module>> {
        let mut deps: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
        for (module, file) in &self.files {
            let mut paths: Vec<String> = use_items(&file.code)
                .into_iter()
                .filter(|(public, _)| !public)
                .flat_map(|(_, paths)| paths)
                .collect();
            paths.extend(inline_paths(&without_use_items(&file.code)));
            let found = deps.entry(module.clone()).or_default();
            for path in paths {
                let target = absolute(&self.files, module, &path)
                    .and_then(|absolute| self.defining_file(&absolute, 0));
                // A module is the facade of its own submodules: what it
                // names inside them is not a dependency, so children may
                // use what their parent defines.
                if let Some(target) = target.filter(|t| !t.starts_with(module)) {
                    found.insert(target);
                }
            }
        }
        deps
    }
}

fn without_use_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = find_word(rest, "use") {
        out.push_str(&rest[..at]);
        match rest[at..].find(';') {
            Some(end) => rest = &rest[at + end + 1..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
}

fn find_word(haystack: &str, word: &str) -> Option<usize> {
    let bytes = haystack.as_bytes();
    let mut from = 0;
    while let Some(at) = haystack[from..].find(word).map(|p| p + from) {
        let before = at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        let after = bytes
            .get(at + word.len())
            .is_none_or(|b| b.is_ascii_whitespace());
        if before && after {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// `crate::a::b`, `super::x`, `self::y` paths written inside code.
fn inline_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for root in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(at) = code[from..].find(root).map(|p| p + from) {
            from = at + root.len();
            let bytes = code.as_bytes();
            if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
                continue;
            }
            let end = code[at..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(code.len(), |p| p + at);
            paths.push(code[at..end].trim_end_matches(':').to_owned());
        }
    }
    paths
}

/// The import circles, each as a closed walk of module names.
fn circles(deps: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<String>> {
    let name = |m: &Module| {
        if m.is_empty() {
            "lib".to_owned()
        } else {
            m.join("/")
        }
    };
    let mut found = Vec::new();
    let mut settled: BTreeSet<Module> = BTreeSet::new();
    for start in deps.keys() {
        // Depth-first search from `start` for a walk back to `start`
        // through modules not yet settled.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, walk)) = stack.pop() {
            for next in deps.get(&at).into_iter().flatten() {
                if next == start {
                    let mut circle: Vec<String> = walk.iter().map(name).collect();
                    circle.push(name(start));
                    found.push(circle);
                    stack.clear();
                    break;
                }
                if !settled.contains(next) && seen.insert(next.clone()) {
                    let mut longer = walk.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
        settled.insert(start.clone());
    }
    found
}

/// Functions longer than [`MAX_FN_LINES`]: (lines, file, line, name).
fn long_functions(files: &BTreeMap<Module, SourceFile>) -> Vec<(usize, String, usize, String)> {
    let mut long = Vec::new();
    for file in files.values() {
        let code = &file.code;
        let mut from = 0;
        while let Some(at) = find_word(&code[from..], "fn").map(|p| p + from) {
            from = at + 2;
            let name: String = code[from..]
                .trim_start()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let Some(open) = code[from..].find(['{', ';']).map(|p| p + from) else {
                break;
            };
            if name.is_empty() || code.as_bytes()[open] == b';' {
                continue;
            }
            let mut depth = 0;
            let mut close = code.len();
            for (i, c) in code[open..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            close = open + i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let first = code[..at].matches('\n').count() + 1;
            let lines = code[at..close].matches('\n').count() + 1;
            if lines > MAX_FN_LINES {
                let path = file
                    .path
                    .strip_prefix(env!("CARGO_MANIFEST_DIR"))
                    .unwrap_or(&file.path);
                long.push((lines, path.display().to_string(), first, name));
            }
        }
    }
    long.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    long
}

/// The modules that lie on some import circle (the members of every strongly
/// connected component of more than one module).
fn in_circles(deps: &BTreeMap<Module, BTreeSet<Module>>) -> BTreeSet<String> {
    struct Tarjan<'a> {
        deps: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: HashMap<&'a Module, (usize, usize)>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        members: BTreeSet<String>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, at: &'a Module) -> usize {
            let order = self.index.len();
            self.index.insert(at, (order, order));
            self.stack.push(at);
            self.on_stack.insert(at);
            let mut low = order;
            for next in self.deps.get(at).into_iter().flatten() {
                match self.index.get(next) {
                    None => low = low.min(self.visit(next)),
                    Some(&(seen, _)) if self.on_stack.contains(next) => low = low.min(seen),
                    Some(_) => {}
                }
            }
            if low == order {
                let at_depth = self.stack.iter().rposition(|m| *m == at).unwrap();
                let component = self.stack.split_off(at_depth);
                for m in &component {
                    self.on_stack.remove(m);
                }
                if component.len() > 1 {
                    self.members.extend(component.iter().map(|m| m.join("/")));
                }
            }
            self.index.insert(at, (order, low));
            low
        }
    }
    let mut tarjan = Tarjan {
        deps,
        index: HashMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        members: BTreeSet::new(),
    };
    for module in deps.keys() {
        if !tarjan.index.contains_key(module) {
            tarjan.visit(module);
        }
    }
    tarjan.members
}

#[test]
fn src_has_no_import_circle() {
    let deps = Crate::load().dependencies();
    let members = in_circles(&deps);
    assert!(
        members.is_empty(),
        "files in an import circle: {members:?}; the circles:\n{}",
        circles(&deps)
            .iter()
            .map(|c| c.join(" -> "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn no_function_in_src_is_over_80_lines() {
    let long = long_functions(&Crate::load().files);
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines (cut each into named steps):\n{}",
        long.iter()
            .map(|(n, file, line, name)| format!("{file}:{line}: {name} ({n} lines)"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The checker itself: a circle it must see, and one it must not.
#[test]
fn the_checker_sees_a_circle_through_a_reexport_and_ignores_comments() {
    let mut files = BTreeMap::new();
    let file = |code: &str| SourceFile {
        path: PathBuf::new(),
        code: cut_tests(&blank_non_code(code)),
    };
    let m = |s: &str| {
        s.split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect::<Module>()
    };
    files.insert(m(""), file("mod a; mod b; pub use a::Thing;"));
    files.insert(m("a"), file("use crate::b::Other; pub struct Thing;"));
    files.insert(m("b"), file("// crate::a::Thing in a comment\nconst S: &str = \"crate::a::Thing\";\npub struct Other;\nfn f() -> crate::Thing { todo() }"));
    let mut krate = Crate {
        files,
        reexports: HashMap::new(),
    };
    krate
        .reexports
        .insert(m(""), HashMap::from([("Thing".to_owned(), m("a/Thing"))]));
    let deps = krate.dependencies();
    assert_eq!(
        circles(&deps),
        vec![vec!["a".to_owned(), "b".to_owned(), "a".to_owned()]]
    );
    assert_eq!(
        in_circles(&deps),
        BTreeSet::from(["a".to_owned(), "b".to_owned()])
    );

    krate.files.insert(
        m("b"),
        file("// crate::a::Thing\npub struct Other;\n#[cfg(test)]\nmod t { use crate::a::Thing; }"),
    );
    assert!(circles(&krate.dependencies()).is_empty());
}

/// The length checker itself: a function of 81 lines is long, one of 80
/// is not, and a brace in a string or comment does not end a body early.
#[test]
fn the_checker_counts_a_function_from_its_fn_to_its_closing_brace() {
    let body = |lines: usize| "    let x = 1;\n".repeat(lines - 2);
    let code = format!(
        "fn short() {{\n{}}}\nfn long() {{\n    let s = \"}}\"; // }}\n{}}}\n",
        body(80),
        body(80)
    );
    let mut files = BTreeMap::new();
    files.insert(
        vec!["x".to_owned()],
        SourceFile {
            path: PathBuf::from("x.rs"),
            code: cut_tests(&blank_non_code(&code)),
        },
    );
    let long = long_functions(&files);
    let names: Vec<(usize, &str)> = long
        .iter()
        .map(|(n, _, _, name)| (*n, name.as_str()))
        .collect();
    assert_eq!(names, [(81, "long")]);
}
