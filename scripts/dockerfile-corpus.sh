#!/usr/bin/env bash
# Fetches the real-project Dockerfile corpus (tests/dockerfile/corpus.rs) from Debian's archive: the packages the
# `package:` lines of tests/golden/dockerfile-corpus/GROUP/NAME/PROVENANCE name are downloaded with `apt-get download` (no
# install, no dependencies) and only their Dockerfiles and copyright files are extracted, into
# $SLIPWAY_DOCKERFILE_CORPUS (default /var/tmp/slipway-dockerfile-corpus, outside the clone) as PACKAGE/root/...
# with the version found in PACKAGE/version. A package already there is reused, so a second run does nothing.
# Nothing is committed: the tree holds only each file's provenance and sha256.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${SLIPWAY_DOCKERFILE_CORPUS:-/var/tmp/slipway-dockerfile-corpus}"
mkdir -p "$cache"

# Usage: scripts/dockerfile-corpus.sh [PACKAGE...]   (default: every package a PROVENANCE names)
if (($#)); then
    packages=("$@")
else
    mapfile -t packages < <(sed -n 's/^package: //p' tests/golden/dockerfile-corpus/*/*/PROVENANCE | sort -u)
fi
((${#packages[@]})) || { echo "no package: lines in tests/golden/dockerfile-corpus/*/*/PROVENANCE" >&2; exit 1; }
rm -rf "$cache"/.fetch-*  # what an interrupted run left
updated=no
for pkg in "${packages[@]}"; do
    [[ -s "$cache/$pkg/version" ]] && continue
    work=$(mktemp -d "$cache/.fetch-$pkg.XXXXXX")
    if ! (cd "$work" && apt-get download -qq "$pkg" 2>/dev/null); then
        if [[ $updated == no ]]; then
            echo "apt-get download $pkg failed; apt-get update, then again" >&2
            DEBIAN_FRONTEND=noninteractive apt-get update -qq
            updated=yes
        fi
        (cd "$work" && apt-get download -qq "$pkg")
    fi
    debs=("$work"/*.deb)
    deb=${debs[0]}
    mkdir "$work/root"
    dpkg-deb --fsys-tarfile "$deb" |
        tar -x -C "$work/root" --wildcards '*/Dockerfile*' "./usr/share/doc/$pkg/copyright"
    dpkg-deb -f "$deb" Version > "$work/version"
    rm "$deb"
    rm -rf "${cache:?}/$pkg"
    mv "$work" "$cache/$pkg"
    echo "dockerfile corpus: $pkg $(cat "$cache/$pkg/version")"
done
echo "dockerfile corpus: ${#packages[@]} Debian packages in $cache"
