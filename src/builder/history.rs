//! `created_by` strings exactly as BuildKit's Dockerfile front end writes them into an image's history
//! (`frontend/dockerfile/dockerfile2llb/convert.go`): Go's `%q` and `%v` formatting of slices, maps and the
//! healthcheck struct, and the `|N K=V` prefix RUN gets when build args are in scope.

use crate::dockerfile::shell::go_quote;

/// BuildKit's `historyComment`: every entry its Dockerfile front end writes carries it.
pub const HISTORY_COMMENT: &str = "buildkit.dockerfile.v0";

/// The default `PATH` BuildKit adds to images without one (`system.DefaultPathEnv("linux")`).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Go's `fmt.Sprintf("%q", []string{...})`: `["python3" "app.py"]`.
pub fn quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", quoted.join(" "))
}

/// Go's `fmt.Sprintf("%v", []string{...})`: `[/data /logs]`.
pub fn plain_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// Go's `%v` of `map[nat.Port]struct{}`: keys sorted, `map[8000/tcp:{} 9000/udp:{}]`.
pub fn port_map(ports: &[String]) -> String {
    let mut sorted: Vec<&String> = ports.iter().collect();
    sorted.sort();
    sorted.dedup();
    let inner: Vec<String> = sorted.iter().map(|p| format!("{p}:{{}}")).collect();
    format!("map[{}]", inner.join(" "))
}

/// Go's `time.Duration.String()`: `0s`, `1.5s`, `5m0s`, `1h0m0s`, `300ms`.
pub fn go_duration(nanos: i128) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let neg = nanos < 0;
    let n = nanos.unsigned_abs();
    let sign = if neg { "-" } else { "" };
    if n < 1_000_000_000 {
        let (unit, div) = if n < 1_000 {
            ("ns", 1)
        } else if n < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{sign}{}{unit}", fraction(n, div));
    }
    let secs_total = n / 1_000_000_000;
    let frac = n % 1_000_000_000;
    let hours = secs_total / 3600;
    let minutes = secs_total % 3600 / 60;
    let secs = secs_total % 60;
    let secs_text = fraction(secs * 1_000_000_000 + frac, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{sign}{secs_text}s"),
        (0, m) => format!("{sign}{m}m{secs_text}s"),
        (h, m) => format!("{sign}{h}h{m}m{secs_text}s"),
    }
}

/// `value / div` with the fraction's trailing zeros dropped (`1.5`, `2`).
fn fraction(value: u128, div: u128) -> String {
    let whole = value / div;
    let rest = value % div;
    if rest == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Go's `%q` of an int: a quoted character literal (`'\x03'`), as `HEALTHCHECK %q` prints `Retries`.
pub fn go_quote_rune(value: i64) -> String {
    match u32::try_from(value).ok().and_then(char::from_u32) {
        Some('\'') => "'\\''".into(),
        Some(c) => {
            let quoted = go_quote(&c.to_string());
            let inner = &quoted[1..quoted.len() - 1];
            let inner = if inner == "\\\"" { "\"" } else { inner };
            format!("'{inner}'")
        }
        None => "'\u{fffd}'".into(),
    }
}

/// The healthcheck of an image config, as BuildKit stores it and prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthcheckConfig {
    pub test: Vec<String>,
    pub interval: i128,
    pub timeout: i128,
    pub start_period: i128,
    pub start_interval: i128,
    pub retries: i64,
}

impl HealthcheckConfig {
    /// `HEALTHCHECK &{["CMD-SHELL" "curl -f http://localhost/"] "30s" "3s" "0s" "0s" '\x03'}`.
    pub fn created_by(&self) -> String {
        format!(
            "HEALTHCHECK &{{{} {} {} {} {} {}}}",
            quoted_list(&self.test),
            go_quote(&go_duration(self.interval)),
            go_quote(&go_duration(self.timeout)),
            go_quote(&go_duration(self.start_period)),
            go_quote(&go_duration(self.start_interval)),
            go_quote_rune(self.retries)
        )
    }

    /// The Docker config JSON (`Test`, durations in nanoseconds, zero fields left out).
    pub fn to_json(&self) -> serde_json::Value {
        /// Docker's `HealthConfig` as it stores it.
        #[derive(serde::Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct DockerHealthConfig<'a> {
            test: &'a [String],
            #[serde(skip_serializing_if = "is_zero")]
            interval: i64,
            #[serde(skip_serializing_if = "is_zero")]
            timeout: i64,
            #[serde(skip_serializing_if = "is_zero")]
            start_period: i64,
            #[serde(skip_serializing_if = "is_zero")]
            start_interval: i64,
            #[serde(skip_serializing_if = "is_zero")]
            retries: i64,
        }
        fn is_zero(n: &i64) -> bool {
            *n == 0
        }
        let config = DockerHealthConfig {
            test: &self.test,
            interval: self.interval as i64,
            timeout: self.timeout as i64,
            start_period: self.start_period as i64,
            start_interval: self.start_interval as i64,
            retries: self.retries,
        };
        serde_json::to_value(config).expect("a healthcheck serializes")
    }

    pub fn from_json(value: &serde_json::Value) -> Option<Self> {
        let test = value["Test"]
            .as_array()?
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        let n = |k: &str| value[k].as_i64().unwrap_or(0) as i128;
        Some(HealthcheckConfig {
            test,
            interval: n("Interval"),
            timeout: n("Timeout"),
            start_period: n("StartPeriod"),
            start_interval: n("StartInterval"),
            retries: value["Retries"].as_i64().unwrap_or(0),
        })
    }
}

/// The argv of RUN with the build args in scope before it (`|2 A=1 B=2 /bin/sh -c make`; an ARG without a
/// value shows as `B=`).
pub fn run_command_string(build_args: &[(String, Option<String>)], argv: &[String]) -> String {
    let mut parts = Vec::new();
    if !build_args.is_empty() {
        parts.push(format!("|{}", build_args.len()));
        parts.extend(
            build_args
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or_default())),
        );
    }
    parts.extend(argv.iter().cloned());
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn go_formats() {
        assert_eq!(quoted_list(&s(&["python3", "app.py"])), r#"["python3" "app.py"]"#);
        assert_eq!(plain_list(&s(&["/data", "/logs"])), "[/data /logs]");
        assert_eq!(
            port_map(&s(&["9000/udp", "8000/tcp"])),
            "map[8000/tcp:{} 9000/udp:{}]"
        );
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(30_000_000_000), "30s");
        assert_eq!(go_duration(300_000_000_000), "5m0s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(300_000_000), "300ms");
        assert_eq!(go_quote_rune(3), r"'\x03'");
        assert_eq!(go_quote_rune(65), "'A'");
        assert_eq!(
            run_command_string(
                &[("V".into(), Some("1".into())), ("E".into(), None)],
                &s(&["/bin/sh", "-c", "make"])
            ),
            "|2 V=1 E= /bin/sh -c make"
        );
    }

    #[test]
    fn healthcheck_like_buildkit() {
        let h = HealthcheckConfig {
            test: s(&["CMD-SHELL", "curl -f http://localhost/ || exit 1"]),
            interval: 300_000_000_000,
            timeout: 3_000_000_000,
            start_period: 0,
            start_interval: 0,
            retries: 3,
        };
        assert_eq!(
            h.created_by(),
            r#"HEALTHCHECK &{["CMD-SHELL" "curl -f http://localhost/ || exit 1"] "5m0s" "3s" "0s" "0s" '\x03'}"#
        );
        assert_eq!(HealthcheckConfig::from_json(&h.to_json()), Some(h));
    }
}
