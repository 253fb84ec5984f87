//! The architecture as a test: reads the `crate::…` paths of every file under `src/` and fails
//! when a top-level module uses a module of its own or a higher layer, or when files of one
//! folder use each other in a cycle. The layers are written here, top first; ARCHITECTURE.md
//! explains them. A new top-level module must be placed in the table before anything builds
//! on it.

#![allow(clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Top first. A module may use modules of lower layers only: two modules of one layer never
/// use each other (the public endpoints never reach admin code, flows never reach grants).
const LAYERS: &[&[&str]] = &[
    &["lib"],
    &["testing", "tower"],
    &["provider"],
    &["router"],
    &["endpoint", "admin"],
    &["flow", "grant"],
    &["token", "resource_server"],
    &["context"],
    &["http", "jose"],
    &["store", "config", "audit"],
    &["model"],
    &["crypto", "error", "clock", "trace"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// A source file: its path below `src/` split into segments, and its code without comments
/// and without its `#[cfg(test)]` tail (unit tests may use anything).
struct Source {
    segments: Vec<String>,
    code: String,
}

impl Source {
    /// The top-level module the file belongs to (`lib` for `src/lib.rs`).
    fn module(&self) -> &str {
        self.segments[0].trim_end_matches(".rs")
    }

    /// The folder of the file and its name within it (`mod` for `mod.rs`).
    fn folder_and_stem(&self) -> (String, String) {
        let (last, dirs) = self.segments.split_last().expect("a path has a file name");
        (dirs.join("/"), last.trim_end_matches(".rs").to_owned())
    }
}

fn sources(dir: &Path, root: &Path, out: &mut Vec<Source>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = fs::read_to_string(&path).expect("a source file is UTF-8");
            let segments = path
                .strip_prefix(root)
                .expect("below src/")
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            out.push(Source {
                segments,
                code: strip(&text),
            });
        }
    }
}

/// Drops line comments (doc links are not uses) and everything from the unit tests'
/// `#[cfg(test)]` (or `#[cfg(all(test, …))]`) on.
fn strip(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") || trimmed.starts_with("#[cfg(all(test,") {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        code.push_str(line.split(" // ").next().unwrap_or(line));
        code.push('\n');
    }
    code
}

/// The first path segment after each occurrence of `prefix` (`crate::` → `flow`), including
/// every branch of a `prefix{a, b::c}` group.
fn heads_after(code: &str, prefix: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `foo_crate::` is another path
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => return true,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    false
                })
                .map_or(group.len(), |(i, _)| i);
            let mut depth = 0;
            let mut item = String::new();
            for c in group[..end].chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        heads.push(ident(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            heads.push(ident(&item));
        } else {
            heads.push(ident(rest));
        }
    }
    heads.retain(|h| !h.is_empty());
    heads
}

fn ident(text: &str) -> String {
    text.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// What `lib.rs` re-exports at the root (`crate::Provider`) → the module defining it.
fn root_reexports(lib: &Source) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for statement in lib.code.split(';') {
        let Some(path) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let module = ident(path);
        let listed = path.rsplit_once("::").map_or(path, |(_, last)| last);
        for name in listed.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = ident(name);
            if !name.is_empty() {
                names.insert(name, module.clone());
            }
        }
    }
    names
}

fn all_sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    sources(&root, &root, &mut out);
    out
}

/// Every `(from, to)` use between two different top-level modules, with the file it is in.
fn module_uses(all: &[Source]) -> BTreeSet<(String, String, String)> {
    let lib = all
        .iter()
        .find(|s| s.segments == ["lib.rs"])
        .expect("src/lib.rs exists");
    let reexports = root_reexports(lib);
    let modules: BTreeSet<&str> = all.iter().map(Source::module).collect();
    let mut uses = BTreeSet::new();
    for source in all {
        let from = source.module();
        let mut heads = heads_after(&source.code, "crate::");
        if source.segments.len() == 1 && from != "lib" {
            // `super::` of a top-level file is the crate root.
            heads.extend(heads_after(&source.code, "super::"));
        }
        for head in heads {
            let to = if modules.contains(head.as_str()) {
                head
            } else if let Some(module) = reexports.get(&head) {
                module.clone()
            } else {
                continue; // an item of lib.rs itself, or a macro-generated name
            };
            if to != from {
                uses.insert((from.to_owned(), to, source.segments.join("/")));
            }
        }
    }
    uses
}

#[test]
fn every_top_level_module_is_in_the_layer_table() {
    let all = all_sources();
    let missing: BTreeSet<&str> = all
        .iter()
        .map(Source::module)
        .filter(|m| layer_of(m).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "modules missing from LAYERS in tests/layering.rs: {missing:?}"
    );
}

#[test]
fn modules_only_use_lower_layers() {
    let all = all_sources();
    let mut upward = Vec::new();
    for (from, to, file) in module_uses(&all) {
        let (Some(from_layer), Some(to_layer)) = (layer_of(&from), layer_of(&to)) else {
            continue; // reported by the test above
        };
        if to_layer <= from_layer {
            upward.push(format!("src/{file}: {from} uses {to}"));
        }
    }
    assert!(
        upward.is_empty(),
        "uses of a module of the same or a higher layer:\n{}",
        upward.join("\n")
    );
}

#[test]
fn files_of_one_folder_do_not_use_each_other_in_a_cycle() {
    let all = all_sources();
    // folder → file stem → the sibling stems it uses (`mod` is the folder's own module file,
    // which re-exports its children; edges to and from it are not cycles between files).
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for source in &all {
        let (folder, stem) = source.folder_and_stem();
        graph.entry(folder).or_default().entry(stem).or_default();
    }
    for source in &all {
        let (folder, stem) = source.folder_and_stem();
        if stem == "mod" || folder.is_empty() {
            continue;
        }
        let siblings: BTreeSet<String> = graph[&folder].keys().cloned().collect();
        let mut heads = heads_after(&source.code, "super::");
        heads.extend(heads_after(
            &source.code,
            &format!("crate::{}::", folder.replace('/', "::")),
        ));
        let edges = graph
            .get_mut(&folder)
            .and_then(|files| files.get_mut(&stem))
            .expect("every file is in the graph");
        for head in heads {
            if head != stem && head != "mod" && siblings.contains(&head) {
                edges.insert(head);
            }
        }
    }
    let mut cycles = Vec::new();
    for (folder, files) in &graph {
        for start in files.keys() {
            // Is `start` reachable from one of its own uses?
            let mut seen = BTreeSet::new();
            let mut stack: Vec<&String> = files[start].iter().collect();
            while let Some(next) = stack.pop() {
                if next == start {
                    cycles.push(format!("src/{folder}/{start}.rs is in a cycle"));
                    break;
                }
                if seen.insert(next) {
                    stack.extend(files.get(next).into_iter().flatten());
                }
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "files that use each other:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn the_reader_sees_grouped_and_nested_uses() {
    let code = "use crate::{flow::{self, login}, http::Request};\nlet x = crate::token::mint();";
    assert_eq!(heads_after(code, "crate::"), ["flow", "http", "token"]);
    assert!(heads_after("my_crate::flow", "crate::").is_empty());
    assert_eq!(
        strip("use a;\n// crate::b\n#[cfg(test)]\nuse crate::c;"),
        "use a;\n"
    );
}
