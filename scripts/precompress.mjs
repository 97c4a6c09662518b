// Writes `NAME.br` (brotli, quality 11) and `NAME.gz` (gzip -9) beside each of the app's text and wasm files, so
// `slipway serve` sends them as they are (tower-http's precompressed ServeDir) instead of gzipping per request.
// Trunk runs it as a post_build hook on its staging directory; by hand: `node scripts/precompress.mjs DIR`.
// Node's own zlib: nothing downloaded.
import { readdirSync, readFileSync, writeFileSync, statSync, utimesSync } from "node:fs";
import { join, extname } from "node:path";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const COMPRESSIBLE = new Set([".wasm", ".js", ".mjs", ".css", ".html", ".json", ".svg", ".txt", ".md", ".yaml", ".yml"]);
// Under this the headers cost more than the bytes saved (tower-http's own compression skips tiny bodies too).
const MIN_BYTES = 1024;

const root = process.argv[2] || process.env.TRUNK_STAGING_DIR;
if (!root) {
  console.error("precompress: give the directory (or run as a Trunk hook: TRUNK_STAGING_DIR)");
  process.exit(1);
}

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.isFile() && COMPRESSIBLE.has(extname(entry.name))) yield path;
  }
}

let [count, raw, br, gz] = [0, 0, 0, 0];
for (const path of files(root)) {
  const stat = statSync(path);
  if (stat.size < MIN_BYTES) continue;
  const bytes = readFileSync(path);
  const brotli = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      [constants.BROTLI_PARAM_MODE]: extname(path) === ".wasm" ? constants.BROTLI_MODE_GENERIC : constants.BROTLI_MODE_TEXT,
    },
  });
  const gzip = gzipSync(bytes, { level: 9 });
  // One whole-second time on the file and both copies: Last-Modified (and so caching) is the same whatever the
  // encoding (utimes rounds sub-second times, which could put the copies a second apart).
  const second = Math.floor(stat.mtimeMs / 1000);
  utimesSync(path, second, second);
  for (const [suffix, data] of [[".br", brotli], [".gz", gzip]]) {
    writeFileSync(path + suffix, data);
    utimesSync(path + suffix, second, second);
  }
  [count, raw, br, gz] = [count + 1, raw + bytes.length, br + brotli.length, gz + gzip.length];
}
console.log(`precompress: ${count} files, ${raw} B raw, ${br} B brotli, ${gz} B gzip -9`);
