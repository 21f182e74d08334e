/* test_filelabel.c — the format-independent core of file labels and each carrier over small files built here: the
 * AIGC object (strict writer, tolerant reader), add then read gives exactly one label and the same content hash,
 * relabelling overwrites, tampering is found (content vs label), platform mode keeps the producer's fields, two
 * different labels are a conflict, truncated files are refused, an existing XMP packet keeps its other properties. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "base/crc32.h"
#include "hegui/filelabel.h"
#include <dirent.h>
#include <unistd.h>

static uint8_t PK[32], SK[64], PK2[32], SK2[64];

static int setup_keys(void **state) {
  (void)state;
  if (sodium_init() < 0) return -1;
  uint8_t seed[32] = {7}, seed2[32] = {9};
  crypto_sign_seed_keypair(PK, SK, seed);
  crypto_sign_seed_keypair(PK2, SK2, seed2);
  return 0;
}

/* ---- tiny files ---- */

typedef struct buf {
  uint8_t d[16384];
  size_t n;
} buf;

static void put(buf *b, const void *p, size_t n) {
  assert_true(b->n + n <= sizeof b->d);
  memcpy(b->d + b->n, p, n);
  b->n += n;
}
static void put32be(buf *b, uint32_t v) {
  uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
  put(b, p, 4);
}
static void put32le(buf *b, uint32_t v) {
  uint8_t p[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  put(b, p, 4);
}
static void png_chunk(buf *b, const char *type, const void *data, size_t n) {
  put32be(b, (uint32_t)n);
  put(b, type, 4);
  put(b, data, n);
  put32be(b, hg_crc32(hg_crc32(0, type, 4), data, n));
}
static buf make_png(void) {
  buf b = {.n = 0};
  put(&b, "\x89PNG\r\n\x1a\n", 8);
  png_chunk(&b, "IHDR", "\0\0\0\1\0\0\0\1\x08\0\0\0\0", 13);
  png_chunk(&b, "IDAT", "pixels-here", 11);
  png_chunk(&b, "IEND", "", 0);
  return b;
}
static buf make_wav(void) {
  buf b = {.n = 0};
  put(&b, "RIFF", 4);
  put32le(&b, 4 + 8 + 16 + 8 + 8);
  put(&b, "WAVE", 4);
  put(&b, "fmt ", 4);
  put32le(&b, 16);
  put(&b, "\1\0\1\0\x40\x1f\0\0\x80\x3e\0\0\2\0\x10\0", 16);
  put(&b, "data", 4);
  put32le(&b, 8);
  put(&b, "samples!", 8);
  return b;
}
static buf make_flac(void) {
  buf b = {.n = 0};
  put(&b, "fLaC", 4);
  uint8_t si[4] = {0x80, 0, 0, 34}; /* STREAMINFO, last */
  put(&b, si, 4);
  uint8_t body[34] = {0x10, 0, 0x10, 0};
  put(&b, body, 34);
  put(&b,
      "\xff\xf8"
      "frames",
      8);
  return b;
}
static buf make_text(const char *s) {
  buf b = {.n = 0};
  put(&b, s, strlen(s));
  return b;
}

/* ---- helpers ---- */

static hg_label_add_options producer(const char *id) {
  return (hg_label_add_options){.producer = "acme", .produce_id = id};
}

static void add(const char *format, buf *b, const hg_label_add_options *o, const uint8_t *sk) {
  uint8_t *out;
  size_t len;
  hg_error err;
  hg_status st = hg_label_buffer_add(format, b->d, b->n, o, sk, &out, &len, &err);
  if (st) fail_msg("add %s: %s", format, err.message);
  assert_true(len <= sizeof b->d);
  memcpy(b->d, out, len);
  b->n = len;
  free(out);
}

static hg_label_report read_verify(const char *format, const buf *b) {
  hg_label_report r;
  hg_error err;
  if (hg_label_buffer_read(format, b->d, b->n, &r, &err)) fail_msg("read %s: %s", format, err.message);
  const uint8_t keys[2][32];
  memcpy((void *)keys[0], PK, 32);
  memcpy((void *)keys[1], PK2, 32);
  hg_label_report_verify(&r, keys, 2);
  return r;
}

/* ---- the object ---- */

static void object_strict_writer(void **state) {
  (void)state;
  hg_aigc l;
  memset(&l, 0, sizeof l);
  strcpy(l.value[HG_AIGC_LABEL], "1");
  strcpy(l.value[HG_AIGC_PRODUCER], "acme");
  char *json;
  assert_int_equal(hg_aigc_format(&l, &json, NULL), HG_OK);
  assert_string_equal(json, "{\"AIGC\":{\"Label\":\"1\",\"ContentProducer\":\"acme\",\"ProduceID\":\"\","
                            "\"ReservedCode1\":\"\",\"ContentPropagator\":\"\",\"PropagateID\":\"\","
                            "\"ReservedCode2\":\"\"}}");
  free(json);
  strcpy(l.value[HG_AIGC_PRODUCER], "a b"); /* space: outside Appendix E's characters */
  assert_int_equal(hg_aigc_format(&l, &json, NULL), HG_ERR_INVALID);
  strcpy(l.value[HG_AIGC_PRODUCER], "a\"b");
  assert_int_equal(hg_aigc_format(&l, &json, NULL), HG_ERR_INVALID);
  strcpy(l.value[HG_AIGC_PRODUCER], "acme");
  strcpy(l.value[HG_AIGC_LABEL], "4");
  assert_int_equal(hg_aigc_format(&l, &json, NULL), HG_ERR_INVALID);
}

static void object_tolerant_reader(void **state) {
  (void)state;
  static const char *const forms[] = {
      "{\"AIGC\":{\"Label\":\"2\",\"ContentProducer\":\"p\"}}",
      "{\"Label\":\"2\",\"ContentProducer\":\"p\"}",
      "{\"aigc\":{\"label\":\"2\",\"contentproducer\":\"p\"}}",
      "\"{\\\"AIGC\\\":{\\\"Label\\\":\\\"2\\\",\\\"ContentProducer\\\":\\\"p\\\"}}\"",
      "{\"AIGC\":\"{\\\"Label\\\":2,\\\"CONTENTPRODUCER\\\":\\\"p\\\"}\"}",
  };
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    hg_aigc l;
    hg_error err;
    if (hg_aigc_parse(forms[i], strlen(forms[i]), &l, &err)) fail_msg("form %zu: %s", i, err.message);
    assert_string_equal(l.value[HG_AIGC_LABEL], "2");
    assert_string_equal(l.value[HG_AIGC_PRODUCER], "p");
  }
  hg_aigc l;
  assert_int_not_equal(hg_aigc_parse("{\"Label\":\"1 2\"}", 15, &l, NULL), HG_OK);
  assert_int_not_equal(hg_aigc_parse("{\"x\":1}", 7, &l, NULL), HG_OK);
  assert_int_not_equal(hg_aigc_parse("{\"AIGC\":{\"Label\":\"1\"},\"aigc2\":{}}", 34, &l, NULL), HG_OK);
}

/* ---- every format: add, read, relabel, tamper ---- */

/* content_at: a byte of content to change, from the start (>= 0) or from the end (< 0) of the labelled file */
static void roundtrip(const char *format, buf b, long content_at) {
  hg_label_report before;
  assert_int_equal(hg_label_buffer_read(format, b.d, b.n, &before, NULL), HG_OK);
  assert_int_equal(before.labels_found, 0);
  add(format, &b, &(hg_label_add_options){.producer = "acme", .produce_id = "id-1"}, SK);
  hg_label_report r = read_verify(format, &b);
  assert_int_equal(r.labels_found, 1);
  assert_true(r.intact);
  assert_string_equal(r.label.value[HG_AIGC_PROPAGATOR], "acme"); /* first write: propagator = producer */
  assert_memory_equal(r.content_hash, before.content_hash, sizeof r.content_hash);

  add(format, &b, &(hg_label_add_options){.producer = "acme", .produce_id = "id-2"}, SK);
  r = read_verify(format, &b);
  assert_int_equal(r.labels_found, 1);
  assert_string_equal(r.label.value[HG_AIGC_PRODUCE_ID], "id-2");
  assert_memory_equal(r.content_hash, before.content_hash, sizeof r.content_hash);

  buf changed = b;
  changed.d[content_at >= 0 ? (size_t)content_at : changed.n - (size_t)-content_at] ^= 0x01;
  r = read_verify(format, &changed);
  assert_false(r.intact);
  assert_int_equal(r.content_unchanged, 0);
  assert_int_equal(r.producer_signature, HG_SIG_VALID); /* the label is fine; the content is not */
}

static void png_roundtrip(void **state) {
  (void)state;
  buf b = make_png();
  roundtrip("png", b, -20); /* inside IDAT */
}
static void wav_roundtrip(void **state) {
  (void)state;
  roundtrip("wav", make_wav(), 46);
}
static void flac_roundtrip(void **state) {
  (void)state;
  buf b = make_flac();
  roundtrip("flac", b, -2);
}
static void markdown_roundtrip(void **state) {
  (void)state;
  roundtrip("markdown", make_text("# Title\n\nbody text\n"), -3);
  roundtrip("markdown", make_text("---\ntitle: x\n---\nbody\n"), -3);
}
static void mp3_roundtrip(void **state) {
  (void)state;
  buf b = make_text("\xff\xfb\x90\x64"
                    " mpeg frames follow here");
  roundtrip("mp3", b, -3);
}
static void jpeg_roundtrip(void **state) {
  (void)state;
  buf b = {.n = 0};
  put(&b, "\xff\xd8\xff\xe0\x00\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0", 20);
  put(&b, "\xff\xdb\x00\x04\x00\x01", 6); /* a (short) DQT */
  put(&b,
      "\xff\xda\x00\x02"
      "scan-data\xff\xd9",
      15);
  roundtrip("jpeg", b, -5);
}
static void pdf_roundtrip(void **state) {
  (void)state;
  buf b = make_text("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\nxref\n0 2\n0000000000 65535 f \n"
                    "0000000009 00000 n \ntrailer\n<< /Size 2 /Root 1 0 R >>\nstartxref\n45\n%%EOF\n");
  roundtrip("pdf", b, 20);
}

/* a seed file of the fuzz corpus (generated for this repository, see fuzz/corpus) */
static buf seed(const char *rel) {
  char path[512];
  snprintf(path, sizeof path, "%s/fuzz/corpus/%s", HG_SOURCE_DIR, rel);
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("%s: cannot open", path);
  buf b = {.n = 0};
  b.n = fread(b.d, 1, sizeof b.d, f);
  assert_false(ferror(f));
  assert_true(feof(f) || b.n < sizeof b.d);
  fclose(f);
  return b;
}

static void webp_roundtrip(void **state) {
  (void)state;
  roundtrip("webp", seed("label_webp/simple.webp"), 40); /* inside the VP8L chunk, after the new VP8X */
}
static void mp4_roundtrip(void **state) {
  (void)state;
  roundtrip("mp4", seed("label_mp4/faststart.mp4"), 10); /* the ftyp brand; moov moves to the end */
}
static void ogg_roundtrip(void **state) {
  (void)state;
  roundtrip("ogg", seed("label_ogg/plain.ogg"), -3); /* the last audio page */
}
static void ooxml_roundtrip(void **state) {
  (void)state;
  buf b = seed("label_ooxml/custom.docx");
  add("ooxml", &b, &(hg_label_add_options){.producer = "acme", .produce_id = "id-1"}, SK);
  hg_label_report r = read_verify("ooxml", &b);
  assert_int_equal(r.labels_found, 1);
  assert_true(r.intact);
  assert_non_null(memmem(b.d, b.n, "name=\"Client\"", 13)); /* the other custom property stays */
  uint8_t *doc = b.d; /* the entry's local header, not the name inside [Content_Types].xml */
  do
    doc = memmem(doc + 1, b.n - (size_t)(doc + 1 - b.d), "word/document.xml", 17);
  while (doc && (doc - b.d < 30 || memcmp(doc - 30, "PK\3\4", 4)));
  assert_non_null(doc);
  doc[17 + 5] ^= 1; /* compressed bytes of the document body */
  r = read_verify("ooxml", &b);
  assert_int_equal(r.content_unchanged, 0);
}

static void label_change_found(void **state) {
  (void)state;
  buf b = make_wav();
  add("wav", &b, &(hg_label_add_options){.producer = "acme", .produce_id = "id-1"}, SK);
  uint8_t *p = memmem(b.d, b.n, "\"Label\":\"1\"", 11);
  assert_non_null(p);
  p[9] = '3';
  hg_label_report r = read_verify("wav", &b);
  assert_false(r.intact);
  assert_int_equal(r.producer_signature, HG_SIG_VALID);
  assert_int_equal(r.propagator_signature, HG_SIG_INVALID);
  p = memmem(b.d, b.n, "acme", 4);
  p[0] = 'A';
  r = read_verify("wav", &b);
  assert_int_equal(r.producer_signature, HG_SIG_INVALID);
}

static void platform_mode(void **state) {
  (void)state;
  buf b = make_png();
  add("png", &b, &(hg_label_add_options){.producer = "acme", .produce_id = "id-1"}, SK);
  hg_label_report first = read_verify("png", &b);
  add("png", &b, &(hg_label_add_options){.platform = 1, .label = "2", .propagator = "plat", .propagate_id = "post-1"},
      SK2);
  hg_label_report r = read_verify("png", &b);
  assert_true(r.intact);
  for (int f = HG_AIGC_PRODUCER; f <= HG_AIGC_RESERVED1; f++)
    assert_string_equal(r.label.value[f], first.label.value[f]);
  assert_string_equal(r.label.value[HG_AIGC_LABEL], "2");
  assert_string_equal(r.label.value[HG_AIGC_PROPAGATOR], "plat");
  /* platform mode on an unlabelled file needs the Label it sets */
  buf fresh = make_wav();
  uint8_t *out;
  size_t len;
  assert_int_equal(hg_label_buffer_add("wav", fresh.d, fresh.n,
                                       &(hg_label_add_options){.platform = 1, .propagator = "p", .propagate_id = "i"},
                                       SK2, &out, &len, NULL),
                   HG_ERR_INVALID);
}

static void conflict_reported(void **state) {
  (void)state;
  static const char text[] = "AIGC\0{\"Label\":\"1\",\"ContentProducer\":\"other\"}";
  buf b = {.n = 0};
  put(&b, "\x89PNG\r\n\x1a\n", 8);
  png_chunk(&b, "IHDR", "\0\0\0\1\0\0\0\1\x08\0\0\0\0", 13);
  png_chunk(&b, "tEXt", text, sizeof text - 1);
  png_chunk(&b, "IDAT", "pixels-here", 11);
  png_chunk(&b, "IEND", "", 0);
  hg_label_report r = read_verify("png", &b);
  assert_int_equal(r.labels_found, 1);
  assert_string_equal(r.label.value[HG_AIGC_PRODUCER], "other");
  /* now a second, different label beside it: the XMP written by hand so that both stay */
  buf two = {.n = 0};
  put(&two, b.d, b.n - 12);
  static const char xmp[] = "XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta><rdf:RDF><rdf:Description "
                            "xmlns:TC260=\"http://www.tc260.org.cn/ns/AIGC/1.0/\" TC260:AIGC='{\"Label\":\"3\"}'/>"
                            "</rdf:RDF></x:xmpmeta>";
  png_chunk(&two, "iTXt", xmp, sizeof xmp - 1);
  png_chunk(&two, "IEND", "", 0);
  r = read_verify("png", &two);
  assert_int_equal(r.labels_found, 2);
  assert_true(r.conflict);
  assert_false(r.intact);
  /* the producer's writer replaces both with one */
  add("png", &two, &(hg_label_add_options){.producer = "acme", .produce_id = "id-1"}, SK);
  r = read_verify("png", &two);
  assert_int_equal(r.labels_found, 1);
  assert_true(r.intact);
}

static void xmp_other_properties_kept(void **state) {
  (void)state;
  static const char xmp[] = "XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf="
                            "\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" "
                            "xmlns:dc=\"http://purl.org/dc/elements/1.1/\" dc:format=\"image/png\"/></rdf:RDF>"
                            "</x:xmpmeta>";
  buf b = {.n = 0};
  put(&b, "\x89PNG\r\n\x1a\n", 8);
  png_chunk(&b, "IHDR", "\0\0\0\1\0\0\0\1\x08\0\0\0\0", 13);
  png_chunk(&b, "iTXt", xmp, sizeof xmp - 1);
  png_chunk(&b, "IEND", "", 0);
  add("png", &b, &(hg_label_add_options){.producer = "acme", .produce_id = "id-1"}, SK);
  assert_non_null(memmem(b.d, b.n, "dc:format=\"image/png\"", 21));
  assert_int_equal(read_verify("png", &b).labels_found, 1);
  int packets = 0;
  for (uint8_t *p = b.d; (p = memmem(p, b.n - (size_t)(p - b.d), "XML:com.adobe.xmp", 17)); p++)
    packets++;
  assert_int_equal(packets, 1); /* merged into one packet, not a second one */
}

static void truncated_refused(void **state) {
  (void)state;
  buf png = make_png(), wav = make_wav(), flac = make_flac();
  hg_label_report r;
  hg_error err;
  for (size_t cut = 9; cut < png.n; cut += 7) {
    assert_int_equal(hg_label_buffer_read("png", png.d, cut, &r, &err), HG_ERR_PARSE);
    assert_non_null(strstr(err.message, "offset"));
  }
  wav.d[40] = 0xff; /* data chunk size far beyond the file */
  assert_int_equal(hg_label_buffer_read("wav", wav.d, wav.n, &r, NULL), HG_ERR_PARSE);
  assert_int_equal(hg_label_buffer_read("flac", flac.d, 20, &r, NULL), HG_ERR_PARSE);
  uint8_t *out;
  size_t len;
  hg_label_add_options o = producer("x");
  assert_int_equal(hg_label_buffer_add("png", png.d, 30, &o, SK, &out, &len, NULL), HG_ERR_PARSE);
}

static void detect_formats(void **state) {
  (void)state;
  buf png = make_png(), wav = make_wav(), flac = make_flac();
  assert_string_equal(hg_label_format_detect(png.d, png.n, NULL), "png");
  assert_string_equal(hg_label_format_detect(wav.d, wav.n, NULL), "wav");
  assert_string_equal(hg_label_format_detect(flac.d, flac.n, NULL), "flac");
  assert_string_equal(hg_label_format_detect((const uint8_t *)"# x", 3, "notes.MD"), "markdown");
  assert_null(hg_label_format_detect((const uint8_t *)"hello", 5, "a.txt"));
}

/* stage writes a temporary and leaves the file; discard removes the temporary; commit replaces the file; the
 * default check (no second hash) and HG_LABEL_FULL_CHECK report the same content hash as a plain read. */
static int temporaries(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += strstr(e->d_name, ".tmp") != NULL;
  closedir(d);
  return n;
}
static void staged_files(void **state) {
  (void)state;
  char dir[] = "/tmp/hg_filelabel_XXXXXX", path[64];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/a.png", dir);
  buf b = make_png();
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(b.d, 1, b.n, f), b.n);
  fclose(f);
  hg_label_report plain, rep;
  hg_error err;
  assert_int_equal(hg_label_buffer_read("png", b.d, b.n, &plain, &err), HG_OK);
  hg_label_add_options o = producer("id-s");
  for (unsigned flags = 0; flags < 4; flags++) {
    hg_label_staged staged;
    assert_int_equal(hg_label_file_stage(path, &o, SK, flags, &rep, &staged, &err), HG_OK);
    assert_memory_equal(rep.content_hash, plain.content_hash, sizeof plain.content_hash);
    assert_int_equal(temporaries(dir), 1);
    hg_label_report now;
    assert_int_equal(hg_label_file_read(path, &now, &err), HG_OK);
    assert_int_equal(now.labels_found, 0); /* untouched until commit */
    if (flags & 1) {
      hg_label_staged_discard(&staged);
    } else {
      assert_int_equal(hg_label_staged_commit(&staged, flags, &err), HG_OK);
      assert_int_equal(hg_label_file_read(path, &now, &err), HG_OK);
      assert_int_equal(now.labels_found, 1);
      assert_memory_equal(now.content_hash, plain.content_hash, sizeof plain.content_hash);
      f = fopen(path, "wb"); /* back to the unlabelled file for the next round */
      assert_non_null(f);
      assert_int_equal(fwrite(b.d, 1, b.n, f), b.n);
      fclose(f);
    }
    assert_int_equal(temporaries(dir), 0);
  }
  unlink(path);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(object_strict_writer),
      cmocka_unit_test(object_tolerant_reader),
      cmocka_unit_test(png_roundtrip),
      cmocka_unit_test(wav_roundtrip),
      cmocka_unit_test(flac_roundtrip),
      cmocka_unit_test(markdown_roundtrip),
      cmocka_unit_test(mp3_roundtrip),
      cmocka_unit_test(jpeg_roundtrip),
      cmocka_unit_test(pdf_roundtrip),
      cmocka_unit_test(label_change_found),
      cmocka_unit_test(platform_mode),
      cmocka_unit_test(conflict_reported),
      cmocka_unit_test(xmp_other_properties_kept),
      cmocka_unit_test(truncated_refused),
      cmocka_unit_test(detect_formats),
      cmocka_unit_test(staged_files),
      cmocka_unit_test(webp_roundtrip),
      cmocka_unit_test(mp4_roundtrip),
      cmocka_unit_test(ogg_roundtrip),
      cmocka_unit_test(ooxml_roundtrip),
  };
  return cmocka_run_group_tests(tests, setup_keys, NULL);
}
