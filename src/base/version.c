/* version.c — the library's version string. */
#include "hegui/version.h"

const char *hg_version(void) { return HG_VERSION_STRING; }
