//! Where the native command lines keep the sessions the companions issued them (`sessions.json`, 0600, beside
//! the credentials file `slipway docker` keeps), and how they get a live one before a command.

use std::io::Write;
use std::path::PathBuf;

use slipway::api::SessionTransport;

/// `~/.config/slipway/auth.json` (or under `$XDG_CONFIG_HOME`): `slipway docker`'s credentials.
pub fn default_auth_file() -> PathBuf {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    config.join("slipway").join("auth.json")
}

/// The sessions the companions issued to this user's command lines, one per `--host`, kept 0600 in
/// `sessions.json` beside the credentials file, so consecutive commands see the same containers and local images.
#[derive(Debug, Clone)]
pub struct SessionFile {
    path: PathBuf,
}

impl SessionFile {
    /// The file beside `auth_file` (the default one when None).
    pub fn beside(auth_file: Option<&std::path::Path>) -> SessionFile {
        let auth_file = auth_file.map_or_else(default_auth_file, std::path::Path::to_path_buf);
        SessionFile {
            path: auth_file.with_file_name("sessions.json"),
        }
    }

    fn read(&self) -> std::collections::BTreeMap<String, String> {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_default()
    }

    /// The session kept for the companion at `host` (`""`: none yet).
    pub fn get(&self, host: &str) -> String {
        self.read().remove(host).unwrap_or_default()
    }

    /// Keep `token` for `host` (the file only its owner may read: the token is the session).
    pub fn set(&self, host: &str, token: &str) -> std::io::Result<()> {
        let mut all = self.read();
        all.insert(host.to_string(), token.to_string());
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Written aside and renamed: a command line running at the same time reads the old file or the new one.
        let aside = self.path.with_extension(format!("json.{}", std::process::id()));
        write_private(&aside, &serde_json::to_string_pretty(&all).unwrap_or_default())?;
        std::fs::rename(&aside, &self.path)
    }

    /// A transport to the companion at `host` with its kept session, asking for a new one (and keeping it) when
    /// there is none or the companion refuses it. `$SLIPWAY_SESSION`, when set, is the session instead, as is.
    pub fn transport<'a, T>(&self, inner: &'a T, host: &str) -> SessionTransport<'a, T> {
        if let Some(token) = std::env::var("SLIPWAY_SESSION").ok().filter(|t| !t.is_empty()) {
            return SessionTransport::new(inner, token, host);
        }
        let (file, for_host) = (self.clone(), host.to_string());
        let keep = move |token: &str| {
            if let Err(e) = file.set(&for_host, token) {
                eprintln!("slipway: cannot keep the session in {}: {e}", file.path.display());
            }
        };
        SessionTransport::new(inner, self.get(host), host).renewing(std::sync::Arc::new(keep))
    }
}

/// A session the companion behind `transport` knows, before a command needs one (its key names the local
/// images): the kept one when the companion still knows it, else a new one. Empty when the companion is out of
/// reach (the command then says so).
pub async fn live_session<T: slipway::registry::Transport>(
    transport: &SessionTransport<'_, T>,
    base: &str,
) -> String {
    slipway::api::Companion::new(transport, base)
        .touch_session()
        .await;
    transport.session()
}

/// Write a file only its owner may read (it holds passwords).
pub fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}
