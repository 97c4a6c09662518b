//! The classroom file (`slipway serve --classroom FILE`, TOML): teachers, learners, lessons, the class's end and
//! per-learner limits. Errors name the file, the line and the column (toml's spans).

use std::collections::HashSet;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

/// Why a classroom file is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the classroom file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("classroom file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("classroom file {path}, line {line}, column {column}: {why}")]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        why: String,
    },
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    #[serde(default)]
    class: ClassText,
    #[serde(default)]
    teachers: Vec<TeacherText>,
    #[serde(default)]
    learners: LearnersText,
    #[serde(default)]
    limits: LimitsText,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassText {
    name: Option<String>,
    ends: Option<Spanned<toml::value::Datetime>>,
    #[serde(default)]
    lessons: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TeacherText {
    name: Spanned<String>,
    password_hash: Option<Spanned<String>>,
    code: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LearnersText {
    #[serde(default)]
    names: Vec<Spanned<String>>,
    count: Option<Spanned<u32>>,
    prefix: Option<Spanned<String>>,
    #[serde(default)]
    codes: std::collections::BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsText {
    containers: Option<u32>,
    memory: Option<Size>,
    cpu: Option<f64>,
    pids: Option<u32>,
    disk: Option<Size>,
    registry: Option<Size>,
    idle_timeout: Option<Seconds>,
}

/// Bytes: an integer, or a string with a unit (`512MiB`, `1 GB`, `64k`).
#[derive(Debug, Clone, Copy)]
struct Size(u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Size, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Text {
            Bytes(u64),
            Written(String),
        }
        match Text::deserialize(d)? {
            Text::Bytes(n) => Ok(Size(n)),
            Text::Written(text) => parse_size(&text).map(Size).map_err(serde::de::Error::custom),
        }
    }
}

/// Seconds: an integer, or a string with a unit (`90s`, `30m`, `2h`).
#[derive(Debug, Clone, Copy)]
struct Seconds(u64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Seconds, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Text {
            Seconds(u64),
            Written(String),
        }
        match Text::deserialize(d)? {
            Text::Seconds(n) => Ok(Seconds(n)),
            Text::Written(text) => parse_duration(&text)
                .map(Seconds)
                .map_err(serde::de::Error::custom),
        }
    }
}

fn number_and_unit(text: &str) -> Option<(u64, String)> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let number = text[..digits].parse().ok()?;
    Some((number, text[digits..].trim().to_ascii_lowercase()))
}

fn parse_size(text: &str) -> Result<u64, String> {
    let why = || format!("{text:?} is not a size: write bytes (1048576) or 512MiB, 1GiB, 100MB");
    let (number, unit) = number_and_unit(text).ok_or_else(why)?;
    let scale: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return Err(why()),
    };
    number.checked_mul(scale).ok_or_else(why)
}

fn parse_duration(text: &str) -> Result<u64, String> {
    let why = || format!("{text:?} is not a duration: write seconds (1800) or 90s, 30m, 2h");
    let (number, unit) = number_and_unit(text).ok_or_else(why)?;
    let scale = match unit.as_str() {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        _ => return Err(why()),
    };
    number.checked_mul(scale).ok_or_else(why)
}

/// What each learner may use. `None`: the server's own setting (its flag or default) holds. Running
/// containers, disk and registry bytes map onto the existing settings at start (`docs/classroom.md`); memory,
/// CPU and pids are read for the per-learner cgroups (again at SIGHUP), the idle timeout by the learners' watch.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ClassroomLimits {
    /// Containers a learner may hold at once (the runner's per-session limit).
    pub containers: Option<u32>,
    /// Memory of all a learner's containers and RUN steps, in bytes.
    pub memory: Option<u64>,
    /// CPU share, in cores (`0.5`: half a core when the machine is busy).
    pub cpu: Option<f64>,
    /// Processes of all a learner's containers and RUN steps.
    pub pids: Option<u32>,
    /// Bytes of the learner's local image store (`--session-quota`).
    pub disk: Option<u64>,
    /// Bytes of the learner's registry namespace (`--namespace-quota`).
    pub registry: Option<u64>,
    /// Seconds a learner may go unused before their running containers are stopped (with a warning before:
    /// `classroom::lifetimes`).
    pub idle_timeout: Option<u64>,
}

/// A teacher's or a learner's credential as the file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GivenSecret {
    /// A join code written in the file (normalized).
    Code(String),
    /// A teacher's argon2 password hash (`slipway hash-password`).
    PasswordHash(String),
    /// Nothing written: the server makes a join code and keeps it in the data directory.
    None,
}

/// A class member as the file names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberText {
    pub name: String,
    pub teacher: bool,
    pub secret: GivenSecret,
}

/// A classroom file, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassroomConfig {
    pub name: Option<String>,
    /// RFC 3339, as written.
    pub ends_at: Option<String>,
    /// `ends_at` in Unix seconds.
    pub ends_unix: Option<i64>,
    pub lessons: Vec<String>,
    /// Teachers first, then learners, in file order.
    pub members: Vec<MemberText>,
    pub limits: ClassroomLimits,
}

/// Learners a count may make.
const MAX_LEARNERS: u32 = 1000;

/// Where a file's parts are, to point at them.
struct Source<'a> {
    path: &'a str,
    text: &'a str,
}

impl Source<'_> {
    fn invalid(&self, span: Range<usize>, why: impl Into<String>) -> ConfigError {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ConfigError::Invalid {
            path: self.path.to_string(),
            line,
            column,
            why: why.into(),
        }
    }
}

impl ClassroomConfig {
    pub fn read(path: &std::path::Path) -> Result<ClassroomConfig, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        ClassroomConfig::parse(&shown, &text)
    }

    /// Parse `text` (from `path`, for the errors).
    pub fn parse(path: &str, text: &str) -> Result<ClassroomConfig, ConfigError> {
        let file: FileText = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let source = Source { path, text };
        let mut members = Vec::new();
        for teacher in file.teachers {
            let secret = match (teacher.password_hash, teacher.code) {
                (Some(hash), None) => {
                    if argon2::PasswordHash::new(hash.get_ref()).is_err() {
                        return Err(source.invalid(
                            hash.span(),
                            "not an argon2 hash: make one with `slipway hash-password`",
                        ));
                    }
                    GivenSecret::PasswordHash(hash.into_inner())
                }
                (None, Some(code)) => GivenSecret::Code(checked_code(&source, &code)?),
                (None, None) => GivenSecret::None,
                (Some(_), Some(code)) => {
                    return Err(
                        source.invalid(code.span(), "a teacher has a password_hash or a code, not both")
                    )
                }
            };
            members.push(MemberText {
                name: checked_name(&source, &teacher.name)?,
                teacher: true,
                secret,
            });
        }
        let learners = learner_names(&source, &file.learners)?;
        let mut codes = file.learners.codes;
        for name in learners {
            let secret = match codes.remove(&name) {
                Some(code) => GivenSecret::Code(checked_code(&source, &code)?),
                None => GivenSecret::None,
            };
            members.push(MemberText {
                name,
                teacher: false,
                secret,
            });
        }
        if let Some((name, code)) = codes.into_iter().next() {
            return Err(source.invalid(code.span(), format!("{name:?} is not a learner of this class")));
        }
        let ends_unix = match &file.class.ends {
            Some(ends) => Some(unix_seconds(ends.get_ref()).ok_or_else(|| {
                source.invalid(
                    ends.span(),
                    "the end must be a date and time with its offset (RFC 3339: 2026-12-07T17:00:00Z)",
                )
            })?),
            None => None,
        };
        let limits = file.limits;
        Ok(ClassroomConfig {
            name: file.class.name,
            ends_at: file.class.ends.map(|e| e.into_inner().to_string()),
            ends_unix,
            lessons: file.class.lessons,
            members,
            limits: ClassroomLimits {
                containers: limits.containers,
                memory: limits.memory.map(|s| s.0),
                cpu: limits.cpu,
                pids: limits.pids,
                disk: limits.disk.map(|s| s.0),
                registry: limits.registry.map(|s| s.0),
                idle_timeout: limits.idle_timeout.map(|s| s.0),
            },
        })
        .and_then(|config| config.without_duplicates(&source))
    }

    /// Two members of one name would share a namespace and a session: refused.
    fn without_duplicates(self, source: &Source) -> Result<ClassroomConfig, ConfigError> {
        let mut seen = HashSet::new();
        let mut codes = HashSet::new();
        for member in &self.members {
            if !seen.insert(member.name.as_str()) {
                let at = source.text.find(&format!("\"{}\"", member.name)).unwrap_or(0);
                return Err(source.invalid(at..at, format!("{:?} is named twice", member.name)));
            }
            if let GivenSecret::Code(code) = &member.secret {
                if !codes.insert(code.as_str()) {
                    return Err(
                        source.invalid(0..0, format!("{}'s code is also another member's", member.name))
                    );
                }
            }
        }
        Ok(self)
    }
}

/// The learners' names: the list, then `count` names `PREFIX1..PREFIXcount` (prefix `learner`).
fn learner_names(source: &Source, learners: &LearnersText) -> Result<Vec<String>, ConfigError> {
    let mut names = Vec::new();
    for name in &learners.names {
        names.push(checked_name(source, name)?);
    }
    if let Some(count) = &learners.count {
        if *count.get_ref() > MAX_LEARNERS {
            return Err(source.invalid(count.span(), format!("at most {MAX_LEARNERS} learners")));
        }
        let prefix = learners
            .prefix
            .clone()
            .unwrap_or_else(|| Spanned::new(count.span(), "learner".to_string()));
        for n in 1..=*count.get_ref() {
            let name = Spanned::new(prefix.span(), format!("{}{n}", prefix.get_ref()));
            names.push(checked_name(source, &name)?);
        }
    } else if let Some(prefix) = &learners.prefix {
        return Err(source.invalid(prefix.span(), "a prefix needs a count"));
    }
    Ok(names)
}

/// A member's name is their registry namespace: a lowercase repository name component, not a reserved one.
fn checked_name(source: &Source, name: &Spanned<String>) -> Result<String, ConfigError> {
    let text = name.get_ref();
    let component = crate::registry::names::RepoName::parse(text).is_ok() && !text.contains('/');
    let reserved = text == "library" || text.starts_with("slipway");
    if !component || reserved || text.len() > 64 {
        return Err(source.invalid(
            name.span(),
            format!(
                "{text:?} cannot be a name: it becomes the registry namespace, so lowercase letters, digits and \
                 . _ - (not `library` nor `slipway...`), at most 64 characters"
            ),
        ));
    }
    Ok(text.clone())
}

/// A code written in the file: at least 8 characters once normalized (letters, digits).
fn checked_code(source: &Source, code: &Spanned<String>) -> Result<String, ConfigError> {
    let normalized = slipway::api::normalize_join_code(code.get_ref());
    if normalized.len() < 8 || !normalized.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(source.invalid(
            code.span(),
            "a join code needs at least 8 letters or digits (leave it out and the server makes one)",
        ));
    }
    Ok(normalized)
}

/// A TOML date-time with its offset, in Unix seconds.
fn unix_seconds(at: &toml::value::Datetime) -> Option<i64> {
    let (date, time, offset) = (at.date?, at.time?, at.offset?);
    let (y, m, d) = (i64::from(date.year), i64::from(date.month), i64::from(date.day));
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let local =
        days * 86_400 + i64::from(time.hour) * 3600 + i64::from(time.minute) * 60 + i64::from(time.second);
    let offset_minutes = match offset {
        toml::value::Offset::Z => 0,
        toml::value::Offset::Custom { minutes } => i64::from(minutes),
    };
    Some(local - offset_minutes * 60)
}

/// What `slipway classroom init` writes.
pub const EXAMPLE: &str = r#"# A Slipway class: `slipway serve --classroom classroom.toml` (docs/classroom.md).
# Print the learners' sign-in cards with `slipway classroom cards --classroom classroom.toml --url URL`.
# Change this file and send the server SIGHUP (`kill -HUP PID`) to apply a new roster without dropping anyone.

[class]
name = "Docker 101"
# When the class ends (RFC 3339, with the offset): sign-ins after it are refused.
# ends = 2026-12-07T17:00:00Z
# Lessons assigned: lesson URLs, or the built-in lesson's id.
lessons = ["python-web-app"]

# Teachers: each with a password hash (`echo -n PASSWORD | slipway hash-password`) or a join code. Without
# either the server makes a code (printed on the cards).
[[teachers]]
name = "teacher"
# password_hash = "$argon2id$v=19$m=19456,t=2,p=1$..."

[learners]
# Either a list of names (each becomes the learner's registry namespace: lowercase, digits, . _ -) ...
# names = ["ada", "grace", "linus"]
# ... or a count with a prefix: learner1 .. learner30.
count = 30
prefix = "learner"
# Join codes are made by the server (10 characters, kept in the data directory); write one to choose it:
# [learners.codes]
# learner1 = "ABCDE-FGHJK"

# What each learner may use; leave one out for the server's own setting.
[limits]
containers = 4          # running at once
memory = "512MiB"       # all their containers and RUN steps
cpu = 0.5               # CPU weight in cores: 1.0 = the default; a busy machine is shared by weight
pids = 256
disk = "1GiB"           # their local image store
registry = "1GiB"       # their registry namespace
idle_timeout = "2h"     # running containers stopped after this long unused (warned before)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses_with_thirty_learners_and_its_limits() {
        let config = ClassroomConfig::parse("classroom.toml", EXAMPLE).unwrap();
        assert_eq!(config.members.len(), 31);
        assert!(config.members[0].teacher && config.members[0].name == "teacher");
        assert_eq!(config.members[1].name, "learner1");
        assert_eq!(config.members[30].name, "learner30");
        assert_eq!(config.lessons, ["python-web-app"]);
        assert_eq!(
            config.limits,
            ClassroomLimits {
                containers: Some(4),
                memory: Some(512 << 20),
                cpu: Some(0.5),
                pids: Some(256),
                disk: Some(1 << 30),
                registry: Some(1 << 30),
                idle_timeout: Some(7200),
            }
        );
    }

    #[test]
    fn names_codes_and_the_end_are_read() {
        let text = r#"
[class]
ends = 2026-12-07T18:00:00+01:00
[learners]
names = ["ada", "grace"]
codes = { ada = "abcde-fghjk" }
[limits]
idle_timeout = 900
"#;
        let config = ClassroomConfig::parse("c.toml", text).unwrap();
        assert_eq!(config.ends_unix, Some(1_796_662_800));
        assert_eq!(config.members[0].secret, GivenSecret::Code("ABCDEFGHJK".into()));
        assert_eq!(config.members[1].secret, GivenSecret::None);
        assert_eq!(config.limits.idle_timeout, Some(900));
        assert_eq!(config.limits.memory, None);
    }

    #[test]
    fn errors_say_line_and_column() {
        let bad_name = "[learners]\nnames = [\"ok\",\n  \"Bad Name\"]\n";
        let e = ClassroomConfig::parse("c.toml", bad_name)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3, column 3") && e.contains("Bad Name"), "{e}");
        let bad_size = "[limits]\nmemory = \"lots\"\n";
        let e = ClassroomConfig::parse("c.toml", bad_size)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2") && e.contains("not a size"), "{e}");
        let unknown = "[learners]\ncuont = 3\n";
        let e = ClassroomConfig::parse("c.toml", unknown).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("cuont"), "{e}");
        let twice = "[[teachers]]\nname = \"ada\"\n[learners]\nnames = [\"ada\"]\n";
        let e = ClassroomConfig::parse("c.toml", twice).unwrap_err().to_string();
        assert!(e.contains("named twice"), "{e}");
        let short = "[learners]\nnames = [\"a\"]\ncodes = { a = \"abc\" }\n";
        assert!(ClassroomConfig::parse("c.toml", short).is_err());
        let local = "[class]\nends = 2026-12-07T17:00:00\n";
        let e = ClassroomConfig::parse("c.toml", local).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("RFC 3339"), "{e}");
    }

    #[test]
    fn sizes_and_durations_take_units() {
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("100 MB"), Ok(100_000_000));
        assert!(parse_size("1TB").is_err());
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("2h"), Ok(7200));
        assert!(parse_duration("soon").is_err());
    }
}
