//! BuildKit's build checks (`frontend/dockerfile/linter`), by their names and messages.

use std::collections::{BTreeMap, BTreeSet};

use super::{LintOptions, Sink};
use crate::dockerfile::error::suggest;
use crate::dockerfile::instructions::{ArgDef, Command, Instruction};
use crate::dockerfile::stages::{expand, global_args, PREDEFINED_ARGS};
use crate::dockerfile::syntax::{Node, Word};
use crate::dockerfile::Dockerfile;

/// Variables base images commonly set; without the image config we cannot know, so we do not flag them.
const IMAGE_ENV: [&str; 12] = [
    "PATH",
    "HOME",
    "HOSTNAME",
    "TERM",
    "LANG",
    "LC_ALL",
    "USER",
    "PWD",
    "SHELL",
    "GOPATH",
    "JAVA_HOME",
    "PYTHON_VERSION",
];

pub(super) fn run(df: &Dockerfile, opts: &LintOptions, sink: &mut Sink) {
    let nodes = &df.syntax.nodes;
    casing(nodes, sink);
    for n in nodes {
        for span in &n.empty_continuations {
            sink.report("NoEmptyContinuation", *span, "Empty continuation line".into());
        }
    }
    stages(df, opts, sink);
    scopes(df, opts, sink);
}

/// `s == s.to_ascii_uppercase()`, without building the upper-case copy.
fn is_upper(s: &str) -> bool {
    !s.bytes().any(|b| b.is_ascii_lowercase())
}

/// `s == s.to_ascii_lowercase()`, without building the lower-case copy.
fn is_lower(s: &str) -> bool {
    !s.bytes().any(|b| b.is_ascii_uppercase())
}

fn casing(nodes: &[Node], sink: &mut Sink) {
    let mut all: Vec<&Node> = Vec::new();
    for n in nodes {
        all.push(n);
        if let Some(s) = &n.sub {
            all.push(s);
        }
    }
    let upper = all.iter().filter(|n| is_upper(&n.keyword.value)).count();
    let lower = all.iter().filter(|n| is_lower(&n.keyword.value)).count();
    let (majority_upper, name) = if lower > upper {
        (false, "lowercase")
    } else {
        (true, "uppercase")
    };
    for n in all {
        let k = &n.keyword.value;
        let ok = if majority_upper { is_upper(k) } else { is_lower(k) };
        if !ok {
            sink.report(
                "ConsistentInstructionCasing",
                n.keyword.span,
                format!("Command '{k}' should match the case of the command majority ({name})"),
            );
        }
    }
}

/// The checks that look at one instruction at a time, and the per-stage ones after them.
fn stages(df: &Dockerfile, opts: &LintOptions, sink: &mut Sink) {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (c, n) in df.commands.iter().zip(&df.syntax.nodes) {
        if let Instruction::From(f) = &c.instruction {
            from_line(f, n, &mut seen, sink);
        }
        instruction(c, n, opts, sink);
    }
    multiple_instructions(df, sink);
    base_platforms(df, opts, sink);
}

/// A FROM line: stage name casing, uniqueness and reserved names, and its `--platform`.
fn from_line(
    f: &crate::dockerfile::instructions::From,
    n: &Node,
    seen: &mut BTreeSet<String>,
    sink: &mut Sink,
) {
    if let (Some(name), Some(raw), Some(as_kw)) = (&f.name, n.args.get(2), &f.as_keyword) {
        if !is_lower(&raw.value) {
            sink.report(
                "StageNameCasing",
                raw.span,
                format!("Stage name '{}' should be lowercase", raw.value),
            );
        }
        let from = &n.keyword.value;
        if (is_upper(from) && !is_upper(&as_kw.value)) || (is_lower(from) && !is_lower(&as_kw.value)) {
            sink.report(
                "FromAsCasing",
                as_kw.span,
                format!("'{}' and '{}' keywords' casing do not match", as_kw.value, from),
            );
        }
        if !seen.insert(name.value.clone()) {
            sink.report(
                "DuplicateStageName",
                raw.span,
                format!(
                    "Duplicate stage name \"{}\", stage names should be unique",
                    name.value
                ),
            );
        }
        if matches!(name.value.as_str(), "scratch" | "context") {
            sink.report(
                "ReservedStageName",
                raw.span,
                format!(
                    "Stage name should not use the same name as reserved stage \"{}\"",
                    name.value
                ),
            );
        }
    }
    if let Some(p) = &f.platform {
        let v = p.value.trim_start_matches("--platform=");
        if v == "$TARGETPLATFORM" || v == "${TARGETPLATFORM}" {
            sink.report(
                "RedundantTargetPlatform",
                p.span,
                "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior".into(),
            );
        } else if !v.contains('$') {
            let arch = v.split('/').nth(1).unwrap_or(v);
            let named_for_it = f.name.as_ref().is_some_and(|n| n.value.contains(arch));
            if !named_for_it {
                sink.report(
                    "FromPlatformFlagConstDisallowed",
                    p.span,
                    format!("FROM --platform flag should not use constant value \"{v}\""),
                );
            }
        }
    }
}

/// The checks of a single instruction: deprecated forms, EXPOSE formats and sources .dockerignore excludes.
fn instruction(c: &Command, n: &Node, opts: &LintOptions, sink: &mut Sink) {
    match &c.instruction {
        Instruction::Maintainer { name } => sink.report(
            "MaintainerDeprecated",
            n.keyword.span.clone_with_end(name.span),
            "Maintainer instruction is deprecated in favor of using label".into(),
        ),
        Instruction::Cmd(cl) | Instruction::Entrypoint(cl) if !cl.exec_form && !cl.args.is_empty() => sink
            .report(
                "JSONArgsRecommended",
                cl.args[0].span,
                format!(
                    "JSON arguments recommended for {} to prevent unintended behavior related to OS signals",
                    c.keyword
                ),
            ),
        Instruction::Env { vars } | Instruction::Label { labels: vars }
            if vars.iter().any(|kv| kv.legacy) =>
        {
            sink.report(
                "LegacyKeyValueFormat",
                c.span,
                format!(
                    "\"{0} key=value\" should be used instead of legacy \"{0} key value\" format",
                    c.keyword
                ),
            );
        }
        Instruction::Expose { ports } => {
            for p in ports {
                let v = &p.value;
                if v.contains(':') {
                    sink.report(
                        "ExposeInvalidFormat",
                        p.span,
                        format!("EXPOSE instruction should not define an IP address or host-port mapping, found '{v}'"),
                    );
                }
                if let Some((_, proto)) = v.split_once('/') {
                    if !is_lower(proto) {
                        sink.report(
                            "ExposeProtoCasing",
                            p.span,
                            format!("Defined protocol '{v}' in EXPOSE instruction should be lowercase"),
                        );
                    }
                }
            }
        }
        Instruction::Copy(cp) if cp.from.is_none() => copy_ignored("Copy", &cp.files.sources, opts, sink),
        Instruction::Add(a) => copy_ignored("Add", &a.files.sources, opts, sink),
        _ => {}
    }
}

/// MultipleInstructionsDisallowed, per stage.
fn multiple_instructions(df: &Dockerfile, sink: &mut Sink) {
    for st in &df.stages.stages {
        let mut last: BTreeMap<&str, &Command> = BTreeMap::new();
        for c in &df.commands[st.first_command..=st.last_command] {
            if matches!(c.keyword.as_str(), "CMD" | "ENTRYPOINT" | "HEALTHCHECK") {
                if let Some(prev) = last.insert(c.keyword.as_str(), c) {
                    sink.report(
                        "MultipleInstructionsDisallowed",
                        prev.span,
                        format!("Multiple {} instructions should not be used in the same stage because only the last one will be used", prev.keyword),
                    );
                }
            }
        }
    }
}

/// InvalidBaseImagePlatform, when the caller knows what was pulled.
fn base_platforms(df: &Dockerfile, opts: &LintOptions, sink: &mut Sink) {
    let expected = opts.target_platform.as_deref().unwrap_or("linux/amd64");
    for st in &df.stages.stages {
        if let Some(got) = opts.base_platforms.get(&st.base_expanded) {
            if got != expected {
                sink.report(
                    "InvalidBaseImagePlatform",
                    st.span,
                    format!("Base image {} was pulled with platform \"{got}\", expected \"{expected}\" for current build", st.base_expanded),
                );
            }
        }
    }
}

trait SpanExt {
    fn clone_with_end(&self, end: crate::dockerfile::span::Span) -> crate::dockerfile::span::Span;
}

impl SpanExt for crate::dockerfile::span::Span {
    fn clone_with_end(&self, end: crate::dockerfile::span::Span) -> crate::dockerfile::span::Span {
        crate::dockerfile::span::Span {
            end: end.end,
            end_line: end.end_line,
            end_column: end.end_column,
            ..*self
        }
    }
}

fn copy_ignored(verb: &str, sources: &[Word], opts: &LintOptions, sink: &mut Sink) {
    let Some(di) = &opts.dockerignore else { return };
    for s in sources {
        let v = &s.value;
        if v.contains("://") || v.starts_with("git@") || v.contains('$') {
            continue;
        }
        if di.is_excluded(v) {
            sink.report(
                "CopyIgnoredFile",
                s.span,
                format!("Attempting to {verb} file \"{v}\" that is excluded by .dockerignore"),
            );
        }
    }
}

fn is_var_name(n: &str) -> bool {
    n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Secret-looking names, as BuildKit's `SecretsUsedInArgOrEnv` sees them.
fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let tokens: Vec<&str> = lower.split(['_', '-', '.']).collect();
    if tokens.contains(&"public") {
        return false;
    }
    tokens.iter().any(|t| {
        matches!(
            *t,
            "apikey"
                | "auth"
                | "credential"
                | "credentials"
                | "key"
                | "password"
                | "pword"
                | "passwd"
                | "secret"
                | "token"
        )
    })
}

/// The global ARGs (before the first FROM) as every FROM line sees them.
struct GlobalScope {
    esc: char,
    declared: BTreeSet<String>,
    /// The values with `--build-arg`s applied.
    values: BTreeMap<String, String>,
    /// The values from the Dockerfile's defaults alone, for InvalidDefaultArgInFrom.
    defaults: BTreeMap<String, String>,
}

/// Walks every stage with its ARG/ENV scope: UndefinedVar, UndefinedArgInFrom, InvalidDefaultArgInFrom,
/// WorkdirRelativePath and SecretsUsedInArgOrEnv.
fn scopes(df: &Dockerfile, opts: &LintOptions, sink: &mut Sink) {
    let esc = df.syntax.escape;
    let meta = &df.stages.meta_args;
    let (declared, values) = global_args(&df.commands, meta, esc, &opts.build_args);
    let defaults = if opts.build_args.is_empty() {
        values.clone()
    } else {
        global_args(&df.commands, meta, esc, &BTreeMap::new()).1
    };
    let globals = GlobalScope {
        esc,
        declared,
        values,
        defaults,
    };
    for &i in meta {
        secrets(&df.commands[i], sink);
    }
    let mut stage_env: Vec<BTreeMap<String, String>> = Vec::new();
    for st in &df.stages.stages {
        if let Instruction::From(f) = &df.commands[st.first_command].instruction {
            from_args(f, &globals, sink);
        }
        let vars: BTreeMap<String, String> = match st.base_stage {
            Some(b) => stage_env.get(b).cloned().unwrap_or_default(),
            None => BTreeMap::new(),
        };
        let mut scope = StageScope {
            esc,
            external: st.base_stage.is_none(),
            declared: vars.keys().cloned().collect(),
            vars,
            workdir_set: false,
        };
        for c in &df.commands[st.first_command + 1..=st.last_command] {
            scope.visit(c, opts, &globals, sink);
        }
        // Only ENV carries over to stages built on this one; ARGs do not.
        let env_only: BTreeMap<String, String> = df.commands[st.first_command..=st.last_command]
            .iter()
            .filter_map(|c| match &c.instruction {
                Instruction::Env { vars: kvs } => Some(kvs.iter().map(|kv| kv.key.value.clone())),
                _ => None,
            })
            .flatten()
            .filter_map(|k| scope.vars.get(&k).map(|v| (k, v.clone())))
            .collect();
        let mut inherited = match st.base_stage {
            Some(b) => stage_env.get(b).cloned().unwrap_or_default(),
            None => BTreeMap::new(),
        };
        inherited.extend(env_only);
        stage_env.push(inherited);
    }
}

/// UndefinedArgInFrom and InvalidDefaultArgInFrom: a FROM line sees only the global ARGs.
fn from_args(f: &crate::dockerfile::instructions::From, globals: &GlobalScope, sink: &mut Sink) {
    let esc = globals.esc;
    let mut undeclared = false;
    for w in std::iter::once(&f.image).chain(f.platform.iter()) {
        let e = expand(esc, &w.value, &globals.values);
        for name in &e.unmatched {
            if is_var_name(name)
                && !globals.declared.contains(name)
                && !PREDEFINED_ARGS.contains(&name.as_str())
            {
                let hint = suggest(name, globals.declared.iter().map(String::as_str))
                    .map(|s| format!(" (did you mean {s}?)"))
                    .unwrap_or_default();
                undeclared = true;
                sink.report(
                    "UndefinedArgInFrom",
                    w.span,
                    format!("FROM argument '{name}' is not declared{hint}"),
                );
            }
        }
    }
    if f.image.value.contains('$') && !undeclared {
        let d = expand(esc, &f.image.value, &globals.defaults).result;
        if !valid_image_name(&d) {
            sink.report(
                "InvalidDefaultArgInFrom",
                f.image.span,
                format!(
                    "Default value for ARG {} results in empty or invalid base image name",
                    f.image.value
                ),
            );
        }
    }
}

/// The variables one stage has declared so far, as its instructions are walked in order.
struct StageScope {
    esc: char,
    /// Built on an image rather than on another stage: the image may set common variables we cannot see.
    external: bool,
    vars: BTreeMap<String, String>,
    declared: BTreeSet<String>,
    workdir_set: bool,
}

impl StageScope {
    /// Expands `w`, reporting UndefinedVar for each variable neither declared nor predefined.
    fn check(&self, w: &Word, sink: &mut Sink) -> String {
        let e = expand(self.esc, &w.value, &self.vars);
        for name in &e.unmatched {
            let known = self.declared.contains(name)
                || PREDEFINED_ARGS.contains(&name.as_str())
                || (self.external && IMAGE_ENV.contains(&name.as_str()));
            if is_var_name(name) && !known {
                let hint = suggest(name, self.declared.iter().map(String::as_str))
                    .map(|s| format!(" (did you mean ${s}?)"))
                    .unwrap_or_default();
                sink.report(
                    "UndefinedVar",
                    w.span,
                    format!("Usage of undefined variable '${name}'{hint}"),
                );
            }
        }
        e.result
    }

    /// Where the expanded value is not needed: a word without `$` references no variable, so there is
    /// nothing to report and nothing to expand.
    fn warn(&self, w: &Word, sink: &mut Sink) {
        if w.value.contains('$') {
            self.check(w, sink);
        }
    }

    fn visit(&mut self, c: &Command, opts: &LintOptions, globals: &GlobalScope, sink: &mut Sink) {
        match &c.instruction {
            Instruction::Arg { args } => {
                secrets(c, sink);
                for a in args {
                    self.declare_arg(a, opts, globals, sink);
                }
            }
            Instruction::Env { vars: kvs } => {
                secrets(c, sink);
                for kv in kvs {
                    let v = self.check(&kv.value, sink);
                    self.declared.insert(kv.key.value.clone());
                    self.vars.insert(kv.key.value.clone(), v);
                }
            }
            Instruction::Label { labels } => {
                for kv in labels {
                    self.warn(&kv.key, sink);
                    self.warn(&kv.value, sink);
                }
            }
            Instruction::Workdir { path } => self.workdir(path, sink),
            Instruction::Copy(cp) => {
                for w in cp
                    .files
                    .sources
                    .iter()
                    .chain([&cp.files.dest])
                    .chain(cp.chown.iter())
                    .chain(cp.chmod.iter())
                    .chain(cp.from.iter())
                {
                    self.warn(w, sink);
                }
            }
            Instruction::Add(a) => {
                for w in a
                    .files
                    .sources
                    .iter()
                    .chain([&a.files.dest])
                    .chain(a.chown.iter())
                    .chain(a.chmod.iter())
                {
                    self.warn(w, sink);
                }
            }
            Instruction::User { user: w } | Instruction::Stopsignal { signal: w } => {
                self.warn(w, sink);
            }
            Instruction::Expose { ports: ws } | Instruction::Volume { paths: ws } => {
                for w in ws {
                    self.warn(w, sink);
                }
            }
            _ => {}
        }
    }

    /// One ARG of a stage: its value comes from `--build-arg`, its default, or the global of that name.
    fn declare_arg(&mut self, a: &ArgDef, opts: &LintOptions, globals: &GlobalScope, sink: &mut Sink) {
        let name = a.name.value.clone();
        let value = match (opts.build_args.get(&name), &a.default) {
            (Some(v), _) => Some(v.clone()),
            (None, Some(d)) => Some(self.check(d, sink)),
            (None, None) => globals
                .values
                .get(&name)
                .filter(|_| globals.declared.contains(&name) || PREDEFINED_ARGS.contains(&name.as_str()))
                .cloned(),
        };
        self.declared.insert(name.clone());
        if let Some(v) = value {
            self.vars.insert(name, v);
        }
    }

    /// WORKDIR: expands the path, and flags the stage's first WORKDIR if it is relative.
    fn workdir(&mut self, path: &Word, sink: &mut Sink) {
        let unresolved = expand(self.esc, &path.value, &self.vars)
            .unmatched
            .iter()
            .any(|n| !self.declared.contains(n));
        let p = self.check(path, sink);
        if !self.workdir_set && !unresolved && !p.starts_with('/') {
            sink.report(
                "WorkdirRelativePath",
                path.span,
                format!("Relative workdir \"{p}\" can have unexpected results if the base image changes"),
            );
        }
        self.workdir_set = true;
    }
}

fn secrets(c: &Command, sink: &mut Sink) {
    let names: Vec<&Word> = match &c.instruction {
        Instruction::Arg { args } => args.iter().map(|a| &a.name).collect(),
        Instruction::Env { vars } => vars.iter().map(|kv| &kv.key).collect(),
        _ => return,
    };
    for n in names {
        if is_secret_name(&n.value) {
            sink.report(
                "SecretsUsedInArgOrEnv",
                n.span,
                format!(
                    "Do not use ARG or ENV instructions for sensitive data ({} \"{}\")",
                    c.keyword, n.value
                ),
            );
        }
    }
}

/// Rough check of an image reference: non-empty, no spaces, no empty tag or digest.
fn valid_image_name(s: &str) -> bool {
    !s.is_empty()
        && !s.contains(char::is_whitespace)
        && !s.ends_with(':')
        && !s.ends_with('@')
        && !s.starts_with(':')
        && !s.starts_with('/')
        && !s.ends_with('/')
        && !s.contains("//")
        && !s.contains(":@")
}
