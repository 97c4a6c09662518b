//! Compose in the page, as plain functions (tested natively): `docker compose` run on the project's files, and
//! what the compose editor shows (diagnostics with line and column in Compose's words, the outline of services).

use std::collections::BTreeMap;

use slipway::cli::compose;
use slipway::cli::outcome::Outcome;
use slipway::cli::parse::Invocation;
use slipway::compose::{check_file, outline, ProjectFiles};

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

/// One problem the compose editor shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeDiagnostic {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// What the compose editor shows for `text`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::project::ProjectFile;
    use slipway::cli::interpret::plan_line;
    use slipway::cli::outcome::Step;

    #[test]
    fn the_editor_check_points_at_the_line_and_column_in_composes_words() {
        let check = ComposeCheck::of("compose.yaml", "services:\n  web:\n    image: a\n    foo: 1\n  db:\n    image: b\n");
        assert_eq!(
            check.diagnostics,
            vec![ComposeDiagnostic {
                line: 4,
                column: 5,
                message: "services.web Additional property foo is not allowed".into()
            }]
        );
        assert_eq!(check.outline, vec![("web".to_string(), 2), ("db".to_string(), 5)]);
        assert!(ComposeCheck::of("compose.yaml", "services:\n  web:\n    image: a\n").diagnostics.is_empty());
    }

    #[test]
    fn compose_config_reads_the_pages_files_and_dotenv() {
        let mut project = Project::default();
        project.files.insert("compose.yaml".into(), ProjectFile::new("services:\n  web:\n    build: ./app\n    image: \"web:${TAG}\"\n"));
        project.files.insert(".env".into(), ProjectFile::new("TAG=v1\n"));
        let Step::Compose(inv) = plan_line("docker compose config") else {
            panic!("not a compose step");
        };
        let out = run_in_page(&inv, &project);
        assert_eq!(out.exit_code, 0, "{out:?}");
        assert!(out.stdout.starts_with("name: project\nservices:\n  web:\n    build:\n      context: /project/app\n"), "{}", out.stdout);
        assert!(out.stdout.contains("    image: web:v1\n"), "{}", out.stdout);
    }
}
