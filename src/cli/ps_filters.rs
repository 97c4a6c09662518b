//! The filters of `docker ps --filter` and of `docker compose ps` (its project's containers): one reading of
//! `label=KEY[=VALUE]` and `health=STATE`, with docker's errors for the rest.

use std::collections::BTreeMap;

use crate::api::ContainerSummary;

/// Filter keys dockerd knows for containers and Slipway does not apply (docker `daemon/list.go`'s accepted
/// filters).
const DOCKERS: &[&str] = &[
    "id",
    "name",
    "status",
    "exited",
    "ancestor",
    "before",
    "since",
    "volume",
    "network",
    "publish",
    "expose",
    "health",
    "isolation",
    "is-task",
];

/// The values `health=` takes (moby `container/state.go`).
const HEALTH: [&str; 4] = ["starting", "healthy", "unhealthy", "none"];

/// One `label=KEY[=VALUE]`: the label is there (with that value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelFilter {
    pub key: String,
    pub value: Option<String>,
}

impl LabelFilter {
    /// The label `key` with exactly `value` (how `docker compose` finds its project's containers).
    pub fn is(key: &str, value: &str) -> LabelFilter {
        LabelFilter {
            key: key.to_owned(),
            value: Some(value.to_owned()),
        }
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        labels
            .get(&self.key)
            .is_some_and(|v| self.value.as_ref().is_none_or(|want| want == v))
    }
}

/// Why a `docker ps --filter` is refused, in docker's words.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error(
        "invalid argument \"{0}\" for \"-f, --filter\" flag: bad format of filter (expected name=value)"
    )]
    Format(String),
    #[error("Error response from daemon: invalid filter '{0}'")]
    Unknown(String),
    #[error("slipway: docker ps filters by label and health here (--filter label=KEY[=VALUE], health=STATE), not by {0}")]
    NotHere(String),
    #[error("Error response from daemon: Unrecognised filter value for health: {0}")]
    Health(String),
}

/// Every `--filter` of a `docker ps`: a row is kept when it has each label and, with `health=` filters, one of
/// those health states (docker ORs the values of one key and ANDs the keys).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PsFilter {
    labels: Vec<LabelFilter>,
    health: Vec<String>,
}

impl PsFilter {
    /// The filters of `values` (`KEY=VALUE` each); a malformed or unknown one, or a filter dockerd has and
    /// this `ps` does not apply, is refused (the label and key errors before a health value's).
    pub fn parse(values: &[String]) -> Result<PsFilter, FilterError> {
        let (health, others): (Vec<&String>, Vec<&String>) =
            values.iter().partition(|v| v.starts_with("health="));
        let labels = others
            .into_iter()
            .map(|v| match v.split_once('=') {
                None => Err(FilterError::Format(v.clone())),
                Some(("label", rest)) => Ok(match rest.split_once('=') {
                    Some((k, val)) => LabelFilter::is(k, val),
                    None => LabelFilter {
                        key: rest.to_string(),
                        value: None,
                    },
                }),
                Some((key, _)) if DOCKERS.contains(&key) => Err(FilterError::NotHere(key.to_string())),
                Some((key, _)) => Err(FilterError::Unknown(key.to_string())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let health = health
            .into_iter()
            .map(|v| v.trim_start_matches("health=").to_string())
            .map(|v| match HEALTH.contains(&v.as_str()) {
                true => Ok(v),
                false => Err(FilterError::Health(v)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PsFilter { labels, health })
    }

    /// Only the rows labelled `key=value`.
    pub fn label(key: &str, value: &str) -> PsFilter {
        PsFilter {
            labels: vec![LabelFilter::is(key, value)],
            health: Vec::new(),
        }
    }

    pub fn keeps(&self, row: &ContainerSummary) -> bool {
        let status = row.health.map_or("none", |h| h.word());
        self.labels.iter().all(|f| f.matches(&row.labels))
            && (self.health.is_empty() || self.health.iter().any(|w| w == status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(labels: &[(&str, &str)]) -> ContainerSummary {
        let mut row = crate::cli::containers::tests::summary_row();
        row.labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        row
    }

    fn parse(values: &[&str]) -> Result<PsFilter, FilterError> {
        PsFilter::parse(&values.iter().map(|v| v.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn ps_filters_by_label_as_docker_does() {
        let filters = parse(&["label=team", "label=tier=front"]).unwrap();
        assert!(filters.keeps(&row(&[("team", "a"), ("tier", "front")])));
        assert!(!filters.keeps(&row(&[("team", "a"), ("tier", "back")])));
        assert!(!filters.keeps(&row(&[("tier", "front")])));
        let e = |v: &str| parse(&[v]).unwrap_err().to_string();
        assert_eq!(
            e("label"),
            "invalid argument \"label\" for \"-f, --filter\" flag: bad format of filter (expected name=value)"
        );
        assert_eq!(
            e("colour=red"),
            "Error response from daemon: invalid filter 'colour'"
        );
        assert!(e("status=exited").contains("not by status"));
        assert!(PsFilter::label("team", "a").keeps(&row(&[("team", "a")])));
        assert!(!PsFilter::label("team", "a").keeps(&row(&[("team", "b")])));
    }

    #[test]
    fn ps_filters_by_health_as_docker_does() {
        let keep = parse(&["health=healthy"]).unwrap();
        let mut row = row(&[]);
        assert!(!keep.keeps(&row));
        row.health = Some(crate::api::HealthStatus::Healthy);
        assert!(keep.keeps(&row));
        assert_eq!(
            parse(&["health=ok"]).unwrap_err().to_string(),
            "Error response from daemon: Unrecognised filter value for health: ok"
        );
        // A key error comes before a health value's, as before the filters were one module.
        assert!(matches!(
            parse(&["health=ok", "name=web"]),
            Err(FilterError::NotHere(_))
        ));
    }
}
