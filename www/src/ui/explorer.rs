//! The layer explorer, opened from the Images panel (local images) or the Registry panel (pushed tags): the image's layers (instruction, size, digest, diff_id),
//! the selected layer's file tree with what it added, modified or deleted (in words and colour), and the
//! config and manifest as JSON.

use std::rc::Rc;

use yew::prelude::*;

use super::explorer_state::{
    load_image, load_pushed, ExploredImage, ExplorerAction, ExplorerState, ExplorerTab,
};
use super::session::PageSession;
use slipway::image::explore::instruction;
use slipway::image::units::progress_size;
use slipway::layer::changes::{EntryKind, TreeNode};

impl Reducible for ExplorerState {
    type Action = ExplorerAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        Rc::new((*self).clone().reduce(action))
    }
}

/// Opens the explorer on local image `name` and reads it.
pub fn open(state: &UseReducerHandle<ExplorerState>, name: String) {
    state.dispatch(ExplorerAction::Open(name.clone()));
    let state = state.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let session = PageSession::new();
        let action = match load_image(&session.context(None), &name).await {
            Ok(image) => ExplorerAction::Loaded(Box::new(image)),
            Err(why) => ExplorerAction::Failed { name, why },
        };
        state.dispatch(action);
    });
}

/// Opens the explorer on `repository:tag` as pushed to the registry and reads it.
pub fn open_pushed(state: &UseReducerHandle<ExplorerState>, repository: String, tag: String) {
    let name = format!("{repository}:{tag}");
    state.dispatch(ExplorerAction::Open(name.clone()));
    let state = state.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let session = PageSession::new();
        let action = match load_pushed(&session.context(None), &repository, &tag).await {
            Ok(image) => ExplorerAction::Loaded(Box::new(image)),
            Err(why) => ExplorerAction::Failed { name, why },
        };
        state.dispatch(action);
    });
}

/// `sha256:0123456789ab`.
fn short(digest: &str) -> String {
    let (algorithm, hex) = digest.split_once(':').unwrap_or(("", digest));
    format!("{algorithm}:{}", &hex[..hex.len().min(12)])
}

/// Layers with more entries than this show their directories closed, to be opened one by one (a base image's
/// thousands of files would otherwise fill the page).
const OPEN_ALL_UP_TO: usize = 300;

fn tree(nodes: &[TreeNode], open_all: bool) -> Html {
    html! {
        <ul class="layer-tree">
            { for nodes.iter().map(|n| tree_node(n, open_all)) }
        </ul>
    }
}

fn tree_node(node: &TreeNode, open_all: bool) -> Html {
    let change = node.entry.as_ref().map(|e| e.change);
    let mark =
        change.map(|c| html! { <><span class="change-mark">{ format!("[{}]", c.label()) }</span>{ " " }</> });
    let link = match node.entry.as_ref().map(|e| &e.kind) {
        Some(EntryKind::Symlink(target)) => format!(" → {target}"),
        Some(EntryKind::HardLink(target)) => format!(" ⇒ /{target}"),
        _ => String::new(),
    };
    let class = classes!("tree-entry", change.map(|c| format!("change-{}", c.label())));
    let size = (node.total_size > 0).then(|| progress_size(node.total_size));
    let line = html! {
        <>
            { mark }
            <span class="entry-name">{ format!("{}{}{link}", node.name, if node.is_dir() { "/" } else { "" }) }</span>
            if let Some(size) = size { { " " }<span class="entry-size">{ size }</span> }
        </>
    };
    if node.children.is_empty() {
        html! { <li class={class}>{ line }</li> }
    } else {
        html! {
            <li class={class}>
                <details open={open_all}>
                    <summary>{ line }</summary>
                    { tree(&node.children, open_all) }
                </details>
            </li>
        }
    }
}

fn layers_view(state: &UseReducerHandle<ExplorerState>, image: &ExploredImage, selected: usize) -> Html {
    let items = image.layers.iter().enumerate().map(|(i, layer)| {
        let select = {
            let state = state.clone();
            Callback::from(move |_| state.dispatch(ExplorerAction::SelectLayer(i)))
        };
        let text = match instruction(&layer.layer.created_by) {
            "" => "(no history entry)".to_owned(),
            text => text.to_owned(),
        };
        let metadata = layer.layer.metadata_before.iter().map(|m| {
            html! { <li class="layer-metadata">{ format!("{} (no layer)", instruction(m)) }</li> }
        });
        html! {
            <>
                { for metadata }
                <li class={classes!("layer-row", (i == selected).then_some("selected"))}>
                    <button type="button" aria-pressed={(i == selected).to_string()} onclick={select}
                            aria-label={format!("Layer {}: {text}", i + 1)}>
                        { format!("{}. {text}", i + 1) }
                    </button>
                    <span class="panel-meta">
                        { format!(
                            "{} · digest {} · diff_id {} · {} uncompressed",
                            progress_size(layer.layer.size),
                            short(&layer.layer.digest),
                            short(&layer.layer.diff_id),
                            progress_size(layer.changes.tar_size),
                        ) }
                    </span>
                </li>
            </>
        }
    });
    let after = image.plan.metadata_after.iter().map(|m| {
        html! { <li class="layer-metadata">{ format!("{} (no layer)", instruction(m)) }</li> }
    });
    let files = image.layers.get(selected).map(|layer| {
        let nodes = layer.changes.tree();
        html! {
            <section class="layer-files" aria-label={format!("Files of layer {}", selected + 1)}>
                <h3>{ format!("Layer {} changes {} in {} entries", selected + 1,
                              progress_size(layer.changes.content_size()), layer.changes.entries.len()) }</h3>
                if nodes.is_empty() { <p class="panel-note">{ "This layer changes no files." }</p> }
                else { { tree(&nodes, layer.changes.entries.len() <= OPEN_ALL_UP_TO) } }
            </section>
        }
    });
    html! {
        <div class="explorer-layers">
            <ol class="layer-list" aria-label="Image layers">{ for items }{ for after }</ol>
            { files }
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct ExplorerProps {
    pub state: UseReducerHandle<ExplorerState>,
}

#[function_component(LayerExplorer)]
pub fn layer_explorer(props: &ExplorerProps) -> Html {
    let state = &props.state;
    let Some(name) = state.name().map(str::to_owned) else {
        return Html::default();
    };
    let close = {
        let state = state.clone();
        Callback::from(move |_| state.dispatch(ExplorerAction::Close))
    };
    let body = match &**state {
        ExplorerState::Closed => Html::default(),
        ExplorerState::Loading { .. } => {
            html! { <p class="panel-note" role="status">{ "reading the layers…" }</p> }
        }
        ExplorerState::Failed { why, .. } => {
            html! { <p class="panel-note panel-error" role="alert">{ why.clone() }</p> }
        }
        ExplorerState::Loaded { image, selected, tab } => {
            let tab_button = |t: ExplorerTab, label: &str| {
                let state = state.clone();
                let onclick = Callback::from(move |_| state.dispatch(ExplorerAction::Show(t)));
                html! {
                    <button type="button" role="tab" aria-selected={(*tab == t).to_string()} {onclick}>
                        { label.to_owned() }
                    </button>
                }
            };
            let content = match tab {
                ExplorerTab::Layers => layers_view(state, image, *selected),
                ExplorerTab::Config => html! {
                    <pre class="explorer-json" role="tabpanel" aria-label="Image config">{ image.plan.config_json.clone() }</pre>
                },
                ExplorerTab::Manifest => html! {
                    <pre class="explorer-json" role="tabpanel" aria-label="Image manifest">{ image.plan.manifest_json.clone() }</pre>
                },
            };
            html! {
                <>
                    <div class="explorer-tabs" role="tablist" aria-label="Explorer views">
                        { tab_button(ExplorerTab::Layers, "Layers") }
                        { tab_button(ExplorerTab::Config, "Config") }
                        { tab_button(ExplorerTab::Manifest, "Manifest") }
                    </div>
                    { content }
                </>
            }
        }
    };
    html! {
        <section class="explorer" role="dialog" aria-label="Layer explorer">
            <header class="explorer-head">
                <h2>{ format!("Layers of {name}") }</h2>
                <button type="button" aria-label="Close the layer explorer" onclick={close}>{ "Close" }</button>
            </header>
            { body }
        </section>
    }
}
