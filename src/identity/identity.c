/* identity.c — real-name identity: the fields a user submits (normalised, then checked with the PII validators),
 * sealed at rest with a key the database never sees, and the two ends of the verification provider's protocol that
 * do not need a network (the request body and the reading of the answer; the call itself is src/gateway/idv.c).
 *
 * Normalising comes first so that what is checked is exactly what is sealed and sent: "１１０１…ｘ" and
 * "+86 138-0013-8000" are stored as "1101…X" and "13800138000". The sealed text is "v1." + base64url(nonce |
 * secretbox(JSON)); the JSON is padded with spaces (still valid JSON) to a multiple of SEAL_PAD_BYTES so that the
 * length of a sealed text says little about the name inside it. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "hegui/identity.h"
#include "hegui/pii.h"
#include "hegui/text.h"

#define KEY_HEX_CHARS (2 * HG_IDENTITY_KEY_BYTES)
#define SEAL_PREFIX "v1."
#define SEAL_PAD_BYTES 64
#define SEALED_TEXT_MAX 4096 /* longer than anything hg_identity_seal makes; a longer text is not read at all */
#define RAW_FIELD_MAX 1024   /* bytes of typed input looked at per field */
#define FIELD_SIZE(member) sizeof(((hg_identity_fields *)0)->member)

/* ---- the sealing key ------------------------------------------------------------------------------------------ */

static int hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* 64 hex characters and at most one line end after them. `what` names the source in messages. */
static hg_status key_from_hex(const char *what, const char *text, size_t len, uint8_t key[HG_IDENTITY_KEY_BYTES],
                              hg_error *err) {
  if (len && text[len - 1] == '\n') len--;
  if (len && text[len - 1] == '\r') len--;
  if (len != KEY_HEX_CHARS)
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "%s: expected %d hex characters, found %zu", what, KEY_HEX_CHARS, len);
  for (size_t i = 0; i < KEY_HEX_CHARS; i += 2) {
    int hi = hex_value((unsigned char)text[i]), lo = hex_value((unsigned char)text[i + 1]);
    if (hi < 0 || lo < 0) {
      sodium_memzero(key, HG_IDENTITY_KEY_BYTES);
      return hg_fail(err, HG_ERR_PARSE, 0, i + (hi >= 0), "%s: character %zu is not a hex digit", what,
                     i + (hi >= 0) + 1);
    }
    key[i / 2] = (uint8_t)(hi << 4 | lo);
  }
  return HG_OK;
}

static hg_status read_key_file(const char *path, uint8_t key[HG_IDENTITY_KEY_BYTES], hg_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return hg_fail(err, errno == ENOENT ? HG_ERR_NOT_FOUND : HG_ERR_IO, 0, 0, "%s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return hg_fail(err, HG_ERR_IO, 0, 0, "%s: not a regular file", path);
  }
  /* whoever can read this key can read every identity in the database */
  if (st.st_mode & 077) {
    close(fd);
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "%s: readable by group or others (mode %03o); run chmod 600 %s", path,
                   (unsigned)(st.st_mode & 0777), path);
  }
  char buf[KEY_HEX_CHARS + 8]; /* room to see that a file is too long */
  size_t got = 0;
  while (got < sizeof buf) {
    ssize_t n = read(fd, buf + got, sizeof buf - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int saved = errno;
      close(fd);
      sodium_memzero(buf, sizeof buf);
      return hg_fail(err, HG_ERR_IO, 0, 0, "%s: %s", path, strerror(saved));
    }
    if (n == 0) break;
    got += (size_t)n;
  }
  close(fd);
  hg_status st_hex = key_from_hex(path, buf, got, key, err);
  sodium_memzero(buf, sizeof buf);
  return st_hex;
}

/* Writes a new key as hex through a temporary file that only its owner can read, then links it into place: link()
 * never replaces an existing file, so two processes starting at once end up using the same key. */
static hg_status create_key_file(const char *path, uint8_t key[HG_IDENTITY_KEY_BYTES], hg_error *err) {
  char tmp[4096];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "%s: path too long", path);
  unlink(tmp); /* left by a process with our pid that died half-way */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) return hg_fail(err, HG_ERR_IO, 0, 0, "%s: cannot create: %s", tmp, strerror(errno));
  uint8_t fresh[HG_IDENTITY_KEY_BYTES];
  randombytes_buf(fresh, sizeof fresh);
  char hex[KEY_HEX_CHARS + 2];
  sodium_bin2hex(hex, sizeof hex, fresh, sizeof fresh);
  hex[KEY_HEX_CHARS] = '\n';
  size_t done = 0;
  while (done < KEY_HEX_CHARS + 1) {
    ssize_t n = write(fd, hex + done, KEY_HEX_CHARS + 1 - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += (size_t)n;
  }
  sodium_memzero(hex, sizeof hex);
  int ok = done == KEY_HEX_CHARS + 1 && fsync(fd) == 0;
  int saved = errno;
  close(fd);
  if (ok) {
    ok = link(tmp, path) == 0;
    saved = errno;
  }
  unlink(tmp);
  if (!ok) {
    sodium_memzero(fresh, sizeof fresh);
    if (saved == EEXIST) return read_key_file(path, key, err); /* another process was first: use its key */
    return hg_fail(err, HG_ERR_IO, 0, 0, "%s: cannot write the identity key: %s", path, strerror(saved));
  }
  memcpy(key, fresh, sizeof fresh);
  sodium_memzero(fresh, sizeof fresh);
  return HG_OK;
}

hg_status hg_identity_key_load(const char *path, int create, uint8_t key[HG_IDENTITY_KEY_BYTES], hg_error *err) {
  if (!key) return hg_fail(err, HG_ERR_INVALID, 0, 0, "identity key: no output buffer");
  if (sodium_init() < 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "libsodium could not start");
  const char *env = getenv("HEGUI_IDENTITY_KEY");
  if (env && *env) return key_from_hex("HEGUI_IDENTITY_KEY", env, strlen(env), key, err);
  if (!path || !*path)
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "identity key: set HEGUI_IDENTITY_KEY or configure a key file");
  hg_status st = read_key_file(path, key, err);
  if (st != HG_ERR_NOT_FOUND) return st;
  if (!create)
    return hg_fail(
        err, HG_ERR_NOT_FOUND, 0, 0,
        "%s: no identity key there; restore it, or set HEGUI_IDENTITY_KEY (identities sealed with a lost key "
        "cannot be opened)",
        path);
  hg_error_clear(err);
  return create_key_file(path, key, err);
}

/* ---- normalising and checking the fields ---------------------------------------------------------------------- */

/* People type on Chinese keyboards in full width: the block U+FF01-FF5E mirrors ASCII 0x21-0x7E one to one. */
static uint32_t fold_width(uint32_t cp) {
  if (cp >= 0xFF01 && cp <= 0xFF5E) return cp - 0xFEE0;
  if (cp == 0x3000 || cp == 0x00A0) return ' ';
  if ((cp >= 0x2010 && cp <= 0x2015) || cp == 0x2212) return '-'; /* hyphens, dashes, minus */
  return cp;
}

static int is_space(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Folds typed text to ASCII with surrounding white space removed. A character with no ASCII form is an error. */
static hg_status fold_to_ascii(const char *field, const char *in, size_t len, char *out, size_t cap, size_t *out_len,
                               hg_error *err) {
  if (len > RAW_FIELD_MAX) return hg_fail(err, HG_ERR_LIMIT, 0, 0, "%s: longer than %d bytes", field, RAW_FIELD_MAX);
  size_t n = 0;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    int step = hg_utf8_decode((const uint8_t *)in + i, len - i, &cp);
    if (step <= 0) return hg_fail(err, HG_ERR_UTF8, 0, i, "%s: not valid UTF-8 (at byte %zu)", field, i);
    cp = fold_width(cp);
    if (cp >= 0x80 || (cp < 0x20 && !is_space((int)cp)) || cp == 0x7F)
      return hg_fail(err, HG_ERR_INVALID, 0, i, "%s: character U+%04X is not allowed here", field, (unsigned)cp);
    if (n + 1 >= cap) return hg_fail(err, HG_ERR_LIMIT, 0, i, "%s: too long", field);
    out[n++] = (char)cp;
    i += (size_t)step;
  }
  size_t start = 0;
  while (start < n && is_space(out[start]))
    start++;
  while (n > start && is_space(out[n - 1]))
    n--;
  memmove(out, out + start, n - start);
  n -= start;
  out[n] = '\0';
  *out_len = n;
  return HG_OK;
}

/* Characters that change how a name is read or displayed without being part of it: C0 and C1 controls, DEL, line
 * and paragraph separators, zero-width characters and the byte-order mark, and the bidirectional marks,
 * embeddings, overrides and isolates. */
static int is_control(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x200B && cp <= 0x200F) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) ||
         cp == 0xFEFF;
}

static int is_space_cp(uint32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == 0x3000 || cp == 0xA0;
}

static hg_status normalise_name(const char *in, size_t len, char out[FIELD_SIZE(name)], hg_error *err) {
  const size_t cap = FIELD_SIZE(name);
  if (len > RAW_FIELD_MAX) return hg_fail(err, HG_ERR_LIMIT, 0, 0, "name: longer than %zu bytes", cap - 1);
  size_t first = len, end = 0; /* the span between leading and trailing white space */
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    int step = hg_utf8_decode((const uint8_t *)in + i, len - i, &cp);
    if (step <= 0) return hg_fail(err, HG_ERR_UTF8, 0, i, "name: not valid UTF-8 (at byte %zu)", i);
    if (!is_space_cp(cp)) {
      if (is_control(cp))
        return hg_fail(err, HG_ERR_INVALID, 0, i, "name: control character U+%04X is not allowed", (unsigned)cp);
      if (first == len) first = i;
      end = i + (size_t)step;
    }
    i += (size_t)step;
  }
  if (first == len) return hg_fail(err, HG_ERR_INVALID, 0, 0, "name: missing");
  /* white space is trimmed at the ends; inside a name only spaces may stay ("Maria José"), never tabs or lines */
  for (size_t i = first; i < end; i++)
    if (in[i] == '\t' || in[i] == '\r' || in[i] == '\n')
      return hg_fail(err, HG_ERR_INVALID, 0, i, "name: control character U+%04X is not allowed", (unsigned)in[i]);
  if (end - first >= cap) return hg_fail(err, HG_ERR_LIMIT, 0, 0, "name: longer than %zu bytes", cap - 1);
  memmove(out, in + first, end - first);
  out[end - first] = '\0';
  return HG_OK;
}

static int all_digits(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

static hg_status normalise_id(const char *in, size_t len, char out[FIELD_SIZE(id_number)], hg_error *err) {
  char buf[64];
  size_t n = 0;
  hg_status st = fold_to_ascii("id_number", in, len, buf, sizeof buf, &n, err);
  if (st == HG_ERR_LIMIT) return hg_fail(err, HG_ERR_INVALID, 0, 0, "id_number: expected 18 characters");
  if (st) return st;
  if (n == 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "id_number: missing");
  if (n == 15 && all_digits(buf, 15))
    return hg_fail(err, HG_ERR_INVALID, 0, 0,
                   "id_number: the old 15-digit form is not accepted (it has no check digit); give the 18-character "
                   "number");
  if (n != 18) return hg_fail(err, HG_ERR_INVALID, 0, 0, "id_number: expected 18 characters, found %zu", n);
  if (buf[17] == 'x') buf[17] = 'X';
  if (!all_digits(buf, 17) || !((buf[17] >= '0' && buf[17] <= '9') || buf[17] == 'X'))
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "id_number: only digits and a final X are allowed");
  memcpy(out, buf, 19);
  return HG_OK;
}

static hg_status normalise_phone(const char *in, size_t len, char out[FIELD_SIZE(phone)], hg_error *err) {
  char buf[64], digits[64];
  size_t n = 0, nd = 0;
  hg_status st = fold_to_ascii("phone", in, len, buf, sizeof buf, &n, err);
  if (st == HG_ERR_LIMIT) return hg_fail(err, HG_ERR_INVALID, 0, 0, "phone: not a mainland mobile number");
  if (st) return st;
  if (n == 0) { /* not given */
    out[0] = '\0';
    return HG_OK;
  }
  int plus = 0;
  for (size_t i = 0; i < n; i++) {
    char c = buf[i];
    if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')') continue;
    if (c == '+' && nd == 0 && !plus) {
      plus = 1;
      continue;
    }
    if (c < '0' || c > '9')
      return hg_fail(err, HG_ERR_INVALID, 0, i, "phone: only digits, spaces, '-' and a +86 prefix are allowed");
    digits[nd++] = c;
  }
  const char *d = digits;
  if (plus) {
    if (nd < 2 || memcmp(d, "86", 2) != 0)
      return hg_fail(err, HG_ERR_INVALID, 0, 0, "phone: only mainland numbers (+86) are accepted");
    d += 2, nd -= 2;
  } else if (nd == 15 && memcmp(d, "0086", 4) == 0) {
    d += 4, nd -= 4;
  } else if (nd == 13 && memcmp(d, "86", 2) == 0) {
    d += 2, nd -= 2;
  }
  if (!hg_cn_mobile_valid(d, nd))
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "phone: not a mainland mobile number (11 digits, 13x to 19x)");
  memcpy(out, d, 11);
  out[11] = '\0';
  return HG_OK;
}

static size_t bounded_len(const char *s, size_t cap) { return s ? strnlen(s, cap) : 0; }

hg_status hg_identity_fields_set(hg_identity_fields *f, const char *name, const char *id_number, const char *phone,
                                 hg_error *err) {
  if (!f) return hg_fail(err, HG_ERR_INVALID, 0, 0, "identity: no fields");
  hg_identity_fields tmp;
  memset(&tmp, 0, sizeof tmp);
  /* one byte beyond the bound is enough to see that an input is too long */
  hg_status st = normalise_name(name ? name : "", bounded_len(name, RAW_FIELD_MAX + 1), tmp.name, err);
  if (!st) st = normalise_id(id_number ? id_number : "", bounded_len(id_number, RAW_FIELD_MAX + 1), tmp.id_number, err);
  if (!st) st = normalise_phone(phone ? phone : "", bounded_len(phone, RAW_FIELD_MAX + 1), tmp.phone, err);
  if (!st) *f = tmp;
  sodium_memzero(&tmp, sizeof tmp);
  return st;
}

/* GB 11643 MOD 11-2, written here as the standard states it: weight 2^(17-i) mod 11, and the check value c makes
 * the weighted sum plus c equal to 1 mod 11 (X stands for 10). */
static char id_check_char(const char *s) {
  unsigned sum = 0, weight = 1;
  for (int i = 16; i >= 0; i--) {
    weight = weight * 2 % 11;
    sum += (unsigned)(s[i] - '0') * weight;
  }
  unsigned c = (12 - sum % 11) % 11;
  return c == 10 ? 'X' : (char)('0' + c);
}

static unsigned digits_value(const char *s, size_t len) {
  unsigned v = 0;
  for (size_t i = 0; i < len; i++)
    v = v * 10 + (unsigned)(s[i] - '0');
  return v;
}

static int is_leap(unsigned y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned month_days(unsigned y, unsigned m) {
  static const unsigned days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d (y >= 1), proleptic Gregorian. */
static int64_t days_since_epoch(unsigned y, unsigned m, unsigned d) {
  int64_t before_y = (int64_t)y - 1, before_1970 = 1969;
  int64_t days = ((int64_t)y - 1970) * 365 + (before_y / 4 - before_y / 100 + before_y / 400) -
                 (before_1970 / 4 - before_1970 / 100 + before_1970 / 400);
  for (unsigned k = 1; k < m; k++)
    days += month_days(y, k);
  return days + d - 1;
}

/* 00:00 China Standard Time (UTC+8, no daylight saving since 1991) of the 18th birthday. */
static int64_t adult_from(unsigned year, unsigned month, unsigned day) {
  unsigned y = year + 18;
  if (month == 2 && day == 29 && !is_leap(y)) month = 3, day = 1;
  return days_since_epoch(y, month, day) * 86400000 - 8 * 3600000;
}

static hg_status check_id(const char *id, unsigned today_yyyymmdd, hg_cn_id_info *info, hg_error *err) {
  if (id[17] != id_check_char(id))
    return hg_fail(err, HG_ERR_INVALID, 0, 17, "id_number: the check digit does not match");
  unsigned y = digits_value(id + 6, 4), m = digits_value(id + 10, 2), d = digits_value(id + 12, 2);
  if (y < 1900 || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
    return hg_fail(err, HG_ERR_INVALID, 0, 6, "id_number: %04u-%02u-%02u is not a possible birth date", y, m, d);
  if (today_yyyymmdd && y * 10000 + m * 100 + d > today_yyyymmdd)
    return hg_fail(err, HG_ERR_INVALID, 0, 6, "id_number: the birth date %04u-%02u-%02u is in the future", y, m, d);
  if (!hg_cn_id_valid(id, 18, today_yyyymmdd, info))
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "id_number: the region code %.6s is not one in use", id);
  return HG_OK;
}

hg_status hg_identity_check(hg_identity_fields *f, unsigned today_yyyymmdd, int64_t *adult_from_ms, hg_error *err) {
  if (!f) return hg_fail(err, HG_ERR_INVALID, 0, 0, "identity: no fields");
  /* the fields may hold anything, NUL-terminated or not: each is read only within its own size */
  hg_identity_fields tmp;
  memset(&tmp, 0, sizeof tmp);
  hg_status st = normalise_name(f->name, strnlen(f->name, sizeof f->name), tmp.name, err);
  if (!st) st = normalise_id(f->id_number, strnlen(f->id_number, sizeof f->id_number), tmp.id_number, err);
  if (!st) st = normalise_phone(f->phone, strnlen(f->phone, sizeof f->phone), tmp.phone, err);
  hg_cn_id_info info;
  if (!st) st = check_id(tmp.id_number, today_yyyymmdd, &info, err);
  if (!st) {
    *f = tmp;
    if (adult_from_ms) *adult_from_ms = adult_from(info.year, info.month, info.day);
  }
  sodium_memzero(&tmp, sizeof tmp);
  return st;
}

/* ---- sealing ----------------------------------------------------------------------------------------------- */

/* A field fit to seal or unsealed: NUL-terminated inside its size. */
static int field_terminated(const char *s, size_t size) { return memchr(s, '\0', size) != NULL; }

hg_status hg_identity_seal(const uint8_t key[HG_IDENTITY_KEY_BYTES], const hg_identity_fields *f, char *out, size_t cap,
                           hg_error *err) {
  if (!key || !f || !out) return hg_fail(err, HG_ERR_INVALID, 0, 0, "seal: missing argument");
  if (cap) out[0] = '\0';
  if (!field_terminated(f->name, sizeof f->name) || !field_terminated(f->id_number, sizeof f->id_number) ||
      !field_terminated(f->phone, sizeof f->phone))
    return hg_fail(err, HG_ERR_INVALID, 0, 0, "seal: a field is not NUL-terminated");
  if (!f->name[0]) return hg_fail(err, HG_ERR_INVALID, 0, 0, "seal: the name is empty");
  if (sodium_init() < 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "libsodium could not start");
  json_t *obj = json_object();
  json_t *name = json_string(f->name), *id = json_string(f->id_number), *phone = json_string(f->phone);
  if (!obj || !name || !id || !phone) {
    json_decref(obj), json_decref(name), json_decref(id), json_decref(phone);
    return obj ? hg_fail(err, HG_ERR_UTF8, 0, 0, "seal: a field is not valid UTF-8")
               : hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  }
  json_object_set_new(obj, "name", name);
  json_object_set_new(obj, "id_number", id);
  json_object_set_new(obj, "phone", phone);
  char *json = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(obj);
  if (!json) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  size_t json_len = strlen(json);
  size_t plain_len = (json_len + SEAL_PAD_BYTES - 1) / SEAL_PAD_BYTES * SEAL_PAD_BYTES;
  size_t box_len = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain_len;
  uint8_t *plain = malloc(plain_len), *box = malloc(box_len);
  hg_status st = HG_OK;
  if (!plain || !box) {
    st = hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  } else {
    memcpy(plain, json, json_len);
    memset(plain + json_len, ' ', plain_len - json_len);
    randombytes_buf(box, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, plain, plain_len, box, key);
    size_t need = strlen(SEAL_PREFIX) + sodium_base64_ENCODED_LEN(box_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (need > cap) {
      st = hg_fail(err, HG_ERR_LIMIT, 0, 0, "seal: %zu bytes needed, %zu given", need, cap);
    } else {
      memcpy(out, SEAL_PREFIX, strlen(SEAL_PREFIX));
      sodium_bin2base64(out + strlen(SEAL_PREFIX), cap - strlen(SEAL_PREFIX), box, box_len,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    }
  }
  sodium_memzero(json, json_len);
  free(json);
  if (plain) sodium_memzero(plain, plain_len);
  free(plain);
  free(box);
  return st;
}

/* Copies a string member of the sealed object into a field, refusing anything that would not fit or that holds a
 * NUL (the field would silently end early). */
static int take_member(json_t *obj, const char *member, char *field, size_t size) {
  json_t *v = json_object_get(obj, member);
  if (!json_is_string(v)) return 0;
  size_t len = json_string_length(v);
  const char *s = json_string_value(v);
  if (len >= size || memchr(s, '\0', len)) return 0;
  memcpy(field, s, len);
  field[len] = '\0';
  return 1;
}

hg_status hg_identity_unseal(const uint8_t key[HG_IDENTITY_KEY_BYTES], const char *sealed, hg_identity_fields *out,
                             hg_error *err) {
  if (!key || !sealed || !out) return hg_fail(err, HG_ERR_INVALID, 0, 0, "unseal: missing argument");
  memset(out, 0, sizeof *out);
  if (sodium_init() < 0) return hg_fail(err, HG_ERR_INVALID, 0, 0, "libsodium could not start");
  size_t len = strnlen(sealed, SEALED_TEXT_MAX + 1);
  if (len > SEALED_TEXT_MAX) return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "sealed identity: too long");
  size_t prefix = strlen(SEAL_PREFIX);
  if (len < prefix || memcmp(sealed, SEAL_PREFIX, prefix) != 0)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "sealed identity: not in the v1 format");
  uint8_t box[SEALED_TEXT_MAX], plain[SEALED_TEXT_MAX];
  size_t box_len;
  if (sodium_base642bin(box, sizeof box, sealed + prefix, len - prefix, NULL, &box_len, NULL,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      box_len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "sealed identity: damaged (not base64, or too short)");
  size_t plain_len = box_len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
  if (crypto_secretbox_open_easy(plain, box + crypto_secretbox_NONCEBYTES, box_len - crypto_secretbox_NONCEBYTES, box,
                                 key) != 0)
    return hg_fail(err, HG_ERR_CORRUPT, 0, 0, "sealed identity: sealed with another key, or changed");
  json_error_t jerr;
  json_t *obj = json_loadb((const char *)plain, plain_len, JSON_REJECT_DUPLICATES, &jerr);
  sodium_memzero(plain, plain_len);
  hg_status st = HG_OK;
  if (!json_is_object(obj) || json_object_size(obj) != 3 || !take_member(obj, "name", out->name, sizeof out->name) ||
      !take_member(obj, "id_number", out->id_number, sizeof out->id_number) ||
      !take_member(obj, "phone", out->phone, sizeof out->phone) || !out->name[0]) {
    sodium_memzero(out, sizeof *out);
    st = hg_fail(err, HG_ERR_CORRUPT, 0, 0, "sealed identity: the content is not the expected fields");
  }
  json_decref(obj);
  return st;
}

/* ---- the verification provider's protocol ------------------------------------------------------------------ */

#define COPY(dst, lit) snprintf((dst), sizeof(dst), "%s", (lit))

/* Every string of the configuration ends inside its array; a configuration that does not is refused. */
static int config_terminated(const hg_idv_config *c) {
  return field_terminated(c->url, sizeof c->url) && field_terminated(c->token, sizeof c->token) &&
         field_terminated(c->field_name, sizeof c->field_name) &&
         field_terminated(c->field_id_number, sizeof c->field_id_number) &&
         field_terminated(c->field_phone, sizeof c->field_phone) &&
         field_terminated(c->result_path, sizeof c->result_path) &&
         field_terminated(c->verified_value, sizeof c->verified_value) &&
         field_terminated(c->rejected_value, sizeof c->rejected_value) &&
         field_terminated(c->reason_path, sizeof c->reason_path);
}

static int add_member(json_t *obj, const char *member, const char *value) {
  if (!member[0]) return 0;
  return json_object_set_new(obj, member, json_string(value));
}

char *hg_idv_request_body(const hg_idv_config *c, const hg_identity_fields *f) {
  if (!c || !f || !config_terminated(c) || !field_terminated(f->name, sizeof f->name) ||
      !field_terminated(f->id_number, sizeof f->id_number) || !field_terminated(f->phone, sizeof f->phone))
    return NULL;
  json_t *obj = json_object();
  if (!obj) return NULL;
  int bad = add_member(obj, c->field_name, f->name) | add_member(obj, c->field_id_number, f->id_number);
  if (f->phone[0]) bad |= add_member(obj, c->field_phone, f->phone);
  char *body = bad ? NULL : json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(obj);
  return body;
}

/* Follows a dotted path ("data.result") through objects; a segment of digits also indexes an array
 * ("items.0.status"). Member names that contain a dot cannot be reached. */
static json_t *lookup_path(json_t *root, const char *path) {
  json_t *cur = root;
  const char *p = path;
  if (!*p) return NULL;
  for (;;) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    char segment[sizeof((hg_idv_config *)0)->result_path];
    if (n == 0 || n >= sizeof segment) return NULL;
    memcpy(segment, p, n);
    segment[n] = '\0';
    if (json_is_object(cur))
      cur = json_object_get(cur, segment);
    else if (json_is_array(cur) && n <= 9 && all_digits(segment, n))
      cur = json_array_get(cur, digits_value(segment, n));
    else
      return NULL;
    if (!cur) return NULL;
    if (!dot) return cur;
    p = dot + 1;
  }
}

/* The text a scalar is compared by: a string's own value, anything else its JSON text (1, true, 2.5). NULL for
 * objects and arrays, which are not verdicts. *owned is set when the text was allocated. */
static const char *scalar_text(json_t *v, char **owned) {
  *owned = NULL;
  if (json_is_string(v)) return json_string_value(v);
  if (!v || json_is_object(v) || json_is_array(v)) return NULL;
  *owned = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  return *owned;
}

/* Copies provider text so that it is safe to show and store: valid UTF-8 with control characters (as for names)
 * turned into spaces, invalid bytes into '?', cut at a character boundary to fit cap. Returns the bytes written. */
static size_t printable_copy(char *out, size_t cap, const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    int step = hg_utf8_decode((const uint8_t *)s + i, len - i, &cp);
    const char *piece = s + i;
    size_t piece_len = step > 0 ? (size_t)step : 1;
    if (step <= 0)
      piece = "?", piece_len = 1;
    else if (is_control(cp))
      piece = " ", piece_len = 1;
    if (n + piece_len >= cap) break;
    memcpy(out + n, piece, piece_len);
    n += piece_len;
    i += step > 0 ? (size_t)step : 1;
  }
  if (cap) out[n] = '\0';
  return n;
}

/* Appends printable text to a reason of 256 bytes. */
static void reason_add(char *reason, const char *s, size_t len) {
  if (!reason) return;
  size_t used = strlen(reason);
  printable_copy(reason + used, 256 - used, s, len);
}

static void reason_addz(char *reason, const char *s) { reason_add(reason, s, strlen(s)); }

/* The provider's reason, when reason_path is set and the answer holds a scalar there. */
static void add_provider_reason(char *reason, const hg_idv_config *c, json_t *root, const char *separator) {
  if (!reason || !c->reason_path[0] || !json_is_object(root)) return;
  char *owned;
  json_t *v = lookup_path(root, c->reason_path);
  const char *text = scalar_text(v, &owned);
  if (text && *text) {
    reason_addz(reason, separator);
    reason_add(reason, text, json_is_string(v) ? json_string_length(v) : strlen(text));
  }
  free(owned);
}

static hg_status parse_fail(hg_idv_result *out, char *reason, hg_error *err, hg_status status, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static hg_status parse_fail(hg_idv_result *out, char *reason, hg_error *err, hg_status status, const char *fmt, ...) {
  char message[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  *out = HG_IDV_UNDECIDED;
  if (reason) reason[0] = '\0', reason_addz(reason, message);
  return hg_fail(err, status, 0, 0, "%s", message);
}

hg_status hg_idv_parse_response(const hg_idv_config *c, long http_status, const char *body, size_t len,
                                hg_idv_result *out, char reason[256], hg_error *err) {
  if (reason) reason[0] = '\0';
  if (!c || !out || (!body && len)) return hg_fail(err, HG_ERR_INVALID, 0, 0, "identity provider: missing argument");
  *out = HG_IDV_UNDECIDED;
  if (!config_terminated(c)) return hg_fail(err, HG_ERR_INVALID, 0, 0, "identity provider: malformed configuration");
  if (len > HG_IDV_RESPONSE_MAX)
    return parse_fail(out, reason, err, HG_ERR_LIMIT, "the provider's answer is larger than %u bytes",
                      HG_IDV_RESPONSE_MAX);
  json_error_t jerr;
  json_t *root = len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
  if (http_status < 200 || http_status > 299) { /* 4xx, 5xx, or anything else that is not an answer */
    char head[64];
    snprintf(head, sizeof head, "provider answered HTTP %ld", http_status);
    reason_addz(reason, head);
    add_provider_reason(reason, c, root, ": ");
    json_decref(root);
    return HG_OK;
  }
  hg_status st = HG_OK;
  char *owned = NULL;
  if (!json_is_object(root)) {
    st = parse_fail(out, reason, err, HG_ERR_PARSE, "the provider's answer is not a JSON object%s%s",
                    root || !len ? "" : ": ", root || !len ? "" : jerr.text);
    goto done;
  }
  json_t *verdict = lookup_path(root, c->result_path);
  const char *text = scalar_text(verdict, &owned);
  if (!text) {
    st = parse_fail(out, reason, err, HG_ERR_PARSE, "the provider's answer has %s at '%s'",
                    verdict ? "no verdict (an object or array)" : "nothing", c->result_path);
    goto done;
  }
  size_t text_len = json_is_string(verdict) ? json_string_length(verdict) : strlen(text);
  int is_verified = text_len == strlen(c->verified_value) && !memcmp(text, c->verified_value, text_len);
  int is_rejected = text_len == strlen(c->rejected_value) && !memcmp(text, c->rejected_value, text_len);
  if (is_verified) {
    *out = HG_IDV_VERIFIED;
    add_provider_reason(reason, c, root, "");
    if (reason && !reason[0]) reason_addz(reason, "verified by the provider");
  } else if (is_rejected) {
    *out = HG_IDV_REJECTED;
    add_provider_reason(reason, c, root, "");
    if (reason && !reason[0]) reason_addz(reason, "rejected by the provider");
  } else {
    *out = HG_IDV_UNDECIDED;
    reason_addz(reason, "provider answered neither verified nor rejected: \"");
    if (reason) {
      char shown[64];
      printable_copy(shown, sizeof shown, text, text_len);
      reason_addz(reason, shown);
    }
    reason_addz(reason, "\"");
    add_provider_reason(reason, c, root, ": ");
  }
done:
  free(owned);
  json_decref(root);
  return st;
}
