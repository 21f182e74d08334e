/* audio_wav.c — the spoken label put into a WAV file without decoding anything else: the label's samples are made
 * in the file's own sample format, rate and channel count and joined to the data chunk; every other chunk (fmt,
 * LIST, an AIGC label chunk, ...) is copied in place, and the RIFF size written again.
 *
 * Read: "RIFF" size "WAVE", then chunks (id, 32-bit little-endian size, data, a pad byte after an odd size). The fmt
 * chunk says the format: 1 PCM (8-bit unsigned, 16/24/32-bit signed), 3 IEEE float (32/64-bit), 0xFFFE extensible
 * with one of those two as its sub-format. A data size of 0 or beyond the file (a recorder that never came back to
 * write it) means "to the end of the file". Anything else is refused with what and where. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "media/spoken.h"

static uint32_t u32le(const uint8_t *p) {
  return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t u16le(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

typedef struct wav_format {
  unsigned tag; /* 1 PCM, 3 float */
  unsigned channels, rate, bits, block;
} wav_format;

/* The label's sample at the file's rate (linear interpolation from the label's own rate), in [-1, 1]. */
static double label_at(const hg_pcm *l, size_t i, unsigned rate) {
  double t = (double)i * l->rate / rate;
  size_t k = (size_t)t;
  if (k + 1 >= l->count) return k < l->count ? l->samples[k] / 32768.0 : 0.0;
  double f = t - (double)k;
  return ((1.0 - f) * l->samples[k] + f * l->samples[k + 1]) / 32768.0;
}

/* One sample value v in [-1, 1] written in the file's format at p (one channel). */
static void put_sample(uint8_t *p, const wav_format *f, double v) {
  if (v > 1.0) v = 1.0;
  if (v < -1.0) v = -1.0;
  if (f->tag == 3) {
    if (f->bits == 32) {
      float x = (float)v;
      memcpy(p, &x, 4);
    } else {
      memcpy(p, &v, 8);
    }
    return;
  }
  switch (f->bits) {
  case 8: p[0] = (uint8_t)lround(v * 127.0 + 128.0); break;
  case 16: {
    int32_t x = (int32_t)lround(v * 32767.0);
    p[0] = (uint8_t)x, p[1] = (uint8_t)(x >> 8);
    break;
  }
  case 24: {
    int32_t x = (int32_t)lround(v * 8388607.0);
    p[0] = (uint8_t)x, p[1] = (uint8_t)(x >> 8), p[2] = (uint8_t)(x >> 16);
    break;
  }
  default: {
    int64_t x = llround(v * 2147483647.0);
    put32(p, (uint32_t)x);
  }
  }
}

static hg_status read_format(const uint8_t *c, uint32_t size, wav_format *f, hg_error *err, size_t at) {
  if (size < 16)
    return hg_fail(err, HG_ERR_PARSE, 0, at, "WAV fmt chunk of %u bytes at offset %zu, fewer than 16", size, at);
  f->tag = u16le(c);
  f->channels = u16le(c + 2);
  f->rate = u32le(c + 4);
  f->block = u16le(c + 12);
  f->bits = u16le(c + 14);
  if (f->tag == 0xFFFE) {
    if (size < 26) return hg_fail(err, HG_ERR_PARSE, 0, at, "WAV extensible fmt chunk too short at offset %zu", at);
    f->tag = u16le(c + 24); /* the sub-format GUID's first two bytes are the format tag */
  }
  int pcm_ok = f->tag == 1 && (f->bits == 8 || f->bits == 16 || f->bits == 24 || f->bits == 32);
  int float_ok = f->tag == 3 && (f->bits == 32 || f->bits == 64);
  if (!pcm_ok && !float_ok)
    return hg_fail(err, HG_ERR_INVALID, 0, at,
                   "WAV samples of format %u, %u bits: only PCM 8/16/24/32 and float 32/64 "
                   "take a spoken label",
                   f->tag, f->bits);
  if (!f->channels || f->channels > 32 || !f->rate || f->rate > 768000 || f->block != f->channels * (f->bits / 8))
    return hg_fail(err, HG_ERR_PARSE, 0, at, "WAV fmt chunk at offset %zu: %u channels, %u Hz, block %u do not fit", at,
                   f->channels, f->rate, f->block);
  return HG_OK;
}

hg_status hg_wav_insert_label(const uint8_t *in, size_t len, const hg_pcm *label, int at_end, uint8_t **out,
                              size_t *out_len, hg_error *err) {
  *out = NULL;
  *out_len = 0;
  if (len < 12 || memcmp(in, "RIFF", 4) || memcmp(in + 8, "WAVE", 4))
    return hg_fail(err, HG_ERR_PARSE, 0, 0, "not a WAV file (RIFF WAVE)");
  wav_format f = {0};
  int have_fmt = 0;
  size_t data_at = 0, data_len = 0, pos = 12;
  while (pos + 8 <= len) {
    uint32_t size = u32le(in + pos + 4);
    size_t body = pos + 8, avail = len - body;
    if (!memcmp(in + pos, "data", 4)) {
      data_at = body;
      data_len = size == 0 || size > avail ? avail : size;
      if (!have_fmt) return hg_fail(err, HG_ERR_PARSE, 0, pos, "WAV data chunk before its fmt chunk");
      pos = body + data_len + (data_len & 1);
      continue;
    }
    if (size > avail)
      return hg_fail(err, HG_ERR_PARSE, 0, pos, "WAV chunk at offset %zu claims %u bytes, more than the file holds",
                     pos, size);
    if (!memcmp(in + pos, "fmt ", 4)) {
      hg_status st = read_format(in + body, size, &f, err, pos);
      if (st) return st;
      have_fmt = 1;
    }
    pos = body + size + (size & 1);
  }
  if (!data_at) return hg_fail(err, HG_ERR_PARSE, 0, 0, "WAV file without a data chunk");
  data_len -= data_len % f.block; /* a torn last frame is dropped */
  /* the label and the gap, made in the file's format */
  size_t label_frames = (size_t)((double)label->count * f.rate / label->rate);
  size_t gap_frames = (size_t)f.rate * HG_SPOKEN_GAP_MS / 1000, add = (label_frames + gap_frames) * f.block;
  size_t total = len + add + 16;
  if (data_len + add > 0xFFFFFFF0u) return hg_fail(err, HG_ERR_LIMIT, 0, 0, "the labelled audio would exceed 4 GB");
  uint8_t *o = malloc(total);
  if (!o) return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  uint8_t *extra = malloc(add ? add : 1);
  if (!extra) {
    free(o);
    return hg_fail(err, HG_ERR_NOMEM, 0, 0, "out of memory");
  }
  size_t bytes = f.bits / 8;
  uint8_t *q = extra;
  if (at_end) { /* gap first, then the label */
    for (size_t i = 0; i < gap_frames; i++)
      for (unsigned c = 0; c < f.channels; c++, q += bytes)
        put_sample(q, &f, 0.0);
  }
  for (size_t i = 0; i < label_frames; i++) {
    double v = label_at(label, i, f.rate);
    for (unsigned c = 0; c < f.channels; c++, q += bytes)
      put_sample(q, &f, v);
  }
  if (!at_end)
    for (size_t i = 0; i < gap_frames; i++)
      for (unsigned c = 0; c < f.channels; c++, q += bytes)
        put_sample(q, &f, 0.0);
  /* the file again: chunks in order, the data chunk grown */
  size_t w = 12;
  memcpy(o, in, 12);
  pos = 12;
  while (pos + 8 <= len) {
    uint32_t size = u32le(in + pos + 4);
    size_t body = pos + 8;
    if (body == data_at) {
      memcpy(o + w, "data", 4);
      put32(o + w + 4, (uint32_t)(data_len + add));
      w += 8;
      if (!at_end) memcpy(o + w, extra, add), w += add;
      memcpy(o + w, in + data_at, data_len);
      w += data_len;
      if (at_end) memcpy(o + w, extra, add), w += add;
      if ((data_len + add) & 1) o[w++] = 0;
      size_t used = size == 0 || size > len - body ? len - body : size;
      pos = body + used + (used & 1);
      continue;
    }
    size_t chunk = 8 + size + (size & 1);
    if (pos + chunk > len) chunk = len - pos; /* a last chunk without its pad byte */
    memcpy(o + w, in + pos, chunk);
    w += chunk;
    pos += chunk;
  }
  put32(o + 4, (uint32_t)(w - 8));
  free(extra);
  *out = o;
  *out_len = w;
  return HG_OK;
}
