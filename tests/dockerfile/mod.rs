//! Dockerfile front end: BuildKit's parser corpus, our golden corpus, and the `slipway parse|lint` commands.

mod cli;
mod conformance;
mod expand;
mod golden;
mod model;
mod robustness;
