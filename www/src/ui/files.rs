//! The project panes (wasm): the file tree with its toolbar (new, rename, delete, upload, drop, download) and
//! the editor with tabs. All state changes are `ProjectAction`s on the shared project (`workspace.rs`).

use std::rc::Rc;

use web_sys::{DragEvent, HtmlInputElement};
use yew::prelude::*;

use super::editor::{DockerfileEditor, PlainEditor};
use super::project::is_dockerfile;
use super::web;
use super::workspace::{ProjectAction, ProjectState};

impl Reducible for ProjectState {
    type Action = ProjectAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        Rc::new((*self).clone().reduce(action))
    }
}

/// The project every pane shares (`use_context::<ProjectHandle>()`): the terminal and `docker build` read
/// `project.context_tree()` from it.
pub type ProjectHandle = UseReducerHandle<ProjectState>;

/// Offers the project as `project.zip` (zipped in a worker) or `project.tar` to download; a refusal is said in
/// the files message.
pub fn offer_download(project: &ProjectHandle, zip: bool) {
    let project = project.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let files = project.project.clone();
        let saved = if zip {
            let bytes = super::archive_jobs::zip(&files).await;
            bytes.and_then(|bytes| web::download("project.zip", &bytes, "application/zip"))
        } else {
            web::download("project.tar", &files.to_tar(), "application/x-tar")
        };
        if let Err(why) = saved {
            project.dispatch(ProjectAction::Say {
                error: true,
                text: why,
            });
        }
    });
}

/// Whether the page lets the learner change files (embeds may be read-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOnly(pub bool);

/// What the name field is for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Naming {
    NewFile,
    NewFolder,
    Rename(String),
}

fn is_archive(name: &str) -> bool {
    [".zip", ".tar", ".tar.gz", ".tgz"]
        .iter()
        .any(|ext| name.to_ascii_lowercase().ends_with(ext))
}

/// Reads chosen or dropped files and adds them: archives are unpacked, other files added as they are.
fn add_files(project: ProjectHandle, files: Vec<web_sys::File>) {
    wasm_bindgen_futures::spawn_local(async move {
        let mut plain = Vec::new();
        for file in files {
            match web::read_file(&file).await {
                Ok(bytes) if is_archive(&file.name()) => {
                    let name = file.name();
                    match super::archive_jobs::unpack(&name, &bytes).await {
                        Ok(unpacked) => project.dispatch(ProjectAction::Archive { name, unpacked }),
                        Err(e) => project.dispatch(ProjectAction::Say {
                            error: true,
                            text: e.to_string(),
                        }),
                    }
                }
                Ok(bytes) => plain.push((web::relative_path(&file), bytes)),
                Err(why) => project.dispatch(ProjectAction::Say {
                    error: true,
                    text: why,
                }),
            }
        }
        if !plain.is_empty() {
            project.dispatch(ProjectAction::Upload {
                folder: String::new(),
                files: plain,
            });
        }
    });
}

fn file_list(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

#[derive(Properties, PartialEq)]
struct NameFieldProps {
    what: Naming,
    initial: String,
    on_name: Callback<(Naming, String)>,
    on_cancel: Callback<()>,
}

/// The field that names a new file or folder, or a renamed one: Enter or OK takes the name, Escape or Cancel not.
#[function_component(NameField)]
fn name_field(props: &NameFieldProps) -> Html {
    let name = {
        let initial = props.initial.clone();
        use_state(move || initial)
    };
    let name_ref = use_node_ref();
    {
        // A keyboard user lands in the name field as soon as it opens.
        let name_ref = name_ref.clone();
        use_effect_with(props.what.clone(), move |_| {
            if let Some(input) = name_ref.cast::<HtmlInputElement>() {
                let _ = input.focus();
                input.select();
            }
        });
    }
    let label = match &props.what {
        Naming::NewFile => "New file name".to_string(),
        Naming::NewFolder => "New folder name".to_string(),
        Naming::Rename(from) => format!("New name for {from}"),
    };
    let finish = {
        let (name, what, on_name) = (name.clone(), props.what.clone(), props.on_name.clone());
        Callback::from(move |()| on_name.emit((what.clone(), (*name).clone())))
    };
    let oninput = {
        let name = name.clone();
        Callback::from(move |e: InputEvent| name.set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let onkeydown = {
        let (finish, cancel) = (finish.clone(), props.on_cancel.clone());
        Callback::from(move |e: KeyboardEvent| match e.key().as_str() {
            "Enter" => {
                e.prevent_default();
                finish.emit(());
            }
            "Escape" => cancel.emit(()),
            _ => {}
        })
    };
    html! {
        <div class="name-field">
            <input ref={name_ref} type="text" aria-label={label} value={(*name).clone()} {oninput}
                   {onkeydown} spellcheck="false" />
            <button type="button" onclick={finish.reform(|_: MouseEvent| ())}>{ "OK" }</button>
            <button type="button" onclick={props.on_cancel.reform(|_: MouseEvent| ())}>{ "Cancel" }</button>
        </div>
    }
}

/// One row of the file tree: a folder, or a file that opens in the editor; rename and delete unless read-only.
fn tree_row(
    project: &ProjectHandle,
    row: &super::project::TreeRow,
    current: bool,
    on_rename: Option<Callback<MouseEvent>>,
) -> Html {
    let actions = on_rename.map(|rename| {
        let delete = {
            let (project, path) = (project.clone(), row.path.clone());
            Callback::from(move |_: MouseEvent| project.dispatch(ProjectAction::Delete(path.clone())))
        };
        html! {
            <span class="row-actions">
                <button type="button" class="icon" aria-label={format!("Rename {}", row.path)}
                        title="Rename" onclick={rename}>{ "✎" }</button>
                <button type="button" class="icon" aria-label={format!("Delete {}", row.path)}
                        title="Delete" onclick={delete}>{ "✕" }</button>
            </span>
        }
    });
    let indent = format!("padding-left: {}em", 0.4 + row.depth as f32 * 1.0);
    if row.is_folder {
        return html! {
            <li class="tree-row folder" style={indent} data-path={row.path.clone()}>
                <span class="tree-name" aria-label={format!("Folder {}", row.path)}>{ format!("▸ {}", row.name) }</span>
                { actions }
            </li>
        };
    }
    let open = {
        let (project, path) = (project.clone(), row.path.clone());
        Callback::from(move |_: MouseEvent| project.dispatch(ProjectAction::Open(path.clone())))
    };
    html! {
        <li class={classes!("tree-row", "file", current.then_some("current"))} style={indent}
            data-path={row.path.clone()}>
            <button type="button" class="tree-name" aria-label={format!("Open {}", row.path)}
                    aria-current={current.then_some("true")} onclick={open}>{ row.name.clone() }</button>
            { actions }
        </li>
    }
}

/// Files dropped on the pane are added (an archive is unpacked); `dragging` shows the drop target.
fn drop_callbacks(
    project: &ProjectHandle,
    dragging: &UseStateHandle<bool>,
    readonly: bool,
) -> (Callback<DragEvent>, Callback<DragEvent>, Callback<DragEvent>) {
    let ondragover = {
        let dragging = dragging.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dragging.set(true);
        })
    };
    let ondragleave = {
        let dragging = dragging.clone();
        Callback::from(move |_: DragEvent| dragging.set(false))
    };
    let ondrop = {
        let (project, dragging) = (project.clone(), dragging.clone());
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dragging.set(false);
            if !readonly {
                add_files(
                    project.clone(),
                    file_list(e.data_transfer().and_then(|d| d.files())),
                );
            }
        })
    };
    (ondragover, ondragleave, ondrop)
}

#[function_component(FilesPane)]
pub fn files_pane() -> Html {
    let project = use_context::<ProjectHandle>().expect("the app provides the project");
    let ReadOnly(readonly) = use_context::<ReadOnly>().unwrap_or(ReadOnly(false));
    // What the name field is open for, and the name it starts with.
    let naming = use_state(|| None::<(Naming, String)>);
    let dragging = use_state(|| false);

    let start = |what: Naming, initial: String| {
        let naming = naming.clone();
        Callback::from(move |_: MouseEvent| naming.set(Some((what.clone(), initial.clone()))))
    };
    let on_name = {
        let (naming, project) = (naming.clone(), project.clone());
        Callback::from(move |(what, typed): (Naming, String)| {
            project.dispatch(match what {
                Naming::NewFile => ProjectAction::NewFile(typed),
                Naming::NewFolder => ProjectAction::NewFolder(typed),
                Naming::Rename(from) => ProjectAction::Rename { from, to: typed },
            });
            naming.set(None);
        })
    };
    let on_cancel = {
        let naming = naming.clone();
        Callback::from(move |()| naming.set(None))
    };
    let name_field = (*naming).clone().map(|(what, initial)| {
        // Keyed by what it names: another Rename or New starts a fresh field.
        let key = format!("{what:?}");
        html! { <NameField {key} {what} {initial} {on_name} {on_cancel} /> }
    });

    let on_choose = {
        let project = project.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            add_files(project.clone(), file_list(input.files()));
            input.set_value("");
        })
    };
    let (ondragover, ondragleave, ondrop) = drop_callbacks(&project, &dragging, readonly);
    let download = |zip: bool| {
        let project = project.clone();
        Callback::from(move |_: MouseEvent| offer_download(&project, zip))
    };

    let active = project.project.active.clone();
    let row_html = project.project.tree_rows().into_iter().map(|row| {
        let rename = (!readonly).then(|| start(Naming::Rename(row.path.clone()), row.path.clone()));
        tree_row(
            &project,
            &row,
            active.as_deref() == Some(row.path.as_str()),
            rename,
        )
    });
    let message = project.message.as_ref().map(|m| {
        html! {
            <p class={classes!("files-message", m.error.then_some("error"))} role="status"
               aria-label="Files message">{ m.text.clone() }</p>
        }
    });
    html! {
        <section class={classes!("pane", "files", dragging.then_some("dragging"))} aria-labelledby="files-title"
                 {ondragover} {ondragleave} {ondrop}>
            <h2 id="files-title">{ "Files" }</h2>
            if !readonly {
                <div class="files-toolbar" role="toolbar" aria-label="File actions">
                    <button type="button" onclick={start(Naming::NewFile, String::new())}>{ "New file" }</button>
                    <button type="button" onclick={start(Naming::NewFolder, String::new())}>{ "New folder" }</button>
                    <label class="button">{ "Upload files" }
                        <input type="file" multiple=true class="visually-hidden" aria-label="Upload files"
                               onchange={on_choose.clone()} />
                    </label>
                    <label class="button">{ "Upload folder" }
                        <input type="file" multiple=true webkitdirectory=true class="visually-hidden"
                               aria-label="Upload folder" onchange={on_choose} />
                    </label>
                </div>
            }
            { name_field.unwrap_or_default() }
            <ul class="file-tree" aria-label="Project files">{ for row_html }</ul>
            if !readonly {
                <p class="drop-hint">{ "Drop files, a .zip or a .tar here." }</p>
            }
            <div class="files-toolbar" role="toolbar" aria-label="Download the project">
                <button type="button" onclick={download(true)}>{ "Download zip" }</button>
                <button type="button" onclick={download(false)}>{ "Download tar" }</button>
            </div>
            { message }
        </section>
    }
}

/// The tabs of the open files and the editor of the active one.
#[function_component(EditorPane)]
pub fn editor_pane() -> Html {
    let project = use_context::<ProjectHandle>().expect("the app provides the project");
    let ReadOnly(readonly) = use_context::<ReadOnly>().unwrap_or(ReadOnly(false));
    let p = &project.project;
    let tabs = p.open.iter().map(|path| {
        let selected = p.active.as_deref() == Some(path.as_str());
        let name = path.rsplit('/').next().unwrap_or(path).to_string();
        let open = {
            let (project, path) = (project.clone(), path.clone());
            Callback::from(move |_: MouseEvent| project.dispatch(ProjectAction::Open(path.clone())))
        };
        let close = {
            let (project, path) = (project.clone(), path.clone());
            Callback::from(move |_: MouseEvent| project.dispatch(ProjectAction::Close(path.clone())))
        };
        html! {
            <span class={classes!("tab", selected.then_some("selected"))}>
                <button type="button" aria-current={selected.then_some("true")} title={path.clone()}
                        aria-label={format!("Tab {path}")} onclick={open}>{ name }</button>
                <button type="button" class="icon" aria-label={format!("Close {path}")} onclick={close}>{ "×" }</button>
            </span>
        }
    });
    let body = match p.active.as_ref().and_then(|a| p.files.get(a).map(|f| (a, f))) {
        None => {
            html! { <p class="not-yet">{ "No file open: pick one in the file tree, or make a new one." }</p> }
        }
        Some((path, file)) => {
            let key = format!("{}:{path}", project.generation);
            let onchange = {
                let (project, path) = (project.clone(), path.clone());
                Callback::from(move |text: String| {
                    project.dispatch(ProjectAction::Edit {
                        path: path.clone(),
                        text,
                    })
                })
            };
            // The top-level Dockerfile keeps the name the editor always had ("Dockerfile editor").
            let label = AttrValue::from(if path == "Dockerfile" {
                "Dockerfile editor".to_string()
            } else {
                format!("Editor for {path}")
            });
            match file.text() {
                Some(text) if is_dockerfile(path) => html! {
                    <DockerfileEditor {key} initial={text.to_string()} {onchange} {readonly} {label} />
                },
                Some(text) if slipway::compose::is_compose_file(path) => html! {
                    <super::compose_editor::ComposeEditor {key} initial={text.to_string()} {onchange} {readonly} {label} name={path.clone()} />
                },
                Some(text) => html! {
                    <PlainEditor {key} initial={text.to_string()} {onchange} {readonly} {label} />
                },
                None => html! {
                    <p class="not-yet">{ format!("{path} is a binary file ({} bytes): it goes into the build context as it is.", file.data.len()) }</p>
                },
            }
        }
    };
    html! {
        <section class="pane editor" aria-labelledby="editor-title">
            <h2 id="editor-title" class="visually-hidden">{ "Editor" }</h2>
            <div class="tabs" role="group" aria-label="Open files">{ for tabs }</div>
            { body }
        </section>
    }
}
