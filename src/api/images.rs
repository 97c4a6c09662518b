//! `GET /api/images`: the session's local images (`docs/local-images.md`).

use serde::{Deserialize, Serialize};

/// One row of `docker images`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRow {
    /// docker's familiar form: `learner1/app`, `python`, `127.0.0.1:5000/x/y`.
    pub repository: String,
    pub tag: String,
    /// The manifest digest the tag names.
    pub digest: String,
    /// The config digest (docker's image ID).
    pub id: String,
    pub created: Option<String>,
    /// Config plus layer sizes, as stored.
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::super::round_trip;
    use super::*;

    #[test]
    fn image_row_round_trips() {
        round_trip(&ImageRow {
            repository: "learner1/app".into(),
            tag: "latest".into(),
            digest: "sha256:00".into(),
            id: "sha256:01".into(),
            created: None,
            size: 1234,
        });
    }
}
