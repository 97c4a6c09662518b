//! The docs embeds' per-page budget (`slipway serve --embed-containers N`, `--embed-build-minutes M`,
//! docs/embedding.md), counted and enforced by the server: the runner frame (`/embed/runner`) names its session
//! as one page load's ([`paths::EMBED_SESSION`]); from then on the containers that session creates and the time
//! its build steps run on the server are counted, and a request past the budget is refused (429) with a message
//! the block shows. The frame cannot spend past it by skipping a check of its own.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::Stream;
use slipway::api::{paths, EmbedBudget, ErrorBody};

use crate::sessions::{token_hash, SessionError, Sessions};

/// Runner sessions tracked at once; past it those the server no longer knows are dropped first.
const MAX_PAGES: usize = 100_000;

/// The budget and what each runner session (by `sha256(token)`) spent of it.
#[derive(Debug)]
pub struct EmbedBudgets {
    budget: EmbedBudget,
    sessions: Arc<Sessions>,
    spent: Mutex<HashMap<String, Spent>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Spent {
    containers: u32,
    building: Duration,
}

/// What a request would spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spends {
    /// `POST /api/containers`: a container created (`docker run`, `docker create`, a compose service).
    Container,
    /// `POST /api/steps`: a build's RUN step on the server.
    Building,
}

fn spends(method: &Method, path: &str) -> Option<Spends> {
    match (method == Method::POST, path) {
        (true, paths::CONTAINERS) => Some(Spends::Container),
        (true, paths::STEPS) => Some(Spends::Building),
        _ => None,
    }
}

impl EmbedBudgets {
    pub fn new(budget: EmbedBudget, sessions: Arc<Sessions>) -> EmbedBudgets {
        EmbedBudgets {
            budget,
            sessions,
            spent: Mutex::new(HashMap::new()),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, Spent>> {
        self.spent.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Count `hash`'s session as one page's from now on (again: nothing changes).
    fn register(&self, hash: String) {
        let mut table = self.table();
        if table.len() >= MAX_PAGES && !table.contains_key(&hash) {
            let live = self.sessions.live_keys();
            table.retain(|key, _| live.contains(key));
        }
        table.entry(hash).or_default();
    }

    /// Why `hash`'s session may not spend `what` any more, if it may not.
    fn refusal(&self, hash: &str, what: Spends) -> Option<String> {
        let spent = *self.table().get(hash)?;
        let why = match (what, self.budget.containers, self.budget.build_minutes) {
            (Spends::Container, Some(max), _) if spent.containers >= max => {
                format!("{max} containers is used up (slipway serve --embed-containers)")
            }
            (Spends::Building, _, Some(max))
                if spent.building >= Duration::from_secs(u64::from(max) * 60) =>
            {
                format!("{max} build minutes is used up (slipway serve --embed-build-minutes)")
            }
            _ => return None,
        };
        Some(format!(
            "this page's budget of {why}: open the block in the full playground to go on"
        ))
    }

    fn is_page(&self, hash: &str) -> bool {
        self.table().contains_key(hash)
    }

    fn add(&self, hash: &str, containers: u32, building: Duration) {
        if let Some(spent) = self.table().get_mut(hash) {
            spent.containers = spent.containers.saturating_add(containers);
            spent.building = spent.building.saturating_add(building);
        }
    }
}

fn session_hash(headers: &HeaderMap) -> Option<String> {
    crate::registry::local::session_token(headers).map(|token| token_hash(&token))
}

/// `POST /api/embed/session` with the session header: this session is one docs page load's; answers its budget.
pub async fn register(State(budgets): State<Arc<EmbedBudgets>>, headers: HeaderMap) -> Response {
    let Some(token) = crate::registry::local::session_token(&headers) else {
        return SessionError::Missing.into_response();
    };
    if let Err(e) = budgets.sessions.check(&token) {
        return e.into_response();
    }
    budgets.register(token_hash(&token));
    Json(budgets.budget).into_response()
}

/// Refuses a runner session's container or build step past its page's budget, and counts what it spends: a
/// container when its creation succeeds, a step's time until its streamed answer ends.
pub async fn enforce(State(budgets): State<Arc<EmbedBudgets>>, request: Request, next: Next) -> Response {
    let what = spends(request.method(), request.uri().path());
    let hash = session_hash(request.headers()).filter(|hash| budgets.is_page(hash));
    let (Some(what), Some(hash)) = (what, hash) else {
        return next.run(request).await;
    };
    if let Some(message) = budgets.refusal(&hash, what) {
        return (StatusCode::TOO_MANY_REQUESTS, Json(ErrorBody::new(message))).into_response();
    }
    let started = Instant::now();
    let response = next.run(request).await;
    match what {
        Spends::Container => {
            if response.status().is_success() {
                budgets.add(&hash, 1, Duration::ZERO);
            }
            response
        }
        Spends::Building => {
            let (parts, body) = response.into_parts();
            let timed = Timed {
                inner: body.into_data_stream(),
                end: Some(Box::new(move || budgets.add(&hash, 0, started.elapsed()))),
            };
            Response::from_parts(parts, Body::from_stream(timed))
        }
    }
}

/// A step's streamed answer that tells `end` when it is over (sent, or dropped when the client went away).
struct Timed<S> {
    inner: S,
    end: Option<Box<dyn FnOnce() + Send>>,
}

impl<S: Stream + Unpin> Stream for Timed<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

impl<S> Drop for Timed<S> {
    fn drop(&mut self) {
        if let Some(end) = self.end.take() {
            end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_registered_sessions_are_counted_and_refused_past_the_budget() {
        let sessions = Arc::new(Sessions::new(Default::default()));
        let budget = EmbedBudget {
            containers: Some(1),
            build_minutes: Some(1),
        };
        let budgets = EmbedBudgets::new(budget, sessions);
        assert_eq!(budgets.refusal("page", Spends::Container), None);
        budgets.register("page".into());
        budgets.add("other", 5, Duration::from_secs(600));
        assert!(!budgets.is_page("other"));
        assert_eq!(budgets.refusal("page", Spends::Container), None);
        budgets.add("page", 1, Duration::from_secs(59));
        let refused = budgets.refusal("page", Spends::Container).expect("refused");
        assert!(refused.contains("budget of 1 containers is used up"), "{refused}");
        assert_eq!(budgets.refusal("page", Spends::Building), None);
        budgets.add("page", 0, Duration::from_secs(1));
        let refused = budgets.refusal("page", Spends::Building).expect("refused");
        assert!(
            refused.contains("budget of 1 build minutes is used up"),
            "{refused}"
        );
        budgets.register("page".into());
        assert!(
            budgets.refusal("page", Spends::Container).is_some(),
            "registering again resets nothing"
        );
    }

    #[test]
    fn only_creating_containers_and_build_steps_spend() {
        assert_eq!(spends(&Method::POST, paths::CONTAINERS), Some(Spends::Container));
        assert_eq!(spends(&Method::POST, paths::STEPS), Some(Spends::Building));
        assert_eq!(spends(&Method::GET, paths::CONTAINERS), None);
        assert_eq!(spends(&Method::POST, "/api/containers/web/start"), None);
    }
}
