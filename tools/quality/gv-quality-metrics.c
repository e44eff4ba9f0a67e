#include <math.h>

#include "gv-quality-metrics.h"

#define INSIDE(m, i) ((m)[i] > 127)

guint8 *
gv_quality_dilate (const guint8 *mask, gint width, gint height, gint frames, gint radius)
{
  gsize plane = (gsize) width * height;
  guint8 *out = g_new0 (guint8, plane * frames);
  for (gint f = 0; f < frames; f++) {
    const guint8 *m = mask + f * plane;
    guint8 *o = out + f * plane;
    for (gint y = 0; y < height; y++)
      for (gint x = 0; x < width; x++) {
        if (!INSIDE (m, (gsize) y * width + x))
          continue;
        for (gint dy = -radius; dy <= radius; dy++)
          for (gint dx = -radius; dx <= radius; dx++) {
            gint yy = y + dy, xx = x + dx;
            if (dx * dx + dy * dy <= radius * radius && yy >= 0 && yy < height && xx >= 0 &&
                xx < width)
              o[(gsize) yy * width + xx] = 255;
          }
      }
  }
  return out;
}

gdouble
gv_quality_iou (const guint8 *a, const guint8 *b, gsize n)
{
  gsize both = 0, any = 0;
  for (gsize i = 0; i < n; i++) {
    both += INSIDE (a, i) && INSIDE (b, i);
    any += INSIDE (a, i) || INSIDE (b, i);
  }
  return any ? (gdouble) both / any : 1.0;
}

gdouble
gv_quality_psnr (const guint8 *a, const guint8 *b, gsize n, const guint8 *region,
    gboolean outside)
{
  gdouble sum = 0;
  gsize count = 0;
  for (gsize i = 0; i < n; i++) {
    if (region && INSIDE (region, i) == outside)
      continue;
    for (gint c = 0; c < 3; c++) {
      gdouble d = (gdouble) a[i * 3 + c] - b[i * 3 + c];
      sum += d * d;
    }
    count++;
  }
  if (count == 0)
    return NAN;
  gdouble mse = sum / (3.0 * count);
  if (mse == 0)
    return GV_QUALITY_PSNR_CAP;
  return MIN (GV_QUALITY_PSNR_CAP, 10.0 * log10 (255.0 * 255.0 / mse));
}

gdouble
gv_quality_background_psnr (const guint8 *edit, const guint8 *source, const guint8 *edit_masks,
    gint width, gint height, gint frames)
{
  guint8 *grown = gv_quality_dilate (edit_masks, width, height, frames,
      GV_QUALITY_BACKGROUND_MARGIN);
  gdouble psnr = gv_quality_psnr (edit, source, (gsize) width * height * frames, grown, TRUE);
  g_free (grown);
  return psnr;
}

/* SSIM at pixel (x, y) of channel @c of one frame */
static gdouble
ssim_at (const guint8 *a, const guint8 *b, gint width, gint height, gint x, gint y, gint c,
    const gdouble *g)
{
  const gint r = GV_QUALITY_SSIM_RADIUS;
  const gdouble c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
  gdouble sw = 0, sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (gint dy = -r; dy <= r; dy++) {
    gint yy = y + dy;
    if (yy < 0 || yy >= height)
      continue;
    for (gint dx = -r; dx <= r; dx++) {
      gint xx = x + dx;
      if (xx < 0 || xx >= width)
        continue;
      gdouble w = g[dy + r] * g[dx + r];
      gsize i = ((gsize) yy * width + xx) * 3 + c;
      gdouble va = a[i], vb = b[i];
      sw += w;
      sa += w * va;
      sb += w * vb;
      saa += w * va * va;
      sbb += w * vb * vb;
      sab += w * va * vb;
    }
  }
  gdouble ma = sa / sw, mb = sb / sw;
  gdouble va = MAX (saa / sw - ma * ma, 0.0), vb = MAX (sbb / sw - mb * mb, 0.0);
  gdouble cov = sab / sw - ma * mb;
  return ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
}

gdouble
gv_quality_ssim (const guint8 *a, const guint8 *b, gint width, gint height, gint frames,
    const guint8 *region)
{
  const gint r = GV_QUALITY_SSIM_RADIUS;
  gdouble g[2 * GV_QUALITY_SSIM_RADIUS + 1];
  for (gint k = -r; k <= r; k++)
    g[k + r] = exp (-(k * k) / (2 * GV_QUALITY_SSIM_SIGMA * GV_QUALITY_SSIM_SIGMA));
  gsize plane = (gsize) width * height;
  gdouble sum = 0;
  gsize count = 0;
  for (gint f = 0; f < frames; f++) {
    const guint8 *fa = a + f * plane * 3, *fb = b + f * plane * 3;
    for (gint y = 0; y < height; y++)
      for (gint x = 0; x < width; x++) {
        gsize i = f * plane + (gsize) y * width + x;
        if (region && !INSIDE (region, i))
          continue;
        for (gint c = 0; c < 3; c++)
          sum += ssim_at (fa, fb, width, height, x, y, c, g);
        count += 3;
      }
  }
  return count ? sum / count : NAN;
}

gdouble
gv_quality_colour_error (const guint8 *a, const guint8 *b, gsize n, const guint8 *region)
{
  gdouble sum = 0;
  gsize count = 0;
  for (gsize i = 0; i < n; i++) {
    if (!INSIDE (region, i))
      continue;
    gdouble d2 = 0;
    for (gint c = 0; c < 3; c++) {
      gdouble d = (gdouble) a[i * 3 + c] - b[i * 3 + c];
      d2 += d * d;
    }
    sum += sqrt (d2);
    count++;
  }
  return count ? sum / count : NAN;
}

gdouble
gv_quality_temporal_error (const guint8 *frames, const guint8 *coverage, gint width,
    gint height, gint n_frames, const GvWorldPlace *path)
{
  gsize plane = (gsize) width * height;
  gdouble sum = 0;
  gsize count = 0;
  for (gint k = 0; k + 1 < n_frames; k++) {
    const guint8 *now = frames + k * plane * 3, *later = frames + (k + 1) * plane * 3;
    const guint8 *cov = coverage + k * plane;
    gdouble scale = path[k].size > 0 ? path[k + 1].size / path[k].size : 1.0;
    for (gint y = 0; y < height; y++)
      for (gint x = 0; x < width; x++) {
        if (cov[(gsize) y * width + x] != 255)
          continue;
        /* the pixel centre moved with the object, back in pixel-index coordinates */
        gdouble u = path[k + 1].x + (x + 0.5 - path[k].x) * scale - 0.5;
        gdouble v = path[k + 1].y + (y + 0.5 - path[k].y) * scale - 0.5;
        gint x0 = (gint) floor (u), y0 = (gint) floor (v);
        if (x0 < 0 || y0 < 0 || x0 + 1 >= width || y0 + 1 >= height)
          continue;
        gsize i00 = (gsize) y0 * width + x0, i01 = i00 + 1, i10 = i00 + width,
            i11 = i10 + 1;
        gdouble fx = u - x0, fy = v - y0;
        for (gint c = 0; c < 3; c++) {
          gdouble s = (1 - fy) * ((1 - fx) * later[i00 * 3 + c] + fx * later[i01 * 3 + c]) +
              fy * ((1 - fx) * later[i10 * 3 + c] + fx * later[i11 * 3 + c]);
          sum += fabs (now[((gsize) y * width + x) * 3 + c] - s);
        }
        count += 3;
      }
  }
  return count ? sum / count : NAN;
}

/* cell (@cx, @cy) of frame a at its true place in frame b, in cells, when its centre lies
 * inside @region; FALSE outside it */
static gboolean
true_place (gint cx, gint cy, gint lw, gint lh, const guint8 *region, gint width, gint height,
    const GvWorldPlace *at_a, const GvWorldPlace *at_b, gdouble *tx, gdouble *ty)
{
  gdouble sx = (gdouble) width / lw, sy = (gdouble) height / lh;
  gdouble scale = at_a->size > 0 ? at_b->size / at_a->size : 1.0;
  gdouble px = (cx + 0.5) * sx, py = (cy + 0.5) * sy;
  if (!INSIDE (region, (gsize) ((gint) py * width + (gint) px)))
    return FALSE;
  *tx = (at_b->x + (px - at_a->x) * scale) / sx - 0.5;
  *ty = (at_b->y + (py - at_a->y) * scale) / sy - 0.5;
  return TRUE;
}

void
gv_quality_field_tally (GvQualityFieldTally *t, const gint32 *field, gint lw, gint lh,
    const guint8 *region, gint width, gint height, const GvWorldPlace *at_a,
    const GvWorldPlace *at_b)
{
  for (gint cy = 0; cy < lh; cy++)
    for (gint cx = 0; cx < lw; cx++) {
      gdouble tx, ty;
      if (!true_place (cx, cy, lw, lh, region, width, height, at_a, at_b, &tx, &ty) ||
          tx < -0.5 || ty < -0.5 || tx > lw - 0.5 || ty > lh - 0.5)
        continue;
      gint32 m = field[cy * lw + cx];
      t->error += hypot (m % lw - tx, m / lw - ty);
      t->still_error += hypot (cx - tx, cy - ty);
      t->count++;
    }
}

void
gv_quality_known_field (gint32 *field, gint lw, gint lh, const guint8 *region, gint width,
    gint height, const GvWorldPlace *at_a, const GvWorldPlace *at_b)
{
  for (gint cy = 0; cy < lh; cy++)
    for (gint cx = 0; cx < lw; cx++) {
      gdouble tx = cx, ty = cy;
      true_place (cx, cy, lw, lh, region, width, height, at_a, at_b, &tx, &ty);
      gint mx = CLAMP ((gint) floor (tx + 0.5), 0, lw - 1);
      gint my = CLAMP ((gint) floor (ty + 0.5), 0, lh - 1);
      field[cy * lw + cx] = my * lw + mx;
    }
}
