#!/bin/sh
# test_container.sh SOURCE_DIR — the Containerfile builds an image (podman, else docker) whose hegui runs as a
# non-root user, and whose HEALTHCHECK asks /healthz. Skipped (77, saying why) when no container tool works here.
src=$(cd "$1" && pwd)
tool=
for t in podman docker; do
  if command -v $t >/dev/null && $t info >/dev/null 2>&1; then tool=$t; break; fi
done
[ -n "$tool" ] || { echo "SKIP: no working podman or docker here (the recipe is checked where one is)"; exit 77; }
fail=0
no() { echo "FAIL: $*"; fail=1; }
tag=hegui-test:$$
$tool build -f "$src/Containerfile" -t "$tag" "$src" >/tmp/hg-container-$$.log 2>&1 || { tail -30 /tmp/hg-container-$$.log; exit 1; }
rm -f /tmp/hg-container-$$.log
user=$($tool image inspect -f '{{.Config.User}}' "$tag")
[ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ] || no "the image runs as root ('$user')"
$tool image inspect -f '{{json .Config.Healthcheck}}' "$tag" | grep -q healthz || no "no health check on /healthz"
out=$($tool run --rm "$tag" version) || no "hegui version in the image"
echo "$out" | grep -q "^hegui " || no "version: $out"
uid=$($tool run --rm --entrypoint id "$tag" -u)
[ "$uid" != 0 ] || no "the container's process is root"
$tool run --rm "$tag" config check /etc/hegui/hegui.yaml >/dev/null || no "the image's configuration checks"
$tool rmi -f "$tag" >/dev/null 2>&1
[ $fail -eq 0 ] && echo "container: all passed"
exit $fail
