/* test_versions.c — policy and lexicon versions: the line diff that shows what an upload changes (checked on random
 * texts by applying it both ways and against a brute-force LCS length, an independent reference), and the store's
 * versions: states and the moves between them, at most one active version per kind, rollbacks that bring back
 * only what was once in force, and conflicts when a version was decided meanwhile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/diff.h"
#include "hegui/store.h"
#include "store_test_util.h"

/* ---- the diff ---- */

typedef struct script {
  char *a, *b; /* rebuilt from SAME+DEL and SAME+ADD */
  size_t alen, blen, same, edits;
  size_t next_a, next_b; /* line numbers expected next */
  int numbering_ok;
} script;

static void grow_append(char **buf, size_t *len, const char *p, size_t n) {
  *buf = realloc(*buf, *len + n + 1);
  assert_non_null(*buf);
  memcpy(*buf + *len, p, n);
  *len += n;
  (*buf)[*len] = 0;
}

static int collect(void *ctx, const hg_diff_line *l) {
  script *s = ctx;
  if (l->op != HG_DIFF_ADD) {
    if (l->a_line != s->next_a) s->numbering_ok = 0;
    s->next_a++;
    grow_append(&s->a, &s->alen, l->text, l->len);
  }
  if (l->op != HG_DIFF_DEL) {
    if (l->b_line != s->next_b) s->numbering_ok = 0;
    s->next_b++;
    grow_append(&s->b, &s->blen, l->text, l->len);
  }
  if (l->op == HG_DIFF_SAME)
    s->same++;
  else
    s->edits++;
  return 0;
}

/* The reference: lines split by hand, LCS length by the textbook O(n·m) table. */
static size_t naive_lines(const char *t, size_t len, const char **start, size_t *lens) {
  size_t n = 0, from = 0;
  for (size_t i = 0; i < len; i++)
    if (t[i] == '\n') {
      start[n] = t + from, lens[n++] = i + 1 - from;
      from = i + 1;
    }
  if (from < len) start[n] = t + from, lens[n++] = len - from;
  return n;
}

static size_t naive_lcs(const char *a, size_t alen, const char *b, size_t blen) {
  const char *sa[256], *sb[256];
  size_t la[256], lb[256];
  size_t n = naive_lines(a, alen, sa, la), m = naive_lines(b, blen, sb, lb);
  static size_t t[257][257];
  for (size_t i = 0; i <= n; i++)
    for (size_t j = 0; j <= m; j++) {
      if (!i || !j)
        t[i][j] = 0;
      else if (la[i - 1] == lb[j - 1] && !memcmp(sa[i - 1], sb[j - 1], la[i - 1]))
        t[i][j] = t[i - 1][j - 1] + 1;
      else
        t[i][j] = t[i - 1][j] > t[i][j - 1] ? t[i - 1][j] : t[i][j - 1];
    }
  return t[n][m];
}

static script run_diff(const char *a, size_t alen, const char *b, size_t blen, int *minimal) {
  script s = {.next_a = 1, .next_b = 1, .numbering_ok = 1};
  hg_error err;
  assert_int_equal(hg_diff_lines(a, alen, b, blen, collect, &s, minimal, &err), HG_OK);
  assert_int_equal(s.alen, alen);
  assert_int_equal(s.blen, blen);
  if (alen) assert_memory_equal(s.a, a, alen);
  if (blen) assert_memory_equal(s.b, b, blen);
  assert_true(s.numbering_ok);
  return s;
}

static void free_script(script *s) {
  free(s->a);
  free(s->b);
}

static void diff_edges(void **state) {
  (void)state;
  static const char *const cases[][2] = {{"", ""},         {"", "x\n"},          {"x\n", ""},       {"a", "a\n"},
                                         {"a\nb", "a\nb"}, {"a\nb\nc\n", "c\n"}, {"\n\n\n", "\n"}, {"a\nb\n", "b\na\n"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *a = cases[i][0], *b = cases[i][1];
    int minimal = 0;
    script s = run_diff(a, strlen(a), b, strlen(b), &minimal);
    assert_true(minimal);
    assert_int_equal(s.same, naive_lcs(a, strlen(a), b, strlen(b)));
    free_script(&s);
  }
  /* "a" and "a\n" are different lines: one removed, one added */
  int minimal;
  script s = run_diff("a", 1, "a\n", 2, &minimal);
  assert_int_equal(s.same, 0);
  assert_int_equal(s.edits, 2);
  free_script(&s);
}

/* Random texts over a few distinct lines (so that many are equal), the second made from the first by random edits
 * or drawn afresh: the script applies both ways and keeps as many lines as the longest common subsequence has. */
static void diff_random_against_lcs(void **state) {
  (void)state;
  static const char *const pool[] = {"alpha\n", "beta\n", "gamma\n", "\n", "冰毒\tA1h\n", "delta", "beta"};
  unsigned seed = 12345;
  for (int round = 0; round < 3000; round++) {
    char a[2048] = "", b[2048] = "";
    size_t n = (seed = seed * 1103515245 + 12345) >> 16 & 31;
    for (size_t i = 0; i < n; i++) {
      /* only the last line may lack its '\n' */
      const char *l = pool[(seed = seed * 1103515245 + 12345) >> 16 & 3];
      strcat(a, l);
    }
    if (round % 3 == 0) strcat(a, pool[5 + round % 2]);
    if (round % 2) {
      /* edits of a: drop, duplicate or replace some lines */
      const char *p = a;
      while (*p) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) + 1 : strlen(p);
        unsigned r = (seed = seed * 1103515245 + 12345) >> 16 & 7;
        if (r == 0) {
        } else if (r == 1) {
          strncat(b, p, len);
          strncat(b, p, len);
        } else if (r == 2) {
          strcat(b, pool[(seed >> 20) & 3]);
        } else {
          strncat(b, p, len);
        }
        p += len;
      }
    } else {
      size_t m = (seed = seed * 1103515245 + 12345) >> 16 & 31;
      for (size_t i = 0; i < m; i++)
        strcat(b, pool[(seed = seed * 1103515245 + 12345) >> 16 & 3]);
    }
    int minimal = 0;
    script s = run_diff(a, strlen(a), b, strlen(b), &minimal);
    assert_true(minimal);
    size_t lcs = naive_lcs(a, strlen(a), b, strlen(b));
    if (s.same != lcs) fail_msg("round %d: %zu lines kept, the LCS has %zu\na=%s\nb=%s", round, s.same, lcs, a, b);
    free_script(&s);
  }
}

/* Past HG_DIFF_MAX_EDITS the script is no longer the shortest, but still correct. */
static void diff_beyond_the_bound(void **state) {
  (void)state;
  size_t lines = HG_DIFF_MAX_EDITS + 500;
  char *a = malloc(lines * 12 + 1), *b = malloc(lines * 12 + 40);
  size_t alen = 0, blen = 0;
  blen += (size_t)sprintf(b + blen, "head\n");
  alen += (size_t)sprintf(a + alen, "head\n");
  for (size_t i = 0; i < lines; i++) {
    alen += (size_t)sprintf(a + alen, "a%zu\n", i);
    blen += (size_t)sprintf(b + blen, "b%zu\n", i);
  }
  blen += (size_t)sprintf(b + blen, "tail");
  alen += (size_t)sprintf(a + alen, "tail");
  int minimal = 1;
  script s = run_diff(a, alen, b, blen, &minimal);
  assert_false(minimal);
  assert_int_equal(s.same, 2);
  assert_int_equal(s.edits, 2 * lines);
  free_script(&s);
  /* the same texts: nothing to change */
  s = run_diff(a, alen, a, alen, &minimal);
  assert_true(minimal);
  assert_int_equal(s.edits, 0);
  free_script(&s);
  free(a);
  free(b);
  /* too many lines */
  size_t big = HG_DIFF_MAX_LINES + 1;
  char *nl = malloc(big);
  memset(nl, '\n', big);
  hg_error err;
  script none = {0};
  assert_int_equal(hg_diff_lines(nl, big, "", 0, collect, &none, NULL, &err), HG_ERR_LIMIT);
  free(nl);
}

/* ---- the store's versions ---- */

typedef struct seen {
  hg_version_info v;
  char author[64], approver[64], note[64];
  char content[256];
  int count;
  int64_t ids[16];
} seen;

static int keep(void *ctx, const hg_version_info *v) {
  seen *s = ctx;
  if (s->count < 16) s->ids[s->count] = v->id;
  s->count++;
  s->v = *v;
  snprintf(s->author, sizeof s->author, "%s", v->author);
  snprintf(s->approver, sizeof s->approver, "%s", v->approver ? v->approver : "");
  snprintf(s->note, sizeof s->note, "%s", v->note ? v->note : "");
  s->v.author = s->v.approver = s->v.note = NULL; /* valid only during the call */
  s->v.content = v->content ? s->content : NULL;
  s->content[0] = 0;
  if (v->content) snprintf(s->content, sizeof s->content, "%.*s", (int)v->size, (const char *)v->content);
  return 0;
}

static hg_version_state state_of(hg_store *st, int64_t id) {
  seen s = {0};
  hg_error err;
  assert_int_equal(hg_store_version_get(st, id, keep, &s, &err), HG_OK);
  return s.v.state;
}

static void store_versions(void **state) {
  (void)state;
  tmp_store t;
  tmp_init_named(&t, "versions");
  hg_store *st = open_ok(t.url);
  hg_error err;
  int64_t p1, p2, p3, l1, rb;
  seen s = {0};
  assert_int_equal(hg_store_version_active(st, HG_VERSION_POLICY, keep, &s, &err), HG_ERR_NOT_FOUND);
  /* applied at once: active */
  assert_int_equal(hg_store_version_add(st, HG_VERSION_POLICY, "a: 1\n", 5, "ada", 7, 0, 1, 1000, &p1, &err), HG_OK);
  assert_int_equal(hg_store_version_active(st, HG_VERSION_POLICY, keep, &s, &err), HG_OK);
  assert_int_equal(s.v.id, p1);
  assert_int_equal(s.v.activated_ms, 1000);
  assert_int_equal(s.v.size, 5);
  assert_int_equal(s.v.author_key_id, 7);
  assert_string_equal(s.content, "a: 1\n");
  assert_string_equal(s.author, "ada");
  /* sha256 of "a: 1\n" */
  assert_int_equal(strlen(s.v.sha256), 64);
  /* pending: the active one stays */
  assert_int_equal(hg_store_version_add(st, HG_VERSION_POLICY, "a: 2\n", 5, "ada", 7, 0, 0, 2000, &p2, &err), HG_OK);
  assert_int_equal(state_of(st, p2), HG_VERSION_PENDING);
  assert_int_equal(state_of(st, p1), HG_VERSION_ACTIVE);
  /* a lexicon of its own kind: independent */
  assert_int_equal(hg_store_version_add(st, HG_VERSION_LEXICON, "x\n", 2, "ada", 7, 0, 1, 2500, &l1, &err), HG_OK);
  assert_int_equal(state_of(st, p1), HG_VERSION_ACTIVE);
  /* approval: p2 active, p1 superseded */
  assert_int_equal(hg_store_version_approve(st, p2, "bob", 3000, &err), HG_OK);
  assert_int_equal(state_of(st, p2), HG_VERSION_ACTIVE);
  assert_int_equal(state_of(st, p1), HG_VERSION_SUPERSEDED);
  s = (seen){0};
  assert_int_equal(hg_store_version_get(st, p2, keep, &s, &err), HG_OK);
  assert_string_equal(s.approver, "bob");
  assert_int_equal(s.v.activated_ms, 3000);
  assert_int_equal(hg_store_version_approve(st, p2, "bob", 3100, &err), HG_ERR_CONFLICT);
  assert_int_equal(hg_store_version_reject(st, p2, "bob", NULL, 3100, &err), HG_ERR_CONFLICT);
  assert_int_equal(hg_store_version_approve(st, 999, "bob", 3100, &err), HG_ERR_NOT_FOUND);
  /* rejected */
  assert_int_equal(hg_store_version_add(st, HG_VERSION_POLICY, "a: 3\n", 5, "ada", 7, 0, 0, 4000, &p3, &err), HG_OK);
  assert_int_equal(hg_store_version_reject(st, p3, "bob", "too lax", 4100, &err), HG_OK);
  s = (seen){0};
  assert_int_equal(hg_store_version_get(st, p3, keep, &s, &err), HG_OK);
  assert_int_equal(s.v.state, HG_VERSION_REJECTED);
  assert_int_equal(s.v.ended_ms, 4100);
  assert_string_equal(s.note, "too lax");
  /* rollbacks: only to what was once in force, of the same kind */
  assert_int_equal(hg_store_version_add(st, HG_VERSION_POLICY, "a: 3\n", 5, "ada", 7, p3, 1, 5000, &rb, &err),
                   HG_ERR_INVALID);
  assert_int_equal(hg_store_version_add(st, HG_VERSION_POLICY, "x\n", 2, "ada", 7, l1, 1, 5000, &rb, &err),
                   HG_ERR_INVALID);
  assert_int_equal(hg_store_version_add(st, HG_VERSION_POLICY, "x\n", 2, "ada", 7, 4242, 1, 5000, &rb, &err),
                   HG_ERR_NOT_FOUND);
  assert_int_equal(state_of(st, p2), HG_VERSION_ACTIVE); /* a refused rollback changed nothing */
  assert_int_equal(hg_store_version_add(st, HG_VERSION_POLICY, "a: 1\n", 5, "ada", 7, p1, 1, 5000, &rb, &err), HG_OK);
  assert_int_equal(state_of(st, rb), HG_VERSION_ACTIVE);
  assert_int_equal(state_of(st, p2), HG_VERSION_ROLLED_BACK);
  s = (seen){0};
  assert_int_equal(hg_store_version_get(st, rb, keep, &s, &err), HG_OK);
  assert_int_equal(s.v.rollback_of, p1);
  /* listing: newest first, by kind and state, without content */
  s = (seen){0};
  assert_int_equal(hg_store_version_list(st, HG_VERSION_POLICY, HG_VERSION_STATE_COUNT, 0, keep, &s, &err), HG_OK);
  assert_int_equal(s.count, 4);
  assert_int_equal(s.ids[0], rb);
  assert_int_equal(s.ids[3], p1);
  assert_null(s.v.content);
  s = (seen){0};
  assert_int_equal(hg_store_version_list(st, HG_VERSION_KIND_COUNT, HG_VERSION_ACTIVE, 0, keep, &s, &err), HG_OK);
  assert_int_equal(s.count, 2); /* one active per kind */
  /* deactivation: the configured one again */
  int64_t gone = 0;
  assert_int_equal(hg_store_version_deactivate(st, HG_VERSION_LEXICON, 6000, &gone, &err), HG_OK);
  assert_int_equal(gone, l1);
  assert_int_equal(state_of(st, l1), HG_VERSION_SUPERSEDED);
  assert_int_equal(hg_store_version_deactivate(st, HG_VERSION_LEXICON, 6000, &gone, &err), HG_OK);
  assert_int_equal(gone, 0);
  /* and a rollback to a superseded lexicon brings it back */
  int64_t l2;
  assert_int_equal(hg_store_version_add(st, HG_VERSION_LEXICON, "x\n", 2, "bob", 8, l1, 1, 7000, &l2, &err), HG_OK);
  assert_int_equal(state_of(st, l2), HG_VERSION_ACTIVE);
  /* bad arguments */
  assert_int_equal(hg_store_version_add(st, HG_VERSION_LEXICON, "x", 1, "", 8, 0, 1, 7000, &l2, &err), HG_ERR_INVALID);
  assert_int_equal(hg_store_version_add(st, (hg_version_kind)5, "x", 1, "a", 8, 0, 1, 7000, &l2, &err),
                   HG_ERR_INVALID);
  /* names */
  hg_version_kind k;
  hg_version_state vs;
  assert_int_equal(hg_version_kind_parse("lexicon", &k), HG_OK);
  assert_int_equal(k, HG_VERSION_LEXICON);
  assert_int_equal(hg_version_state_parse("rolled_back", &vs), HG_OK);
  assert_int_equal(vs, HG_VERSION_ROLLED_BACK);
  assert_int_not_equal(hg_version_state_parse("approved", &vs), HG_OK);
  hg_store_close(st);
  /* the database itself refuses a second active version of a kind */
  raw_sql(t.path, "UPDATE versions SET state = 'pending' WHERE id = 1");
  sqlite3 *db;
  assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
  assert_int_not_equal(sqlite3_exec(db, "UPDATE versions SET state = 'active' WHERE kind = 'policy'", NULL, NULL, NULL),
                       SQLITE_OK);
  sqlite3_close(db);
  tmp_remove(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(diff_edges), cmocka_unit_test(diff_random_against_lcs),
                                     cmocka_unit_test(diff_beyond_the_bound), cmocka_unit_test(store_versions)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
