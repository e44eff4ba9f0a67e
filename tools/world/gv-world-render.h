/* Drawing the world: anti-aliased object coverage, backgrounds, and a whole clip with its masks,
 * target image and ideal edit. Every function is a pure function of its arguments (integer
 * blending, no platform-dependent rounding), so a seed gives byte-identical images.
 *
 * Coverage is the fraction of a pixel the object covers, from the signed distance of the pixel
 * centre to the outline (clamp (0.5 - distance, 0, 1): exact for straight edges, within a small
 * fraction of a pixel at corners), stored as 0..255. A pixel of colour @obj and coverage q over
 * background @bg is (bg * (255 - q) + obj * q + 127) / 255 per channel. */
#pragma once

#include "gv-world.h"

G_BEGIN_DECLS

/* Coverage (0..255) of @shape at @place in a @width x @height plane. */
void gv_world_render_coverage (GvWorldShape shape, const GvWorldPlace *place, gint width,
    gint height, guint8 *coverage);
/* @bg as RGB (8 bit, rows of 3 @width bytes). */
void gv_world_render_background (const GvWorldBackground *bg, gint width, gint height,
    guint8 *rgb);
/* Blends @colour over the RGB pixels with @coverage, in place (the formula above). */
void gv_world_blend (guint8 *rgb, const guint8 *coverage, GvWorldColour colour, gsize n_pixels);
/* @object centred in a transparent @width x @height RGBA image, GV_WORLD_TARGET_FILL of the
 * shorter side: alpha = coverage, RGB = the object's colour where alpha > 0, else 0. */
void gv_world_render_target (const GvWorldObject *object, gint width, gint height,
    guint8 *rgba);

/* A rendered clip: planes of height x width pixels, frame after frame. */
typedef struct {
  gint width, height, frames;
  guint8 *source;       /* RGB: the source object over the background */
  guint8 *masks;        /* GRAY8: coverage of the source object */
  guint8 *edit;         /* RGB: the ideal edit, the target object on the same path */
  guint8 *edit_masks;   /* GRAY8: 255 where the source or the target object covers any part
                         * of the pixel, else 0 (binary) */
  guint8 *target;       /* RGBA, width x height: gv_world_render_target() */
  gchar *source_prompt;
  gchar *target_prompt;
} GvWorldRender;

GvWorldRender *gv_world_render (const GvWorldClip *clip);
void gv_world_render_free (GvWorldRender *render);

G_END_DECLS
