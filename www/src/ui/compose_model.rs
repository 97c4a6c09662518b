//! Compose in the page, as plain functions (tested natively): `docker compose` run on the project's files, and
//! what the compose editor shows (diagnostics with line and column in Compose's words, the outline of services).

use std::collections::BTreeMap;
use std::rc::Rc;

use slipway::cli::compose;
use slipway::cli::context::CommandContext;
use slipway::cli::outcome::Outcome;
use slipway::cli::parse::Invocation;
use slipway::compose::{check_file, outline, ProjectFiles};
use slipway::registry::Transport;

use super::editor_model::{CodeMark, Jump};
use super::project::Project;

/// The project directory as the page's Compose shows it (`build.context: /project/app`); its name is the
/// default project name (`project`).
pub const PAGE_PROJECT_DIR: &str = "/project";

struct PageFiles<'a>(&'a Project);

impl ProjectFiles for PageFiles<'_> {
    fn read(&self, path: &str) -> Option<String> {
        self.0.files.get(path).and_then(|f| f.text()).map(str::to_string)
    }
}

/// Run a `docker compose` line on the page's project. The page has no environment of its own: variables come
/// from the project's `.env` (or `--env-file`).
pub fn run_in_page(inv: &Invocation, project: &Project) -> Outcome {
    compose::run(inv, &PageFiles(project), &BTreeMap::new(), PAGE_PROJECT_DIR)
}

/// The docs embeds' runner: its blocks' files are a build context, not the page's project.
struct TreeFiles<'a>(&'a slipway::layer::FileTree);

impl ProjectFiles for TreeFiles<'_> {
    fn read(&self, path: &str) -> Option<String> {
        match self.0.get(path)? {
            slipway::layer::Node::File { data, .. } => String::from_utf8(data.to_vec()).ok(),
            _ => None,
        }
    }
}

/// Run a `docker compose` line on the files the embed's blocks brought (their shared build context): `config`
/// here, the rest (`up`, `down`, `ps`) against the companion of `ctx`.
pub async fn run_on_tree<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    tree: &slipway::layer::FileTree,
) -> Outcome {
    if !compose::needs_companion(inv) {
        return compose::run(inv, &TreeFiles(tree), &BTreeMap::new(), PAGE_PROJECT_DIR);
    }
    compose::run_project(ctx, inv, &TreeFiles(tree), &BTreeMap::new(), PAGE_PROJECT_DIR).await
}

/// Run a `docker compose` line on the page's project against the companion of `ctx` (`up`, `down`, `ps`), its
/// builds (`build`, `up --build`) by `builder`.
pub async fn run_on_companion<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    project: &Project,
    builder: Option<&dyn slipway::cli::compose_build::ImageBuilder>,
) -> Outcome {
    let env = BTreeMap::new();
    compose::run_project_building(ctx, inv, &PageFiles(project), (&env, PAGE_PROJECT_DIR), builder).await
}

/// Start a `docker compose exec` or attached `run` on the page's project against the companion of `ctx` (what
/// `run` builds first by `builder`): where the terminal attaches to it.
pub async fn attach_on_companion<T: Transport>(
    ctx: &CommandContext<'_, T>,
    inv: &Invocation,
    project: &Project,
    builder: Option<&dyn slipway::cli::compose_build::ImageBuilder>,
) -> Result<slipway::cli::attach::AttachTarget, Outcome> {
    let files = PageFiles(project);
    compose::attach_project(ctx, inv, &files, &BTreeMap::new(), PAGE_PROJECT_DIR, builder).await
}

/// One problem the compose editor shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ComposeDiagnostic {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// What the compose editor shows for `text` (the engine answers it: `engine_api::export::COMPOSE_CHECK`).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ComposeCheck {
    pub diagnostics: Vec<ComposeDiagnostic>,
    /// Each service and the line it is defined on.
    pub outline: Vec<(String, usize)>,
}

impl ComposeCheck {
    pub fn of(name: &str, text: &str) -> Self {
        let diagnostics = check_file(name, text)
            .into_iter()
            .map(|e| {
                let pos = e.pos.unwrap_or_default();
                ComposeDiagnostic {
                    line: pos.line.max(1),
                    column: pos.column.max(1),
                    message: e.message,
                }
            })
            .collect();
        ComposeCheck {
            diagnostics,
            outline: outline(text),
        }
    }
}

/// The hover text and title of every compose diagnostic.
pub const EXPLANATION: &str =
    "Docker Compose refuses this file (docs/compose.md lists what Slipway supports).";

/// The compose editor's state: the text, what the check found, where CodeMirror draws it, the line to jump to.
#[derive(Debug, Clone, PartialEq)]
pub struct ComposeEditorState {
    pub name: String,
    pub text: String,
    pub check: ComposeCheck,
    /// Whether the text was checked (in the page: the engine may not have loaded yet).
    pub checked: bool,
    pub marks: Rc<Vec<CodeMark>>,
    pub jump_to: Option<Jump>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposeEditorAction {
    Edit(String),
    JumpTo(usize),
    /// Check the text again (the engine has loaded).
    Recheck,
}

impl ComposeEditorState {
    /// The state of `text` checked here (natively; the page asks its engine: [`ComposeEditorState::with_check`]).
    pub fn new(name: &str, text: &str) -> Self {
        Self::with_check(name, text, Some(ComposeCheck::of(name, text)))
    }

    /// The state of `text` with its check (`None`: not checked yet).
    pub fn with_check(name: &str, text: &str, check: Option<ComposeCheck>) -> Self {
        let checked = check.is_some();
        let check = check.unwrap_or_default();
        ComposeEditorState {
            name: name.to_string(),
            text: text.to_string(),
            marks: Rc::new(marks(text, &check.diagnostics)),
            check,
            checked,
            jump_to: None,
        }
    }

    /// The cursor asked to `line`.
    pub fn jumped(&self, line: usize) -> Self {
        ComposeEditorState {
            jump_to: Some(Jump::after(self.jump_to, line)),
            ..self.clone()
        }
    }

    pub fn reduce(&self, action: ComposeEditorAction) -> Self {
        let text = match action {
            ComposeEditorAction::JumpTo(line) => return self.jumped(line),
            ComposeEditorAction::Edit(text) => text,
            ComposeEditorAction::Recheck => self.text.clone(),
        };
        ComposeEditorState {
            jump_to: self.jump_to,
            ..ComposeEditorState::new(&self.name, &text)
        }
    }
}

/// Each diagnostic as CodeMirror draws it: from its line and column to the end of the word there (UTF-16 offsets,
/// as JavaScript counts).
pub fn marks(text: &str, diagnostics: &[ComposeDiagnostic]) -> Vec<CodeMark> {
    let lines: Vec<&str> = text.split('\n').collect();
    let utf16 = |s: &str| s.chars().map(char::len_utf16).sum::<usize>() as u32;
    diagnostics
        .iter()
        .map(|d| {
            let before: u32 = lines.iter().take(d.line - 1).map(|l| utf16(l) + 1).sum();
            let line = lines.get(d.line - 1).copied().unwrap_or("");
            let head: String = line.chars().take(d.column - 1).collect();
            let word: String = line
                .chars()
                .skip(d.column - 1)
                .take_while(|c| !c.is_whitespace() && *c != ':')
                .collect();
            let from = before + utf16(&head);
            CodeMark {
                from,
                to: from + utf16(&word).max(1),
                severity: "error".into(),
                rule: "compose".into(),
                message: d.message.clone(),
                explanation: EXPLANATION.into(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::project::ProjectFile;
    use slipway::cli::interpret::plan_line;
    use slipway::cli::outcome::Step;

    #[test]
    fn the_editor_check_points_at_the_line_and_column_in_composes_words() {
        let check = ComposeCheck::of(
            "compose.yaml",
            "services:\n  web:\n    image: a\n    foo: 1\n  db:\n    image: b\n",
        );
        assert_eq!(
            check.diagnostics,
            vec![ComposeDiagnostic {
                line: 4,
                column: 5,
                message: "services.web Additional property foo is not allowed".into()
            }]
        );
        assert_eq!(check.outline, vec![("web".to_string(), 2), ("db".to_string(), 5)]);
        assert!(
            ComposeCheck::of("compose.yaml", "services:\n  web:\n    image: a\n")
                .diagnostics
                .is_empty()
        );
    }

    #[test]
    fn marks_underline_the_word_at_the_diagnostic_and_jumps_count() {
        let text = "services:\n  wéb:\n    image: a\n    foo: 1\n";
        let s = ComposeEditorState::new("compose.yaml", text);
        let m = &s.marks[0];
        // Line 4 starts after "services:\n" (10), "  wéb:\n" (7) and "    image: a\n" (13): 30, then 4 spaces.
        assert_eq!((m.from, m.to), (34, 37));
        let s = s
            .reduce(ComposeEditorAction::JumpTo(4))
            .reduce(ComposeEditorAction::JumpTo(4));
        assert_eq!(s.jump_to, Some(Jump { line: 4, seq: 1 }));
        let fixed = s.reduce(ComposeEditorAction::Edit(
            "services:\n  web:\n    image: a\n".into(),
        ));
        assert!(fixed.marks.is_empty() && fixed.check.diagnostics.is_empty());
    }

    #[test]
    fn compose_config_reads_the_pages_files_and_dotenv() {
        let mut project = Project::default();
        project.files.insert(
            "compose.yaml".into(),
            ProjectFile::new("services:\n  web:\n    build: ./app\n    image: \"web:${TAG}\"\n"),
        );
        project.files.insert(".env".into(), ProjectFile::new("TAG=v1\n"));
        let Step::Compose(inv) = plan_line("docker compose config") else {
            panic!("not a compose step");
        };
        let out = run_in_page(&inv, &project);
        assert_eq!(out.exit_code, 0, "{out:?}");
        assert!(
            out.stdout
                .starts_with("name: project\nservices:\n  web:\n    build:\n      context: /project/app\n"),
            "{}",
            out.stdout
        );
        assert!(out.stdout.contains("    image: web:v1\n"), "{}", out.stdout);
    }
}
