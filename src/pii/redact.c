/* redact.c — what happens to personal data once found: masking, typed placeholders with a per-request vault
 * (so that "<PHONE_1>" in the model's answer becomes the user's own number again), keyed hashing (libsodium
 * BLAKE2b: the same value gives the same pseudonym under one key, nothing to reverse), sealing (libsodium
 * secretbox: only the key holder can open it) and dropping. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "hegui/pii.h"
#include "hegui/text.h"

void hg_redact_options_init(hg_redact_options *o) {
  memset(o, 0, sizeof *o);
  o->op = HG_REDACT_MASK;
  o->keep_last = 4;
}

hg_status hg_redact_op_parse(const char *name, hg_redact_op *out) {
  static const char *const names[] = {"mask", "placeholder", "hash", "seal", "drop"};
  for (int i = 0; i < 5; i++)
    if (!strcmp(name, names[i])) {
      *out = (hg_redact_op)i;
      return HG_OK;
    }
  return HG_ERR_PARSE;
}

/* ---- vault ---- */

typedef struct vault_item {
  hg_pii_type type;
  char *value;
  size_t len;
  char placeholder[40];
} vault_item;

struct hg_vault {
  vault_item *items;
  size_t n, cap;
  unsigned per_type[HG_PII_TYPE_COUNT];
};

hg_status hg_vault_new(hg_vault **out) {
  *out = calloc(1, sizeof **out);
  return *out ? HG_OK : HG_ERR_NOMEM;
}

void hg_vault_free(hg_vault *v) {
  if (!v) return;
  for (size_t i = 0; i < v->n; i++) {
    sodium_memzero(v->items[i].value, v->items[i].len);
    free(v->items[i].value);
  }
  free(v->items);
  free(v);
}

size_t hg_vault_count(const hg_vault *v) { return v->n; }

hg_status hg_vault_placeholder(hg_vault *v, hg_pii_type type, const char *value, size_t len, char *out, size_t cap) {
  if ((unsigned)type >= HG_PII_TYPE_COUNT) return HG_ERR_INVALID;
  for (size_t i = 0; i < v->n; i++)
    if (v->items[i].type == type && v->items[i].len == len && !memcmp(v->items[i].value, value, len)) {
      if (strlen(v->items[i].placeholder) >= cap) return HG_ERR_LIMIT;
      strcpy(out, v->items[i].placeholder);
      return HG_OK;
    }
  if (v->n == v->cap) {
    size_t c = v->cap ? v->cap * 2 : 8;
    vault_item *ni = realloc(v->items, c * sizeof *ni);
    if (!ni) return HG_ERR_NOMEM;
    v->items = ni;
    v->cap = c;
  }
  vault_item *it = &v->items[v->n];
  it->value = malloc(len + 1);
  if (!it->value) return HG_ERR_NOMEM;
  memcpy(it->value, value, len);
  it->value[len] = 0;
  it->len = len;
  it->type = type;
  snprintf(it->placeholder, sizeof it->placeholder, "<%s_%u>", hg_pii_type_label(type), ++v->per_type[type]);
  v->n++;
  if (strlen(it->placeholder) >= cap) return HG_ERR_LIMIT;
  strcpy(out, it->placeholder);
  return HG_OK;
}

hg_status hg_vault_restore(const hg_vault *v, const char *text, size_t len, char **out, size_t *out_len) {
  size_t cap = len + 1, n = 0;
  for (size_t i = 0; i < v->n; i++)
    cap += v->items[i].len; /* grows below when a value repeats */
  char *o = malloc(cap);
  if (!o) return HG_ERR_NOMEM;
  for (size_t i = 0; i < len;) {
    const vault_item *hit = NULL;
    if (text[i] == '<')
      for (size_t k = 0; k < v->n && !hit; k++) {
        size_t pl = strlen(v->items[k].placeholder);
        if (pl <= len - i && !memcmp(text + i, v->items[k].placeholder, pl)) hit = &v->items[k];
      }
    const char *src = hit ? hit->value : text + i;
    size_t sl = hit ? hit->len : 1;
    if (n + sl + 1 > cap) {
      cap = (n + sl + 1) * 2;
      char *no = realloc(o, cap);
      if (!no) {
        free(o);
        return HG_ERR_NOMEM;
      }
      o = no;
    }
    memcpy(o + n, src, sl);
    n += sl;
    i += hit ? strlen(hit->placeholder) : 1;
  }
  o[n] = 0;
  *out = o;
  if (out_len) *out_len = n;
  return HG_OK;
}

size_t hg_vault_pending_len(const char *text, size_t len) {
  /* a placeholder is '<' + upper-case letters, '_' and digits + '>', at most 40 bytes */
  for (size_t k = 1; k <= 40 && k <= len; k++) {
    char c = text[len - k];
    if (c == '<') return k;
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return 0;
  }
  return 0;
}

/* ---- operators ---- */

static hg_status need_key(const hg_redact_options *o, hg_error *err) {
  if (!o->key) return hg_fail(err, HG_ERR_INVALID, 0, 0, "this operator needs a key (%d bytes)", HG_REDACT_KEY_BYTES);
  if (sodium_init() < 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "libsodium could not start");
  return HG_OK;
}

hg_status hg_redact_value(const hg_redact_options *o, hg_vault *vault, hg_pii_type type, const char *value, size_t len,
                          char **out, size_t *out_len, hg_error *err) {
  const char *label = hg_pii_type_label(type);
  char *r = NULL;
  size_t rl = 0;
  switch (o->op) {
  case HG_REDACT_DROP: r = calloc(1, 1); break;
  case HG_REDACT_MASK: {
    /* mask code points, not bytes, so that a full-width digit becomes one star */
    size_t cps = 0;
    for (size_t i = 0; i < len; i++)
      cps += ((unsigned char)value[i] & 0xC0) != 0x80;
    r = malloc(len + cps + 1);
    if (!r) break;
    size_t idx = 0;
    for (size_t i = 0; i < len;) {
      size_t k = 1;
      while (i + k < len && ((unsigned char)value[i + k] & 0xC0) == 0x80)
        k++;
      int keep = idx < o->keep_first || idx + o->keep_last >= cps;
      char c = value[i];
      int sep = k == 1 && (c == ' ' || c == '-' || c == '@' || c == '.'); /* keep the shape of the value */
      if (keep || sep)
        memcpy(r + rl, value + i, k), rl += k;
      else
        r[rl++] = '*';
      i += k;
      idx++;
    }
    r[rl] = 0;
    break;
  }
  case HG_REDACT_PLACEHOLDER: {
    char ph[48];
    if (!vault) return hg_fail(err, HG_ERR_INVALID, 0, 0, "placeholders need a vault");
    hg_status st = hg_vault_placeholder(vault, type, value, len, ph, sizeof ph);
    if (st) return hg_fail(err, st, 0, 0, "vault: %s", hg_status_name(st));
    r = strdup(ph);
    break;
  }
  case HG_REDACT_HASH: {
    hg_status st = need_key(o, err);
    if (st) return st;
    unsigned char h[16];
    crypto_generichash(h, sizeof h, (const unsigned char *)value, len, o->key, HG_REDACT_KEY_BYTES);
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    size_t cap = strlen(label) + 40;
    r = malloc(cap);
    if (r) snprintf(r, cap, "<%s#%s>", label, hex);
    break;
  }
  case HG_REDACT_SEAL: {
    hg_status st = need_key(o, err);
    if (st) return st;
    size_t blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len;
    unsigned char *box = malloc(blen);
    if (!box) break;
    randombytes_buf(box, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)value, len, box, o->key);
    size_t b64 = sodium_base64_ENCODED_LEN(blen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    size_t cap = strlen(label) + b64 + 4;
    r = malloc(cap);
    if (r) {
      int n = snprintf(r, cap, "<%s$", label);
      sodium_bin2base64(r + n, b64, box, blen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
      strcat(r, ">");
    }
    free(box);
    break;
  }
  default: return hg_fail(err, HG_ERR_INVALID, 0, 0, "unknown operator");
  }
  if (!r) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  *out = r;
  *out_len = o->op == HG_REDACT_MASK ? rl : strlen(r);
  return HG_OK;
}

hg_status hg_unseal(const uint8_t key[HG_REDACT_KEY_BYTES], const char *token, size_t len, char **out, size_t *out_len,
                    hg_error *err) {
  if (sodium_init() < 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "libsodium could not start");
  unsigned char *box = malloc(len + 1);
  if (!box) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  size_t blen;
  if (sodium_base642bin(box, len, token, len, NULL, &blen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    free(box);
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "not a sealed token");
  }
  size_t mlen = blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
  char *m = malloc(mlen + 1);
  if (!m || crypto_secretbox_open_easy((unsigned char *)m, box + crypto_secretbox_NONCEBYTES,
                                       blen - crypto_secretbox_NONCEBYTES, box, key) != 0) {
    free(m);
    free(box);
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "the token was not sealed with this key, or it was changed");
  }
  m[mlen] = 0;
  free(box);
  *out = m;
  *out_len = mlen;
  return HG_OK;
}

typedef struct collect {
  hg_pii_hit *v;
  size_t n, cap;
} collect;

static int collect_hit(void *ctx, const hg_pii_hit *h) {
  collect *c = ctx;
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 16;
    hg_pii_hit *nv = realloc(c->v, cap * sizeof *nv);
    if (!nv) return 1;
    c->v = nv;
    c->cap = cap;
  }
  c->v[c->n++] = *h;
  return 0;
}

hg_status hg_pii_redact(const hg_pii_options *detect, const hg_redact_options *o, hg_vault *vault, const char *text,
                        size_t len, char **out, size_t *out_len, size_t *count, hg_error *err) {
  collect c = {0};
  hg_status st = hg_pii_scan(detect, text, len, collect_hit, &c, err);
  if (st) {
    free(c.v);
    return st;
  }
  size_t cap = len + 64, n = 0, pos = 0;
  char *res = malloc(cap);
  if (!res) {
    free(c.v);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  }
  for (size_t i = 0; i <= c.n; i++) {
    size_t until = i < c.n ? c.v[i].start : len;
    char *rep = NULL;
    size_t rl = 0;
    if (i < c.n && c.v[i].start < pos) continue; /* overlapping hits: the first one wins */
    if (i < c.n &&
        (st = hg_redact_value(o, vault, c.v[i].type, text + c.v[i].start, c.v[i].end - c.v[i].start, &rep, &rl, err)))
      break;
    size_t need = n + (until - pos) + rl + 1;
    if (need > cap) {
      cap = need * 2;
      char *nr = realloc(res, cap);
      if (!nr) {
        free(rep);
        st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
        break;
      }
      res = nr;
    }
    memcpy(res + n, text + pos, until - pos);
    n += until - pos;
    if (rep) memcpy(res + n, rep, rl), n += rl;
    free(rep);
    if (i < c.n) pos = c.v[i].end;
  }
  if (count) *count = c.n;
  free(c.v);
  if (st) {
    free(res);
    return st;
  }
  res[n] = 0;
  *out = res;
  if (out_len) *out_len = n;
  return HG_OK;
}
