//! Talking to OCI registries: Docker-style references, auth challenges, and a distribution client that runs
//! natively and in the browser over an HTTP [`transport::Transport`].

pub mod challenge;
pub mod client;
#[cfg(target_arch = "wasm32")]
pub mod fetch;
pub mod reference;
pub mod transport;

pub use challenge::Credentials;
pub use client::{BlobPush, Client, ClientError, PulledManifest, PushOptions};
pub use reference::{Reference, ReferenceError};
pub use transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};
