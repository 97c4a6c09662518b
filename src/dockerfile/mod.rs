//! The Dockerfile front end: syntax tree, typed instructions, word expansion, stage graph, build checks and
//! `.dockerignore`, all platform neutral (native and wasm32).

pub mod dump;
pub mod error;
pub(crate) mod evaluate;
pub mod flags;
mod heredoc;
pub mod ignore;
mod instruction_types;
pub mod instructions;
mod line_parsers;
pub mod lint;
mod pattern;
pub mod render;
pub mod sample;
pub mod shell;
pub mod span;
pub mod stages;
pub mod syntax;

pub use error::Error;
pub use evaluate::DEFAULT_PATH;
pub use span::Span;

use instructions::Command;
use stages::StageGraph;
use syntax::SyntaxTree;

/// A parsed Dockerfile: syntax tree, typed commands (one per syntax node) and the stage graph.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dockerfile {
    pub syntax: SyntaxTree,
    pub commands: Vec<Command>,
    pub stages: StageGraph,
}

/// Parses and checks a Dockerfile the way BuildKit's front end does before building.
pub fn parse(src: &str) -> Result<Dockerfile, Error> {
    parse_with_args(src, &std::collections::BTreeMap::new())
}

/// [`parse`] with build args (they select stages through `FROM ${ARG}`).
pub fn parse_with_args(
    src: &str,
    build_args: &std::collections::BTreeMap<String, String>,
) -> Result<Dockerfile, Error> {
    let syntax = syntax::parse(src)?;
    // Sized up front: a `Command` is large, and growing the vector by doubling copies all of them.
    let mut commands = Vec::with_capacity(syntax.nodes.len());
    let at_start = |e: Error| at_instruction_start(e, &syntax.nodes);
    for node in &syntax.nodes {
        commands.push(instructions::parse_node(node).map_err(at_start)?);
    }
    let stages = StageGraph::build(&commands, syntax.escape, build_args).map_err(at_start)?;
    Ok(Dockerfile {
        syntax,
        commands,
        stages,
    })
}

/// The errors BuildKit stops on once it evaluates the stages of a parsed Dockerfile (a `# check=` directive it
/// cannot parse, a blank or invalid base name, a word that fails to expand, an invalid EXPOSE port, a circular stage dependency). `docker build
/// --check` prints them after the warnings, so [`lint::check`] runs this too.
pub fn evaluate(
    df: &Dockerfile,
    build_args: &std::collections::BTreeMap<String, String>,
) -> Result<(), Error> {
    lint::CheckConfig::of(df)?;
    evaluate::check(&df.commands, &df.stages, df.syntax.escape, build_args)
        .map_err(|e| at_instruction_start(e, &df.syntax.nodes))
}

/// BuildKit reports an instruction's error at the instruction's first line (`parser.WithLocation` with the
/// node's start line), which is earlier than the word at fault when the instruction spans lines or starts on a
/// line holding only the escape character: the span then starts at the beginning of that first line.
fn at_instruction_start(e: Error, nodes: &[syntax::Node]) -> Error {
    let span = e.span();
    let Some(node) = nodes
        .iter()
        .find(|n| n.span.start <= span.start && span.start <= n.span.end.max(n.span.start))
    else {
        return e;
    };
    if node.start_line >= span.line {
        return e;
    }
    // The keyword, or column 1 of the line holding only the escape character.
    let column = if node.span.line == node.start_line {
        node.span.column
    } else {
        1
    };
    e.with_span(Span {
        start: node.span.start,
        line: node.start_line,
        column,
        ..span
    })
}
