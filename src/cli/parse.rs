//! Parsing docker CLI words (`docker run -it --rm -p 8000:8000 user/app`) into a command and its flags, with
//! the docker CLI's own error texts and exit codes, plus a "did you mean" suggestion.

use std::collections::BTreeMap;

use thiserror::Error;

use super::spec::{Arity, CommandId, CommandSpec, Flag, FlagSpec, Support, COMMANDS, GLOBAL_FLAGS};

/// Flags as given: flag → every value, in order (`true` for a boolean flag).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags(BTreeMap<Flag, Vec<String>>);

impl Flags {
    /// Replace a flag's values with one (callers that rewrite a command line, e.g. a path made relative).
    pub fn set(&mut self, flag: Flag, value: String) {
        self.0.insert(flag, vec![value]);
    }

    pub fn is_set(&self, flag: Flag) -> bool {
        self.0
            .get(&flag)
            .and_then(|v| v.last())
            .is_some_and(|v| v != "false")
    }

    /// The last value given (pflag semantics for a non-repeated flag).
    pub fn value(&self, flag: Flag) -> Option<&str> {
        self.0.get(&flag).and_then(|v| v.last()).map(String::as_str)
    }

    /// Every value of a repeatable flag (`-e A=1 -e B=2`).
    pub fn values(&self, flag: Flag) -> &[String] {
        self.0.get(&flag).map(Vec::as_slice).unwrap_or(&[])
    }

    fn push(&mut self, flag: Flag, value: String) {
        self.0.entry(flag).or_default().push(value);
    }
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Run(Invocation),
    /// `docker --help`, `docker help [CMD]`, `docker CMD --help`, or a bare group like `docker image`.
    Help(Option<&'static CommandSpec>),
    /// `docker --version`.
    Version,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub global: Flags,
    pub command: &'static CommandSpec,
    /// The words that named the command, as typed (`["images"]` or `["image", "ls"]`).
    pub typed: Vec<&'static str>,
    pub flags: Flags,
    pub args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CliError {
    #[error("docker: unknown command: docker {typed}{}\n\nRun 'docker --help' for more information", suggest(.suggestion))]
    UnknownCommand {
        typed: String,
        suggestion: Option<String>,
    },
    #[error("docker: unknown command: docker {group} {typed}{}\n\nUsage:  docker {group}\n\nRun 'docker {group} --help' for more information", suggest(.suggestion))]
    UnknownSubcommand {
        group: String,
        typed: String,
        suggestion: Option<String>,
    },
    #[error("unknown flag: --{flag}{}\n\nUsage:  {usage}\n\nRun '{help}' for more information", suggest(.suggestion))]
    UnknownFlag {
        flag: String,
        suggestion: Option<String>,
        usage: String,
        help: String,
    },
    #[error("unknown shorthand flag: '{short}' in -{group}\n\nUsage:  {usage}\n\nRun '{help}' for more information")]
    UnknownShorthand {
        short: char,
        group: String,
        usage: String,
        help: String,
    },
    #[error("flag needs an argument: {flag}\n\nUsage:  {usage}\n\nRun '{help}' for more information")]
    FlagNeedsArgument {
        flag: String,
        usage: String,
        help: String,
    },
    /// `verb` is "See" for "requires at least" and "Run" otherwise, as docker 28 prints them.
    #[error("docker: '{command}' {requirement}\n\nUsage:  {usage}\n\n{verb} '{command} --help' for more information")]
    WrongArgumentCount {
        command: String,
        requirement: String,
        usage: String,
        verb: &'static str,
    },
    /// A flag the command table declares but Slipway does not implement (see `spec::Support`).
    #[error("unsupported flag: {flag}: {why}\n\nUsage:  {usage}\n\nRun '{help}' for more information")]
    UnsupportedFlag {
        flag: String,
        why: &'static str,
        usage: String,
        help: String,
    },
    #[error("docker: {0}")]
    Words(#[from] super::words::WordsError),
}

fn suggest(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!("\n\nDid you mean this?\n\t{s}"),
        None => String::new(),
    }
}

impl CliError {
    /// The docker CLI's exit codes: 125 for flag errors (the daemon never saw the command), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::UnknownFlag { .. }
            | CliError::UnknownShorthand { .. }
            | CliError::FlagNeedsArgument { .. }
            | CliError::UnsupportedFlag { .. } => 125,
            _ => 1,
        }
    }
}

/// Levenshtein distance, for "did you mean" (the Dockerfile front end's, one implementation).
pub fn edit_distance(a: &str, b: &str) -> usize {
    crate::dockerfile::error::levenshtein(a, b)
}

/// The closest candidate within a distance that scales with the word's length, as cobra suggests.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= limit || (word.len() >= 2 && c.starts_with(word)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

const GROUPS: &[&str] = &["image", "container", "system", "buildx"];

/// Parse the words after `docker` (the leading `docker` is skipped when present).
pub fn parse(words: &[String]) -> Result<Parsed, CliError> {
    let mut rest: &[String] = words;
    if rest.first().is_some_and(|w| w == "docker") {
        rest = &rest[1..];
    }
    let global_usage = FlagContext {
        usage: "docker [OPTIONS] COMMAND".to_string(),
        help: "docker --help".to_string(),
    };
    let (global, rest) = parse_flags(GLOBAL_FLAGS, false, &global_usage, rest)?;
    let rest = &rest[..];
    if global.is_set(Flag::VERSION) {
        return Ok(Parsed::Version);
    }
    if global.is_set(Flag::HELP) || rest.is_empty() {
        return Ok(Parsed::Help(None));
    }
    let (command, typed) = match find_command(rest) {
        Some(found) => found,
        None if GROUPS.contains(&rest[0].as_str()) && rest.len() == 1 => return Ok(Parsed::Help(None)),
        None => {
            if GROUPS.contains(&rest[0].as_str()) {
                let subs = COMMANDS
                    .iter()
                    .flat_map(|c| c.names())
                    .filter(|n| n.len() == 2 && n[0] == rest[0])
                    .map(|n| n[1]);
                return Err(CliError::UnknownSubcommand {
                    group: rest[0].clone(),
                    typed: rest[1].clone(),
                    suggestion: closest(&rest[1], subs).map(|s| format!("{} {s}", rest[0])),
                });
            }
            let tops = COMMANDS
                .iter()
                .flat_map(|c| c.names())
                .filter(|n| n.len() == 1)
                .map(|n| n[0]);
            return Err(CliError::UnknownCommand {
                typed: rest[0].clone(),
                suggestion: closest(&rest[0], tops.chain(GROUPS.iter().copied())),
            });
        }
    };
    let after = &rest[typed.len()..];
    if command.id == CommandId::Help {
        return Ok(Parsed::Help(find_command(after).map(|(c, _)| c)));
    }
    parse_command(global, command, typed, after)
}

/// The flags and arguments of `command` (named by the `typed` words) from `words`: the second half of [`parse`],
/// also used for the subcommands of `docker compose` (whose own table is `spec::COMPOSE_COMMANDS`).
pub fn parse_command(
    global: Flags,
    command: &'static CommandSpec,
    typed: Vec<&'static str>,
    words: &[String],
) -> Result<Parsed, CliError> {
    let context = FlagContext {
        usage: command.usage_line(&typed),
        help: format!("docker {} --help", typed.join(" ")),
    };
    let (flags, args) = parse_flags(command.flags, command.interspersed, &context, words)?;
    if flags.is_set(Flag::HELP) {
        return Ok(Parsed::Help(Some(command)));
    }
    check_arity(command, &typed, &args)?;
    Ok(Parsed::Run(Invocation {
        global,
        command,
        typed,
        flags,
        args,
    }))
}

fn find_command(words: &[String]) -> Option<(&'static CommandSpec, Vec<&'static str>)> {
    // Two-word names (`image ls`) before one-word names (`images`).
    for len in [2, 1] {
        if words.len() < len {
            continue;
        }
        for command in COMMANDS {
            if let Some(name) = command
                .names()
                .find(|n| n.len() == len && n.iter().zip(words).all(|(a, b)| a == b))
            {
                return Some((command, name.to_vec()));
            }
        }
    }
    None
}

fn check_arity(command: &CommandSpec, typed: &[&str], args: &[String]) -> Result<(), CliError> {
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    let requirement = match command.arity {
        Arity::Exactly(0) if !args.is_empty() => "accepts no arguments".to_string(),
        Arity::Exactly(n) if args.len() != n => format!("requires {n} {}", plural(n)),
        Arity::AtLeast(n) if args.len() < n => format!("requires at least {n} {}", plural(n)),
        Arity::AtMost(n) if args.len() > n => format!("requires at most {n} {}", plural(n)),
        Arity::Between(low, high) if args.len() < low || args.len() > high => {
            format!("requires at least {low} and at most {high} {}", plural(high))
        }
        _ => return Ok(()),
    };
    let verb = if matches!(command.arity, Arity::AtLeast(_)) {
        "See"
    } else {
        "Run"
    };
    Err(CliError::WrongArgumentCount {
        command: format!("docker {}", typed.join(" ")),
        requirement,
        usage: command.usage_line(typed),
        verb,
    })
}

/// What flag errors print: the command's usage line and where its help is.
struct FlagContext {
    usage: String,
    help: String,
}

impl FlagContext {
    /// A flag Slipway declares but does not do (the table's `Support`) is refused, never ignored.
    fn check_support(&self, spec: &FlagSpec, value: &str, shown: &str) -> Result<(), CliError> {
        let why = match spec.support {
            Support::Implemented | Support::Always(_) => return Ok(()),
            Support::OnlyValue(accepted, _) if value == accepted => return Ok(()),
            Support::Refused(why) | Support::OnlyValue(_, why) => why,
        };
        Err(CliError::UnsupportedFlag {
            flag: shown.to_string(),
            why,
            usage: self.usage.clone(),
            help: self.help.clone(),
        })
    }
}

/// pflag-style parsing: `--long`, `--long=v`, `--long v`, `-abc`, `-p8000:8000`, `-p 8000:8000`, `--` ends flags.
/// With `interspersed` false, flags stop at the first positional argument.
fn parse_flags(
    specs: &[FlagSpec],
    interspersed: bool,
    context: &FlagContext,
    words: &[String],
) -> Result<(Flags, Vec<String>), CliError> {
    let (usage, help) = (&context.usage, &context.help);
    let by_short = |short: char| specs.iter().find(|f| f.short == Some(short));
    let needs_argument = |flag: String| CliError::FlagNeedsArgument {
        flag,
        usage: usage.clone(),
        help: help.clone(),
    };
    let mut flags = Flags::default();
    let mut args = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        if word == "--" {
            args.extend(words[i..].iter().cloned());
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let spec = specs
                .iter()
                .find(|f| f.long() == name)
                .ok_or_else(|| CliError::UnknownFlag {
                    flag: name.to_string(),
                    suggestion: closest(name, specs.iter().map(|f| f.long())).map(|s| format!("--{s}")),
                    usage: usage.clone(),
                    help: help.clone(),
                })?;
            let value = match (spec.takes_value, inline) {
                (true, Some(v)) => v,
                (true, None) => {
                    let v = words
                        .get(i)
                        .cloned()
                        .ok_or_else(|| needs_argument(format!("--{name}")))?;
                    i += 1;
                    v
                }
                (false, Some(v)) => v,
                (false, None) => "true".to_string(),
            };
            context.check_support(spec, &value, &format!("--{name}"))?;
            flags.push(spec.id, value);
        } else if word.len() > 1 && word.starts_with('-') {
            let group = &word[1..];
            for (offset, short) in group.char_indices() {
                let spec: &FlagSpec = by_short(short).ok_or_else(|| CliError::UnknownShorthand {
                    short,
                    group: group.to_string(),
                    usage: usage.clone(),
                    help: help.clone(),
                })?;
                let shown = format!("-{short}, --{}", spec.long());
                if !spec.takes_value {
                    context.check_support(spec, "true", &shown)?;
                    flags.push(spec.id, "true".to_string());
                    continue;
                }
                let attached = &group[offset + short.len_utf8()..];
                let value = if !attached.is_empty() {
                    attached.strip_prefix('=').unwrap_or(attached).to_string()
                } else {
                    let v = words
                        .get(i)
                        .cloned()
                        .ok_or_else(|| needs_argument(format!("'{short}' in -{group}")))?;
                    i += 1;
                    v
                };
                context.check_support(spec, &value, &shown)?;
                flags.push(spec.id, value);
                break;
            }
        } else {
            args.push(word.clone());
            if !interspersed {
                args.extend(words[i..].iter().cloned());
                break;
            }
        }
    }
    Ok((flags, args))
}
