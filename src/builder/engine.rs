//! Orchestration: parse, pick the target, resolve bases, then run each needed stage's instructions in order,
//! with the cache and the progress events, and export the target through an [`ImageSink`].

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::add_url::{is_http, RemoteFile};
use super::cache::{hex, CacheStore, PlaceRecord};
use super::context::{apply_dockerignore, context_size};
use super::layers::{copy_layer, workdir_layer, CopyPlan};
use super::mounts::{MountSources, RunExtras};
use super::pack::{placeholder, LayerPacker, PendingLayer, PendingLayers};
use super::progress::{Event, MissReason};
use super::resolve::{BaseResolver, Platform, ResolvedImage};
use super::rootfs::{LayerRef, Rootfs};
use super::run::RunExecutor;
use super::sink::{BuiltImage, ImageSink};
use super::state::{DockerExtras, StageState};
use super::steps::{
    apply_metadata, command_argv, expand, heredoc_script, normalize_workdir, vars_map, ArgScope,
};
use super::{BuildError, BuildOptions};
use crate::dockerfile::instructions::{self, Command, Instruction};
use crate::dockerfile::shell::Lexer;
use crate::dockerfile::stages::{expand as expand_global, global_args};
use crate::dockerfile::{self, syntax, Dockerfile};
use crate::image::units::progress_size;
use crate::image::{layer_descriptor, new_config, Reference};
use crate::layer::{FileTree, LayerOptions};

/// Builds images with the given side effects.
pub struct Builder<'a, R: BaseResolver, X: RunExecutor, C: CacheStore> {
    pub resolver: &'a R,
    pub executor: &'a X,
    pub cache: &'a C,
    /// Compresses and hashes the layers made here (inline natively, Web Workers in the page).
    pub packer: &'a dyn LayerPacker,
    /// Milliseconds from any fixed point (step durations).
    pub clock: &'a dyn Fn() -> u64,
    pub progress: &'a dyn Fn(&Event),
}

/// What every step of one build reads.
#[derive(Clone, Copy)]
struct Scope<'s> {
    df: &'s Dockerfile,
    /// The context with `.dockerignore` applied.
    ctx: &'s FileTree,
    escape: char,
    options: &'s BuildOptions,
    /// This stage's layers still being packed.
    pending: &'s PendingLayers,
}

/// One instruction of a stage, with where it came from.
struct Step {
    command: Command,
    /// The instruction as written (for the progress name).
    original: String,
    onbuild: bool,
}

impl Step {
    /// COPY, ADD, RUN and WORKDIR make a layer; the other instructions only change the config.
    fn makes_layer(&self) -> bool {
        matches!(
            self.command.instruction,
            Instruction::Copy(_) | Instruction::Add(_) | Instruction::Run(_) | Instruction::Workdir { .. }
        )
    }

    /// Whether the step counts in the stage's `[n/total]` names: the layer steps, and every ONBUILD trigger.
    fn numbered(&self) -> bool {
        self.onbuild || self.makes_layer()
    }
}

/// The entry of a layer step's files that marks a linked COPY/ADD (its value: the workdir and owner it used).
const LINK_KEY: &str = "--link";

/// A layer step's `created_by`, the files its key depends on, and its tree (made here) or RUN argv and mounts.
type LayerStepOutput = (
    String,
    PlaceRecord,
    Option<FileTree>,
    Option<(Vec<String>, RunExtras)>,
);

/// What a COPY/ADD layer is made from, besides the fetched URLs.
struct CopyMade<'a> {
    plan: &'a CopyPlan,
    source: &'a FileTree,
    base: &'a FileTree,
    owner: Option<(u32, u32)>,
    df: &'a Dockerfile,
    states: &'a [Option<StageState>],
}

impl CopyMade<'_> {
    /// The layer's tree and the files its key depends on.
    fn layer(&self, st: &StageState, remote: &[RemoteFile]) -> Result<(FileTree, PlaceRecord), BuildError> {
        let plan = self.plan;
        let workdir = st.workdir();
        let (tree, mut files) = copy_layer(
            plan,
            self.source,
            remote,
            self.base,
            &workdir,
            self.owner,
            plan.line,
        )?;
        if plan.link {
            // What the linked layer depends on besides its sources: where relative paths start, and the owner
            // `--chown` resolved to.
            let owner = self.owner.map(|(u, g)| format!("{u}:{g}")).unwrap_or_default();
            files.files.insert(LINK_KEY.into(), format!("{workdir}\0{owner}"));
        }
        if let Some(from) = &plan.from {
            if let Some(key) = source_key(from, self.df, self.states) {
                files.files.insert(format!("--from={from}"), key);
            }
        }
        Ok((tree, files))
    }
}

/// A layer step's cache key (on the chain `below`, unless the step is linked), and whether it is linked.
fn step_key(below: &str, created_by: &str, files: &PlaceRecord) -> (String, bool) {
    let linked = files.files.contains_key(LINK_KEY);
    let below = if linked { LINK_KEY } else { below };
    let mut parts = vec!["step".to_owned(), below.to_owned(), created_by.to_owned()];
    parts.extend(files.server.iter().map(|server| format!("server\0{server}")));
    parts.extend(files.files.iter().map(|(p, sum)| format!("{p}\0{sum}")));
    let part_refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    (hex(&part_refs), linked)
}

/// What the build knows once the Dockerfile is parsed and the bases are resolved.
struct Plan {
    df: Dockerfile,
    target: usize,
    /// By stage index: whether the target needs the stage.
    reachable: Vec<bool>,
    /// The global ARGs with the build's `--build-arg`s applied.
    globals: BTreeMap<String, String>,
    /// The resolved base image of each stage built on one, taken as the stage runs.
    bases: BTreeMap<usize, (Reference, ResolvedImage)>,
    /// The context with `.dockerignore` applied.
    ctx: FileTree,
}

/// What running one stage reads.
#[derive(Clone, Copy)]
struct StageRun<'s> {
    ids: &'s Cell<usize>,
    plan: &'s Plan,
    /// The stage's index in the Dockerfile.
    index: usize,
    options: &'s BuildOptions,
    /// Layers of the build still being packed.
    pending: &'s PendingLayers,
}

/// The progress names of one stage's numbered steps (`[build 2/5] RUN make`), numbered as they start.
struct StepNames {
    /// `build `, `stage-1 `, or nothing in a single-stage build.
    prefix: String,
    total: usize,
    started: usize,
}

impl StepNames {
    fn new(
        name: Option<&str>,
        index: usize,
        stages: usize,
        from_image: &Option<String>,
        steps: &[Step],
    ) -> Self {
        let prefix = match (name, stages) {
            (_, 1) => String::new(),
            (Some(name), _) => format!("{name} "),
            (None, _) => format!("stage-{index} "),
        };
        let total = usize::from(from_image.is_some()) + steps.iter().filter(|s| s.numbered()).count();
        StepNames {
            prefix,
            total,
            started: 0,
        }
    }

    /// The name of step `index` (from 1).
    fn name(&self, index: usize, text: &str, onbuild: bool) -> String {
        let StepNames { prefix, total, .. } = self;
        let width = total.to_string().len();
        let ob = if onbuild { "ONBUILD " } else { "" };
        format!("[{prefix}{index:>width$}/{total}] {ob}{text}")
    }

    /// The name of the step that starts now.
    fn next(&mut self, text: &str, onbuild: bool) -> String {
        self.started += 1;
        self.name(self.started, text, onbuild)
    }
}

impl<R: BaseResolver, X: RunExecutor, C: CacheStore> Builder<'_, R, X, C> {
    pub(super) fn emit(&self, event: Event) {
        (self.progress)(&event);
    }

    pub(super) fn start(&self, ids: &Cell<usize>, name: String) -> (usize, u64) {
        let id = ids.get() + 1;
        ids.set(id);
        self.emit(Event::Start { id, name });
        (id, (self.clock)())
    }

    pub(super) fn done(&self, id: usize, since: u64) {
        let millis = (self.clock)().saturating_sub(since);
        self.emit(Event::Done { id, millis });
    }

    /// Builds the target stage of `options.dockerfile` from `context` and writes it to `sink`; the warnings of
    /// its checks come last ([`Event::Warnings`]), also when it fails after them, as buildx prints them.
    pub async fn build<S: ImageSink>(
        &self,
        context: &FileTree,
        options: &BuildOptions,
        sink: &S,
    ) -> Result<BuiltImage, BuildError> {
        let warnings = RefCell::new(Vec::new());
        let built = self.build_target(context, options, sink, &warnings).await;
        let lines = warnings.take();
        if !lines.is_empty() {
            self.emit(Event::Warnings { lines });
        }
        built
    }

    async fn build_target<S: ImageSink>(
        &self,
        context: &FileTree,
        options: &BuildOptions,
        sink: &S,
        warnings: &RefCell<Vec<String>>,
    ) -> Result<BuiltImage, BuildError> {
        let ids = Cell::new(0);
        let mut plan = self.plan(&ids, context, options, warnings).await?;
        let pending = PendingLayers::default();
        let count = plan.df.stages.stages.len();
        let mut states: Vec<Option<StageState>> = vec![None; count];
        let mut context_loaded = false;
        for s in (0..count).filter(|&s| plan.reachable[s]) {
            let base = plan.bases.remove(&s);
            let run = StageRun {
                ids: &ids,
                plan: &plan,
                index: s,
                options,
                pending: &pending,
            };
            let st = self.run_stage(&run, base, &states, &mut context_loaded).await?;
            states[s] = Some(st);
        }
        let st = states[plan.target].take().ok_or(BuildError::TargetNotBuilt)?;
        self.export(&ids, st, options, sink).await
    }

    /// Everything known before the first stage runs: the parsed Dockerfile, the target and the stages it
    /// needs, the global ARGs, the resolved base images and the context with `.dockerignore` applied.
    async fn plan(
        &self,
        ids: &Cell<usize>,
        context: &FileTree,
        options: &BuildOptions,
        warnings: &RefCell<Vec<String>>,
    ) -> Result<Plan, BuildError> {
        let (id, t) = self.start(
            ids,
            format!(
                "[internal] load build definition from {}",
                options.dockerfile_name
            ),
        );
        self.emit(Event::Log {
            id,
            text: format!(
                "transferring dockerfile: {} done",
                progress_size(options.dockerfile.len() as u64)
            ),
        });
        let df = dockerfile::parse_with_args(&options.dockerfile, &options.build_args)
            .and_then(|df| dockerfile::evaluate(&df, &options.build_args).map(|()| df))
            .map_err(|e| BuildError::Dockerfile {
                line: e.line(),
                message: e.to_string(),
            })?;
        self.done(id, t);
        let target = df
            .stages
            .target(options.target.as_deref())
            .map_err(BuildError::Target)?;
        let reachable = df.stages.reachable(target);
        let (_, globals) = global_args(
            &df.commands,
            &df.stages.meta_args,
            df.syntax.escape,
            &options.build_args,
        );
        let bases = self
            .resolve_bases(ids, &df, &reachable, &globals, options)
            .await?;
        let report = super::checks::check(&df, context, options, super::checks::base_platforms(&df, &bases));
        *warnings.borrow_mut() = super::checks::warning_lines(&report);
        super::checks::refuse_violations(&report)?;
        let (id, t) = self.start(ids, "[internal] load .dockerignore".into());
        let ignore_size = match context.get(".dockerignore") {
            Some(crate::layer::Node::File { data, .. }) => data.len() as u64,
            _ => 0,
        };
        self.emit(Event::Log {
            id,
            text: format!("transferring context: {} done", progress_size(ignore_size)),
        });
        self.done(id, t);
        Ok(Plan {
            ctx: apply_dockerignore(context),
            df,
            target,
            reachable,
            globals,
            bases,
        })
    }

    /// The base image of every needed stage that starts from a registry image, by stage index.
    async fn resolve_bases(
        &self,
        ids: &Cell<usize>,
        df: &Dockerfile,
        reachable: &[bool],
        globals: &BTreeMap<String, String>,
        options: &BuildOptions,
    ) -> Result<BTreeMap<usize, (Reference, ResolvedImage)>, BuildError> {
        let mut bases = BTreeMap::new();
        for stage in df.stages.stages.iter().filter(|s| reachable[s.index]) {
            if stage.base_stage.is_some() || stage.base_expanded.eq_ignore_ascii_case("scratch") {
                continue;
            }
            let reference = Reference::parse(&stage.base_expanded)
                .map(Reference::with_default_tag)
                .map_err(|e| BuildError::Instruction {
                    line: stage.line,
                    message: format!("FROM {}: {e}", stage.base_expanded),
                })?;
            let platform = self.stage_platform(df, stage.first_command, globals, options)?;
            let shown = match reference.tag() {
                Some(tag) => format!("{}:{tag}", reference.name()),
                None => reference.name(),
            };
            let (id, t) = self.start(ids, format!("[internal] load metadata for {shown}"));
            match self.resolver.resolve(&reference, &platform).await {
                Ok(image) => {
                    self.done(id, t);
                    bases.insert(stage.index, (reference, image));
                }
                Err(e) => {
                    self.emit(Event::Error {
                        id,
                        message: e.to_string(),
                    });
                    return Err(e);
                }
            }
        }
        Ok(bases)
    }

    /// Runs one stage's steps (its base's ONBUILD triggers first) and settles its layers.
    async fn run_stage(
        &self,
        run: &StageRun<'_>,
        base: Option<(Reference, ResolvedImage)>,
        states: &[Option<StageState>],
        context_loaded: &mut bool,
    ) -> Result<StageState, BuildError> {
        let StageRun {
            ids,
            plan,
            index: s,
            options,
            pending,
        } = *run;
        let df = &plan.df;
        let escape = df.syntax.escape;
        let stage = &df.stages.stages[s];
        let (mut st, from_image, mut steps) = self.stage_base(run, base, states).await?;
        for i in stage.first_command + 1..=stage.last_command {
            steps.push(Step {
                command: df.commands[i].clone(),
                original: df.syntax.nodes[i].original.clone(),
                onbuild: false,
            });
        }
        let mut names = StepNames::new(
            stage.name.as_deref(),
            s,
            df.stages.stages.len(),
            &from_image,
            &steps,
        );
        // Every step of the stage is known before the first one starts (a live view lists them as waiting);
        // names use the variables as the stage starts, the Start event carries the final name.
        let mut planned: Vec<(String, bool)> = Vec::new();
        if let Some(pinned) = &from_image {
            planned.push((format!("FROM {pinned}"), false));
        }
        planned.extend(
            steps
                .iter()
                .filter(|s| s.numbered())
                .map(|s| (display(&s.original, escape, &st.vars), s.onbuild)),
        );
        self.emit(Event::Plan {
            names: planned
                .iter()
                .enumerate()
                .map(|(i, (text, onbuild))| names.name(i + 1, text, *onbuild))
                .collect(),
        });
        let stage_seen_key = format!("stage/{}", st.key);
        let seen_before = self.cache.get(&stage_seen_key).await.is_some();
        self.cache.put(&stage_seen_key, b"1").await;
        if let Some(pinned) = &from_image {
            let (id, _) = self.start(ids, names.next(&format!("FROM {pinned}"), false));
            self.emit(Event::Cached { id });
        }
        if !*context_loaded {
            *context_loaded = true;
            let (id, t) = self.start(ids, "[internal] load build context".into());
            self.emit(Event::Log {
                id,
                text: format!(
                    "transferring context: {} done",
                    progress_size(context_size(&plan.ctx))
                ),
            });
            self.done(id, t);
        }
        let scope = Scope {
            df,
            ctx: &plan.ctx,
            escape,
            options,
            pending,
        };
        for step in &steps {
            match &step.command.instruction {
                Instruction::From(_) => {}
                _ if step.makes_layer() => {
                    let shown = names.next(&display(&step.original, escape, &st.vars), step.onbuild);
                    self.layer_step(ids, shown, step, &mut st, states, &scope).await?;
                }
                _ => {
                    let args = ArgScope {
                        build_args: &options.build_args,
                        globals: &plan.globals,
                    };
                    self.metadata_step(&mut st, &step.command, &args, &scope, seen_before)
                        .await?;
                }
            }
        }
        // A later stage starts from this one (FROM stage) or the export reads it: digests must be final.
        self.settle(pending, &mut st, options).await?;
        Ok(st)
    }

    /// The state a stage starts from (another stage, a base image or scratch), the base image's pinned
    /// name for its FROM step, and the ONBUILD triggers the base left for it.
    async fn stage_base(
        &self,
        run: &StageRun<'_>,
        base: Option<(Reference, ResolvedImage)>,
        states: &[Option<StageState>],
    ) -> Result<(StageState, Option<String>, Vec<Step>), BuildError> {
        let options = run.options;
        let df = &run.plan.df;
        let stage = &df.stages.stages[run.index];
        match (stage.base_stage, base) {
            (Some(b), _) => {
                let mut st = states[b].clone().ok_or_else(|| BuildError::Instruction {
                    line: stage.line,
                    message: format!("stage {b} was not built"),
                })?;
                // ONBUILD of the base stage run here; the stage's own triggers do not carry over.
                let triggers = std::mem::take(&mut st.extras.onbuild);
                let steps = parse_triggers(&triggers, stage.line)?;
                Ok((st, None, steps))
            }
            (None, Some((reference, image))) => {
                let extras = DockerExtras::from_config_json(&image.config_json);
                let mut rootfs = Rootfs::default();
                for layer in &image.layers {
                    rootfs.push(layer.clone(), None);
                }
                let key = hex(&["from", &image.manifest_digest, &options.platform.to_string()]);
                let mut st = StageState::new(image.config.clone(), extras, rootfs, key);
                let steps = parse_triggers(&std::mem::take(&mut st.extras.onbuild), stage.line)?;
                st.base_pinned = Some(image.pinned.clone());
                // Remember which digest this name resolved to, to explain the next miss.
                let base_key = format!(
                    "base/{}",
                    hex(&[&reference.to_string(), &options.platform.to_string()])
                );
                if let Some(before) = self.cache.get(&base_key).await {
                    if before != image.manifest_digest.as_bytes() {
                        st.changed = Some(MissReason::BaseChanged);
                    }
                }
                self.cache.put(&base_key, image.manifest_digest.as_bytes()).await;
                Ok((st, Some(image.pinned), steps))
            }
            (None, None) => {
                let platform = self.stage_platform(df, stage.first_command, &run.plan.globals, options)?;
                let config = new_config(&platform.os, &platform.architecture, None);
                let key = hex(&["scratch", &platform.to_string()]);
                let st = StageState::new(config, DockerExtras::default(), Rootfs::default(), key);
                Ok((st, None, Vec::new()))
            }
        }
    }

    /// An instruction that only changes the config (ENV, LABEL, CMD, ...): an empty history entry, and a
    /// key of its own so the next layer step's cache key changes with it.
    async fn metadata_step(
        &self,
        st: &mut StageState,
        command: &Command,
        args: &ArgScope<'_>,
        scope: &Scope<'_>,
        seen_before: bool,
    ) -> Result<(), BuildError> {
        let Some(created_by) = apply_metadata(st, command, scope.escape, args)? else {
            return Ok(());
        };
        st.commit_empty(scope.options.created, &created_by);
        let key = hex(&["meta", &st.key, &created_by]);
        let seen = format!("seen/{key}");
        if self.cache.get(&seen).await.is_none() {
            if seen_before && st.changed.is_none() {
                st.changed = Some(MissReason::PreviousStepChanged);
            }
            self.cache.put(&seen, b"1").await;
        }
        st.key = key;
        Ok(())
    }

    /// The platform of a stage: `FROM --platform=...` (global ARGs expanded), else the build's.
    fn stage_platform(
        &self,
        df: &Dockerfile,
        from_index: usize,
        globals: &BTreeMap<String, String>,
        options: &BuildOptions,
    ) -> Result<Platform, BuildError> {
        match &df.commands[from_index].instruction {
            Instruction::From(f) => match &f.platform {
                // `FROM --platform=linux`: containerd's `platforms.Parse` completes one part from the builder's
                // own platform, which is the build's unless `--platform` named another.
                Some(p) => Platform::parse_on(
                    &expand_global(df.syntax.escape, &p.value, globals).result,
                    &options.platform,
                ),
                None => Ok(options.platform.clone()),
            },
            _ => Ok(options.platform.clone()),
        }
    }

    /// COPY, ADD, WORKDIR or RUN: a step that makes a layer, through the cache.
    async fn layer_step(
        &self,
        ids: &Cell<usize>,
        shown: String,
        step: &Step,
        st: &mut StageState,
        states: &[Option<StageState>],
        scope: &Scope<'_>,
    ) -> Result<(), BuildError> {
        let line = step.command.line;
        let (id, t) = self.start(ids, shown);
        let result = self.layer_step_inner(id, step, st, states, scope).await;
        match result {
            // BuildKit's plain progress ends a cached step with CACHED alone.
            Ok(true) => Ok(()),
            Ok(false) => {
                self.done(id, t);
                Ok(())
            }
            Err(e) => {
                self.emit(Event::Error {
                    id,
                    message: e.to_string(),
                });
                Err(match e {
                    BuildError::Copy(c) => BuildError::Instruction {
                        line,
                        message: c.to_string(),
                    },
                    other => other,
                })
            }
        }
    }

    /// The body of [`Self::layer_step`]: the step through the cache; `Ok(true)` when it was a hit.
    async fn layer_step_inner(
        &self,
        id: usize,
        step: &Step,
        st: &mut StageState,
        states: &[Option<StageState>],
        scope: &Scope<'_>,
    ) -> Result<bool, BuildError> {
        let Scope { options, pending, .. } = *scope;
        let (created_by, files, mut tree, run) = self.layer_step_output(step, st, states, scope).await?;
        // A linked COPY's layer does not depend on what is below it: its key leaves the chain out (a rebase
        // reuses it), and the chain goes on from both.
        let (key, linked) = step_key(&st.key, &created_by, &files);
        let chained = if linked {
            hex(&["linked", &st.key, &key])
        } else {
            key.clone()
        };
        let place = format!("place/{}", hex(&["place", &st.key, &created_by]));
        // Keys chain, so after a rebuilt step they are new anyway; a key seen before (a file changed back) hits.
        let (hit, gone) = if options.no_cache {
            (None, false)
        } else {
            self.usable_cached_layer(&key).await?
        };
        let cached = hit.is_some();
        let layer = match hit {
            Some(layer) => {
                self.emit(Event::Cached { id });
                layer
            }
            None => {
                let reason = if gone {
                    MissReason::LayerGone
                } else {
                    self.miss_reason(st, &place, &files, options.no_cache).await
                };
                self.emit(Event::Miss {
                    id,
                    step: created_by.trim_end_matches(" # buildkit").to_owned(),
                    reason,
                });
                let layer = match (tree.take(), run) {
                    (Some(tree), _) => {
                        // Packing goes on (in Web Workers in the page) while the next steps run; the stage
                        // settles it before anything reads the digests (a RUN, a later stage, the export).
                        let tree = Arc::new(tree);
                        let job = self.packer.pack(
                            tree.clone(),
                            LayerOptions {
                                mtime: options.epoch,
                                level: options.gzip_level,
                            },
                        );
                        let index = st.rootfs.layers().count();
                        let layer = placeholder();
                        st.commit_layer(options.created, &created_by, &layer.diff_id)?;
                        st.rootfs.push(layer, Some(tree));
                        pending.push(PendingLayer {
                            id,
                            index,
                            key: key.clone(),
                            place,
                            files,
                            job,
                        });
                        st.changed = Some(MissReason::PreviousStepChanged);
                        st.key = chained;
                        return Ok(false);
                    }
                    (None, Some((argv, extras))) => {
                        self.settle(pending, st, options).await?;
                        self.run_step(id, st, argv, extras, options).await?
                    }
                    // Only an `ADD --checksum` step found cached before its fetch has neither; its layer went
                    // away since (never rebuilt from the unfetched file).
                    (None, None) => {
                        return Err(BuildError::Instruction {
                            line: step.command.line,
                            message: "the cached layer of this ADD went away during the build: build again"
                                .into(),
                        })
                    }
                };
                self.remember(&key, &place, &files, &layer).await;
                st.changed = Some(MissReason::PreviousStepChanged);
                layer
            }
        };
        st.commit_layer(options.created, &created_by, &layer.diff_id)?;
        st.rootfs.push(layer, tree.map(Arc::new));
        st.key = chained;
        Ok(cached)
    }

    /// What a layer step will produce: its `created_by`, the files its cache key depends on, and either the
    /// layer's tree (COPY, ADD, WORKDIR, made here) or the RUN command to send.
    async fn layer_step_output(
        &self,
        step: &Step,
        st: &mut StageState,
        states: &[Option<StageState>],
        scope: &Scope<'_>,
    ) -> Result<LayerStepOutput, BuildError> {
        let Scope {
            df,
            ctx,
            escape,
            options,
            ..
        } = *scope;
        let line = step.command.line;
        let vars = vars_map(&st.vars);
        Ok(match &step.command.instruction {
            Instruction::Copy(_) | Instruction::Add(_) => {
                let plan = CopyPlan::new(&step.command, escape, &vars)?;
                let source = self.copy_source(&plan, st, states, df, options).await?;
                let owner = match &plan.chown {
                    Some(spec) => Some(self.owner(spec, st).await?),
                    None => None,
                };
                // `--link`: onto an empty directory (no parent's owner or mode inherited, no whiteouts), so the
                // layer is the same bytes whatever the base (BuildKit's linked copy).
                let base = if plan.link {
                    FileTree::new()
                } else {
                    st.rootfs.merged()
                };
                let made = CopyMade {
                    plan: &plan,
                    source: source.as_ref().unwrap_or(ctx),
                    base: &base,
                    owner,
                    df,
                    states,
                };
                // `ADD --checksum`: keyed by the checksum, so a cached step fetches nothing (BuildKit's http
                // `CacheKey`); COPY refuses URLs before anything is fetched (`copy_layer`).
                let known = match (&plan.checksum, plan.is_add && !options.no_cache) {
                    (Some(sum), true) => {
                        let known: Vec<RemoteFile> = (plan.sources.iter().filter(|s| is_http(s)))
                            .map(|url| RemoteFile::known(url, sum))
                            .collect();
                        let (_, files) = made.layer(st, &known)?;
                        let (key, _) = step_key(&st.key, &plan.created_by(), &files);
                        let hit = self.usable_cached_layer(&key).await?.0.is_some();
                        hit.then_some(files)
                    }
                    _ => None,
                };
                // Found cached: no tree (the unfetched file is never packed).
                if let Some(files) = known {
                    return Ok((plan.created_by(), files, None, None));
                }
                let (tree, files) = match plan.is_add {
                    true => {
                        let remote = self
                            .fetch_remote(&plan.sources, plan.checksum.as_deref(), line)
                            .await?;
                        made.layer(st, &remote)?
                    }
                    false => made.layer(st, &[])?,
                };
                (plan.created_by(), files, Some(tree), None)
            }
            Instruction::Workdir { path } => {
                let path = expand(escape, &path.value, &vars, line)?;
                let wd = normalize_workdir(&st.workdir(), &path);
                let mut inner = st.inner();
                inner.set_working_dir(Some(wd.clone()));
                st.set_inner(inner);
                let user = st.inner().user().clone().filter(|u| !u.is_empty());
                let owner = match &user {
                    Some(u) => Some(self.owner(u, st).await?),
                    None => None,
                };
                let tree = workdir_layer(&wd, &st.rootfs, owner)?;
                (format!("WORKDIR {wd}"), PlaceRecord::default(), Some(tree), None)
            }
            Instruction::Run(run) => {
                let mut argv = command_argv(&run.cmd, &st.extras.shell);
                if !run.cmd.exec_form && !run.cmd.files.is_empty() {
                    if let Some(last) = argv.last_mut() {
                        *last = heredoc_script(last, &run.cmd.files);
                    }
                }
                let created_by = format!(
                    "RUN {} # buildkit",
                    super::history::run_command_string(&st.build_args, &argv)
                );
                let sources = MountSources {
                    ctx,
                    df,
                    states,
                    escape,
                    line,
                };
                let mut extras = self.run_extras(run, st, &sources, options).await?;
                // A RUN layer lives on the server that ran it: the step's key names that server (its place does
                // not, so a miss on another server can say why); the mounts and network are part of it too.
                let made_on = PlaceRecord {
                    server: Some(self.executor.server().to_owned()),
                    files: std::mem::take(&mut extras.key.files),
                };
                (created_by, made_on, None, Some((argv, extras)))
            }
            _ => unreachable!("layer_step only gets layer instructions"),
        })
    }

    /// Waits for the stage's layers still being packed (they run at once) and puts their digests where the
    /// placeholders were: the rootfs, the config's diff_ids and the cache.
    async fn settle(
        &self,
        pending: &PendingLayers,
        st: &mut StageState,
        options: &BuildOptions,
    ) -> Result<(), BuildError> {
        for job in pending.take() {
            let (bytes, info) = job.job.await?;
            self.emit(Event::Bytes {
                id: job.id,
                bytes: info.size,
            });
            let layer = LayerRef {
                descriptor: layer_descriptor(&info, options.format),
                diff_id: info.diff_id,
                blob: Some(bytes.into()),
                repository: None,
            };
            st.replace_layer(job.index, layer.clone())?;
            self.remember(&job.key, &job.place, &job.files, &layer).await;
        }
        Ok(())
    }
}

/// The cache key of what a `COPY --from` stage produced (its last step), so a change there misses here.
fn source_key(from: &str, df: &Dockerfile, states: &[Option<StageState>]) -> Option<String> {
    let index = df.stages.find(from)?;
    states.get(index)?.as_ref().map(|s| s.key.clone())
}

/// ONBUILD triggers (each a one-line instruction) as steps.
fn parse_triggers(triggers: &[String], line: usize) -> Result<Vec<Step>, BuildError> {
    let mut steps = Vec::new();
    for trigger in triggers {
        let tree = syntax::parse(trigger).map_err(|e| BuildError::Instruction {
            line,
            message: format!("ONBUILD {trigger}: {e}"),
        })?;
        for node in &tree.nodes {
            let mut command = instructions::parse_node(node).map_err(|e| BuildError::Instruction {
                line,
                message: format!("ONBUILD {trigger}: {e}"),
            })?;
            command.line = line;
            steps.push(Step {
                command,
                original: node.original.clone(),
                onbuild: true,
            });
        }
    }
    Ok(steps)
}

/// The progress name of an instruction: its text with variables expanded where set, keyword upper case.
fn display(original: &str, escape: char, vars: &[(String, String)]) -> String {
    let mut lexer = Lexer::new(escape);
    lexer.raw_quotes = true;
    lexer.raw_escapes = true;
    lexer.skip_unset_env = true;
    let text = lexer
        .process(original, &vars_map(vars))
        .map(|e| e.result)
        .unwrap_or_else(|_| original.to_owned());
    match text.split_once(' ') {
        Some((keyword, rest)) => format!("{} {rest}", keyword.to_ascii_uppercase()),
        None => text.to_ascii_uppercase(),
    }
}
