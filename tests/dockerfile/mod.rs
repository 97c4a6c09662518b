//! Dockerfile front end: BuildKit's parser corpus and our golden corpus (the `slipway parse|lint` commands and the
//! editor in the page are tested with the server, `server/tests/dockerfile/`).

mod conformance;
mod corpus;
mod expand;
mod golden;
mod model;
mod robustness;
