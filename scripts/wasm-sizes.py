#!/usr/bin/env python3
"""Sizes a wasm's function bodies by crate and module from its name section (docs/performance.md, issue 17).

Use the release build before wasm-bindgen and wasm-opt, which keeps the names:
    python3 scripts/wasm-sizes.py $CARGO_TARGET_DIR/wasm32-unknown-unknown/release/slipway-web.wasm [N]
Prints the groups of docs/performance.md's size profile, then the N largest functions (default 30).
"""
import collections
import re
import sys


def leb(b, i):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def bodies_by_name(path):
    f = open(path, "rb").read()
    i, imports, bodies, names = 8, 0, [], {}
    while i < len(f):
        sid = f[i]
        i += 1
        size, i = leb(f, i)
        end = i + size
        if sid == 2:  # imports: function imports come first in the index space
            n, j = leb(f, i)
            for _ in range(n):
                for _ in range(2):
                    ln, j = leb(f, j)
                    j += ln
                kind = f[j]
                j += 1
                if kind == 0:
                    _, j = leb(f, j)
                    imports += 1
                elif kind == 1:
                    j += 1
                    fl, j = leb(f, j)
                    _, j = leb(f, j)
                    if fl & 1:
                        _, j = leb(f, j)
                elif kind == 2:
                    fl, j = leb(f, j)
                    _, j = leb(f, j)
                    if fl & 1:
                        _, j = leb(f, j)
                elif kind == 3:
                    j += 2
        elif sid == 10:
            n, j = leb(f, i)
            for _ in range(n):
                s, j = leb(f, j)
                bodies.append(s)
                j += s
        elif sid == 0:
            n, j = leb(f, i)
            if f[j:j + n] == b"name":
                j += n
                while j < end:
                    sub = f[j]
                    j += 1
                    ss, j = leb(f, j)
                    if sub == 1:
                        cnt, k = leb(f, j)
                        for _ in range(cnt):
                            idx, k = leb(f, k)
                            ln, k = leb(f, k)
                            names[idx] = f[k:k + ln].decode("utf8", "replace")
                            k += ln
                    j += ss
        i = end
    out = collections.Counter()
    for n, s in enumerate(bodies):
        out[names.get(n + imports, "?")] += s
    return out


GROUPS = [
    ("slipway::cli", r"7slipway3cli"),
    ("slipway::builder", r"7slipway7builder"),
    ("slipway::dockerfile", r"7slipway10dockerfile"),
    ("slipway::compose + yaml", r"7slipway7compose|yaml_rust2|marked_yaml"),
    ("slipway::{registry, image, layer}", r"7slipway(8registry|5image|5layer)"),
    ("slipway::api", r"7slipway3api"),
    ("slipway::lesson", r"7slipway6lesson"),
    ("gzip, tar, sha2", r"zlib_rs|flate2|3tar|4sha2"),
    ("serde / serde_json generic code", r"serde"),
    ("Yew", r"yew"),
    ("slipway_web (the UI)", r"slipway_web"),
    ("core, alloc, std", r"^_ZN(4core|5alloc|3std)"),
]


def main():
    sizes = bodies_by_name(sys.argv[1])
    total = sum(sizes.values())
    seen = set()
    print("| what | code bytes | share |\n| --- | ---: | ---: |")
    for name, pattern in GROUPS:
        p = re.compile(pattern)
        group = sum(v for k, v in sizes.items() if k not in seen and p.search(k))
        seen.update(k for k in sizes if p.search(k))
        print(f"| {name} | {group:,} | {100 * group / total:.1f}% |")
    rest = sum(v for k, v in sizes.items() if k not in seen)
    print(f"| the rest | {rest:,} | {100 * rest / total:.1f}% |")
    print(f"\nfunction bodies in all: {total:,} B\n")
    for name, size in sizes.most_common(int(sys.argv[2]) if len(sys.argv) > 2 else 30):
        print(f"{size:9,} {name[:160]}")


if __name__ == "__main__":
    main()
