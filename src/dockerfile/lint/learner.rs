//! Learner rules beyond BuildKit: the mistakes the classic Docker tutorial teaches about (apt-get without
//! `-y`, `apt-get update` alone, cache busting by `COPY . .`, unpinned bases, root, ADD vs COPY, `cd`).

use std::borrow::Cow;

use super::{LintOptions, Sink};
use crate::dockerfile::instructions::{CmdLine, Instruction};
use crate::dockerfile::syntax::Word;
use crate::dockerfile::Dockerfile;

/// The script a RUN executes: the shell-form line, the exec-form words, and heredoc bodies (borrowed when it is
/// the shell-form line alone, the common case).
fn script(cmd: &CmdLine) -> Cow<'_, str> {
    if !cmd.exec_form && cmd.files.is_empty() {
        return cmd
            .args
            .first()
            .map_or(Cow::Borrowed(""), |a| Cow::Borrowed(a.value.as_str()));
    }
    let mut s = if cmd.exec_form {
        cmd.args
            .iter()
            .map(|a| a.value.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        cmd.args.first().map(|a| a.value.clone()).unwrap_or_default()
    };
    for f in &cmd.files {
        s.push('\n');
        s.push_str(&f.content);
    }
    Cow::Owned(s)
}

/// The pieces of a script between `&&`, `||`, `;`, `|` and newlines (`&&` taken left to right, so `&&&` leaves
/// a lone `&`, as replacing `&&` by a newline would).
fn command_parts(script: &str) -> impl Iterator<Item = &str> {
    let bytes = script.as_bytes();
    let mut start = 0;
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            let sep = match bytes[at] {
                b'\n' | b';' | b'|' => 1,
                b'&' if bytes.get(at + 1) == Some(&b'&') => 2,
                _ => 0,
            };
            if sep > 0 {
                let part = &script[start..at];
                at += sep;
                start = at;
                return Some(part);
            }
            at += 1;
        }
        (start <= bytes.len()).then(|| {
            let part = &script[start..];
            start = bytes.len() + 1;
            part
        })
    })
}

/// Simple commands of a script, split at `&&`, `||`, `;`, `|` and newlines, as words (borrowed from it).
fn simple_commands(script: &str) -> Vec<Vec<&str>> {
    let mut out = Vec::new();
    for part in command_parts(script) {
        let words: Vec<&str> = part
            .split_whitespace()
            .map(|w| w.trim_matches(|c| c == '"' || c == '\'' || c == '(' || c == ')'))
            .filter(|w| !w.is_empty())
            .collect();
        // Skip leading VAR=value assignments and `sudo`.
        let start = words
            .iter()
            .position(|w| (w.starts_with('-') || !w.contains('=')) && *w != "sudo");
        if let Some(s) = start {
            let mut words = words;
            words.drain(..s);
            out.push(words);
        }
    }
    out
}

/// `apt-get`/`apt` subcommand of a simple command, with the remaining words.
fn apt<'a, 'w>(words: &'w [&'a str]) -> Option<(&'a str, &'w [&'a str])> {
    let prog = words.first()?.rsplit('/').next()?;
    if prog != "apt-get" && prog != "apt" {
        return None;
    }
    let rest = &words[1..];
    let sub = rest.iter().find(|w| !w.starts_with('-'))?;
    Some((sub, rest))
}

fn assumes_yes(args: &[&str]) -> bool {
    args.iter().any(|a| {
        matches!(*a, "--yes" | "--assume-yes" | "-qq" | "--quiet=2")
            || (a.starts_with('-') && !a.starts_with("--") && a.contains('y'))
            || a.starts_with("--assume-yes=")
    })
}

const INSTALLERS: [&[&str]; 13] = [
    &["apt-get", "install"],
    &["apt", "install"],
    &["npm", "i"],
    &["pip", "install"],
    &["pip3", "install"],
    &["npm", "install"],
    &["npm", "ci"],
    &["yarn", "install"],
    &["bundle", "install"],
    &["go", "mod", "download"],
    &["composer", "install"],
    &["poetry", "install"],
    &["pipenv", "install"],
];

fn installs_dependencies(cmds: &[Vec<&str>]) -> bool {
    cmds.iter().any(|w| {
        INSTALLERS
            .iter()
            .any(|pat| w.len() >= pat.len() && w.iter().zip(pat.iter()).all(|(a, b)| a == b))
            || (w.first().is_some_and(|p| *p == "yarn") && w.len() == 1)
    })
}

fn args_span(cmd: &CmdLine, fallback: &Word) -> crate::dockerfile::span::Span {
    match (cmd.args.first(), cmd.args.last()) {
        (Some(a), Some(b)) => crate::dockerfile::span::Span {
            end: b.span.end,
            end_line: b.span.end_line,
            end_column: b.span.end_column,
            ..a.span
        },
        _ => fallback.span,
    }
}

pub(super) fn run(df: &Dockerfile, opts: &LintOptions, sink: &mut Sink) {
    for st in &df.stages.stages {
        let mut copied_all: Option<usize> = None;
        for (c, n) in df.commands[st.first_command..=st.last_command]
            .iter()
            .zip(&df.syntax.nodes[st.first_command..=st.last_command])
        {
            match &c.instruction {
                Instruction::From(f) if st.base_stage.is_none() => {
                    unpinned(&st.base_expanded, &f.image, sink)
                }
                Instruction::Run(r) => {
                    let script = script(&r.cmd);
                    let cmds = simple_commands(&script);
                    let span = args_span(&r.cmd, &n.keyword);
                    let mut update = false;
                    let mut install = false;
                    for w in &cmds {
                        if let Some((sub, rest)) = apt(w) {
                            update |= sub == "update";
                            if sub == "install" {
                                install = true;
                                if !assumes_yes(rest) {
                                    sink.report(
                                        "AptGetInstallWithoutYes",
                                        span,
                                        format!("`{} install` without -y waits for a confirmation no one can give", w[0]),
                                    );
                                }
                            }
                        }
                    }
                    if update && !install {
                        sink.report(
                            "AptGetUpdateAlone",
                            span,
                            "`apt-get update` in a RUN of its own: its cached result goes stale".into(),
                        );
                    }
                    let is_cd = |w: Option<&Vec<&str>>| w.and_then(|w| w.first()).is_some_and(|p| *p == "cd");
                    if !r.cmd.exec_form && cmds.len() > 1 && is_cd(cmds.last()) {
                        sink.report(
                            "CdInRun",
                            span,
                            "`cd` at the end of a RUN changes nothing for later instructions; use WORKDIR"
                                .into(),
                        );
                    } else if !r.cmd.exec_form && is_cd(cmds.first()) {
                        sink.report(
                            "CdInRun",
                            span,
                            "`cd` in RUN only lasts for this instruction; use WORKDIR".into(),
                        );
                    }
                    if let Some(line) = copied_all {
                        if installs_dependencies(&cmds) {
                            sink.report(
                                "InstallAfterCopyAll",
                                span,
                                format!("Dependencies are installed after copying the whole context (line {line}), so every source change reinstalls them"),
                            );
                        }
                    }
                }
                Instruction::Copy(cp)
                    if cp.from.is_none()
                        && cp
                            .files
                            .sources
                            .iter()
                            .any(|s| matches!(s.value.as_str(), "." | "./" | "*")) =>
                {
                    copied_all.get_or_insert(c.line);
                }
                Instruction::Add(a) => {
                    let plain = !a.files.sources.is_empty()
                        && a.files.contents.is_empty()
                        && a.checksum.is_none()
                        && a.files.sources.iter().all(|s| {
                            let v = s.value.to_ascii_lowercase();
                            !(v.contains("://")
                                || v.starts_with("git@")
                                || [
                                    ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz",
                                    ".tar.zst", ".gz", ".bz2", ".xz",
                                ]
                                .iter()
                                .any(|ext| v.ends_with(ext)))
                        });
                    if plain {
                        sink.report(
                            "AddInsteadOfCopy",
                            n.keyword.span,
                            "ADD copies plain local files here; COPY is clearer".into(),
                        );
                    }
                }
                _ => {}
            }
        }
    }
    root(df, opts, sink);
}

fn unpinned(base: &str, image: &Word, sink: &mut Sink) {
    if base.eq_ignore_ascii_case("scratch") || base.contains('$') || base.contains('@') || base.is_empty() {
        return;
    }
    let name_end = base.rfind('/').map_or(0, |i| i + 1);
    match base[name_end..].split_once(':') {
        None => sink.report(
            "LatestOrUntaggedBase",
            image.span,
            format!("Base image '{base}' has no tag, so it means '{base}:latest', which changes over time"),
        ),
        Some((_, "latest")) => sink.report(
            "LatestOrUntaggedBase",
            image.span,
            format!("Base image '{base}' uses the 'latest' tag, which changes over time"),
        ),
        Some(_) => {}
    }
}

fn root(df: &Dockerfile, opts: &LintOptions, sink: &mut Sink) {
    let Ok(target) = df.stages.target(opts.target.as_deref()) else {
        return;
    };
    // The target and the stages it starts from, nearest first.
    let mut chain = vec![target];
    while let Some(b) = chain.last().and_then(|&s| df.stages.stages[s].base_stage) {
        if chain.contains(&b) {
            break;
        }
        chain.push(b);
    }
    let mut user: Option<&Word> = None;
    for &s in &chain {
        let st = &df.stages.stages[s];
        user = df.commands[st.first_command..=st.last_command]
            .iter()
            .rev()
            .find_map(|c| match &c.instruction {
                Instruction::User { user } => Some(user),
                _ => None,
            });
        if user.is_some() {
            break;
        }
    }
    let is_root = |u: &str| matches!(u.split(':').next().unwrap_or(u), "root" | "0");
    match user {
        Some(u) if !is_root(&u.value) => {}
        Some(u) => sink.report(
            "RunningAsRoot",
            u.span,
            format!("USER {} runs the image as root", u.value),
        ),
        None => {
            let st = &df.stages.stages[target];
            let span = match &df.commands[st.first_command].instruction {
                Instruction::From(f) => f.image.span,
                _ => st.span,
            };
            sink.report(
                "RunningAsRoot",
                span,
                "No USER instruction: the image runs as root".into(),
            );
        }
    }
}

#[cfg(test)]
mod split_tests {
    use super::*;

    /// The split is the one replacing every separator by a newline and taking the lines gives.
    #[test]
    fn command_parts_split_like_replacing_separators_by_newlines() {
        for script in [
            "",
            "a",
            "apt-get update && apt-get install -y x",
            "a&&&b || c|||d; e\nf\r\ng&h",
            "&&",
            "x &&",
            ";;\n\n|",
            "echo é && ls😀|wc",
        ] {
            let replaced = script
                .replace("&&", "\n")
                .replace("||", "\n")
                .replace([';', '|'], "\n");
            let expected: Vec<Vec<&str>> = replaced
                .lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>())
                .filter(|w| !w.is_empty())
                .collect();
            let got: Vec<Vec<&str>> = command_parts(script)
                .map(|l| l.split_whitespace().collect::<Vec<_>>())
                .filter(|w| !w.is_empty())
                .collect();
            assert_eq!(got, expected, "{script:?}");
        }
    }
}
