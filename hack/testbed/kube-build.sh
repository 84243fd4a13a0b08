#!/usr/bin/env bash
# kube-build.sh [NAME]
# Builds Kubernetes v1.20.2 from Debian bookworm's source package `kubernetes`
# (1.20.5+really1.20.2) with Debian's Go 1.19: kube-apiserver, kubelet, kube-controller-manager,
# kube-scheduler, and the pause binary (build/pause/linux/pause.c, static) for the pause image.
# All are cached together in $CARETAKER_CACHE/kubernetes-v1.20.2/. Prints the path of NAME
# (default kube-apiserver). A cached build returns at once.
# The build traps and their fixes are in docs/testbed.md and shared/notes/testbed.md.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KUBE_VERSION=v1.20.2
DEB_UPSTREAM_VERSION=1.20.5+really1.20.2  # the Debian revision (-1.1+deb12uN) may move
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
GO=/usr/lib/go-1.19/bin/go
OUT_DIR=$CARETAKER_CACHE/kubernetes-$KUBE_VERSION
COMMANDS=(kube-apiserver kubelet kube-controller-manager kube-scheduler)
WANTED=${1:-kube-apiserver}
DONE=$OUT_DIR/.complete  # written last: every binary is there

case " ${COMMANDS[*]} pause " in *" $WANTED "*) ;; *) die "unknown binary: $WANTED" ;; esac
if [[ -f $DONE ]]; then echo "$OUT_DIR/$WANTED"; exit 0; fi

# apt_private ARGS...: apt-get with a private source list, lists and cache (system config untouched).
apt_private() {
  apt-get -q -o Dir::Etc::SourceList="$APT_DIR/sources.list" -o Dir::Etc::SourceParts="$APT_DIR/parts" \
    -o Dir::State::Lists="$APT_DIR/lists" -o Dir::Cache="$APT_DIR/cache" \
    -o APT::Sandbox::User=root "$@"
}

setup_private_apt() {
  local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  mkdir -p "$APT_DIR"/{parts,lists/partial,cache/archives/partial}
  printf 'deb [signed-by=%s] %s bookworm main\ndeb-src [signed-by=%s] %s bookworm main\n' \
    "$keyring" "$DEBIAN_MIRROR" "$keyring" "$DEBIAN_MIRROR" > "$APT_DIR/sources.list"
  apt_private update -qq >&2
}

# fetch_sources: the upstream tree (orig tarball: full tree with vendor/) into $KUBE_SRC.
fetch_sources() {
  mkdir -p "$WORK/dl" "$KUBE_SRC"
  (cd "$WORK/dl" && apt_private source --download-only kubernetes >&2)
  local orig
  orig=$(find "$WORK/dl" -maxdepth 1 -name "kubernetes_$DEB_UPSTREAM_VERSION.orig.tar.*" | head -1)
  [[ -n $orig ]] || die "bookworm no longer has kubernetes $DEB_UPSTREAM_VERSION: $(ls "$WORK/dl")"
  tar -xf "$orig" -C "$KUBE_SRC" --strip-components=1
  [[ -d $KUBE_SRC/cmd/kube-apiserver && -d $KUBE_SRC/vendor ]] || die "unexpected tree in $orig"
}

# replace_reflect2: vendored reflect2 1.0.1 crashes with Go >= 1.18; use Debian's 1.0.2 files.
replace_reflect2() {
  local root=$WORK/reflect2-root vendored=$KUBE_SRC/vendor/github.com/modern-go/reflect2
  (cd "$WORK/dl" && apt_private download golang-github-modern-go-reflect2-dev >&2)
  dpkg -x "$WORK"/dl/golang-github-modern-go-reflect2-dev_*.deb "$root"
  local debian_src=$root/usr/share/gocode/src/github.com/modern-go/reflect2
  [[ -f $debian_src/reflect2.go ]] || die "reflect2 sources not found in the Debian package"
  rm -f "$vendored"/*.go "$vendored"/*.s
  cp "$debian_src"/*.go "$vendored"/
  find "$debian_src" -maxdepth 1 -name '*.s' -exec cp {} "$vendored"/ \;
  rm -f "$vendored"/*_test.go
}

# openapi_input_packages: import paths of the packages tagged +k8s:openapi-gen=.
openapi_input_packages() {
  # grep -l exits 1 for a batch without matches: that is not an error here
  (set +o pipefail; cd "$KUBE_SRC" && find . \( -path ./vendor -o -path ./_output -o -name testdata \) -prune \
      -o -name '*.go' ! -name '*_test.go' -print0 \
    | xargs -0 grep -l -- '+k8s:openapi-gen=' | xargs -n1 dirname | LC_ALL=C sort -u \
    | grep -v -e '^./staging/src/k8s.io/code-generator' -e '^./staging/src/k8s.io/sample-apiserver' \
    | sed -e 's#^\./staging/src/#./vendor/#' -e 's#^\./vendor/#VENDOR/#' \
          -e 's#^\./#k8s.io/kubernetes/#' -e 's#^VENDOR/#k8s.io/kubernetes/vendor/#')
}

generate_openapi() {
  "$GO" build -o "$WORK/bin/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
  local inputs
  inputs=$(openapi_input_packages | paste -sd,)
  [[ -n $inputs ]] || die "no packages tagged +k8s:openapi-gen="
  "$WORK/bin/openapi-gen" --logtostderr \
    --input-dirs "$inputs" \
    --output-base "$GOPATH/src" \
    --output-package k8s.io/kubernetes/pkg/generated/openapi \
    -O zz_generated.openapi \
    --go-header-file hack/boilerplate/boilerplate.generatego.txt \
    --report-filename "$WORK/openapi-violations.report" >&2
  [[ -s pkg/generated/openapi/zz_generated.openapi.go ]] || die "openapi-gen wrote nothing"
}

build_binaries() {
  local major minor vpkg=k8s.io/kubernetes/vendor/k8s.io
  major=${KUBE_VERSION#v}; minor=${major#*.}; minor=${minor%%.*}; major=${major%%.*}
  local ldflags="-s -w"
  for pkg in "$vpkg/component-base/version" "$vpkg/client-go/pkg/version"; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  local cmd pkgs=()
  for cmd in "${COMMANDS[@]}"; do pkgs+=("./cmd/$cmd"); done
  mkdir -p "$WORK/out"
  "$GO" build -ldflags "$ldflags" -o "$WORK/out/" "${pkgs[@]}"
  for cmd in "${COMMANDS[@]}"; do
    "$WORK/out/$cmd" --version | grep -qx "Kubernetes $KUBE_VERSION" \
      || die "built $cmd reports: $("$WORK/out/$cmd" --version)"
  done
  # the pause container's only process (the image is made by images.sh)
  gcc -Os -static -DVERSION=3.2 -o "$WORK/out/pause" build/pause/linux/pause.c
  strip "$WORK/out/pause"
}

main() {
  [[ -x $GO ]] || apt_install golang-1.19-go
  mkdir -p "$OUT_DIR"
  exec 9>"$OUT_DIR/.build.lock"
  flock 9  # a concurrent build of the same version finishes first; then reuse its result
  if [[ -f $DONE ]]; then echo "$OUT_DIR/$WANTED"; return 0; fi

  WORK=$(mktemp -d "${TMPDIR:-/tmp}/caretaker-kube-build.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  APT_DIR=$WORK/apt
  export GOPATH=$WORK/gopath GOCACHE=$WORK/gocache GO111MODULE=off GOPROXY=off CGO_ENABLED=0 GOFLAGS=
  KUBE_SRC=$GOPATH/src/k8s.io/kubernetes
  local started=$SECONDS

  log "kube-apiserver $KUBE_VERSION: fetching Debian source kubernetes $DEB_UPSTREAM_VERSION"
  setup_private_apt
  fetch_sources
  replace_reflect2
  cd "$KUBE_SRC"
  log "generating zz_generated.openapi.go"
  generate_openapi
  log "compiling ${COMMANDS[*]} (about 7 minutes on 2 cores)"
  build_binaries
  local name
  for name in "${COMMANDS[@]}" pause; do install -m 0755 "$WORK/out/$name" "$OUT_DIR/$name"; done
  touch "$DONE"
  log "Kubernetes $KUBE_VERSION built in $((SECONDS - started)) s: $OUT_DIR"
  echo "$OUT_DIR/$WANTED"
}

main "$@"
