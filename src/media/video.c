/* video.c — the explicit label of a video (GB 45438-2025 4.4: on the opening frames for at least 2 s, its text at
 * least 5% of the shortest side), with FFmpeg's libraries, in memory: the file is read, its video stream decoded,
 * every frame that starts within the first HG_VIDEO_LABEL_SECONDS (the whole video when it is shorter) converted to
 * RGBA, labelled by hg_raster_draw_label (the same drawing as a picture's) and converted back, and the stream encoded
 * again (H.264 by libx264 when FFmpeg has it, else MPEG-4 part 2) at the same size and frame timing; every other
 * stream (sound, subtitles) is copied packet by packet, untouched. The container is MP4/MOV as it came. The implicit
 * label is the caller's next step (hg_label_buffer_add), over the labelled file. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <string.h>

#include "base/error.h"
#include "media/av_mem.h"
#include "media/video.h"

#define MAX_SIDE 8192
#define MAX_FRAMES (30 * 60 * 60) /* an hour at 30 frames a second */

typedef struct vjob {
  AVFormatContext *in, *out;
  AVIOContext *in_io;
  AVCodecContext *dec, *enc;
  struct SwsContext *to_rgba, *from_rgba;
  AVFrame *frame, *rgba, *back;
  AVPacket *pkt;
  int vstream;
  int *map; /* input stream -> output stream, -1 dropped */
  char why[240];
} vjob;

static int fail(vjob *j, const char *what, int code) {
  char e[AV_ERROR_MAX_STRING_SIZE] = "";
  if (code < 0) av_strerror(code, e, sizeof e);
  snprintf(j->why, sizeof j->why, "%.160s%s%.60s", what, e[0] ? ": " : "", e);
  return -1;
}

static void vjob_free(vjob *j) {
  if (j->in) avformat_close_input(&j->in);
  hg_av_mem_free(&j->in_io);
  hg_av_mem_close_output(&j->out);
  avcodec_free_context(&j->dec);
  avcodec_free_context(&j->enc);
  sws_freeContext(j->to_rgba);
  sws_freeContext(j->from_rgba);
  av_frame_free(&j->frame);
  av_frame_free(&j->rgba);
  av_frame_free(&j->back);
  av_packet_free(&j->pkt);
  av_free(j->map);
}

static int write_encoded(vjob *j) {
  int r;
  AVStream *os = j->out->streams[j->map[j->vstream]];
  while ((r = avcodec_receive_packet(j->enc, j->pkt)) >= 0) {
    j->pkt->stream_index = os->index;
    av_packet_rescale_ts(j->pkt, j->enc->time_base, os->time_base);
    if ((r = av_interleaved_write_frame(j->out, j->pkt)) < 0) return fail(j, "the labelled video cannot be written", r);
  }
  return r == AVERROR(EAGAIN) || r == AVERROR_EOF ? 0 : fail(j, "the video encoder failed", r);
}

/* One decoded frame: labelled when it starts within the labelled span, converted when the encoder wants another
 * pixel format, then encoded. */
static int encode_frame(vjob *j, AVFrame *f, const hg_visible_label *label, double until, int64_t *frames) {
  if (++*frames > MAX_FRAMES) return fail(j, "the video is longer than an hour", 0);
  if (f->width != j->dec->width || f->height != j->dec->height || f->format != j->dec->pix_fmt)
    return fail(j, "the video changes size or format midway", 0);
  AVStream *vs = j->in->streams[j->vstream];
  int64_t pts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
  int64_t start = vs->start_time != AV_NOPTS_VALUE ? vs->start_time : 0;
  double t = pts == AV_NOPTS_VALUE ? (double)(*frames - 1) / 25.0 : (double)(pts - start) * av_q2d(vs->time_base);
  AVFrame *send = f;
  int draw = t < until;
  if (draw || f->format != j->enc->pix_fmt) {
    sws_scale(j->to_rgba, (const uint8_t *const *)f->data, f->linesize, 0, f->height, j->rgba->data, j->rgba->linesize);
    hg_label_box box = {0};
    if (draw) {
      hg_raster r = {j->rgba->data[0], (uint32_t)f->width, (uint32_t)f->height, (size_t)j->rgba->linesize[0]};
      hg_error err;
      if (hg_raster_draw_label(&r, label, &box, &err)) return fail(j, err.message, 0);
    }
    if (av_frame_make_writable(j->back) < 0) return fail(j, "out of memory", 0);
    sws_scale(j->from_rgba, (const uint8_t *const *)j->rgba->data, j->rgba->linesize, 0, f->height, j->back->data,
              j->back->linesize);
    send = j->back;
    if (f->format == j->enc->pix_fmt) {
      /* YUV 4:2:0 to RGB and back is not the identity at sharp colour edges: only the label's box (to even bounds)
       * is taken from the converted picture, every other pixel stays the decoder's */
      if (av_frame_make_writable(f) < 0) return fail(j, "out of memory", 0);
      int x0 = (int)box.x & ~1, y0 = (int)box.y & ~1;
      int x1 = ((int)(box.x + box.width) + 1) & ~1, y1 = ((int)(box.y + box.height) + 1) & ~1;
      if (x1 > f->width) x1 = f->width;
      if (y1 > f->height) y1 = f->height;
      for (int y = y0; y < y1; y++)
        memcpy(f->data[0] + (size_t)y * f->linesize[0] + x0, j->back->data[0] + (size_t)y * j->back->linesize[0] + x0,
               (size_t)(x1 - x0));
      for (int p = 1; p <= 2; p++)
        for (int y = y0 / 2; y < (y1 + 1) / 2; y++)
          memcpy(f->data[p] + (size_t)y * f->linesize[p] + x0 / 2,
                 j->back->data[p] + (size_t)y * j->back->linesize[p] + x0 / 2, (size_t)((x1 - x0 + 1) / 2));
      send = f;
    }
  }
  send->pts = pts == AV_NOPTS_VALUE ? *frames - 1 : pts;
  send->pict_type = AV_PICTURE_TYPE_NONE;
  int r = avcodec_send_frame(j->enc, send);
  if (r < 0) return fail(j, "the video encoder refused a frame", r);
  return write_encoded(j);
}

static int drain_decoder(vjob *j, const hg_visible_label *label, double until, int64_t *frames) {
  int r;
  while ((r = avcodec_receive_frame(j->dec, j->frame)) >= 0) {
    int bad = encode_frame(j, j->frame, label, until, frames);
    av_frame_unref(j->frame);
    if (bad) return -1;
  }
  return r == AVERROR(EAGAIN) || r == AVERROR_EOF ? 0 : fail(j, "the video does not decode", r);
}

static int open_encoder(vjob *j) {
  const AVCodec *ec = avcodec_find_encoder_by_name("libx264");
  if (!ec) ec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
  if (!ec) return fail(j, "FFmpeg has no H.264 or MPEG-4 encoder", 0);
  j->enc = avcodec_alloc_context3(ec);
  if (!j->enc) return fail(j, "out of memory", 0);
  AVStream *vs = j->in->streams[j->vstream];
  j->enc->width = j->dec->width;
  j->enc->height = j->dec->height;
  j->enc->pix_fmt = AV_PIX_FMT_YUV420P;
  j->enc->sample_aspect_ratio = j->dec->sample_aspect_ratio;
  j->enc->time_base = vs->time_base;
  j->enc->framerate = av_guess_frame_rate(j->in, vs, NULL);
  if (j->enc->framerate.num > 0) j->enc->gop_size = (int)(av_q2d(j->enc->framerate) * 2);
  if (vs->codecpar->bit_rate > 0) j->enc->bit_rate = vs->codecpar->bit_rate;
  if (j->out->oformat->flags & AVFMT_GLOBALHEADER) j->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  AVDictionary *opt = NULL;
  if (!strcmp(ec->name, "libx264")) {
    av_dict_set(&opt, "preset", "veryfast", 0);
    if (vs->codecpar->bit_rate <= 0) av_dict_set(&opt, "crf", "20", 0);
  } else if (vs->codecpar->bit_rate <= 0) {
    j->enc->bit_rate = (int64_t)j->enc->width * j->enc->height * 4; /* about 4 bits a pixel a second */
  }
  int r = avcodec_open2(j->enc, ec, &opt);
  av_dict_free(&opt);
  if (r < 0) return fail(j, "the video encoder could not start", r);
  return 0;
}

static int run(vjob *j, const uint8_t *in, size_t len, const hg_visible_label *label, uint8_t **out, size_t *out_len) {
  hg_av_mem m = {in, len, 0};
  int r = hg_av_mem_open(&m, &j->in, &j->in_io);
  if (r < 0) return fail(j, "the video file cannot be opened", r);
  if ((r = avformat_find_stream_info(j->in, NULL)) < 0) return fail(j, "the video file cannot be read", r);
  j->vstream = av_find_best_stream(j->in, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  if (j->vstream < 0) return fail(j, "the file holds no video stream", 0);
  AVCodecParameters *par = j->in->streams[j->vstream]->codecpar;
  if (par->width <= 0 || par->height <= 0 || par->width > MAX_SIDE || par->height > MAX_SIDE)
    return fail(j, "the video's size is out of bounds (1-8192 a side)", 0);
  const AVCodec *dc = avcodec_find_decoder(par->codec_id);
  if (!dc) return fail(j, "no decoder for the video's codec", 0);
  j->dec = avcodec_alloc_context3(dc);
  j->frame = av_frame_alloc();
  j->rgba = av_frame_alloc();
  j->back = av_frame_alloc();
  j->pkt = av_packet_alloc();
  j->map = av_malloc_array(j->in->nb_streams, sizeof *j->map);
  if (!j->dec || !j->frame || !j->rgba || !j->back || !j->pkt || !j->map) return fail(j, "out of memory", 0);
  if ((r = avcodec_parameters_to_context(j->dec, par)) < 0 || (r = avcodec_open2(j->dec, dc, NULL)) < 0)
    return fail(j, "the video decoder could not start", r);
  const char *muxer = strstr(j->in->iformat->name, "mp4") ? "mp4" : "mov";
  if ((r = avformat_alloc_output_context2(&j->out, NULL, muxer, NULL)) < 0) return fail(j, "no MP4 muxer", r);
  if (open_encoder(j)) return -1;
  for (unsigned i = 0; i < j->in->nb_streams; i++) {
    AVStream *is = j->in->streams[i];
    j->map[i] = -1;
    int video = (int)i == j->vstream;
    if (!video && is->codecpar->codec_type != AVMEDIA_TYPE_AUDIO && is->codecpar->codec_type != AVMEDIA_TYPE_SUBTITLE)
      continue;
    if (!video && avformat_query_codec(j->out->oformat, is->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1) continue;
    AVStream *os = avformat_new_stream(j->out, NULL);
    if (!os) return fail(j, "out of memory", 0);
    j->map[i] = os->index;
    if (video) {
      if ((r = avcodec_parameters_from_context(os->codecpar, j->enc)) < 0) return fail(j, "out of memory", r);
      os->time_base = j->enc->time_base;
      os->avg_frame_rate = is->avg_frame_rate;
    } else {
      if ((r = avcodec_parameters_copy(os->codecpar, is->codecpar)) < 0) return fail(j, "out of memory", r);
      os->codecpar->codec_tag = 0;
      os->time_base = is->time_base;
    }
    av_dict_copy(&os->metadata, is->metadata, 0);
    os->disposition = is->disposition;
  }
  /* pictures to RGBA and back */
  j->rgba->format = AV_PIX_FMT_RGBA;
  j->back->format = j->enc->pix_fmt;
  j->rgba->width = j->back->width = j->dec->width;
  j->rgba->height = j->back->height = j->dec->height;
  if (av_frame_get_buffer(j->rgba, 32) < 0 || av_frame_get_buffer(j->back, 32) < 0) return fail(j, "out of memory", 0);
  j->to_rgba = sws_getContext(j->dec->width, j->dec->height, j->dec->pix_fmt, j->dec->width, j->dec->height,
                              AV_PIX_FMT_RGBA, SWS_BICUBIC, NULL, NULL, NULL);
  j->from_rgba = sws_getContext(j->dec->width, j->dec->height, AV_PIX_FMT_RGBA, j->dec->width, j->dec->height,
                                j->enc->pix_fmt, SWS_BICUBIC, NULL, NULL, NULL);
  if (!j->to_rgba || !j->from_rgba) return fail(j, "the picture converter could not start", 0);
  if ((r = avio_open_dyn_buf(&j->out->pb)) < 0) return fail(j, "out of memory", r);
  AVDictionary *mo = NULL;
  av_dict_copy(&j->out->metadata, j->in->metadata, 0);
  if ((r = avformat_write_header(j->out, &mo)) < 0) {
    av_dict_free(&mo);
    return fail(j, "the labelled video's header cannot be written", r);
  }
  av_dict_free(&mo);
  double duration = j->in->duration > 0 ? (double)j->in->duration / AV_TIME_BASE : 0;
  double until = duration > 0 && duration < HG_VIDEO_LABEL_SECONDS ? duration + 1.0 : HG_VIDEO_LABEL_SECONDS;
  int64_t frames = 0;
  while ((r = av_read_frame(j->in, j->pkt)) >= 0) {
    int si = j->pkt->stream_index;
    if (si == j->vstream) {
      r = avcodec_send_packet(j->dec, j->pkt);
      av_packet_unref(j->pkt);
      if (r < 0 && r != AVERROR_INVALIDDATA) return fail(j, "the video does not decode", r);
      if (drain_decoder(j, label, until, &frames)) return -1;
      continue;
    }
    if (j->map[si] < 0) {
      av_packet_unref(j->pkt);
      continue;
    }
    AVStream *is = j->in->streams[si], *os = j->out->streams[j->map[si]];
    av_packet_rescale_ts(j->pkt, is->time_base, os->time_base);
    j->pkt->stream_index = os->index;
    j->pkt->pos = -1;
    if ((r = av_interleaved_write_frame(j->out, j->pkt)) < 0) return fail(j, "the labelled video cannot be written", r);
  }
  if (r != AVERROR_EOF) return fail(j, "the video file cannot be read to its end", r);
  avcodec_send_packet(j->dec, NULL);
  if (drain_decoder(j, label, until, &frames)) return -1;
  if (!frames) return fail(j, "the video has no frames", 0);
  avcodec_send_frame(j->enc, NULL);
  if (write_encoded(j)) return -1;
  if ((r = av_write_trailer(j->out)) < 0) return fail(j, "the labelled video cannot be finished", r);
  if (hg_av_mem_take_output(j->out, out, out_len)) return fail(j, "the labelled video is empty (or memory ran out)", 0);
  return 0;
}

int hg_video_has_pictures(const uint8_t *in, size_t len) {
  hg_av_mem m = {in, len, 0};
  AVFormatContext *fc = NULL;
  AVIOContext *io = NULL;
  int found = 0;
  av_log_set_level(AV_LOG_QUIET);
  if (hg_av_mem_open(&m, &fc, &io) >= 0 && avformat_find_stream_info(fc, NULL) >= 0)
    for (unsigned i = 0; i < fc->nb_streams; i++)
      if (fc->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
          !(fc->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC))
        found = 1;
  if (fc) avformat_close_input(&fc);
  hg_av_mem_free(&io);
  return found;
}

hg_status hg_video_label(const uint8_t *in, size_t len, const hg_visible_label *label, uint8_t **out, size_t *out_len,
                         hg_error *err) {
  *out = NULL;
  *out_len = 0;
  av_log_set_level(AV_LOG_QUIET);
  hg_visible_label l = label ? *label : (hg_visible_label){0};
  vjob j;
  memset(&j, 0, sizeof j);
  int r = run(&j, in, len, &l, out, out_len);
  vjob_free(&j);
  if (r) return hg_fail(err, HG_ERR_PARSE, 0, 0, "video: %s", j.why);
  return HG_OK;
}
