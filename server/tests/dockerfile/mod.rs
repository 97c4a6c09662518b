//! Dockerfile front end through the binary and the page: the `slipway parse|lint` commands, and the editor's
//! checks in headless Chromium (the parser corpora are the core's tests, `tests/dockerfile/`).

mod cli;
mod e2e;
