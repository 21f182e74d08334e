/* hegui/hegui.h — the whole public API of libhegui. */
#ifndef HEGUI_H
#define HEGUI_H

#include "hegui/classify.h"
#include "hegui/config.h"
#include "hegui/guard.h"
#include "hegui/identity.h"
#include "hegui/label.h"
#include "hegui/lexicon.h"
#include "hegui/moderate.h"
#include "hegui/ocr.h"
#include "hegui/pii.h"
#include "hegui/regex.h"
#include "hegui/status.h"
#include "hegui/store.h"
#include "hegui/text.h"
#include "hegui/version.h"

#endif
