//! The class's notice board: what the server tells members' pages between commands ([`Notice`]: idle
//! warnings, the class ending, a teacher's broadcast, changed limits). Notices are numbered in the order they
//! are posted; a page long-polls [`slipway::api::paths::CLASSROOM_NOTICES`] with the last number it saw. Kept in memory, the
//! last [`KEPT`] of this server run (a page that falls further behind misses the oldest).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use slipway::api::{Broadcast, ErrorBody, Notice, NoticeQuery, Notices};

use super::{ClassState, Principal};

/// Notices kept for pages that are behind.
const KEPT: usize = 1024;
/// How long a notice request waits for one before answering empty (under the usual 30 s proxy timeouts).
pub const LONG_POLL: Duration = Duration::from_secs(25);
/// The longest broadcast, in characters.
const MAX_MESSAGE: usize = 500;

/// Whom a notice is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every member of the class.
    Class,
    /// One member, by name.
    Member(String),
}

#[derive(Debug, Default)]
struct Board {
    /// The number of the last notice posted (0: none yet).
    last: u64,
    kept: VecDeque<(u64, Audience, Notice)>,
}

/// The notices of this server run, and the pages waiting for one.
#[derive(Debug, Default)]
pub struct NoticeBoard {
    board: Mutex<Board>,
    posted: tokio::sync::Notify,
}

impl NoticeBoard {
    fn board(&self) -> std::sync::MutexGuard<'_, Board> {
        self.board.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Post `notice` for `audience`; wakes the pages waiting.
    pub fn post(&self, audience: Audience, notice: Notice) {
        let mut board = self.board();
        board.last += 1;
        let number = board.last;
        board.kept.push_back((number, audience, notice));
        if board.kept.len() > KEPT {
            board.kept.pop_front();
        }
        drop(board);
        self.posted.notify_waiters();
    }

    /// `name`'s notices after number `after` (a number from another server run, past the last, starts again
    /// from the last).
    pub fn since(&self, name: &str, after: u64) -> Notices {
        let board = self.board();
        let notices = board
            .kept
            .iter()
            .filter(|(number, audience, _)| {
                *number > after
                    && match audience {
                        Audience::Class => true,
                        Audience::Member(member) => member == name,
                    }
            })
            .map(|(_, _, notice)| notice.clone())
            .collect();
        Notices {
            notices,
            next: board.last,
        }
    }

    /// `name`'s notices after `after`, waiting up to `wait` for one.
    pub async fn wait(&self, name: &str, after: u64, wait: Duration) -> Notices {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let posted = self.posted.notified();
            tokio::pin!(posted);
            posted.as_mut().enable();
            let found = self.since(name, after);
            if !found.notices.is_empty() || found.next < after {
                return found;
            }
            if tokio::time::timeout_at(deadline, posted).await.is_err() {
                return found;
            }
        }
    }
}

/// Why a notice route refuses.
fn refused(status: StatusCode, message: &str) -> Response {
    (status, Json(ErrorBody::new(message))).into_response()
}

/// `GET /api/classroom/notices?after=N`: a class member's notices (not counted as using the playground).
pub async fn notices(
    State(state): State<ClassState>,
    headers: axum::http::HeaderMap,
    query: Query<NoticeQuery>,
) -> Response {
    let Some(classroom) = state.classroom.clone() else {
        return refused(StatusCode::NOT_FOUND, "this server runs no class");
    };
    let name = match state.principal(&headers) {
        Principal::Learner(name) | Principal::Teacher(name) => name,
        Principal::Anonymous => {
            return refused(
                StatusCode::UNAUTHORIZED,
                "sign in to the class to get its notices",
            )
        }
    };
    let Query(NoticeQuery { after }) = query;
    match after {
        None => Json(classroom.notices.since(&name, u64::MAX)).into_response(),
        Some(after) => Json(classroom.notices.wait(&name, after, LONG_POLL).await).into_response(),
    }
}

/// The refusal of a teacher's action to anyone else.
#[derive(Debug)]
pub struct NotATeacher;

impl IntoResponse for NotATeacher {
    fn into_response(self) -> Response {
        let message = "only the class's teachers may do that: sign in with a teacher's code";
        refused(StatusCode::FORBIDDEN, message)
    }
}

/// The teacher's name, or the refusal for anyone else.
pub(super) fn teacher(state: &ClassState, headers: &axum::http::HeaderMap) -> Result<String, NotATeacher> {
    match state.principal(headers) {
        Principal::Teacher(name) => Ok(name),
        _ => Err(NotATeacher),
    }
}

/// `POST /api/classroom/broadcast` (teachers): the message goes to every member's terminal.
pub async fn broadcast(
    State(state): State<ClassState>,
    headers: axum::http::HeaderMap,
    Json(body): Json<Broadcast>,
) -> Response {
    let from = match teacher(&state, &headers) {
        Ok(name) => name,
        Err(refusal) => return refusal.into_response(),
    };
    let message: String = body.message.chars().filter(|c| !c.is_control()).collect();
    let message = message.trim();
    if message.is_empty() || message.chars().count() > MAX_MESSAGE {
        let why = format!("a broadcast is one line of 1 to {MAX_MESSAGE} characters");
        return refused(StatusCode::BAD_REQUEST, &why);
    }
    let Some(classroom) = &state.classroom else {
        return refused(StatusCode::NOT_FOUND, "this server runs no class");
    };
    tracing::info!(%from, "broadcast to the class");
    classroom.notices.post(
        Audience::Class,
        Notice::Broadcast {
            from,
            message: message.to_string(),
        },
    );
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn members_read_their_own_and_the_class_notices_in_order_and_waiters_wake() {
        let board = std::sync::Arc::new(NoticeBoard::default());
        assert_eq!(board.since("learner1", u64::MAX).next, 0);
        board.post(
            Audience::Member("learner2".into()),
            Notice::IdleStopped { stopped: 1 },
        );
        board.post(Audience::Class, Notice::ClassEnded { stopped: 0 });
        let mine = board.since("learner1", 0);
        assert_eq!(mine.notices, vec![Notice::ClassEnded { stopped: 0 }]);
        assert_eq!(mine.next, 2);
        assert_eq!(board.since("learner2", 0).notices.len(), 2);
        assert!(board.since("learner1", 2).notices.is_empty());

        let waiting = tokio::spawn({
            let board = board.clone();
            async move { board.wait("learner1", 2, Duration::from_secs(10)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let hello = Notice::Broadcast {
            from: "ada".into(),
            message: "hello".into(),
        };
        board.post(Audience::Class, hello.clone());
        let woke = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((woke.notices, woke.next), (vec![hello], 3));
        // A number from a previous run (past the last) answers at once with where to start.
        let stale = board.wait("learner1", 99, Duration::from_secs(10)).await;
        assert_eq!((stale.notices.len(), stale.next), (0, 3));
        for _ in 0..KEPT + 5 {
            board.post(Audience::Class, Notice::ClassEnded { stopped: 0 });
        }
        assert_eq!(board.since("learner1", 0).notices.len(), KEPT);
    }
}
