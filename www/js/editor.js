// The page's code editor: a thin wrapper over CodeMirror 6 that the Rust UI drives (src/ui/editor.rs binds it
// with wasm-bindgen). Parsing and checking stay in Rust: this file only shows text, highlights it, and draws the
// diagnostics it is handed (underline, gutter marker, hover text).
import { Compartment, EditorState, Annotation } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection,
  rectangularSelection, crosshairCursor, highlightSpecialChars,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { searchKeymap, highlightSelectionMatches } from "@codemirror/search";
import { StreamLanguage, syntaxHighlighting, HighlightStyle, bracketMatching } from "@codemirror/language";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { tags } from "@lezer/highlight";
import { dockerfile } from "./lib/dockerfile-mode.js";
import { yaml } from "@codemirror/legacy-modes/mode/yaml";

// Changes the host makes (setDoc) are not echoed back to it as edits.
const fromHost = Annotation.define();

// Colours come from the page's CSS variables, so the dark/light switch restyles the editor without JS.
const highlightStyle = HighlightStyle.define([
  { tag: tags.keyword, color: "var(--tok-keyword)", fontWeight: "600" },
  { tag: tags.attributeName, color: "var(--tok-flag)" },
  { tag: tags.string, color: "var(--tok-string)" },
  { tag: tags.variableName, color: "var(--tok-variable)" },
  { tag: tags.comment, color: "var(--tok-comment)", fontStyle: "italic" },
  { tag: tags.meta, color: "var(--tok-comment)", fontWeight: "600" },
  { tag: tags.special(tags.string), color: "var(--tok-heredoc)" },
]);

const handles = new WeakMap();

// options: { doc, label, language: "dockerfile" | "compose" | "plain", readOnly, dark, fontPx }
function create(parent, options) {
  const readOnly = new Compartment();
  const theme = new Compartment();
  let onChange = null;
  const extensions = [
    lineNumbers(),
    highlightActiveLineGutter(),
    highlightSpecialChars(),
    history(),
    drawSelection(),
    EditorState.allowMultipleSelections.of(true),
    rectangularSelection(),
    crosshairCursor(),
    highlightActiveLine(),
    highlightSelectionMatches(),
    bracketMatching(),
    // No indentWithTab: Tab moves focus on, as everywhere else in the page.
    keymap.of([...defaultKeymap, ...historyKeymap, ...searchKeymap]),
    EditorView.contentAttributes.of({ "aria-label": options.label, spellcheck: "false", autocorrect: "off",
      autocapitalize: "off" }),
    readOnly.of(readOnlyExtensions(options.readOnly)),
    theme.of(EditorView.darkTheme.of(!!options.dark)),
    EditorView.updateListener.of((update) => {
      if (!update.docChanged || !onChange) return;
      if (update.transactions.some((tr) => tr.annotation(fromHost))) return;
      onChange(update.state.doc.toString());
    }),
  ];
  if (options.language === "dockerfile") {
    extensions.push(StreamLanguage.define(dockerfile), syntaxHighlighting(highlightStyle), lintGutter());
  } else if (options.language === "compose") {
    extensions.push(StreamLanguage.define(yaml), syntaxHighlighting(highlightStyle), lintGutter());
  }
  const view = new EditorView({ parent, state: EditorState.create({ doc: options.doc || "", extensions }) });
  // A long file scrolls: the scroller is a keyboard stop of its own (axe: scrollable-region-focusable).
  view.scrollDOM.tabIndex = 0;
  const handle = {
    view,
    getDoc: () => view.state.doc.toString(),
    // emit: tell onChange too, as an edit would (tests use it to paste long texts).
    setDoc(text, emit) {
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: text },
        annotations: emit ? [] : [fromHost.of(true)],
      });
    },
    onChange(callback) { onChange = callback; },
    // diagnostics: [{ from, to, severity, rule, message, explanation }] with UTF-16 offsets.
    setDiagnostics(diagnostics) {
      const length = view.state.doc.length;
      const clamp = (n) => Math.max(0, Math.min(n, length));
      const shown = diagnostics.map((d) => ({
        from: clamp(d.from),
        to: clamp(Math.max(d.to, d.from)),
        severity: d.severity,
        source: d.rule,
        message: d.message,
        renderMessage: () => hoverText(d),
      }));
      view.dispatch(setDiagnostics(view.state, shown));
    },
    // Cursor to the start of 1-based `line`, scrolled into view, focused.
    gotoLine(line) {
      const doc = view.state.doc;
      const at = doc.line(Math.max(1, Math.min(line, doc.lines))).from;
      view.dispatch({ selection: { anchor: at }, effects: EditorView.scrollIntoView(at, { y: "center" }) });
      view.focus();
    },
    focus: () => view.focus(),
    setReadOnly(on) { view.dispatch({ effects: readOnly.reconfigure(readOnlyExtensions(on)) }); },
    setTheme(dark) { view.dispatch({ effects: theme.reconfigure(EditorView.darkTheme.of(!!dark)) }); },
    // The font size itself comes from the page's --font variable; the editor must re-measure its lines.
    setFontSize(px) {
      view.dom.style.fontSize = `${px}px`;
      view.requestMeasure();
    },
    dispose() {
      handles.delete(view.dom);
      view.destroy();
    },
  };
  handles.set(view.dom, handle);
  if (options.fontPx) handle.setFontSize(options.fontPx);
  return handle;
}

function readOnlyExtensions(on) {
  return [EditorState.readOnly.of(!!on), EditorView.editable.of(!on)];
}

// Hover text of an underline: rule, message and the explanation of why it matters.
function hoverText(d) {
  const box = document.createElement("div");
  box.className = "cm-diagnostic-text";
  const head = document.createElement("div");
  const rule = document.createElement("strong");
  rule.textContent = d.rule;
  head.append(rule, `: ${d.message}`);
  box.append(head);
  if (d.explanation) {
    const why = document.createElement("div");
    why.className = "cm-diagnostic-explanation";
    why.textContent = d.explanation;
    box.append(why);
  }
  return box;
}

// The handle of the editor that `element` (its .cm-editor or anything inside it) belongs to: tests use it.
function of(element) {
  const dom = element && element.closest ? element.closest(".cm-editor") : null;
  return dom ? handles.get(dom) || null : null;
}

window.SlipwayEditor = { create, of };
