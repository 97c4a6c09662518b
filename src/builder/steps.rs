//! Instructions that change only the image config (ENV, LABEL, CMD, ...), with their history strings, and
//! the word expansion every instruction shares.

use std::collections::BTreeMap;

use super::history::{plain_list, port_map, quoted_list, HealthcheckConfig};
use super::state::StageState;
use super::BuildError;
use crate::dockerfile::instructions::{ArgDef, CmdLine, Command, Healthcheck, Instruction, KeyValue};
use crate::dockerfile::shell::Lexer;
use crate::dockerfile::syntax::Word;

/// Build args and global ARG values, for ARG inside a stage.
pub struct ArgScope<'a> {
    pub build_args: &'a BTreeMap<String, String>,
    pub globals: &'a BTreeMap<String, String>,
}

/// ARGs that never become environment variables of RUN (BuildKit's `nonEnvArgs`).
const NON_ENV_ARGS: [&str; 2] = ["SOURCE_DATE_EPOCH", "BUILDKIT_SYNTAX"];

pub fn vars_map(vars: &[(String, String)]) -> BTreeMap<String, String> {
    vars.iter().cloned().collect()
}

/// Expands one word with the stage's variables (BuildKit's `ProcessWord`).
pub fn expand(
    escape: char,
    word: &str,
    vars: &BTreeMap<String, String>,
    line: usize,
) -> Result<String, BuildError> {
    Lexer::new(escape)
        .process(word, vars)
        .map(|e| e.result)
        .map_err(|e| BuildError::Instruction {
            line,
            message: e.to_string(),
        })
}

/// Expands a word into several (BuildKit's `ProcessWords`, for EXPOSE).
fn expand_words(
    escape: char,
    word: &str,
    vars: &BTreeMap<String, String>,
    line: usize,
) -> Result<Vec<String>, BuildError> {
    Lexer::new(escape)
        .process(word, vars)
        .map(|e| e.words)
        .map_err(|e| BuildError::Instruction {
            line,
            message: e.to_string(),
        })
}

/// The argv of CMD, ENTRYPOINT or RUN: exec form as is, shell form through SHELL (default `/bin/sh -c`).
pub fn command_argv(cmd: &CmdLine, shell: &[String]) -> Vec<String> {
    let args: Vec<String> = cmd.args.iter().map(|w| w.value.clone()).collect();
    if cmd.exec_form {
        return args;
    }
    let mut argv = if shell.is_empty() {
        vec!["/bin/sh".to_owned(), "-c".to_owned()]
    } else {
        shell.to_vec()
    };
    argv.push(args.join(" "));
    argv
}

/// `8000` → `8000/tcp`; `8000-8001/udp` → both ports (docker's `nat.ParsePortSpecs`).
fn port_specs(word: &str, line: usize) -> Result<Vec<String>, BuildError> {
    let bad = || BuildError::Instruction {
        line,
        message: format!("invalid containerPort: {word}"),
    };
    let (ports, proto) = match word.rsplit_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (word, "tcp".to_owned()),
    };
    // `ip:hostPort:containerPort` forms: EXPOSE keeps the container port.
    let ports = ports.rsplit(':').next().unwrap_or(ports);
    let (lo, hi) = match ports.split_once('-') {
        Some((a, b)) => (
            a.parse::<u16>().map_err(|_| bad())?,
            b.parse::<u16>().map_err(|_| bad())?,
        ),
        None => {
            let p = ports.parse::<u16>().map_err(|_| bad())?;
            (p, p)
        }
    };
    if hi < lo {
        return Err(bad());
    }
    Ok((lo..=hi).map(|p| format!("{p}/{proto}")).collect())
}

/// Expands the words of one instruction with the stage's variables as the instruction starts.
struct Words {
    escape: char,
    vars: BTreeMap<String, String>,
    line: usize,
}

impl Words {
    fn one(&self, word: &str) -> Result<String, BuildError> {
        expand(self.escape, word, &self.vars, self.line)
    }

    fn pairs(&self, pairs: &[KeyValue]) -> Result<Vec<(String, String)>, BuildError> {
        pairs
            .iter()
            .map(|kv| Ok((self.one(&kv.key.value)?, self.one(&kv.value.value)?)))
            .collect()
    }
}

/// Applies an instruction that changes only the config; returns its history string (`None`: no entry, as
/// ONBUILD). Layer instructions (COPY, ADD, RUN, WORKDIR) are the engine's.
pub fn apply_metadata(
    st: &mut StageState,
    cmd: &Command,
    escape: char,
    args: &ArgScope<'_>,
) -> Result<Option<String>, BuildError> {
    let line = cmd.line;
    let words = Words {
        escape,
        vars: vars_map(&st.vars),
        line,
    };
    let created_by = match &cmd.instruction {
        Instruction::Env { vars: pairs } => apply_env(st, &words.pairs(pairs)?),
        Instruction::Label { labels } => apply_labels(st, words.pairs(labels)?),
        Instruction::Maintainer { .. } | Instruction::User { .. } | Instruction::Stopsignal { .. } => {
            apply_config_word(st, &cmd.instruction, &words)?
        }
        Instruction::Expose { ports } => apply_expose(st, ports, &words)?,
        Instruction::Volume { paths } => apply_volumes(st, paths, &words)?,
        Instruction::Shell { shell } => {
            st.extras.shell = shell.iter().map(|w| w.value.clone()).collect();
            format!("SHELL {}", plain_list(&st.extras.shell))
        }
        Instruction::Onbuild { expression, .. } => {
            st.extras.onbuild.push(expression.clone());
            return Ok(None);
        }
        Instruction::Cmd(cmdline) => apply_cmd(st, cmdline),
        Instruction::Entrypoint(cmdline) => apply_entrypoint(st, cmdline),
        Instruction::Healthcheck(h) => apply_healthcheck(st, h),
        Instruction::Arg { args: defs } => apply_args(st, defs, args, escape, line)?,
        other => {
            return Err(BuildError::Instruction {
                line,
                message: format!("internal: {} is not a metadata instruction", kind(other)),
            })
        }
    };
    Ok(Some(created_by))
}

fn apply_env(st: &mut StageState, pairs: &[(String, String)]) -> String {
    let mut msg = String::from("ENV");
    for (k, v) in pairs {
        msg.push_str(&format!(" {k}={v}"));
        st.set_env(k, v);
    }
    msg
}

fn apply_labels(st: &mut StageState, pairs: Vec<(String, String)>) -> String {
    let mut inner = st.inner();
    let mut map = inner.labels().clone().unwrap_or_default();
    let mut msg = String::from("LABEL");
    for (k, v) in pairs {
        msg.push_str(&format!(" {k}={v}"));
        map.insert(k, v);
    }
    inner.set_labels(Some(map));
    st.set_inner(inner);
    msg
}

/// MAINTAINER, USER and STOPSIGNAL: one expanded word into one config field.
fn apply_config_word(
    st: &mut StageState,
    instruction: &Instruction,
    words: &Words,
) -> Result<String, BuildError> {
    Ok(match instruction {
        Instruction::Maintainer { name } => {
            let name = words.one(&name.value)?;
            st.config.set_author(Some(name.clone()));
            format!("MAINTAINER {name}")
        }
        Instruction::User { user } => {
            let user = words.one(&user.value)?;
            let mut inner = st.inner();
            inner.set_user(Some(user.clone()));
            st.set_inner(inner);
            format!("USER {user}")
        }
        Instruction::Stopsignal { signal } => {
            let signal = words.one(&signal.value)?;
            let mut inner = st.inner();
            inner.set_stop_signal(Some(signal.clone()));
            st.set_inner(inner);
            format!("STOPSIGNAL {signal}")
        }
        other => unreachable!("{} is not a one-word config instruction", kind(other)),
    })
}

fn apply_expose(st: &mut StageState, ports: &[Word], words: &Words) -> Result<String, BuildError> {
    let mut specs = Vec::new();
    for p in ports {
        for word in expand_words(words.escape, &p.value, &words.vars, words.line)? {
            specs.extend(port_specs(&word, words.line)?);
        }
    }
    let mut inner = st.inner();
    let mut all = inner.exposed_ports().clone().unwrap_or_default();
    for s in &specs {
        if !all.contains(s) {
            all.push(s.clone());
        }
    }
    inner.set_exposed_ports(Some(all));
    st.set_inner(inner);
    Ok(format!("EXPOSE {}", port_map(&specs)))
}

fn apply_volumes(st: &mut StageState, paths: &[Word], words: &Words) -> Result<String, BuildError> {
    let paths = paths
        .iter()
        .map(|p| words.one(&p.value))
        .collect::<Result<Vec<_>, _>>()?;
    if paths.iter().any(String::is_empty) {
        return Err(BuildError::Instruction {
            line: words.line,
            message: "VOLUME specified can not be an empty string".into(),
        });
    }
    let mut inner = st.inner();
    let mut all = inner.volumes().clone().unwrap_or_default();
    for p in &paths {
        if !all.contains(p) {
            all.push(p.clone());
        }
    }
    inner.set_volumes(Some(all));
    st.set_inner(inner);
    Ok(format!("VOLUME {}", plain_list(&paths)))
}

fn apply_cmd(st: &mut StageState, cmdline: &CmdLine) -> String {
    let argv = command_argv(cmdline, &st.extras.shell);
    let mut inner = st.inner();
    inner.set_cmd(Some(argv.clone()));
    st.set_inner(inner);
    st.extras.args_escaped = true;
    st.cmd_set = true;
    format!("CMD {}", quoted_list(&argv))
}

/// ENTRYPOINT also clears a CMD inherited from the base, unless this stage set one (as docker does).
fn apply_entrypoint(st: &mut StageState, cmdline: &CmdLine) -> String {
    let argv = command_argv(cmdline, &st.extras.shell);
    let mut inner = st.inner();
    inner.set_entrypoint(Some(argv.clone()));
    if !st.cmd_set {
        inner.set_cmd(None);
    }
    st.set_inner(inner);
    format!("ENTRYPOINT {}", quoted_list(&argv))
}

fn apply_healthcheck(st: &mut StageState, h: &Healthcheck) -> String {
    let test = match &h.cmd {
        None => vec!["NONE".to_owned()],
        Some(c) if c.exec_form => {
            let mut t = vec!["CMD".to_owned()];
            t.extend(c.args.iter().map(|w| w.value.clone()));
            t
        }
        Some(c) => vec![
            "CMD-SHELL".to_owned(),
            c.args
                .iter()
                .map(|w| w.value.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ],
    };
    let config = HealthcheckConfig {
        test,
        interval: h.interval,
        timeout: h.timeout,
        start_period: h.start_period,
        start_interval: h.start_interval,
        retries: h.retries,
    };
    let msg = config.created_by();
    st.extras.healthcheck = Some(config);
    msg
}

/// ARG inside a stage: each value comes from `--build-arg`, its default (expanded with the ARGs before it),
/// or the global ARG of that name.
fn apply_args(
    st: &mut StageState,
    defs: &[ArgDef],
    args: &ArgScope<'_>,
    escape: char,
    line: usize,
) -> Result<String, BuildError> {
    let mut parts = Vec::new();
    for def in defs {
        let name = def.name.value.clone();
        let value = if let Some(v) = args.build_args.get(&name) {
            Some(v.clone())
        } else if let Some(d) = &def.default {
            Some(expand(escape, &d.value, &vars_map(&st.vars), line)?)
        } else {
            args.globals.get(&name).cloned()
        };
        match &value {
            Some(v) => {
                if !NON_ENV_ARGS.contains(&name.as_str()) {
                    st.vars.push((name.clone(), v.clone()));
                }
                st.build_args.retain(|(k, _)| k != &name);
                st.build_args.push((name.clone(), Some(v.clone())));
                parts.push(format!("{name}={v}"));
            }
            None => {
                // Declared without a value: RUN's history still lists it (`|1 NAME=`), as BuildKit's.
                st.build_args.retain(|(k, _)| k != &name);
                st.build_args.push((name.clone(), None));
                parts.push(name.clone());
            }
        }
    }
    Ok(format!("ARG {}", parts.join(" ")))
}

fn kind(i: &Instruction) -> &'static str {
    match i {
        Instruction::From(_) => "FROM",
        Instruction::Run(_) => "RUN",
        Instruction::Copy(_) => "COPY",
        Instruction::Add(_) => "ADD",
        Instruction::Workdir { .. } => "WORKDIR",
        _ => "instruction",
    }
}

/// Docker's WORKDIR rule: relative paths join the current one; the result is clean and absolute.
pub fn normalize_workdir(current: &str, path: &str) -> String {
    format!("/{}", crate::layer::copy::resolve_dest(path, current))
}

/// The shell script of a RUN with heredocs, as BuildKit makes it: `RUN <<EOF` alone runs the document's content;
/// otherwise the documents follow the command line, so the shell reads them as here-documents.
pub(super) fn heredoc_script(command: &str, docs: &[crate::dockerfile::syntax::Heredoc]) -> String {
    let marker = command.trim();
    let alone = docs.len() == 1 && marker.starts_with("<<") && !marker.contains(char::is_whitespace);
    if alone {
        let doc = &docs[0];
        return if doc.chomp {
            crate::dockerfile::instructions::chomp(&doc.content)
        } else {
            doc.content.clone()
        };
    }
    let mut full = command.to_owned();
    for doc in docs {
        full.push('\n');
        full.push_str(&doc.content);
        full.push_str(&doc.name);
    }
    full
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_workdirs() {
        assert_eq!(port_specs("8000", 1).unwrap(), ["8000/tcp"]);
        assert_eq!(port_specs("53/UDP", 1).unwrap(), ["53/udp"]);
        assert_eq!(port_specs("8000-8001", 1).unwrap(), ["8000/tcp", "8001/tcp"]);
        assert!(port_specs("http", 1).is_err());
        assert_eq!(normalize_workdir("/", "app"), "/app");
        assert_eq!(normalize_workdir("/app", "../srv/./x/"), "/srv/x");
        assert_eq!(normalize_workdir("/app", "/"), "/");
    }
}
