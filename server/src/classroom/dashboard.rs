//! The teacher's API (teachers only: anyone else gets 403): the class's snapshot, its live feed (SSE), the
//! funnel per lesson, progress as CSV, and the actions on one learner (stop their containers, reset them to a
//! step). The dashboard page (`/teacher`, www's `teacher` module) reads these.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use slipway::api::{
    paths, ActionDone, ClassSnapshot, ErrorBody, MyProgress, MyProgressQuery, ResetRequest, Role,
};
use slipway::image::Reference;
use slipway::lesson::Check;

use super::progress_watch::Tracker;
use super::{ClassState, Member, Principal};
use crate::registry::names::RepoName;

/// The feed sends the snapshot at least this often, changed or not.
const FEED_EVERY: Duration = Duration::from_secs(5);

/// A refused teacher's request: its status and why.
#[derive(Debug)]
pub struct Refused(StatusCode, String);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorBody::new(self.1))).into_response()
    }
}

fn refused(status: StatusCode, message: impl Into<String>) -> Refused {
    Refused(status, message.into())
}

/// The tracker, when the caller is one of the class's teachers.
fn for_teachers(state: &ClassState, headers: &HeaderMap) -> Result<Arc<Tracker>, Refused> {
    if !matches!(state.principal(headers), Principal::Teacher(_)) {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "the class's progress is for its teachers: sign in with a teacher's code",
        ));
    }
    state
        .progress
        .clone()
        .ok_or_else(|| refused(StatusCode::NOT_FOUND, "this server records no progress"))
}

async fn snapshot(
    State(state): State<ClassState>,
    headers: HeaderMap,
) -> Result<Json<ClassSnapshot>, Refused> {
    let tracker = for_teachers(&state, &headers)?;
    let snapshot = tracker.subscribe().borrow().clone();
    Ok(Json((*snapshot).clone()))
}

/// The asking learner's own progress (their row of the latest snapshot): only ever their own, so a learner can
/// learn nothing of anyone else here. Anyone who is not a learner of the class gets 403.
/// With `?lesson=ID` (the page names the lesson it shows by its stable id), that lesson only.
async fn mine(
    State(state): State<ClassState>,
    headers: HeaderMap,
    Query(query): Query<MyProgressQuery>,
) -> Result<Json<MyProgress>, Refused> {
    let Principal::Learner(name) = state.principal(&headers) else {
        return Err(refused(
            StatusCode::FORBIDDEN,
            "your progress is for the class's learners: sign in with your join code",
        ));
    };
    let tracker = state
        .progress
        .clone()
        .ok_or_else(|| refused(StatusCode::NOT_FOUND, "this server records no progress"))?;
    let snapshot = tracker.subscribe().borrow().clone();
    let lessons = snapshot
        .learners
        .iter()
        .find(|row| row.name == name)
        .map(|row| row.lessons.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|l| query.lesson.as_ref().is_none_or(|id| l.lesson == *id))
        .collect();
    Ok(Json(MyProgress { name, lessons }))
}

async fn funnel(State(state): State<ClassState>, headers: HeaderMap) -> Result<Response, Refused> {
    let tracker = for_teachers(&state, &headers)?;
    let snapshot = tracker.subscribe().borrow().clone();
    Ok(Json(snapshot.funnels.clone()).into_response())
}

/// `text/event-stream`: a `snapshot` event with the [`ClassSnapshot`] at once, on every change, and every
/// [`FEED_EVERY`] regardless.
async fn feed(State(state): State<ClassState>, headers: HeaderMap) -> Result<Response, Refused> {
    let tracker = for_teachers(&state, &headers)?;
    let receiver = tracker.subscribe();
    let events = futures_util::stream::unfold((receiver, true), |(mut receiver, first)| async move {
        if !first {
            // A closed channel (the server stopping) ends the stream.
            if let Ok(Err(_)) = tokio::time::timeout(FEED_EVERY, receiver.changed()).await {
                return None;
            }
        }
        let snapshot = receiver.borrow_and_update().clone();
        let event = Event::default()
            .event("snapshot")
            .json_data(&*snapshot)
            .unwrap_or_default();
        Some((Ok::<_, Infallible>(event), (receiver, false)))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()).into_response())
}

async fn csv(State(state): State<ClassState>, headers: HeaderMap) -> Result<Response, Refused> {
    let tracker = for_teachers(&state, &headers)?;
    let snapshot = tracker.subscribe().borrow().clone();
    let titles: Vec<(String, Vec<String>)> = tracker
        .lessons
        .iter()
        .map(|(id, l)| (id.clone(), l.steps.iter().map(|s| s.title.clone()).collect()))
        .collect();
    let body = super::dashboard_csv::progress_csv(&snapshot, &titles);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"progress.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// The learner `name`, when the class has one.
fn learner(tracker: &Tracker, name: &str) -> Result<Member, Refused> {
    let roster = tracker.classroom.roster();
    roster
        .by_name(name)
        .filter(|m| m.role == Role::Learner)
        .cloned()
        .ok_or_else(|| {
            refused(
                StatusCode::NOT_FOUND,
                format!("no learner {name:?} in this class"),
            )
        })
}

/// Stop (`remove`: remove) every container of the learner whose session is `token`; how many.
async fn their_containers(tracker: &Tracker, token: &str, remove: bool) -> usize {
    let Some(runner) = &tracker.runner else {
        return 0;
    };
    let mut count = 0;
    for summary in runner.list_in(Some(token), remove) {
        let Ok(c) = runner.get_in(Some(token), &summary.id) else {
            continue;
        };
        let done = if remove {
            runner.remove(&c, true).await.is_ok()
        } else {
            runner.stop(&c, Some(Duration::from_secs(2))).await.is_ok()
        };
        count += usize::from(done);
    }
    count
}

async fn stop(
    State(state): State<ClassState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<ActionDone>, Refused> {
    let tracker = for_teachers(&state, &headers)?;
    let member = learner(&tracker, &name)?;
    let stopped = their_containers(&tracker, &tracker.classroom.session_token(&member), false).await;
    tracing::info!(learner = %name, stopped, "teacher: stopped a learner's containers");
    Ok(Json(ActionDone {
        message: format!("stopped {stopped} container(s) of {name}"),
        containers: stopped,
        images: 0,
    }))
}

/// Reset: every container of the learner is removed; the images the lesson's steps from `step` on check for
/// (`image_exists`: their local store; `pushed`: the tag in their namespace) are untagged; what passed from
/// `step` on and the commands seen are forgotten. Steps before `step` keep their times.
async fn reset(
    State(state): State<ClassState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Json(request): Json<ResetRequest>,
) -> Result<Json<ActionDone>, Refused> {
    let tracker = for_teachers(&state, &headers)?;
    let member = learner(&tracker, &name)?;
    let (id, lesson) = match &request.lesson {
        Some(id) => tracker.lessons.iter().find(|(l, _)| l == id),
        None => tracker.lessons.first(),
    }
    .ok_or_else(|| refused(StatusCode::NOT_FOUND, "no such lesson in this class"))?;
    if request.step >= lesson.steps.len() {
        let message = format!(
            "the lesson has {} steps (0 to {})",
            lesson.steps.len(),
            lesson.steps.len() - 1
        );
        return Err(refused(StatusCode::BAD_REQUEST, message));
    }
    let token = tracker.classroom.session_token(&member);
    let removed = their_containers(&tracker, &token, true).await;
    let checks: Vec<Check> = lesson.steps[request.step..]
        .iter()
        .filter_map(|s| s.check.as_ref().map(|c| c.personalized(&name)))
        .collect();
    let store = tracker.store.clone();
    let key = slipway::image::local_store::session_key(Some(&token));
    let images = tokio::task::spawn_blocking(move || untag(&store, &key, &checks))
        .await
        .unwrap_or(0);
    tracker.records.update(&name, |r| {
        r.reset_to(id, request.step);
        (true, ())
    });
    tracker.pass().await;
    tracing::info!(learner = %name, step = request.step, removed, images, "teacher: reset a learner");
    Ok(Json(ActionDone {
        message: format!(
            "{name} is back at step {}: {removed} container(s) and {images} image tag(s) removed",
            request.step + 1
        ),
        containers: removed,
        images,
    }))
}

/// Remove the tags `checks` look for: local images of session `key` and pushed tags. How many went. Blocking.
fn untag(store: &crate::registry::Store, key: &str, checks: &[Check]) -> usize {
    let mut names = Vec::new();
    for check in checks {
        match check {
            Check::ImageExists { name } => {
                if let Ok(r) = Reference::parse(name).map(Reference::with_default_tag) {
                    names.push((
                        slipway::image::local_store::local_repository(key, &r),
                        r.tag_or_digest(),
                    ));
                }
            }
            Check::Pushed { name } => {
                if let Ok(r) = Reference::parse(name).map(Reference::with_default_tag) {
                    names.push((r.repository().to_string(), r.tag_or_digest()));
                }
            }
            _ => {}
        }
    }
    names
        .into_iter()
        .filter(|(repo, tag)| RepoName::parse(repo).is_ok_and(|repo| store.delete_tag(&repo, tag).is_ok()))
        .count()
}

/// The teacher's routes.
pub fn router(state: ClassState) -> Router {
    Router::new()
        .route(paths::CLASSROOM_PROGRESS, get(snapshot))
        .route(paths::CLASSROOM_FEED, get(feed))
        .route(paths::CLASSROOM_FUNNEL, get(funnel))
        .route(paths::CLASSROOM_MY_PROGRESS, get(mine))
        .route(paths::CLASSROOM_CSV, get(csv))
        .route(paths::CLASSROOM_STOP, post(stop))
        .route(paths::CLASSROOM_RESET, post(reset))
        .with_state(state)
}
