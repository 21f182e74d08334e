/* xmp.c — the label as an XMP property: TC260:AIGC in the namespace http://www.tc260.org.cn/ns/AIGC/1.0/, the
 * carrier the TC260 practice guides name for PNG, JPEG and WebP.
 *
 * hegui writes a minimal packet itself rather than through exempi: one property whose value is the label's JSON,
 * and, when the file already has a packet, the same packet with only that property replaced (the rest of the packet
 * is copied byte for byte). The reader finds the property under whatever prefix the packet binds to the TC260
 * namespace (and under "TC260"), as an element or as an attribute, and undoes XML's character escapes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "label/carrier.h"

#define TC260_NS "http://www.tc260.org.cn/ns/AIGC/1.0/"
#define PREFIX_MAX 32
#define PREFIXES_MAX 4

typedef struct span {
  size_t start, end;             /* the whole element or attribute, to remove it */
  size_t value_start, value_end; /* its escaped value */
} span;

static const char *find_bytes(const char *hay, size_t hay_len, size_t from, const char *needle) {
  size_t n = strlen(needle);
  if (from > hay_len || n > hay_len - from) return NULL;
  return memmem(hay + from, hay_len - from, needle, n);
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* The prefixes bound to the TC260 namespace, "TC260" always among them. */
static int tc260_prefixes(const char *x, size_t len, char prefixes[PREFIXES_MAX][PREFIX_MAX]) {
  int n = 0;
  snprintf(prefixes[n++], PREFIX_MAX, "TC260");
  for (size_t at = 0; n < PREFIXES_MAX;) {
    const char *ns = find_bytes(x, len, at, TC260_NS);
    if (!ns) break;
    size_t pos = (size_t)(ns - x);
    at = pos + 1;
    /* back over the quote and '=' to the name: xmlns:P="NS" */
    if (pos < 2 || (x[pos - 1] != '"' && x[pos - 1] != '\'')) continue;
    size_t q = pos - 1;
    while (q > 0 && is_space(x[q - 1]))
      q--;
    if (q == 0 || x[q - 1] != '=') continue;
    size_t name_end = q - 1;
    while (name_end > 0 && is_space(x[name_end - 1]))
      name_end--;
    size_t name_start = name_end;
    while (name_start > 0 && !is_space(x[name_start - 1]) && x[name_start - 1] != ':' && name_end - name_start < 31)
      name_start--;
    if (name_start < 6 || memcmp(x + name_start - 6, "xmlns:", 6) || name_end == name_start) continue;
    size_t plen = name_end - name_start;
    if (plen == 5 && !memcmp(x + name_start, "TC260", 5)) continue;
    memcpy(prefixes[n], x + name_start, plen);
    prefixes[n++][plen] = '\0';
  }
  return n;
}

/* Finds the next TC260:AIGC element or attribute at or after from. */
static int next_label(const char *x, size_t len, size_t from, char prefixes[PREFIXES_MAX][PREFIX_MAX], int nprefix,
                      span *out) {
  int found = 0;
  for (int p = 0; p < nprefix; p++) {
    char name[PREFIX_MAX + 8];
    snprintf(name, sizeof name, "%s:AIGC", prefixes[p]);
    size_t nlen = strlen(name);
    for (size_t at = from;;) {
      const char *hit = find_bytes(x, len, at, name);
      if (!hit) break;
      size_t pos = (size_t)(hit - x);
      at = pos + 1;
      size_t after = pos + nlen;
      if (after >= len || pos == 0) continue;
      span s;
      if (x[pos - 1] == '<' && (x[after] == '>' || is_space(x[after]))) { /* <P:AIGC ...>value</P:AIGC> */
        const char *gt = memchr(x + after, '>', len - after);
        if (!gt || gt[-1] == '/') continue;
        char close[PREFIX_MAX + 12];
        snprintf(close, sizeof close, "</%s>", name);
        const char *end = find_bytes(x, len, (size_t)(gt - x) + 1, close);
        if (!end) continue;
        s = (span){pos - 1, (size_t)(end - x) + strlen(close), (size_t)(gt - x) + 1, (size_t)(end - x)};
      } else if (is_space(x[pos - 1])) { /* P:AIGC="value" */
        size_t q = after;
        while (q < len && is_space(x[q]))
          q++;
        if (q >= len || x[q] != '=') continue;
        q++;
        while (q < len && is_space(x[q]))
          q++;
        if (q >= len || (x[q] != '"' && x[q] != '\'')) continue;
        const char *close = memchr(x + q + 1, x[q], len - q - 1);
        if (!close) continue;
        s = (span){pos - 1, (size_t)(close - x) + 1, q + 1, (size_t)(close - x)};
      } else {
        continue;
      }
      if (!found || s.start < out->start) *out = s;
      found = 1;
      break;
    }
  }
  return found;
}

/* Undoes XML escapes into out (cap bytes); returns the length or -1 when the value does not fit or is malformed. */
long lf_xml_unescape(const char *v, size_t len, char *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < len;) {
    if (n + 1 >= cap) return -1;
    if (v[i] != '&') {
      out[n++] = v[i++];
      continue;
    }
    const char *semi = memchr(v + i, ';', len - i < 12 ? len - i : 12);
    if (!semi) return -1;
    size_t elen = (size_t)(semi - (v + i)) + 1;
    static const struct {
      const char *name;
      char c;
    } named[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    int done = 0;
    for (size_t k = 0; k < sizeof named / sizeof named[0] && !done; k++)
      if (elen == strlen(named[k].name) && !memcmp(v + i, named[k].name, elen)) {
        out[n++] = named[k].c;
        done = 1;
      }
    if (!done && elen > 3 && v[i + 1] == '#') {
      char digits[12] = {0};
      memcpy(digits, v + i + 2, elen - 3);
      char *end;
      long c = digits[0] == 'x' ? strtol(digits + 1, &end, 16) : strtol(digits, &end, 10);
      if (*end || c <= 0 || c > 0x7E) return -1; /* a label is ASCII; anything else is not one */
      out[n++] = (char)c;
      done = 1;
    }
    if (!done) return -1;
    i += elen;
  }
  out[n] = '\0';
  return (long)n;
}

void lf_found_xmp(lf_scan *s, const char *carrier, size_t offset, const char *xmp, size_t len) {
  char prefixes[PREFIXES_MAX][PREFIX_MAX];
  int np = tc260_prefixes(xmp, len, prefixes);
  span sp;
  char value[4096];
  for (size_t at = 0; next_label(xmp, len, at, prefixes, np, &sp); at = sp.end) {
    long n = lf_xml_unescape(xmp + sp.value_start, sp.value_end - sp.value_start, value, sizeof value);
    if (n < 0) {
      s->unreadable++;
      continue;
    }
    lf_found_text(s, carrier, offset + sp.start, value, (size_t)n);
  }
}

int lf_xmp_has_label(const char *xmp, size_t len) {
  char prefixes[PREFIXES_MAX][PREFIX_MAX];
  int np = tc260_prefixes(xmp, len, prefixes);
  span sp;
  return next_label(xmp, len, 0, prefixes, np, &sp);
}

static hg_status put_escaped(lf_buf *b, const char *s) {
  hg_status st = HG_OK;
  for (; *s && !st; s++) {
    if (*s == '&')
      st = lf_put(b, "&amp;", 5);
    else if (*s == '<')
      st = lf_put(b, "&lt;", 4);
    else if (*s == '>')
      st = lf_put(b, "&gt;", 4);
    else
      st = lf_put(b, s, 1);
  }
  return st;
}

static hg_status put_description(lf_buf *b, const char *label_json) {
  static const char open[] = "\n  <rdf:Description rdf:about=\"\" xmlns:TC260=\"" TC260_NS "\">\n   <TC260:AIGC>";
  static const char close[] = "</TC260:AIGC>\n  </rdf:Description>";
  hg_status st = lf_put(b, open, sizeof open - 1);
  if (!st) st = put_escaped(b, label_json);
  if (!st) st = lf_put(b, close, sizeof close - 1);
  return st;
}

hg_status lf_xmp_build(const char *existing, size_t existing_len, const char *label_json, lf_buf *out, hg_error *err) {
  hg_status st;
  const char *rdf = existing ? find_bytes(existing, existing_len, 0, "<rdf:RDF") : NULL;
  const char *rdf_gt = rdf ? memchr(rdf, '>', existing_len - (size_t)(rdf - existing)) : NULL;
  if (!rdf_gt || rdf_gt[-1] == '/') { /* no packet, or none hegui can add to: a packet of its own */
    static const char head[] = "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
                               "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
                               " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">";
    static const char tail[] = "\n </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>";
    st = lf_put(out, head, sizeof head - 1);
    if (!st) st = put_description(out, label_json);
    if (!st) st = lf_put(out, tail, sizeof tail - 1);
    return st ? hg_fail(err, st, 0, 0, "out of memory") : HG_OK;
  }
  /* copy the packet without its labels, the new description right after <rdf:RDF ...> */
  char prefixes[PREFIXES_MAX][PREFIX_MAX];
  int np = tc260_prefixes(existing, existing_len, prefixes);
  size_t insert_at = (size_t)(rdf_gt - existing) + 1, at = 0;
  int inserted = 0;
  span sp;
  st = HG_OK;
  while (!st) {
    if (!inserted && insert_at < at) insert_at = at; /* a label inside the <rdf:RDF> tag itself */
    int more = next_label(existing, existing_len, at, prefixes, np, &sp);
    size_t stop = more ? sp.start : existing_len;
    if (!inserted && insert_at <= stop) {
      st = lf_put(out, existing + at, insert_at - at);
      if (!st) st = put_description(out, label_json);
      at = insert_at;
      inserted = 1;
    }
    if (!st) st = lf_put(out, existing + at, stop - at);
    if (!more) break;
    at = sp.end;
  }
  return st ? hg_fail(err, st, 0, 0, "out of memory") : HG_OK;
}
