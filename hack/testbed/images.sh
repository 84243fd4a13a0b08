#!/usr/bin/env bash
# Images of the testbed, built locally (there is no registry) and reused while their inputs are
# unchanged: each tag is a hash of what went into it.
#
#   images.sh build SOCKET                 build or reuse every image in the engine at SOCKET;
#                                          prints NAME=REF lines (BASE, PAUSE, WORKLOAD, CEPH, CARETAKER)
#   images.sh copy FROM TO ENV_FILE        load the images of ENV_FILE that engine TO lacks
#
# BASE: `debootstrap --variant=minbase bookworm` plus this machine's CA bundle (package installs
# inside image builds go through a TLS-intercepting egress), imported with `docker import`.
# PAUSE: k8s.gcr.io/pause:3.2 (kubelet 1.20's default) from the pause.c that kube-build.sh compiled.
# WORKLOAD: images/workload (stops STOP_SECONDS after SIGTERM). CEPH: images/ceph (Debian's
# ceph-osd, same version as the host's). CARETAKER: the project's own Dockerfile, unchanged,
# with its base image passed as the build argument DEBIAN_IMAGE.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REPO=$(cd "$TESTBED_DIR/../.." && pwd)
IMAGES_DIR=$TESTBED_DIR/images
CACHE=$CARETAKER_CACHE/images
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
mkdir -p "$CACHE"

hash_of() { sha256sum | cut -c1-12; }
# files_hash PATH...: hash of the names and contents of the files under PATHs (no caches)
files_hash() {
  (cd "$REPO" && find "$@" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
    | LC_ALL=C sort -z | xargs -0 sha256sum) | hash_of
}

has_image() { docker -H "unix://$SOCK" image inspect "$1" >/dev/null 2>&1; }

# build TAG LOGNAME ARGS...: docker build (classic builder: no frontend image to download).
build() {
  local tag=$1 name=$2; shift 2
  has_image "$tag" && return 0
  local t0=$SECONDS
  log "images: building $tag"
  DOCKER_BUILDKIT=0 docker -H "unix://$SOCK" build --network host -t "$tag" "$@" \
    >"$CACHE/$name.build.log" 2>&1 \
    || { tail -n 30 "$CACHE/$name.build.log" >&2; die "building $tag failed"; }
  log "images: $tag built in $((SECONDS - t0)) s"
}

base_image() {
  local h tag tarball root
  h=$( { echo "minbase bookworm ca-certificates v1"; sha256sum < "$HOST_CA_BUNDLE"; } | hash_of)
  tag=ct-testbed/debian:$h
  tarball=$CACHE/debian-bookworm-$h.tar
  if ! has_image "$tag"; then
    if [[ ! -s $tarball ]]; then
      local t0=$SECONDS
      log "images: debootstrap of a bookworm minbase (once per machine)"
      root=$(mktemp -d "${TMPDIR:-/tmp}/ct-debootstrap.XXXXXX")
      debootstrap --variant=minbase --include=ca-certificates bookworm "$root" "$DEBIAN_MIRROR" \
        >"$CACHE/debootstrap.log" 2>&1 || { tail -n 20 "$CACHE/debootstrap.log" >&2; rm -rf "$root"; die "debootstrap failed"; }
      cp "$HOST_CA_BUNDLE" "$root/usr/local/share/ca-certificates/host-ca-bundle.crt"
      chroot "$root" update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed"
      rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
      tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
      rm -rf "$root"
      log "images: base root file system made in $((SECONDS - t0)) s"
    fi
    docker -H "unix://$SOCK" import "$tarball" "$tag" >/dev/null || die "docker import failed"
  fi
  echo "$tag"
}

pause_image() {
  local tag=k8s.gcr.io/pause:3.2 ctx pause
  pause=$("$TESTBED_DIR/kube-build.sh" pause)
  if ! has_image "$tag"; then
    ctx=$(mktemp -d "${TMPDIR:-/tmp}/ct-pause.XXXXXX")
    cp "$pause" "$ctx/pause"
    printf 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n' > "$ctx/Dockerfile"
    build "$tag" pause "$ctx"
    rm -rf "$ctx"
  fi
  echo "$tag"
}

cmd_build() {
  SOCK=$1
  local base pause workload ceph caretaker ceph_version h
  base=$(base_image)
  pause=$(pause_image)
  h=$( { echo "$base"; files_hash hack/testbed/images/workload; } | hash_of)
  workload=ct-testbed/workload:$h
  build "$workload" workload --build-arg "BASE=$base" "$IMAGES_DIR/workload"
  ceph_version=$(dpkg-query -W -f='${Version}' ceph-osd)
  h=$( { echo "$base $ceph_version"; files_hash hack/testbed/images/ceph; } | hash_of)
  ceph=ct-testbed/ceph:$h
  build "$ceph" ceph --build-arg "BASE=$base" --build-arg "CEPH_VERSION=$ceph_version" "$IMAGES_DIR/ceph"
  h=$( { echo "$base"; files_hash Dockerfile .dockerignore pyproject.toml README.md crds operator; } | hash_of)
  caretaker=caretaker:testbed-$h
  build "$caretaker" caretaker --build-arg "DEBIAN_IMAGE=$base" "$REPO"
  printf 'BASE=%s\nPAUSE=%s\nWORKLOAD=%s\nCEPH=%s\nCARETAKER=%s\n' \
    "$base" "$pause" "$workload" "$ceph" "$caretaker"
}

cmd_copy() {
  local from=$1 to=$2 env_file=$3 ref missing=()
  while IFS='=' read -r _ ref; do
    [[ -n $ref ]] || continue
    docker -H "unix://$to" image inspect "$ref" >/dev/null 2>&1 || missing+=("$ref")
  done < "$env_file"
  (( ${#missing[@]} == 0 )) && return 0
  log "images: loading ${missing[*]} into $to"
  docker -H "unix://$from" save "${missing[@]}" | docker -H "unix://$to" load >/dev/null \
    || die "docker load into $to failed"
}

case ${1:-} in
  build) [[ $# -eq 2 ]] || die "usage: images.sh build SOCKET"; cmd_build "$2" ;;
  copy) [[ $# -eq 4 ]] || die "usage: images.sh copy FROM TO ENV_FILE"; cmd_copy "$2" "$3" "$4" ;;
  *) die "usage: images.sh {build SOCKET | copy FROM TO ENV_FILE}" ;;
esac
