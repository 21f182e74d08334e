/* multipart.c — multipart/form-data read in place and written again (multipart.h has the contract).
 *
 * A body is: optional preamble, then for each part "--" boundary CRLF, header lines, CRLF, data, then CRLF "--"
 * boundary; the last delimiter is followed by "--" (and an epilogue, ignored). The data of a part ends at the first
 * CRLF "--" boundary after it, which is why the boundary is chosen not to occur in any part. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "multipart.h"

static const unsigned char *find(const unsigned char *hay, size_t n, const char *needle, size_t m) {
  if (m == 0 || n < m) return NULL;
  const unsigned char *end = hay + n - m + 1;
  for (const unsigned char *p = hay; p < end;) {
    p = memchr(p, needle[0], (size_t)(end - p));
    if (!p) return NULL;
    if (!memcmp(p, needle, m)) return p;
    p++;
  }
  return NULL;
}

static int boundary_char(int c) {
  /* RFC 2046 bchars */
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || strchr("'()+_,-./:=? ", c);
}

int multipart_boundary(const char *ct, char out[MULTIPART_BOUNDARY_MAX + 1]) {
  if (!ct) return -1;
  while (*ct == ' ' || *ct == '\t')
    ct++;
  if (strncasecmp(ct, "multipart/form-data", 19) || (ct[19] && ct[19] != ';' && ct[19] != ' ')) return -1;
  const char *p = ct + 19;
  while (*p) {
    while (*p == ';' || *p == ' ' || *p == '\t')
      p++;
    const char *eq = strchr(p, '=');
    if (!eq) return -1;
    size_t klen = (size_t)(eq - p);
    const char *v = eq + 1, *vend;
    char quote = 0;
    if (*v == '"') {
      quote = 1;
      v++;
      vend = strchr(v, '"');
      if (!vend) return -1;
    } else {
      vend = v + strcspn(v, ";");
      while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
        vend--;
    }
    if (klen == 8 && !strncasecmp(p, "boundary", 8)) {
      size_t n = (size_t)(vend - v);
      if (n == 0 || n > MULTIPART_BOUNDARY_MAX || v[n - 1] == ' ') return -1;
      for (size_t i = 0; i < n; i++)
        if (!boundary_char((unsigned char)v[i])) return -1;
      memcpy(out, v, n);
      out[n] = '\0';
      return 0;
    }
    p = vend + quote;
  }
  return -1;
}

/* The value of a parameter (name="value" or name=value) in the parameters of a Content-Disposition line (what
 * follows "form-data"), into out; 1 when found. Parameters are walked one by one, so that a name inside another's
 * quoted value is never taken for a parameter. */
static int disposition_param(const char *line, size_t n, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name), i = 0;
  while (i < n) {
    while (i < n && (line[i] == ';' || line[i] == ' ' || line[i] == '\t'))
      i++;
    size_t k = i;
    while (i < n && line[i] != '=' && line[i] != ';')
      i++;
    size_t klen = i - k;
    while (klen && (line[k + klen - 1] == ' ' || line[k + klen - 1] == '\t'))
      klen--;
    if (i >= n || line[i] == ';') continue; /* a parameter without a value */
    i++;                                    /* '=' */
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
      i++;
    size_t v, len;
    if (i < n && line[i] == '"') {
      v = ++i;
      while (i < n && line[i] != '"')
        i++;
      if (i >= n) return 0; /* an unclosed quote */
      len = i - v;
      i++;
    } else {
      v = i;
      while (i < n && line[i] != ';' && line[i] != ' ' && line[i] != '\t')
        i++;
      len = i - v;
    }
    if (klen == nl && !strncasecmp(line + k, name, nl)) {
      if (len >= cap) len = cap - 1;
      memcpy(out, line + v, len);
      out[len] = '\0';
      return 1;
    }
  }
  return 0;
}

static int fail(char *why, size_t cap, const char *fmt, size_t at) {
  snprintf(why, cap, fmt, at);
  return -1;
}

/* The part's header block [h, h+n): its name, filename and type. */
static int part_headers(const unsigned char *h, size_t n, mp_form *form, mp_part *part, size_t at, char *why,
                        size_t cap) {
  char *name = form->strings[form->count * 3], *filename = form->strings[form->count * 3 + 1],
       *type = form->strings[form->count * 3 + 2];
  int have_name = 0, have_file = 0;
  type[0] = '\0';
  size_t pos = 0;
  while (pos < n) {
    const unsigned char *eol = find(h + pos, n - pos, "\r\n", 2);
    size_t ll = eol ? (size_t)(eol - (h + pos)) : n - pos;
    const char *line = (const char *)h + pos;
    if (ll >= 20 && !strncasecmp(line, "Content-Disposition:", 20)) {
      const char *v = line + 20;
      size_t vl = ll - 20;
      while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
      if (vl < 9 || strncasecmp(v, "form-data", 9))
        return fail(why, cap, "a part's Content-Disposition is not form-data (part at byte %zu)", at);
      have_name = disposition_param(v + 9, vl - 9, "name", name, 256);
      have_file = disposition_param(v + 9, vl - 9, "filename", filename, 256);
    } else if (ll >= 13 && !strncasecmp(line, "Content-Type:", 13)) {
      const char *v = line + 13;
      size_t vl = ll - 13;
      while (vl && (*v == ' ' || *v == '\t'))
        v++, vl--;
      if (vl > 255) vl = 255;
      memcpy(type, v, vl);
      type[vl] = '\0';
    }
    pos += ll + 2;
  }
  if (!have_name)
    return fail(why, cap, "a part has no name (Content-Disposition: form-data; name=...) at byte %zu", at);
  part->name = name;
  part->filename = have_file ? filename : NULL;
  part->content_type = type[0] ? type : NULL;
  return 0;
}

int multipart_parse(const char *boundary, const unsigned char *body, size_t len, mp_form *form, char *why,
                    size_t why_cap) {
  memset(form, 0, sizeof *form);
  size_t bl = strlen(boundary);
  if (!bl || bl > MULTIPART_BOUNDARY_MAX) return fail(why, why_cap, "the boundary is empty or too long%.0zu", 0);
  char delim[MULTIPART_BOUNDARY_MAX + 5];
  snprintf(delim, sizeof delim, "\r\n--%s", boundary);
  size_t dl = bl + 4;
  /* the first delimiter may open the body without a CRLF before it */
  size_t pos;
  if (len >= dl - 2 && !memcmp(body, delim + 2, dl - 2)) {
    pos = dl - 2;
  } else {
    const unsigned char *d = find(body, len, delim, dl);
    if (!d) return fail(why, why_cap, "no boundary found in the body%.0zu", 0);
    pos = (size_t)(d - body) + dl;
  }
  for (;;) {
    /* after a delimiter: "--" ends the body, CRLF opens a part (transport padding of spaces allowed) */
    if (len - pos >= 2 && body[pos] == '-' && body[pos + 1] == '-')
      return form->count ? 0 : fail(why, why_cap, "the body has no parts%.0zu", 0);
    while (pos < len && (body[pos] == ' ' || body[pos] == '\t'))
      pos++;
    if (len - pos < 2 || body[pos] != '\r' || body[pos + 1] != '\n')
      return fail(why, why_cap, "the body ends or is malformed after a boundary at byte %zu", pos);
    pos += 2;
    if (form->count == MULTIPART_MAX_PARTS)
      return fail(why, why_cap, "more than %zu parts", (size_t)MULTIPART_MAX_PARTS);
    size_t at = pos;
    const unsigned char *hend;
    if (len - pos >= 2 && body[pos] == '\r' && body[pos + 1] == '\n')
      hend = body + pos; /* no header lines */
    else {
      size_t look = len - pos < MULTIPART_MAX_HEADER + 4 ? len - pos : MULTIPART_MAX_HEADER + 4;
      const unsigned char *e = find(body + pos, look, "\r\n\r\n", 4);
      if (!e) return fail(why, why_cap, "a part's headers do not end (or are longer than 2048 bytes) at byte %zu", at);
      hend = e + 2;
    }
    mp_part *part = &form->parts[form->count];
    if (part_headers(body + pos, (size_t)(hend - (body + pos)), form, part, at, why, why_cap)) return -1;
    pos = (size_t)(hend - body) + 2;
    const unsigned char *d = find(body + pos, len - pos, delim, dl);
    if (!d) return fail(why, why_cap, "a part that starts at byte %zu has no closing boundary", at);
    part->data = body + pos;
    part->len = (size_t)(d - (body + pos));
    form->count++;
    pos = (size_t)(d - body) + dl;
  }
}

const mp_part *multipart_get(const mp_form *form, const char *name) {
  for (size_t i = 0; i < form->count; i++)
    if (!strcmp(form->parts[i].name, name)) return &form->parts[i];
  return NULL;
}

int multipart_build(const mp_part *parts, size_t n, char boundary_out[MULTIPART_BOUNDARY_MAX + 1], unsigned char **out,
                    size_t *out_len) {
  unsigned char r[16];
  char hex[33];
  int clash;
  do { /* a boundary that occurs in no part */
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(hex, sizeof hex, r, sizeof r);
    snprintf(boundary_out, MULTIPART_BOUNDARY_MAX + 1, "hegui-%s", hex);
    clash = 0;
    for (size_t i = 0; i < n && !clash; i++)
      clash = find(parts[i].data, parts[i].len, boundary_out, strlen(boundary_out)) != NULL;
  } while (clash);
  size_t cap = 64;
  for (size_t i = 0; i < n; i++)
    cap += parts[i].len + 900;
  unsigned char *b = malloc(cap);
  if (!b) return -1;
  size_t pos = 0;
  for (size_t i = 0; i < n; i++) {
    const mp_part *p = &parts[i];
    pos += (size_t)snprintf((char *)b + pos, cap - pos, "--%s\r\nContent-Disposition: form-data; name=\"%.255s\"",
                            boundary_out, p->name);
    if (p->filename) pos += (size_t)snprintf((char *)b + pos, cap - pos, "; filename=\"%.255s\"", p->filename);
    if (p->content_type)
      pos += (size_t)snprintf((char *)b + pos, cap - pos, "\r\nContent-Type: %.255s", p->content_type);
    pos += (size_t)snprintf((char *)b + pos, cap - pos, "\r\n\r\n");
    if (p->len) memcpy(b + pos, p->data, p->len);
    pos += p->len;
    pos += (size_t)snprintf((char *)b + pos, cap - pos, "\r\n");
  }
  pos += (size_t)snprintf((char *)b + pos, cap - pos, "--%s--\r\n", boundary_out);
  *out = b;
  *out_len = pos;
  return 0;
}
