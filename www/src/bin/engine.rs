//! `engine`: the page's engine, a wasm module of its own that the page loads right after its prompt
//! (www/src/ui/engine.rs, www/engine-start.js): the terminal's commands (the interpreter, the builder, compose,
//! the image store and build cache, the layer workers), `docker save`'s archives and the editors' checks. Its
//! exports are the boundary of `slipway_web::ui::engine_api`; the page's wasm keeps the UI.

#[cfg(target_arch = "wasm32")]
mod exports {
    use js_sys::{Function, Promise};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::future_to_promise;

    use slipway_web::ui::engine_api::RunRequest;
    use slipway_web::ui::engine_run;

    /// `run(request, callbacks)`: one terminal command; resolves with its `RunResponse` as JSON.
    #[wasm_bindgen]
    pub fn run(request: String, callbacks: JsValue) -> Promise {
        future_to_promise(async move {
            let request: RunRequest =
                serde_json::from_str(&request).map_err(|e| JsValue::from_str(&e.to_string()))?;
            let response = engine_run::run(request, engine_run::Host::new(callbacks)).await;
            serde_json::to_string(&response)
                .map(JsValue::from)
                .map_err(|e| JsValue::from_str(&e.to_string()))
        })
    }

    /// `abort()`: Ctrl-C of the command in flight; resolves once its foreground container is stopped.
    #[wasm_bindgen]
    pub fn abort() -> Promise {
        future_to_promise(async {
            engine_run::abort().await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `lint(text)`: the Dockerfile editor's check, as JSON.
    #[wasm_bindgen]
    pub fn lint(text: String) -> String {
        engine_run::lint(&text)
    }

    /// `compose_check(name, text)`: the compose editor's check, as JSON.
    #[wasm_bindgen]
    pub fn compose_check(name: String, text: String) -> String {
        engine_run::compose_check(&name, &text)
    }

    /// `slipway_lint_mean_ms(text, runs)`: parse + check alone, timed in the page (server/tests/dockerfile/e2e.rs).
    #[wasm_bindgen]
    pub fn slipway_lint_mean_ms(text: &str, runs: u32) -> f64 {
        engine_run::lint_mean_ms(text, runs)
    }

    /// `download_image(name, file)`: `docker save` into a download (the Images panel); rejects with the reason.
    #[wasm_bindgen]
    pub fn download_image(name: String, file: String) -> Promise {
        future_to_promise(async move {
            engine_run::download_image(&name, &file)
                .await
                .map(|()| JsValue::UNDEFINED)
                .map_err(|e| JsValue::from_str(&e))
        })
    }

    /// `on_layer_progress(fn(done, total, active))`: the page's bar of the layer pass.
    #[wasm_bindgen]
    pub fn on_layer_progress(listener: Function) {
        engine_run::on_layer_progress(listener);
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("engine runs in the browser beside the page's wasm: `trunk build --release` builds it");
    std::process::exit(2);
}
