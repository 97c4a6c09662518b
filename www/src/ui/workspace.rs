//! The workspace around the project, as reducers: project operations with the message they leave for the
//! learner, the page settings (theme, font size, pane sizes), and the record saved across reloads.

use serde::{Deserialize, Serialize};

use super::project::{Project, ProjectError, ProjectFile};
use super::project_archive::Unpacked;

/// Something a learner did to the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectAction {
    NewFile(String),
    NewFolder(String),
    Rename {
        from: String,
        to: String,
    },
    Delete(String),
    Edit {
        path: String,
        text: String,
    },
    Open(String),
    Close(String),
    /// Files chosen in an upload dialog or dropped, below a folder (`""` = top).
    Upload {
        folder: String,
        files: Vec<(String, Vec<u8>)>,
    },
    /// A dropped `.zip`/`.tar`/`.tar.gz`, unpacked (a zip in the archive worker: `ui::archive_jobs`).
    Archive {
        name: String,
        unpacked: Unpacked,
    },
    /// A whole new project (a lesson's start, a share link, a reset).
    Replace {
        project: Project,
        why: String,
    },
    /// Show a message from outside the reducer (a failed download, a share link error).
    Say {
        error: bool,
        text: String,
    },
}

/// The project plus the last thing said about it, and a counter of whole replacements (editors key on it so
/// they start afresh when the project is swapped under them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProjectState {
    pub project: Project,
    pub message: Option<Message>,
    pub generation: u32,
    /// The learner changed the files since they last came whole (a lesson's start, a link, a reset): a link
    /// must then ask before replacing them.
    pub edited: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub error: bool,
    pub text: String,
}

impl ProjectState {
    pub fn new(project: Project) -> Self {
        ProjectState {
            project,
            ..Default::default()
        }
    }

    pub fn reduce(self, action: ProjectAction) -> Self {
        use ProjectAction::*;
        let edited = match &action {
            Replace { .. } => Some(false),
            // An editor reporting the text it already holds is no change.
            Edit { path, text } => self
                .project
                .files
                .get(path)
                .is_some_and(|f| f.data != text.as_bytes())
                .then_some(true),
            Open(_) | Close(_) | Say { .. } => None,
            NewFile(_) | NewFolder(_) | Rename { .. } | Delete(_) | Upload { .. } | Archive { .. } => {
                Some(true)
            }
        };
        // Typing keeps the last message (maybe an error); every other change says whether it was refused.
        let typing = matches!(action, Edit { .. });
        let was_edited = self.edited;
        let mut next = self.apply(action);
        let refused = !typing && next.message.as_ref().is_some_and(|m| m.error);
        next.edited = match edited {
            Some(edited) if !refused => edited,
            _ => was_edited,
        };
        next
    }

    fn apply(mut self, action: ProjectAction) -> Self {
        let p = &mut self.project;
        let result: Result<Option<String>, ProjectError> = match action {
            ProjectAction::NewFile(path) => p.create_file(&path, "").map(|f| Some(format!("Created {f}."))),
            ProjectAction::NewFolder(path) => p
                .create_folder(&path)
                .map(|f| Some(format!("Created folder {f}."))),
            ProjectAction::Rename { from, to } => p
                .rename(&from, &to)
                .map(|t| Some(format!("Renamed {from} to {t}."))),
            ProjectAction::Delete(path) => p.delete(&path).map(|_| Some(format!("Deleted {path}."))),
            // Typing says nothing, and keeps the last message (an error stays readable while fixing it).
            ProjectAction::Edit { path, text } => match p.edit(&path, text) {
                Ok(()) => return self,
                Err(e) => Err(e),
            },
            ProjectAction::Open(path) => {
                p.open(&path);
                return self;
            }
            ProjectAction::Close(path) => {
                p.close(&path);
                return self;
            }
            ProjectAction::Upload { folder, files } => p.upload(&folder, files).map(|added| {
                let first = added.first().cloned().unwrap_or_default();
                p.open(&first);
                Some(format!("Added {} file(s).", added.len()))
            }),
            ProjectAction::Archive { name, unpacked } => p
                .import_unpacked("", unpacked)
                .map(|n| Some(format!("Unpacked {n} file(s) from {name}."))),
            ProjectAction::Replace { project, why } => {
                self.project = project;
                self.generation += 1;
                Ok(Some(why))
            }
            ProjectAction::Say { error, text } => {
                self.message = Some(Message { error, text });
                return self;
            }
        };
        self.message = match result {
            Ok(text) => text.map(|text| Message { error: false, text }),
            Err(e) => Some(Message {
                error: true,
                text: e.to_string(),
            }),
        };
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    Dark,
    Light,
}

impl Theme {
    pub fn name(self) -> &'static str {
        match self {
            Theme::Dark => "dark",
            Theme::Light => "light",
        }
    }

    pub fn parse(s: &str) -> Option<Theme> {
        match s {
            "dark" => Some(Theme::Dark),
            "light" => Some(Theme::Light),
            _ => None,
        }
    }

    pub fn other(self) -> Theme {
        match self {
            Theme::Dark => Theme::Light,
            Theme::Light => Theme::Dark,
        }
    }
}

/// Page settings that persist: theme, font size and the sizes of the resizable panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub theme: Theme,
    /// Pixels of the code and terminal text (the rest of the page scales with it).
    pub font_px: u8,
    /// Width of the lesson + files column, in pixels.
    pub left_px: u16,
    /// Height of the row above the terminal (editor and side panels), in pixels: the terminal below takes
    /// the rest of the window, so a bigger window gives the terminal the room.
    pub editor_row_px: u16,
}

pub const FONT_MIN: u8 = 10;
pub const FONT_MAX: u8 = 32;
pub const COLUMN_MIN: u16 = 160;
pub const COLUMN_MAX: u16 = 1200;
pub const ROW_MIN: u16 = 96;
pub const ROW_MAX: u16 = 1600;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            theme: Theme::Dark,
            font_px: 14,
            left_px: 280,
            editor_row_px: 300,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsAction {
    ToggleTheme,
    FontBigger,
    FontSmaller,
    /// Add pixels (negative: remove) to the lesson and files column's width.
    ResizeLeft(i32),
    /// Add pixels (negative: remove) to the editor row's height; the terminal below gives or takes them.
    ResizeEditorRow(i32),
}

fn clamp_px(current: u16, delta: i32, (min, max): (u16, u16)) -> u16 {
    (i32::from(current) + delta).clamp(i32::from(min), i32::from(max)) as u16
}

impl Settings {
    pub fn reduce(mut self, action: SettingsAction) -> Self {
        match action {
            SettingsAction::ToggleTheme => self.theme = self.theme.other(),
            SettingsAction::FontBigger => self.font_px = (self.font_px + 2).min(FONT_MAX),
            SettingsAction::FontSmaller => self.font_px = self.font_px.saturating_sub(2).max(FONT_MIN),
            SettingsAction::ResizeLeft(d) => {
                self.left_px = clamp_px(self.left_px, d, (COLUMN_MIN, COLUMN_MAX))
            }
            SettingsAction::ResizeEditorRow(d) => {
                self.editor_row_px = clamp_px(self.editor_row_px, d, (ROW_MIN, ROW_MAX))
            }
        }
        self
    }
}

/// What survives a reload (IndexedDB's `workspace` store; localStorage key [`SAVED_KEY`] when IndexedDB fails).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SavedWorkspace {
    pub version: u32,
    pub project: Project,
    pub history: Vec<String>,
    /// Commands that finished, with exit codes (lesson checks of the `command_ran` kind read them).
    pub finished: Vec<(String, i32)>,
    pub settings: Settings,
    /// The lesson the workspace started from (its manifest URL) and the learner's user name in it.
    pub lesson_url: Option<String>,
    pub user: Option<String>,
    /// When it was saved (milliseconds since the Unix epoch): of two copies (IndexedDB and the localStorage
    /// fallback) the newer one wins.
    pub saved_at: u64,
    /// The learner changed the project since it came from a lesson or link ([`ProjectState::edited`]). A save
    /// from before this field was kept counts as changed: a link asks rather than guess.
    #[serde(default = "unknown_counts_as_edited")]
    pub edited: bool,
}

fn unknown_counts_as_edited() -> bool {
    true
}

pub const SAVED_KEY: &str = "slipway.workspace";
const SAVED_VERSION: u32 = 1;
/// Terminal history kept across reloads (the newest lines).
const HISTORY_KEPT: usize = 500;

impl SavedWorkspace {
    pub fn to_json(&self) -> String {
        let mut saved = self.clone();
        saved.version = SAVED_VERSION;
        let extra = saved.history.len().saturating_sub(HISTORY_KEPT);
        saved.history.drain(..extra);
        let extra = saved.finished.len().saturating_sub(HISTORY_KEPT);
        saved.finished.drain(..extra);
        serde_json::to_string(&saved).expect("a workspace serializes")
    }

    /// The saved workspace, or why it cannot be used (the page then starts afresh and says so).
    pub fn from_json(json: &str) -> Result<SavedWorkspace, String> {
        let saved: SavedWorkspace =
            serde_json::from_str(json).map_err(|e| format!("the saved workspace is unreadable ({e})"))?;
        if saved.version != SAVED_VERSION {
            return Err(format!(
                "the saved workspace has format {}, this page reads format {SAVED_VERSION}",
                saved.version
            ));
        }
        Ok(saved)
    }
}

/// Of the workspace saved in IndexedDB and the one in localStorage (older pages, or a fallback after IndexedDB
/// refused a write), the newer one; an unreadable copy loses to a readable one.
pub fn newest_saved(indexed: Option<String>, local: Option<String>) -> Option<String> {
    let stamp = |json: &String| SavedWorkspace::from_json(json).ok().map(|s| s.saved_at);
    match (indexed, local) {
        (Some(i), Some(l)) => match (stamp(&i), stamp(&l)) {
            (None, Some(_)) => Some(l),
            (Some(a), Some(b)) if b > a => Some(l),
            _ => Some(i),
        },
        (i, l) => i.or(l),
    }
}

/// The starter project when there is no lesson: the seed tutorial's Dockerfile.
pub fn starter_project() -> Project {
    Project::from_files([(
        "Dockerfile",
        ProjectFile::new(
            "FROM python:3.11-slim\n\nWORKDIR /app\n\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n\nCOPY . .\n\nENTRYPOINT [\"python3\"]\nCMD [\"app.py\"]\n",
        ),
    )])
    .expect("a valid starter project")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_leave_a_message_errors_included() {
        let s = ProjectState::new(starter_project());
        let s = s.reduce(ProjectAction::NewFile("app.py".into()));
        assert_eq!(s.message.as_ref().unwrap().text, "Created app.py.");
        assert_eq!(s.project.active.as_deref(), Some("app.py"));
        let s = s.reduce(ProjectAction::NewFile("app.py".into()));
        let m = s.message.clone().unwrap();
        assert!(m.error && m.text == "\"app.py\" already exists", "{m:?}");
        let s = s.reduce(ProjectAction::Edit {
            path: "app.py".into(),
            text: "print(1)".into(),
        });
        assert!(s.message.unwrap().error, "editing keeps the last message");
    }

    #[test]
    fn replace_bumps_the_generation() {
        let s = ProjectState::new(starter_project());
        let s = s.reduce(ProjectAction::Replace {
            project: Project::default(),
            why: "Reset.".into(),
        });
        assert_eq!(s.generation, 1);
        assert!(s.project.files.is_empty());
    }

    #[test]
    fn only_a_change_to_the_files_counts_as_edited() {
        let s = ProjectState::new(starter_project());
        let path = s.project.files.keys().next().unwrap().clone();
        let same = String::from_utf8(s.project.files[&path].data.clone()).unwrap();
        let s = s.reduce(ProjectAction::Open(path.clone()));
        let s = s.reduce(ProjectAction::Edit {
            path: path.clone(),
            text: same,
        });
        assert!(
            !s.edited,
            "opening a tab and the editor echoing the text change nothing"
        );
        let s = s.reduce(ProjectAction::Delete("no-such-file".into()));
        assert!(!s.edited, "a refused change changed nothing");
        let s = s.reduce(ProjectAction::Edit {
            path,
            text: "mine".into(),
        });
        assert!(s.edited);
        let s = s.reduce(ProjectAction::Say {
            error: true,
            text: "x".into(),
        });
        assert!(s.edited, "a message changes nothing");
        let s = s.reduce(ProjectAction::Replace {
            project: starter_project(),
            why: "Reset.".into(),
        });
        assert!(!s.edited, "the project came whole again");
        let old_save = r#"{"version":1,"project":{"files":{}}}"#;
        assert!(
            SavedWorkspace::from_json(old_save).unwrap().edited,
            "unknown counts as edited"
        );
    }

    #[test]
    fn settings_clamp() {
        let mut s = Settings::default();
        for _ in 0..20 {
            s = s
                .reduce(SettingsAction::FontBigger)
                .reduce(SettingsAction::ResizeLeft(-100));
        }
        assert_eq!((s.font_px, s.left_px), (FONT_MAX, COLUMN_MIN));
        assert_eq!(s.reduce(SettingsAction::ToggleTheme).theme, Theme::Light);
    }

    #[test]
    fn the_editor_row_resizes_within_bounds_and_is_saved() {
        let s = Settings::default().reduce(SettingsAction::ResizeEditorRow(-16));
        assert_eq!(s.editor_row_px, Settings::default().editor_row_px - 16);
        let shortest = (0..100).fold(s, |s, _| s.reduce(SettingsAction::ResizeEditorRow(-16)));
        assert_eq!(shortest.editor_row_px, ROW_MIN);
        let tallest = shortest.reduce(SettingsAction::ResizeEditorRow(i32::from(u16::MAX)));
        assert_eq!(tallest.editor_row_px, ROW_MAX);
        let saved = SavedWorkspace {
            settings: s,
            ..Default::default()
        };
        assert_eq!(SavedWorkspace::from_json(&saved.to_json()).unwrap().settings, s);
        // A workspace saved before the editor row existed (it had a terminal column width) keeps its other
        // settings and gets the default row.
        let old =
            r#"{"version":1,"settings":{"theme":"light","font_px":16,"left_px":300,"terminal_px":400}}"#;
        let old = SavedWorkspace::from_json(old).unwrap().settings;
        assert_eq!((old.theme, old.font_px, old.left_px), (Theme::Light, 16, 300));
        assert_eq!(old.editor_row_px, Settings::default().editor_row_px);
    }

    #[test]
    fn saved_workspace_round_trips_and_refuses_other_formats() {
        let saved = SavedWorkspace {
            project: starter_project(),
            history: (0..600).map(|i| format!("docker ps # {i}")).collect(),
            lesson_url: Some("/lessons/python-web-app/lesson.json".into()),
            ..Default::default()
        };
        let back = SavedWorkspace::from_json(&saved.to_json()).unwrap();
        assert_eq!(back.project, saved.project);
        assert_eq!(back.history.len(), 500);
        assert_eq!(back.history[0], "docker ps # 100");
        let err = SavedWorkspace::from_json(r#"{"version": 7}"#).unwrap_err();
        assert!(err.contains("format 7"), "{err}");
        assert!(SavedWorkspace::from_json("{").unwrap_err().contains("unreadable"));
    }

    #[test]
    fn the_newer_saved_copy_wins() {
        let at = |ms: u64, file: &str| {
            SavedWorkspace {
                project: Project::from_files([(file, ProjectFile::new("x"))]).unwrap(),
                saved_at: ms,
                ..Default::default()
            }
            .to_json()
        };
        let (old, new) = (at(1, "old.txt"), at(2, "new.txt"));
        assert_eq!(
            newest_saved(Some(old.clone()), Some(new.clone())),
            Some(new.clone())
        );
        assert_eq!(
            newest_saved(Some(new.clone()), Some(old.clone())),
            Some(new.clone())
        );
        // Only localStorage (a page from before IndexedDB): migrated from there.
        assert_eq!(newest_saved(None, Some(old.clone())), Some(old.clone()));
        assert_eq!(newest_saved(Some("{".into()), Some(old.clone())), Some(old));
        assert_eq!(newest_saved(None, None), None);
    }
}
