//! The page's side of a companion session: its token (issued by the companion, `slipway::api::paths::SESSIONS`)
//! and `docker login` credentials (memory, mirrored in `sessionStorage` so a reload keeps the local images and
//! logins of the tab), and the command context built from them. The token travels in a header to the page's
//! own origin only, never in a cookie: an embed on another site works whatever its third-party cookie rules.

use std::cell::RefCell;
use std::rc::Rc;

use crate::fetch::Fetch;
use slipway::api::SessionTransport;
use slipway::builder::Platform;
use slipway::cli::context::{CommandContext, ProgressSink};
use slipway::cli::credentials::CredentialStore;

const SESSION_KEY: &str = "slipway-session";
const CREDENTIALS_KEY: &str = "slipway-credentials";
/// The class member signed in in this tab (classroom mode): `ROLE NAME`.
const MEMBER_KEY: &str = "slipway-member";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

thread_local! {
    /// This tab's session with the companion: issued by it ([`ensure_page_session`]), kept for the tab's
    /// life, renewed when the companion no longer knows it (it expired, or the server restarted).
    static PAGE_SESSION: RefCell<String> = RefCell::new(
        storage().and_then(|s| s.get_item(SESSION_KEY).ok().flatten()).unwrap_or_default(),
    );
    static CREDENTIALS: Rc<RefCell<CredentialStore>> = Rc::new(RefCell::new(
        storage()
            .and_then(|s| s.get_item(CREDENTIALS_KEY).ok().flatten())
            .and_then(|text| CredentialStore::from_json(&text).ok())
            .unwrap_or_default(),
    ));
}

thread_local! {
    /// The platform the companion's containers run on (its `/api/info`), asked once by the first command.
    static HOST_PLATFORM: RefCell<Option<Platform>> = const { RefCell::new(None) };
}

/// The companion's platform for this tab's commands: asked of `/api/info` the first time, then kept. A
/// companion that does not answer, or names none (older than the field), leaves the page's default,
/// `linux/amd64`, and is asked again by the next command.
async fn host_platform() -> Option<Platform> {
    if let Some(known) = HOST_PLATFORM.with(|p| p.borrow().clone()) {
        return Some(known);
    }
    let transport = page_transport();
    let info = slipway::api::Companion::new(&transport, "").info().await.ok()?;
    let platform = slipway::cli::context::pull_platform(&info.platform?);
    HOST_PLATFORM.with(|p| *p.borrow_mut() = Some(platform.clone()));
    Some(platform)
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
    PAGE_SESSION.with(|s| s.borrow().clone())
}

/// Keep a token the companion issued: for the page's next requests and, in `sessionStorage`, for a reload.
fn keep_session(token: &str) {
    PAGE_SESSION.with(|s| *s.borrow_mut() = token.to_string());
    if let Some(s) = storage() {
        let _ = s.set_item(SESSION_KEY, token);
    }
}

/// Take the session and logins another module of the page holds (the page's and its engine's wasm each keep
/// their own): a token either renewed, and the credentials `docker login` changed, are the tab's from now on.
pub fn adopt(token: &str, credentials: &str) {
    if token != page_session() {
        keep_session(token);
    }
    let store = CredentialStore::from_json(credentials).unwrap_or_default();
    CREDENTIALS.with(|c| *c.borrow_mut() = store);
    if let Some(s) = storage() {
        let _ = s.set_item(CREDENTIALS_KEY, credentials);
    }
}

/// The tab's session and logins as the page's modules last kept them (`sessionStorage`, which the page and its
/// engine both write: a command Ctrl-C'd after its engine renewed the session gave no answer to take it from),
/// adopted here too: what a command takes to the engine.
pub fn latest() -> (String, String) {
    let stored = |key| storage().and_then(|s| s.get_item(key).ok().flatten());
    let token = stored(SESSION_KEY).unwrap_or_else(page_session);
    let credentials = stored(CREDENTIALS_KEY).unwrap_or_else(credentials_json);
    adopt(&token, &credentials);
    (token, credentials)
}

/// The tab's `docker login` credentials as JSON (what [`adopt`] takes).
pub fn credentials_json() -> String {
    CREDENTIALS.with(|c| c.borrow().to_json())
}

/// Keep a classroom sign-in: the member's session is the tab's from now on (a reload keeps it), and who they
/// are, for the terminal's greeting.
pub fn keep_sign_in(signed_in: &slipway::api::SignedIn) {
    keep_session(&signed_in.token);
    if let Some(s) = storage() {
        let role = serde_json::to_string(&signed_in.role).unwrap_or_default();
        let _ = s.set_item(MEMBER_KEY, &format!("{} {}", role.trim_matches('"'), signed_in.name));
    }
}

/// Forget a classroom sign-in the companion no longer knows (the session went idle past the class's timeout, or
/// the member left the class): the sign-in form comes back.
pub fn forget_sign_in() {
    keep_session("");
    if let Some(s) = storage() {
        let _ = s.remove_item(MEMBER_KEY);
    }
}

/// The class member signed in in this tab, if any.
pub fn member() -> Option<(String, slipway::api::Role)> {
    let text = storage()?.get_item(MEMBER_KEY).ok().flatten()?;
    let (role, name) = text.split_once(' ')?;
    let role = serde_json::from_str(&format!("\"{role}\"")).ok()?;
    Some((name.to_string(), role))
}

/// `fetch` to the companion with the session, asking for one when none is held or it is refused.
fn session_transport(fetch: &'static Fetch) -> SessionTransport<'static, Fetch> {
    SessionTransport::new(fetch, page_session(), &page_origin()).renewing(std::sync::Arc::new(keep_session))
}

/// At start, before any request that needs it: a session the companion knows (a new one when the tab has none
/// or the companion forgot it). A companion out of reach leaves the page without one (it works offline).
pub async fn ensure_page_session() {
    let transport = page_transport();
    slipway::api::Companion::new(&transport, "").touch_session().await;
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
    session_transport(&Fetch::PAGE)
}

/// Everything a command needs from the page; [`PageSession::context`] lends it out.
pub struct PageSession {
    transport: SessionTransport<'static, Fetch>,
    token: String,
    registry_host: String,
    credentials: Rc<RefCell<CredentialStore>>,
    /// The companion's platform when known ([`host_platform`]).
    platform: Option<Platform>,
}

impl PageSession {
    /// A session for the page's own requests (panels).
    pub fn new() -> Self {
        PageSession::with_fetch(&Fetch::PAGE)
    }

    /// A session for the terminal's command in flight: its requests close on Ctrl-C
    /// ([`crate::fetch::CommandAbort`]). The session is checked first (renewed when the companion forgot it), as
    /// a command names its local repositories after it before its first request.
    pub async fn for_command() -> Self {
        ensure_page_session().await;
        let platform = host_platform().await;
        PageSession {
            platform,
            ..PageSession::with_fetch(&Fetch::COMMAND)
        }
    }

    fn with_fetch(fetch: &'static Fetch) -> Self {
        let token = page_session();
        let registry_host = web_sys::window()
            .and_then(|w| w.location().host().ok())
            .unwrap_or_default();
        PageSession {
            transport: session_transport(fetch),
            token,
            registry_host,
            credentials: CREDENTIALS.with(Rc::clone),
            platform: HOST_PLATFORM.with(|p| p.borrow().clone()),
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
            files: None,
            interrupt: None,
            platform: self.platform.as_ref(),
        }
    }

    /// The companion's platform, when known: what a build takes from an index without `--platform`.
    pub fn platform(&self) -> Option<&Platform> {
        self.platform.as_ref()
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
