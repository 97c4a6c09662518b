//! Lessons: a manifest (`lesson.json`, documented in `docs/lessons.md`) with the project's files and steps, and
//! the checks that tell a learner whether a step is done. Checks are judged here from what was fetched (plain
//! text in, a verdict out), so every rule is tested natively and one set of rules serves both judges: the page
//! (`www/src/ui/lesson_panel.rs` fetches what a check needs) and, in classroom mode, the server
//! (`server/src/classroom/progress_judge.rs` reads the same things from its own stores).

use serde::Deserialize;

use crate::api::{ContainerStatus, ContainerSummary};
use crate::image::Reference;

/// The exit code of a command stopped with Ctrl-C (`crate::cli::outcome::INTERRUPTED`; the lesson rules sit
/// below the interpreter, so it is spelled here too).
const INTERRUPTED: i32 = 130;

/// A lesson manifest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    /// The lesson's stable id: the name a classroom file gives it (`lessons = ["python-web-app"]`), by which the
    /// page asks the class's server for its progress. Lessons served by URL may leave it out.
    #[serde(default)]
    pub id: Option<String>,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    /// Where the files live, relative to the manifest's URL (default: the manifest's own folder).
    #[serde(default = "same_folder")]
    pub files_from: String,
    /// The project's files, relative to `files_from`; loading the lesson fills the project with them.
    pub files: Vec<String>,
    /// The user name put in for `{user}` until the learner types theirs.
    #[serde(default = "default_user")]
    pub user: String,
    pub steps: Vec<LessonStep>,
}

fn same_folder() -> String {
    "./".into()
}

fn success_only() -> Vec<i32> {
    vec![0]
}

fn default_user() -> String {
    "learner1".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonStep {
    pub title: String,
    /// Markdown-lite: paragraphs split by blank lines, `code` in backticks, **bold**.
    pub text: String,
    /// The command to try, shown with a button that puts it in the terminal.
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub check: Option<Check>,
    /// What to do when this step's check fails, in the step's own terms (shown after the reason).
    #[serde(default)]
    pub hint: Option<String>,
}

impl LessonStep {
    /// A failing verdict with the step's hint after it (`{user}` filled in); a passing one as it is.
    pub fn advise(&self, verdict: Verdict, user: &str) -> Verdict {
        match &self.hint {
            Some(hint) if !verdict.passed => {
                Verdict::fail(format!("{} {}", verdict.message, personalize(hint, user)))
            }
            _ => verdict,
        }
    }
}

/// How the page decides that a step is done. `{user}` in any string is the learner's user name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// The session's local images (`GET /api/images`) hold `name` (tag `latest` when none is given).
    ImageExists { name: String },
    /// A running container publishes `port` and its app answers on the preview origin with a 2xx
    /// (whose body holds `contains`, when given).
    ContainerAnswers {
        port: u16,
        #[serde(default)]
        contains: Option<String>,
    },
    /// The latest command in the terminal that starts with `pattern` (words compared with single spaces)
    /// ended with one of `exit_codes` (default: 0, success; `docker run -it` stopped by Ctrl-C ends with 130).
    CommandRan {
        pattern: String,
        #[serde(default = "success_only")]
        exit_codes: Vec<i32>,
    },
    /// The embedded registry lists the tag (`GET /v2/<repository>/tags/list`).
    Pushed { name: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LessonError {
    #[error("the lesson manifest is not valid: {0}")]
    Parse(String),
    #[error("the lesson has no steps")]
    NoSteps,
    #[error("lesson file {0:?} is not a relative path inside the lesson")]
    BadFile(String),
}

/// The outcome of one check, in words for the learner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub passed: bool,
    pub message: String,
}

impl Verdict {
    pub fn pass(message: impl Into<String>) -> Self {
        Verdict {
            passed: true,
            message: message.into(),
        }
    }

    pub fn fail(message: impl Into<String>) -> Self {
        Verdict {
            passed: false,
            message: message.into(),
        }
    }
}

impl Lesson {
    pub fn parse(json: &str) -> Result<Lesson, LessonError> {
        let lesson: Lesson = serde_json::from_str(json).map_err(|e| LessonError::Parse(e.to_string()))?;
        if lesson.steps.is_empty() {
            return Err(LessonError::NoSteps);
        }
        for file in &lesson.files {
            let clean = crate::layer::path::normalize(file.trim())
                .ok()
                .filter(|c| !c.is_empty());
            if clean.as_deref() != Some(file.trim_start_matches("./")) {
                return Err(LessonError::BadFile(file.clone()));
            }
        }
        Ok(lesson)
    }

    /// The URL of each file, resolved against the manifest's URL like a browser resolves a relative link.
    pub fn file_urls(&self, manifest_url: &str) -> Vec<(String, String)> {
        let base = resolve(manifest_url, &self.files_from);
        let base = if base.ends_with('/') {
            base
        } else {
            format!("{base}/")
        };
        self.files
            .iter()
            .map(|f| {
                (
                    f.trim_start_matches("./").to_string(),
                    format!("{base}{}", f.trim_start_matches("./")),
                )
            })
            .collect()
    }
}

/// Where the lessons shipped with Slipway live: `static/lessons/NAME/lesson.json`, served under `/static/`.
pub const SHIPPED_LESSONS: &str = "/static/lessons/";

/// The manifest URL a `?lesson=` value (or an embed's `data-lesson`) names: a shipped lesson's bare name
/// (`compose-app`: letters, digits and `-`) is `/static/lessons/compose-app/lesson.json`; anything else is a URL.
pub fn manifest_url(param: &str) -> String {
    let bare = !param.is_empty()
        && param
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    match bare {
        true => format!("{SHIPPED_LESSONS}{param}/lesson.json"),
        false => param.to_string(),
    }
}

/// `relative` resolved against `base` (a URL or a path) as a browser resolves a link: `./`, `../`, `/x`, names.
pub fn resolve(base: &str, relative: &str) -> String {
    if relative.contains("://") {
        return relative.to_string();
    }
    let base = base.split(['?', '#']).next().unwrap_or(base);
    let origin_len = match base.find("://") {
        Some(i) => base[i + 3..].find('/').map_or(base.len(), |j| i + 3 + j),
        None => 0,
    };
    let (origin, path) = base.split_at(origin_len);
    let rooted = !origin.is_empty() || path.starts_with('/') || relative.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    if !relative.starts_with('/') {
        parts = path.split('/').filter(|s| !s.is_empty()).collect();
        if !path.ends_with('/') {
            parts.pop(); // the manifest's own file name
        }
    }
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    let last = relative.rsplit('/').next().unwrap_or_default();
    let folder = matches!(last, "" | "." | "..");
    let mut out = format!("{origin}{}{}", if rooted { "/" } else { "" }, parts.join("/"));
    if folder && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// `text` with `{user}` replaced.
pub fn personalize(text: &str, user: &str) -> String {
    text.replace("{user}", user)
}

/// A piece of a step's markdown-lite text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Span {
    Text(String),
    Code(String),
    Bold(String),
}

/// The paragraphs of a step's text (split at blank lines), each as spans: `` `code` `` and `**bold**`.
pub fn markdown_lite(text: &str) -> Vec<Vec<Span>> {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|paragraph| {
            let mut spans = Vec::new();
            let mut rest = paragraph;
            while !rest.is_empty() {
                let code = rest.find('`');
                let bold = rest.find("**");
                let (at, marker, make): (usize, &str, fn(String) -> Span) = match (code, bold) {
                    (Some(c), Some(b)) if b < c => (b, "**", Span::Bold),
                    (Some(c), _) => (c, "`", Span::Code),
                    (None, Some(b)) => (b, "**", Span::Bold),
                    (None, None) => (rest.len(), "", Span::Text),
                };
                if at > 0 {
                    spans.push(Span::Text(rest[..at].to_string()));
                }
                if marker.is_empty() {
                    break;
                }
                let inner = &rest[at + marker.len()..];
                match inner.find(marker) {
                    Some(end) => {
                        spans.push(make(inner[..end].to_string()));
                        rest = &inner[end + marker.len()..];
                    }
                    None => {
                        // An unclosed marker is plain text.
                        spans.push(Span::Text(rest[at..].to_string()));
                        break;
                    }
                }
            }
            spans
        })
        .collect()
}

fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Debug, Deserialize)]
struct ImageRow {
    repository: String,
    tag: String,
    #[serde(default)]
    id: String,
}

#[derive(Debug, Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

/// `name` as a reference with its tag, or a failing verdict saying why it is not an image name.
fn reference(name: &str) -> Result<Reference, Verdict> {
    Reference::parse(name)
        .map(Reference::with_default_tag)
        .map_err(|e| {
            Verdict::fail(format!(
                "the lesson names {name:?}, which is not an image name: {e}"
            ))
        })
}

impl Check {
    /// The check with `{user}` filled in.
    pub fn personalized(&self, user: &str) -> Check {
        let p = |s: &String| personalize(s, user);
        match self {
            Check::ImageExists { name } => Check::ImageExists { name: p(name) },
            Check::ContainerAnswers { port, contains } => Check::ContainerAnswers {
                port: *port,
                contains: contains.as_ref().map(p),
            },
            Check::CommandRan { pattern, exit_codes } => Check::CommandRan {
                pattern: p(pattern),
                exit_codes: exit_codes.clone(),
            },
            Check::Pushed { name } => Check::Pushed { name: p(name) },
        }
    }

    /// `command_ran`: judged from the commands that finished in the terminal, with their exit codes.
    pub fn judge_history(&self, finished: &[(String, i32)]) -> Verdict {
        let Check::CommandRan { pattern, exit_codes } = self else {
            return Verdict::fail("this check does not read the terminal history");
        };
        let wanted = words(pattern);
        // The latest attempt counts: a success after failures is done, a failure says why not.
        match finished.iter().rev().find(|(c, _)| words(c).starts_with(&wanted)) {
            Some((cmd, code)) if exit_codes.contains(code) => {
                Verdict::pass(format!("Done: you ran `{}`.", words(cmd)))
            }
            Some((cmd, INTERRUPTED)) => Verdict::fail(format!(
                "You stopped `{}` with Ctrl-C (exit code 130) before it finished. Run it again and let it finish.",
                words(cmd)
            )),
            Some((cmd, code)) => Verdict::fail(format!(
                "You ran `{}`, but it failed (exit code {code}): the terminal says why. Fix it and run it again.",
                words(cmd)
            )),
            None => Verdict::fail(format!(
                "Not yet: no command starting with `{wanted}` in your terminal history. Type it in the terminal and press Enter."
            )),
        }
    }

    /// `image_exists`: judged from the body of `GET /api/images` (or why it could not be fetched).
    pub fn judge_images(&self, answer: Result<String, String>) -> Verdict {
        let Check::ImageExists { name } = self else {
            return Verdict::fail("this check does not read the image list");
        };
        let wanted = match reference(name) {
            Ok(r) => r,
            Err(v) => return v,
        };
        let body = match answer {
            Ok(body) => body,
            Err(why) => return Verdict::fail(format!("Could not list your images: {why}.")),
        };
        let rows: Vec<ImageRow> = match serde_json::from_str(&body) {
            Ok(rows) => rows,
            Err(e) => return Verdict::fail(format!("The companion's image list is unreadable: {e}.")),
        };
        let (repo, tag) = (wanted.familiar_name(), wanted.tag_or_digest());
        if let Some(row) = rows.iter().find(|r| r.repository == repo && r.tag == tag) {
            let id = row.id.strip_prefix("sha256:").unwrap_or(&row.id);
            return Verdict::pass(format!(
                "Done: the image {repo}:{tag} exists (IMAGE ID {}). `docker images` lists it too.",
                &id[..id.len().min(12)]
            ));
        }
        let others: Vec<String> = rows
            .iter()
            .filter(|r| r.repository == repo)
            .map(|r| format!("{}:{}", r.repository, r.tag))
            .collect();
        if others.is_empty() {
            Verdict::fail(format!(
                "Not yet: there is no image {repo}:{tag} ({} local image(s)). Build it with `docker build -t {repo}:{tag} .`.",
                rows.len()
            ))
        } else {
            Verdict::fail(format!(
                "Not yet: {repo} exists as {}, but not with the tag {tag}. Check the `-t` part of your build command.",
                others.join(", ")
            ))
        }
    }

    /// `container_answers`, first half: which running container publishes the port, from `GET /api/containers`.
    pub fn pick_container(&self, answer: Result<String, String>) -> Result<ContainerSummary, Verdict> {
        let Check::ContainerAnswers { port, .. } = self else {
            return Err(Verdict::fail("this check does not read the container list"));
        };
        let body = answer.map_err(|why| Verdict::fail(format!("Could not list your containers: {why}.")))?;
        let rows: Vec<ContainerSummary> = serde_json::from_str(&body)
            .map_err(|e| Verdict::fail(format!("The companion's container list is unreadable: {e}.")))?;
        let running: Vec<&ContainerSummary> = rows
            .iter()
            .filter(|c| c.status == ContainerStatus::Running)
            .collect();
        if let Some(c) = running
            .iter()
            .find(|c| c.ports.iter().any(|p| p.container == *port))
        {
            return Ok((*c).clone());
        }
        Err(Verdict::fail(match running.first() {
            None => format!(
                "Not yet: no container is running. Start one with `docker run -p {port}:{port} IMAGE`."
            ),
            Some(c) => format!(
                "Not yet: the running container {} does not publish port {port}. Run it with `-p {port}:{port}` so the page can reach it.",
                if c.name.is_empty() { &c.id } else { &c.name }
            ),
        }))
    }

    /// `container_answers`, second half: the HTTP status and body the app sent through the preview origin.
    pub fn judge_answer(&self, answer: Result<(u16, String), String>) -> Verdict {
        let Check::ContainerAnswers { port, contains } = self else {
            return Verdict::fail("this check does not read a container's answer");
        };
        match answer {
            Err(why) => Verdict::fail(format!("The container did not answer on port {port}: {why}.")),
            Ok((status, _)) if !(200..300).contains(&status) => Verdict::fail(format!(
                "The app answered on port {port}, but with HTTP {status}: look at `docker logs` for why."
            )),
            Ok((_, body)) => match contains {
                Some(text) if !body.contains(text.as_str()) => Verdict::fail(format!(
                    "The app answered on port {port}, but its page does not say {text:?}."
                )),
                _ => Verdict::pass(format!(
                    "Done: your app answered on port {port} through the preview. A published port connects the page to the container."
                )),
            },
        }
    }

    /// `pushed`: the repository path to ask the registry for tags, e.g. `learner1/app`.
    pub fn pushed_repository(&self) -> Option<String> {
        match self {
            Check::Pushed { name } => reference(name).ok().map(|r| r.repository().to_string()),
            _ => None,
        }
    }

    /// `pushed`: judged from `GET /v2/<repository>/tags/list` (status and body).
    pub fn judge_tags(&self, answer: Result<(u16, String), String>) -> Verdict {
        let Check::Pushed { name } = self else {
            return Verdict::fail("this check does not read a registry");
        };
        let wanted = match reference(name) {
            Ok(r) => r,
            Err(v) => return v,
        };
        let (repo, tag) = (wanted.familiar_name(), wanted.tag_or_digest());
        let not_yet =
            || format!("Not yet: the registry has no {repo}:{tag}. Push it with `docker push {repo}:{tag}`.");
        match answer {
            Err(why) => Verdict::fail(format!("Could not ask the registry: {why}.")),
            Ok((404, _)) => Verdict::fail(not_yet()),
            Ok((401 | 403, _)) => Verdict::fail(
                "The registry wants a login to list this repository: run `docker login` first.".to_string(),
            ),
            Ok((status, _)) if !(200..300).contains(&status) => {
                Verdict::fail(format!("The registry answered HTTP {status}."))
            }
            Ok((_, body)) => {
                let tags = serde_json::from_str::<TagList>(&body)
                    .ok()
                    .and_then(|t| t.tags)
                    .unwrap_or_default();
                if tags.contains(&tag) {
                    Verdict::pass(format!(
                        "Done: the registry holds {repo}:{tag}. Anyone allowed to pull can now run your image."
                    ))
                } else {
                    Verdict::fail(not_yet())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
