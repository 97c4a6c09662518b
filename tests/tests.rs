//! The core's integration tests, one binary with a module per area: layers, COPY rules, the Dockerfile front end
//! and the builder on hostile input, all without the server (its end-to-end tests are in `server/tests/`).
#![cfg(not(target_arch = "wasm32"))]

mod build;
mod compose;
mod copy_rules;
mod dockerfile;
mod layers;
mod support;
