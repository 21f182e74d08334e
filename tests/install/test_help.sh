#!/bin/sh
# test_help.sh HEGUI BUILD_DIR — every command answers `hegui COMMAND --help` (exit 0, its usage), `hegui help`
# lists them, the hegui(1) page names every command and the hegui.yaml(5) page every key of `hegui config keys`,
# the pages the build wrote are what the program prints now (no drift), groff reads both without a warning, and
# the bash completion offers the commands and subcommands.
hegui=$1 build=$2
fail=0
no() { echo "FAIL: $*"; fail=1; }

cmds=$("$hegui" help | sed -n 's/^  \([a-z]*\) .*/\1/p')
[ "$(echo "$cmds" | wc -l)" -ge 15 ] || no "hegui help lists the commands: $cmds"
man1=$("$hegui" help --man)
for c in $cmds; do
  out=$("$hegui" "$c" --help) || no "hegui $c --help: exit $?"
  echo "$out" | head -1 | grep -q "^usage: hegui $c" || no "hegui $c --help: $(echo "$out" | head -1)"
  echo "$man1" | grep -q "^\.SS $c\$" || no "hegui(1) has no section for $c"
done
"$hegui" serve --help | grep -q -- "--config FILE" || no "serve --help shows its options"
"$hegui" keys create --help | grep -q "^usage: hegui keys create" || no "keys create --help"
"$hegui" help keys | grep -q "keys revoke" || no "help keys"
"$hegui" nosuch --help >/dev/null 2>&1; [ $? -eq 2 ] || no "an unknown command: exit 2"

man5=$("$hegui" config keys --man)
for k in $("$hegui" config keys | cut -f1); do
  echo "$man5" | grep -qxF ".B $(echo "$k" | sed 's/-/\\-/g')" || no "hegui.yaml(5) has no entry for $k"
done
cmp -s "$build/man/hegui.1" - <<EOF2 || no "build/man/hegui.1 is not what hegui help --man prints"
$man1
EOF2
"$hegui" config keys --man | cmp -s "$build/man/hegui.yaml.5" - || no "build/man/hegui.yaml.5 differs from config keys --man"
for page in "$build/man/hegui.1" "$build/man/hegui.yaml.5"; do
  warn=$(groff -Tutf8 -man -ww -z "$page" 2>&1)
  [ -z "$warn" ] || no "groff warns about $page: $warn"
done

# bash completion: the script the build wrote, asked as bash would ask it
comp=$(bash -c '. "$1"; COMP_WORDS=(hegui ke); COMP_CWORD=1; _hegui; echo "${COMPREPLY[*]}"' _ "$build/completion/hegui")
[ "$comp" = keys ] || no "completion of 'hegui ke': '$comp'"
comp=$(bash -c '. "$1"; COMP_WORDS=(hegui config ""); COMP_CWORD=2; _hegui; echo "${COMPREPLY[*]}"' _ "$build/completion/hegui")
[ "$comp" = "check show keys --help" ] || no "completion after 'hegui config': '$comp'"

[ $fail -eq 0 ] && echo "help: all passed"
exit $fail
