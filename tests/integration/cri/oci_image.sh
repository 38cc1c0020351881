#!/bin/bash
# Writes an OCI image layout as a tar archive (what `ctr images import` reads) from a root
# filesystem directory, with no registry and no image tool: one uncompressed layer, its config
# and manifest, each a blob named by its sha256, and an index.json whose manifest carries the
# image's name in org.opencontainers.image.ref.name.
# Usage: oci_image.sh ROOTFS_DIR IMAGE_NAME OUTPUT_TAR ENTRYPOINT...
set -euo pipefail
rootfs=$1 name=$2 output=$3
shift 3
layout=$(mktemp -d /tmp/vessel-oci-XXXXXX)
trap 'rm -rf "$layout"' EXIT
mkdir -p "$layout/blobs/sha256"

blob() {  # blob FILE: moves FILE into the blob store; prints "DIGEST SIZE"
    local digest size
    digest=$(sha256sum "$1" | cut -d' ' -f1)
    size=$(stat -c %s "$1")
    mv "$1" "$layout/blobs/sha256/$digest"
    echo "$digest $size"
}

# A reproducible layer: sorted names, root-owned, fixed times.
tar -C "$rootfs" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$layout/layer" .
read -r layer_digest layer_size < <(blob "$layout/layer")

entrypoint=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
jq -nc --arg diff "sha256:$layer_digest" --argjson entrypoint "$entrypoint" \
    '{architecture: "amd64", os: "linux",
      config: {Entrypoint: $entrypoint, Env: ["PATH=/bin"], WorkingDir: "/"},
      rootfs: {type: "layers", diff_ids: [$diff]}}' >"$layout/config"
read -r config_digest config_size < <(blob "$layout/config")

jq -nc --arg config "sha256:$config_digest" --argjson config_size "$config_size" \
    --arg layer "sha256:$layer_digest" --argjson layer_size "$layer_size" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $config, size: $config_size},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $layer, size: $layer_size}]}' \
    >"$layout/manifest"
read -r manifest_digest manifest_size < <(blob "$layout/manifest")

jq -nc --arg manifest "sha256:$manifest_digest" --argjson size "$manifest_size" --arg name "$name" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $manifest,
                   size: $size, platform: {architecture: "amd64", os: "linux"},
                   annotations: {"org.opencontainers.image.ref.name": $name}}]}' >"$layout/index.json"
echo '{"imageLayoutVersion": "1.0.0"}' >"$layout/oci-layout"
tar -C "$layout" --sort=name --owner=0 --group=0 --numeric-owner -cf "$output" oci-layout index.json blobs
