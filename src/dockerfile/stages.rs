//! The stage graph: stages, their names, and the edges `FROM <stage>`, `COPY --from=` and
//! `RUN --mount=from=` create; target selection and unused stages. Also the ARG/ENV scoping used to
//! expand words the way a build would.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::error::{buildkit_suggestion, Error};
use super::instructions::{Command, Instruction};
use super::shell::{Expansion, Lexer};
use super::span::Span;

/// ARGs every build knows without declaring them (proxy settings, BuildKit's platform args).
pub const PREDEFINED_ARGS: [&str; 18] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
];

/// Values of the platform args for a linux/amd64 build on a linux/amd64 host.
pub fn platform_args() -> BTreeMap<String, String> {
    [
        ("BUILDPLATFORM", "linux/amd64"),
        ("BUILDOS", "linux"),
        ("BUILDARCH", "amd64"),
        ("BUILDVARIANT", ""),
        ("TARGETPLATFORM", "linux/amd64"),
        ("TARGETOS", "linux"),
        ("TARGETARCH", "amd64"),
        ("TARGETVARIANT", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Why one stage needs another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EdgeKind {
    From,
    CopyFrom,
    MountFrom,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edge {
    pub stage: usize,
    pub kind: EdgeKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    pub index: usize,
    /// Lower-case name from `AS name`.
    pub name: Option<String>,
    /// The base as written.
    pub base: String,
    /// The base after expanding global ARGs (their defaults and the build args).
    pub base_expanded: String,
    /// The earlier stage this one starts from, if any.
    pub base_stage: Option<usize>,
    pub line: usize,
    pub span: Span,
    /// Indices into [`super::Dockerfile::commands`]: the FROM and everything up to the next FROM.
    pub first_command: usize,
    pub last_command: usize,
    pub deps: Vec<Edge>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageGraph {
    /// Commands (indices) before the first FROM: global ARGs.
    pub meta_args: Vec<usize>,
    pub stages: Vec<Stage>,
}

/// Expands `word` with `vars` (BuildKit's lexer with the file's escape character).
pub fn expand(escape: char, word: &str, vars: &BTreeMap<String, String>) -> Expansion {
    if !word.contains(['$', '\'', '"', escape]) {
        // Nothing to substitute or unquote: the word stands as is (split on whitespace).
        return Expansion {
            result: word.to_string(),
            words: word.split_whitespace().map(String::from).collect(),
            ..Expansion::default()
        };
    }
    Lexer::new(escape)
        .process(word, vars)
        .unwrap_or_else(|_| Expansion {
            result: word.to_string(),
            ..Expansion::default()
        })
}

/// Global ARGs: declared names and their values (defaults expanded in order, build args win).
pub fn global_args(
    commands: &[Command],
    meta: &[usize],
    escape: char,
    build_args: &BTreeMap<String, String>,
) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let mut declared = BTreeSet::new();
    let mut vars = platform_args();
    for &i in meta {
        if let Instruction::Arg { args } = &commands[i].instruction {
            for a in args {
                declared.insert(a.name.value.clone());
                if let Some(v) = build_args.get(&a.name.value) {
                    vars.insert(a.name.value.clone(), v.clone());
                } else if let Some(d) = &a.default {
                    let e = expand(escape, &d.value, &vars).result;
                    vars.insert(a.name.value.clone(), e);
                }
            }
        }
    }
    (declared, vars)
}

/// Why `--target` selects no stage, in BuildKit's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("no build stages")]
    NoStages,
    #[error(
        "target stage \"{name}\" could not be found{}",
        suggestion.as_ref().map(|m| format!(" (did you mean {m}?)")).unwrap_or_default()
    )]
    NotFound {
        name: String,
        /// The closest stage name, when one is close.
        suggestion: Option<String>,
    },
}

impl StageGraph {
    /// Groups commands into stages and resolves the edges between them.
    pub fn build(
        commands: &[Command],
        escape: char,
        build_args: &BTreeMap<String, String>,
    ) -> Result<StageGraph, Error> {
        let mut meta = Vec::new();
        let mut stages: Vec<Stage> = Vec::new();
        for (i, c) in commands.iter().enumerate() {
            match &c.instruction {
                Instruction::From(f) => stages.push(Stage {
                    index: stages.len(),
                    name: f.name.as_ref().map(|n| n.value.clone()),
                    base: f.image.value.clone(),
                    base_expanded: String::new(),
                    base_stage: None,
                    line: c.line,
                    span: c.span,
                    first_command: i,
                    last_command: i,
                    deps: Vec::new(),
                }),
                Instruction::Arg { .. } if stages.is_empty() => meta.push(i),
                _ => match stages.last_mut() {
                    Some(s) => s.last_command = i,
                    None => return Err(Error::instruction("no build stage in current context", c.span)),
                },
            }
        }
        let (_, globals) = global_args(commands, &meta, escape, build_args);
        let mut graph = StageGraph {
            meta_args: meta,
            stages,
        };
        for s in 0..graph.stages.len() {
            let base = expand(escape, &graph.stages[s].base, &globals).result;
            let base_stage = graph.find_before(&base, s);
            let st = &mut graph.stages[s];
            st.base_expanded = base;
            st.base_stage = base_stage;
            if let Some(b) = base_stage {
                let span = match &commands[st.first_command].instruction {
                    Instruction::From(f) => f.image.span,
                    _ => st.span,
                };
                st.deps.push(Edge {
                    stage: b,
                    kind: EdgeKind::From,
                    span,
                });
            }
            let mut edges = Vec::new();
            for c in &commands[st.first_command + 1..=st.last_command] {
                match &c.instruction {
                    Instruction::Copy(cp) => {
                        if let Some(f) = &cp.from {
                            let v = expand(escape, &f.value, &globals).result;
                            // A stage copying from itself is an edge too: BuildKit reports the circle.
                            if let Some(t) = graph.find(&v) {
                                edges.push(Edge {
                                    stage: t,
                                    kind: EdgeKind::CopyFrom,
                                    span: f.span,
                                });
                            }
                        }
                    }
                    Instruction::Run(r) => {
                        for m in &r.mounts {
                            if let Some(from) = mount_from(&m.value) {
                                if let Some(t) = graph.find(&from) {
                                    edges.push(Edge {
                                        stage: t,
                                        kind: EdgeKind::MountFrom,
                                        span: m.span,
                                    });
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
            graph.stages[s].deps.extend(edges);
        }
        Ok(graph)
    }

    /// A stage by name (case-insensitive) or by index.
    pub fn find(&self, name: &str) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        if let Some(s) = self
            .stages
            .iter()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
        {
            return Some(s.index);
        }
        name.parse::<usize>().ok().filter(|&i| i < self.stages.len())
    }

    /// The stage a FROM builds on: a name of an earlier stage as written. BuildKit's `addState` looks the base
    /// up in its map of lower-cased stage names without lower-casing it (`statesByName[BaseName]`), so
    /// `FROM Build` is the image `Build` (an invalid reference), not the stage `build`.
    fn find_before(&self, name: &str, before: usize) -> Option<usize> {
        self.stages[..before]
            .iter()
            .find(|s| s.name.as_deref() == Some(name))
            .map(|s| s.index)
    }

    /// The stage `--target` selects (the last stage when `None`).
    pub fn target(&self, target: Option<&str>) -> Result<usize, TargetError> {
        match target {
            None => self.stages.len().checked_sub(1).ok_or(TargetError::NoStages),
            Some(t) => self
                .stages
                .iter()
                .find(|s| s.name.as_deref() == Some(t.to_ascii_lowercase().as_str()))
                .map(|s| s.index)
                .ok_or_else(|| TargetError::NotFound {
                    name: t.to_owned(),
                    suggestion: buildkit_suggestion(
                        t,
                        self.stages.iter().filter_map(|s| s.name.as_deref()),
                        true,
                    ),
                }),
        }
    }

    /// Stages the target needs, itself included.
    pub fn reachable(&self, target: usize) -> Vec<bool> {
        let mut seen = vec![false; self.stages.len()];
        let mut todo = vec![target];
        while let Some(s) = todo.pop() {
            if s >= seen.len() || std::mem::replace(&mut seen[s], true) {
                continue;
            }
            todo.extend(self.stages[s].deps.iter().map(|e| e.stage));
        }
        seen
    }

    /// Stages a build of `target` never runs.
    pub fn unused(&self, target: usize) -> Vec<usize> {
        let r = self.reachable(target);
        (0..self.stages.len()).filter(|&i| !r[i]).collect()
    }
}

/// The `from=` of a `--mount` value (`type=cache,from=build,target=/x`).
pub fn mount_from(spec: &str) -> Option<String> {
    spec.split(',')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("from"))
        .map(|(_, v)| v.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--target` as BuildKit's `resolveTarget`: found case-insensitively, suggested case-sensitively by
    /// `util/suggest` (within two edits, also for short names).
    #[test]
    fn an_unknown_target_is_suggested_as_buildkit_does() {
        let df = crate::dockerfile::parse("FROM alpine:3.19 AS build\nFROM alpine:3.19 AS ab\n").unwrap();
        assert_eq!(df.stages.target(Some("BUILD")).unwrap(), 0);
        let suggestion = |t: &str| match df.stages.target(Some(t)) {
            Err(TargetError::NotFound { suggestion, .. }) => suggestion,
            other => panic!("{t}: {other:?}"),
        };
        assert_eq!(suggestion("bld").as_deref(), Some("build"));
        assert_eq!(suggestion("b").as_deref(), Some("ab"));
        assert_eq!(suggestion("xyz"), None);
    }

    /// `FROM Build` is not the stage `build`: BuildKit's `addState` looks the base up as written.
    #[test]
    fn a_base_is_a_stage_only_as_written() {
        let df = crate::dockerfile::parse("FROM alpine:3.19 AS build\nFROM build\nFROM Build\n").unwrap();
        assert_eq!(df.stages.stages[1].base_stage, Some(0));
        assert_eq!(df.stages.stages[2].base_stage, None);
    }
}
