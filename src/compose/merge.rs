//! Several compose files as one, by the Compose Specification's merge rules: mappings merge key by key, scalars
//! and `command`/`entrypoint`/`healthcheck.test` are replaced, `environment`/`labels`/`args`/`depends_on`/
//! `networks` merge as mappings whatever form each file used, `volumes` merge by target, and other sequences
//! (`ports`, `expose`, `dns`, `profiles`...) are appended without repeats.

use super::tree::{Entry, Node, Value};

/// Merge `over` into `base` (the later `-f` file wins).
pub fn merge(base: &mut Node, over: Node) {
    merge_at(base, over, &mut Vec::new());
}

fn merge_at(base: &mut Node, over: Node, path: &mut Vec<String>) {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    let replaced = matches!(
        p.as_slice(),
        ["services", _, "command" | "entrypoint"] | ["services", _, "healthcheck", "test"]
    );
    let as_map = matches!(
        p.as_slice(),
        [
            "services",
            _,
            "environment" | "labels" | "depends_on" | "networks"
        ] | ["services", _, "build", "args" | "labels"]
    );
    if replaced {
        *base = over;
        return;
    }
    if as_map {
        to_map(base);
        let mut over = over;
        to_map(&mut over);
        merge_maps(base, over, path);
        return;
    }
    if matches!(p.as_slice(), ["services", _, "volumes"]) {
        merge_by(base, over, volume_target);
        return;
    }
    // `build: ./dir` over a mapping (or the reverse) means the context.
    if matches!(p.as_slice(), ["services", _, "build"]) {
        build_to_map(base);
        let mut over = over;
        build_to_map(&mut over);
        merge_maps(base, over, path);
        return;
    }
    if matches!((&base.value, &over.value), (Value::Map(_), Value::Map(_))) {
        merge_maps(base, over, path);
        return;
    }
    match (&mut base.value, over.value) {
        (Value::Seq(items), Value::Seq(more)) => {
            for item in more {
                if !items.iter().any(|i| i.value == item.value) {
                    items.push(item);
                }
            }
        }
        (_, value) => *base = Node { pos: over.pos, value },
    }
}

fn merge_maps(base: &mut Node, over: Node, path: &mut Vec<String>) {
    let Value::Map(over_entries) = over.value else {
        *base = over;
        return;
    };
    if !matches!(base.value, Value::Map(_)) || base.is_null() {
        base.value = Value::Map(Vec::new());
    }
    let Value::Map(entries) = &mut base.value else {
        return;
    };
    for entry in over_entries {
        match entries.iter_mut().find(|e| e.key == entry.key) {
            Some(existing) if !entry.node.is_null() && !existing.node.is_null() => {
                path.push(entry.key.clone());
                merge_at(&mut existing.node, entry.node, path);
                path.pop();
            }
            Some(existing) if !entry.node.is_null() => existing.node = entry.node,
            Some(_) => {}
            None => entries.push(entry),
        }
    }
}

/// `[A=1, B]` -> `{A: "1", B: null}`; `[db, cache]` (depends_on, networks) -> `{db: null, cache: null}`.
fn to_map(node: &mut Node) {
    let Value::Seq(items) = &node.value else {
        return;
    };
    let entries = items
        .iter()
        .map(|item| {
            let text = item.as_str().unwrap_or_default();
            let (key, value) = match text.split_once('=') {
                Some((k, v)) => (k.to_string(), Node::scalar(item.pos, v)),
                None => (
                    text.to_string(),
                    Node {
                        pos: item.pos,
                        value: Value::Scalar {
                            text: String::new(),
                            plain: true,
                        },
                    },
                ),
            };
            Entry {
                key,
                key_pos: item.pos,
                node: value,
            }
        })
        .collect();
    node.value = Value::Map(entries);
}

fn build_to_map(node: &mut Node) {
    if let Value::Scalar { .. } = &node.value {
        let context = node.clone();
        node.value = Value::Map(vec![Entry {
            key: "context".to_string(),
            key_pos: context.pos,
            node: context,
        }]);
    }
}

/// The container path of a volume entry, short or long syntax.
fn volume_target(node: &Node) -> Option<String> {
    match &node.value {
        Value::Scalar { text, .. } => {
            let parts: Vec<&str> = text.split(':').collect();
            parts
                .get(if parts.len() == 1 { 0 } else { 1 })
                .map(|t| t.to_string())
        }
        Value::Map(_) => node.get("target").and_then(Node::as_str).map(str::to_string),
        Value::Seq(_) => None,
    }
}

/// Sequences whose entries are keyed: an entry of `over` replaces the one of `base` with the same key.
fn merge_by(base: &mut Node, over: Node, key: fn(&Node) -> Option<String>) {
    match (&mut base.value, over.value) {
        (Value::Seq(items), Value::Seq(more)) => {
            for item in more {
                let k = key(&item);
                match items.iter_mut().find(|i| k.is_some() && key(i) == k) {
                    Some(existing) => *existing = item,
                    None => items.push(item),
                }
            }
        }
        (_, value) => *base = Node { pos: over.pos, value },
    }
}
