/* The one caption grammar of the world (docs/benchmark.md):
 *
 *   caption    = "a" colour object "on a" background
 *   background = colour "background"
 *              | colour "and" colour "gradient"
 *              | colour "and" colour "striped background"
 *              | colour "and" colour "checkered background"
 *   object     = "disc" | "ball" | "square" | "triangle" | "ring"
 *   colour     = "red" | "green" | "blue" | "yellow" | "white" | "orange" | "purple" | "cyan"
 *              | "black" | "grey"
 *
 * words in lower case, separated by single spaces. */
#pragma once

#include "gv-world.h"

G_BEGIN_DECLS

#define GV_WORLD_ERROR (gv_world_error_quark ())
GQuark gv_world_error_quark (void);

typedef enum {
  GV_WORLD_ERROR_CAPTION,   /* a caption outside the grammar */
} GvWorldError;

/* The caption of @object over @background; g_free() it. */
gchar *gv_world_caption (const GvWorldObject *object, const GvWorldBackground *background,
    gboolean disc_is_ball);
/* Parses @caption into @object and @background (divisions 0: a caption does not say them).
 * FALSE with GV_WORLD_ERROR_CAPTION, which names the first word that does not fit. */
gboolean gv_world_caption_parse (const gchar *caption, GvWorldObject *object,
    GvWorldBackground *background, GError **error);

/* Every word the grammar uses, each once (for a tokenizer that covers them:
 * gv_tokenizer_build ()); g_strfreev() it. */
gchar **gv_world_caption_words (void);

G_END_DECLS
