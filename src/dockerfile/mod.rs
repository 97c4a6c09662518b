//! The Dockerfile front end: syntax tree, typed instructions, word expansion, stage graph, build checks and
//! `.dockerignore`, all platform neutral (native and wasm32).

pub mod dump;
pub mod error;
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
    for node in &syntax.nodes {
        commands.push(instructions::parse_node(node)?);
    }
    let stages = StageGraph::build(&commands, syntax.escape, build_args)?;
    Ok(Dockerfile {
        syntax,
        commands,
        stages,
    })
}
