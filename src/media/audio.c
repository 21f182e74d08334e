/* audio.c — the spoken label put into compressed audio (MP3, FLAC, Ogg Vorbis/Opus, M4A/AAC) with FFmpeg's
 * libraries: the file is read from memory, its first audio stream decoded whole, the label (and HG_SPOKEN_GAP_MS of
 * quiet) joined at the start or the end in the encoder's own sample format, and everything encoded again with the
 * same codec, sample rate, channel layout and about the same bit rate, into the same container, in memory. Other
 * streams (cover art, a second audio track) are not carried: the labelled file holds the one audio stream. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
#include <string.h>

#include "base/error.h"
#include "media/av_mem.h"
#include "media/spoken.h"

#define MAX_DECODED_SECONDS (3 * 3600) /* three hours of audio at most */

typedef struct job {
  AVFormatContext *in, *out;
  AVIOContext *in_io;
  AVCodecContext *dec, *enc;
  SwrContext *swr;
  AVAudioFifo *fifo;
  AVFrame *frame;
  AVPacket *pkt;
  int stream;
  int64_t next_pts;
  char why[200];
} job;

static void job_free(job *j) {
  if (j->in) avformat_close_input(&j->in);
  hg_av_mem_free(&j->in_io);
  hg_av_mem_close_output(&j->out);
  avcodec_free_context(&j->dec);
  avcodec_free_context(&j->enc);
  swr_free(&j->swr);
  if (j->fifo) av_audio_fifo_free(j->fifo);
  av_frame_free(&j->frame);
  av_packet_free(&j->pkt);
}

static int fail(job *j, const char *what, int code) {
  char e[AV_ERROR_MAX_STRING_SIZE] = "";
  if (code < 0) av_strerror(code, e, sizeof e);
  snprintf(j->why, sizeof j->why, "%.120s%s%.60s", what, e[0] ? ": " : "", e);
  return -1;
}

/* Appends converted samples (already in the encoder's format) to the FIFO. */
static int push(job *j, uint8_t **data, int n) {
  if (n <= 0) return 0;
  if (av_audio_fifo_size(j->fifo) + n > MAX_DECODED_SECONDS * j->enc->sample_rate)
    return fail(j, "the audio is longer than three hours", 0);
  return av_audio_fifo_write(j->fifo, (void **)data, n) < n ? fail(j, "out of memory", 0) : 0;
}

/* Converts n input samples (NULL: flush) with swr into the FIFO. */
static int convert(job *j, const uint8_t **in, int n) {
  int max = swr_get_out_samples(j->swr, n);
  if (max <= 0) return 0;
  uint8_t **buf = NULL;
  if (av_samples_alloc_array_and_samples(&buf, NULL, j->enc->ch_layout.nb_channels, max, j->enc->sample_fmt, 0) < 0)
    return fail(j, "out of memory", 0);
  int got = swr_convert(j->swr, buf, max, in, n);
  int r = got < 0 ? fail(j, "resampling failed", got) : push(j, buf, got);
  av_freep(&buf[0]);
  av_freep(&buf);
  return r;
}

/* The label and the gap, in the encoder's format (a converter of their own: mono 16-bit at the label's rate). */
static int push_label(job *j, const hg_pcm *label, int gap_first) {
  SwrContext *s = NULL;
  AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
  if (swr_alloc_set_opts2(&s, &j->enc->ch_layout, j->enc->sample_fmt, j->enc->sample_rate, &mono, AV_SAMPLE_FMT_S16,
                          (int)label->rate, 0, NULL) < 0 ||
      swr_init(s) < 0) {
    swr_free(&s);
    return fail(j, "the label's resampler could not start", 0);
  }
  int gap = j->enc->sample_rate * HG_SPOKEN_GAP_MS / 1000, r = 0;
  uint8_t **silence = NULL;
  if (av_samples_alloc_array_and_samples(&silence, NULL, j->enc->ch_layout.nb_channels, gap, j->enc->sample_fmt, 0) <
      0) {
    swr_free(&s);
    return fail(j, "out of memory", 0);
  }
  av_samples_set_silence(silence, 0, gap, j->enc->ch_layout.nb_channels, j->enc->sample_fmt);
  if (gap_first) r = push(j, silence, gap);
  SwrContext *keep = j->swr;
  j->swr = s;
  const uint8_t *in[1] = {(const uint8_t *)label->samples};
  if (!r) r = convert(j, in, (int)label->count);
  if (!r) r = convert(j, NULL, 0);
  j->swr = keep;
  swr_free(&s);
  if (!r && !gap_first) r = push(j, silence, gap);
  av_freep(&silence[0]);
  av_freep(&silence);
  return r;
}

static int decode_all(job *j) {
  int r;
  while ((r = av_read_frame(j->in, j->pkt)) >= 0) {
    if (j->pkt->stream_index == j->stream) {
      if (avcodec_send_packet(j->dec, j->pkt) < 0) {
        av_packet_unref(j->pkt);
        return fail(j, "the audio does not decode", 0);
      }
      while (avcodec_receive_frame(j->dec, j->frame) >= 0) {
        if (convert(j, (const uint8_t **)j->frame->extended_data, j->frame->nb_samples)) return -1;
        av_frame_unref(j->frame);
      }
    }
    av_packet_unref(j->pkt);
  }
  if (r != AVERROR_EOF) return fail(j, "the file cannot be read to its end", r);
  avcodec_send_packet(j->dec, NULL);
  while (avcodec_receive_frame(j->dec, j->frame) >= 0) {
    if (convert(j, (const uint8_t **)j->frame->extended_data, j->frame->nb_samples)) return -1;
    av_frame_unref(j->frame);
  }
  return convert(j, NULL, 0);
}

static int write_packets(job *j) {
  int r;
  while ((r = avcodec_receive_packet(j->enc, j->pkt)) >= 0) {
    j->pkt->stream_index = 0;
    av_packet_rescale_ts(j->pkt, j->enc->time_base, j->out->streams[0]->time_base);
    if ((r = av_interleaved_write_frame(j->out, j->pkt)) < 0) return fail(j, "the labelled file cannot be written", r);
  }
  return r == AVERROR(EAGAIN) || r == AVERROR_EOF ? 0 : fail(j, "the encoder failed", r);
}

static int encode_all(job *j) {
  int frame_size = j->enc->frame_size > 0 ? j->enc->frame_size : 4096;
  while (av_audio_fifo_size(j->fifo) > 0) {
    int n = av_audio_fifo_size(j->fifo) < frame_size ? av_audio_fifo_size(j->fifo) : frame_size;
    av_frame_unref(j->frame);
    j->frame->nb_samples = n;
    j->frame->format = j->enc->sample_fmt;
    j->frame->sample_rate = j->enc->sample_rate;
    if (av_channel_layout_copy(&j->frame->ch_layout, &j->enc->ch_layout) < 0 || av_frame_get_buffer(j->frame, 0) < 0)
      return fail(j, "out of memory", 0);
    if (av_audio_fifo_read(j->fifo, (void **)j->frame->data, n) < n) return fail(j, "the audio buffer ran dry", 0);
    j->frame->pts = j->next_pts;
    j->next_pts += n;
    int r = avcodec_send_frame(j->enc, j->frame);
    if (r < 0) return fail(j, "the encoder refused a frame", r);
    if (write_packets(j)) return -1;
  }
  avcodec_send_frame(j->enc, NULL);
  return write_packets(j);
}

/* The container to write: the input's own. */
static const char *muxer_for(const char *format) {
  if (!strcmp(format, "mp3")) return "mp3";
  if (!strcmp(format, "flac")) return "flac";
  if (!strcmp(format, "ogg")) return "ogg";
  if (!strcmp(format, "mp4")) return "ipod"; /* M4A */
  return NULL;
}

static int run(job *j, const char *format, const uint8_t *in, size_t len, const hg_pcm *label, int at_end,
               uint8_t **out, size_t *out_len) {
  const char *muxer = muxer_for(format);
  if (!muxer) return fail(j, "no spoken label for this format", 0);
  hg_av_mem m = {in, len, 0};
  int r = hg_av_mem_open(&m, &j->in, &j->in_io);
  if (r < 0) return fail(j, "the audio file cannot be opened", r);
  if ((r = avformat_find_stream_info(j->in, NULL)) < 0) return fail(j, "the audio file cannot be read", r);
  for (unsigned i = 0; i < j->in->nb_streams; i++)
    if (j->in->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
        !(j->in->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC))
      return fail(j,
                  "the file holds video, whose explicit label belongs on its pictures (hegui does not draw on video "
                  "yet)",
                  0);
  j->stream = av_find_best_stream(j->in, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
  if (j->stream < 0) return fail(j, "the file holds no audio stream", 0);
  AVCodecParameters *par = j->in->streams[j->stream]->codecpar;
  const AVCodec *dc = avcodec_find_decoder(par->codec_id), *ec = avcodec_find_encoder(par->codec_id);
  if (!dc || !ec) return fail(j, "no decoder and encoder for the audio's codec", 0);
  j->dec = avcodec_alloc_context3(dc);
  j->enc = avcodec_alloc_context3(ec);
  j->frame = av_frame_alloc();
  j->pkt = av_packet_alloc();
  if (!j->dec || !j->enc || !j->frame || !j->pkt) return fail(j, "out of memory", 0);
  if ((r = avcodec_parameters_to_context(j->dec, par)) < 0 || (r = avcodec_open2(j->dec, dc, NULL)) < 0)
    return fail(j, "the audio's decoder could not start", r);
  /* the encoder: the same rate and layout, its first sample format, about the same bit rate */
  j->enc->sample_rate = j->dec->sample_rate;
  if (av_channel_layout_copy(&j->enc->ch_layout, &j->dec->ch_layout) < 0) return fail(j, "out of memory", 0);
  if (j->enc->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
    av_channel_layout_default(&j->enc->ch_layout, j->dec->ch_layout.nb_channels);
  j->enc->sample_fmt = ec->sample_fmts ? ec->sample_fmts[0] : j->dec->sample_fmt;
  if (par->bit_rate > 0) j->enc->bit_rate = par->bit_rate;
  j->enc->time_base = (AVRational){1, j->enc->sample_rate};
  if (par->bits_per_raw_sample > 0 && ec->id == AV_CODEC_ID_FLAC) {
    j->enc->bits_per_raw_sample = par->bits_per_raw_sample;
    if (par->bits_per_raw_sample <= 16 && ec->sample_fmts)
      for (const enum AVSampleFormat *f = ec->sample_fmts; *f != AV_SAMPLE_FMT_NONE; f++)
        if (*f == AV_SAMPLE_FMT_S16) j->enc->sample_fmt = *f;
  }
  j->enc->strict_std_compliance =
      FF_COMPLIANCE_EXPERIMENTAL; /* FFmpeg's own Vorbis encoder, when libvorbis is not there */
  if ((r = avformat_alloc_output_context2(&j->out, NULL, muxer, NULL)) < 0)
    return fail(j, "no muxer for the format", r);
  if (j->out->oformat->flags & AVFMT_GLOBALHEADER) j->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if ((r = avcodec_open2(j->enc, ec, NULL)) < 0) return fail(j, "the audio's encoder could not start", r);
  AVStream *os = avformat_new_stream(j->out, NULL);
  if (!os || avcodec_parameters_from_context(os->codecpar, j->enc) < 0) return fail(j, "out of memory", 0);
  os->time_base = j->enc->time_base;
  if (swr_alloc_set_opts2(&j->swr, &j->enc->ch_layout, j->enc->sample_fmt, j->enc->sample_rate, &j->dec->ch_layout,
                          j->dec->sample_fmt, j->dec->sample_rate, 0, NULL) < 0 ||
      swr_init(j->swr) < 0)
    return fail(j, "the resampler could not start", 0);
  j->fifo = av_audio_fifo_alloc(j->enc->sample_fmt, j->enc->ch_layout.nb_channels, 1 << 16);
  if (!j->fifo) return fail(j, "out of memory", 0);
  if (!at_end && push_label(j, label, 0)) return -1;
  if (decode_all(j)) return -1;
  if (at_end && push_label(j, label, 1)) return -1;
  if ((r = avio_open_dyn_buf(&j->out->pb)) < 0) return fail(j, "out of memory", r);
  if ((r = avformat_write_header(j->out, NULL)) < 0) return fail(j, "the labelled file's header cannot be written", r);
  if (encode_all(j)) return -1;
  if ((r = av_write_trailer(j->out)) < 0) return fail(j, "the labelled file cannot be finished", r);
  if (hg_av_mem_take_output(j->out, out, out_len)) return fail(j, "the labelled file is empty (or memory ran out)", 0);
  return 0;
}

hg_status hg_audio_insert_label(const char *format, const uint8_t *in, size_t len, const hg_pcm *label, int at_end,
                                uint8_t **out, size_t *out_len, hg_error *err) {
  *out = NULL;
  *out_len = 0;
  av_log_set_level(AV_LOG_QUIET); /* failures come back as hg_error, not on stderr */
  job j;
  memset(&j, 0, sizeof j);
  int r = run(&j, format, in, len, label, at_end, out, out_len);
  job_free(&j);
  if (r) return hg_fail(err, HG_ERR_PARSE, 0, 0, "%s audio: %s", format, j.why);
  return HG_OK;
}
