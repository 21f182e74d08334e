#!/usr/bin/env python3
"""check_openapi.py [SOURCE_DIR] — docs/openapi.yaml against the route table of the gateway.

Reads the rows of `routes[]` in src/gateway/router.c ({methods mask, "pattern", ...}; "{}" is one path segment)
and the paths of docs/openapi.yaml (OpenAPI's "{name}" is one segment), and fails, listing them, when
  - a method and route of the table is not in the file,
  - a method and path of the file is not in the table,
  - a "$ref" does not resolve inside the file,
  - a path template names a parameter that no `in: path` parameter declares (or the reverse),
  - an operationId is used twice, or a mapping has the same key twice (YAML would keep the last silently).
Needs Python 3 and PyYAML (Debian: python3-yaml). Exits 0 when all holds, 1 when not, 2 when it cannot read.
"""
import os
import re
import sys

try:
    import yaml
except ImportError:  # the test cannot run without it: say so rather than pass
    sys.stderr.write("check_openapi: PyYAML is missing (apt-get install python3-yaml)\n")
    sys.exit(2)

METHODS = {"M_GET": "get", "M_POST": "post", "M_PUT": "put", "M_DELETE": "delete"}
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def table_routes(router_c):
    """{(method, pattern)} of the rows of routes[], pattern with "{}" as written."""
    with open(router_c, encoding="utf-8") as f:
        src = f.read()
    # drop comments, so that a row shown in a comment does not count
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    src = re.sub(r"//[^\n]*", " ", src)
    m = re.search(r"\broutes\s*\[\s*\]\s*=\s*\{(.*?)\n\s*\}\s*;", src, flags=re.S)
    if not m:
        raise ValueError("%s: no `routes[] = {...};` table found" % router_c)
    rows = re.findall(r"\{\s*(M_[A-Z]+(?:\s*\|\s*M_[A-Z]+)*)\s*,\s*\"([^\"]*)\"", m.group(1))
    if not rows:
        raise ValueError("%s: the routes[] table has no rows the check can read" % router_c)
    out = set()
    for mask, pattern in rows:
        for name in re.split(r"\s*\|\s*", mask):
            if name not in METHODS:
                raise ValueError("%s: unknown method %s in the row of %s" % (router_c, name, pattern))
            out.add((METHODS[name], pattern))
    return out


class UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a mapping with the same key twice."""


def _unique_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                "the key %r is there twice (first at line %d)" % (key, seen[key] + 1), key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def resolve(doc, ref):
    """The node a local $ref names, or None."""
    if not ref.startswith("#"):
        return None
    node = doc
    for part in ref[1:].split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def refs(node, where="#"):
    """Every (location, $ref value) in the document."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield where, v
            else:
                yield from refs(v, "%s/%s" % (where, str(k).replace("~", "~0").replace("/", "~1")))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from refs(v, "%s/%d" % (where, i))


def path_params(doc, params):
    """The names of the `in: path` parameters of a parameters list (following $refs)."""
    names = set()
    for p in params or []:
        if isinstance(p, dict) and "$ref" in p:
            p = resolve(doc, p["$ref"])
        if isinstance(p, dict) and p.get("in") == "path":
            names.add(p.get("name"))
    return names


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    router_c = os.path.join(root, "src", "gateway", "router.c")
    spec = os.path.join(root, "docs", "openapi.yaml")
    try:
        table = table_routes(router_c)
        with open(spec, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=UniqueKeyLoader)
    except (OSError, ValueError, yaml.YAMLError) as e:
        print("openapi: %s" % e)
        return 2
    problems = []
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3."):
        problems.append("%s: not an OpenAPI 3 document (no `openapi: 3.x`)" % spec)
        doc = doc if isinstance(doc, dict) else {}
    paths = doc.get("paths") or {}

    documented = set()
    op_ids = {}
    for path, item in paths.items():
        if not isinstance(item, dict):
            problems.append("%s: path %s is not a mapping" % (spec, path))
            continue
        pattern = re.sub(r"\{[^}/]*\}", "{}", path)
        template = set(re.findall(r"\{([^}/]*)\}", path))
        common = path_params(doc, item.get("parameters"))
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            documented.add((method, pattern))
            if not isinstance(op, dict):
                problems.append("%s: %s %s is not a mapping" % (spec, method.upper(), path))
                continue
            declared = common | path_params(doc, op.get("parameters"))
            for name in sorted(template - declared):
                problems.append("%s: %s %s: no `in: path` parameter named %s" % (spec, method.upper(), path, name))
            for name in sorted(declared - template):
                problems.append("%s: %s %s: path parameter %s is not in the path" % (spec, method.upper(), path, name))
            oid = op.get("operationId")
            if oid in op_ids:
                problems.append("%s: operationId %s is used by %s and %s %s" % (spec, oid, op_ids[oid],
                                                                                method.upper(), path))
            elif oid:
                op_ids[oid] = "%s %s" % (method.upper(), path)

    def show(method, pattern):
        return "%s %s" % (method.upper(), pattern)

    for method, pattern in sorted(table - documented, key=lambda r: (r[1], r[0])):
        problems.append("in the route table (src/gateway/router.c) but not in docs/openapi.yaml: %s"
                        % show(method, pattern))
    for method, pattern in sorted(documented - table, key=lambda r: (r[1], r[0])):
        problems.append("in docs/openapi.yaml but not in the route table (src/gateway/router.c): %s"
                        % show(method, pattern))
    for where, ref in refs(doc):
        if resolve(doc, ref) is None:
            problems.append("%s: $ref %s at %s does not resolve" % (spec, ref, where))

    for p in problems:
        print("openapi: %s" % p)
    if problems:
        print("openapi: %d problem%s (the route table has %d method+route pairs, the file %d)"
              % (len(problems), "" if len(problems) == 1 else "s", len(table), len(documented)))
        return 1
    print("openapi: the %d method+route pairs of the route table are documented, and every $ref resolves" % len(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
