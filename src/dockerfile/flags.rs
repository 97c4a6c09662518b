//! Instruction flags (`--name=value`), parsed with BuildKit's `BFlags` rules: declared names and types,
//! booleans, repeatable string flags, and "did you mean" for unknown names.

use std::collections::BTreeMap;

use super::error::{buildkit_suggestion, Error};
use super::syntax::Word;

/// How a flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagType {
    Bool,
    String,
    /// May be repeated; every value is kept.
    Strings,
}

/// The flags of one instruction after parsing.
#[derive(Debug, Default)]
pub struct Flags {
    values: BTreeMap<&'static str, Vec<Word>>,
}

impl Flags {
    /// Parses `raw` against the declared `(name, type)` list.
    pub fn parse(raw: &[Word], declared: &[(&'static str, FlagType)]) -> Result<Flags, Error> {
        let mut out = Flags::default();
        for w in raw {
            let Some(arg) = w.value.strip_prefix("--") else {
                return Err(Error::Flag {
                    message: format!("Arg \"{}\" must start with --", w.value),
                    span: w.span,
                });
            };
            if arg.is_empty() {
                return Ok(out);
            }
            let (name, value) = match arg.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (arg, None),
            };
            let Some(&(decl, ty)) = declared.iter().find(|(n, _)| *n == name) else {
                return Err(Error::UnknownFlag {
                    flag: name.to_string(),
                    suggestion: buildkit_suggestion(name, declared.iter().map(|(n, _)| *n), true),
                    span: w.span,
                });
            };
            if ty != FlagType::Strings && out.values.contains_key(decl) {
                return Err(Error::Flag {
                    message: format!("duplicate flag specified: --{name}"),
                    span: w.span,
                });
            }
            let value = match (ty, value) {
                (FlagType::Bool, Some("")) | (FlagType::String | FlagType::Strings, None) => {
                    return Err(Error::Flag {
                        message: format!("missing a value on flag: --{name}"),
                        span: w.span,
                    })
                }
                (FlagType::Bool, v) => match v.map(str::to_ascii_lowercase).as_deref() {
                    None | Some("true") => "true".to_string(),
                    Some("false") => "false".to_string(),
                    Some(_) => {
                        return Err(Error::Flag {
                            message: format!(
                                "expecting boolean value for flag --{name}, not: {}",
                                v.unwrap_or_default()
                            ),
                            span: w.span,
                        })
                    }
                },
                (_, Some(v)) => v.to_string(),
            };
            out.values
                .entry(decl)
                .or_default()
                .push(Word { value, span: w.span });
        }
        Ok(out)
    }

    /// The value of a string flag.
    pub fn string(&self, name: &str) -> Option<Word> {
        self.values.get(name).and_then(|v| v.last()).cloned()
    }

    /// Whether a boolean flag is set to true.
    pub fn bool(&self, name: &str) -> bool {
        self.values
            .get(name)
            .and_then(|v| v.last())
            .is_some_and(|w| w.value == "true")
    }

    /// Every value of a repeatable flag.
    pub fn strings(&self, name: &str) -> Vec<Word> {
        self.values.get(name).cloned().unwrap_or_default()
    }

    /// Names of the flags that were given.
    pub fn used(&self) -> Vec<&'static str> {
        self.values.keys().copied().collect()
    }
}

/// Why a duration does not parse, in Go's `time.ParseDuration` words (values already Go-quoted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("time: invalid duration {0}")]
    Invalid(String),
    #[error("time: missing unit in duration {0}")]
    MissingUnit(String),
    #[error("time: unknown unit {unit} in duration {duration}")]
    UnknownUnit { unit: String, duration: String },
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_duration(s: &str) -> Result<i128, DurationError> {
    let invalid = || DurationError::Invalid(super::shell::go_quote(s));
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_len];
        if num.is_empty() || num == "." {
            return Err(invalid());
        }
        let n: f64 = num.parse().map_err(|_| invalid())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(DurationError::MissingUnit(super::shell::go_quote(s))),
            _ => {
                return Err(DurationError::UnknownUnit {
                    unit: super::shell::go_quote(unit),
                    duration: super::shell::go_quote(s),
                })
            }
        };
        total += n * scale;
    }
    if total > i64::MAX as f64 {
        return Err(invalid());
    }
    let ns = total as i128;
    Ok(if neg { -ns } else { ns })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::span::Span;

    fn w(s: &str) -> Word {
        Word {
            value: s.into(),
            span: Span::default(),
        }
    }

    #[test]
    fn flags_follow_bflags_rules() {
        let decl = [
            ("from", FlagType::String),
            ("link", FlagType::Bool),
            ("exclude", FlagType::Strings),
        ];
        let f = Flags::parse(
            &[w("--from=build"), w("--link"), w("--exclude=a"), w("--exclude=b")],
            &decl,
        )
        .expect("valid flags");
        assert_eq!(f.string("from").map(|w| w.value).as_deref(), Some("build"));
        assert!(f.bool("link"));
        assert_eq!(f.strings("exclude").len(), 2);
        let e = Flags::parse(&[w("--form=x")], &decl).expect_err("unknown flag");
        assert_eq!(e.to_string(), "unknown flag: --form (did you mean from?)");
        assert!(Flags::parse(&[w("--from")], &decl).is_err());
        assert!(Flags::parse(&[w("--link=maybe")], &decl).is_err());
        assert!(Flags::parse(&[w("--from=a"), w("--from=b")], &decl).is_err());
    }

    #[test]
    fn durations_like_go() {
        assert_eq!(parse_duration("5s"), Ok(5_000_000_000));
        assert_eq!(parse_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5x").is_err());
    }
}
