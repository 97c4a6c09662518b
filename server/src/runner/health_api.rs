//! `POST /api/containers/{id}/await` (`docs/runner-api.md`): wait until a container's healthcheck settles, or
//! until it runs, for `docker compose up`'s `depends_on: service_healthy` and `--wait`. The page and the CLI have
//! no timer of their own: the server waits, 30 s at most per call, and the client calls again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use slipway::api::{paths, AwaitAnswer, AwaitQuery, HealthStatus};

use super::{Container, Runner, RunnerError, Status};

/// The longest one call waits.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// How often the state is looked at while waiting.
const POLL: Duration = Duration::from_millis(100);

pub fn routes() -> Router<Arc<Runner>> {
    Router::new().route(paths::CONTAINER_AWAIT, post(await_container))
}

fn session(headers: &HeaderMap) -> String {
    crate::registry::local::session_token(headers).unwrap_or_default()
}

/// Where `c` stands, and whether that settles a wait (the client reads the condition's outcome from it).
fn answer(c: &Container, waited: Duration) -> AwaitAnswer {
    let state = c.state();
    let healthcheck = c
        .opts
        .healthcheck
        .as_ref()
        .is_some_and(|h| h.probe_command().is_some());
    let health = c.health.status().filter(|_| state.status == Status::Running);
    let restarting = c.restarts.is_restarting();
    let settled = match state.status {
        Status::Exited => !restarting,
        Status::Created => false,
        // Running without a check: `--wait` has what it waits for; `service_healthy` never will.
        Status::Running if !healthcheck => true,
        Status::Running => matches!(health, Some(HealthStatus::Healthy | HealthStatus::Unhealthy)),
    };
    AwaitAnswer {
        settled,
        status: state.status,
        exit_code: state.exit_code,
        healthcheck,
        health,
        waited_ms: waited.as_millis() as u64,
    }
}

async fn await_container(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<AwaitQuery>,
) -> Result<Json<AwaitAnswer>, RunnerError> {
    let c = r.get_in(Some(&session(&headers)), &id)?;
    let limit = Duration::from_secs(q.timeout).min(MAX_WAIT);
    let start = Instant::now();
    loop {
        let now = answer(&c, start.elapsed());
        if now.settled || start.elapsed() >= limit {
            return Ok(Json(now));
        }
        tokio::time::sleep(POLL).await;
    }
}
