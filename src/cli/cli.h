/* cli.h — shared pieces of the hegui command line: lexicon loading, JSON string output, exit codes. */
#ifndef HG_CLI_H
#define HG_CLI_H

#include <stdio.h>

#include "hegui/hegui.h"

enum { EXIT_NONE_FOUND = 0, EXIT_FOUND = 1, EXIT_ERROR = 2 };

/* Loads a lexicon from an image or source file, or the embedded starter lexicon when path is NULL. */
int cli_load_lexicon(const char *path, const hg_compile_options *opt, const hg_source_defaults *defaults,
                     hg_lexicon **out);
/* Writes s as a JSON string literal (with quotes). */
void cli_json_string(FILE *f, const char *s, size_t len);
/* Prints "hegui: message" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Parses a non-negative integer option value; returns -1 on error. */
long cli_parse_uint(const char *s, long max);
/* Parses a comma list of modes; returns 0 on error. */
unsigned cli_parse_modes(const char *s);

/* Feeds a file or standard input (in, closed unless stdin) or else a text to fn in chunks; stops at the first
 * non-zero fn result and reports a read error. Returns 0 or -1. */
int cli_pump(FILE *in, const char *text, const char *name, int (*fn)(void *ctx, const char *buf, size_t n), void *ctx);

/* Records a change the command line made to the store in the audit chain, as the admin API records its own: actor
 * "cli:" and the operating-system user, the route ("cli/key-create"), the verdict and a JSON object of details.
 * Returns 0, or -1 after printing why (the change itself is already made: the caller says so). */
/* The pseudonym the gateway records a user under (DIR/pseudonym.key, docs/store.md) in out (32 hex digits + NUL).
 * -1 when the key cannot be read (printed unless quiet). */
int cli_pseudonym(const char *dir, const char *user, char out[33], int quiet);
int cli_record(hg_store *store, const char *route, const char *verdict, const char *detail_json);

int cmd_check(int argc, char **argv);
int cmd_lexicon(int argc, char **argv);
int cmd_fold(int argc, char **argv);
int cmd_pii(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_dsar(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_label(int argc, char **argv);
int cmd_label_files(int argc, char **argv); /* label add|read|verify FILE... */
int cmd_identity(int argc, char **argv);
int cmd_classifier(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_config(int argc, char **argv); /* config check|show|keys */

#endif
