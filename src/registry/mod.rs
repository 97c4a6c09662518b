//! Talking to OCI registries: auth challenges, and a distribution client that runs natively and in the browser
//! over an HTTP [`transport::Transport`]. References are [`crate::image::Reference`].

pub mod challenge;
pub mod client;
pub mod transport;

pub use challenge::Credentials;
pub use client::{BlobPush, Client, ClientError, PulledManifest, PushOptions};
pub use transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};

use crate::image::Reference;

/// The header the companion's registry proxy sets when it refuses a host, naming the host: a HEAD has no body,
/// so this is how every refusal says which host and how to allow it ([`ClientError::ProxyRefused`]).
pub const PROXY_REFUSED_HEADER: &str = "x-slipway-proxy-refused";

/// The host Docker Hub's registry API answers on (`docker.io` is only its name in references).
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// The base URL of a reference's registry API: Docker Hub's API host, plain HTTP for loopback hosts (Docker
/// treats them as insecure registries), HTTPS otherwise.
pub fn api_base(reference: &Reference) -> String {
    if reference.is_docker_hub() {
        return format!("https://{DOCKER_HUB_API}");
    }
    let registry = reference.registry();
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => registry,
    };
    let loopback = host == "localhost" || host.starts_with("127.") || host == "[::1]";
    let scheme = if loopback { "http" } else { "https" };
    format!("{scheme}://{registry}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_hosts_follow_docker() {
        let base = |r: &str| api_base(&Reference::parse(r).unwrap());
        assert_eq!(base("ubuntu"), "https://registry-1.docker.io");
        assert_eq!(base("127.0.0.1:8080/user/app:v1"), "http://127.0.0.1:8080");
        assert_eq!(base("localhost:5000/a"), "http://localhost:5000");
        assert_eq!(base("ghcr.io/a/b"), "https://ghcr.io");
    }
}
