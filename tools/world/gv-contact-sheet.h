/* A contact sheet: images of one tile size laid out in a grid on a dark grey RGB canvas, for
 * looking at clips (gv-make-clips --sheet) and, later, edits next to their ground truth. GLib
 * only; gv-png writes the result. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gint columns, rows;
  gint tile_width, tile_height, gap;
  gint width, height;     /* of the canvas */
  guint8 *rgb;            /* the canvas, rows of 3 width bytes */
} GvContactSheet;

GvContactSheet *gv_contact_sheet_new (gint columns, gint rows, gint tile_width,
    gint tile_height, gint gap);
void gv_contact_sheet_free (GvContactSheet *sheet);

/* Puts an image of @channels (1 GRAY8, 3 RGB, 4 RGBA: shown over a dark checkerboard, so
 * transparency shows) into tile (@column, @row), scaled to the tile by the nearest pixel. */
void gv_contact_sheet_put (GvContactSheet *sheet, gint column, gint row, const guint8 *pixels,
    gint width, gint height, gint channels);

G_END_DECLS
