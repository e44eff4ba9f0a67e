#include "base/gv-error.h"

G_DEFINE_QUARK (gv-error-quark, gv_error)
