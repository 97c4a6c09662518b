//! What the object commands beside `docker inspect` share (`network inspect|rm`, `volume inspect|rm`): each
//! name looked up, a missing one in docker's words; a per-name report for `rm`.

use std::future::Future;

use super::inspect::Node;
use super::outcome::Outcome;
use crate::api::CompanionError;

/// Look each name up with `fetch`: the objects found, and an error line per name that was not (`Error: No such
/// KIND: NAME` for a 404, as docker's).
pub async fn gather<'n, F, Fut>(names: &'n [String], kind: &str, mut fetch: F) -> (Vec<Node>, Vec<String>)
where
    F: FnMut(&'n str) -> Fut,
    Fut: Future<Output = Result<Node, CompanionError>>,
{
    let (mut objects, mut errors) = (Vec::new(), Vec::new());
    for name in names {
        match fetch(name).await {
            Ok(node) => objects.push(node),
            Err(CompanionError::Refused { status: 404, .. }) => {
                errors.push(format!("Error: No such {kind}: {name}"))
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    (objects, errors)
}

/// `docker KIND inspect [-f TEMPLATE] NAME...`: each name fetched, then printed as `docker inspect` prints.
pub async fn inspect_each<'n, F, Fut>(
    names: &'n [String],
    template: Option<&str>,
    kind: &str,
    fetch: F,
) -> Outcome
where
    F: FnMut(&'n str) -> Fut,
    Fut: Future<Output = Result<Node, CompanionError>>,
{
    let (objects, errors) = gather(names, kind, fetch).await;
    super::inspect::report(&objects, errors, template)
}

/// One name of a `rm` that takes several: the name as typed when it went, else the error (exit code 1).
pub fn record(out: &mut Outcome, name: &str, done: Result<(), CompanionError>) {
    match done {
        Ok(()) => out.stdout.push_str(&format!("{name}\n")),
        Err(e) => {
            out.stderr.push_str(&format!("{e}\n"));
            out.exit_code = 1;
        }
    }
}
