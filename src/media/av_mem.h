/* av_mem.[ch] — FFmpeg reading a file held in memory (audio.c, video.c): an AVIOContext over the bytes, and the
 * demuxer opened on it. */
#ifndef HG_MEDIA_AV_MEM_H
#define HG_MEDIA_AV_MEM_H

#include <libavformat/avformat.h>
#include <stddef.h>
#include <stdint.h>

typedef struct hg_av_mem {
  const uint8_t *data;
  size_t len, pos;
} hg_av_mem;

/* Opens the demuxer over m (which must outlive *fc). *fc and *io are set even on failure, for the caller to free
 * (avformat_close_input, hg_av_mem_free). Returns FFmpeg's error code (< 0) or 0. */
int hg_av_mem_open(hg_av_mem *m, AVFormatContext **fc, AVIOContext **io);
void hg_av_mem_free(AVIOContext **io);

/* The bytes a muxer wrote to its dynamic buffer (avio_open_dyn_buf), closed and copied to *out (malloc-ed); the
 * context's pb is left NULL. 0, or -1 when nothing was written or memory ran out. */
int hg_av_mem_take_output(AVFormatContext *out, uint8_t **bytes, size_t *len);
/* A muxer writing to a dynamic buffer in memory, closed and freed (what it wrote is thrown away). */
void hg_av_mem_close_output(AVFormatContext **out);

#endif
