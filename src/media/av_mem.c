/* av_mem.c — FFmpeg reading a file held in memory (av_mem.h). */
#include <stdlib.h>
#include <string.h>

#include "media/av_mem.h"

static int mem_read(void *opaque, uint8_t *buf, int n) {
  hg_av_mem *m = opaque;
  size_t left = m->len - m->pos;
  if (!left) return AVERROR_EOF;
  if ((size_t)n > left) n = (int)left;
  memcpy(buf, m->data + m->pos, (size_t)n);
  m->pos += (size_t)n;
  return n;
}

static int64_t mem_seek(void *opaque, int64_t off, int whence) {
  hg_av_mem *m = opaque;
  if (whence == AVSEEK_SIZE) return (int64_t)m->len;
  int64_t base = whence == SEEK_CUR ? (int64_t)m->pos : whence == SEEK_END ? (int64_t)m->len : 0;
  int64_t to = base + off;
  if (to < 0 || to > (int64_t)m->len) return -1;
  m->pos = (size_t)to;
  return to;
}

int hg_av_mem_open(hg_av_mem *m, AVFormatContext **fc, AVIOContext **io) {
  *io = NULL;
  *fc = avformat_alloc_context();
  uint8_t *buf = av_malloc(65536);
  if (!*fc || !buf) {
    av_free(buf);
    return AVERROR(ENOMEM);
  }
  *io = avio_alloc_context(buf, 65536, 0, m, mem_read, NULL, mem_seek);
  if (!*io) {
    av_free(buf);
    return AVERROR(ENOMEM);
  }
  (*fc)->pb = *io;
  (*fc)->flags |= AVFMT_FLAG_CUSTOM_IO;
  return avformat_open_input(fc, NULL, NULL, NULL); /* frees *fc and sets it NULL on failure */
}

void hg_av_mem_free(AVIOContext **io) {
  if (!*io) return;
  av_freep(&(*io)->buffer);
  avio_context_free(io);
}

int hg_av_mem_take_output(AVFormatContext *out, uint8_t **bytes, size_t *len) {
  uint8_t *buf = NULL;
  int n = avio_close_dyn_buf(out->pb, &buf);
  out->pb = NULL;
  *bytes = n > 0 && buf ? malloc((size_t)n) : NULL;
  if (*bytes) memcpy(*bytes, buf, (size_t)n);
  av_free(buf);
  *len = *bytes ? (size_t)n : 0;
  return *bytes ? 0 : -1;
}

void hg_av_mem_close_output(AVFormatContext **out) {
  if (!*out) return;
  if ((*out)->pb) {
    uint8_t *b = NULL;
    avio_close_dyn_buf((*out)->pb, &b);
    av_free(b);
  }
  avformat_free_context(*out);
  *out = NULL;
}
