/* ooxml.c — labels in DOCX/XLSX/PPTX: the custom property AIGC (vt:lpwstr) in docProps/custom.xml, with the part
 * registered in [Content_Types].xml and _rels/.rels when it is new. The zip is rewritten entry by entry: every other
 * entry's local header and compressed data are copied byte for byte, the three parts hegui changes are stored
 * uncompressed, and the central directory is written again. Read with zlib's inflate. The content hash covers the
 * name, method, CRC and compressed bytes of every entry but those three. Zip64 and multi-disk archives are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "base/crc32.h"
#include "label/carrier.h"

#define ENTRIES_MAX 65535
#define PART_MAX ((size_t)32 << 20) /* an uncompressed XML part hegui inflates */

static const char CUSTOM[] = "docProps/custom.xml", TYPES[] = "[Content_Types].xml", RELS[] = "_rels/.rels";

typedef struct entry {
  const uint8_t *central; /* its central directory header */
  size_t central_len;
  const char *name;
  size_t name_len;
  uint16_t flags, method;
  uint32_t crc, csize, usize;
  size_t local, data, end; /* local header, compressed data, end of data (and descriptor) */
} entry;

typedef struct archive {
  entry *e;
  size_t count;
} archive;

static uint16_t u16le(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static int sniff(const uint8_t *d, size_t n, const char *path) {
  if (n < 4 || memcmp(d, "PK\3\4", 4) || !path) return 0;
  const char *dot = strrchr(path, '.');
  return dot && (!strcasecmp(dot, ".docx") || !strcasecmp(dot, ".xlsx") || !strcasecmp(dot, ".pptx"));
}

static int named(const entry *e, const char *name) {
  return e->name_len == strlen(name) && !memcmp(e->name, name, e->name_len);
}

static hg_status read_archive(const uint8_t *d, size_t n, archive *a, hg_error *err) {
  memset(a, 0, sizeof *a);
  if (n < 22) return hg_fail(err, HG_ERR_PARSE, 0, 0, "zip truncated: no end of central directory");
  size_t eocd = n - 22, lowest = n > 22 + 65535 ? n - 22 - 65535 : 0;
  while (eocd > lowest && memcmp(d + eocd, "PK\5\6", 4))
    eocd--;
  if (memcmp(d + eocd, "PK\5\6", 4)) return hg_fail(err, HG_ERR_PARSE, 0, 0, "zip has no end of central directory");
  uint16_t count = u16le(d + eocd + 10);
  uint32_t cd_size = lf_u32le(d + eocd + 12), cd_off = lf_u32le(d + eocd + 16);
  if (u16le(d + eocd + 4) || u16le(d + eocd + 6) || count != u16le(d + eocd + 8) || count == 0xFFFF ||
      cd_off == 0xFFFFFFFFu)
    return hg_fail(err, HG_ERR_PARSE, 0, eocd, "zip64 or multi-disk archive at offset %zu: not supported", eocd);
  if (cd_off > eocd || cd_size > eocd - cd_off)
    return hg_fail(err, HG_ERR_PARSE, 0, eocd, "zip central directory (offset %u) lies outside the file", cd_off);
  a->e = calloc(count ? count : 1, sizeof *a->e);
  if (!a->e) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  size_t at = cd_off, end = cd_off + cd_size;
  for (uint16_t i = 0; i < count; i++) {
    entry *e = &a->e[i];
    if (end - at < 46 || memcmp(d + at, "PK\1\2", 4))
      return hg_fail(err, HG_ERR_PARSE, 0, at, "zip central directory entry %u malformed at offset %zu", i, at);
    size_t name_len = u16le(d + at + 28), extra = u16le(d + at + 30), comment = u16le(d + at + 32);
    if (end - at - 46 < name_len + extra + comment)
      return hg_fail(err, HG_ERR_PARSE, 0, at, "zip central directory entry at offset %zu runs past it", at);
    e->central = d + at;
    e->central_len = 46 + name_len + extra + comment;
    e->name = (const char *)d + at + 46;
    e->name_len = name_len;
    e->flags = u16le(d + at + 8);
    e->method = u16le(d + at + 10);
    e->crc = lf_u32le(d + at + 16);
    e->csize = lf_u32le(d + at + 20);
    e->usize = lf_u32le(d + at + 24);
    e->local = lf_u32le(d + at + 42);
    if (e->local > cd_off || cd_off - e->local < 30 || memcmp(d + e->local, "PK\3\4", 4))
      return hg_fail(err, HG_ERR_PARSE, 0, at, "zip entry at offset %zu points to no local header", at);
    e->data = e->local + 30 + u16le(d + e->local + 26) + u16le(d + e->local + 28);
    if (e->data > cd_off || e->csize > cd_off - e->data)
      return hg_fail(err, HG_ERR_PARSE, 0, e->local, "zip entry at offset %zu runs past its data", e->local);
    e->end = e->data + e->csize;
    if (e->flags & 8) { /* a data descriptor follows, with or without its signature */
      size_t len = cd_off - e->end >= 16 && !memcmp(d + e->end, "PK\7\10", 4) ? 16 : 12;
      e->end += cd_off - e->end >= len ? len : 0;
    }
    at += e->central_len;
    a->count++;
  }
  return HG_OK;
}

/* Inflates (or copies) an entry into a NUL-terminated buffer. */
static hg_status part_text(const uint8_t *d, const entry *e, char **out, hg_error *err) {
  *out = NULL;
  if (e->usize > PART_MAX)
    return hg_fail(err, HG_ERR_LIMIT, 0, e->local, "zip part %.*s over 32 MiB", (int)e->name_len, e->name);
  char *buf = malloc((size_t)e->usize + 1);
  if (!buf) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  if (e->method == 0) {
    if (e->csize != e->usize) {
      free(buf);
      return hg_fail(err, HG_ERR_PARSE, 0, e->local, "zip stored entry at offset %zu has two sizes", e->local);
    }
    memcpy(buf, d + e->data, e->usize);
  } else if (e->method == 8) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) {
      free(buf);
      return hg_fail(err, HG_ERR_NOMEM, 0, 0, "zlib failed to initialise");
    }
    z.next_in = (Bytef *)(d + e->data);
    z.avail_in = e->csize;
    z.next_out = (Bytef *)buf;
    z.avail_out = e->usize;
    int r = inflate(&z, Z_FINISH);
    size_t got = z.total_out;
    inflateEnd(&z);
    if (r != Z_STREAM_END || got != e->usize) {
      free(buf);
      return hg_fail(err, HG_ERR_PARSE, 0, e->data, "zip entry %.*s does not inflate (offset %zu)", (int)e->name_len,
                     e->name, e->data);
    }
  } else {
    free(buf);
    return hg_fail(err, HG_ERR_PARSE, 0, e->local, "zip entry %.*s uses compression method %u", (int)e->name_len,
                   e->name, e->method);
  }
  buf[e->usize] = '\0';
  if (hg_crc32(0, buf, e->usize) != e->crc) {
    free(buf);
    return hg_fail(err, HG_ERR_CORRUPT, 0, e->local, "zip entry %.*s fails its CRC (offset %zu)", (int)e->name_len,
                   e->name, e->local);
  }
  *out = buf;
  return HG_OK;
}

/* The AIGC property of custom.xml: the span of <property ... name="AIGC">...</property> and of its value. */
static int find_property(const char *x, size_t from, size_t *start, size_t *end, size_t *value, size_t *value_end) {
  for (const char *p = x + from; (p = strstr(p, "<property")); p++) {
    const char *close = strstr(p, "</property>"), *gt = strchr(p, '>');
    if (!close || !gt || gt > close) return 0;
    const char *name = strstr(p, "name=");
    if (!name || name > gt || (name[5] != '"' && name[5] != '\'') || strncasecmp(name + 6, "aigc", 4) ||
        name[10] != name[5])
      continue;
    const char *v = strchr(gt, '>'); /* the value element's start tag follows the property's */
    v = v ? strchr(v + 1, '>') : NULL;
    const char *v_end = v ? strstr(v, "</") : NULL;
    if (!v || !v_end || v_end > close) continue;
    *start = (size_t)(p - x);
    *end = (size_t)(close - x) + 11;
    *value = (size_t)(v + 1 - x);
    *value_end = (size_t)(v_end - x);
    return 1;
  }
  return 0;
}

static hg_status scan(const uint8_t *d, size_t n, lf_scan *s, hg_error *err) {
  archive a;
  hg_status st = read_archive(d, n, &a, err);
  for (size_t i = 0; !st && i < a.count; i++) {
    const entry *e = &a.e[i];
    if (named(e, TYPES) || named(e, RELS)) continue;
    if (!named(e, CUSTOM)) {
      uint8_t head[10] = {(uint8_t)e->method,     (uint8_t)(e->method >> 8), (uint8_t)e->crc,
                          (uint8_t)(e->crc >> 8), (uint8_t)(e->crc >> 16),   (uint8_t)(e->crc >> 24)};
      lf_hash(s, e->name, e->name_len);
      lf_hash(s, head, 6);
      lf_hash(s, d + e->data, e->csize);
      continue;
    }
    char *x;
    if ((st = part_text(d, e, &x, err))) break;
    size_t at = 0, ps, pe, vs, ve;
    char value[4096];
    while (find_property(x, at, &ps, &pe, &vs, &ve)) {
      long len = lf_xml_unescape(x + vs, ve - vs, value, sizeof value);
      if (len < 0)
        s->unreadable++;
      else
        lf_found_text(s, "ooxml docProps/custom.xml AIGC", e->local, value, (size_t)len);
      at = pe;
    }
    free(x);
  }
  free(a.e);
  return st;
}

/* ---- writing ---- */

static hg_status put_u16(lf_buf *b, uint16_t v) {
  uint8_t p[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
  return lf_put(b, p, 2);
}

/* A stored entry: local header and data into out, its central header into cd. */
static hg_status put_stored(lf_buf *out, lf_buf *cd, const char *name, const char *data, size_t len) {
  if (out->len > UINT32_MAX || len > UINT32_MAX) return HG_ERR_LIMIT;
  uint32_t crc = hg_crc32(0, data, len), local = (uint32_t)out->len;
  uint16_t name_len = (uint16_t)strlen(name);
  hg_status st = lf_put(out, "PK\3\4\24\0\0\0\0\0\0\0\041\0", 14); /* version 2.0, no flags, stored, 1980-01-01 */
  if (!st) st = lf_put_u32le(out, crc);
  if (!st) st = lf_put_u32le(out, (uint32_t)len);
  if (!st) st = lf_put_u32le(out, (uint32_t)len);
  if (!st) st = put_u16(out, name_len);
  if (!st) st = put_u16(out, 0);
  if (!st) st = lf_put(out, name, name_len);
  if (!st) st = lf_put(out, data, len);
  if (!st) st = lf_put(cd, "PK\1\2\24\0\24\0\0\0\0\0\0\0\041\0", 16);
  if (!st) st = lf_put_u32le(cd, crc);
  if (!st) st = lf_put_u32le(cd, (uint32_t)len);
  if (!st) st = lf_put_u32le(cd, (uint32_t)len);
  if (!st) st = put_u16(cd, name_len);
  if (!st) st = lf_put(cd, "\0\0\0\0\0\0\0\0\0\0\0\0", 12); /* extra, comment, disk, attributes */
  if (!st) st = lf_put_u32le(cd, local);
  if (!st) st = lf_put(cd, name, name_len);
  return st;
}

/* text with insert placed before the last occurrence of before (the root's end tag); NULL when it is missing */
static char *insert_before(const char *text, const char *before, const char *insert) {
  const char *at = NULL;
  for (const char *p = text; (p = strstr(p, before)); p++)
    at = p;
  if (!at) return NULL;
  size_t head = (size_t)(at - text), ins = strlen(insert), rest = strlen(at);
  char *out = malloc(head + ins + rest + 1);
  if (!out) return NULL;
  memcpy(out, text, head);
  memcpy(out + head, insert, ins);
  memcpy(out + head + ins, at, rest + 1);
  return out;
}

static char *escape_xml(const char *s) {
  size_t n = 1;
  for (const char *p = s; *p; p++)
    n += *p == '&' ? 5 : *p == '<' || *p == '>' ? 4 : 1;
  char *out = malloc(n), *o = out;
  if (!out) return NULL;
  for (const char *p = s; *p; p++)
    o += *p == '&'   ? sprintf(o, "&amp;")
         : *p == '<' ? sprintf(o, "&lt;")
         : *p == '>' ? sprintf(o, "&gt;")
                     : (*o = *p, 1);
  *o = '\0';
  return out;
}

/* The new custom.xml: the old one without AIGC properties, the new property at the end; or a new part. */
static char *custom_part(const char *old, const char *label_json) {
  char *value = escape_xml(label_json);
  if (!value) return NULL;
  int pid = 1;
  lf_buf kept = {0};
  if (old) {
    size_t at = 0, ps, pe, vs, ve;
    while (find_property(old, at, &ps, &pe, &vs, &ve)) {
      lf_put(&kept, old + at, ps - at);
      at = pe;
    }
    lf_put(&kept, old + at, strlen(old + at) + 1);
    /* property ids start at 2 and are unique: the next after the largest kept */
    for (const char *p = kept.data ? (const char *)kept.data : ""; (p = strstr(p, "pid=")); p++)
      if (p[4] == '"' || p[4] == '\'') pid = atoi(p + 5) > pid ? atoi(p + 5) : pid;
  }
  size_t prop_len = strlen(value) + 200;
  char *prop = malloc(prop_len);
  char *out = NULL;
  if (prop) {
    snprintf(prop, prop_len,
             "<property fmtid=\"{D5CDD505-2E9C-101B-9397-08002B2CF9AE}\" pid=\"%d\" name=\"AIGC\"><vt:lpwstr>%s"
             "</vt:lpwstr></property>",
             pid + 1, value);
    if (old && kept.data) {
      out = insert_before((const char *)kept.data, "</Properties>", prop);
    } else if (!old) {
      static const char head[] =
          "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Properties xmlns=\"http://schemas."
          "openxmlformats.org/officeDocument/2006/custom-properties\" xmlns:vt=\"http://schemas.openxmlformats.org/"
          "officeDocument/2006/docPropsVTypes\">";
      size_t len = sizeof head + strlen(prop) + 16;
      out = malloc(len);
      if (out) snprintf(out, len, "%s%s</Properties>", head, prop);
    }
  }
  free(prop);
  free(value);
  free(kept.data);
  return out;
}

static hg_status put_label(const uint8_t *d, size_t n, const char *label_json, lf_buf *out, hg_error *err) {
  archive a;
  hg_status st = read_archive(d, n, &a, err);
  const entry *custom = NULL, *types = NULL, *rels = NULL;
  for (size_t i = 0; !st && i < a.count; i++) {
    if (named(&a.e[i], CUSTOM)) custom = &a.e[i];
    if (named(&a.e[i], TYPES)) types = &a.e[i];
    if (named(&a.e[i], RELS)) rels = &a.e[i];
  }
  if (!st && (!types || !rels))
    st = hg_fail(err, HG_ERR_PARSE, 0, 0, "not an Office Open XML package (no [Content_Types].xml or _rels/.rels)");
  char *old_custom = NULL, *old_types = NULL, *old_rels = NULL, *new_custom = NULL, *new_types = NULL, *new_rels = NULL;
  if (!st && custom) st = part_text(d, custom, &old_custom, err);
  if (!st) st = part_text(d, types, &old_types, err);
  if (!st) st = part_text(d, rels, &old_rels, err);
  if (!st) {
    new_custom = custom_part(old_custom, label_json);
    new_types = strstr(old_types, "/docProps/custom.xml")
                    ? strdup(old_types)
                    : insert_before(old_types, "</Types>",
                                    "<Override PartName=\"/docProps/custom.xml\" ContentType=\"application/"
                                    "vnd.openxmlformats-officedocument.custom-properties+xml\"/>");
    new_rels = strstr(old_rels, "docProps/custom.xml")
                   ? strdup(old_rels)
                   : insert_before(old_rels, "</Relationships>",
                                   "<Relationship Id=\"rIdHeguiAigc\" Type=\"http://schemas.openxmlformats.org/"
                                   "officeDocument/2006/relationships/custom-properties\" "
                                   "Target=\"docProps/custom.xml\"/>");
    if (!new_custom || !new_types || !new_rels)
      st = hg_fail(err, HG_ERR_PARSE, 0, 0, "an OOXML part lacks its root end tag (or out of memory)");
  }
  lf_buf cd = {0};
  for (size_t i = 0; !st && i < a.count; i++) {
    const entry *e = &a.e[i];
    if (e == custom) continue; /* written last */
    if (e == types || e == rels) {
      const char *text = e == types ? new_types : new_rels;
      st = put_stored(out, &cd, e == types ? TYPES : RELS, text, strlen(text));
      continue;
    }
    if (out->len > UINT32_MAX) {
      st = HG_ERR_LIMIT;
      break;
    }
    uint32_t local = (uint32_t)out->len;
    st = lf_put(out, d + e->local, e->end - e->local);
    if (!st) st = lf_put(&cd, e->central, 42);
    if (!st) st = lf_put_u32le(&cd, local);
    if (!st) st = lf_put(&cd, e->central + 46, e->central_len - 46);
  }
  if (!st) st = put_stored(out, &cd, CUSTOM, new_custom, strlen(new_custom));
  if (!st && (out->len > UINT32_MAX || cd.len > UINT32_MAX || a.count + (custom ? 0 : 1) > ENTRIES_MAX))
    st = HG_ERR_LIMIT;
  if (!st) {
    uint32_t cd_off = (uint32_t)out->len;
    uint16_t count = (uint16_t)(a.count + (custom ? 0 : 1));
    st = lf_put(out, cd.data, cd.len);
    if (!st) st = lf_put(out, "PK\5\6\0\0\0\0", 8);
    if (!st) st = put_u16(out, count);
    if (!st) st = put_u16(out, count);
    if (!st) st = lf_put_u32le(out, (uint32_t)cd.len);
    if (!st) st = lf_put_u32le(out, cd_off);
    if (!st) st = put_u16(out, 0);
  }
  if (st == HG_ERR_LIMIT)
    hg_fail(err, st, 0, 0, "zip with the label exceeds zip's 32-bit limits");
  else if (st == HG_ERR_NOMEM)
    hg_fail(err, st, 0, 0, "out of memory");
  free(cd.data);
  free(old_custom);
  free(old_types);
  free(old_rels);
  free(new_custom);
  free(new_types);
  free(new_rels);
  free(a.e);
  return st;
}

const lf_format lf_ooxml = {"ooxml", sniff, scan, put_label};
