//! The image builder in process: hostile and broken input (the builder through `slipway build` and real peers is
//! tested with the server, `server/tests/build/`).

mod hostile;
