#!/bin/sh
# test_deb.sh SOURCE_DIR — the Debian packages built from the tree (a copy of it, so the worktree stays clean) with
# `dpkg-buildpackage -b -us -uc`: lintian finds no error; dpkg-deb shows hegui with the command, the unit, the
# configuration as a conffile, the pages and the completion, a postinst that makes the system user, and a dependency
# on libhegui0; libhegui0 holds libhegui.so.0 (soname libhegui.so.0) and libhegui-dev the headers, the link and
# hegui.pc. Then the packages are unpacked into a throwaway root and the installed hegui runs from it: its version,
# its configuration checked, its pages equal to what it prints.
src=$(cd "$1" && pwd)
fail=0
no() { echo "FAIL: $*"; fail=1; }
for tool in dpkg-buildpackage dh lintian dpkg-deb; do
  command -v $tool >/dev/null || { echo "FAIL: $tool is missing (scripts/install-deps.sh test installs it)"; exit 1; }
done
tmp=$(mktemp -d /tmp/hg-deb-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src"
if git -C "$src" rev-parse >/dev/null 2>&1; then
  (cd "$src" && git ls-files -co --exclude-standard | grep -v '^build' | tar -cf - -T -) | tar -xf - -C "$tmp/src"
else
  (cd "$src" && tar --exclude='./build*' --exclude=./obj-* -cf - .) | tar -xf - -C "$tmp/src"
fi
jobs=$(nproc 2>/dev/null || echo 2)
(cd "$tmp/src" && DEB_BUILD_OPTIONS="parallel=$jobs" dpkg-buildpackage -b -us -uc >"$tmp/build.log" 2>&1) || {
  tail -40 "$tmp/build.log"
  echo "FAIL: dpkg-buildpackage"
  exit 1
}
changes=$(ls "$tmp"/hegui_*.changes)
lintian --fail-on error --suppress-tags-from-file /dev/null "$changes" >"$tmp/lintian.log" 2>&1 || no "lintian: $(cat "$tmp/lintian.log")"
echo "lintian (errors fail the test; warnings and notes listed):"
sed 's/^/  /' "$tmp/lintian.log"

deb() { ls "$tmp"/"$1"_*.deb; }
hegui_deb=$(deb hegui) lib_deb=$(deb libhegui0) dev_deb=$(deb libhegui-dev)
contents=$(dpkg-deb -c "$hegui_deb")
for f in ./usr/bin/hegui ./etc/hegui/hegui.yaml ./lib/systemd/system/hegui.service ./usr/share/man/man1/hegui.1.gz \
  ./usr/share/man/man5/hegui.yaml.5.gz ./usr/share/bash-completion/completions/hegui; do
  echo "$contents" | grep -q " $f\$" || no "hegui.deb has no $f"
done
dpkg-deb -f "$hegui_deb" Depends | grep -q "libhegui0 (>= 0.1.0)\|libhegui0 (= \|libhegui0\b" || no "hegui depends on libhegui0: $(dpkg-deb -f "$hegui_deb" Depends)"
dpkg-deb -f "$hegui_deb" Depends | grep -q adduser || no "hegui depends on adduser"
dpkg-deb --ctrl-tarfile "$hegui_deb" | tar -xOf - ./conffiles | grep -qx /etc/hegui/hegui.yaml || no "the configuration is a conffile"
dpkg-deb --ctrl-tarfile "$hegui_deb" | tar -xOf - ./postinst >"$tmp/postinst"
grep -q "adduser --system" "$tmp/postinst" || no "postinst makes the system user"
grep -q "deb-systemd-helper" "$tmp/postinst" || no "postinst enables the unit (dh_installsystemd)"
dpkg-deb -c "$lib_deb" | grep -q "/libhegui.so.0 -> libhegui.so.0.1.0" || no "libhegui0 has libhegui.so.0"
for f in /usr/include/hegui/hegui.h libhegui.so libhegui.a /pkgconfig/hegui.pc; do
  dpkg-deb -c "$dev_deb" | grep -q "$f" || no "libhegui-dev has no $f"
done

# the throwaway root: the three packages unpacked, and hegui run from there
root=$tmp/root
for d in "$hegui_deb" "$lib_deb" "$dev_deb"; do dpkg-deb -x "$d" "$root"; done
libdir=$(dirname "$(find "$root" -name libhegui.so.0)")
soname=$(readelf -d "$libdir/libhegui.so.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libhegui.so.0 ] || no "soname: $soname"
run() { LD_LIBRARY_PATH=$libdir "$root/usr/bin/hegui" "$@"; }
LD_LIBRARY_PATH=$libdir ldd "$root/usr/bin/hegui" | grep -q "libhegui.so.0 => $libdir" || no "hegui uses libhegui.so.0"
ver=$(run version) || no "the installed hegui runs"
[ "$ver" = "hegui $(dpkg-deb -f "$hegui_deb" Version)" ] || no "version '$ver' against the package's"
run config check "$root/etc/hegui/hegui.yaml" >/dev/null || no "the packaged configuration checks"
run config show "$root/etc/hegui/hegui.yaml" | grep -q 'data_dir: "/var/lib/hegui"' || no "its data_dir is /var/lib/hegui"
grep -q "^ExecStart=/usr/bin/hegui serve --config /etc/hegui/hegui.yaml" "$root/lib/systemd/system/hegui.service" ||
  no "the unit runs /usr/bin/hegui on /etc/hegui/hegui.yaml"
zcat "$root/usr/share/man/man1/hegui.1.gz" >"$tmp/m1"
run help --man | cmp -s - "$tmp/m1" || no "the packaged hegui(1) is what the packaged hegui prints"
run check "法 * 轮 _ 功" >/dev/null
[ $? -eq 1 ] || no "the packaged hegui moderates (check finds the starter lexicon's entry)"
[ $fail -eq 0 ] && echo "deb: all passed"
exit $fail
