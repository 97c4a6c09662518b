//! The wasm-bindgen side of `www/js/terminal.js`: the xterm.js terminal the page's terminal pane draws into.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// A terminal made by `SlipwayTerminal.create`.
    pub type XtermHandle;

    #[wasm_bindgen(js_namespace = SlipwayTerminal, js_name = create)]
    fn create_terminal(element: &web_sys::Element, options: &JsValue) -> XtermHandle;

    #[wasm_bindgen(method, js_name = write)]
    pub fn write_text(this: &XtermHandle, data: &str);
    /// Owned bytes: xterm.js parses writes later, and a borrowed slice would be a view into wasm memory that
    /// is reused by then (the bytes arrive garbled). A `Vec` reaches JS as a copy.
    #[wasm_bindgen(method, js_name = write)]
    pub fn write_bytes(this: &XtermHandle, data: Vec<u8>);
    #[wasm_bindgen(method, js_name = onData)]
    pub fn on_data(this: &XtermHandle, callback: &Closure<dyn FnMut(String)>);
    #[wasm_bindgen(method, js_name = setKeyFilter)]
    pub fn set_key_filter(this: &XtermHandle, callback: &Closure<dyn FnMut(web_sys::KeyboardEvent) -> bool>);
    #[wasm_bindgen(method, js_name = onResize)]
    pub fn on_resize(this: &XtermHandle, callback: &Closure<dyn FnMut(u16, u16)>);
    #[wasm_bindgen(method, js_name = onWriteParsed)]
    pub fn on_write_parsed(this: &XtermHandle, callback: &Closure<dyn FnMut()>);
    #[wasm_bindgen(method)]
    pub fn cols(this: &XtermHandle) -> u16;
    #[wasm_bindgen(method)]
    pub fn rows(this: &XtermHandle) -> u16;
    #[wasm_bindgen(method)]
    pub fn focus(this: &XtermHandle);
    #[wasm_bindgen(method, js_name = setFontSize)]
    pub fn set_font_size(this: &XtermHandle, px: u8);
    #[wasm_bindgen(method, js_name = setTheme)]
    pub fn set_theme(this: &XtermHandle, name: &str);
    #[wasm_bindgen(method)]
    pub fn textarea(this: &XtermHandle) -> Option<web_sys::Element>;
    #[wasm_bindgen(method)]
    pub fn text(this: &XtermHandle) -> String;
    #[wasm_bindgen(method)]
    pub fn dispose(this: &XtermHandle);
}

/// Open a terminal in `element` with the page's font size and theme (`dark` or `light`).
pub fn open(element: &web_sys::Element, font_px: u8, theme: &str) -> XtermHandle {
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"fontSize".into(), &JsValue::from(font_px));
    let _ = js_sys::Reflect::set(&options, &"theme".into(), &JsValue::from_str(theme));
    create_terminal(element, &options)
}
