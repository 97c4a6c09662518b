//! `docker run --health-* --no-healthcheck --restart`: the create request's healthcheck and restart policy, as
//! the docker CLI builds them (`cli/command/container/opts.go`), (the health filter of `docker ps` is `cli::ps_filters`).

use serde::Serialize;

use super::parse::Invocation;
use super::spec::Flag;
use crate::api::{HealthConfig, HealthState, RestartPolicy};
use crate::image::rfc3339_nanos;

/// A `--health-*` or `--restart` value docker refuses, in its words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FlagError(String);

/// A Go duration flag's value in nanoseconds, with pflag's words when it is not one.
fn duration(inv: &Invocation, flag: Flag) -> Result<u64, FlagError> {
    let Some(text) = inv.flags.value(flag) else {
        return Ok(0);
    };
    if text.trim_start().starts_with('-') && crate::compose::values::parse_duration(&text[1..]).is_some() {
        return Err(FlagError(format!("--{} cannot be negative", flag.long())));
    }
    crate::compose::values::parse_duration(text)
        .map(|d| d.0)
        .ok_or_else(|| {
            FlagError(format!(
                "invalid argument \"{text}\" for \"--{}\" flag: time: invalid duration \"{text}\"",
                flag.long()
            ))
        })
}

/// `--health-cmd`, `--health-interval`, ... and `--no-healthcheck`: None when none is given (the image's
/// `HEALTHCHECK` applies).
pub fn healthcheck(inv: &Invocation) -> Result<Option<HealthConfig>, FlagError> {
    let retries = match inv.flags.value(Flag::HEALTH_RETRIES) {
        None => 0,
        Some(text) => text.parse::<i64>().map_err(|_| {
            FlagError(format!(
                "invalid argument \"{text}\" for \"--health-retries\" flag: strconv.ParseInt: parsing \"{text}\": \
                 invalid syntax"
            ))
        })?,
    };
    if retries < 0 {
        return Err(FlagError("--health-retries cannot be negative".into()));
    }
    let config = HealthConfig {
        test: inv
            .flags
            .value(Flag::HEALTH_CMD)
            .filter(|c| !c.is_empty())
            .map(|c| vec!["CMD-SHELL".to_string(), c.to_string()])
            .unwrap_or_default(),
        interval: duration(inv, Flag::HEALTH_INTERVAL)?,
        timeout: duration(inv, Flag::HEALTH_TIMEOUT)?,
        start_period: duration(inv, Flag::HEALTH_START_PERIOD)?,
        start_interval: duration(inv, Flag::HEALTH_START_INTERVAL)?,
        retries: u32::try_from(retries).unwrap_or(u32::MAX),
    };
    let any = config != HealthConfig::default();
    if inv.flags.is_set(Flag::NO_HEALTHCHECK) {
        if any {
            return Err(FlagError(
                "--no-healthcheck conflicts with --health-* options".into(),
            ));
        }
        return Ok(Some(HealthConfig::none()));
    }
    Ok(any.then_some(config))
}

/// `--restart POLICY` (refused with `--rm`, as docker refuses it).
pub fn restart_policy(inv: &Invocation) -> Result<RestartPolicy, FlagError> {
    let policy = match inv.flags.value(Flag::RESTART) {
        Some(text) => RestartPolicy::parse(text).map_err(|e| FlagError(e.to_string()))?,
        None => RestartPolicy::default(),
    };
    if inv.flags.is_set(Flag::RM) && !policy.is_none() {
        return Err(FlagError("Conflicting options: --restart and --rm".into()));
    }
    Ok(policy)
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// dockerd's `Config.Healthcheck`: `Test`, then the durations (nanoseconds) and `Retries` that are set.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerHealthcheck<'a> {
    test: &'a [String],
    #[serde(skip_serializing_if = "is_zero")]
    interval: u64,
    #[serde(skip_serializing_if = "is_zero")]
    timeout: u64,
    #[serde(skip_serializing_if = "is_zero")]
    start_period: u64,
    #[serde(skip_serializing_if = "is_zero")]
    start_interval: u64,
    #[serde(skip_serializing_if = "is_zero")]
    retries: u64,
}

pub fn docker_healthcheck(h: &HealthConfig) -> DockerHealthcheck<'_> {
    DockerHealthcheck {
        test: &h.test,
        interval: h.interval,
        timeout: h.timeout,
        start_period: h.start_period,
        start_interval: h.start_interval,
        retries: u64::from(h.retries),
    }
}

/// One probe of dockerd's `State.Health.Log`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerProbe<'a> {
    start: String,
    end: String,
    exit_code: i32,
    output: &'a str,
}

/// dockerd's `State.Health`: `Status`, `FailingStreak`, the `Log` of the last probes.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerHealth<'a> {
    status: &'static str,
    failing_streak: u32,
    log: Vec<DockerProbe<'a>>,
}

pub fn docker_health(h: &HealthState) -> DockerHealth<'_> {
    DockerHealth {
        status: h.status.word(),
        failing_streak: h.failing_streak,
        log: h
            .log
            .iter()
            .map(|r| DockerProbe {
                start: rfc3339_nanos(r.start_ns),
                end: rfc3339_nanos(r.end_ns),
                exit_code: r.exit_code,
                output: &r.output,
            })
            .collect(),
    }
}

/// dockerd's `HostConfig.RestartPolicy`: `Name`, `MaximumRetryCount`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerRestartPolicy {
    name: &'static str,
    maximum_retry_count: u32,
}

pub fn docker_restart_policy(policy: &RestartPolicy) -> DockerRestartPolicy {
    DockerRestartPolicy {
        name: policy.name_word(),
        maximum_retry_count: policy.maximum_retry_count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ContainerStatus, HealthResult, HealthState, HealthStatus};
    use crate::cli::inspect::{container_node, render};

    fn run(line: &str) -> Invocation {
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        match crate::cli::parse::parse(&words) {
            Ok(crate::cli::parse::Parsed::Run(inv)) => inv,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn inspect_shows_dockers_health_healthcheck_and_restart_policy() {
        let mut c = crate::cli::inspect::tests::container(ContainerStatus::Running, false);
        c.options.healthcheck = Some(HealthConfig {
            test: vec!["CMD-SHELL".into(), "test -f /ready".into()],
            interval: 1_000_000_000,
            ..HealthConfig::default()
        });
        c.options.restart = RestartPolicy::parse("on-failure:3").unwrap();
        c.restart_count = 2;
        c.health_state = Some(HealthState {
            status: HealthStatus::Unhealthy,
            failing_streak: 3,
            log: vec![HealthResult {
                start_ns: 1_795_842_313_000_000_001,
                end_ns: 1_795_842_313_000_000_002,
                exit_code: 1,
                output: "no\n".into(),
            }],
        });
        let node = container_node(&c);
        let text = |t: &str| render(t, &node).unwrap();
        assert_eq!(
            text("{{.State.Health.Status}} {{.State.Health.FailingStreak}}"),
            "unhealthy 3"
        );
        assert_eq!(
            text("{{json .State.Health.Log}}"),
            r#"[{"Start":"2026-11-28T05:05:13.000000001Z","End":"2026-11-28T05:05:13.000000002Z","ExitCode":1,"Output":"no\n"}]"#
        );
        assert_eq!(
            text("{{json .Config.Healthcheck}}"),
            r#"{"Test":["CMD-SHELL","test -f /ready"],"Interval":1000000000}"#
        );
        assert_eq!(
            text("{{json .HostConfig.RestartPolicy}} {{.RestartCount}}"),
            r#"{"Name":"on-failure","MaximumRetryCount":3} 2"#
        );
        c.summary.restarting = true;
        let node = container_node(&c);
        assert_eq!(
            render("{{.State.Status}} {{.State.Restarting}}", &node).unwrap(),
            "restarting true"
        );
    }

    #[test]
    fn health_flags_build_dockers_healthcheck() {
        let inv = run(
            "docker run --health-cmd true --health-interval 1s --health-timeout 500ms --health-retries 2 \
             --health-start-period 1m --health-start-interval 2s busybox",
        );
        let h = healthcheck(&inv).unwrap().unwrap();
        assert_eq!(h.test, ["CMD-SHELL", "true"]);
        assert_eq!(
            (h.interval, h.timeout, h.start_period, h.start_interval, h.retries),
            (1_000_000_000, 500_000_000, 60_000_000_000, 2_000_000_000, 2)
        );
        assert_eq!(healthcheck(&run("docker run busybox")).unwrap(), None);
        assert!(healthcheck(&run("docker run --no-healthcheck busybox"))
            .unwrap()
            .unwrap()
            .is_none());
        let refused = |line: &str| healthcheck(&run(line)).unwrap_err().to_string();
        assert_eq!(
            refused("docker run --no-healthcheck --health-retries 1 busybox"),
            "--no-healthcheck conflicts with --health-* options"
        );
        assert_eq!(
            refused("docker run --health-interval soon busybox"),
            "invalid argument \"soon\" for \"--health-interval\" flag: time: invalid duration \"soon\""
        );
        assert_eq!(
            refused("docker run --health-retries -1 busybox"),
            "--health-retries cannot be negative"
        );
    }

    #[test]
    fn restart_flags_and_the_health_filter_read_as_docker() {
        let p = restart_policy(&run("docker run --restart on-failure:3 busybox")).unwrap();
        assert_eq!((p.name_word(), p.maximum_retry_count), ("on-failure", 3));
        assert_eq!(
            restart_policy(&run("docker run --rm --restart always busybox"))
                .unwrap_err()
                .to_string(),
            "Conflicting options: --restart and --rm"
        );
    }
}
