/* filelabel.c — the format-independent half of file labels: reading every carrier of a file, the two signatures,
 * the verdict, and the atomic rewrite.
 *
 * Signatures (Ed25519, base64url without padding, over newline-separated messages whose values never hold a
 * newline):
 *   ReservedCode1 = sig1 "." hash, sig1 over "hegui-aigc-file-v1 producer" \n ContentProducer \n ProduceID \n
 *                   hex(hash), hash = BLAKE2b-256 of the content at labelling. The producer's: kept by platforms.
 *   ReservedCode2 = sig2 over "hegui-aigc-file-v1 propagator" \n Label \n ContentProducer \n ProduceID \n
 *                   ReservedCode1 \n ContentPropagator \n PropagateID \n hex(current hash). Written again by whoever
 *                   sets Label or the propagator fields (the producer on first write, a platform later).
 * Storing the hash in ReservedCode1 lets verify tell "the label was changed" (a signature fails) from "the content
 * was changed" (the signatures hold, the hash differs). The content hash skips the label carriers (carrier.h), so
 * writing a label does not change it; every write is checked by reading the result again before it replaces the
 * file (its structure and carriers always, its content hash too with HG_LABEL_FULL_CHECK and in
 * hg_label_buffer_add). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "label/carrier.h"

#define FILE_MAX ((uint64_t)4 << 30)
#define HASH_B64_LEN sodium_base64_ENCODED_LEN(HG_LABEL_CONTENT_HASH_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)
#define SIG_B64_LEN sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)

static const lf_format *const FORMATS[] = {&lf_png, &lf_jpeg, &lf_webp,  &lf_wav, &lf_flac,    &lf_pdf,
                                           &lf_mp4, &lf_ogg,  &lf_ooxml, &lf_mp3, &lf_markdown};
#define NFORMATS (sizeof FORMATS / sizeof FORMATS[0])

/* ---- buffers and scan records ------------------------------------------------------------------------------ */

hg_status lf_put(lf_buf *b, const void *data, size_t len) {
  if (!len) return HG_OK;
  if (len > SIZE_MAX / 2 - b->len) return HG_ERR_NOMEM;
  if (b->len + len > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + len)
      cap *= 2;
    uint8_t *bigger = realloc(b->data, cap);
    if (!bigger) return HG_ERR_NOMEM;
    b->data = bigger;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, len);
  b->len += len;
  return HG_OK;
}

hg_status lf_put_u32be(lf_buf *b, uint32_t v) {
  uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  return lf_put(b, p, 4);
}

hg_status lf_put_u32le(lf_buf *b, uint32_t v) {
  uint8_t p[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  return lf_put(b, p, 4);
}

void lf_hash(lf_scan *s, const void *data, size_t len) {
  if (!s->no_hash) crypto_generichash_update(&s->hash, data, len);
}

void lf_found_text(lf_scan *s, const char *carrier, size_t offset, const char *text, size_t len) {
  hg_aigc label;
  if (hg_aigc_parse(text, len, &label, NULL) != HG_OK) {
    s->unreadable++;
    return;
  }
  if (s->found < LF_MAX_LABELS) {
    s->labels[s->found] = label;
    snprintf(s->carriers[s->found], sizeof s->carriers[0], "%s", carrier);
    s->offsets[s->found] = offset;
  }
  s->found++;
}

/* ---- formats --------------------------------------------------------------------------------------------- */

static const lf_format *format_named(const char *name) {
  for (size_t i = 0; i < NFORMATS; i++)
    if (!strcmp(FORMATS[i]->name, name)) return FORMATS[i];
  return NULL;
}

static const lf_format *format_for(const uint8_t *data, size_t len, const char *path) {
  for (size_t i = 0; i < NFORMATS; i++)
    if (FORMATS[i]->sniff(data, len, path)) return FORMATS[i];
  return NULL;
}

const char *hg_label_format_detect(const uint8_t *data, size_t len, const char *path) {
  const lf_format *f = format_for(data, len, path);
  return f ? f->name : NULL;
}

/* hash = 0 parses and reads the carriers without hashing the content (r->content_hash is then left zero). */
static hg_status scan_buffer(const lf_format *f, const uint8_t *data, size_t len, hg_label_report *r, int hash,
                             hg_error *err) {
  lf_scan *s = calloc(1, sizeof *s);
  if (!s) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  s->no_hash = !hash;
  memset(r, 0, sizeof *r);
  r->format = f->name;
  crypto_generichash_init(&s->hash, NULL, 0, HG_LABEL_CONTENT_HASH_BYTES);
  hg_status st = f->scan(data, len, s, err);
  if (!st) {
    if (hash) crypto_generichash_final(&s->hash, r->content_hash, sizeof r->content_hash);
    r->labels_found = s->found;
    r->unreadable = s->unreadable;
    if (s->found) {
      r->label = s->labels[0];
      snprintf(r->carrier, sizeof r->carrier, "%s", s->carriers[0]);
      r->carrier_offset = s->offsets[0];
    }
    for (int i = 1; i < s->found && i < LF_MAX_LABELS; i++)
      if (!hg_aigc_equal(&s->labels[0], &s->labels[i])) r->conflict = 1;
  }
  free(s);
  return st;
}

hg_status hg_label_buffer_read(const char *format, const uint8_t *data, size_t len, hg_label_report *r, hg_error *err) {
  if (sodium_init() < 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "libsodium failed to initialise");
  const lf_format *f = format ? format_named(format) : format_for(data, len, NULL);
  if (!f) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not a file format hegui labels");
  return scan_buffer(f, data, len, r, 1, err);
}

/* ---- files ----------------------------------------------------------------------------------------------- */

typedef struct mapped {
  const uint8_t *data;
  size_t len;
  mode_t mode;
} mapped;

static hg_status map_file(const char *path, mapped *m, hg_error *err) {
  struct stat sb;
  memset(m, 0, sizeof *m);
  int fd = hg_file_open_regular(path, FILE_MAX, &sb, err);
  if (fd < 0) return err ? err->status : HG_ERR_IO;
  m->len = (size_t)sb.st_size;
  m->mode = sb.st_mode & 07777;
  if (m->len) {
    void *p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      close(fd);
      return hg_fail(err, HG_ERR_IO, 0, 0, "%s: cannot map: %s", path, strerror(e));
    }
    m->data = p;
  }
  close(fd);
  return HG_OK;
}

static void unmap_file(mapped *m) {
  if (m->data) munmap((void *)m->data, m->len);
}

/* A format's message names no file; the caller's name goes in front. */
static hg_status name_file(hg_status st, const char *path, hg_error *err) {
  if (st && err && strncmp(err->message, path, strlen(path))) {
    char message[sizeof err->message];
    size_t plen = strnlen(path, sizeof message - 3);
    memcpy(message, path, plen);
    memcpy(message + plen, ": ", 2);
    size_t rest = sizeof message - plen - 3;
    size_t mlen = strnlen(err->message, rest);
    memcpy(message + plen + 2, err->message, mlen);
    message[plen + 2 + mlen] = '\0';
    memcpy(err->message, message, sizeof message);
  }
  return st;
}

hg_status hg_label_file_read(const char *path, hg_label_report *r, hg_error *err) {
  if (sodium_init() < 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "libsodium failed to initialise");
  mapped m;
  hg_status st = map_file(path, &m, err);
  if (st) return st;
  const lf_format *f = format_for(m.data, m.len, path);
  st = f ? scan_buffer(f, m.data, m.len, r, 1, err)
         : hg_fail(err, HG_ERR_PARSE, 0, 0, "%s: not a file format hegui labels", path);
  unmap_file(&m);
  return name_file(st, path, err);
}

/* ---- signatures ------------------------------------------------------------------------------------------ */

static void hash_hex(const uint8_t hash[HG_LABEL_CONTENT_HASH_BYTES], char hex[2 * HG_LABEL_CONTENT_HASH_BYTES + 1]) {
  sodium_bin2hex(hex, 2 * HG_LABEL_CONTENT_HASH_BYTES + 1, hash, HG_LABEL_CONTENT_HASH_BYTES);
}

/* message buffers: 7 values of at most 256 bytes, a domain line and a hex hash */
#define MSG_MAX (8 * (HG_AIGC_VALUE_MAX + 1) + 2 * HG_LABEL_CONTENT_HASH_BYTES + 64)

static size_t producer_message(const hg_aigc *l, const uint8_t hash[HG_LABEL_CONTENT_HASH_BYTES], char *msg) {
  char hex[2 * HG_LABEL_CONTENT_HASH_BYTES + 1];
  hash_hex(hash, hex);
  return (size_t)snprintf(msg, MSG_MAX, "hegui-aigc-file-v1 producer\n%s\n%s\n%s", l->value[HG_AIGC_PRODUCER],
                          l->value[HG_AIGC_PRODUCE_ID], hex);
}

static size_t propagator_message(const hg_aigc *l, const uint8_t hash[HG_LABEL_CONTENT_HASH_BYTES], char *msg) {
  char hex[2 * HG_LABEL_CONTENT_HASH_BYTES + 1];
  hash_hex(hash, hex);
  return (size_t)snprintf(msg, MSG_MAX, "hegui-aigc-file-v1 propagator\n%s\n%s\n%s\n%s\n%s\n%s\n%s",
                          l->value[HG_AIGC_LABEL], l->value[HG_AIGC_PRODUCER], l->value[HG_AIGC_PRODUCE_ID],
                          l->value[HG_AIGC_RESERVED1], l->value[HG_AIGC_PROPAGATOR], l->value[HG_AIGC_PROPAGATE_ID],
                          hex);
}

static void sign_b64(const char *msg, size_t len, const uint8_t *sk, char *out, size_t cap) {
  uint8_t sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, NULL, (const unsigned char *)msg, len, sk);
  sodium_bin2base64(out, cap, sig, sizeof sig, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static hg_sig_state check_sig(const char *b64, size_t b64_len, const char *msg, size_t len,
                              const uint8_t (*keys)[HG_LABEL_PUBLIC_KEY_BYTES], size_t nkeys) {
  uint8_t sig[crypto_sign_BYTES];
  size_t got = 0;
  if (sodium_base642bin(sig, sizeof sig, b64, b64_len, NULL, &got, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
      got != sizeof sig)
    return HG_SIG_INVALID;
  for (size_t k = 0; k < nkeys; k++)
    if (!crypto_sign_verify_detached(sig, (const unsigned char *)msg, len, keys[k])) return HG_SIG_VALID;
  return HG_SIG_INVALID;
}

void hg_label_report_verify(hg_label_report *r, const uint8_t (*keys)[HG_LABEL_PUBLIC_KEY_BYTES], size_t nkeys) {
  r->producer_signature = r->propagator_signature = HG_SIG_ABSENT;
  r->content_unchanged = -1;
  r->intact = 0;
  r->problem[0] = '\0';
  if (sodium_init() < 0) {
    snprintf(r->problem, sizeof r->problem, "libsodium failed to initialise");
    return;
  }
  if (!r->labels_found) {
    snprintf(r->problem, sizeof r->problem, r->unreadable ? "the AIGC metadata is not a readable label" : "no label");
    return;
  }
  char *msg = malloc(MSG_MAX);
  if (!msg) {
    snprintf(r->problem, sizeof r->problem, "out of memory");
    return;
  }
  const hg_aigc *l = &r->label;
  const char *rc1 = l->value[HG_AIGC_RESERVED1];
  if (*rc1) {
    const char *dot = strchr(rc1, '.');
    uint8_t stored[HG_LABEL_CONTENT_HASH_BYTES];
    size_t got = 0;
    if (!dot ||
        sodium_base642bin(stored, sizeof stored, dot + 1, strlen(dot + 1), NULL, &got, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
        got != sizeof stored) {
      r->producer_signature = HG_SIG_INVALID;
    } else {
      r->producer_signature = check_sig(rc1, (size_t)(dot - rc1), msg, producer_message(l, stored, msg), keys, nkeys);
      r->content_unchanged = !memcmp(stored, r->content_hash, sizeof stored);
    }
  }
  const char *rc2 = l->value[HG_AIGC_RESERVED2];
  if (*rc2)
    r->propagator_signature =
        check_sig(rc2, strlen(rc2), msg, propagator_message(l, r->content_hash, msg), keys, nkeys);
  free(msg);

  if (r->conflict)
    snprintf(r->problem, sizeof r->problem, "two different labels in one file (%d carriers)", r->labels_found);
  else if (r->unreadable)
    snprintf(r->problem, sizeof r->problem, "a label carrier holds something that is not a label");
  else if (r->producer_signature == HG_SIG_INVALID)
    snprintf(r->problem, sizeof r->problem,
             "ReservedCode1 does not verify: ContentProducer or ProduceID was changed, or another key signed it");
  else if (r->content_unchanged == 0)
    snprintf(r->problem, sizeof r->problem, "the content changed since it was labelled");
  else if (r->propagator_signature == HG_SIG_INVALID)
    snprintf(r->problem, sizeof r->problem,
             "ReservedCode2 does not verify: Label or a propagator field was changed, or another key signed it");
  else if (r->propagator_signature == HG_SIG_ABSENT)
    snprintf(r->problem, sizeof r->problem, "the label is not signed (ReservedCode2 is empty)");
  else
    r->intact = 1;
}

/* ---- adding ---------------------------------------------------------------------------------------------- */

static hg_status build_label(const hg_label_report *before, const hg_label_add_options *o, const uint8_t *sk,
                             hg_aigc *l, hg_error *err) {
  memset(l, 0, sizeof *l);
  char *msg = malloc(MSG_MAX);
  if (!msg) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  hg_status st = HG_OK;
  const char *label = o->label;
  if (!o->platform) {
    if (!o->producer || !o->produce_id) {
      st = hg_fail(err, HG_ERR_INVALID, 0, 0, "a label needs ContentProducer and ProduceID");
      goto done;
    }
    snprintf(l->value[HG_AIGC_PRODUCER], sizeof l->value[0], "%s", o->producer);
    snprintf(l->value[HG_AIGC_PRODUCE_ID], sizeof l->value[0], "%s", o->produce_id);
    if (strlen(o->producer) > HG_AIGC_VALUE_MAX || strlen(o->produce_id) > HG_AIGC_VALUE_MAX || !*o->producer ||
        !*o->produce_id) {
      st = hg_fail(err, HG_ERR_INVALID, 0, 0, "ContentProducer and ProduceID must be 1-%d bytes", HG_AIGC_VALUE_MAX);
      goto done;
    }
    char sig[SIG_B64_LEN], hash[HASH_B64_LEN];
    sign_b64(msg, producer_message(l, before->content_hash, msg), sk, sig, sizeof sig);
    sodium_bin2base64(hash, sizeof hash, before->content_hash, sizeof before->content_hash,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    snprintf(l->value[HG_AIGC_RESERVED1], sizeof l->value[0], "%s.%s", sig, hash);
    /* on first write the propagator is the producer (Appendix E) */
    snprintf(l->value[HG_AIGC_PROPAGATOR], sizeof l->value[0], "%s", o->propagator ? o->propagator : o->producer);
    snprintf(l->value[HG_AIGC_PROPAGATE_ID], sizeof l->value[0], "%s",
             o->propagate_id ? o->propagate_id : o->produce_id);
    if (!label) label = "1";
  } else {
    if (before->conflict) {
      st = hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "the file holds two different labels; a platform cannot tell whose producer fields to keep");
      goto done;
    }
    if (!o->propagator || !o->propagate_id || !*o->propagator || !*o->propagate_id) {
      st = hg_fail(err, HG_ERR_INVALID, 0, 0, "platform mode needs ContentPropagator and PropagateID");
      goto done;
    }
    if (before->labels_found) {
      *l = before->label; /* the producer's fields and ReservedCode1 stay as they are */
      if (!label) label = before->label.value[HG_AIGC_LABEL];
    }
    if (!label) {
      st = hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "the file has no label: say which one the platform sets (Label 1, 2 or 3)");
      goto done;
    }
    snprintf(l->value[HG_AIGC_PROPAGATOR], sizeof l->value[0], "%s", o->propagator);
    snprintf(l->value[HG_AIGC_PROPAGATE_ID], sizeof l->value[0], "%s", o->propagate_id);
    if (strlen(o->propagator) > HG_AIGC_VALUE_MAX || strlen(o->propagate_id) > HG_AIGC_VALUE_MAX) {
      st =
          hg_fail(err, HG_ERR_INVALID, 0, 0, "ContentPropagator and PropagateID must be 1-%d bytes", HG_AIGC_VALUE_MAX);
      goto done;
    }
  }
  snprintf(l->value[HG_AIGC_LABEL], sizeof l->value[0], "%.3s", label);
  l->value[HG_AIGC_RESERVED2][0] = '\0';
  char sig2[SIG_B64_LEN];
  sign_b64(msg, propagator_message(l, before->content_hash, msg), sk, sig2, sizeof sig2);
  snprintf(l->value[HG_AIGC_RESERVED2], sizeof l->value[0], "%s", sig2);
done:
  free(msg);
  return st;
}

/* full_check = 1 hashes the output again and requires the same content hash; 0 parses the output and reads its
 * carriers (exactly this one label) without hashing it again: the writers copy every byte outside the carriers
 * verbatim, and that property is proved by the full check in hg_label_buffer_add, which the unit tests and the fuzz
 * target run on every format (docs/labels.md, "Speed"). */
static hg_status add_to_buffer(const lf_format *f, const uint8_t *data, size_t len, const hg_label_add_options *o,
                               const uint8_t *sk, int full_check, lf_buf *out, hg_label_report *after, hg_error *err) {
  hg_label_report before;
  hg_status st = scan_buffer(f, data, len, &before, 1, err);
  if (st) return st;
  hg_aigc label;
  if ((st = build_label(&before, o, sk, &label, err))) return st;
  char *json;
  if ((st = hg_aigc_format(&label, &json, err))) return st;
  /* the output is the input plus a label: one allocation up front instead of a doubling series of copies */
  if (!out->data && len < SIZE_MAX - 65536) {
    out->data = malloc(len + 65536);
    out->cap = out->data ? len + 65536 : 0;
  }
  st = f->write(data, len, json, out, err);
  free(json);
  if (st) return st;
  /* the written file must read back as exactly this label over the same content; anything else is a bug in a
   * writer, caught here before the original is replaced */
  hg_error check_err;
  st = scan_buffer(f, out->data, out->len, after, full_check, &check_err);
  if (st)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "the %s writer made a file its reader refuses (%s); file not changed",
                   f->name, check_err.message);
  if (!full_check) memcpy(after->content_hash, before.content_hash, sizeof before.content_hash);
  if (after->labels_found != 1 || after->unreadable || !hg_aigc_equal(&after->label, &label) ||
      memcmp(after->content_hash, before.content_hash, sizeof before.content_hash))
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0,
                   "the %s writer did not produce exactly one label over unchanged content; file not changed", f->name);
  return HG_OK;
}

hg_status hg_label_buffer_add(const char *format, const uint8_t *data, size_t len, const hg_label_add_options *o,
                              const uint8_t sk[HG_LABEL_SECRET_KEY_BYTES], uint8_t **out, size_t *out_len,
                              hg_error *err) {
  *out = NULL;
  *out_len = 0;
  if (sodium_init() < 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "libsodium failed to initialise");
  const lf_format *f = format ? format_named(format) : format_for(data, len, NULL);
  if (!f) return hg_fail(err, HG_ERR_PARSE, 0, 0, "not a file format hegui labels");
  lf_buf b = {0};
  hg_label_report after;
  hg_status st = add_to_buffer(f, data, len, o, sk, 1, &b, &after, err);
  if (st) {
    free(b.data);
    return st;
  }
  *out = b.data;
  *out_len = b.len;
  return HG_OK;
}

hg_status hg_label_file_stage(const char *path, const hg_label_add_options *o,
                              const uint8_t sk[HG_LABEL_SECRET_KEY_BYTES], unsigned flags, hg_label_report *r,
                              hg_label_staged *staged, hg_error *err) {
  staged->tmp = staged->target = NULL;
  if (sodium_init() < 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "libsodium failed to initialise");
  mapped m;
  hg_status st = map_file(path, &m, err);
  if (st) return st;
  const lf_format *f = format_for(m.data, m.len, path);
  lf_buf b = {0};
  st = f ? add_to_buffer(f, m.data, m.len, o, sk, !!(flags & HG_LABEL_FULL_CHECK), &b, r, err)
         : hg_fail(err, HG_ERR_PARSE, 0, 0, "%s: not a file format hegui labels", path);
  unmap_file(&m); /* the input is not needed any more: the output is in b */
  if (!st) {      /* through a symbolic link the file it names is replaced, and the link stays a link */
    staged->target = realpath(path, NULL);
    st = staged->target ? hg_file_temp_write_flags(staged->target, b.data, b.len, m.mode,
                                                   (flags & HG_LABEL_NO_SYNC) ? HG_FILE_NOSYNC : 0, &staged->tmp, err)
                        : hg_fail(err, HG_ERR_IO, 0, 0, "%s: %s", path, strerror(errno));
    if (st) {
      free(staged->target);
      staged->target = NULL;
    }
  }
  free(b.data);
  return name_file(st, path, err);
}

hg_status hg_label_staged_commit(hg_label_staged *staged, unsigned flags, hg_error *err) {
  hg_status st = hg_file_commit(staged->tmp, staged->target, (flags & HG_LABEL_NO_SYNC) ? HG_FILE_NOSYNC : 0, err);
  free(staged->target);
  staged->tmp = staged->target = NULL;
  return st;
}

void hg_label_staged_discard(hg_label_staged *staged) {
  hg_file_temp_discard(staged->tmp);
  free(staged->target);
  staged->tmp = staged->target = NULL;
}

hg_status hg_label_file_add(const char *path, const hg_label_add_options *o,
                            const uint8_t sk[HG_LABEL_SECRET_KEY_BYTES], hg_label_report *r, hg_error *err) {
  hg_label_staged staged;
  hg_status st = hg_label_file_stage(path, o, sk, 0, r, &staged, err);
  return st ? st : name_file(hg_label_staged_commit(&staged, 0, err), path, err);
}
