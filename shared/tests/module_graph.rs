//! The module graph of `shared/src` points one way (docs/architecture.md): no cycle between
//! top-level modules, leaves import no other module of the crate, and only the router knows the
//! handlers. Read from the `crate::` paths in the sources, so a new back-edge fails here (and in
//! `make lint`) before review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Modules that import nothing else of the crate.
const LEAVES: &[&str] = &["auth", "datetime", "drm", "http", "media", "names", "store"];
/// Request handlers: only the router (and the test helpers) may import them.
const HANDLERS: &[&str] = &["api", "harvest", "ingest", "playback"];
/// Modules allowed to import handlers.
const ROUTERS: &[&str] = &["origin", "testing"];
/// The one handler that calls another: a harvest job reads the endpoint's own playback.
const HANDLER_EDGES: &[(&str, &str)] = &[("harvest", "playback")];

/// Top-level module of each `.rs` file below `src`, with the file's text.
fn sources(src: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(src).expect("below src");
                let first = rel.components().next().expect("a component");
                let top = first.as_os_str().to_string_lossy();
                let top = top.trim_end_matches(".rs").to_owned();
                if top != "lib" {
                    let text = std::fs::read_to_string(&path).expect("UTF-8 source");
                    out.push((top, text));
                }
            }
        }
    }
    out
}

/// Source text without `//` comments (doc links name modules without importing them).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first path segment of every `crate::` path, including each item of a
/// `crate::{a, b::c}` group.
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let ident = |from: usize| -> String {
        code[from..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut at = 0;
    while let Some(i) = code[at..].find("crate::") {
        let start = at + i + "crate::".len();
        at = start;
        if i > 0 && (bytes[start - 8].is_ascii_alphanumeric() || bytes[start - 8] == b'_') {
            continue; // e.g. `edgepack_crate::`
        }
        if bytes.get(start) == Some(&b'{') {
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in code[start..].char_indices() {
                match c {
                    '{' => {
                        depth += 1;
                        item_start = depth == 1;
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => item_start = true,
                    c if c.is_whitespace() => {}
                    _ if item_start && depth == 1 => {
                        found.insert(ident(start + j));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(start));
        }
    }
    found
}

fn graph(files: &[(String, String)]) -> Graph {
    let tops: BTreeSet<&String> = files.iter().map(|(t, _)| t).collect();
    let mut g = Graph::new();
    for (top, text) in files {
        let deps = g.entry(top.clone()).or_default();
        for dep in crate_paths(&code(text)) {
            if dep != *top && tops.contains(&dep) {
                deps.insert(dep);
            }
        }
    }
    g
}

/// The cycles of `g` (strongly connected components with more than one module).
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    // Kosaraju: finish order on g, then components on the reverse graph.
    fn visit(g: &Graph, v: &str, seen: &mut BTreeSet<String>, out: &mut Vec<String>) {
        if seen.insert(v.to_owned()) {
            for w in g.get(v).into_iter().flatten() {
                visit(g, w, seen, out);
            }
            out.push(v.to_owned());
        }
    }
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    for v in g.keys() {
        visit(g, v, &mut seen, &mut order);
    }
    let mut reverse = Graph::new();
    for (v, ws) in g {
        reverse.entry(v.clone()).or_default();
        for w in ws {
            reverse.entry(w.clone()).or_default().insert(v.clone());
        }
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for v in order.iter().rev() {
        let mut component = Vec::new();
        visit(&reverse, v, &mut seen, &mut component);
        if component.len() > 1 {
            component.sort();
            out.push(component);
        }
    }
    out
}

/// Every broken rule, as a sentence.
fn violations(g: &Graph) -> Vec<String> {
    let mut out: Vec<String> = cycles(g)
        .into_iter()
        .map(|c| format!("import cycle between {}", c.join(", ")))
        .collect();
    for (module, deps) in g {
        if LEAVES.contains(&module.as_str()) && !deps.is_empty() {
            out.push(format!("leaf `{module}` imports {deps:?}"));
        }
        for dep in deps {
            let allowed = ROUTERS.contains(&module.as_str())
                || HANDLER_EDGES.contains(&(module.as_str(), dep.as_str()));
            if HANDLERS.contains(&dep.as_str()) && !allowed {
                out.push(format!(
                    "`{module}` imports the handler `{dep}`: only origin.rs routes to handlers"
                ));
            }
        }
    }
    out
}

#[test]
fn the_module_graph_points_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = graph(&sources(&src));
    assert!(g.len() > 20, "read {} modules only", g.len());
    for module in LEAVES.iter().chain(HANDLERS).chain(ROUTERS) {
        assert!(g.contains_key(*module), "module `{module}` not found");
    }
    let broken = violations(&g);
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn a_back_edge_is_caught() {
    let files = |extra: &str| {
        vec![
            ("http".to_owned(), String::new()),
            (
                "error".to_owned(),
                "use crate::http::Response;\n".to_owned(),
            ),
            ("playback".to_owned(), "use crate::error::X;".to_owned()),
            (
                "origin".to_owned(),
                "use crate::{error, playback::{self, x}};".to_owned(),
            ),
            ("model".to_owned(), extra.to_owned()),
        ]
    };
    assert!(violations(&graph(&files(""))).is_empty());
    // A comment that names a module imports nothing.
    assert!(violations(&graph(&files("// see crate::playback"))).is_empty());
    let cycle = graph(&[
        ("a".to_owned(), "fn f() { crate::b::g() }".to_owned()),
        ("b".to_owned(), "use crate::{c::X, d};".to_owned()),
        ("c".to_owned(), "use crate::a;".to_owned()),
        ("d".to_owned(), String::new()),
    ]);
    assert_eq!(cycles(&cycle), [["a", "b", "c"]]);
    let broken = violations(&graph(&files("use crate::playback::Play;")));
    assert_eq!(
        broken,
        ["`model` imports the handler `playback`: only origin.rs routes to handlers"]
    );
    let leaf = violations(&graph(&[
        ("http".to_owned(), "use crate::error::E;".to_owned()),
        ("error".to_owned(), String::new()),
    ]));
    assert_eq!(leaf, ["leaf `http` imports {\"error\"}"]);
}
