//! The typed layer: every instruction with its flags and arguments checked the way BuildKit's
//! `instructions.Parse` checks them. Values stay unexpanded; expansion happens when a stage is evaluated.

use super::error::{buildkit_suggestion, Error};
use super::flags::{parse_duration, FlagType as T, Flags};
use super::span::Span;
use super::syntax::{parse_heredoc, Node, Word};

/// Every instruction keyword, upper case.
pub const KEYWORDS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

pub use super::instruction_types::*;

fn one(node: &Node, kw: &str) -> Result<Word, Error> {
    match node.args.as_slice() {
        [a] => Ok(a.clone()),
        _ => Err(Error::instruction(
            format!("{kw} requires exactly one argument"),
            node.span,
        )),
    }
}

fn at_least_one(node: &Node, kw: &str) -> Result<(), Error> {
    if node.args.is_empty() {
        return Err(Error::instruction(
            format!("{kw} requires at least one argument"),
            node.span,
        ));
    }
    Ok(())
}

fn cmdline(node: &Node) -> CmdLine {
    CmdLine {
        exec_form: node.json,
        args: node.args.clone(),
        files: node.heredocs.clone(),
    }
}

fn key_values(node: &Node, kw: &str) -> Result<Vec<KeyValue>, Error> {
    at_least_one(node, kw)?;
    if node.args.len() % 3 != 0 {
        return Err(Error::instruction(
            format!("Bad input to {kw}, too many arguments"),
            node.span,
        ));
    }
    let mut out = Vec::new();
    for t in node.args.chunks(3) {
        if t[0].value.is_empty() {
            return Err(Error::instruction(
                format!("{kw} names can not be blank"),
                t[0].span,
            ));
        }
        out.push(KeyValue {
            key: t[0].clone(),
            value: t[1].clone(),
            legacy: t[2].value.is_empty(),
        });
    }
    Ok(out)
}

fn sources_and_dest(node: &Node, kw: &str) -> Result<SourcesAndDest, Error> {
    let Some((dest, srcs)) = node.args.split_last().filter(|(_, s)| !s.is_empty()) else {
        return Err(Error::instruction(
            format!("{kw} requires at least two arguments, but only one was provided. Destination could not be determined"),
            node.span,
        ));
    };
    let heredoc = |w: &Word| {
        if node.json {
            None
        } else {
            parse_heredoc(&w.value).ok().flatten()
        }
    };
    if heredoc(dest).is_some() {
        return Err(Error::instruction(
            format!("{kw} cannot accept a heredoc as a destination"),
            dest.span,
        ));
    }
    let mut sources = Vec::new();
    let mut contents = Vec::new();
    for s in srcs {
        match heredoc(s) {
            Some(h) => {
                let mut doc = node
                    .heredocs
                    .iter()
                    .find(|d| d.name == h.name)
                    .cloned()
                    .unwrap_or(h);
                if doc.chomp {
                    doc.content = chomp(&doc.content);
                }
                contents.push(doc);
            }
            None => sources.push(s.clone()),
        }
    }
    Ok(SourcesAndDest {
        sources,
        contents,
        dest: dest.clone(),
    })
}

/// Removes leading tabs from every line (`<<-`).
pub fn chomp(s: &str) -> String {
    s.split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

fn interval(f: &Flags, name: &str) -> Result<i128, Error> {
    let Some(w) = f.string(name) else { return Ok(0) };
    if w.value.is_empty() {
        return Ok(0);
    }
    let d = parse_duration(&w.value).map_err(|e| Error::Flag {
        message: e.to_string(),
        span: w.span,
    })?;
    if d != 0 && d < 1_000_000 {
        return Err(Error::Flag {
            message: format!("Interval \"{name}\" cannot be less than 1ms"),
            span: w.span,
        });
    }
    Ok(d)
}

/// The flags a keyword declares, checked against the node's `--flag`s.
fn flags(node: &Node, decl: &[(&'static str, T)]) -> Result<Flags, Error> {
    Flags::parse(&node.flags, decl)
}

/// Converts one syntax node to a typed command: one `parse_*` per keyword, as BuildKit's
/// `instructions/parse.go` has.
pub fn parse_node(node: &Node) -> Result<Command, Error> {
    let kw = node.keyword.value.to_ascii_uppercase();
    let instruction = match kw.as_str() {
        "FROM" => parse_from(node)?,
        "RUN" => parse_run(node)?,
        "CMD" => {
            flags(node, &[])?;
            Instruction::Cmd(cmdline(node))
        }
        "ENTRYPOINT" => {
            flags(node, &[])?;
            Instruction::Entrypoint(cmdline(node))
        }
        "LABEL" => {
            flags(node, &[])?;
            Instruction::Label {
                labels: key_values(node, "LABEL")?,
            }
        }
        "ENV" => {
            flags(node, &[])?;
            Instruction::Env {
                vars: key_values(node, "ENV")?,
            }
        }
        "MAINTAINER" => {
            let name = one(node, "MAINTAINER")?;
            flags(node, &[])?;
            Instruction::Maintainer { name }
        }
        "EXPOSE" => {
            at_least_one(node, "EXPOSE")?;
            flags(node, &[])?;
            Instruction::Expose {
                ports: node.args.clone(),
            }
        }
        "ADD" => parse_add(node)?,
        "COPY" => parse_copy(node)?,
        "VOLUME" => parse_volume(node)?,
        "USER" => {
            let user = one(node, "USER")?;
            flags(node, &[])?;
            Instruction::User { user }
        }
        "WORKDIR" => {
            let path = one(node, "WORKDIR")?;
            flags(node, &[])?;
            Instruction::Workdir { path }
        }
        "ARG" => parse_arg(node)?,
        "ONBUILD" => parse_onbuild(node)?,
        "STOPSIGNAL" => Instruction::Stopsignal {
            signal: one(node, "STOPSIGNAL")?,
        },
        "HEALTHCHECK" => parse_healthcheck(node)?,
        "SHELL" => parse_shell(node)?,
        _ => {
            return Err(Error::UnknownInstruction {
                keyword: node.keyword.value.clone(),
                suggestion: buildkit_suggestion(&node.keyword.value, KEYWORDS, false),
                span: node.keyword.span,
            })
        }
    };
    Ok(Command {
        keyword: kw,
        line: node.start_line,
        span: node.span,
        instruction,
    })
}

fn parse_from(node: &Node) -> Result<Instruction, Error> {
    let f = flags(node, &[("platform", T::String)])?;
    let (image, as_keyword, name) = match node.args.as_slice() {
        [image] => (image.clone(), None, None),
        [image, a, n] if a.value.eq_ignore_ascii_case("as") => {
            (image.clone(), Some(a.clone()), Some(stage_name(n)?))
        }
        _ => {
            return Err(Error::instruction(
                "FROM requires either one or three arguments",
                node.span,
            ))
        }
    };
    Ok(Instruction::From(From {
        image,
        platform: f.string("platform"),
        as_keyword,
        name,
    }))
}

/// The `AS name` of a FROM, lower-cased and checked as BuildKit checks stage names.
fn stage_name(n: &Word) -> Result<Word, Error> {
    let lower = n.value.to_ascii_lowercase();
    let valid = lower.starts_with(|c: char| c.is_ascii_lowercase())
        && lower
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    if !valid {
        return Err(Error::instruction(
            format!(
                "invalid name for build stage: \"{}\", name can't start with a number or contain symbols",
                n.value
            ),
            n.span,
        ));
    }
    Ok(Word {
        value: lower,
        span: n.span,
    })
}

fn parse_run(node: &Node) -> Result<Instruction, Error> {
    let f = flags(
        node,
        &[
            ("mount", T::Strings),
            ("network", T::String),
            ("security", T::String),
        ],
    )?;
    if let Some(n) = f
        .string("network")
        .filter(|n| !matches!(n.value.as_str(), "default" | "none" | "host"))
    {
        return Err(Error::Flag {
            message: format!("unsupported network mode \"{}\"", n.value),
            span: n.span,
        });
    }
    if let Some(s) = f
        .string("security")
        .filter(|s| !matches!(s.value.as_str(), "sandbox" | "insecure"))
    {
        return Err(Error::Flag {
            message: format!("unsupported security mode \"{}\"", s.value),
            span: s.span,
        });
    }
    Ok(Instruction::Run(Run {
        cmd: cmdline(node),
        mounts: f.strings("mount"),
        network: f.string("network"),
        security: f.string("security"),
    }))
}

/// ADD and COPY both need a source and a destination before their flags are looked at.
fn two_arguments(node: &Node, kw: &str) -> Result<(), Error> {
    if node.args.len() < 2 {
        return Err(Error::instruction(
            format!("{kw} requires at least two arguments, but only one was provided. Destination could not be determined"),
            node.span,
        ));
    }
    Ok(())
}

fn parse_add(node: &Node) -> Result<Instruction, Error> {
    two_arguments(node, "ADD")?;
    let f = flags(
        node,
        &[
            ("chown", T::String),
            ("chmod", T::String),
            ("link", T::Bool),
            ("keep-git-dir", T::Bool),
            ("checksum", T::String),
            ("exclude", T::Strings),
            ("unpack", T::Bool),
        ],
    )?;
    Ok(Instruction::Add(Add {
        files: sources_and_dest(node, "ADD")?,
        chown: f.string("chown"),
        chmod: f.string("chmod"),
        link: f.bool("link"),
        keep_git_dir: f.bool("keep-git-dir"),
        checksum: f.string("checksum"),
        exclude: f.strings("exclude"),
        unpack: f.string("unpack").map(|w| w.value == "true"),
    }))
}

fn parse_copy(node: &Node) -> Result<Instruction, Error> {
    two_arguments(node, "COPY")?;
    let f = flags(
        node,
        &[
            ("from", T::String),
            ("chown", T::String),
            ("chmod", T::String),
            ("link", T::Bool),
            ("parents", T::Bool),
            ("exclude", T::Strings),
        ],
    )?;
    Ok(Instruction::Copy(Copy {
        files: sources_and_dest(node, "COPY")?,
        from: f.string("from"),
        chown: f.string("chown"),
        chmod: f.string("chmod"),
        link: f.bool("link"),
        parents: f.bool("parents"),
        exclude: f.strings("exclude"),
    }))
}

fn parse_volume(node: &Node) -> Result<Instruction, Error> {
    at_least_one(node, "VOLUME")?;
    flags(node, &[])?;
    if let Some(e) = node.args.iter().find(|a| a.value.trim().is_empty()) {
        return Err(Error::instruction(
            "VOLUME specified can not be an empty string",
            e.span,
        ));
    }
    Ok(Instruction::Volume {
        paths: node.args.clone(),
    })
}

/// ARG: BuildKit's `parseArg` never parses flags, so `ARG --x Y=1` declares Y and the flag is ignored.
fn parse_arg(node: &Node) -> Result<Instruction, Error> {
    at_least_one(node, "ARG")?;
    let mut args = Vec::new();
    for a in &node.args {
        let (name, default) = match a.value.split_once('=') {
            Some(("", _)) => return Err(Error::instruction("ARG names can not be blank", a.span)),
            Some((k, v)) => split_arg(a, k, v),
            None => (a.clone(), None),
        };
        let comment = node
            .comments
            .iter()
            .find_map(|c| c.strip_prefix(&format!("{} ", name.value)))
            .map(str::to_string);
        args.push(ArgDef {
            name,
            default,
            comment,
        });
    }
    Ok(Instruction::Arg { args })
}

/// `k=v` of an ARG as two words, each with its own span inside the argument.
fn split_arg(a: &Word, k: &str, v: &str) -> (Word, Option<Word>) {
    let eq = a.span.start + k.len();
    (
        Word {
            value: k.into(),
            span: Span {
                end: eq,
                end_column: a.span.column + k.chars().count(),
                end_line: a.span.line,
                ..a.span
            },
        },
        Some(Word {
            value: v.into(),
            span: Span {
                start: eq + 1,
                column: a.span.column + k.chars().count() + 1,
                line: a.span.end_line,
                ..a.span
            },
        }),
    )
}

fn parse_onbuild(node: &Node) -> Result<Instruction, Error> {
    let Some(sub) = &node.sub else {
        return Err(Error::instruction(
            "ONBUILD requires at least one argument",
            node.span,
        ));
    };
    flags(node, &[])?;
    let trigger = sub.keyword.value.to_ascii_uppercase();
    match trigger.as_str() {
        "ONBUILD" => {
            return Err(Error::instruction(
                "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
                sub.keyword.span,
            ))
        }
        "MAINTAINER" | "FROM" => {
            return Err(Error::instruction(
                format!("{trigger} isn't allowed as an ONBUILD trigger"),
                sub.keyword.span,
            ))
        }
        _ => {}
    }
    let mut expression = strip_onbuild(&node.original);
    for h in &node.heredocs {
        expression.push('\n');
        expression.push_str(&h.content);
        expression.push_str(&h.name);
    }
    Ok(Instruction::Onbuild {
        expression,
        trigger: Word {
            value: trigger,
            span: sub.keyword.span,
        },
    })
}

fn parse_healthcheck(node: &Node) -> Result<Instruction, Error> {
    at_least_one(node, "HEALTHCHECK")?;
    let typ = node.args[0].value.to_ascii_uppercase();
    let rest = &node.args[1..];
    if typ == "NONE" {
        if !rest.is_empty() {
            return Err(Error::instruction(
                "HEALTHCHECK NONE takes no arguments",
                node.span,
            ));
        }
        return Ok(Instruction::Healthcheck(Healthcheck {
            cmd: None,
            interval: 0,
            timeout: 0,
            start_period: 0,
            start_interval: 0,
            retries: 0,
        }));
    }
    let f = flags(
        node,
        &[
            ("interval", T::String),
            ("timeout", T::String),
            ("start-period", T::String),
            ("start-interval", T::String),
            ("retries", T::String),
        ],
    )?;
    if typ != "CMD" {
        return Err(Error::instruction(
            format!("Unknown type \"{typ}\" in HEALTHCHECK (try CMD)"),
            node.args[0].span,
        ));
    }
    if rest.is_empty() {
        return Err(Error::instruction(
            "Missing command after HEALTHCHECK CMD",
            node.span,
        ));
    }
    // BuildKit reads --retries before the durations, so its error wins when both are wrong.
    let retries = retries(&f)?;
    Ok(Instruction::Healthcheck(Healthcheck {
        cmd: Some(CmdLine {
            exec_form: node.json,
            args: rest.to_vec(),
            files: Vec::new(),
        }),
        interval: interval(&f, "interval")?,
        timeout: interval(&f, "timeout")?,
        start_period: interval(&f, "start-period")?,
        start_interval: interval(&f, "start-interval")?,
        retries,
    }))
}

/// `--retries` of a HEALTHCHECK: an int32 as Go's strconv reads it, never negative.
fn retries(f: &Flags) -> Result<i64, Error> {
    let Some(w) = f.string("retries").filter(|w| !w.value.is_empty()) else {
        return Ok(0);
    };
    let r: i64 = w
        .value
        .parse::<i32>()
        .map_err(|_| Error::Flag {
            message: format!("strconv.ParseInt: parsing \"{}\": invalid syntax", w.value),
            span: w.span,
        })?
        .into();
    if r < 0 {
        return Err(Error::Flag {
            message: format!("--retries cannot be negative ({r})"),
            span: w.span,
        });
    }
    Ok(r)
}

fn parse_shell(node: &Node) -> Result<Instruction, Error> {
    flags(node, &[])?;
    if node.args.is_empty() {
        return Err(Error::instruction(
            "SHELL requires at least one argument",
            node.span,
        ));
    }
    if !node.json {
        return Err(Error::instruction(
            "SHELL requires the arguments to be in JSON form",
            node.span,
        ));
    }
    Ok(Instruction::Shell {
        shell: node.args.clone(),
    })
}

/// The ONBUILD expression: the original line without the keyword.
fn strip_onbuild(original: &str) -> String {
    let t = original.trim_start();
    let rest = if t.len() >= 7 && t[..7].eq_ignore_ascii_case("onbuild") {
        &t[7..]
    } else {
        t
    };
    rest.trim_start().to_string()
}
