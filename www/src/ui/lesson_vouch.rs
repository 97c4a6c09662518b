//! The lesson panel in classroom mode (issue 15): the page still judges a step's check at once (instant
//! feedback), but marks the step done only when the class's server vouches for it
//! ([`slipway::api::paths::CLASSROOM_MY_PROGRESS`]): what the learner's own page says about itself is not
//! what the teacher's dashboard counts, so the two never disagree. Outside classroom mode the page's verdict
//! stands as before.

use slipway::api::MyProgress;
use slipway::lesson::Verdict;

/// How many times the panel asks the server before it says the step is not confirmed yet, and the pause
/// between (the server judges every 2 s).
pub const ASKS: usize = 4;
pub const ASK_EVERY_MS: i32 = 1_000;

/// What the server said about one step of a lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerSays {
    Passed,
    /// The server judges this step and has not seen it pass (yet).
    NotYet,
    /// The server cannot see what this step's check asks for (a command only the page runs): the page's
    /// verdict stands, as the dashboard does not hold the learner back on it either.
    CannotSee,
}

/// Read the learner's progress for step `step` of lesson `lesson` (its stable id); `None` when the server
/// judges no such lesson for them (a lesson given by URL), whose steps stay the page's to judge.
pub fn server_says(progress: &MyProgress, lesson: &str, step: usize) -> Option<ServerSays> {
    let mark = progress.step(lesson, step)?;
    Some(if mark.passed_at.is_some() {
        ServerSays::Passed
    } else if mark.vouched {
        ServerSays::NotYet
    } else {
        ServerSays::CannotSee
    })
}

/// The verdict the panel shows in classroom mode: the page's own `local` one, passed only when the server
/// agrees (`server`: what it says, or why it could not be asked).
pub fn vouched(local: Verdict, server: Result<Option<ServerSays>, String>) -> Verdict {
    if !local.passed {
        return local;
    }
    match server {
        Ok(None | Some(ServerSays::Passed | ServerSays::CannotSee)) => local,
        Ok(Some(ServerSays::NotYet)) => Verdict {
            passed: false,
            message: format!(
                "{} The class's server has not confirmed it yet (it looks every few seconds): press Check \
                 again in a moment.",
                local.message
            ),
        },
        Err(why) => Verdict {
            passed: false,
            message: format!(
                "{} The class's server could not confirm it ({why}): press Check again in a moment.",
                local.message
            ),
        },
    }
}

/// Whether another ask may still turn the verdict: only a passed local check the server has not confirmed.
pub fn worth_asking_again(local: &Verdict, server: &Result<Option<ServerSays>, String>) -> bool {
    local.passed && matches!(server, Ok(Some(ServerSays::NotYet)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway::api::{LessonProgress, StepMark};

    fn progress(marks: Vec<StepMark>) -> MyProgress {
        MyProgress {
            name: "learner1".into(),
            lessons: vec![LessonProgress {
                lesson: "python-web-app".into(),
                current_step: 0,
                steps: marks,
            }],
        }
    }

    #[test]
    fn a_step_is_done_in_classroom_mode_only_when_the_server_vouches_for_it() {
        let mine = progress(vec![
            StepMark {
                passed_at: Some(9),
                vouched: true,
            },
            StepMark {
                passed_at: None,
                vouched: true,
            },
            StepMark {
                passed_at: None,
                vouched: false,
            },
        ]);
        assert_eq!(server_says(&mine, "python-web-app", 0), Some(ServerSays::Passed));
        assert_eq!(server_says(&mine, "python-web-app", 1), Some(ServerSays::NotYet));
        assert_eq!(
            server_says(&mine, "python-web-app", 2),
            Some(ServerSays::CannotSee)
        );
        assert_eq!(server_says(&mine, "python-web-app", 3), None);
        assert_eq!(
            server_says(&mine, "another-lesson", 0),
            None,
            "another lesson of as many steps is not this one"
        );
        assert_eq!(
            server_says(&MyProgress::default(), "python-web-app", 0),
            None,
            "a lesson the server does not judge"
        );

        let pass = Verdict::pass("The image exists.");
        assert!(vouched(pass.clone(), Ok(server_says(&mine, "python-web-app", 0))).passed);
        assert!(
            vouched(pass.clone(), Ok(server_says(&mine, "python-web-app", 2))).passed,
            "the page's to judge"
        );
        assert!(vouched(pass.clone(), Ok(None)).passed);
        let waiting = vouched(pass.clone(), Ok(server_says(&mine, "python-web-app", 1)));
        assert!(!waiting.passed);
        assert!(waiting
            .message
            .starts_with("The image exists. The class's server has not confirmed"));
        assert!(worth_asking_again(&pass, &Ok(Some(ServerSays::NotYet))));
        let unreachable = vouched(pass.clone(), Err("offline".into()));
        assert!(!unreachable.passed && unreachable.message.contains("(offline)"));
        assert!(!worth_asking_again(&pass, &Err("offline".into())));

        let fail = Verdict {
            passed: false,
            message: "No image yet.".into(),
        };
        assert_eq!(
            vouched(fail.clone(), Ok(Some(ServerSays::Passed))),
            fail,
            "a local failure shows at once"
        );
        assert!(!worth_asking_again(&fail, &Ok(Some(ServerSays::NotYet))));
    }
}
