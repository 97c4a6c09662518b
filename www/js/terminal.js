// The page's terminal: a thin wrapper over xterm.js (npm @xterm/xterm, bundled by scripts/bundle-js.sh) that
// src/ui/xterm.rs binds with wasm-bindgen. The line editor, the prompt and the commands live in Rust; this file
// only creates the terminal, fits it to its pane and hands data across.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';

// The page's two themes (www/styles.css), as xterm colours.
const THEMES = {
  dark: { background: '#000000', foreground: '#c9d1d9', cursor: '#c9d1d9', selectionBackground: '#264f78' },
  light: { background: '#ffffff', foreground: '#1f2328', cursor: '#1f2328', selectionBackground: '#b6d7ff',
           // xterm's default yellow and white vanish on a white background.
           yellow: '#9a6700', white: '#6e7781', brightWhite: '#57606a' },
};

function create(element, options) {
  const term = new Terminal({
    fontSize: options.fontSize || 14,
    fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
    theme: THEMES[options.theme] || THEMES.dark,
    scrollback: 10000,
    cursorBlink: true,
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(element);
  // The size in cells on the element too, for whoever inspects the page (its tests read it there).
  const showSize = () => { element.dataset.cols = term.cols; element.dataset.rows = term.rows; };
  term.onResize(showSize);
  const refit = () => { if (element.clientWidth > 0 && element.clientHeight > 0) fit.fit(); };
  refit();
  showSize();
  // The pane is resizable (dragged borders, window, font size): the terminal follows it.
  const observer = new ResizeObserver(refit);
  observer.observe(element);
  return {
    /** Text (a string) or bytes (a Uint8Array), escape sequences included. */
    write(data) { term.write(data); },
    onData(callback) { term.onData(callback); },
    /** `callback(event)` false: xterm leaves the key to the page (Tab moves the focus: no keyboard trap). */
    setKeyFilter(callback) { term.attachCustomKeyEventHandler(callback); },
    onResize(callback) { term.onResize(size => callback(size.cols, size.rows)); },
    /** Called at most once a frame after written data is on the buffer. */
    onWriteParsed(callback) { term.onWriteParsed(callback); },
    cols() { return term.cols; },
    rows() { return term.rows; },
    fit: refit,
    focus() { term.focus(); },
    setFontSize(px) { term.options.fontSize = px; refit(); },
    setTheme(name) { term.options.theme = THEMES[name] || THEMES.dark; },
    /** Ctrl-L: the cursor's line goes to the top, the rest (and the scrollback) is cleared. */
    clear() { term.clear(); },
    /** The helper textarea that receives the keys (it carries the input's accessible name and aria-busy). */
    textarea() { return term.textarea; },
    /** The active buffer as text, scrollback included: rows wrapped by the terminal width are joined again. */
    text() {
      const buffer = term.buffer.active;
      const lines = [];
      for (let i = 0; i < buffer.length; i++) {
        const line = buffer.getLine(i);
        const next = buffer.getLine(i + 1);
        // Trailing blanks go, as in a copy from a terminal (unless the row continues on the next one).
        const text = next && next.isWrapped ? line.translateToString(false) : line.translateToString(true).replace(/ +$/, '');
        if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
        else lines.push(text);
      }
      while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
      return lines.join('\n');
    },
    dispose() { observer.disconnect(); term.dispose(); },
  };
}

window.SlipwayTerminal = { create };
