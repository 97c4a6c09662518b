//! The classroom sign-in form: one field for the join code, shown instead of the workspace when the server
//! runs a class and the tab holds no session (`app::start`). A right code keeps the member's session as the
//! tab's; the workspace opens and the terminal greets them ([`super::sign_in_state::greeting`]).

use std::rc::Rc;

use yew::prelude::*;

use super::sign_in_state::{refusal, SignInAction, SignInState};
use slipway::api::{CompanionError, JoinRequest, SignedIn};

impl Reducible for SignInState {
    type Action = SignInAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        Rc::new((*self).clone().reduce(action))
    }
}

#[derive(Properties, PartialEq)]
pub struct SignInProps {
    /// The class's name, from `/api/info`.
    pub class_name: Option<String>,
    pub on_signed_in: Callback<SignedIn>,
}

#[function_component(SignIn)]
pub fn sign_in(props: &SignInProps) -> Html {
    let state = use_reducer(SignInState::default);
    let field = use_node_ref();
    {
        let field = field.clone();
        use_effect_with((), move |_| {
            if let Some(input) = field.cast::<web_sys::HtmlElement>() {
                let _ = input.focus();
            }
        });
    }
    let on_input = {
        let state = state.clone();
        Callback::from(move |e: InputEvent| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            state.dispatch(SignInAction::Edit(input.value()));
        })
    };
    let on_submit = {
        let (state, done) = (state.clone(), props.on_signed_in.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if state.busy {
                return;
            }
            state.dispatch(SignInAction::Submit);
            let code = state.code.clone();
            if slipway::api::normalize_join_code(&code).is_empty() {
                return;
            }
            let (state, done) = (state.clone(), done.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match join(code).await {
                    Ok(signed_in) => done.emit(signed_in),
                    Err(why) => state.dispatch(SignInAction::Refused(why)),
                }
            });
        })
    };
    let title = props.class_name.clone().unwrap_or_else(|| "Slipway class".into());
    let error = state.error.clone();
    html! {
        <main class="sign-in">
            <h1>{ title }</h1>
            <form onsubmit={on_submit} aria-label="Sign in to the class">
                <label for="join-code">{ "Your join code (on your card)" }</label>
                <input id="join-code" name="join-code" type="text" ref={field} value={state.code.clone()}
                       oninput={on_input} autocomplete="off" autocapitalize="characters" spellcheck="false"
                       aria-invalid={error.is_some().to_string()} aria-describedby="join-code-error"
                       placeholder="ABCDE-FGHJK" />
                <button type="submit" disabled={state.busy}>
                    { if state.busy { "Signing in…" } else { "Sign in" } }
                </button>
                <p id="join-code-error" class="error" role="alert" aria-live="assertive">{ error }</p>
            </form>
        </main>
    }
}

/// `POST /api/classroom/join` (no session held yet).
async fn join(code: String) -> Result<SignedIn, String> {
    let transport = super::session::page_transport();
    let companion = slipway::api::Companion::new(&transport, "");
    companion
        .join(&JoinRequest { code, name: None })
        .await
        .map_err(|e| match &e {
            CompanionError::Refused { status, message } => refusal(Some(*status), message),
            _ => refusal(None, &e.to_string()),
        })
}
