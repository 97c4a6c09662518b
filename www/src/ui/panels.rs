//! The Images, Containers and Registry side panels: the session's local images (`/api/images`), its containers
//! (`/api/containers?all=true`) and what the embedded registry serves (`/v2/_catalog`, tags, manifests), reloaded
//! whenever the terminal may have changed them.

use std::rc::Rc;

use yew::prelude::*;

use super::explorer_state::ExplorerState;
use super::panels_state::{
    container_cells, group_containers, image_cells, load_registry, registry_cells, PanelAction, PanelList,
    RegistryEntry,
};
use super::session::PageSession;
use slipway::api::ContainerSummary;
use slipway::cli::containers;
use slipway::image::local_store::LocalImage;

impl<T: Clone + PartialEq + 'static> Reducible for PanelList<T> {
    type Action = PanelAction<T>;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        Rc::new((*self).clone().reduce(action))
    }
}

#[derive(Properties, PartialEq)]
pub struct PanelProps {
    /// Bumped by the terminal after each command that may change images or the registry.
    pub revision: u32,
}

fn rows<T, const N: usize>(
    list: &PanelList<T>,
    label: &str,
    empty: &str,
    cells: impl Fn(&T) -> [String; N],
    action: impl Fn(&T) -> Html,
) -> Html {
    match list {
        PanelList::Loading => html! { <p class="panel-note">{ "loading…" }</p> },
        PanelList::Failed(why) => html! { <p class="panel-note panel-error">{ why.clone() }</p> },
        PanelList::Loaded(items) if items.is_empty() => {
            html! { <p class="panel-note">{ empty.to_string() }</p> }
        }
        // A narrow column: the name on one line, the rest below it.
        PanelList::Loaded(items) => html! {
            <ul class="panel-list" aria-label={label.to_string()}>
                { for items.iter().map(|item| {
                    let cells = cells(item);
                    let (name, rest) = cells.split_first().expect("panels show at least a name");
                    html! {
                        <li>
                            <span class="panel-name">{ name.clone() }</span>
                            <span class="panel-meta">{ rest.join(" · ") }</span>
                            { action(item) }
                        </li>
                    }
                }) }
            </ul>
        },
    }
}

#[function_component(ImagesPanel)]
pub fn images_panel(props: &PanelProps) -> Html {
    let list = use_reducer(PanelList::<LocalImage>::default);
    // Set when the list came from this browser's own store (the companion was unreachable).
    let from_browser = use_state(|| false);
    let download_note = use_state(|| None::<(bool, String)>);
    {
        let (list, from_browser) = (list.clone(), from_browser.clone());
        use_effect_with(props.revision, move |_| {
            list.dispatch(PanelAction::Refresh);
            wasm_bindgen_futures::spawn_local(async move {
                let online = super::offline::companion_online().await;
                from_browser.set(!online);
                let action = match super::offline::list_images(online).await {
                    Ok(images) => {
                        super::session::set_known_images(
                            images
                                .iter()
                                .map(|i| format!("{}:{}", i.repository, i.tag))
                                .collect(),
                        );
                        PanelAction::Loaded(images)
                    }
                    Err(why) => PanelAction::Failed(why),
                };
                list.dispatch(action);
            });
        });
    }
    let on_download = {
        let download_note = download_note.clone();
        Callback::from(move |image: LocalImage| {
            let download_note = download_note.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let file = slipway::cli::offline::tar_name(&image.repository, &image.tag);
                download_note.set(Some(
                    match super::engine::download_image(&image.name(), &file).await {
                        Ok(()) => (false, format!("Downloaded {} as {file}.", image.name())),
                        Err(why) => (true, format!("Could not download {}: {why}", image.name())),
                    },
                ));
            });
        })
    };
    let now = (js_sys::Date::now() / 1000.0) as u64;
    let note = (*download_note).clone().map(|(error, text)| {
        let class = if error {
            "panel-note panel-error"
        } else {
            "panel-note"
        };
        html! { <p class={class} role="status">{ text }</p> }
    });
    let explorer = use_reducer(ExplorerState::default);
    let actions = |image: &LocalImage| {
        let (explorer, name) = (explorer.clone(), image.name());
        let explore = Callback::from(move |_| super::explorer::open(&explorer, name.clone()));
        let download = {
            let (on_download, image) = (on_download.clone(), image.clone());
            Callback::from(move |_: MouseEvent| on_download.emit(image.clone()))
        };
        html! {
            <>
                <button type="button" class="explore" aria-label={format!("Explore layers of {}", image.name())}
                        onclick={explore}>{ "Explore layers" }</button>
                <button type="button" class="panel-download" onclick={download}
                        aria-label={format!("Download {}", image.name())}>{ "Download" }</button>
            </>
        }
    };
    html! {
        <section class="panel" aria-labelledby="images-title">
            <h2 id="images-title">{ "Images" }</h2>
            if *from_browser {
                <p class="panel-note">{ "Kept in this browser (the companion is unreachable)." }</p>
            }
            { rows(&list, "Local images", "No images yet: try docker pull busybox", |i| image_cells(i, now), actions) }
            { note }
            <super::explorer::LayerExplorer state={explorer} />
        </section>
    }
}

#[function_component(RegistryPanel)]
pub fn registry_panel(props: &PanelProps) -> Html {
    let list = use_reducer(PanelList::default);
    {
        let list = list.clone();
        use_effect_with(props.revision, move |_| {
            list.dispatch(PanelAction::Refresh);
            wasm_bindgen_futures::spawn_local(async move {
                let session = PageSession::new();
                let ctx = session.context(None);
                let action = match load_registry(&ctx.local_client()).await {
                    Ok(entries) => PanelAction::Loaded(entries),
                    Err(why) => PanelAction::Failed(format!("registry unreadable: {why}")),
                };
                list.dispatch(action);
            });
        });
    }
    let explorer = use_reducer(ExplorerState::default);
    let explore = |entry: &RegistryEntry| {
        let (explorer, repository, tag) = (explorer.clone(), entry.repository.clone(), entry.tag.clone());
        let label = format!("Explore layers of pushed {repository}:{tag}");
        let onclick =
            Callback::from(move |_| super::explorer::open_pushed(&explorer, repository.clone(), tag.clone()));
        html! {
            <button type="button" class="explore" aria-label={label} {onclick}>{ "Explore layers" }</button>
        }
    };
    html! {
        <section class="panel" aria-labelledby="registry-title">
            <h2 id="registry-title">{ "Registry" }</h2>
            { rows(&list, "Registry repositories", "Nothing pushed yet: try docker push", registry_cells, explore) }
            <super::explorer::LayerExplorer state={explorer} />
        </section>
    }
}

#[function_component(ContainersPanel)]
pub fn containers_panel(props: &PanelProps) -> Html {
    let list = use_reducer(PanelList::<ContainerSummary>::default);
    {
        let list = list.clone();
        use_effect_with(props.revision, move |_| {
            list.dispatch(PanelAction::Refresh);
            wasm_bindgen_futures::spawn_local(async move {
                let session = PageSession::new();
                let action = match containers::list(session.transport(), "", true).await {
                    Ok(rows) => PanelAction::Loaded(rows),
                    Err(why) => PanelAction::Failed(why.to_string()),
                };
                list.dispatch(action);
            });
        });
    }
    let now = (js_sys::Date::now() / 1000.0) as u64;
    let cells = move |c: &ContainerSummary| container_cells(c, now);
    let body = match &*list {
        PanelList::Loaded(all) if !all.is_empty() => html! {
            { for group_containers(all.clone()).into_iter().map(|group| {
                let loaded = PanelList::Loaded(group.containers);
                match group.project {
                    None => rows(&loaded, "Containers", "", cells, |_| Html::default()),
                    // A compose project: its name, then each service's containers.
                    Some(project) => html! {
                        <>
                            <h3 class="panel-group">{ format!("{project} (compose)") }</h3>
                            { rows(&loaded, &format!("Compose project {project}"), "", cells, |_| Html::default()) }
                        </>
                    },
                }
            }) }
        },
        other => rows(other, "Containers", "No containers yet: try docker run busybox echo hello", cells, |_| {
            Html::default()
        }),
    };
    html! {
        <section class="panel" aria-labelledby="containers-title">
            <h2 id="containers-title">{ "Containers" }</h2>
            { body }
        </section>
    }
}
