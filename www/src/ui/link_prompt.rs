//! The question a link asks before it replaces a project the learner changed (`?lesson=URL` or `#share=`):
//! open the link, keep the files, or download them first. The decision to ask is `start::plan_start`'s.

use yew::prelude::*;

use super::files::{offer_download, ProjectHandle};
use super::start::PendingLink;

#[derive(Properties, PartialEq)]
pub struct LinkPromptProps {
    pub link: PendingLink,
    /// Open what the link brings (the learner's files are replaced).
    pub on_open: Callback<()>,
    /// Keep the learner's files; the link is dropped.
    pub on_keep: Callback<()>,
}

#[function_component(LinkPrompt)]
pub fn link_prompt(props: &LinkPromptProps) -> Html {
    let project = use_context::<ProjectHandle>().expect("inside the project context");
    let (what, open_label) = match &props.link {
        PendingLink::Lesson(url) => (format!("the lesson at {url}"), "Open the lesson"),
        PendingLink::Share(shared) => {
            let n = shared.files.len();
            (
                format!("a shared project ({n} file{})", if n == 1 { "" } else { "s" }),
                "Open the shared files",
            )
        }
    };
    // A dialog takes the focus, on its safe answer: Enter keeps the learner's files.
    let keep_ref = use_node_ref();
    {
        let keep_ref = keep_ref.clone();
        use_effect_with((), move |_| {
            if let Some(button) = keep_ref.cast::<web_sys::HtmlElement>() {
                let _ = button.focus();
            }
        });
    }
    let download = Callback::from(move |_: MouseEvent| offer_download(&project, true));
    let open = props.on_open.reform(|_: MouseEvent| ());
    let keep = props.on_keep.reform(|_: MouseEvent| ());
    html! {
        <div class="link-prompt" role="alertdialog" aria-label="Open the link?"
             aria-describedby="link-prompt-text">
            <p id="link-prompt-text">
                { format!("This link opens {what}. Its files would replace the project you changed; your files \
                           stay until you choose.") }
            </p>
            <button type="button" onclick={open}>{ open_label }</button>
            <button type="button" ref={keep_ref} onclick={keep}>{ "Keep my files" }</button>
            <button type="button" onclick={download}>{ "Download my files" }</button>
        </div>
    }
}
