//! BuildKit's `Node.Dump` S-expression format, used to compare the syntax tree with BuildKit's corpus.

use super::shell::go_quote;
use super::syntax::{Node, SyntaxTree};

/// One line per instruction: `(cmd ["--flag"] "arg" ...)`.
pub fn dump(tree: &SyntaxTree) -> String {
    let mut out = String::new();
    for n in &tree.nodes {
        out.push('(');
        out.push_str(&dump_node(n));
        out.push_str(")\n");
    }
    out.trim().to_string()
}

/// A single node without the surrounding parentheses.
pub fn dump_node(n: &Node) -> String {
    let mut s = n.keyword.value.to_lowercase();
    if !n.flags.is_empty() {
        let flags: Vec<String> = n.flags.iter().map(|f| go_quote(&f.value)).collect();
        s.push_str(&format!(" [{}]", flags.join(" ")));
    }
    if let Some(sub) = &n.sub {
        s.push_str(&format!(" ({})", dump_node(sub)));
    }
    for a in &n.args {
        s.push(' ');
        s.push_str(&go_quote(&a.value));
    }
    s.trim().to_string()
}
