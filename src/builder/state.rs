//! The state of one stage while it is built: the image config (with the Docker fields OCI lacks), its
//! filesystem, the variables words expand with, and the cache chain.

use oci_spec::image::{Config, History, ImageConfiguration};

use super::history::{HealthcheckConfig, DEFAULT_PATH, HISTORY_COMMENT};
use super::rootfs::Rootfs;
use crate::image::{
    canonical_json, config_blob, history, push_layer, rfc3339, Blob, Descriptor, Digest, Format,
};

/// Fields of Docker's image config that the OCI config type does not have; BuildKit writes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerExtras {
    pub healthcheck: Option<HealthcheckConfig>,
    pub onbuild: Vec<String>,
    pub shell: Vec<String>,
    pub args_escaped: bool,
}

/// The Docker-only fields of an image config's `config` (OCI has no place for them), as Docker stores them.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct DockerConfigExtras<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck: Option<serde_json::Value>,
    #[serde(rename = "OnBuild", skip_serializing_if = "<[String]>::is_empty")]
    onbuild: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    shell: &'a [String],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    args_escaped: bool,
}

impl<'a> DockerConfigExtras<'a> {
    fn of(extras: &'a DockerExtras) -> Self {
        DockerConfigExtras {
            healthcheck: extras.healthcheck.as_ref().map(HealthcheckConfig::to_json),
            onbuild: &extras.onbuild,
            shell: &extras.shell,
            args_escaped: extras.args_escaped,
        }
    }
}

impl DockerExtras {
    pub fn from_config_json(value: &serde_json::Value) -> Self {
        let config = &value["config"];
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
                .unwrap_or_default()
        };
        DockerExtras {
            healthcheck: HealthcheckConfig::from_json(&config["Healthcheck"]),
            onbuild: strings(&config["OnBuild"]),
            shell: strings(&config["Shell"]),
            args_escaped: config["ArgsEscaped"].as_bool().unwrap_or(false),
        }
    }
}

/// One stage being built.
#[derive(Debug, Clone)]
pub struct StageState {
    pub config: ImageConfiguration,
    pub extras: DockerExtras,
    pub rootfs: Rootfs,
    /// Variables for word expansion and RUN's environment, later entries win: the image's Env, then ARG and
    /// ENV as they come.
    pub vars: Vec<(String, String)>,
    /// ARGs declared in the stage with their values, `None` when declared without one (`|N K=V` of RUN history
    /// entries; only those with a value are in RUN's environment).
    pub build_args: Vec<(String, Option<String>)>,
    /// CMD was set in this Dockerfile's stage (ENTRYPOINT resets an inherited CMD otherwise).
    pub cmd_set: bool,
    /// The cache chain: the key of the last step.
    pub key: String,
    /// Set once something in this chain differs from the last build: why the next miss happens.
    pub changed: Option<super::MissReason>,
    /// `docker.io/library/python:3.11-slim@sha256:...` for FROM an image.
    pub base_pinned: Option<String>,
}

impl StageState {
    /// A stage from scratch or an image config: PATH always set, as BuildKit does.
    pub fn new(mut config: ImageConfiguration, extras: DockerExtras, rootfs: Rootfs, key: String) -> Self {
        let mut inner = config.config().clone().unwrap_or_default();
        let mut env = inner.env().clone().unwrap_or_default();
        if !env.iter().any(|e| e.split('=').next() == Some("PATH")) {
            env.push(format!("PATH={DEFAULT_PATH}"));
        }
        inner.set_env(Some(env.clone()));
        config.set_config(Some(inner));
        config.set_created(None);
        let vars = env
            .iter()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (e.clone(), String::new()),
            })
            .collect();
        StageState {
            config,
            extras,
            rootfs,
            vars,
            build_args: Vec::new(),
            cmd_set: false,
            key,
            changed: None,
            base_pinned: None,
        }
    }

    pub fn inner(&self) -> Config {
        self.config.config().clone().unwrap_or_default()
    }

    pub fn set_inner(&mut self, inner: Config) {
        self.config.set_config(Some(inner));
    }

    pub fn workdir(&self) -> String {
        self.inner()
            .working_dir()
            .clone()
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into())
    }

    /// Sets `KEY=value` in the config's Env (replacing an earlier one) and in the expansion variables.
    pub fn set_env(&mut self, key: &str, value: &str) {
        let mut inner = self.inner();
        let mut env = inner.env().clone().unwrap_or_default();
        let entry = format!("{key}={value}");
        match env.iter_mut().find(|e| e.split('=').next() == Some(key)) {
            Some(slot) => *slot = entry,
            None => env.push(entry),
        }
        inner.set_env(Some(env));
        self.set_inner(inner);
        self.vars.push((key.to_owned(), value.to_owned()));
    }

    /// The environment of a RUN step: the config's Env plus the stage's build args not overridden by ENV.
    pub fn run_env(&self) -> Vec<String> {
        let mut env = self.inner().env().clone().unwrap_or_default();
        for (k, v) in self.build_args.iter().filter_map(|(k, v)| Some((k, v.as_ref()?))) {
            if !env.iter().any(|e| e.split('=').next() == Some(k.as_str())) {
                env.push(format!("{k}={v}"));
            }
        }
        env
    }

    fn entry(created: &str, created_by: &str, empty: bool) -> History {
        history(Some(created), created_by, Some(HISTORY_COMMENT), empty)
    }

    /// Appends a metadata-only history entry (`empty_layer: true`).
    pub fn commit_empty(&mut self, epoch: u64, created_by: &str) {
        let mut all = self.config.history().clone().unwrap_or_default();
        all.push(Self::entry(&rfc3339(epoch), created_by, true));
        self.config.set_history(Some(all));
    }

    /// Appends a layer's diff_id and its history entry.
    pub fn commit_layer(
        &mut self,
        epoch: u64,
        created_by: &str,
        diff_id: &Digest,
    ) -> Result<(), crate::image::ImageError> {
        push_layer(
            &mut self.config,
            diff_id,
            Self::entry(&rfc3339(epoch), created_by, false),
        )
    }

    /// Puts a packed layer where its placeholder was: position `index` of the rootfs and of `rootfs.diff_ids`.
    pub fn replace_layer(
        &mut self,
        index: usize,
        layer: super::rootfs::LayerRef,
    ) -> Result<(), crate::image::ImageError> {
        let mut rootfs = self.config.rootfs().clone();
        let slot = rootfs.diff_ids_mut().get_mut(index);
        let replaced = slot.is_some() && self.rootfs.replace(index, layer.clone());
        match slot {
            Some(slot) if replaced => *slot = layer.diff_id.to_string(),
            _ => {
                return Err(crate::image::ImageError::Invalid(format!(
                    "no layer {index} in the stage to replace"
                )))
            }
        }
        self.config.set_rootfs(rootfs);
        Ok(())
    }

    /// The final config blob: `created` set, Docker's extra fields merged into `config`, keys sorted.
    pub fn config_blob(&self, epoch: u64, format: Format) -> Result<Blob, crate::image::ImageError> {
        let mut config = self.config.clone();
        config.set_created(Some(rfc3339(epoch)));
        // Validates history against diff_ids; the bytes are rebuilt below with the extra fields.
        let checked = config_blob(&config, format)?;
        let mut value = serde_json::to_value(&config)?;
        let inner = value.as_object_mut().map(|o| {
            o.entry("config")
                .or_insert_with(|| serde_json::Value::Object(Default::default()))
        });
        if let Some(serde_json::Value::Object(inner)) = inner {
            if let serde_json::Value::Object(extras) =
                serde_json::to_value(DockerConfigExtras::of(&self.extras))?
            {
                inner.extend(extras);
            }
        }
        let bytes = canonical_json(&value)?;
        let descriptor = Descriptor::new(
            checked.descriptor.media_type().clone(),
            bytes.len() as u64,
            crate::layer::sha256(&bytes),
        );
        Ok(Blob { descriptor, bytes })
    }
}
