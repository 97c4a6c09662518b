//! The server-wide limits a class needs (issue 15): the runner's container limit is sized from the class
//! (every member at their per-learner limit), at the start and again at each SIGHUP, unless the operator gave
//! `--max-containers`; the connections one client address may hold are raised for a class behind one NAT.
//! `docs/classroom.md` ("Limits") lists every server-wide bound a class meets.

use super::Classroom;
use crate::runner::Runner;

/// Connections a member's browser may hold to the server: up to six HTTP/1.1 connections to one host, the
/// notices' long-poll and a terminal's WebSocket.
pub const CONNECTIONS_PER_MEMBER: u32 = 8;

/// Containers a class of `members` (teachers too) needs at once when each may have `per_learner`.
pub fn containers_needed(members: usize, per_learner: usize) -> usize {
    members.max(1).saturating_mul(per_learner.max(1))
}

/// The server-wide container limit for `classroom`, each member allowed `per_learner`: the operator's
/// `--max-containers` when given (logged when it is below what the class needs), else the class's need.
pub fn max_containers(classroom: &Classroom, per_learner: usize) -> usize {
    let members = classroom.roster().members().len();
    let need = containers_needed(members, per_learner);
    match classroom.operator_max_containers {
        Some(given) => {
            if given < need {
                tracing::warn!(
                    given,
                    need,
                    members,
                    per_learner,
                    "--max-containers is below the class's need: learners may be refused before their own limit"
                );
            }
            given
        }
        None => need,
    }
}

/// After a reload: the runner's server-wide container limit for the class now (added learners get room).
pub fn resize(classroom: &Classroom, runner: &Runner) {
    let limit = max_containers(classroom, runner.max_per_session());
    if limit != runner.max_containers() {
        runner.set_max_containers(limit);
        tracing::info!(
            max_containers = limit,
            "SIGHUP: the server-wide container limit follows the class"
        );
    }
}

/// Connections one client address may hold in a class of `members`: at least `given` (`--max-connections-
/// per-client`), more when the class behind one address (a school's NAT) needs more.
pub fn connections_per_client(given: u32, members: usize) -> u32 {
    let need = u32::try_from(members)
        .unwrap_or(u32::MAX)
        .saturating_mul(CONNECTIONS_PER_MEMBER);
    given.max(need)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_class_needs_every_member_at_their_limit() {
        assert_eq!(containers_needed(34, 8), 272);
        assert_eq!(containers_needed(0, 4), 4, "at least one member's worth");
        assert_eq!(connections_per_client(256, 30), 256);
        assert_eq!(connections_per_client(256, 100), 800);
    }

    #[test]
    fn the_operators_limit_wins_and_a_reload_follows_the_class() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("classroom.toml");
        std::fs::write(&file, "[[teachers]]\nname = \"ada\"\n[learners]\ncount = 3\n").unwrap();
        let mut classroom = Classroom::open(&file, dir.path()).unwrap();
        assert_eq!(max_containers(&classroom, 4), 16, "three learners and a teacher");
        classroom.operator_max_containers = Some(10);
        assert_eq!(max_containers(&classroom, 4), 10);
        classroom.operator_max_containers = None;
        std::fs::write(&file, "[[teachers]]\nname = \"ada\"\n[learners]\ncount = 5\n").unwrap();
        classroom.reload().unwrap();
        assert_eq!(max_containers(&classroom, 4), 24);
    }
}
