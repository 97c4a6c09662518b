// Dockerfile highlighting for CodeMirror's StreamLanguage: parser directives, comments, instructions, flags,
// strings, variables, line continuations and heredocs. Only colours: the Rust parser decides what is valid
// (an unknown instruction stays plain here and gets its diagnostic from Rust).
const INSTRUCTIONS = new Set([
  "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER",
  "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
]);
const DIRECTIVE = /^\s*#\s*(syntax|escape|check)\s*=\s*(\S*)/i;
const HEREDOC = /^<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/;

function endsWithEscape(line, escape) {
  const trimmed = line.replace(/\s+$/, "");
  return trimmed.endsWith(escape);
}

export const dockerfile = {
  name: "dockerfile",
  startState: () => ({
    escape: "\\", directives: true, continued: false, nextContinued: false, lineStart: true, heredocs: [],
    inHeredoc: false,
  }),
  copyState: (s) => ({ ...s, heredocs: s.heredocs.slice() }),
  token(stream, state) {
    if (stream.sol()) {
      // A heredoc body runs until its delimiter alone on a line (leading tabs allowed with <<-).
      if (state.inHeredoc || (state.heredocs.length > 0 && !state.nextContinued)) {
        state.inHeredoc = true;
        const [strip, word] = state.heredocs[0];
        const body = strip ? stream.string.replace(/^\t+/, "") : stream.string;
        if (body.replace(/\r$/, "") === word) {
          state.heredocs.shift();
          state.inHeredoc = state.heredocs.length > 0;
        }
        stream.skipToEnd();
        return "string.special";
      }
      if (/^\s*#/.test(stream.string)) {
        const directive = state.directives && DIRECTIVE.exec(stream.string);
        stream.skipToEnd();
        if (directive) {
          if (directive[1].toLowerCase() === "escape" && (directive[2] === "`" || directive[2] === "\\")) {
            state.escape = directive[2];
          }
          return "meta";
        }
        state.directives = false;
        return "comment"; // a comment inside a continuation keeps it going
      }
      state.directives = false;
      state.continued = state.nextContinued;
      state.nextContinued = endsWithEscape(stream.string, state.escape);
      state.lineStart = !state.continued;
    }
    if (stream.eatSpace()) return null;
    if (state.lineStart) {
      state.lineStart = false;
      const word = stream.match(/^\S+/);
      return word && INSTRUCTIONS.has(word[0].toUpperCase()) ? "keyword" : null;
    }
    const before = stream.pos === 0 ? " " : stream.string.charAt(stream.pos - 1);
    const wordStart = /\s/.test(before);
    const ch = stream.peek();
    if (ch === "'" || ch === '"') {
      stream.next();
      while (!stream.eol()) {
        const c = stream.next();
        if (c === state.escape && ch === '"') stream.next();
        else if (c === ch) break;
      }
      return "string";
    }
    if (ch === "$") {
      stream.next();
      if (stream.eat("{")) {
        stream.skipTo("}") ? stream.next() : stream.skipToEnd();
      } else {
        stream.eatWhile(/[A-Za-z0-9_]/);
      }
      return "variableName";
    }
    if (wordStart && stream.match(/^--[A-Za-z][\w-]*(=\S*)?/)) return "attributeName";
    if (wordStart) {
      const heredoc = stream.match(HEREDOC);
      if (heredoc) {
        state.heredocs.push([heredoc[1] === "-", heredoc[3]]);
        return "string.special";
      }
    }
    stream.next();
    stream.eatWhile(/[^\s'"$]/);
    return null;
  },
  blankLine(state) {
    if (state.inHeredoc) return;
    state.directives = false;
  },
  languageData: { commentTokens: { line: "#" } },
};
