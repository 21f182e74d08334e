#!/usr/bin/env bash
# Installs the Debian packages hegui needs to build, test and benchmark, when any is missing. Called by the
# make targets; safe to run again (does nothing when all are present). Needs root or sudo for apt-get.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config python3 unicode-data opencc libopencc-data libicu-dev libsodium-dev libsqlite3-dev libjansson-dev libyaml-dev libevent-dev libcurl4-openssl-dev libpcre2-dev zlib1g-dev libsystemd-dev libpng-dev libjpeg-dev libwebp-dev libfreetype-dev fonts-wqy-microhei libtesseract-dev libleptonica-dev tesseract-ocr-chi-sim tesseract-ocr-eng libespeak-ng-dev espeak-ng-data libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev)
test_pkgs=(libcmocka-dev clang libclang-rt-14-dev clang-format sqlite3 python3-cryptography prometheus curl libimage-exiftool-perl ffmpeg poppler-utils python3-yaml unzip libarchive-zip-perl debhelper lintian fakeroot systemd bash-completion espeak-ng python3-pil)
bench_pkgs=(libhyperscan-dev grep wrk nginx-light linux-perf tesseract-ocr)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac
# node and npm for the e2e test with the official openai client: Debian's nodejs and npm, unless a node that
# brings its own npm is there already (Debian's npm would conflict with it)
if [ "${1:-build}" != build ] && ! command -v npm >/dev/null 2>&1; then
  want+=(nodejs npm)
fi
# libhyperscan-dev exists only on x86-64
if [ "$(dpkg --print-architecture 2>/dev/null)" != amd64 ]; then
  want=("${want[@]/libhyperscan-dev}")
fi

missing=()
for p in "${want[@]}"; do
  [ -n "$p" ] || continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || echo "install-deps: apt-get update failed; trying with the package lists at hand" >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
