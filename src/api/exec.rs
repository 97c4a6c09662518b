//! `docker exec`: a process started in a running container (`POST /api/containers/{id}/exec`).

use serde::{Deserialize, Serialize};

/// The body of `POST /api/containers/{id}/exec`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ExecOptions {
    pub cmd: Vec<String>,
    pub tty: bool,
    pub interactive: bool,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
}

/// The answer to `POST /api/containers/{id}/exec`: attach to [`super::paths::exec_attach`] of this id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExecCreated {
    pub id: String,
}

/// What `GET /api/execs/{id}` and its `wait` answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExecState {
    pub id: String,
    /// The container's full id.
    pub container: String,
    pub args: Vec<String>,
    pub running: bool,
    pub exit_code: Option<i32>,
}

#[cfg(test)]
mod tests {
    use super::super::round_trip;
    use super::*;

    #[test]
    fn exec_types_round_trip() {
        round_trip(&ExecOptions {
            cmd: vec!["sh".into()],
            tty: true,
            interactive: true,
            env: vec!["A=1".into()],
            user: Some("1000".into()),
            workdir: Some("/app".into()),
        });
        round_trip(&ExecCreated { id: "e1".into() });
        round_trip(&ExecState {
            id: "e1".into(),
            container: "abc".into(),
            args: vec!["sh".into()],
            running: false,
            exit_code: Some(0),
        });
        let error = serde_json::from_str::<ExecOptions>(r#"{"command":["sh"]}"#).unwrap_err();
        assert!(error.to_string().contains("unknown field `command`"), "{error}");
    }
}
