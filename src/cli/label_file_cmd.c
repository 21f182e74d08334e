/* label_file_cmd.c — `hegui label add|read|verify FILE|DIR...`: implicit labels in files (src/label/filelabel.c).
 * Directories are walked recursively (files of formats hegui does not know are skipped there, and are an error
 * when named). Exit status, as `check`: 0 every file labelled (add, read) or intact (verify), 1 some file without a
 * label or with a broken one, 2 an error. `add --no-explicit --recipient WHO` also writes, per file, a record of
 * who received content without the explicit label to the audit chain in DIR/hegui.db (Labeling Measures Art. 9).
 * `add --explicit` first draws the visible label on the picture (src/media/explicit.c), then writes the implicit
 * label over the labelled pixels, and replaces the file once with both. */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"
#include "cli/cli.h"
#include "hegui/filelabel.h"
#include "hegui/media.h"
#include "hegui/store.h"

#define KEYS_MAX 8

typedef enum mode { MODE_ADD, MODE_READ, MODE_VERIFY } mode;
typedef enum sync_mode { SYNC_BATCH, SYNC_EACH, SYNC_NONE } sync_mode;

#define BATCH_FILES 64 /* files read or labelled together: staged, synced once, renamed, synced once */
#define JOBS_MAX 16

typedef struct run {
  mode mode;
  int json, progress;
  const char *data_dir, *recipient;
  int no_explicit, explicit_label;
  hg_explicit_options explicit_options;
  hg_label_add_options add;
  uint8_t sk[HG_LABEL_SECRET_KEY_BYTES];
  uint8_t keys[KEYS_MAX][HG_LABEL_PUBLIC_KEY_BYTES];
  size_t nkeys;
  hg_store *store;
  int worst; /* the exit status so far */
  long files;
  sync_mode sync;
  int jobs; /* threads that read, hash and write files; reports are printed in the files' order */
} run;

static run *the_run; /* nftw gives its callback no context */

static void print_label_json(const hg_aigc *l) {
  putchar('{');
  for (int f = 0; f < HG_AIGC_FIELDS; f++) {
    printf("%s\"%s\":", f ? "," : "", hg_aigc_field_name(f));
    cli_json_string(stdout, l->value[f], strlen(l->value[f]));
  }
  putchar('}');
}

static const char *sig_name(hg_sig_state s) {
  return s == HG_SIG_VALID ? "valid" : s == HG_SIG_INVALID ? "invalid" : "absent";
}

static void report_json(const run *r, const char *path, const hg_label_report *rep, int status, const char *error) {
  printf("{\"file\":");
  cli_json_string(stdout, path, strlen(path));
  printf(",\"status\":%d", status);
  if (error) {
    printf(",\"error\":");
    cli_json_string(stdout, error, strlen(error));
    printf("}\n");
    return;
  }
  char hex[2 * HG_LABEL_CONTENT_HASH_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, rep->content_hash, sizeof rep->content_hash);
  printf(",\"format\":\"%s\",\"labels_found\":%d,\"conflict\":%s,\"unreadable\":%d,\"content_blake2b\":\"%s\"",
         rep->format, rep->labels_found, rep->conflict ? "true" : "false", rep->unreadable, hex);
  if (rep->labels_found) {
    printf(",\"carrier\":");
    cli_json_string(stdout, rep->carrier, strlen(rep->carrier));
    printf(",\"offset\":%zu,\"label\":", rep->carrier_offset);
    print_label_json(&rep->label);
  }
  if (r->mode == MODE_VERIFY) {
    printf(",\"intact\":%s,\"producer_signature\":\"%s\",\"propagator_signature\":\"%s\",\"content_unchanged\":%s",
           rep->intact ? "true" : "false", sig_name(rep->producer_signature), sig_name(rep->propagator_signature),
           rep->content_unchanged < 0 ? "null"
           : rep->content_unchanged   ? "true"
                                      : "false");
    if (!rep->intact) {
      printf(",\"problem\":");
      cli_json_string(stdout, rep->problem, strlen(rep->problem));
    }
  }
  printf("}\n");
}

static void report_text(const run *r, const char *path, const hg_label_report *rep, int status) {
  const hg_aigc *l = &rep->label;
  if (r->mode == MODE_VERIFY) {
    if (rep->intact)
      printf("%s: intact: Label=%s ContentProducer=%s ProduceID=%s ContentPropagator=%s (%s)\n", path,
             l->value[HG_AIGC_LABEL], l->value[HG_AIGC_PRODUCER], l->value[HG_AIGC_PRODUCE_ID],
             l->value[HG_AIGC_PROPAGATOR], rep->carrier);
    else
      printf("%s: NOT intact: %s\n", path, rep->problem);
    return;
  }
  if (!rep->labels_found) {
    printf("%s: no label%s\n", path, rep->unreadable ? " (an AIGC carrier holds something else)" : "");
    return;
  }
  printf("%s: %s%s%s at offset %zu: Label=%s ContentProducer=%s ProduceID=%s ContentPropagator=%s PropagateID=%s\n",
         path,
         r->mode != MODE_ADD ? ""
         : r->explicit_label ? "labelled (explicit and implicit), "
                             : "labelled, ",
         rep->conflict ? "CONFLICT (two different labels), " : "", rep->carrier, rep->carrier_offset,
         l->value[HG_AIGC_LABEL], l->value[HG_AIGC_PRODUCER], l->value[HG_AIGC_PRODUCE_ID],
         l->value[HG_AIGC_PROPAGATOR], l->value[HG_AIGC_PROPAGATE_ID]);
  (void)status;
}

/* The record that content left without its explicit label, and to whom. */
static int record_handout(run *r, const char *path, const hg_label_report *rep, hg_error *err) {
  char hex[2 * HG_LABEL_CONTENT_HASH_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, rep->content_hash, sizeof rep->content_hash);
  size_t cap = strlen(path) * 6 + 2048;
  char *detail = malloc(cap);
  if (!detail) return -1;
  /* the file name is escaped by hand: only ", \ and control bytes need it in JSON */
  size_t at = (size_t)snprintf(detail, cap, "{\"file\":\"");
  for (const unsigned char *p = (const unsigned char *)path; *p; p++)
    at += (size_t)(*p == '"' || *p == '\\' ? snprintf(detail + at, cap - at, "\\%c", *p)
                   : *p < 0x20             ? snprintf(detail + at, cap - at, "\\u%04x", *p)
                                           : snprintf(detail + at, cap - at, "%c", *p));
  snprintf(detail + at, cap - at,
           "\",\"format\":\"%s\",\"content_blake2b\":\"%s\",\"ProduceID\":\"%s\",\"ContentProducer\":\"%s\","
           "\"explicit_label\":false}",
           rep->format, hex, rep->label.value[HG_AIGC_PRODUCE_ID], rep->label.value[HG_AIGC_PRODUCER]);
  hg_audit_record rec = {
      .actor = r->recipient, .route = "label/unlabeled-handout", .verdict = "unlabeled", .detail_json = detail};
  int bad = hg_store_audit_append(r->store, &rec, err) != HG_OK;
  free(detail);
  return bad ? -1 : 0;
}

#define EXPLICIT_FILE_MAX ((uint64_t)1 << 30)

/* Explicit label, then implicit label, in memory; the file is replaced once, with both. */
static hg_status add_explicit(const run *r, const char *path, const hg_label_add_options *add, hg_label_report *rep,
                              hg_error *err) {
  struct stat sb;
  int fd = hg_file_open_regular(path, EXPLICIT_FILE_MAX, &sb, err);
  if (fd < 0) return err->status;
  size_t len = (size_t)sb.st_size, got = 0;
  uint8_t *in = malloc(len ? len : 1), *drawn = NULL, *labelled = NULL;
  size_t drawn_len = 0, labelled_len = 0;
  hg_status st = HG_OK;
  if (!in) st = HG_ERR_NOMEM, snprintf(err->message, sizeof err->message, "%s: out of memory", path);
  while (!st && got < len) {
    ssize_t n = read(fd, in + got, len - got);
    if (n <= 0) {
      snprintf(err->message, sizeof err->message, "%s: %s", path, n ? strerror(errno) : "changed while read");
      st = err->status = HG_ERR_IO;
    }
    got += n > 0 ? (size_t)n : 0;
  }
  close(fd);
  const char *format = st ? NULL : hg_label_format_detect(in, len, path);
  if (!st && !format) {
    snprintf(err->message, sizeof err->message, "%s: not a file format hegui labels", path);
    st = err->status = HG_ERR_PARSE;
  }
  if (!st && !(st = hg_explicit_label_buffer(format, in, len, &r->explicit_options, &drawn, &drawn_len, err)) &&
      !(st = hg_label_buffer_add(format, drawn, drawn_len, add, r->sk, &labelled, &labelled_len, err)) &&
      !(st = hg_label_buffer_read(format, labelled, labelled_len, rep, err))) {
    char *target = realpath(path, NULL); /* through a symbolic link the file it names is replaced */
    if (!target) {
      snprintf(err->message, sizeof err->message, "%s: %s", path, strerror(errno));
      st = err->status = HG_ERR_IO;
    } else {
      st = hg_file_write_atomic_mode(target, labelled, labelled_len, sb.st_mode & 07777, 0, err);
      free(target);
    }
  }
  if (st && strncmp(err->message, path, strlen(path))) { /* messages from below name no file */
    char message[sizeof err->message];
    int plen = (int)strnlen(path, 150);
    snprintf(message, sizeof message, "%.*s: %.160s", plen, path, err->message);
    memcpy(err->message, message, sizeof message);
  }
  free(in);
  free(drawn);
  free(labelled);
  return st;
}

/* One file's work, done on a worker thread: everything but printing and the audit record. */
typedef struct job {
  const char *path;
  int named, skip;
  hg_status st;
  hg_error err;
  hg_label_report rep;
  hg_label_staged staged; /* add --sync batch: written, not yet renamed */
} job;

static void work_file(const run *r, job *j) {
  hg_error_clear(&j->err);
  memset(&j->rep, 0, sizeof j->rep);
  char id[33];
  hg_label_add_options add = r->add;
  if (r->mode == MODE_ADD) {
    if (!add.platform && !add.produce_id) { /* one id per file: 16 random bytes, hex */
      uint8_t raw[16];
      randombytes_buf(raw, sizeof raw);
      sodium_bin2hex(id, sizeof id, raw, sizeof raw);
      add.produce_id = id;
    }
    if (r->explicit_label) { /* drawn, labelled and replaced in one write of its own (synced) */
      j->st = add_explicit(r, j->path, &add, &j->rep, &j->err);
    } else {
      unsigned flags = r->sync == SYNC_EACH ? 0 : HG_LABEL_NO_SYNC;
      j->st = hg_label_file_stage(j->path, &add, r->sk, flags, &j->rep, &j->staged, &j->err);
      if (!j->st && r->sync != SYNC_BATCH) j->st = hg_label_staged_commit(&j->staged, flags, &j->err);
    }
  } else {
    j->st = hg_label_file_read(j->path, &j->rep, &j->err);
  }
  j->skip = j->st == HG_ERR_PARSE && !j->named && strstr(j->err.message, "not a file format hegui labels");
  if (!j->st && r->mode == MODE_VERIFY)
    hg_label_report_verify(&j->rep, (const uint8_t(*)[HG_LABEL_PUBLIC_KEY_BYTES])r->keys, r->nkeys);
}

/* Printing and recording, on the main thread in the files' order. */
static void finish_file(run *r, job *j) {
  if (j->skip) return;
  const char *path = j->path;
  hg_label_report *rep = &j->rep;
  hg_status st = j->st;
  r->files++;
  int status;
  if (st) {
    status = EXIT_ERROR;
  } else if (r->mode == MODE_VERIFY) {
    status = rep->intact ? 0 : 1;
  } else {
    status = rep->labels_found && !rep->conflict ? 0 : 1;
  }
  if (!st && r->mode == MODE_ADD && r->no_explicit && record_handout(r, path, rep, &j->err)) {
    st = HG_ERR_STORE;
    status = EXIT_ERROR;
  }
  if (r->json)
    report_json(r, path, rep, status, st ? j->err.message : NULL);
  else if (st)
    cli_error("%s", j->err.message);
  else
    report_text(r, path, rep, status);
  if (r->progress) fprintf(stderr, "\r%ld files", r->files);
  if (status > r->worst) r->worst = status;
}

typedef struct pool {
  const run *r;
  job *jobs;
  size_t n, next;
  pthread_mutex_t lock;
} pool;

static void *pool_worker(void *arg) {
  pool *p = arg;
  for (;;) {
    pthread_mutex_lock(&p->lock);
    size_t i = p->next < p->n ? p->next++ : p->n;
    pthread_mutex_unlock(&p->lock);
    if (i == p->n) return NULL;
    work_file(p->r, &p->jobs[i]);
  }
}

static void work_all(const run *r, job *jobs, size_t n) {
  pool p = {.r = r, .jobs = jobs, .n = n};
  pthread_mutex_init(&p.lock, NULL);
  pthread_t t[JOBS_MAX];
  int started = 0;
  for (int k = 1; k < r->jobs && (size_t)k < n; k++)
    if (!pthread_create(&t[started], NULL, pool_worker, &p)) started++;
  pool_worker(&p); /* the main thread works too; with no thread started it does everything */
  for (int k = 0; k < started; k++)
    pthread_join(t[k], NULL);
  pthread_mutex_destroy(&p.lock);
}

/* --sync batch: every staged file of the batch is made durable with one syncfs per file system, then renamed, then
 * the renames are made durable the same way. A failed sync leaves every file of the batch as it was. */
static void commit_batch(job *jobs, size_t n) {
  dev_t devs[BATCH_FILES], dev_of[BATCH_FILES];
  size_t via[BATCH_FILES], ndevs = 0; /* a job per file system, whose file the syncs go through */
  for (size_t i = 0; i < n; i++) {
    struct stat sb;
    if (!jobs[i].staged.tmp) continue;
    if (stat(jobs[i].staged.tmp, &sb)) sb.st_dev = (dev_t)-1;
    dev_of[i] = sb.st_dev;
    size_t d = 0;
    while (d < ndevs && devs[d] != sb.st_dev)
      d++;
    if (d == ndevs) devs[ndevs] = sb.st_dev, via[ndevs++] = i;
  }
  hg_error err;
  hg_error_clear(&err);
  hg_status st = HG_OK;
  for (size_t d = 0; d < ndevs && !st; d++)
    st = hg_file_sync_fs(jobs[via[d]].staged.tmp, &err);
  for (size_t i = 0; i < n; i++) {
    if (!jobs[i].staged.tmp) continue;
    if (st) { /* nothing of this batch is renamed: every file stays as it was */
      hg_label_staged_discard(&jobs[i].staged);
      jobs[i].st = st;
      snprintf(jobs[i].err.message, sizeof jobs[i].err.message, "%.200s: not changed: %.100s", jobs[i].path,
               err.message);
    } else {
      jobs[i].st = hg_label_staged_commit(&jobs[i].staged, HG_LABEL_NO_SYNC, &jobs[i].err);
    }
  }
  if (st) return;
  for (size_t d = 0; d < ndevs; d++) { /* the renames; the file named by via[d] exists, renamed or not */
    if (!hg_file_sync_fs(jobs[via[d]].path, &err)) continue;
    for (size_t i = 0; i < n; i++)
      if (!jobs[i].st && jobs[i].rep.format && dev_of[i] == devs[d]) {
        jobs[i].st = HG_ERR_IO; /* the file is replaced; whether that survives a crash is not known */
        snprintf(jobs[i].err.message, sizeof jobs[i].err.message, "%.200s is written, but %.100s", jobs[i].path,
                 err.message);
      }
  }
}

/* Reads or labels paths[0..n) in batches; named[i] says whether paths[i] was named on the command line. */
static void do_files(run *r, char **paths, const unsigned char *named, size_t n) {
  job *jobs = calloc(BATCH_FILES, sizeof *jobs);
  if (!jobs) {
    cli_error("out of memory");
    r->worst = EXIT_ERROR;
    return;
  }
  for (size_t at = 0; at < n; at += BATCH_FILES) {
    size_t m = n - at < BATCH_FILES ? n - at : BATCH_FILES;
    memset(jobs, 0, m * sizeof *jobs);
    for (size_t i = 0; i < m; i++)
      jobs[i].path = paths[at + i], jobs[i].named = named[at + i];
    work_all(r, jobs, m);
    if (r->mode == MODE_ADD && r->sync == SYNC_BATCH) commit_batch(jobs, m);
    for (size_t i = 0; i < m; i++)
      finish_file(r, &jobs[i]);
  }
  free(jobs);
}

/* A directory's files are listed first and labelled after: writing beside a file while readdir runs over the same
 * directory could show the walk a temporary file, or a replaced file twice. */
typedef struct path_list {
  char **v;
  size_t n, cap;
  int failed;
} path_list;

static path_list *the_list;

static int walk_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  path_list *l = the_list;
  if (type == FTW_DNR || type == FTW_NS) {
    cli_error("%s: cannot read", path);
    the_run->worst = EXIT_ERROR;
    return 0;
  }
  if (type != FTW_F) return 0;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 256;
    char **bigger = realloc(l->v, cap * sizeof *bigger);
    if (!bigger) return l->failed = 1;
    l->v = bigger;
    l->cap = cap;
  }
  if (!(l->v[l->n] = strdup(path))) return l->failed = 1;
  l->n++;
  return 0;
}

static int compare_paths(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Lists a directory's files into l, sorted (the same order on every file system); named stays 0 for them. */
static void list_directory(run *r, const char *dir, path_list *l) {
  size_t first = l->n;
  the_list = l;
  if (nftw(dir, walk_entry, 32, FTW_PHYS) != 0 || l->failed) {
    cli_error("%s: %s", dir, l->failed ? "out of memory" : strerror(errno));
    r->worst = EXIT_ERROR;
    l->failed = 0;
  }
  if (l->n > first) qsort(l->v + first, l->n - first, sizeof *l->v, compare_paths);
}

static int parse_place(const char *v, hg_label_place *out) {
  static const char *names[] = {"bottom-right", "bottom-left", "top-right", "top-left", "bottom", "top"};
  for (int i = 0; i < 6; i++)
    if (!strcmp(v, names[i])) return *out = (hg_label_place)i, 0;
  return -1;
}

static int take_value(int argc, char **argv, int *i, const char **out) {
  if (*i + 1 >= argc) return cli_error("label: %s needs a value", argv[*i]), -1;
  *out = argv[++*i];
  return 0;
}

int cmd_label_files(int argc, char **argv) {
  static run r; /* large (keys) and used by the nftw callback */
  memset(&r, 0, sizeof r);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  r.jobs = cpus < 1 ? 1 : cpus > 4 ? 4 : (int)cpus;
  r.mode = !strcmp(argv[0], "add") ? MODE_ADD : !strcmp(argv[0], "read") ? MODE_READ : MODE_VERIFY;
  const char *key_files[KEYS_MAX];
  size_t nkey_files = 0;
  int explicit_opts = 0;
  int first_file = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int bad = 0;
    if (!strcmp(a, "--")) {
      first_file = i + 1;
      break;
    } else if (!strcmp(a, "--json"))
      r.json = 1;
    else if (!strcmp(a, "--platform"))
      r.add.platform = 1;
    else if (!strcmp(a, "--no-explicit"))
      r.no_explicit = 1;
    else if (!strcmp(a, "--explicit"))
      r.explicit_label = 1;
    else if (!strcmp(a, "--label-text"))
      bad = take_value(argc, argv, &i, &r.explicit_options.visible.text), explicit_opts++;
    else if (!strcmp(a, "--font"))
      bad = take_value(argc, argv, &i, &r.explicit_options.visible.font_path), explicit_opts++;
    else if (!strcmp(a, "--place")) {
      const char *v = NULL;
      if (!(bad = take_value(argc, argv, &i, &v)) && parse_place(v, &r.explicit_options.visible.place))
        return cli_error("label: --place is bottom-right, bottom-left, top-right, top-left, bottom or top, not "
                         "'%s'",
                         v),
               EXIT_ERROR;
      explicit_opts++;
    } else if (!strcmp(a, "--height-ratio")) {
      const char *v = NULL;
      char *end;
      if (!(bad = take_value(argc, argv, &i, &v))) {
        r.explicit_options.visible.height_ratio = strtod(v, &end);
        if (end == v || *end ||
            !(r.explicit_options.visible.height_ratio >= HG_LABEL_HEIGHT_RATIO_MIN &&
              r.explicit_options.visible.height_ratio <= 0.5))
          return cli_error("label: --height-ratio is a number from 0.05 (GB 45438's minimum) to 0.5, not '%s'", v),
                 EXIT_ERROR;
      }
      explicit_opts++;
    } else if (!strcmp(a, "--spoken-text")) {
      bad = take_value(argc, argv, &i, &r.explicit_options.spoken_text), explicit_opts++;
    } else if (!strcmp(a, "--spoken-at") || !strcmp(a, "--spoken")) {
      const char *v = NULL;
      int at = !strcmp(a, "--spoken-at");
      if (!(bad = take_value(argc, argv, &i, &v))) {
        if (at && (!strcmp(v, "start") || !strcmp(v, "end")))
          r.explicit_options.spoken_at_end = !strcmp(v, "end");
        else if (!at && (!strcmp(v, "speech") || !strcmp(v, "rhythm")))
          r.explicit_options.spoken_kind = !strcmp(v, "rhythm") ? HG_SPOKEN_RHYTHM : HG_SPOKEN_SPEECH;
        else
          return cli_error("label: %s is %s, not '%s'", a, at ? "start or end" : "speech or rhythm", v), EXIT_ERROR;
      }
      explicit_opts++;
    } else if (!strcmp(a, "--sync") || !strcmp(a, "--jobs")) {
      const char *v;
      if (take_value(argc, argv, &i, &v)) return EXIT_ERROR;
      char *end;
      long jobs = strtol(v, &end, 10);
      if (a[2] == 'j' && (*end || jobs < 1 || jobs > JOBS_MAX))
        return cli_error("label: --jobs takes 1 to %d", JOBS_MAX), EXIT_ERROR;
      else if (a[2] == 'j')
        r.jobs = (int)jobs;
      else if (!strcmp(v, "batch") || !strcmp(v, "each") || !strcmp(v, "none"))
        r.sync = v[0] == 'b' ? SYNC_BATCH : v[0] == 'e' ? SYNC_EACH : SYNC_NONE;
      else
        return cli_error("label: --sync takes batch, each or none"), EXIT_ERROR;
    } else if (!strcmp(a, "--data-dir"))
      bad = take_value(argc, argv, &i, &r.data_dir);
    else if (!strcmp(a, "--producer"))
      bad = take_value(argc, argv, &i, &r.add.producer);
    else if (!strcmp(a, "--produce-id"))
      bad = take_value(argc, argv, &i, &r.add.produce_id);
    else if (!strcmp(a, "--propagator"))
      bad = take_value(argc, argv, &i, &r.add.propagator);
    else if (!strcmp(a, "--propagate-id"))
      bad = take_value(argc, argv, &i, &r.add.propagate_id);
    else if (!strcmp(a, "--label"))
      bad = take_value(argc, argv, &i, &r.add.label);
    else if (!strcmp(a, "--recipient"))
      bad = take_value(argc, argv, &i, &r.recipient);
    else if (!strcmp(a, "--public-key")) {
      if (nkey_files == KEYS_MAX) return cli_error("label: at most %d --public-key", KEYS_MAX), EXIT_ERROR;
      bad = take_value(argc, argv, &i, &key_files[nkey_files++]);
    } else if (a[0] == '-' && a[1]) {
      return cli_error("label %s: unknown option '%s'", argv[0], a), EXIT_ERROR;
    } else {
      first_file = i;
      break;
    }
    if (bad) return EXIT_ERROR;
  }
  if (!first_file || first_file >= argc) return cli_error("label %s: no FILE given", argv[0]), EXIT_ERROR;
  for (int i = first_file; i < argc; i++) /* options after the first file are a mistake, not a file name */
    if (argv[i][0] == '-' && argv[i][1] && first_file != i)
      return cli_error("label %s: options go before the files ('%s')", argv[0], argv[i]), EXIT_ERROR;

  if (r.mode != MODE_ADD && (r.explicit_label || explicit_opts))
    return cli_error("label %s: --explicit and its options belong to label add", argv[0]), EXIT_ERROR;
  hg_error err;
  hg_error_clear(&err);
  if (r.mode == MODE_ADD) {
    if (!r.data_dir) return cli_error("label add: --data-dir DIR is needed (it holds the signing key)"), EXIT_ERROR;
    if (!r.add.platform && !r.add.producer)
      return cli_error("label add: --producer NAME is needed (or --platform with --propagator and "
                       "--propagate-id)"),
             EXIT_ERROR;
    if (r.explicit_label && r.no_explicit)
      return cli_error("label add: --explicit and --no-explicit exclude each other"), EXIT_ERROR;
    if (explicit_opts && !r.explicit_label)
      return cli_error("label add: --label-text, --place, --font, --height-ratio, --spoken-text, --spoken-at and "
                       "--spoken go with --explicit"),
             EXIT_ERROR;
    if (r.no_explicit != !!r.recipient)
      return cli_error("label add: --no-explicit and --recipient WHO go together (who received the content "
                       "without its explicit label)"),
             EXIT_ERROR;
    if (hg_label_keys_load(r.data_dir, r.keys[0], r.sk, &err)) return cli_error("%s", err.message), EXIT_ERROR;
    if (r.no_explicit) {
      char url[4200];
      if ((size_t)snprintf(url, sizeof url, "sqlite:%s/hegui.db", r.data_dir) >= sizeof url)
        return cli_error("%s: path too long", r.data_dir), EXIT_ERROR;
      if (hg_store_open(url, &r.store, &err)) return cli_error("%s", err.message), EXIT_ERROR;
    }
  } else if (r.mode == MODE_VERIFY) {
    char pub[4200];
    if (r.data_dir) {
      if ((size_t)snprintf(pub, sizeof pub, "%s/label.pub", r.data_dir) >= sizeof pub)
        return cli_error("%s: path too long", r.data_dir), EXIT_ERROR;
      if (nkey_files == KEYS_MAX) return cli_error("label verify: too many keys"), EXIT_ERROR;
      key_files[nkey_files++] = pub; /* read, never created: verifying must not make a key pair appear */
    }
    if (!nkey_files) return cli_error("label verify: give --data-dir DIR or --public-key FILE"), EXIT_ERROR;
    for (size_t k = 0; k < nkey_files; k++)
      if (hg_label_public_key_read(key_files[k], r.keys[k], &err)) return cli_error("%s", err.message), EXIT_ERROR;
    r.nkeys = nkey_files;
  }

  r.progress = !r.json && isatty(STDERR_FILENO) && !isatty(STDOUT_FILENO);
  the_run = &r;
  path_list l = {0};
  unsigned char *named = NULL;
  size_t named_cap = 0;
  for (int i = first_file; i < argc; i++) {
    struct stat sb;
    size_t before = l.n;
    int dir = stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode);
    if (dir) {
      list_directory(&r, argv[i], &l);
    } else {
      the_list = &l;
      walk_entry(argv[i], &sb, FTW_F, NULL);
    }
    if (l.failed) break;
    if (l.cap > named_cap) {
      unsigned char *bigger = realloc(named, l.cap);
      if (!bigger) {
        l.failed = 1;
        break;
      }
      named = bigger;
      named_cap = l.cap;
    }
    for (size_t k = before; k < l.n; k++)
      named[k] = !dir; /* a named file that is missing is an error, reported by the work on it */
  }
  if (l.failed) {
    cli_error("label: out of memory");
    r.worst = EXIT_ERROR;
  } else {
    do_files(&r, l.v, named, l.n);
  }
  for (size_t k = 0; k < l.n; k++)
    free(l.v[k]);
  free(l.v);
  free(named);
  if (r.progress) fputc('\n', stderr);
  sodium_memzero(r.sk, sizeof r.sk);
  if (r.store) hg_store_close(r.store);
  return r.worst;
}
