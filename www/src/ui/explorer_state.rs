//! The layer explorer as a reducer, and how it reads an image: manifest, config, then each layer's blob in turn
//! from the registry (the session's local store, or a repository pushed there), each blob dropped once its
//! changes are known.

use serde_json::Value;

use slipway::cli::context::CommandContext;
use slipway::cli::transfer::pick_platform;
use slipway::image::explore::{ImageLayer, ImagePlan};
use slipway::image::Reference;
use slipway::layer::changes::{LayerChanges, LayerStack};
use slipway::registry::Transport;

/// A layer with what it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExploredLayer {
    pub layer: ImageLayer,
    pub changes: LayerChanges,
}

/// An image read for the explorer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExploredImage {
    /// `learner1/app:v1`.
    pub name: String,
    pub plan: ImagePlan,
    pub layers: Vec<ExploredLayer>,
}

/// Reads local image `name` (as the Images panel lists it) through the session's local repository.
pub async fn load_image<T: Transport>(
    ctx: &CommandContext<'_, T>,
    name: &str,
) -> Result<ExploredImage, String> {
    let reference = Reference::parse(name)
        .map(Reference::with_default_tag)
        .map_err(|e| format!("{name}: {e}"))?;
    let repository = ctx.local_repository(&reference);
    read_image(ctx, &repository, &reference.tag_or_digest(), name).await
}

/// Reads `repository:tag` as the Registry panel lists it (what was pushed), with the learner's login for the
/// registry; the explorer names it `repository:tag`.
pub async fn load_pushed<T: Transport>(
    ctx: &CommandContext<'_, T>,
    repository: &str,
    tag: &str,
) -> Result<ExploredImage, String> {
    read_image(ctx, repository, tag, &format!("{repository}:{tag}")).await
}

/// Reads `repository` at `tag_or_digest` from the embedded registry; errors start with `name`.
async fn read_image<T: Transport>(
    ctx: &CommandContext<'_, T>,
    repository: &str,
    tag_or_digest: &str,
    name: &str,
) -> Result<ExploredImage, String> {
    let client = ctx.local_client();
    let fail = |e: slipway::registry::ClientError| format!("{name}: {e}");
    let mut manifest = client
        .pull_manifest(repository, tag_or_digest)
        .await
        .map_err(fail)?;
    let value: Value = serde_json::from_slice(&manifest.bytes).map_err(|e| format!("{name}: {e}"))?;
    if value["manifests"].is_array() {
        let digest = pick_platform(&value).ok_or_else(|| format!("{name}: the index lists no image"))?;
        manifest = client.pull_manifest(repository, &digest).await.map_err(fail)?;
    }
    let value: Value = serde_json::from_slice(&manifest.bytes).map_err(|e| format!("{name}: {e}"))?;
    let config_digest = value["config"]["digest"]
        .as_str()
        .ok_or_else(|| format!("{name}: the manifest names no config"))?;
    let config = client.pull_blob(repository, config_digest).await.map_err(fail)?;
    let plan = ImagePlan::new(&manifest.bytes, &config).map_err(|e| format!("{name}: {e}"))?;
    let mut stack = LayerStack::default();
    let mut layers = Vec::new();
    for (index, layer) in plan.layers.iter().enumerate() {
        let blob = client.pull_blob(repository, &layer.digest).await.map_err(fail)?;
        let changes = plan
            .read_layer(&mut stack, index, &blob)
            .map_err(|e| format!("{name}: {e}"))?;
        layers.push(ExploredLayer {
            layer: layer.clone(),
            changes,
        });
    }
    Ok(ExploredImage {
        name: name.to_owned(),
        plan,
        layers,
    })
}

/// What the explorer shows of a loaded image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExplorerTab {
    #[default]
    Layers,
    Config,
    Manifest,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ExplorerState {
    #[default]
    Closed,
    Loading {
        name: String,
    },
    Loaded {
        image: Box<ExploredImage>,
        /// Index of the layer whose tree shows.
        selected: usize,
        tab: ExplorerTab,
    },
    Failed {
        name: String,
        why: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExplorerAction {
    Open(String),
    Loaded(Box<ExploredImage>),
    Failed { name: String, why: String },
    SelectLayer(usize),
    Show(ExplorerTab),
    Close,
}

impl ExplorerState {
    /// The image being shown or loaded.
    pub fn name(&self) -> Option<&str> {
        match self {
            ExplorerState::Closed => None,
            ExplorerState::Loading { name } | ExplorerState::Failed { name, .. } => Some(name),
            ExplorerState::Loaded { image, .. } => Some(&image.name),
        }
    }

    pub fn reduce(self, action: ExplorerAction) -> Self {
        match (self, action) {
            (_, ExplorerAction::Open(name)) => ExplorerState::Loading { name },
            (_, ExplorerAction::Close) => ExplorerState::Closed,
            // An answer for an image no longer asked for (another was opened meanwhile) is dropped.
            (ExplorerState::Loading { name }, ExplorerAction::Loaded(image)) if image.name == name => {
                // The last layer first: that is the one a rebuild just changed.
                let selected = image.layers.len().saturating_sub(1);
                ExplorerState::Loaded {
                    image,
                    selected,
                    tab: ExplorerTab::Layers,
                }
            }
            (ExplorerState::Loading { name }, ExplorerAction::Failed { name: failed, why })
                if failed == name =>
            {
                ExplorerState::Failed { name, why }
            }
            (ExplorerState::Loaded { image, tab, selected }, ExplorerAction::SelectLayer(i)) => {
                let selected = if i < image.layers.len() { i } else { selected };
                ExplorerState::Loaded { image, selected, tab }
            }
            (ExplorerState::Loaded { image, selected, .. }, ExplorerAction::Show(tab)) => {
                ExplorerState::Loaded { image, selected, tab }
            }
            (state, _) => state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway::layer::changes::LayerStack;

    fn image(name: &str, layers: usize) -> Box<ExploredImage> {
        let changes = LayerStack::default().apply(&[0u8; 1024]).unwrap();
        let layer = ExploredLayer {
            layer: ImageLayer {
                created_by: "COPY a /".into(),
                metadata_before: vec![],
                digest: changes.digest.to_string(),
                size: 1024,
                diff_id: changes.diff_id.to_string(),
            },
            changes,
        };
        Box::new(ExploredImage {
            name: name.into(),
            plan: ImagePlan {
                layers: vec![layer.layer.clone(); layers],
                metadata_after: vec![],
                config_json: "{}".into(),
                manifest_json: "{}".into(),
            },
            layers: vec![layer; layers],
        })
    }

    #[test]
    fn opens_loads_selects_and_drops_stale_answers() {
        let state = ExplorerState::default().reduce(ExplorerAction::Open("app:v1".into()));
        assert_eq!(state.name(), Some("app:v1"));
        // The learner opened another image before the first one arrived.
        let state = state.reduce(ExplorerAction::Open("app:v2".into()));
        let state = state.reduce(ExplorerAction::Loaded(image("app:v1", 2)));
        assert_eq!(
            state,
            ExplorerState::Loading {
                name: "app:v2".into()
            }
        );
        let state = state.reduce(ExplorerAction::Loaded(image("app:v2", 3)));
        let ExplorerState::Loaded { selected, tab, .. } = &state else {
            panic!("{state:?}")
        };
        assert_eq!((*selected, *tab), (2, ExplorerTab::Layers));
        let state = state
            .reduce(ExplorerAction::SelectLayer(0))
            .reduce(ExplorerAction::SelectLayer(9))
            .reduce(ExplorerAction::Show(ExplorerTab::Config));
        let ExplorerState::Loaded { selected, tab, .. } = &state else {
            panic!("{state:?}")
        };
        assert_eq!((*selected, *tab), (0, ExplorerTab::Config));
        assert_eq!(state.reduce(ExplorerAction::Close), ExplorerState::Closed);
    }

    #[test]
    fn a_failure_says_why_for_the_image_asked() {
        let state = ExplorerState::default().reduce(ExplorerAction::Open("gone:v1".into()));
        let stale = state.clone().reduce(ExplorerAction::Failed {
            name: "other".into(),
            why: "x".into(),
        });
        assert_eq!(stale, state);
        let failed = state.reduce(ExplorerAction::Failed {
            name: "gone:v1".into(),
            why: "gone:v1: manifest unknown".into(),
        });
        assert_eq!(
            failed,
            ExplorerState::Failed {
                name: "gone:v1".into(),
                why: "gone:v1: manifest unknown".into()
            }
        );
    }
}
