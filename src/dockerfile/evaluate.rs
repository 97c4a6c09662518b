//! The errors BuildKit stops on once it evaluates the stages (`dockerfile2llb`), after parsing succeeded: a base
//! name that expands to nothing, fails to expand or is no valid image reference, a word of an instruction that
//! fails to expand (`${x:i}`, `${X:?msg}` with X unset, `${}`, an unmatched quote), an invalid EXPOSE port, a
//! variable in `COPY --from` and a circular dependency between stages (a stage copying from itself included). Every stage is evaluated, as `docker build --check` does.

use std::collections::BTreeMap;

use super::error::Error;
use super::instructions::{Command, Instruction, SourcesAndDest};
use super::shell::{go_quote, Lexer};
use super::span::Span;
use super::stages::{global_args, StageGraph};
use super::syntax::Word;
use crate::image::reference::ReferenceError;
use crate::image::Reference;

/// The `PATH` BuildKit gives every stage whose image sets none (`system.DefaultPathEnv("linux")`).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Evaluates every stage of a parsed Dockerfile the way BuildKit does before building.
pub(crate) fn check(
    commands: &[Command],
    graph: &StageGraph,
    escape: char,
    build_args: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let lex = Lexer::new(escape);
    meta_args(&lex, commands, &graph.meta_args, build_args)?;
    let (declared, globals) = global_args(commands, &graph.meta_args, escape, build_args);
    for st in &graph.stages {
        if let Instruction::From(f) = &commands[st.first_command].instruction {
            base_name(&lex, f, &globals, st.span, st.base_stage.is_some())?;
        }
    }
    copy_from_words(&lex, commands)?;
    circular(commands, graph)?;
    let mut stage_env: Vec<BTreeMap<String, String>> = Vec::new();
    for st in &graph.stages {
        let mut env = match st.base_stage {
            Some(b) => stage_env.get(b).cloned().unwrap_or_default(),
            None => BTreeMap::from([("PATH".to_string(), DEFAULT_PATH.to_string())]),
        };
        // ARG values live in the stage's environment while it runs but do not pass on to stages built on it.
        let mut vars = env.clone();
        for c in &commands[st.first_command + 1..=st.last_command] {
            let at = |message: String| Error::Expansion {
                message,
                span: c.span,
            };
            let word = |w: &Word, vars: &BTreeMap<String, String>| {
                lex.process(&w.value, vars).map_err(|e| at(e.to_string()))
            };
            match &c.instruction {
                Instruction::Env { vars: kvs } => {
                    // Every value expands against the environment before the line.
                    let mut set = Vec::new();
                    for kv in kvs {
                        set.push((word(&kv.key, &vars)?.result, word(&kv.value, &vars)?.result));
                    }
                    for (k, v) in set {
                        env.insert(k.clone(), v.clone());
                        vars.insert(k, v);
                    }
                }
                Instruction::Arg { args } => {
                    for a in args {
                        let name = &a.name.value;
                        let value = match (build_args.get(name), &a.default) {
                            (Some(v), _) => Some(v.clone()),
                            (None, Some(d)) => Some(word(d, &vars)?.result),
                            (None, None) => globals.get(name).filter(|_| declared.contains(name)).cloned(),
                        };
                        if let Some(v) = value {
                            vars.insert(name.clone(), v);
                        }
                    }
                }
                Instruction::Expose { ports } => {
                    for p in ports {
                        for port in word(p, &vars)?.words {
                            expose_port(&port).map_err(at)?;
                        }
                    }
                }
                other => {
                    for w in expanded_words(other) {
                        word(w, &vars)?;
                    }
                }
            }
        }
        stage_env.push(env);
    }
    Ok(())
}

/// The defaults of the ARGs before the first FROM must expand (BuildKit's `buildMetaArgs`), each against the
/// ones before it; a `--build-arg` replaces the default unexpanded.
fn meta_args(
    lex: &Lexer,
    commands: &[Command],
    meta: &[usize],
    build_args: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let mut vars = super::stages::platform_args();
    for &i in meta {
        let Instruction::Arg { args } = &commands[i].instruction else {
            continue;
        };
        for a in args {
            let value = match (build_args.get(&a.name.value), &a.default) {
                (Some(v), _) => v.clone(),
                (None, Some(d)) => {
                    lex.process(&d.value, &vars)
                        .map_err(|e| Error::Expansion {
                            message: e.to_string(),
                            span: commands[i].span,
                        })?
                        .result
                }
                (None, None) => continue,
            };
            vars.insert(a.name.value.clone(), value);
        }
    }
    Ok(())
}

/// A COPY's or ADD's sources, destination, `--chown` and `--chmod` (heredoc sources are not expanded).
fn file_words<'a>(f: &'a SourcesAndDest, chown: &'a Option<Word>, chmod: &'a Option<Word>) -> Vec<&'a Word> {
    f.sources
        .iter()
        .chain([&f.dest])
        .chain(chown.iter())
        .chain(chmod.iter())
        .filter(|w| !w.value.starts_with("<<"))
        .collect()
}

/// The words BuildKit expands before dispatching an instruction (`SupportsSingleWordExpansion`), ENV, ARG and
/// EXPOSE aside (they need more than expanding).
pub(crate) fn expanded_words(i: &Instruction) -> Vec<&Word> {
    match i {
        Instruction::Label { labels } => labels.iter().flat_map(|kv| [&kv.key, &kv.value]).collect(),
        Instruction::Copy(cp) => file_words(&cp.files, &cp.chown, &cp.chmod),
        Instruction::Add(a) => file_words(&a.files, &a.chown, &a.chmod),
        Instruction::Volume { paths } => paths.iter().collect(),
        Instruction::User { user: w }
        | Instruction::Workdir { path: w }
        | Instruction::Stopsignal { signal: w } => {
            vec![w]
        }
        _ => Vec::new(),
    }
}

/// A FROM line's base name: it must expand, not be blank and, unless it names a stage or `scratch`, be a valid
/// image reference.
fn base_name(
    lex: &Lexer,
    f: &super::instructions::From,
    globals: &BTreeMap<String, String>,
    span: Span,
    is_stage: bool,
) -> Result<(), Error> {
    let at = |message: String| Error::Expansion { message, span };
    let base = lex
        .process(&f.image.value, globals)
        .map_err(|e| at(e.to_string()))?
        .result;
    if base.is_empty() {
        return Err(at(format!("base name ({}) should not be blank", f.image.value)));
    }
    if is_stage || base == "scratch" {
        return Ok(());
    }
    Reference::parse(&base).map(|_| ()).map_err(|e| {
        // distribution/reference's words (`ParseNormalizedNamed`), which are not always the docker CLI's.
        let why = match e {
            ReferenceError::Uppercase(_) | ReferenceError::HexIdentifier(_) => e.to_string(),
            ReferenceError::NameTooLong => "repository name must not be more than 255 characters".into(),
            _ => "invalid reference format".into(),
        };
        at(format!("failed to parse stage name {}: {why}", go_quote(&base)))
    })
}

/// `COPY --from=$X`: BuildKit's `toCommand` expands the value with no variables at all and refuses it when that
/// changes anything (a variable, quotes, an escape), or fails with the expansion's own error.
fn copy_from_words(lex: &Lexer, commands: &[Command]) -> Result<(), Error> {
    for c in commands {
        let Instruction::Copy(copy) = &c.instruction else {
            continue;
        };
        let Some(from) = &copy.from else { continue };
        let at = |message: String| Error::Instruction {
            message,
            span: c.span,
        };
        let expanded = lex
            .process(&from.value, &BTreeMap::new())
            .map_err(|e| at(e.to_string()))?;
        if expanded.result != from.value {
            return Err(at(
                "variable expansion is not supported for --from, define a new stage with FROM using \
                 ARG from global scope as a workaround"
                    .into(),
            ));
        }
    }
    Ok(())
}

/// `COPY --from` and `RUN --mount=from=` edges that close a circle (BuildKit's `validateCircularDependency`):
/// the error names the first stage, in file order, from which a circle is reachable.
fn circular(commands: &[Command], graph: &StageGraph) -> Result<(), Error> {
    let n = graph.stages.len();
    // 0 unvisited, 1 on the current path, 2 done.
    let mut mark = vec![0u8; n];
    fn visit(g: &StageGraph, s: usize, mark: &mut [u8], path: &mut Vec<Span>) -> bool {
        mark[s] = 1;
        for e in &g.stages[s].deps {
            path.push(e.span);
            if mark[e.stage] == 1 || (mark[e.stage] == 0 && visit(g, e.stage, mark, path)) {
                return true;
            }
            path.pop();
        }
        mark[s] = 2;
        false
    }
    for s in 0..n {
        let mut path = Vec::new();
        if mark[s] == 0 && visit(graph, s, &mut mark, &mut path) {
            let st = &graph.stages[s];
            let name = st.name.clone().unwrap_or_else(|| format!("stage-{s}"));
            let span = path.first().copied().unwrap_or(st.span);
            let line_span = commands
                .iter()
                .find(|c| c.span.start <= span.start && span.start <= c.span.end)
                .map_or(span, |c| c.span);
            return Err(Error::Instruction {
                message: format!("circular dependency detected on stage: {name}"),
                span: line_span,
            });
        }
    }
    Ok(())
}

/// One EXPOSE port as BuildKit's `parsePortSpec` reads it: `[ip:][hostPort:]port[-end][/proto]`.
fn expose_port(raw: &str) -> Result<(), String> {
    let parts: Vec<&str> = raw.split(':').collect();
    let k = parts.len();
    let (ip, host, container) = match k {
        1 => (String::new(), "", parts[0]),
        2 => (String::new(), parts[0], parts[1]),
        _ => (parts[..k - 2].join(":"), parts[k - 2], parts[k - 1]),
    };
    let (port, proto) = container.split_once('/').unwrap_or((container, ""));
    if port.is_empty() {
        return Err(format!("no port specified: {raw}<empty>"));
    }
    if !matches!(proto.to_ascii_lowercase().as_str(), "" | "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {}", proto.to_ascii_lowercase()));
    }
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("invalid IP address: {ip}"));
    }
    let (start, end) = port_range(port).map_err(|_| format!("invalid containerPort: {port}"))?;
    if !host.is_empty() {
        let (hs, he) = port_range(host).map_err(|_| format!("invalid hostPort: {host}"))?;
        if end - start != he - hs && end != start {
            return Err(format!(
                "invalid ranges specified for container and host Ports: {port} and {host}"
            ));
        }
    }
    Ok(())
}

/// `8000` or `8000-9000`, each a 16-bit number, the end not below the start.
fn port_range(ports: &str) -> Result<(u32, u32), ()> {
    let num = |s: &str| s.parse::<u16>().map(u32::from).map_err(|_| ());
    match ports.split_once('-') {
        None if !ports.is_empty() => Ok((num(ports)?, num(ports)?)),
        Some((a, b)) if !b.contains('-') => {
            let (s, e) = (num(a)?, num(b)?);
            if e < s {
                Err(())
            } else {
                Ok((s, e))
            }
        }
        _ => Err(()),
    }
}
