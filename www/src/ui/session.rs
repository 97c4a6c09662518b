//! The page's side of a companion session: its token and `docker login` credentials (memory, mirrored in
//! `sessionStorage` so a reload keeps the local images and logins of the tab), and the command context built
//! from them.

use std::cell::RefCell;
use std::rc::Rc;

use crate::fetch::Fetch;
use slipway::api::SessionTransport;
use slipway::cli::context::{CommandContext, ProgressSink};
use slipway::cli::credentials::CredentialStore;

const SESSION_KEY: &str = "slipway-session";
const CREDENTIALS_KEY: &str = "slipway-credentials";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

thread_local! {
    /// This tab's session with the companion: made once, kept for the tab's life.
    static PAGE_SESSION: String = {
        let stored = storage().and_then(|s| s.get_item(SESSION_KEY).ok().flatten());
        stored.unwrap_or_else(|| {
            let token = format!("page-{:016x}", (js_sys::Math::random() * u64::MAX as f64) as u64);
            if let Some(s) = storage() {
                let _ = s.set_item(SESSION_KEY, &token);
            }
            token
        })
    };
    static CREDENTIALS: Rc<RefCell<CredentialStore>> = Rc::new(RefCell::new(
        storage()
            .and_then(|s| s.get_item(CREDENTIALS_KEY).ok().flatten())
            .and_then(|text| CredentialStore::from_json(&text).ok())
            .unwrap_or_default(),
    ));
}

thread_local! {
    /// `repository:tag` of the session's local images as the Images panel last loaded them (tab completion).
    static KNOWN_IMAGES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

pub fn set_known_images(names: Vec<String>) {
    KNOWN_IMAGES.with(|k| *k.borrow_mut() = names);
}

pub fn known_images() -> Vec<String> {
    KNOWN_IMAGES.with(|k| k.borrow().clone())
}

pub fn page_session() -> String {
    PAGE_SESSION.with(String::clone)
}

/// The page's origin (`http://127.0.0.1:8080`): the companion that serves the page, the only origin that
/// hears the session.
pub fn page_origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// The page's companion transport ([`Fetch::PAGE`]) with the session for the page's own origin only.
pub fn page_transport() -> SessionTransport<'static, Fetch> {
    SessionTransport::new(&Fetch::PAGE, page_session(), &page_origin())
}

/// Everything a command needs from the page; [`PageSession::context`] lends it out.
pub struct PageSession {
    transport: SessionTransport<'static, Fetch>,
    token: String,
    registry_host: String,
    credentials: Rc<RefCell<CredentialStore>>,
}

impl PageSession {
    /// A session for the page's own requests (panels).
    pub fn new() -> Self {
        PageSession::with_fetch(&Fetch::PAGE)
    }

    /// A session for the terminal's command in flight: its requests close on Ctrl-C
    /// ([`crate::fetch::CommandAbort`]).
    pub fn for_command() -> Self {
        PageSession::with_fetch(&Fetch::COMMAND)
    }

    fn with_fetch(fetch: &'static Fetch) -> Self {
        let token = page_session();
        let registry_host = web_sys::window()
            .and_then(|w| w.location().host().ok())
            .unwrap_or_default();
        PageSession {
            transport: SessionTransport::new(fetch, token.clone(), &page_origin()),
            token,
            registry_host,
            credentials: CREDENTIALS.with(Rc::clone),
        }
    }

    pub fn context<'a>(
        &'a self,
        progress: Option<ProgressSink<'a>>,
    ) -> CommandContext<'a, SessionTransport<'static, Fetch>> {
        CommandContext {
            transport: &self.transport,
            base: "",
            registry_host: &self.registry_host,
            session: Some(&self.token),
            credentials: &self.credentials,
            stdin: None,
            now: (js_sys::Date::now() / 1000.0) as u64,
            progress,
            status: None,
            foreground: None,
            via_proxy: true,
            prompter: None,
            suggested_user: None,
        }
    }

    /// The session token ([`slipway::api::SESSION_HEADER`]).
    pub fn token(&self) -> String {
        self.token.clone()
    }

    /// The companion transport, sending the session header.
    pub fn transport(&self) -> &SessionTransport<'static, Fetch> {
        &self.transport
    }

    /// Mirror the logins into `sessionStorage` (after `docker login`/`logout`).
    pub fn save_credentials(&self) {
        if let Some(s) = storage() {
            let _ = s.set_item(CREDENTIALS_KEY, &self.credentials.borrow().to_json());
        }
    }
}
