/* base/clock.h — the one clock of hegui. Two kinds of time:
 *  - wall time (hg_clock_wall_ms): milliseconds since the epoch, UTC; what records, windows (a minute, a local day)
 *    and deadlines that outlive the process are kept in;
 *  - monotonic time (hg_clock_mono_ms, hg_clock_mono_s): durations and timeouts, never stepped by NTP.
 *
 * Tests set the wall clock through this API, never through a variable read on every call: hg_clock_pin fixes it at
 * a value, hg_clock_follow makes it the number in a file the test rewrites while the process runs (a clock the test
 * moves), hg_clock_run_from makes it run on from a chosen time, hg_clock_real goes back to the system's. The command
 * line does the same with `--test-clock MS|@FILE|now`; a gateway with a test clock also takes POST /admin/clock. It
 * reads HEGUI_TEST_NOW_MS once at start (hg_clock_from_env) for tests that start processes. The monotonic clock is
 * never replaced: durations are measured, not chosen.
 *
 * Thread safety: the readers may run on any thread at any time; a change is published whole (an atomic mode and
 * value; the followed path is set before the mode that uses it and never freed). */
#ifndef HG_BASE_CLOCK_H
#define HG_BASE_CLOCK_H

#include <stdint.h>

int64_t hg_clock_wall_ms(void);
int64_t hg_clock_mono_ms(void);
double hg_clock_mono_s(void);

/* The wall clock fixed at ms. */
void hg_clock_pin(int64_t ms);
/* The wall clock read from a file (a decimal number of milliseconds) at every call; when the file cannot be read,
 * the system's clock. 0, or -1 for a path longer than 4095 bytes. */
int hg_clock_follow(const char *path);
/* The wall clock running from ms: it reads ms now and moves on with the system's clock (a test clock that time
 * passes on, as an operator trying the timed rules expects). */
void hg_clock_run_from(int64_t ms);
/* The system's wall clock again. */
void hg_clock_real(void);
/* 1 when the wall clock is a test clock (pinned, running from a chosen time, or read from a file). */
int hg_clock_is_test(void);
/* "system", "pinned", "running" or "file". */
const char *hg_clock_mode(void);
/* "MS" pins, "@FILE" follows, "now" runs from the system's time (a test clock to be moved later). 0, or -1 for
 * anything else. */
int hg_clock_set(const char *spec);
/* Applies HEGUI_TEST_NOW_MS when set (read once). 0, or -1 when it is set and malformed. */
int hg_clock_from_env(void);

#endif
