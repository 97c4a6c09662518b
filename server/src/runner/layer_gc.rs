//! Collecting unpacked layers that no container uses (run by `slipway serve`'s collector, `crate::collector`).
//!
//! A layer is in use while any container in the table (created, running or exited, which `docker start` may
//! run again) stacks it, and while a container that will stack it is being created. Otherwise it is collected
//! once unused for the grace period; the next container that needs it unpacks it again.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use super::{io_ctx, Runner, RunnerError};

/// What one collection removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayersFreed {
    /// The removed layers' digests (hex).
    pub digests: Vec<String>,
}

impl Runner {
    /// Remove unpacked layers no container uses and none used for `grace`. Blocking. Skips the pass (returns
    /// nothing) while a container is being created rather than wait for it.
    pub fn collect_unused_layers(&self, grace: Duration) -> Result<LayersFreed, RunnerError> {
        let taken = {
            let Ok(_no_creation) = self.creating.clone().try_write_owned() else {
                return Ok(LayersFreed::default());
            };
            let in_use: HashSet<PathBuf> = self
                .table()
                .values()
                .flat_map(|c| c.lowers.iter().cloned())
                .collect();
            self.layers
                .take_unused(&in_use, grace)
                .map_err(io_ctx("collecting layers"))?
        };
        // Renamed out of the store above; the slow part runs without holding up creations.
        let mut freed = LayersFreed::default();
        for (name, dir) in taken {
            std::fs::remove_dir_all(&dir).map_err(io_ctx(format!("removing {}", dir.display())))?;
            freed.digests.push(name.trim_start_matches(".gc-").to_string());
        }
        Ok(freed)
    }
}
