#include <math.h>
#include <string.h>

#include "gv-world-caption.h"
#include "gv-world-render.h"

/* Signed distance (pixels, negative inside) from (@px, @py) to the outline of @shape. */
static gdouble
shape_distance (GvWorldShape shape, const GvWorldPlace *place, gdouble px, gdouble py)
{
  gdouble dx = px - place->x, dy = py - place->y, r = place->size / 2;

  switch (shape) {
    case GV_WORLD_DISC:
      return hypot (dx, dy) - r;
    case GV_WORLD_RING: {
      /* a band from 0.6 r to r */
      gdouble inner = 0.6 * r;
      return fabs (hypot (dx, dy) - (r + inner) / 2) - (r - inner) / 2;
    }
    case GV_WORLD_SQUARE: {
      gdouble qx = fabs (dx) - r, qy = fabs (dy) - r;
      return hypot (MAX (qx, 0), MAX (qy, 0)) + MIN (MAX (qx, qy), 0);
    }
    case GV_WORLD_TRIANGLE: {
      /* base of width 2r at the bottom of the box, apex at the top: the largest distance to
       * the three edge lines (outward normals) */
      gdouble h = r * sqrt (3.0);
      gdouble base = dy - h / 2;
      /* the slanted edges have normals (+-sqrt(3)/2, -1/2) and pass through (+-r, h/2) */
      gdouble right = (sqrt (3.0) / 2) * (dx - r) - 0.5 * (dy - h / 2);
      gdouble left = (sqrt (3.0) / 2) * (-dx - r) - 0.5 * (dy - h / 2);
      return MAX (base, MAX (left, right));
    }
    default:
      g_return_val_if_reached (G_MAXDOUBLE);
  }
}

void
gv_world_render_coverage (GvWorldShape shape, const GvWorldPlace *place, gint width,
    gint height, guint8 *coverage)
{
  for (gint y = 0; y < height; y++)
    for (gint x = 0; x < width; x++) {
      gdouble d = shape_distance (shape, place, x + 0.5, y + 0.5);
      gdouble c = CLAMP (0.5 - d, 0.0, 1.0);
      coverage[(gsize) y * width + x] = (guint8) floor (c * 255 + 0.5);
    }
}

void
gv_world_render_background (const GvWorldBackground *bg, gint width, gint height, guint8 *rgb)
{
  const guint8 *a = gv_world_colour_rgb (bg->colours[0]);
  const guint8 *b = gv_world_colour_rgb (bg->colours[1]);
  gint side = MIN (width, height);

  for (gint y = 0; y < height; y++)
    for (gint x = 0; x < width; x++) {
      guint8 *out = rgb + ((gsize) y * width + x) * 3;
      gboolean second = FALSE;
      switch (bg->kind) {
        case GV_WORLD_GRADIENT: {
          /* integer weights, so the same on every platform */
          gint t = (2 * y + 1) * 255 / (2 * height);
          for (gint c = 0; c < 3; c++)
            out[c] = (a[c] * (255 - t) + b[c] * t + 127) / 255;
          continue;
        }
        case GV_WORLD_STRIPES:
          second = ((2 * y + 1) * bg->divisions / (2 * height)) % 2;
          break;
        case GV_WORLD_CHECKER:
          second = ((2 * x + 1) * bg->divisions / (2 * side) +
              (2 * y + 1) * bg->divisions / (2 * side)) % 2;
          break;
        default:
          break;
      }
      memcpy (out, second ? b : a, 3);
    }
}

void
gv_world_blend (guint8 *rgb, const guint8 *coverage, GvWorldColour colour, gsize n_pixels)
{
  const guint8 *o = gv_world_colour_rgb (colour);
  for (gsize i = 0; i < n_pixels; i++) {
    guint q = coverage[i];
    for (gint c = 0; c < 3; c++)
      rgb[i * 3 + c] = (rgb[i * 3 + c] * (255 - q) + o[c] * q + 127) / 255;
  }
}

void
gv_world_render_target (const GvWorldObject *object, gint width, gint height, guint8 *rgba)
{
  gsize n = (gsize) width * height;
  GvWorldPlace centre = { width / 2.0, height / 2.0,
    GV_WORLD_TARGET_FILL * MIN (width, height) };
  guint8 *cov = g_new (guint8, n);
  const guint8 *o = gv_world_colour_rgb (object->colour);

  gv_world_render_coverage (object->shape, &centre, width, height, cov);
  for (gsize i = 0; i < n; i++) {
    for (gint c = 0; c < 3; c++)
      rgba[i * 4 + c] = cov[i] ? o[c] : 0;
    rgba[i * 4 + 3] = cov[i];
  }
  g_free (cov);
}

GvWorldRender *
gv_world_render (const GvWorldClip *clip)
{
  gint w = clip->width, h = clip->height;
  gsize n = (gsize) w * h;
  GvWorldRender *r = g_new0 (GvWorldRender, 1);
  guint8 *background = g_new (guint8, n * 3);
  guint8 *target_cov = g_new (guint8, n);

  r->width = w;
  r->height = h;
  r->frames = clip->frames;
  r->source = g_new (guint8, n * 3 * clip->frames);
  r->masks = g_new (guint8, n * clip->frames);
  r->edit = g_new (guint8, n * 3 * clip->frames);
  r->edit_masks = g_new (guint8, n * clip->frames);
  r->target = g_new (guint8, n * 4);

  gv_world_render_background (&clip->background, w, h, background);
  for (gint f = 0; f < clip->frames; f++) {
    guint8 *src = r->source + n * 3 * f, *edit = r->edit + n * 3 * f;
    guint8 *mask = r->masks + n * f, *edit_mask = r->edit_masks + n * f;

    gv_world_render_coverage (clip->source.shape, &clip->path[f], w, h, mask);
    memcpy (src, background, n * 3);
    gv_world_blend (src, mask, clip->source.colour, n);

    gv_world_render_coverage (clip->target.shape, &clip->path[f], w, h, target_cov);
    memcpy (edit, background, n * 3);
    gv_world_blend (edit, target_cov, clip->target.colour, n);

    for (gsize i = 0; i < n; i++)
      edit_mask[i] = mask[i] || target_cov[i] ? 255 : 0;
  }
  gv_world_render_target (&clip->target, w, h, r->target);
  r->source_prompt = gv_world_caption (&clip->source, &clip->background, clip->disc_is_ball);
  r->target_prompt = gv_world_caption (&clip->target, &clip->background, clip->disc_is_ball);

  g_free (target_cov);
  g_free (background);
  return r;
}

void
gv_world_render_free (GvWorldRender *render)
{
  if (render == NULL)
    return;
  g_free (render->source);
  g_free (render->masks);
  g_free (render->edit);
  g_free (render->edit_masks);
  g_free (render->target);
  g_free (render->source_prompt);
  g_free (render->target_prompt);
  g_free (render);
}
