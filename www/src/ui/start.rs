//! What the page starts with, decided from its URL and the saved workspace (plain function, tested natively):
//! a share link beats the saved workspace, which beats the lesson's files; `/embed` never reads or saves.

use super::lesson::Lesson;
use super::project::{Project, ProjectFile};
use super::share;
use super::workspace::{Message, SavedWorkspace, Settings, Theme};

/// The lesson built into the page (its files ship inside the wasm, so the first visit needs no fetch).
pub const BUILTIN_LESSON_URL: &str = "/static/lessons/python-web-app/lesson.json";
const BUILTIN_LESSON: &str = include_str!("../../../static/lessons/python-web-app/lesson.json");
const BUILTIN_FILES: [(&str, &str); 3] = [
    (
        "Dockerfile",
        include_str!("../../../static/examples/python-web-app/Dockerfile"),
    ),
    (
        "app.py",
        include_str!("../../../static/examples/python-web-app/app.py"),
    ),
    (
        "requirements.txt",
        include_str!("../../../static/examples/python-web-app/requirements.txt"),
    ),
];

pub fn builtin_lesson() -> Lesson {
    Lesson::parse(BUILTIN_LESSON).expect("the built-in lesson parses (tested)")
}

pub fn builtin_project() -> Project {
    Project::from_files(BUILTIN_FILES.map(|(p, text)| (p, ProjectFile::new(text)))).expect("valid paths")
}

/// What the page reads at start.
#[derive(Debug, Default, Clone)]
pub struct StartInputs {
    /// The page is `/embed`.
    pub embed: bool,
    pub hash: String,
    /// `?lesson=URL`
    pub lesson: Option<String>,
    /// `?files=` a share payload (embeds)
    pub files: Option<String>,
    /// `?panes=editor,terminal` (embeds)
    pub panes: Option<String>,
    /// `?readonly=1` (embeds)
    pub readonly: Option<String>,
    /// `?theme=light|dark`
    pub theme: Option<String>,
    /// The saved workspace's JSON, if any.
    pub saved: Option<String>,
}

/// Which panes show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panes {
    pub lesson: bool,
    pub files: bool,
    pub editor: bool,
    pub terminal: bool,
    pub side: bool,
}

impl Panes {
    pub const ALL: Panes = Panes {
        lesson: true,
        files: true,
        editor: true,
        terminal: true,
        side: true,
    };

    /// `editor,terminal` → those panes; unknown names are ignored; nothing known → editor and terminal.
    pub fn parse(list: &str) -> Panes {
        let has = |name: &str| list.split(',').any(|p| p.trim() == name);
        let panes = Panes {
            lesson: has("lesson"),
            files: has("files"),
            editor: has("editor"),
            terminal: has("terminal"),
            side: false,
        };
        if panes
            == (Panes {
                side: false,
                ..Panes::NONE
            })
        {
            Panes {
                editor: true,
                terminal: true,
                ..Panes::NONE
            }
        } else {
            panes
        }
    }

    const NONE: Panes = Panes {
        lesson: false,
        files: false,
        editor: false,
        terminal: false,
        side: false,
    };
}

/// Where the lesson comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LessonSource {
    Builtin,
    Fetch(String),
}

impl LessonSource {
    pub fn url(&self) -> &str {
        match self {
            LessonSource::Builtin => BUILTIN_LESSON_URL,
            LessonSource::Fetch(url) => url,
        }
    }

    fn from_url(url: &str) -> LessonSource {
        // `?lesson=compose-app`: a shipped lesson by its name.
        let url = &slipway::lesson::manifest_url(url);
        if url == BUILTIN_LESSON_URL {
            LessonSource::Builtin
        } else {
            LessonSource::Fetch(url.to_string())
        }
    }
}

/// What the page starts with.
#[derive(Debug, Clone)]
pub struct StartPlan {
    /// `None`: the lesson's files, once it is loaded.
    pub project: Option<Project>,
    pub lesson: LessonSource,
    pub history: Vec<String>,
    pub finished: Vec<(String, i32)>,
    pub settings: Settings,
    pub user: Option<String>,
    pub message: Option<Message>,
    /// Save the workspace across reloads (not in embeds: two widgets on a page must not share one).
    pub persist: bool,
    pub panes: Panes,
    pub readonly: bool,
    /// The starting project holds changes of the learner's ([`super::workspace::ProjectState::edited`]).
    pub edited: bool,
    /// A link that would have replaced those changes: the page shows the saved project and asks first.
    pub pending: Option<PendingLink>,
}

/// What a link (`?lesson=URL` or `#share=`) brings instead of the saved project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingLink {
    /// Another lesson's start, at this manifest URL.
    Lesson(String),
    /// The files of a share link.
    Share(Project),
}

fn said(error: bool, text: impl Into<String>) -> Option<Message> {
    Some(Message {
        error,
        text: text.into(),
    })
}

pub fn plan_start(input: &StartInputs) -> StartPlan {
    let lesson_param = input.lesson.as_deref().filter(|l| !l.is_empty());
    let mut plan = StartPlan {
        project: None,
        lesson: lesson_param.map_or(LessonSource::Builtin, LessonSource::from_url),
        history: Vec::new(),
        finished: Vec::new(),
        settings: Settings::default(),
        user: None,
        message: None,
        persist: !input.embed,
        panes: if input.embed {
            Panes::parse(input.panes.as_deref().unwrap_or_default())
        } else {
            Panes::ALL
        },
        readonly: input.embed && matches!(input.readonly.as_deref(), Some("1" | "true" | "yes")),
        edited: false,
        pending: None,
    };
    let saved = match input.saved.as_deref().filter(|_| !input.embed) {
        None => None,
        Some(json) => match SavedWorkspace::from_json(json) {
            Ok(saved) => Some(saved),
            Err(why) => {
                plan.message = said(true, format!("Started afresh: {why}."));
                None
            }
        },
    };
    if let Some(saved) = &saved {
        plan.settings = saved.settings;
        plan.history = saved.history.clone();
        plan.finished = saved.finished.clone();
        plan.user = saved.user.clone();
    }
    let shared = share::from_hash(&input.hash).or_else(|| input.files.as_deref().map(share::decode));
    let link = match shared {
        Some(Ok(project)) => Some(PendingLink::Share(project)),
        Some(Err(why)) => {
            plan.message = said(true, format!("Could not open the link: {why}"));
            None
        }
        None => None,
    };
    let saved_lesson = |saved: &SavedWorkspace| saved.lesson_url.clone();
    let link = link.or_else(|| {
        lesson_param
            .filter(|l| {
                saved
                    .as_ref()
                    .is_none_or(|s| saved_lesson(s).as_deref() != Some(*l))
            })
            .map(|l| PendingLink::Lesson(l.to_string()))
    });
    let same_files = |link: &PendingLink, saved: &SavedWorkspace| match link {
        PendingLink::Share(project) => project.files == saved.project.files,
        PendingLink::Lesson(_) => false,
    };
    match (saved, link) {
        // Never replace the learner's changes silently: keep them on screen and ask (docs/lessons.md).
        (Some(saved), Some(link)) if saved.edited && !same_files(&link, &saved) => {
            plan.lesson =
                LessonSource::from_url(saved_lesson(&saved).as_deref().unwrap_or(BUILTIN_LESSON_URL));
            plan.project = Some(saved.project);
            plan.edited = true;
            plan.pending = Some(link);
        }
        (_, Some(PendingLink::Share(project))) => {
            plan.project = Some(project);
            plan.message = said(false, "Opened the project from the link.");
        }
        // The lesson's files, once it is loaded (`plan.lesson` names it).
        (_, Some(PendingLink::Lesson(_))) => {}
        (Some(saved), None) => {
            plan.lesson =
                LessonSource::from_url(saved_lesson(&saved).as_deref().unwrap_or(BUILTIN_LESSON_URL));
            plan.project = Some(saved.project);
            plan.edited = saved.edited;
        }
        (None, None) => {}
    }
    if plan.project.is_none() && plan.lesson == LessonSource::Builtin {
        plan.project = Some(builtin_project());
    }
    if let Some(theme) = input.theme.as_deref().and_then(Theme::parse) {
        plan.settings.theme = theme;
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saved(lesson_url: &str, file: &str) -> String {
        SavedWorkspace {
            project: Project::from_files([(file, ProjectFile::new("x"))]).unwrap(),
            history: vec!["docker ps".into()],
            lesson_url: Some(lesson_url.into()),
            ..Default::default()
        }
        .to_json()
    }

    #[test]
    fn the_builtin_lesson_matches_its_files() {
        let lesson = builtin_lesson();
        let names: Vec<&str> = BUILTIN_FILES.iter().map(|(p, _)| *p).collect();
        assert_eq!(lesson.files, names);
        let plan = plan_start(&StartInputs::default());
        assert_eq!(plan.project.unwrap().files.len(), 3);
        assert_eq!(
            (plan.lesson, plan.persist, plan.panes),
            (LessonSource::Builtin, true, Panes::ALL)
        );
    }

    #[test]
    fn saved_workspace_comes_back_unless_another_lesson_is_asked_for() {
        let input = StartInputs {
            saved: Some(saved(BUILTIN_LESSON_URL, "mine.txt")),
            ..Default::default()
        };
        let plan = plan_start(&input);
        assert!(plan.project.unwrap().files.contains_key("mine.txt"));
        assert_eq!(plan.history, ["docker ps"]);
        let other = StartInputs {
            lesson: Some("/lessons/other/lesson.json".into()),
            ..input
        };
        let plan = plan_start(&other);
        assert!(plan.project.is_none(), "the other lesson's files load");
        assert_eq!(
            plan.lesson,
            LessonSource::Fetch("/lessons/other/lesson.json".into())
        );
        assert_eq!(
            plan.history,
            ["docker ps"],
            "history is the learner's, not the lesson's"
        );
    }

    #[test]
    fn a_link_never_replaces_changed_files_silently() {
        let mut edited = SavedWorkspace::from_json(&saved(BUILTIN_LESSON_URL, "mine.txt")).unwrap();
        edited.edited = true;
        let other_lesson = StartInputs {
            lesson: Some("http://127.0.0.1:9/lesson.json".into()),
            saved: Some(edited.to_json()),
            ..Default::default()
        };
        let plan = plan_start(&other_lesson);
        assert!(
            plan.project.unwrap().files.contains_key("mine.txt"),
            "the learner's files stay"
        );
        assert_eq!(
            plan.lesson,
            LessonSource::Builtin,
            "and the lesson they belong to"
        );
        assert!(plan.edited);
        assert_eq!(
            plan.pending,
            Some(PendingLink::Lesson("http://127.0.0.1:9/lesson.json".into()))
        );
        // The same lesson again (a reload after opening it) is no question.
        let same_lesson = StartInputs {
            lesson: Some(BUILTIN_LESSON_URL.into()),
            ..other_lesson.clone()
        };
        assert_eq!(plan_start(&same_lesson).pending, None);

        let shared = Project::from_files([("Dockerfile", ProjectFile::new("FROM scratch"))]).unwrap();
        let share_link = StartInputs {
            hash: format!("#share={}", share::encode(&shared).unwrap()),
            saved: Some(edited.to_json()),
            ..Default::default()
        };
        let plan = plan_start(&share_link);
        assert!(plan.project.unwrap().files.contains_key("mine.txt"));
        assert_eq!(plan.pending, Some(PendingLink::Share(shared)));
        // A link to exactly the saved files replaces nothing: no question.
        let own = StartInputs {
            hash: format!("#share={}", share::encode(&edited.project).unwrap()),
            ..share_link
        };
        let plan = plan_start(&own);
        assert_eq!(plan.pending, None);
        assert_eq!(plan.message.unwrap().text, "Opened the project from the link.");
    }

    #[test]
    fn a_share_link_beats_the_saved_workspace_and_a_bad_one_says_why() {
        let project = Project::from_files([("Dockerfile", ProjectFile::new("FROM scratch"))]).unwrap();
        let input = StartInputs {
            hash: format!("#share={}", share::encode(&project).unwrap()),
            saved: Some(saved(BUILTIN_LESSON_URL, "mine.txt")),
            ..Default::default()
        };
        assert_eq!(plan_start(&input).project.unwrap().files, project.files);
        let bad = StartInputs {
            hash: "#share=@@".into(),
            ..input
        };
        let plan = plan_start(&bad);
        assert!(plan
            .message
            .unwrap()
            .text
            .starts_with("Could not open the link: this share link is damaged"));
        assert!(plan.project.unwrap().files.contains_key("mine.txt"));
        let corrupt = StartInputs {
            saved: Some("{".into()),
            ..Default::default()
        };
        assert!(plan_start(&corrupt)
            .message
            .unwrap()
            .text
            .contains("Started afresh"));
    }

    #[test]
    fn embeds_take_their_configuration_from_the_query() {
        let project = Project::from_files([("Dockerfile", ProjectFile::new("FROM busybox"))]).unwrap();
        let input = StartInputs {
            embed: true,
            files: Some(share::encode(&project).unwrap()),
            panes: Some("editor,files".into()),
            readonly: Some("1".into()),
            theme: Some("light".into()),
            saved: Some(saved(BUILTIN_LESSON_URL, "mine.txt")),
            ..Default::default()
        };
        let plan = plan_start(&input);
        assert!(!plan.persist && plan.readonly);
        assert_eq!(plan.project.unwrap().files, project.files);
        assert!(plan.panes.files && plan.panes.editor && !plan.panes.terminal && !plan.panes.lesson);
        assert_eq!(plan.settings.theme, Theme::Light);
        assert!(plan.history.is_empty(), "embeds never read the saved workspace");
        let bare = plan_start(&StartInputs {
            embed: true,
            ..Default::default()
        });
        assert!(bare.panes.editor && bare.panes.terminal && !bare.panes.files);
    }
}
