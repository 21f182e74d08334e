#!/usr/bin/env python3
"""check_config_docs.py HEGUI [SOURCE_DIR] — every key the parser knows (`hegui config keys`, from the key tables of
src/config/config.c) is documented: named in docs/config.md as `key`, or as `parent.*` / `parent.LABEL` for a
family, or on a row that names a sibling in full and the key by its last part (`identity.provider.request.name`,
`.id_number`); guard.* keys may be documented in docs/guard.md, which config.md points to. Prints each key that is
not and exits 1; exits 2 when the keys cannot be listed."""
import os
import re
import subprocess
import sys


def main():
    if len(sys.argv) < 2:
        print("usage: check_config_docs.py HEGUI [SOURCE_DIR]", file=sys.stderr)
        return 2
    root = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    try:
        out = subprocess.run([sys.argv[1], "config", "keys"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print("config docs: cannot list the keys: %s" % e, file=sys.stderr)
        return 2
    keys = [line.split("\t")[0] for line in out.splitlines() if line.strip()]
    config_md = open(os.path.join(root, "docs", "config.md"), encoding="utf-8").read()
    guard_md = open(os.path.join(root, "docs", "guard.md"), encoding="utf-8").read()
    rows = [line for line in config_md.splitlines() if line.startswith("|")]
    missing = []
    for key in keys:
        parent, _, leaf = key.rpartition(".")
        forms = ["`%s`" % key]
        if parent:
            forms += ["`%s.*`" % parent, "`%s.LABEL`" % key, "`%s.CODE`" % key]
        if any(f in config_md for f in forms):
            continue
        if re.search(r"`%s\.[A-Z]+`" % re.escape(key), config_md):
            continue
        if parent and any("`%s." % parent in r and "`.%s`" % leaf in r for r in rows):
            continue
        if key.startswith("guard.") and "`%s`" % key[len("guard."):] in guard_md:
            continue
        missing.append(key)
    for key in missing:
        print("config docs: %s is not in docs/config.md" % key)
    if not missing:
        print("config docs: the %d keys of the parser are documented" % len(keys))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
