//! The builder's side of the traits: the cache (lookups, records, miss reasons), RUN through the executor, layer
//! contents through the resolver (for `--chown` names and `COPY --from`), and the export through the sink.

use std::cell::Cell;
use std::sync::Arc;

use super::cache::{CacheStore, CachedLayer, CachedStep, PlaceRecord};
use super::engine::Builder;
use super::layers::CopyPlan;
use super::progress::{Event, MissReason};
use super::resolve::BaseResolver;
use super::rootfs::{LayerRef, Rootfs};
use super::run::{RunExecutor, StepRequest};
use super::sink::{BuiltImage, ImageSink};
use super::state::StageState;
use super::{BuildError, BuildOptions};
use crate::dockerfile::Dockerfile;
use crate::image::{manifest_blob, Descriptor, MediaType, Reference};
use crate::layer::FileTree;

impl<R: BaseResolver, X: RunExecutor, C: CacheStore> Builder<'_, R, X, C> {
    /// Why a step cannot reuse the cache.
    pub(super) async fn miss_reason(
        &self,
        st: &StageState,
        place: &str,
        files: &PlaceRecord,
        no_cache: bool,
    ) -> MissReason {
        if no_cache {
            return MissReason::NoCache;
        }
        if let Some(reason) = &st.changed {
            return reason.clone();
        }
        match self
            .cache
            .get(place)
            .await
            .and_then(|b| serde_json::from_slice::<PlaceRecord>(&b).ok())
        {
            Some(before) => {
                let changed = files.changed_since(&before);
                if !changed.is_empty() {
                    MissReason::FilesChanged(changed)
                } else if before.server.is_some() && before.server != files.server {
                    MissReason::OtherServer
                } else {
                    MissReason::NewInstruction
                }
            }
            None => MissReason::NewInstruction,
        }
    }

    /// A cached step's layer, when the cache has it whole (the blob too, for layers made here).
    pub(super) async fn cached_layer(&self, key: &str) -> Option<(LayerRef, Option<CachedLayer>)> {
        let step: CachedStep = serde_json::from_slice(&self.cache.get(&format!("step/{key}")).await?).ok()?;
        let cached = step.layer?;
        let digest: crate::image::Digest = cached.digest.parse().ok()?;
        let blob = match &cached.repository {
            Some(_) => None,
            None => Some(Arc::<[u8]>::from(
                self.cache.get(&format!("blob/{digest}")).await?,
            )),
        };
        let layer = LayerRef {
            descriptor: Descriptor::new(MediaType::from(cached.media_type.as_str()), cached.size, digest),
            diff_id: cached.diff_id.parse().ok()?,
            blob,
            repository: cached.repository.clone(),
        };
        Some((layer, Some(cached)))
    }

    /// A cached step's layer the build can use, and whether the cache named one the server no longer has: a
    /// layer kept on the server (a RUN result) may be gone since (data wiped, blob collected), and BuildKit
    /// takes a cached result it cannot load as a miss.
    pub(super) async fn usable_cached_layer(
        &self,
        key: &str,
    ) -> Result<(Option<LayerRef>, bool), BuildError> {
        match self.cached_layer(key).await {
            Some((layer, _)) if layer.blob.is_none() && !self.executor.has_layer(&layer).await? => {
                Ok((None, true))
            }
            hit => Ok((hit.map(|(layer, _)| layer), false)),
        }
    }

    pub(super) async fn remember(&self, key: &str, place: &str, files: &PlaceRecord, layer: &LayerRef) {
        let cached = CachedStep {
            layer: Some(CachedLayer {
                media_type: layer.descriptor.media_type().to_string(),
                digest: layer.descriptor.digest().to_string(),
                size: layer.descriptor.size(),
                diff_id: layer.diff_id.to_string(),
                repository: layer.repository.clone(),
            }),
        };
        if let Some(blob) = &layer.blob {
            self.cache
                .put(&format!("blob/{}", layer.descriptor.digest()), blob)
                .await;
        }
        if let Ok(bytes) = serde_json::to_vec(&cached) {
            self.cache.put(&format!("step/{key}"), &bytes).await;
        }
        if let Ok(bytes) = serde_json::to_vec(files) {
            self.cache.put(place, &bytes).await;
        }
    }

    pub(super) async fn run_step(
        &self,
        id: usize,
        st: &StageState,
        argv: Vec<String>,
        extras: super::mounts::RunExtras,
        options: &BuildOptions,
    ) -> Result<LayerRef, BuildError> {
        let mut layers: Vec<LayerRef> = st.rootfs.layers().cloned().collect();
        let stacked = layers.iter().map(|l| l.descriptor.digest().to_string()).collect();
        // The bind mounts' sources go up with the step's layers; they are not stacked.
        layers.extend(extras.bind_layers);
        let request = StepRequest {
            layers: stacked,
            mounts: extras.mounts,
            network: extras.network,
            env: st.run_env(),
            workdir: Some(st.workdir()),
            user: st.inner().user().clone().filter(|u| !u.is_empty()),
            exec: Some(argv.clone()),
            mtime: Some(options.epoch),
            ..StepRequest::default()
        };
        // Output is shown as it comes, a whole line at a time (a chunk may end mid-line).
        let partial = std::cell::RefCell::new(String::new());
        let show = |text: &str| {
            let mut partial = partial.borrow_mut();
            partial.push_str(text);
            if let Some(end) = partial.rfind('\n') {
                let lines: String = partial.drain(..=end).collect();
                self.emit(Event::Log { id, text: lines });
            }
        };
        let outcome = self.executor.run(request, &layers, &show).await;
        let rest = partial.take();
        if !rest.is_empty() {
            self.emit(Event::Log { id, text: rest });
        }
        let outcome = outcome?;
        match outcome.layer {
            Some(layer) if outcome.exit_code == 0 => Ok(layer),
            _ => Err(BuildError::RunFailed {
                command: argv.join(" "),
                exit_code: outcome.exit_code,
                output: outcome.output,
            }),
        }
    }

    /// Loads the contents of the layers a rootfs does not have yet (base image and RUN layers).
    pub(super) async fn load(&self, rootfs: &mut Rootfs) -> Result<(), BuildError> {
        for layer in rootfs.missing() {
            let digest = layer.descriptor.digest().to_string();
            let repository = layer
                .repository
                .clone()
                .ok_or_else(|| BuildError::LayerWithoutSource {
                    digest: digest.clone(),
                })?;
            let bytes = self.resolver.blob(&repository, &digest).await?;
            let mut tree = FileTree::new();
            tree.extract_tar(&bytes, "", &crate::layer::ExtractLimits::default())?;
            rootfs.fill(layer.descriptor.digest(), Arc::new(tree));
        }
        Ok(())
    }

    /// `--chown`/`USER` to ids: numeric needs nothing; names read the stage's passwd and group files, loading
    /// the layers this build does not have yet.
    pub(super) async fn owner(&self, spec: &str, st: &mut StageState) -> Result<(u32, u32), BuildError> {
        if let Ok(ids) = super::rootfs::resolve_owner(spec, None) {
            return Ok(ids);
        }
        if !st.rootfs.complete() {
            self.load(&mut st.rootfs).await?;
        }
        super::rootfs::resolve_owner(spec, Some(&st.rootfs.merged()))
    }

    /// The tree COPY reads: `None` for the context, else the `--from` stage's or image's filesystem.
    pub(super) async fn copy_source(
        &self,
        plan: &CopyPlan,
        st: &StageState,
        states: &[Option<StageState>],
        df: &Dockerfile,
        options: &BuildOptions,
    ) -> Result<Option<FileTree>, BuildError> {
        let Some(from) = &plan.from else { return Ok(None) };
        if let Some(index) = df.stages.find(from) {
            let Some(source) = states.get(index).and_then(Option::as_ref) else {
                return Err(BuildError::Instruction {
                    line: plan.line,
                    message: format!(
                        "cannot copy from stage {from:?}, it needs to be defined before the current stage"
                    ),
                });
            };
            let mut rootfs = source.rootfs.clone();
            self.load(&mut rootfs).await?;
            return Ok(Some(rootfs.merged()));
        }
        let _ = st;
        let reference = Reference::parse(from).map_err(|e| BuildError::Instruction {
            line: plan.line,
            message: format!("COPY --from={from}: no stage of that name, and not an image reference: {e}"),
        })?;
        let image = self
            .resolver
            .resolve(&reference, &options.platform)
            .await
            .map_err(|e| BuildError::Instruction {
                line: plan.line,
                message: format!(
                    "COPY --from={from}: no stage of that name, and the image cannot be used: {e}"
                ),
            })?;
        let mut rootfs = Rootfs::default();
        for layer in image.layers {
            rootfs.push(layer, None);
        }
        self.load(&mut rootfs).await?;
        Ok(Some(rootfs.merged()))
    }

    pub(super) async fn export<S: ImageSink>(
        &self,
        ids: &Cell<usize>,
        st: StageState,
        options: &BuildOptions,
        sink: &S,
    ) -> Result<BuiltImage, BuildError> {
        let (id, t) = self.start(ids, "exporting to image".into());
        let layers: Vec<LayerRef> = st.rootfs.layers().cloned().collect();
        let descriptors = layers
            .iter()
            .map(|l| {
                let mut d = l.descriptor.clone();
                if is_gzip_layer(d.media_type()) {
                    d.set_media_type(options.format.layer_gzip());
                }
                d
            })
            .collect();
        let mut st = st;
        if !options.labels.is_empty() {
            // `--label`: on the final image only, without a history entry, as BuildKit does.
            let mut inner = st.inner();
            let mut labels = inner.labels().clone().unwrap_or_default();
            labels.extend(options.labels.clone());
            inner.set_labels(Some(labels));
            st.set_inner(inner);
        }
        let config = st.config_blob(options.created, options.format)?;
        let manifest = manifest_blob(config.descriptor.clone(), descriptors, options.format)?;
        self.emit(Event::Log {
            id,
            text: "exporting layers done".into(),
        });
        let image = BuiltImage {
            config,
            manifest,
            layers,
            format: options.format,
        };
        self.emit(Event::Log {
            id,
            text: format!("writing image {} done", image.id()),
        });
        if let Err(e) = sink.write(&image, &options.tags).await {
            self.emit(Event::Error {
                id,
                message: e.to_string(),
            });
            return Err(e);
        }
        for tag in &options.tags {
            self.emit(Event::Log {
                id,
                text: format!("naming to {} done", tag.clone().with_default_tag()),
            });
        }
        self.done(id, t);
        Ok(image)
    }
}

/// A gzip layer media type of either family (re-labelled to the build's format on export).
fn is_gzip_layer(media_type: &MediaType) -> bool {
    matches!(
        media_type.to_string().as_str(),
        "application/vnd.oci.image.layer.v1.tar+gzip" | crate::image::manifest::DOCKER_LAYER_GZIP
    )
}
