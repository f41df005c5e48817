#!/usr/bin/env bash
# Puts kube-apiserver and etcd for envtest into $ENVTEST_DIR (default bin/k8s/<version>).
#
# First it asks controller-runtime's setup-envtest to download them. Where that host cannot be
# reached (air-gapped CI, a closed network), it builds both from the Go module proxy instead:
# etcd from go.etcd.io/etcd/server/v3, kube-apiserver from k8s.io/kubernetes with every staging
# module replaced by its published k8s.io/* release. Results are cached: a second run only checks
# that the two binaries exist.
set -euo pipefail

: "${ENVTEST_K8S_VERSION:?set ENVTEST_K8S_VERSION (the Makefile pins it)}"
: "${ENVTEST_ETCD_VERSION:?set ENVTEST_ETCD_VERSION (the Makefile pins it)}"
: "${SETUP_ENVTEST_VERSION:?set SETUP_ENVTEST_VERSION (the Makefile pins it)}"

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${ENVTEST_DIR:-$root/bin/k8s/$ENVTEST_K8S_VERSION}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if [[ -x $dir/kube-apiserver && -x $dir/etcd ]]; then
  echo "$dir"
  exit 0
fi

log() { echo "setup-envtest: $*" >&2; }

try_download() {
  local tmp
  tmp=$(mktemp -d)
  log "trying setup-envtest@$SETUP_ENVTEST_VERSION download of $ENVTEST_K8S_VERSION"
  if timeout 120 go run "sigs.k8s.io/controller-runtime/tools/setup-envtest@$SETUP_ENVTEST_VERSION" \
      use "$ENVTEST_K8S_VERSION" --bin-dir "$tmp" -p path >"$tmp/path" 2>"$tmp/err"; then
    local got
    got=$(cat "$tmp/path")
    cp "$got/kube-apiserver" "$got/etcd" "$dir/"
    rm -rf "$tmp"
    return 0
  fi
  log "download unavailable: $(tail -n 1 "$tmp/err")"
  rm -rf "$tmp"
  return 1
}

build_etcd() {
  local work
  work=$(mktemp -d)
  log "building etcd $ENVTEST_ETCD_VERSION from the module proxy"
  (
    cd "$work"
    go mod init envtest-etcd >/dev/null 2>&1
    go mod edit -require="go.etcd.io/etcd/server/v3@v$ENVTEST_ETCD_VERSION"
    GOFLAGS=-mod=mod go build -trimpath -o "$dir/etcd" go.etcd.io/etcd/server/v3
  )
  rm -rf "$work"
}

build_apiserver() {
  log "building kube-apiserver $ENVTEST_K8S_VERSION from the module proxy (several minutes, once)"
  "$root/hack/kube-build.sh" "$dir" "$ENVTEST_K8S_VERSION" kube-apiserver
}

if [[ ${ENVTEST_SKIP_DOWNLOAD:-} == 1 ]] || ! try_download; then
  [[ -x $dir/etcd ]] || build_etcd
  [[ -x $dir/kube-apiserver ]] || build_apiserver
fi
echo "$dir"
