//! The docs embeds' runner frame ([`super::paths::EMBED_RUNNER`], docs/embedding.md): the budget the operator
//! gives each page (`slipway serve --embed-containers`, `--embed-build-minutes`), read by the runner at start
//! from [`super::paths::EMBED_BUDGET`].

use serde::{Deserialize, Serialize};

/// What one runner session (one docs page load) may use; `None`: no limit beyond the server's quotas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedBudget {
    /// Containers the page's blocks may start (`docker run`, `docker create`).
    pub containers: Option<u32>,
    /// Minutes of building (summed over the page's builds) before further builds are refused.
    pub build_minutes: Option<u32>,
}
