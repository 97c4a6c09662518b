//! The typed instructions: one struct or variant per Dockerfile instruction, with spans on every value.

use serde::Serialize;

use super::span::Span;
use super::syntax::{Heredoc, Word};

/// A command line of RUN, CMD, ENTRYPOINT or HEALTHCHECK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CmdLine {
    /// Exec form (JSON array): run as is. Otherwise one shell-form string run through SHELL.
    pub exec_form: bool,
    pub args: Vec<Word>,
    /// Heredocs attached to the instruction (RUN only).
    pub files: Vec<Heredoc>,
}

/// `key=value` of ENV or LABEL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyValue {
    pub key: Word,
    pub value: Word,
    /// Written in the legacy `KEY name value` form.
    pub legacy: bool,
}

/// One name of ARG, with its optional default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArgDef {
    pub name: Word,
    pub default: Option<Word>,
    /// A `# NAME description` comment right above.
    pub comment: Option<String>,
}

/// Sources and destination of COPY/ADD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourcesAndDest {
    pub sources: Vec<Word>,
    /// Inline files from heredocs used as sources.
    pub contents: Vec<Heredoc>,
    pub dest: Word,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct From {
    pub image: Word,
    pub platform: Option<Word>,
    /// The `AS` keyword as written.
    pub as_keyword: Option<Word>,
    /// The stage name, lower case (the span points at the name as written).
    pub name: Option<Word>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Run {
    pub cmd: CmdLine,
    pub mounts: Vec<Word>,
    pub network: Option<Word>,
    pub security: Option<Word>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Copy {
    #[serde(flatten)]
    pub files: SourcesAndDest,
    pub from: Option<Word>,
    pub chown: Option<Word>,
    pub chmod: Option<Word>,
    pub link: bool,
    pub parents: bool,
    pub exclude: Vec<Word>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Add {
    #[serde(flatten)]
    pub files: SourcesAndDest,
    pub chown: Option<Word>,
    pub chmod: Option<Word>,
    pub link: bool,
    pub keep_git_dir: bool,
    pub checksum: Option<Word>,
    pub exclude: Vec<Word>,
    pub unpack: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Healthcheck {
    /// `None` for `HEALTHCHECK NONE`.
    pub cmd: Option<CmdLine>,
    /// Durations in nanoseconds (0 = default).
    pub interval: i128,
    pub timeout: i128,
    pub start_period: i128,
    pub start_interval: i128,
    pub retries: i64,
}

/// A typed instruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Instruction {
    From(From),
    Run(Run),
    Cmd(CmdLine),
    Label { labels: Vec<KeyValue> },
    Maintainer { name: Word },
    Expose { ports: Vec<Word> },
    Env { vars: Vec<KeyValue> },
    Add(Add),
    Copy(Copy),
    Entrypoint(CmdLine),
    Volume { paths: Vec<Word> },
    User { user: Word },
    Workdir { path: Word },
    Arg { args: Vec<ArgDef> },
    Onbuild { expression: String, trigger: Word },
    Stopsignal { signal: Word },
    Healthcheck(Healthcheck),
    Shell { shell: Vec<Word> },
}

/// A typed instruction with where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Command {
    /// Upper-case keyword.
    pub keyword: String,
    pub line: usize,
    pub span: Span,
    pub instruction: Instruction,
}
