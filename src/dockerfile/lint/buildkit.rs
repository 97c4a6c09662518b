//! BuildKit's build checks (`frontend/dockerfile/linter`), by their names and messages.

use std::collections::{BTreeMap, BTreeSet};

use super::{LintOptions, Sink};
use crate::dockerfile::error::buildkit_suggestion;
use crate::dockerfile::evaluate::expanded_words;
use crate::dockerfile::ignore::clean;
use crate::dockerfile::instructions::{ArgDef, Command, Instruction};
use crate::dockerfile::shell::go_quote;
use crate::dockerfile::stages::{expand, global_args, PREDEFINED_ARGS};
use crate::dockerfile::syntax::{Node, Word};
use crate::dockerfile::{Dockerfile, DEFAULT_PATH};

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

/// ConsistentInstructionCasing over the stages' instructions, as BuildKit counts them: the ARGs before the
/// first FROM are not part of a stage, and an ONBUILD counts as ONBUILD (its trigger is not an instruction).
fn casing(nodes: &[Node], sink: &mut Sink) {
    let first_from = nodes
        .iter()
        .position(|n| n.keyword.value.eq_ignore_ascii_case("from"))
        .unwrap_or(nodes.len());
    let all: Vec<&Node> = nodes[first_from..].iter().collect();
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
        sink.unscope();
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
    sink.scope(&n.comments);
    if let Some(p) = &f.platform {
        let v = p.value.trim_start_matches("--platform=");
        if v == "$TARGETPLATFORM" || v == "${TARGETPLATFORM}" {
            sink.report(
                "RedundantTargetPlatform",
                p.span,
                format!(
                    "Setting platform to predefined {v} in FROM is redundant as this is the default behavior"
                ),
            );
        } else if let (false, Some((os, arch))) = (v.contains('$'), parse_platform(v)) {
            // A stage named after the platform's OS or architecture is exempt.
            let name = f.name.as_ref().map_or("", |n| n.value.as_str());
            if !name.contains(os.as_str()) && !name.contains(arch.as_str()) {
                sink.report(
                    "FromPlatformFlagConstDisallowed",
                    p.span,
                    format!(
                        "FROM --platform flag should not use constant value {}",
                        go_quote(v)
                    ),
                );
            }
        }
    }
    sink.unscope();
}

/// `os[/arch[/variant]]` as containerd's `platforms.Parse` reads it, with the architecture normalized (one
/// part is an OS, with amd64, or a known architecture, on linux); `None` where it fails (BuildKit then leaves
/// FromPlatformFlagConstDisallowed quiet).
fn parse_platform(v: &str) -> Option<(String, String)> {
    const OSES: [&str; 6] = ["linux", "windows", "darwin", "freebsd", "netbsd", "openbsd"];
    let normal = |a: &str| -> Option<String> {
        Some(
            match a.to_ascii_lowercase().as_str() {
                "amd64" | "x86_64" | "x86-64" => "amd64",
                "arm64" | "aarch64" => "arm64",
                "arm" | "armhf" | "armel" => "arm",
                "386" | "i386" | "i686" | "x86" => "386",
                "ppc64le" => "ppc64le",
                "s390x" => "s390x",
                "riscv64" => "riscv64",
                "mips64le" => "mips64le",
                "loong64" => "loong64",
                _ => return None,
            }
            .to_string(),
        )
    };
    let parts: Vec<&str> = v.split('/').collect();
    match parts.as_slice() {
        [one] if OSES.contains(&one.to_ascii_lowercase().as_str()) => {
            Some((one.to_ascii_lowercase(), "amd64".into()))
        }
        [one] => normal(one).map(|a| ("linux".into(), a)),
        // Two or three parts: any well-formed names; the known architectures are normalized.
        [os, arch] | [os, arch, _] if [os, arch].iter().all(|p| is_specifier(p)) => Some((
            os.to_ascii_lowercase(),
            normal(arch).unwrap_or_else(|| arch.to_ascii_lowercase()),
        )),
        _ => None,
    }
}

/// containerd's `specifierRe` (`^[A-Za-z0-9_-]+$`).
fn is_specifier(p: &str) -> bool {
    !p.is_empty()
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The checks of a single instruction: deprecated forms, EXPOSE formats and sources .dockerignore excludes.
/// A `# check=` comment before the instruction applies to these (reported while BuildKit dispatches it), not
/// to MaintainerDeprecated (reported while parsing).
fn instruction(c: &Command, n: &Node, opts: &LintOptions, sink: &mut Sink) {
    if !matches!(c.instruction, Instruction::Maintainer { .. }) {
        sink.scope(&n.comments);
    }
    match &c.instruction {
        Instruction::Maintainer { name } => sink.report(
            "MaintainerDeprecated",
            n.keyword.span.clone_with_end(name.span),
            "Maintainer instruction is deprecated in favor of using label".into(),
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
/// Reported at the earlier instruction, with the later one's `# check=` comment (it is the one dispatched).
fn multiple_instructions(df: &Dockerfile, sink: &mut Sink) {
    for st in &df.stages.stages {
        let mut last: BTreeMap<&str, &Command> = BTreeMap::new();
        for i in st.first_command..=st.last_command {
            let c = &df.commands[i];
            if matches!(c.keyword.as_str(), "CMD" | "ENTRYPOINT" | "HEALTHCHECK") {
                sink.scope(&df.syntax.nodes[i].comments);
                if let Some(prev) = last.insert(c.keyword.as_str(), c) {
                    sink.report(
                        "MultipleInstructionsDisallowed",
                        prev.span,
                        format!("Multiple {} instructions should not be used in the same stage because only the last one will be used", prev.keyword),
                    );
                }
                sink.unscope();
            }
        }
    }
}

/// InvalidBaseImagePlatform, when the caller knows what was pulled: the OS or architecture of the image's
/// config differs from the stage's platform (its `--platform`, else the build's target), as BuildKit's
/// `validateBaseImagePlatform` compares them.
fn base_platforms(df: &Dockerfile, opts: &LintOptions, sink: &mut Sink) {
    if opts.base_platforms.is_empty() {
        return;
    }
    let target = opts.target_platform.as_deref().unwrap_or("linux/amd64");
    let esc = df.syntax.escape;
    let (_, globals) = global_args(&df.commands, &df.stages.meta_args, esc, &opts.build_args);
    for st in &df.stages.stages {
        let Some(got) = opts.base_platforms.get(&st.base_expanded) else {
            continue;
        };
        let expected = match &df.commands[st.first_command].instruction {
            Instruction::From(f) => f
                .platform
                .as_ref()
                .map(|p| expand(esc, &p.value, &globals).result),
            _ => None,
        }
        .unwrap_or_else(|| target.to_string());
        if parse_platform(got) != parse_platform(&expected) {
            sink.report(
                "InvalidBaseImagePlatform",
                st.span,
                format!(
                    "Base image {} was pulled with platform {}, expected {} for current build",
                    st.base_expanded,
                    go_quote(got),
                    go_quote(&expected)
                ),
            );
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

/// CopyIgnoredFile. As BuildKit: silent when the `.dockerignore` has exclusions (`!path`), which make a static
/// answer unreliable; the path is cleaned first. The context root (`.`) is never reported: BuildKit does not
/// warn on `COPY . .` with a `.dockerignore` of `.*`.
fn copy_ignored(verb: &str, sources: &[Word], opts: &LintOptions, sink: &mut Sink) {
    let Some(di) = &opts.dockerignore else { return };
    if di.patterns.iter().any(|p| p.exclusion) {
        return;
    }
    for s in sources {
        let v = &s.value;
        if v.contains("://") || v.starts_with("git@") || v.contains('$') || v.starts_with("<<") {
            continue;
        }
        let src = clean(v);
        if src != "." && di.is_excluded(&src) {
            sink.report(
                "CopyIgnoredFile",
                s.span,
                format!(
                    "Attempting to {verb} file {} that is excluded by .dockerignore",
                    go_quote(&src)
                ),
            );
        }
    }
}

fn is_var_name(n: &str) -> bool {
    n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Secret-looking names, as BuildKit's `SecretsUsedInArgOrEnv` sees them: a whole `_`-separated part
/// (case-insensitive) is a secret word, and none is `public`, `file` or `version`
/// (`(?i)(?:_|^)(?:...)(?:_|$)` for both lists in `dockerfile2llb/validations.go`).
fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let tokens: Vec<&str> = lower.split('_').collect();
    if tokens.iter().any(|t| matches!(*t, "public" | "file" | "version")) {
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
    let mut passed: Vec<Inherited> = Vec::new();
    for st in &df.stages.stages {
        let from = st.first_command;
        sink.scope(&df.syntax.nodes[from].comments);
        if let Instruction::From(f) = &df.commands[from].instruction {
            from_args(f, &globals, sink);
        }
        sink.unscope();
        let base = match st.base_stage {
            Some(b) => passed.get(b).cloned().unwrap_or_default(),
            // BuildKit always sets PATH (from the image, or its default).
            None => Inherited {
                env: BTreeMap::from([("PATH".to_string(), DEFAULT_PATH.to_string())]),
                ..Inherited::default()
            },
        };
        let mut scope = StageScope {
            esc,
            external: st.base_stage.is_none(),
            declared: base.env.keys().cloned().collect(),
            vars: base.env.clone(),
            workdir_set: base.workdir_set,
            shell: base.shell,
        };
        for i in from + 1..=st.last_command {
            sink.scope(&df.syntax.nodes[i].comments);
            scope.visit(&df.commands[i], opts, &globals, sink);
            sink.unscope();
        }
        // Only ENV carries over to stages built on this one; ARGs do not.
        let mut env = base.env;
        for c in &df.commands[from..=st.last_command] {
            if let Instruction::Env { vars: kvs } = &c.instruction {
                for kv in kvs {
                    if let Some(v) = scope.vars.get(&kv.key.value) {
                        env.insert(kv.key.value.clone(), v.clone());
                    }
                }
            }
        }
        passed.push(Inherited {
            env,
            shell: scope.shell,
            workdir_set: scope.workdir_set,
        });
    }
}

/// What a stage hands to the stages built on it (BuildKit's `dispatchState.init` clones the image config):
/// its environment, whether a SHELL was set and whether a WORKDIR was.
#[derive(Debug, Clone, Default)]
struct Inherited {
    env: BTreeMap<String, String>,
    shell: bool,
    workdir_set: bool,
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
                let hint = buildkit_suggestion(name, globals.declared.iter().map(String::as_str), true)
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
    /// A SHELL is set (here or in a parent stage): JSONArgsRecommended is silent then.
    shell: bool,
}

impl StageScope {
    /// Expands `w`, reporting UndefinedVar for each variable not declared in the stage. As in BuildKit, the
    /// predefined platform and proxy args are undefined inside a stage until an `ARG NAME` declares them;
    /// PATH is always defined, and the two SBOM scan args are never reported.
    fn check(&self, w: &Word, sink: &mut Sink) -> String {
        let e = expand(self.esc, &w.value, &self.vars);
        for name in &e.unmatched {
            let known = self.declared.contains(name)
                || name == "PATH"
                || matches!(
                    name.as_str(),
                    "BUILDKIT_SBOM_SCAN_CONTEXT" | "BUILDKIT_SBOM_SCAN_STAGE"
                )
                || (self.external && IMAGE_ENV.contains(&name.as_str()));
            if is_var_name(name) && !known {
                let hint = buildkit_suggestion(name, self.declared.iter().map(String::as_str), true)
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
                // Every value expands against the environment before the line (`ENV A=1 B=$A`: A is unset).
                let values: Vec<String> = kvs.iter().map(|kv| self.check(&kv.value, sink)).collect();
                for (kv, v) in kvs.iter().zip(values) {
                    self.declared.insert(kv.key.value.clone());
                    self.vars.insert(kv.key.value.clone(), v);
                }
            }
            Instruction::Shell { .. } => self.shell = true,
            Instruction::Cmd(cl) | Instruction::Entrypoint(cl)
                if !cl.exec_form && !cl.args.is_empty() && !self.shell =>
            {
                sink.report(
                    "JSONArgsRecommended",
                    cl.args[0].span,
                    format!(
                        "JSON arguments recommended for {} to prevent unintended behavior related to OS signals",
                        c.keyword
                    ),
                );
            }
            Instruction::Workdir { path } => self.workdir(path, sink),
            Instruction::Expose { ports } => {
                for w in ports {
                    self.warn(w, sink);
                }
            }
            // BuildKit reports UndefinedVar on the words it expands before dispatching (not `COPY --from`).
            other => {
                for w in expanded_words(other) {
                    self.warn(w, sink);
                }
            }
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

    /// WORKDIR: expands the path, and flags the first WORKDIR of the stage (or of the stages it is built on)
    /// if the expanded path is relative.
    fn workdir(&mut self, path: &Word, sink: &mut Sink) {
        let p = self.check(path, sink);
        if !self.workdir_set && !p.starts_with('/') {
            sink.report(
                "WorkdirRelativePath",
                path.span,
                format!(
                    "Relative workdir {} can have unexpected results if the base image changes",
                    go_quote(&p)
                ),
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
