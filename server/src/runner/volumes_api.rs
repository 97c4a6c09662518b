//! The volume routes under `/api/volumes` (`docs/volumes.md`), and the runner's side of a container's volumes:
//! made (or found) at create, copied up and mounted in its spec, anonymous ones removed with `--rm`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::{MountBuilder, Spec};
use slipway::api::{self, paths, RunOptions, VolumeInfo, VolumeMount};

use crate::api_json::ApiJson;

use super::volumes::{check_target, valid_name, VolumeError, MAX_MOUNTS};
use super::{io_ctx, Container, Runner, RunnerError};

type ApiResult<T> = Result<T, RunnerError>;

pub fn routes() -> Router<Arc<Runner>> {
    Router::new()
        .route(paths::VOLUMES, get(list).post(create))
        .route(paths::VOLUMES_PRUNE, post(prune))
        .route(paths::VOLUME, get(inspect).delete(remove))
}

fn session(headers: &HeaderMap) -> String {
    crate::registry::local::session_token(headers).unwrap_or_default()
}

/// Blocking volume work off the async workers.
async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, RunnerError> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| io_ctx("volume task")(std::io::Error::other(e)))?
}

async fn list(State(r): State<Arc<Runner>>, headers: HeaderMap) -> ApiResult<Json<Vec<VolumeInfo>>> {
    let session = session(&headers);
    blocking(move || {
        let names = r.volumes.list(&session);
        Ok(Json(names.iter().map(|n| r.volume_info(&session, n)).collect()))
    })
    .await
}

async fn create(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<api::VolumeCreate>,
) -> ApiResult<(StatusCode, Json<VolumeInfo>)> {
    let session = session(&headers);
    let name = match request.name.is_empty() {
        true => super::random_id(),
        false => request.name,
    };
    blocking(move || {
        r.volumes.create(&session, &name, false)?;
        r.volume_event(&session, "create", &name, &[]);
        Ok((StatusCode::CREATED, Json(r.volume_info(&session, &name))))
    })
    .await
}

async fn inspect(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult<Json<VolumeInfo>> {
    let session = session(&headers);
    if !r.volumes.exists(&session, &name) {
        return Err(VolumeError::NotFound(name).into());
    }
    Ok(Json(r.volume_info(&session, &name)))
}

async fn remove(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let session = session(&headers);
    let users = r.volume_users(&session, &name);
    if !users.is_empty() {
        return Err(VolumeError::InUse {
            name,
            ids: users.join(", "),
        }
        .into());
    }
    blocking(move || {
        r.volumes.remove(&session, &name)?;
        r.volume_event(&session, "destroy", &name, &[]);
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn prune(
    State(r): State<Arc<Runner>>,
    headers: HeaderMap,
    Query(q): Query<api::VolumePruneQuery>,
) -> ApiResult<Json<api::VolumePruneAnswer>> {
    let session = session(&headers);
    blocking(move || {
        let mut answer = api::VolumePruneAnswer::default();
        for name in r.volumes.list(&session) {
            let unused = r.volume_users(&session, &name).is_empty();
            if unused && (q.all || r.volumes.is_anonymous(&session, &name)) {
                answer.space_reclaimed += r.volumes.remove(&session, &name)?;
                r.volume_event(&session, "destroy", &name, &[]);
                answer.volumes_deleted.push(name);
            }
        }
        Ok(Json(answer))
    })
    .await
}

impl Runner {
    /// The ids of the session's containers (any state) that mount volume `name`.
    pub fn volume_users(&self, session: &str, name: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .table()
            .values()
            .filter(|c| c.session == session)
            .filter(|c| {
                c.opts
                    .volumes
                    .iter()
                    .any(|m| m.bind.is_none() && m.source == name)
            })
            .map(|c| c.id.clone())
            .collect();
        ids.sort();
        ids
    }

    fn volume_info(&self, session: &str, name: &str) -> VolumeInfo {
        VolumeInfo {
            name: name.to_string(),
            created: self.volumes.created(session, name),
            anonymous: self.volumes.is_anonymous(session, name),
            used_by: self.volume_users(session, name),
        }
    }

    /// The session's quota for what it stores (local images and volumes each), if the server has one.
    fn session_quota(&self) -> Option<u64> {
        self.registry.as_ref().and_then(|r| r.limits.session_quota)
    }

    /// Check `-v`/`--mount` and add the image's `VOLUME`s; make the volumes (anonymous ones get a name, written
    /// back into the options). Refused past the mount limit or the session's quota. Before anything is mounted.
    pub(crate) async fn prepare_volumes(
        self: &Arc<Self>,
        mut opts: RunOptions,
        config: &ImageConfiguration,
    ) -> Result<RunOptions, RunnerError> {
        let image_volumes = config
            .config()
            .as_ref()
            .and_then(|c| c.volumes().clone())
            .unwrap_or_default();
        for target in image_volumes {
            if !opts.volumes.iter().any(|m| m.target == target) {
                let (source, read_only) = (String::new(), false);
                opts.volumes.push(VolumeMount {
                    source,
                    target,
                    read_only,
                    bind: None,
                });
            }
        }
        if opts.volumes.is_empty() {
            return Ok(opts);
        }
        let this = self.clone();
        blocking(move || {
            this.make_volumes(&mut opts)?;
            Ok(opts)
        })
        .await
    }

    fn make_volumes(&self, opts: &mut RunOptions) -> Result<(), RunnerError> {
        if opts.volumes.len() > MAX_MOUNTS {
            return Err(VolumeError::Invalid(format!("too many mounts: at most {MAX_MOUNTS} here")).into());
        }
        let mut targets = std::collections::HashSet::new();
        for m in &opts.volumes {
            check_target(&m.target)?;
            if !targets.insert(m.target.clone()) {
                return Err(VolumeError::Invalid(format!("Duplicate mount point: {}", m.target)).into());
            }
            let path = m.source.contains('/') || m.source.starts_with('.') || m.source.starts_with('~');
            if m.bind.is_none() && path {
                return Err(VolumeError::HostBind(m.source.clone()).into());
            }
        }
        if let Some(quota) = self.session_quota() {
            let used = self.volumes.usage(&opts.session);
            if used >= quota {
                return Err(VolumeError::Quota { used, quota }.into());
            }
        }
        let session = opts.session.clone();
        for m in &mut opts.volumes {
            if let Some(bind) = &m.bind {
                // Always read-only: a container's writes would not come back to the page's files.
                m.read_only = true;
                self.unpack_bind(&session, bind)?;
                continue;
            }
            let anonymous = m.source.is_empty();
            if anonymous {
                m.source = super::random_id();
            } else if !valid_name(&m.source) {
                return Err(VolumeError::Invalid(format!(
                    "create {0}: \"{0}\" includes invalid characters for a local volume name, only \
                     \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed",
                    m.source
                ))
                .into());
            }
            let existed = self.volumes.exists(&opts.session, &m.source);
            self.volumes.create(&opts.session, &m.source, anonymous)?;
            // The volume service's `Create` logs it, whoever asked: `docker volume create` or a container.
            if !existed {
                self.volume_event(&opts.session, "create", &m.source, &[]);
            }
        }
        Ok(())
    }

    /// Copy up what the image has at each mount path into an empty volume, and mount the volumes in `spec`.
    pub(crate) fn with_volumes(
        &self,
        mut spec: Spec,
        opts: &RunOptions,
        rootfs: &std::path::Path,
    ) -> Result<Spec, RunnerError> {
        if opts.volumes.is_empty() {
            return Ok(spec);
        }
        let budget = self
            .session_quota()
            .map_or(u64::MAX, |q| q.saturating_sub(self.volumes.usage(&opts.session)));
        let mut mounts = spec.mounts().clone().unwrap_or_default();
        for m in &opts.volumes {
            let source = match &m.bind {
                Some(bind) => self.bind_source(bind)?,
                None => {
                    self.volumes
                        .copy_up(&opts.session, &m.source, rootfs, &m.target, budget)?;
                    self.volumes.data(&opts.session, &m.source)
                }
            };
            let mode = if m.read_only || m.bind.is_some() {
                "ro"
            } else {
                "rw"
            };
            let options = ["rbind", "rprivate", "nosuid", "nodev", mode]
                .map(String::from)
                .to_vec();
            let mount = MountBuilder::default()
                .destination(&m.target)
                .typ("bind")
                .source(source)
                .options(options)
                .build()
                .map_err(|e| RunnerError::Spec(e.into()))?;
            mounts.push(mount);
        }
        spec.set_mounts(Some(mounts));
        Ok(spec)
    }

    /// `docker run --rm`: the container's anonymous volumes go with it (named ones stay).
    pub(crate) fn remove_anonymous_volumes(&self, c: &Container) {
        for m in c.opts.volumes.iter().filter(|m| m.bind.is_none()) {
            let unused = self.volume_users(&c.session, &m.source).is_empty();
            if unused && self.volumes.is_anonymous(&c.session, &m.source) {
                if let Err(e) = self.volumes.remove(&c.session, &m.source) {
                    tracing::warn!(volume = %m.source, error = %e, "removing an anonymous volume");
                }
            }
        }
    }
}
