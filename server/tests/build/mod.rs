//! The image builder: golden images built by `slipway build`, the cache across builds, and real
//! peers (skopeo, the registry and the runner of a real `slipway serve`).

mod buildah;
mod explorer;
mod golden;
pub(crate) mod layout;
mod page;
pub(crate) mod peers;
mod servers;
mod workers;
