#!/bin/sh
# check_layers.sh [SOURCE_DIR] — the include rules of docs/architecture (DESIGN.md "layers"), checked by grep:
#  1. a public header includes only headers of a lower layer (the table below); a new header must be placed in it;
#  2. no library source (src/ outside gateway/ and cli/) includes a gateway or command-line header;
#  3. only the store's own files include store/store_internal.h (the backend interface);
#  4. no library source or public header includes the umbrella hegui/hegui.h.
# Prints each violation; exits 1 when there is one.
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
bad=0
say() { echo "layers: $*"; bad=1; }

rank() {
  case "$1" in
  status.h | version.h) echo 0 ;;
  text.h | label.h | pii.h | lexicon.h | takedown.h) echo 1 ;;
  keys.h | audit.h | review.h | complaints.h | takedowns.h | standing.h | quotas.h | retention.h) echo 1 ;;
  webhooks.h) echo 1 ;;
  versions.h) echo 1 ;;
  ocr.h | media.h) echo 1 ;;
  regex.h | classify.h | config.h | filelabel.h | guard.h) echo 2 ;;
  users.h | dsar.h) echo 2 ;;
  identity.h | moderate.h | store.h) echo 3 ;;
  hegui.h) echo 9 ;;
  *) echo "" ;;
  esac
}

for h in include/hegui/*.h; do
  name=$(basename "$h")
  r=$(rank "$name")
  [ -n "$r" ] || { say "$h: not in the layer table of tools/check_layers.sh"; continue; }
  for inc in $(sed -n 's/^#include "hegui\/\([a-z_]*\.h\)".*/\1/p' "$h"); do
    ir=$(rank "$inc")
    if [ -z "$ir" ] || [ "$ir" -ge "$r" ]; then say "$h (layer $r) includes hegui/$inc (layer ${ir:-?})"; fi
  done
done

for f in $(find src -name '*.[ch]' ! -path 'src/gateway/*' ! -path 'src/cli/*'); do
  grep -Hn '#include "\(gateway\|cli\)/' "$f" | while read -r l; do echo "layers: library file includes a higher layer: $l"; done
  grep -q '#include "\(gateway\|cli\)/' "$f" && bad=1
  if grep -q '#include "hegui/hegui.h"' "$f"; then say "$f includes the umbrella hegui/hegui.h"; fi
done

for f in $(grep -rl '#include "store/store_internal.h"' src include 2>/dev/null); do
  case "$f" in src/store/*) ;; *) say "$f includes store/store_internal.h (only src/store may)" ;; esac
done

[ $bad -eq 0 ] && echo "layers: ok"
exit $bad
