#!/bin/sh
# test_make_install.sh BUILD_DIR — `cmake --install` (what `make install` runs) into a throwaway DESTDIR under another
# prefix: the command, libhegui.so with its soname and links, the headers, hegui.pc, both manual pages, the bash
# completion, the example and service configurations and the unit; then a program built against the installed
# library through pkg-config alone runs, and the installed hegui checks the installed configuration.
build=$1
fail=0
no() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d /tmp/hg-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
DESTDIR="$tmp/root" cmake --install "$build" --prefix /opt/hegui >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; exit 1; }
r=$tmp/root/opt/hegui
for f in bin/hegui lib/libhegui.so.0.1.0 lib/libhegui.a include/hegui/hegui.h include/hegui/config.h \
  lib/pkgconfig/hegui.pc share/man/man1/hegui.1 share/man/man5/hegui.yaml.5 share/bash-completion/completions/hegui \
  share/doc/hegui/examples/hegui.yaml etc/hegui/hegui.yaml lib/systemd/system/hegui.service; do
  [ -f "$r/$f" ] || no "not installed: $f"
done
[ "$(readlink "$r/lib/libhegui.so.0")" = libhegui.so.0.1.0 ] || no "libhegui.so.0 -> libhegui.so.0.1.0"
[ "$(readlink "$r/lib/libhegui.so")" = libhegui.so.0 ] || no "libhegui.so -> libhegui.so.0"
soname=$(readelf -d "$r/lib/libhegui.so.0.1.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libhegui.so.0 ] || no "soname: '$soname'"
find "$tmp/root" -path "$tmp/root/opt" -prune -o -type f -print | grep -q . && no "files outside the prefix: $(find "$tmp/root" -path "$tmp/root/opt" -prune -o -type f -print)"

cat >"$tmp/use.c" <<'EOF2'
#include <hegui/hegui.h>
#include <stdio.h>
#include <string.h>
int main(void) {
  hg_config cfg;
  hg_config_init(&cfg);
  printf("%s %s\n", hg_version(), cfg.listen);
  return strcmp(cfg.listen, "127.0.0.1:8080") != 0;
}
EOF2
export PKG_CONFIG_PATH="$r/lib/pkgconfig"
[ "$(pkg-config --modversion hegui)" = "$("$r/bin/hegui" version | cut -d' ' -f2)" ] || no "hegui.pc's version"
# shellcheck disable=SC2046
cc -o "$tmp/use" "$tmp/use.c" $(pkg-config --cflags --libs hegui) $(pkg-config --libs libsodium) \
  -fsanitize=address,undefined 2>"$tmp/cc.log" || no "compiling against the installed library: $(cat "$tmp/cc.log")"
out=$(LD_LIBRARY_PATH="$r/lib" "$tmp/use") || no "the program linked with libhegui.so: $out"
LD_LIBRARY_PATH="$r/lib" ldd "$tmp/use" | grep -q "libhegui.so.0 => $r/lib/libhegui.so.0" || no "it uses the installed libhegui.so.0"
"$r/bin/hegui" config check "$r/etc/hegui/hegui.yaml" >/dev/null || no "the service configuration checks"
"$r/bin/hegui" config check "$r/share/doc/hegui/examples/hegui.yaml" >/dev/null || no "the example configuration checks"
[ $fail -eq 0 ] && echo "make install: all passed"
exit $fail
