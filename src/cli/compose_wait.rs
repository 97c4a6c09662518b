//! What `docker compose up` waits for, as Compose waits (`pkg/compose/convergence.go`): a dependency's
//! `depends_on` condition before its dependent is created (`service_healthy`: its healthcheck says healthy;
//! `service_completed_successfully`: it exited 0; `service_started`: nothing), and with `--wait` every
//! service running, or healthy when it has a healthcheck. The server waits (`POST /api/containers/{id}/await`,
//! 30 s at most per call) and this asks again until the condition settles. Errors are Compose's words
//! (`dependency failed to start: container app-db-1 is unhealthy`). Also the service's `healthcheck:` and
//! `restart:` as the create request carries them.

use crate::api::{AwaitQuery, Companion, ContainerStatus, HealthConfig, HealthStatus, RestartPolicy};
use crate::compose::model::Service;
use crate::registry::Transport;

/// The service's `healthcheck:` as Docker's `HealthConfig` (`disable: true` and `test: [NONE]` turn the
/// image's off).
pub fn healthcheck_of(service: &Service) -> Option<HealthConfig> {
    let h = service.healthcheck.as_ref()?;
    if h.disable {
        return Some(HealthConfig::none());
    }
    let ns = |d: Option<crate::compose::model::Duration>| d.map_or(0, |d| d.0);
    Some(HealthConfig {
        test: h.test.clone().unwrap_or_default(),
        interval: ns(h.interval),
        timeout: ns(h.timeout),
        start_period: ns(h.start_period),
        start_interval: ns(h.start_interval),
        retries: h.retries.map_or(0, |r| u32::try_from(r).unwrap_or(u32::MAX)),
    })
}

/// The service's `restart:` (checked when the file was loaded; `no` otherwise).
pub fn restart_of(service: &Service) -> RestartPolicy {
    service
        .restart
        .as_deref()
        .and_then(|r| RestartPolicy::parse(r).ok())
        .unwrap_or_default()
}

/// What to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// `service_healthy`.
    Healthy,
    /// `service_completed_successfully`.
    Completed,
    /// `up --wait`: running, or healthy with a healthcheck.
    RunningOrHealthy,
}

impl Condition {
    /// A `depends_on` condition that makes `up` wait (`service_started` does not).
    pub fn of_dependency(condition: &str) -> Option<Condition> {
        match condition {
            "service_healthy" => Some(Condition::Healthy),
            "service_completed_successfully" => Some(Condition::Completed),
            _ => None,
        }
    }
}

/// Seconds as Go's `time.Duration` prints them (`30s`, `1m30s`, `10m0s`).
fn go_seconds(secs: u64) -> String {
    match (secs / 3600, secs / 60 % 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, s) => format!("{h}h{m}m{s}s"),
    }
}

/// How long `--wait-timeout` leaves, in milliseconds (None: no limit).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub left_ms: Option<u64>,
    /// The `--wait-timeout` seconds, for the message.
    pub seconds: u64,
}

impl Budget {
    pub fn unlimited() -> Budget {
        Budget {
            left_ms: None,
            seconds: 0,
        }
    }

    pub fn seconds(seconds: u64) -> Budget {
        Budget {
            left_ms: Some(seconds * 1000),
            seconds,
        }
    }
}

/// `--wait-timeout N` (seconds; without it no limit), as Compose reads it.
pub fn budget_of(inv: &crate::cli::parse::Invocation) -> Result<Budget, String> {
    match inv.flags.value(crate::cli::spec::Flag::WAIT_TIMEOUT) {
        None => Ok(Budget::unlimited()),
        Some(text) => text.parse::<u64>().map(Budget::seconds).map_err(|_| {
            format!(
                "invalid argument \"{text}\" for \"--wait-timeout\" flag: strconv.ParseInt: parsing \"{text}\": \
                 invalid syntax"
            )
        }),
    }
}

/// Wait until container `name` (of service `service`) meets `condition`: the word its progress line ends
/// with (`Healthy`, `Exited`), or the error as Compose prints it.
pub async fn wait_for<T: Transport>(
    companion: &Companion<'_, T>,
    name: &str,
    service: &str,
    condition: Condition,
    budget: &mut Budget,
) -> Result<&'static str, String> {
    if condition == Condition::Completed {
        let state = companion.wait(name).await.map_err(|e| e.to_string())?;
        return match state.exit_code.unwrap_or(-1) {
            0 => Ok("Exited"),
            code => Err(format!(
                "service {service:?} didn't complete successfully: exit {code}"
            )),
        };
    }
    let prefix = match condition {
        Condition::Healthy => "dependency failed to start: ",
        _ => "",
    };
    loop {
        let timeout = budget.left_ms.map_or(20, |ms| ms.div_ceil(1000).min(20));
        if timeout == 0 {
            return Err(format!(
                "application not healthy after {}",
                go_seconds(budget.seconds)
            ));
        }
        let answer = companion
            .await_container(name, &AwaitQuery { timeout })
            .await
            .map_err(|e| e.to_string())?;
        if let Some(left) = budget.left_ms.as_mut() {
            *left = left.saturating_sub(answer.waited_ms.max(1));
        }
        if !answer.settled {
            continue;
        }
        let why = match (answer.status, answer.healthcheck, answer.health) {
            (ContainerStatus::Exited, _, _) => {
                format!("container {name} exited ({})", answer.exit_code.unwrap_or(-1))
            }
            (_, false, _) if condition == Condition::RunningOrHealthy => return Ok("Healthy"),
            (_, false, _) => format!("container {name} has no healthcheck configured"),
            (_, true, Some(HealthStatus::Healthy)) => return Ok("Healthy"),
            _ => format!("container {name} is unhealthy"),
        };
        return Err(format!("{prefix}{why}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::project::{load, Options};
    use std::collections::BTreeMap;

    #[test]
    fn a_services_healthcheck_and_restart_become_dockers() {
        let yaml = "services:\n  db:\n    image: busybox\n    restart: on-failure:3\n    healthcheck:\n      \
                    test: test -f /ready\n      interval: 1s\n      retries: 2\n  off:\n    image: busybox\n    \
                    healthcheck:\n      disable: true\n";
        let files = BTreeMap::from([("compose.yaml".to_string(), yaml.to_string())]);
        let opts = Options {
            project_name: Some("app".into()),
            working_dir: "/project".into(),
            ..Options::default()
        };
        let project = load(&files, &opts).expect("loads").project;
        let db = &project.services["db"];
        let h = healthcheck_of(db).unwrap();
        assert_eq!(h.test, ["CMD-SHELL", "test -f /ready"]);
        assert_eq!((h.interval, h.retries), (1_000_000_000, 2));
        assert_eq!(restart_of(db), RestartPolicy::parse("on-failure:3").unwrap());
        assert!(healthcheck_of(&project.services["off"]).unwrap().is_none());
        assert_eq!(
            Condition::of_dependency("service_healthy"),
            Some(Condition::Healthy)
        );
        assert_eq!(Condition::of_dependency("service_started"), None);
        assert_eq!(go_seconds(10), "10s");
        assert_eq!(go_seconds(600), "10m0s");
    }
}
