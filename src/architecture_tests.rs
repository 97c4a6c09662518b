//! The dependency rules of `docs/architecture.md`, checked by reading the sources: no import cycle between the
//! core's modules or between files, the layers point one way (dockerfile, layer, image, registry client, api →
//! builder → cli → ui), and the server reaches the interpreter only from its `slipway docker`/`slipway build`
//! front ends. It reads `use crate::…`/`super::…` paths (grouped ones too) and inline `crate::a::b` paths of
//! production code: `#[cfg(test)]` items and `tests.rs` files may use any layer. The cycle check covers the three
//! crates (`src`, `server/src`, `www/src`). Last, no production function is longer than [`MAX_FUNCTION_LINES`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A file's module path inside its crate: `src/cli/attach.rs` → `["cli", "attach"]`, `src/lib.rs` → `[]`.
type ModulePath = Vec<String>;

/// The production source of every module file under `root` (a crate's `src`), by module path.
fn read_crate(root: &Path) -> BTreeMap<ModulePath, String> {
    let mut files = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                // `src/bin` holds binaries: crates of their own, whose `crate::` is not the library.
                if path != root.join("bin") {
                    pending.push(path);
                }
                continue;
            }
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if !name.ends_with(".rs")
                || name == "tests.rs"
                || name.ends_with("_tests.rs")
                || name == "main.rs"
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("a source file is readable");
            files.insert(module_path(root, &path), production_code(&text));
        }
    }
    files
}

fn module_path(root: &Path, file: &Path) -> ModulePath {
    let relative: PathBuf = file
        .strip_prefix(root)
        .expect("under the root")
        .with_extension("");
    let mut parts: ModulePath = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The text without comments and without `#[cfg(test)]` items (a `mod tests;` line or a braced block).
fn production_code(text: &str) -> String {
    let mut kept = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let code = line.split_once("//").map_or(line, |(code, _)| code);
        if line.trim() == "#[cfg(test)]" {
            let mut depth = 0i32;
            for item in lines.by_ref() {
                depth += item.matches('{').count() as i32 - item.matches('}').count() as i32;
                if depth <= 0 && (item.trim_end().ends_with(';') || item.trim_end().ends_with('}')) {
                    break;
                }
            }
            continue;
        }
        kept.push_str(code);
        kept.push('\n');
    }
    kept
}

/// Every path the code names from `crate::` or `super::`, expanded from grouped `use` trees, as written.
fn referenced_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    // `use` statements, joined over lines, with their braces expanded.
    let mut rest = code;
    while let Some(start) = find_use(rest) {
        let statement = &rest[start..];
        let end = statement.find(';').unwrap_or(statement.len());
        let tree = without_aliases(statement[..end].trim_start_matches("use "));
        expand_use_tree("", &tree, &mut paths);
        rest = &statement[end..];
    }
    // Inline paths: `crate::cli::build::labels(...)`.
    for (at, _) in code.match_indices("crate::").chain(code.match_indices("super::")) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let path: String = code[at..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        paths.push(path.trim_end_matches(':').to_string());
    }
    paths.retain(|p| p.starts_with("crate::") || p.starts_with("super::"));
    paths
}

/// A `use` tree without whitespace and without its `as NAME` renames (`{a as b, c}` → `{a,c}`).
fn without_aliases(tree: &str) -> String {
    let mut kept = String::new();
    let mut tokens = tree.split_whitespace();
    while let Some(token) = tokens.next() {
        if token == "as" {
            let alias = tokens.next().unwrap_or_default();
            kept.extend(alias.chars().filter(|c| matches!(c, ',' | '}')));
        } else {
            kept.push_str(token);
        }
    }
    kept
}

/// The byte offset of the next `use` statement (at a line start, maybe `pub`/`pub(crate)`).
fn find_use(code: &str) -> Option<usize> {
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let without_pub = trimmed
            .strip_prefix("pub(crate) ")
            .or_else(|| trimmed.strip_prefix("pub "))
            .unwrap_or(trimmed);
        if without_pub.starts_with("use ") {
            return Some(offset + line.len() - without_pub.len());
        }
        offset += line.len();
    }
    None
}

/// `crate::{a, b::{c, d}}` → `crate::a`, `crate::b::c`, `crate::b::d`.
fn expand_use_tree(prefix: &str, tree: &str, out: &mut Vec<String>) {
    match tree.find('{') {
        None => out.push(format!("{prefix}{tree}")),
        Some(open) => {
            let head = format!("{prefix}{}", &tree[..open]);
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand_use_tree(&head, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            if !inner[start..].is_empty() {
                expand_use_tree(&head, &inner[start..], out);
            }
        }
    }
}

/// The module file a path written in `from` lands in: the longest known module prefix of its absolute path.
fn resolve(from: &ModulePath, path: &str, known: &BTreeSet<ModulePath>) -> Option<ModulePath> {
    let mut absolute: ModulePath = from.clone();
    let mut segments = path.split("::").filter(|s| !s.is_empty()).peekable();
    if segments.peek() == Some(&"crate") {
        absolute.clear();
        segments.next();
    }
    while segments.peek() == Some(&"super") {
        absolute.pop()?;
        segments.next();
    }
    absolute.extend(segments.map(String::from));
    (0..=absolute.len())
        .rev()
        .map(|n| absolute[..n].to_vec())
        .find(|m| known.contains(m))
}

/// File → files it uses. A file naming its own ancestors (`crate::image::Reference` from `image/config.rs`)
/// goes through the parent's re-exports, not a dependency of its own, so such edges are left out.
fn file_graph(files: &BTreeMap<ModulePath, String>) -> BTreeMap<ModulePath, BTreeSet<ModulePath>> {
    let known: BTreeSet<ModulePath> = files.keys().cloned().collect();
    files
        .iter()
        .map(|(from, code)| {
            let targets = referenced_paths(code)
                .iter()
                .filter_map(|p| resolve(from, p, &known))
                .filter(|to| to != from && !from.starts_with(to))
                .collect();
            (from.clone(), targets)
        })
        .collect()
}

/// Top-level module → top-level modules it uses (`cli` → `build`).
fn module_graph(files: &BTreeMap<ModulePath, BTreeSet<ModulePath>>) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, targets) in files {
        let Some(top) = from.first() else { continue };
        let uses = graph.entry(top.clone()).or_default();
        for to in targets.iter().filter_map(|t| t.first()) {
            if to != top {
                uses.insert(to.clone());
            }
        }
    }
    graph
}

/// A cycle of `graph`, as the nodes around it, if there is one (depth-first search for a back edge).
fn find_cycle<N: Ord + Clone>(graph: &BTreeMap<N, BTreeSet<N>>) -> Option<Vec<N>> {
    fn visit<N: Ord + Clone>(
        node: &N,
        graph: &BTreeMap<N, BTreeSet<N>>,
        stack: &mut Vec<N>,
        done: &mut BTreeSet<N>,
    ) -> Option<Vec<N>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.clone());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

/// Every group of nodes that reach each other (strongly connected, more than one node), smallest node first.
fn circles<N: Ord + Clone>(graph: &BTreeMap<N, BTreeSet<N>>) -> Vec<BTreeSet<N>> {
    let reach = |start: &N| {
        let mut seen = BTreeSet::new();
        let mut pending = vec![start.clone()];
        while let Some(node) = pending.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    pending.push(next.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&N, BTreeSet<N>> = graph.keys().map(|n| (n, reach(n))).collect();
    let mut groups: Vec<BTreeSet<N>> = Vec::new();
    for (node, reached) in &reachable {
        if groups.iter().any(|g| g.contains(*node)) || !reached.contains(*node) {
            continue;
        }
        let group: BTreeSet<N> = reached
            .iter()
            .filter(|other| reachable.get(other).is_some_and(|r| r.contains(*node)))
            .cloned()
            .collect();
        groups.push(group);
    }
    groups
}

fn show(path: &ModulePath) -> String {
    if path.is_empty() {
        "crate".to_string()
    } else {
        path.join("::")
    }
}

#[test]
fn no_import_cycle_between_modules_or_files() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for root in [repo.join("src"), repo.join("server/src"), repo.join("www/src")] {
        let files = file_graph(&read_crate(&root));
        assert!(files.len() > 10, "{}: too few files read", root.display());
        for group in circles(&files) {
            let scope: BTreeMap<ModulePath, BTreeSet<ModulePath>> = files
                .iter()
                .filter(|(f, _)| group.contains(*f))
                .map(|(f, to)| (f.clone(), to.intersection(&group).cloned().collect()))
                .collect();
            let cycle: Vec<String> = find_cycle(&scope).unwrap_or_default().iter().map(show).collect();
            found.push(format!("{}: files {}", root.display(), cycle.join(" -> ")));
        }
        for group in circles(&module_graph(&files)) {
            let names: Vec<&str> = group.iter().map(String::as_str).collect();
            found.push(format!("{}: modules {{{}}}", root.display(), names.join(", ")));
        }
    }
    assert!(found.is_empty(), "imports in a circle:\n{}", found.join("\n"));
}

/// What each layer of the core must not use: the ones above it.
const LAYERS_ABOVE: &[(&[&str], &[&str])] = &[
    (
        &[
            "dockerfile",
            "compose",
            "layer",
            "image",
            "registry",
            "api",
            "info",
            "lesson",
        ],
        &["build", "builder", "cli", "ui"],
    ),
    (&["build", "builder"], &["cli", "ui"]),
    (&["cli"], &["ui"]),
];

#[test]
fn layers_point_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = module_graph(&file_graph(&read_crate(&root)));
    assert!(modules.contains_key("cli"), "the interpreter is read");
    let mut wrong = Vec::new();
    for (layer, above) in LAYERS_ABOVE {
        for module in *layer {
            for used in modules.get(*module).into_iter().flatten() {
                if above.contains(&used.as_str()) {
                    wrong.push(format!("{module} uses {used}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "a lower layer uses a higher one: {wrong:?}");
}

/// The server runs containers and stores images; only its command-line front ends (`slipway docker`,
/// `slipway build`) are docker clients, and they alone may use the interpreter.
#[test]
fn only_the_servers_command_line_uses_the_interpreter() {
    let server = Path::new(env!("CARGO_MANIFEST_DIR")).join("server/src");
    let front_ends = [
        server.join("commands/docker.rs"),
        server.join("commands/build.rs"),
        // `slipway docker cp`'s working directory as the project.
        server.join("commands/project_dir.rs"),
    ];
    let mut pending = vec![server.clone()];
    let mut read = 0;
    let mut wrong = Vec::new();
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && !front_ends.contains(&path) {
                read += 1;
                let text = std::fs::read_to_string(&path).expect("a source file is readable");
                if text.contains("slipway::cli") {
                    wrong.push(path.display().to_string());
                }
            }
        }
    }
    assert!(
        read > 10,
        "the server's sources are read from {}",
        server.display()
    );
    assert!(wrong.is_empty(), "server files use slipway::cli: {wrong:?}");
}

#[test]
fn grouped_uses_and_relative_paths_resolve_to_files() {
    let known: BTreeSet<ModulePath> = [vec![], vec!["cli".into()], vec!["cli".into(), "attach".into()]]
        .into_iter()
        .chain([vec!["cli".into(), "context".into()], vec!["image".into()]])
        .collect();
    let code =
        "use super::{attach::{self, x as y}, context::CommandContext as C};\nuse crate::image::Reference;\n\
                fn f() { crate::cli::attach::g(); }\n// crate::ui::gone\n";
    let paths = referenced_paths(&production_code(code));
    let from: ModulePath = vec!["cli".into(), "interpret".into()];
    let resolved: BTreeSet<String> = paths
        .iter()
        .filter_map(|p| resolve(&from, p, &known))
        .map(|m| show(&m))
        .collect();
    let expected = ["cli::attach", "cli::context", "image"];
    assert_eq!(resolved, expected.into_iter().map(String::from).collect());
    let graph = BTreeMap::from([
        (1, BTreeSet::from([2])),
        (2, BTreeSet::from([3])),
        (3, BTreeSet::from([1])),
    ]);
    assert_eq!(find_cycle(&graph), Some(vec![1, 2, 3, 1]));
}

/// Production functions stay short enough to read whole (issue 13: none over ~120 lines). Tests may be longer.
const MAX_FUNCTION_LINES: usize = 120;

/// `(lines, name, line)` of every `fn` body in `text` before its `#[cfg(test)]` module.
fn function_lengths(text: &str) -> Vec<(usize, String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .iter()
        .position(|l| l.trim_start().starts_with("#[cfg(test)]"))
        .unwrap_or(lines.len());
    let mut found = Vec::new();
    for (start, line) in lines[..end].iter().enumerate() {
        let Some(name) = fn_name(line) else { continue };
        if let Some(body_end) = body_end(&lines[start..end]) {
            found.push((body_end + 1, name, start + 1));
        }
    }
    found
}

/// The name declared by a line like `pub(crate) async fn name<T>(`.
fn fn_name(line: &str) -> Option<String> {
    let code = line.split("//").next()?;
    let words: Vec<&str> = code.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "fn")?;
    let before_ok = words[..at].iter().all(|w| {
        w.starts_with("pub") || matches!(*w, "async" | "const" | "unsafe" | "extern" | "\"C\"" | "default")
    });
    let name: String = words
        .get(at + 1)?
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (before_ok && !name.is_empty()).then_some(name)
}

/// The index of the line that closes the body starting at `lines[0]`; None for a declaration without a body.
fn body_end(lines: &[&str]) -> Option<usize> {
    let mut depth = 0i32;
    let mut opened = false;
    for (i, line) in lines.iter().enumerate() {
        let code = strip_literals(line);
        if !opened && code.contains(';') && !code.contains('{') {
            return None;
        }
        for c in code.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        if opened && depth <= 0 {
            return Some(i);
        }
    }
    None
}

/// The line without string and char literals and a trailing comment (their braces do not count).
fn strip_literals(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            // A char literal ('{', '\''), not a lifetime ('a): a lifetime has no closing quote two places on.
            '\'' => {
                let rest: String = chars.clone().take(3).collect();
                if let Some(escaped) = rest.strip_prefix('\\') {
                    let close = escaped.find('\'').map(|i| i + 2).unwrap_or(0);
                    for _ in 0..close {
                        chars.next();
                    }
                } else if rest.chars().nth(1) == Some('\'') {
                    chars.next();
                    chars.next();
                }
            }
            '/' if chars.peek() == Some(&'/') => break,
            _ => out.push(c),
        }
    }
    out
}

/// Production source files (not tests, not `#[cfg(test)]` modules) of the three crates.
fn production_files(repo: &Path) -> Vec<(PathBuf, String)> {
    let mut found = Vec::new();
    let mut pending: Vec<PathBuf> = ["src", "server/src", "www/src"]
        .iter()
        .map(|d| repo.join(d))
        .collect();
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("a source folder").flatten() {
            let path = entry.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if path.is_dir() {
                pending.push(path);
            } else if name.ends_with(".rs") && name != "tests.rs" && !name.ends_with("_tests.rs") {
                let text = std::fs::read_to_string(&path).expect("a source file is readable");
                found.push((path, text));
            }
        }
    }
    found
}

#[test]
fn no_production_function_is_longer_than_the_limit() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = production_files(repo);
    assert!(files.len() > 100, "too few source files read: {}", files.len());
    let mut long = Vec::new();
    let mut measured = 0;
    for (path, text) in &files {
        for (lines, name, line) in function_lengths(text) {
            measured += 1;
            if lines > MAX_FUNCTION_LINES {
                long.push(format!("{}:{line} {name}: {lines} lines", path.display()));
            }
        }
    }
    assert!(measured > 1000, "too few functions found: {measured}");
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines (split them by step or by variant):\n{}",
        long.join("\n")
    );
}

#[test]
fn function_lengths_count_bodies_not_braces_in_strings_or_chars() {
    let text = "fn a() {\n    let s = \"{\";\n    let c = '{';\n    let l: &'static str = \"}}\";\n}\n\
                pub(crate) async fn b<'x>(v: &'x str) -> &'x str {\n    v\n}\n\
                fn declared();\n\
                #[cfg(test)]\nmod tests {\n    fn long() {\n    }\n}\n";
    assert_eq!(
        function_lengths(text),
        vec![(5, "a".to_string(), 1), (3, "b".to_string(), 6)]
    );
}
