//! Binds of the project's own files (`docker run -v ./src:/app`, `--mount type=bind`, compose `- .:/code`): the
//! client packed the folder or file as a layer blob into the session's local store ([`slipway::api::ProjectBind`]).
//! The runner finds the blob as the session may read it (never in another session's local store), unpacks it
//! once per digest into its layer store with the hostile-layer rules ([`super::unpack`], taken from the server's
//! disk budget) and bind-mounts that directory read-only. The directory is collected as unpacked layers are:
//! once no container (any state) mounts it and none has for the grace period. See `docs/volumes.md`.

use std::path::PathBuf;

use slipway::api::{ProjectBind, BIND_FILE_NAME};

use super::images::LayerBlob;
use super::volumes::VolumeError;
use super::{Container, Runner, RunnerError};

fn refused(digest: &str) -> RunnerError {
    VolumeError::Invalid(format!(
        "invalid mount config for type \"bind\": the project's files {digest} are not in the session's store"
    ))
    .into()
}

impl Runner {
    /// Unpack (once) the bind's blob as session `session` may read it; its directory, owned by the container's
    /// root. Blocking.
    pub(crate) fn unpack_bind(&self, session: &str, bind: &ProjectBind) -> Result<PathBuf, RunnerError> {
        let path = self
            .images
            .blob_for(session, &bind.digest)
            .map_err(|_| refused(&bind.digest))?;
        let blob = LayerBlob {
            digest: bind.digest.clone(),
            diff_id: None,
            path,
        };
        let dir = self.unpack_layers(&[blob])?.remove(0);
        let root = self.layers.shift().to_host(0);
        std::os::unix::fs::lchown(&dir, Some(root), Some(root))
            .map_err(super::io_ctx("chown of a bind's directory"))?;
        self.bind_source(bind)?;
        Ok(dir)
    }

    /// What the container's spec mounts for `bind`: the unpacked directory, or for a single file the regular
    /// file in it (never a link: a mount's source is resolved on the host).
    pub(crate) fn bind_source(&self, bind: &ProjectBind) -> Result<PathBuf, RunnerError> {
        let dir = self.layers.path_for(&bind.digest);
        if !bind.file {
            return Ok(dir);
        }
        let file = dir.join(BIND_FILE_NAME);
        match std::fs::symlink_metadata(&file) {
            Ok(meta) if meta.is_file() => Ok(file),
            _ => Err(VolumeError::Invalid(format!(
                "invalid mount config for type \"bind\": {} holds no single file",
                bind.digest
            ))
            .into()),
        }
    }

    /// The unpacked directories container `c` binds (kept by the layer collector while it exists).
    pub(crate) fn bind_dirs(&self, c: &Container) -> Vec<PathBuf> {
        c.opts
            .volumes
            .iter()
            .filter_map(|m| m.bind.as_ref())
            .map(|b| self.layers.path_for(&b.digest))
            .collect()
    }
}
