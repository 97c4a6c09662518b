//! Healthchecks and restart policies: what a create request asks for (Docker's `HealthConfig` and
//! `RestartPolicy`), and the health a container reports (Docker's `State.Health`). See docs/runner-api.md.

use serde::{Deserialize, Serialize};

/// Docker's `HealthConfig`: how the server probes a container. Durations are nanoseconds; 0 takes the image's
/// `HEALTHCHECK` value, else Docker's default ([`HealthConfig::DEFAULT_INTERVAL`] ...).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// `["CMD", ARG...]` (run as is), `["CMD-SHELL", COMMAND]` (run with `/bin/sh -c`), `["NONE"]` (no check,
    /// the image's disabled too); empty: the image's test.
    pub test: Vec<String>,
    pub interval: u64,
    pub timeout: u64,
    pub start_period: u64,
    pub start_interval: u64,
    /// Consecutive failures that make it unhealthy; 0: the image's, else 3.
    pub retries: u32,
}

impl HealthConfig {
    /// moby's defaults (`daemon/health.go`).
    pub const DEFAULT_INTERVAL: u64 = 30_000_000_000;
    pub const DEFAULT_TIMEOUT: u64 = 30_000_000_000;
    pub const DEFAULT_START_INTERVAL: u64 = 5_000_000_000;
    pub const DEFAULT_RETRIES: u32 = 3;

    /// `["NONE"]`: no healthcheck at all (`--no-healthcheck`, compose's `disable: true`).
    pub fn none() -> HealthConfig {
        HealthConfig {
            test: vec!["NONE".into()],
            ..HealthConfig::default()
        }
    }

    /// Whether this config turns the check off.
    pub fn is_none(&self) -> bool {
        self.test.first().is_some_and(|t| t == "NONE")
    }

    /// This config over the image's, as dockerd merges them at create: an empty test and zero values take
    /// the image's.
    pub fn over(&self, image: Option<&HealthConfig>) -> HealthConfig {
        let Some(image) = image else {
            return self.clone();
        };
        let pick = |mine: u64, theirs: u64| if mine == 0 { theirs } else { mine };
        HealthConfig {
            test: if self.test.is_empty() {
                image.test.clone()
            } else {
                self.test.clone()
            },
            interval: pick(self.interval, image.interval),
            timeout: pick(self.timeout, image.timeout),
            start_period: pick(self.start_period, image.start_period),
            start_interval: pick(self.start_interval, image.start_interval),
            retries: if self.retries == 0 {
                image.retries
            } else {
                self.retries
            },
        }
    }

    /// The command the probe runs, or None when there is no check (`NONE`, an empty test, an unknown kind).
    pub fn probe_command(&self) -> Option<Vec<String>> {
        match self.test.split_first() {
            Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => Some(rest.to_vec()),
            Some((kind, [command])) if kind == "CMD-SHELL" => {
                Some(vec!["/bin/sh".into(), "-c".into(), command.clone()])
            }
            _ => None,
        }
    }

    /// dockerd's checks at create (`daemon/container.go`): durations 0 or at least 1 ms.
    pub fn validate(&self) -> Result<(), String> {
        const MIN: u64 = 1_000_000;
        for (value, what) in [
            (self.interval, "Interval"),
            (self.timeout, "Timeout"),
            (self.start_period, "StartPeriod"),
            (self.start_interval, "StartInterval"),
        ] {
            if value != 0 && value < MIN {
                return Err(format!("{what} in Healthcheck cannot be less than 1ms"));
            }
        }
        Ok(())
    }
}

/// A container's health (`State.Health.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    /// As `docker ps` shows it in parentheses after `Up 5 seconds` (moby's `Health.String`).
    pub fn ps_word(self) -> &'static str {
        match self {
            HealthStatus::Starting => "health: starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }

    /// Docker's word (`docker inspect`, `ps --filter health=`).
    pub fn word(self) -> &'static str {
        match self {
            HealthStatus::Starting => "starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

/// One probe's result (`State.Health.Log[]`): times in nanoseconds since the Unix epoch, the output cut at
/// 4096 bytes as moby cuts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResult {
    pub start_ns: u128,
    pub end_ns: u128,
    pub exit_code: i32,
    pub output: String,
}

/// `State.Health`: the status, the consecutive failures, and the last 5 results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthState {
    pub status: HealthStatus,
    pub failing_streak: u32,
    pub log: Vec<HealthResult>,
}

/// Docker's restart policy names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartName {
    #[default]
    No,
    Always,
    OnFailure,
    UnlessStopped,
}

/// `--restart no|always|on-failure[:N]|unless-stopped`, compose's `restart:` (Docker's `RestartPolicy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RestartPolicy {
    pub name: RestartName,
    /// `on-failure:N`: give up after N restarts (0: never give up).
    pub maximum_retry_count: u32,
}

/// A `--restart` value Docker refuses, in its words (the CLI's parse, then dockerd's validation).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestartPolicyError {
    #[error("invalid restart policy format: no policy provided before colon")]
    NoPolicy,
    #[error("invalid restart policy format: maximum retry count must be an integer")]
    Count,
    #[error("invalid restart policy: maximum retry count cannot be negative")]
    Negative,
    #[error(
        "invalid restart policy: unknown policy '{0}'; use one of 'no', 'always', 'on-failure', or \
         'unless-stopped'"
    )]
    Unknown(String),
    #[error("invalid restart policy: maximum retry count can only be used with 'on-failure'")]
    CountWithout,
}

impl RestartPolicy {
    /// Parse as the docker CLI and dockerd do (`on-failure:3`).
    pub fn parse(text: &str) -> Result<RestartPolicy, RestartPolicyError> {
        let (name, count) = match text.split_once(':') {
            Some(("", _)) => return Err(RestartPolicyError::NoPolicy),
            Some((name, count)) => (name, Some(count)),
            None => (text, None),
        };
        let count: Option<i64> = match count.filter(|c| !c.is_empty()) {
            Some(c) => Some(c.parse().map_err(|_| RestartPolicyError::Count)?),
            None => None,
        };
        let name = match name {
            "" | "no" => RestartName::No,
            "always" => RestartName::Always,
            "on-failure" => RestartName::OnFailure,
            "unless-stopped" => RestartName::UnlessStopped,
            other => return Err(RestartPolicyError::Unknown(other.to_string())),
        };
        let maximum_retry_count = match count {
            Some(n) if n < 0 => return Err(RestartPolicyError::Negative),
            Some(n) if n > 0 && name != RestartName::OnFailure => {
                return Err(RestartPolicyError::CountWithout)
            }
            Some(n) => u32::try_from(n).map_err(|_| RestartPolicyError::Count)?,
            None => 0,
        };
        Ok(RestartPolicy {
            name,
            maximum_retry_count,
        })
    }

    /// Docker's name (`docker inspect`'s `HostConfig.RestartPolicy.Name`).
    pub fn name_word(&self) -> &'static str {
        match self.name {
            RestartName::No => "no",
            RestartName::Always => "always",
            RestartName::OnFailure => "on-failure",
            RestartName::UnlessStopped => "unless-stopped",
        }
    }

    pub fn is_none(&self) -> bool {
        self.name == RestartName::No
    }
}

/// The query of `POST /api/containers/{id}/await`: wait until the container runs without a healthcheck, its
/// healthcheck settles (healthy or unhealthy) or it exits (and no restart is pending).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct AwaitQuery {
    /// Seconds to wait at most (the server waits 30 at most per call).
    pub timeout: u64,
}

/// The answer to `POST /api/containers/{id}/await`: where the container stands when the condition settled or
/// the time ran out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwaitAnswer {
    /// Whether the condition settled (else the time ran out).
    pub settled: bool,
    pub status: super::ContainerStatus,
    pub exit_code: Option<i32>,
    /// Whether it runs a healthcheck.
    pub healthcheck: bool,
    pub health: Option<HealthStatus>,
    /// How long the server waited, in milliseconds.
    pub waited_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::super::round_trip;
    use super::*;

    #[test]
    fn restart_policies_parse_as_docker_does() {
        let p = RestartPolicy::parse("on-failure:3").unwrap();
        assert_eq!((p.name, p.maximum_retry_count), (RestartName::OnFailure, 3));
        assert_eq!(RestartPolicy::parse("always").unwrap().name, RestartName::Always);
        assert_eq!(
            RestartPolicy::parse("unless-stopped").unwrap().name_word(),
            "unless-stopped"
        );
        assert!(RestartPolicy::parse("no").unwrap().is_none());
        assert_eq!(RestartPolicy::parse(":3"), Err(RestartPolicyError::NoPolicy));
        assert_eq!(
            RestartPolicy::parse("on-failure:x"),
            Err(RestartPolicyError::Count)
        );
        assert_eq!(
            RestartPolicy::parse("on-failure:-1"),
            Err(RestartPolicyError::Negative)
        );
        assert_eq!(
            RestartPolicy::parse("always:2"),
            Err(RestartPolicyError::CountWithout)
        );
        assert_eq!(
            RestartPolicy::parse("sometimes").unwrap_err().to_string(),
            "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or \
             'unless-stopped'"
        );
        assert_eq!(round_trip(&p)["name"], "on-failure");
    }

    #[test]
    fn a_healthcheck_merges_over_the_images_and_runs_its_test() {
        let image = HealthConfig {
            test: vec!["CMD-SHELL".into(), "test -f /ready".into()],
            interval: 5_000_000_000,
            retries: 2,
            ..HealthConfig::default()
        };
        let mine = HealthConfig {
            interval: 1_000_000_000,
            ..HealthConfig::default()
        };
        let merged = mine.over(Some(&image));
        assert_eq!(merged.test, image.test);
        assert_eq!((merged.interval, merged.retries), (1_000_000_000, 2));
        assert_eq!(
            merged.probe_command().unwrap(),
            ["/bin/sh", "-c", "test -f /ready"]
        );
        let cmd = HealthConfig {
            test: vec!["CMD".into(), "true".into()],
            ..HealthConfig::default()
        };
        assert_eq!(cmd.probe_command().unwrap(), ["true"]);
        assert!(HealthConfig::none().is_none() && HealthConfig::none().probe_command().is_none());
        assert!(HealthConfig::none().over(Some(&image)).is_none());
        let tiny = HealthConfig {
            timeout: 10,
            ..HealthConfig::default()
        };
        assert_eq!(
            tiny.validate().unwrap_err(),
            "Timeout in Healthcheck cannot be less than 1ms"
        );
        round_trip(&merged);
        round_trip(&HealthState {
            status: HealthStatus::Healthy,
            failing_streak: 0,
            log: vec![HealthResult {
                start_ns: 1,
                end_ns: 2,
                exit_code: 0,
                output: "ok".into(),
            }],
        });
        assert_eq!(HealthStatus::Starting.ps_word(), "health: starting");
        assert_eq!(round_trip(&AwaitQuery { timeout: 20 })["timeout"], 20);
        round_trip(&AwaitAnswer {
            settled: true,
            status: super::super::ContainerStatus::Running,
            exit_code: None,
            healthcheck: true,
            health: Some(HealthStatus::Healthy),
            waited_ms: 1200,
        });
    }
}
