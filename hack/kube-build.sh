#!/usr/bin/env bash
# Builds Kubernetes commands from the Go module proxy into a directory:
#   hack/kube-build.sh DIR VERSION kube-apiserver kubelet ...
# k8s.io/kubernetes is not meant to be a dependency: a throwaway module
# requires it and replaces every staging module (k8s.io/X => ./staging/...)
# with its published k8s.io/X release, then builds each command, static and
# stamped with its real version (else it reports v0.0.0-master). A command
# already in DIR is kept.
set -euo pipefail
dir=$1 version=$2
shift 2
missing=()
for cmd in "$@"; do [[ -x $dir/$cmd ]] || missing+=("$cmd"); done
[[ ${#missing[@]} -gt 0 ]] || exit 0

log() { echo "kube-build: $*" >&2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gomod=$(go mod download -json "k8s.io/kubernetes@v$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
staging=$(grep -E '^\s*k8s\.io/[^ ]+ => \./staging/' "$gomod" | awk '{print $1}')
cd "$work"
go mod init kube-build >/dev/null 2>&1
go mod edit -require="k8s.io/kubernetes@v$version"
for m in $staging; do
  # Only modules kubernetes requires need a replacement; the rest are never loaded.
  if grep -qE "^\s*$m v0\.0\.0" "$gomod"; then
    go mod edit -replace="$m=$m@v0.${version#1.}"
  fi
done
stamp="-s -w -X k8s.io/component-base/version.gitVersion=v$version -X k8s.io/client-go/pkg/version.gitVersion=v$version"
for cmd in "${missing[@]}"; do
  log "building $cmd $version from the module proxy"
  pkg=k8s.io/kubernetes/cmd/$cmd
  CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "$stamp" -o "$dir/$cmd" "$pkg"
done
