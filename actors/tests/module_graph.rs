//! Neither the crate's folders (its concerns) nor the modules inside them may import each other in
//! a circle: actors depend on message types (`messages/`), never on each other, and pure logic on
//! nothing above it. Reads the sources as text, so a new `use crate::other_actor::…` that closes a
//! loop fails here, naming the loop.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The names a source file's shipped code reaches through `crate::`, each as its path segments.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let segments = |after: &str| -> Vec<String> {
        after
            .split("::")
            .map(|s| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>())
            .take_while(|s| !s.is_empty())
            .collect()
    };
    let mut paths = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let after = &code[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            // `use crate::{a::X, b::Y}`
            let group = &group[..group.find('}').unwrap_or(group.len())];
            paths.extend(group.split(',').map(|item| segments(item.trim())));
        } else {
            paths.push(segments(after));
        }
    }
    paths
}

/// Module → the modules its non-test code names through `crate::`, at `depth` path segments:
/// 1 gives the folders (concerns), 2 the files inside them.
fn module_graph(src: &Path, depth: usize) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![src.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let relative: Vec<String> = path
            .strip_prefix(src)
            .unwrap()
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .filter(|p| p != "mod")
            .collect();
        if relative == ["lib"] {
            continue;
        }
        let module = relative[..depth.min(relative.len())].join("::");
        let text = std::fs::read_to_string(&path).unwrap();
        // Tests may reach anywhere; only what ships counts.
        let code = text.split("#[cfg(test)]").next().unwrap();
        let deps = graph.entry(module.clone()).or_default();
        for segments in crate_paths(code) {
            let name = segments[..depth.min(segments.len())].join("::");
            if !name.is_empty() && name != module {
                deps.insert(name);
            }
        }
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    graph
}

/// A cycle, if any, as the path of modules that closes it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

fn src() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_folder_imports_another_in_a_circle() {
    let graph = module_graph(&src(), 1);
    assert!(graph.len() >= 8, "read the crate's folders: {:?}", graph.keys());
    assert!(graph["order_manager"].contains("orders"), "the graph sees imports");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("folders import each other in a circle: {}", cycle.join(" → "));
    }
}

#[test]
fn no_module_imports_another_in_a_circle() {
    let graph = module_graph(&src(), 2);
    assert!(graph.len() > 40, "read the crate's modules: {:?}", graph.keys());
    assert!(graph["strategy::actor"].contains("market::quoting"), "the graph sees imports");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("modules import each other in a circle: {}", cycle.join(" → "));
    }
}

#[test]
fn a_circle_is_found_and_named() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("strategy", &["messages"][..]),
        ("order_manager", &["messages", "flatten"][..]),
        ("flatten", &["ws_connector"][..]),
        ("ws_connector", &["order_manager"][..]),
        ("messages", &[][..]),
    ]
    .into_iter()
    .map(|(m, deps)| (m.to_string(), deps.iter().map(|d| d.to_string()).collect()))
    .collect();
    let cycle = find_cycle(&graph).expect("a cycle");
    assert_eq!(cycle, ["flatten", "ws_connector", "order_manager", "flatten"]);
}
