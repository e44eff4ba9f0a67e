/* CLIPImageProcessor on the host, bit for bit: PIL's resampling of uint8 images (separable
 * convolution, support widened by the downscale factor, coefficients in fixed point, results
 * rounded and clipped to uint8 after each pass), transformers' centre crop, then rescale in
 * double and normalise in float as numpy does. */
#include <math.h>
#include <string.h>

#include "models/gv-image-preprocess.h"

/* coefficients are fixed point with this many fraction bits; two bits are left for sums
 * that overshoot (the filters have negative lobes) */
#define FRAC_BITS 22

typedef struct {
  gdouble (*weight) (gdouble x);
  gdouble support;
} Filter;

static gdouble
box_weight (gdouble x)
{
  return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
}

static gdouble
bilinear_weight (gdouble x)
{
  x = fabs (x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

static gdouble
hamming_weight (gdouble x)
{
  x = fabs (x);
  if (x == 0.0)
    return 1.0;
  if (x >= 1.0)
    return 0.0;
  x *= G_PI;
  /* PIL mixes float constants in here */
  return sin (x) / x * (0.54f + 0.46f * cos (x));
}

/* Keys' cubic convolution with a = -0.5 */
static gdouble
bicubic_weight (gdouble x)
{
  const gdouble a = -0.5;
  x = fabs (x);
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0)
    return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

static gdouble
sinc (gdouble x)
{
  if (x == 0.0)
    return 1.0;
  x *= G_PI;
  return sin (x) / x;
}

static gdouble
lanczos_weight (gdouble x)
{
  return -3.0 <= x && x < 3.0 ? sinc (x) * sinc (x / 3) : 0.0;
}

/* indexed by PIL's filter id; 0 (nearest) is not a convolution */
static const Filter filters[6] = {
  { NULL, 0 }, { lanczos_weight, 3.0 }, { bilinear_weight, 1.0 }, { bicubic_weight, 2.0 },
  { box_weight, 0.5 }, { hamming_weight, 1.0 },
};

/* For each output index: the first input index, the tap count and the taps (ksize each, in
 * fixed point). Returns ksize. */
static gint
make_taps (gint in_size, gint out_size, const Filter *f, gint **first, gint **count,
    gint32 **taps)
{
  gdouble scale = (gdouble) in_size / out_size;
  gdouble filter_scale = MAX (scale, 1.0);
  gdouble support = f->support * filter_scale;
  gdouble inv_scale = 1.0 / filter_scale;         /* PIL multiplies by the reciprocal */
  gint ksize = (gint) ceil (support) * 2 + 1;
  gdouble *w = g_new (gdouble, ksize);

  *first = g_new (gint, out_size);
  *count = g_new (gint, out_size);
  *taps = g_new0 (gint32, (gsize) out_size * ksize);
  for (gint o = 0; o < out_size; o++) {
    gdouble center = (o + 0.5) * scale;
    /* PIL rounds the window ends by truncation after adding 0.5 */
    gint lo = MAX ((gint) (center - support + 0.5), 0);
    gint hi = MIN ((gint) (center + support + 0.5), in_size);
    gint n = hi - lo;
    gdouble sum = 0.0;
    for (gint k = 0; k < n; k++) {
      w[k] = f->weight ((k + lo - center + 0.5) * inv_scale);
      sum += w[k];
    }
    for (gint k = 0; k < n; k++) {
      gdouble v = sum != 0.0 ? w[k] / sum : w[k];
      v *= 1 << FRAC_BITS;
      (*taps)[(gsize) o * ksize + k] = (gint32) (v < 0 ? v - 0.5 : v + 0.5);
    }
    (*first)[o] = lo;
    (*count)[o] = n;
  }
  g_free (w);
  return ksize;
}

static inline guint8
clip8 (gint32 v)
{
  v >>= FRAC_BITS;
  return (guint8) CLAMP (v, 0, 255);
}

/* Resamples @n_lines lines of 3-channel pixels: line i of @src starts at src + i * src_line,
 * its pixel j at + j * src_step; the same for @dst. */
static void
convolve (const guint8 *src, gsize src_line, gsize src_step, guint8 *dst, gsize dst_line,
    gsize dst_step, gint n_lines, gint out_size, gint ksize, const gint *first,
    const gint *count, const gint32 *taps)
{
  for (gint line = 0; line < n_lines; line++) {
    const guint8 *in = src + line * src_line;
    guint8 *out = dst + line * dst_line;
    for (gint o = 0; o < out_size; o++) {
      const gint32 *k = taps + (gsize) o * ksize;
      gint32 acc[3] = { 1 << (FRAC_BITS - 1), 1 << (FRAC_BITS - 1), 1 << (FRAC_BITS - 1) };
      for (gint t = 0; t < count[o]; t++) {
        const guint8 *px = in + (first[o] + t) * src_step;
        for (gint c = 0; c < 3; c++)
          acc[c] += px[c] * k[t];
      }
      for (gint c = 0; c < 3; c++)
        out[o * dst_step + c] = clip8 (acc[c]);
    }
  }
}

static guint8 *
resize_nearest (const guint8 *rgb, gint width, gint height, gint stride, gint out_w,
    gint out_h)
{
  guint8 *out = g_malloc ((gsize) out_w * out_h * 3);
  for (gint y = 0; y < out_h; y++) {
    gint sy = MIN ((gint) ((y + 0.5) * height / out_h), height - 1);
    for (gint x = 0; x < out_w; x++) {
      gint sx = MIN ((gint) ((x + 0.5) * width / out_w), width - 1);
      memcpy (out + ((gsize) y * out_w + x) * 3, rgb + (gsize) sy * stride + sx * 3, 3);
    }
  }
  return out;
}

guint8 *
gv_image_resize_pil (const guint8 *rgb, gint width, gint height, gint stride, gint out_w,
    gint out_h, gint filter)
{
  g_return_val_if_fail (filter >= 0 && filter <= 5, NULL);
  g_return_val_if_fail (width > 0 && height > 0 && out_w > 0 && out_h > 0, NULL);

  if (filter == 0)
    return resize_nearest (rgb, width, height, stride, out_w, out_h);

  const Filter *f = &filters[filter];
  gint *vfirst, *vcount, *hfirst, *hcount;
  gint32 *vtaps, *htaps;
  gint vk = make_taps (height, out_h, f, &vfirst, &vcount, &vtaps);
  /* the horizontal pass only runs over the rows the vertical one reads */
  gint row0 = vfirst[0], row1 = vfirst[out_h - 1] + vcount[out_h - 1];
  const guint8 *src = rgb + (gsize) row0 * stride;
  gsize src_stride = stride;
  gint rows = row1 - row0;
  guint8 *tmp = NULL;

  if (out_w != width) {
    gint hk = make_taps (width, out_w, f, &hfirst, &hcount, &htaps);
    tmp = g_malloc ((gsize) out_w * rows * 3);
    convolve (src, stride, 3, tmp, (gsize) out_w * 3, 3, rows, out_w, hk, hfirst, hcount, htaps);
    g_free (hfirst);
    g_free (hcount);
    g_free (htaps);
    src = tmp;
    src_stride = (gsize) out_w * 3;
  }
  guint8 *out = g_malloc ((gsize) out_w * out_h * 3);
  if (out_h != height) {
    for (gint o = 0; o < out_h; o++)
      vfirst[o] -= row0;
    /* columns are the lines here: pixel steps are rows */
    convolve (src, 3, src_stride, out, 3, (gsize) out_w * 3, out_w, out_h, vk, vfirst, vcount,
        vtaps);
  } else {
    for (gint y = 0; y < out_h; y++)
      memcpy (out + (gsize) y * out_w * 3, src + y * src_stride, (gsize) out_w * 3);
  }
  g_free (tmp);
  g_free (vfirst);
  g_free (vcount);
  g_free (vtaps);
  return out;
}

gfloat *
gv_clip_preprocess (const GvPreprocessorConfig *cfg, const guint8 *rgb, gint width,
    gint height, gint stride)
{
  g_return_val_if_fail (width > 0 && height > 0 && stride >= width * 3, NULL);
  const guint8 *img = rgb;
  guint8 *resized = NULL;
  gint w = width, h = height;
  gsize line = stride;

  if (cfg->do_resize) {
    /* shortest edge to S, the other int(S * long / short), as transformers computes it */
    gint s = cfg->shortest_edge;
    gint short_side = MIN (w, h), long_side = MAX (w, h);
    gint other = (gint) ((gdouble) s * long_side / short_side);
    gint nw = w <= h ? s : other, nh = w <= h ? other : s;
    if (nw != w || nh != h) {
      resized = gv_image_resize_pil (img, w, h, stride, nw, nh, cfg->resample);
      img = resized;
      w = nw;
      h = nh;
      line = (gsize) w * 3;
    }
  }

  /* centre crop; an image smaller than the crop is centred on zeros first (both offsets
   * rounded down, as transformers does) */
  gint ch = cfg->crop_height, cw = cfg->crop_width;
  gint top = (gint) floor ((h - ch) / 2.0), left = (gint) floor ((w - cw) / 2.0);
  if (h < ch)
    top = MAX (top + (ch - h) / 2, 0) - (ch - h) / 2;
  if (w < cw)
    left = MAX (left + (cw - w) / 2, 0) - (cw - w) / 2;

  gfloat *out = g_new (gfloat, (gsize) 3 * ch * cw);
  for (gint c = 0; c < 3; c++) {
    for (gint y = 0; y < ch; y++) {
      for (gint x = 0; x < cw; x++) {
        gint sy = y + top, sx = x + left;
        guint8 v = sy >= 0 && sy < h && sx >= 0 && sx < w ? img[sy * line + sx * 3 + c] : 0;
        /* numpy: uint8 * python float is double, then cast to float32 */
        gfloat f = cfg->do_rescale ? (gfloat) (v * (gdouble) cfg->rescale_factor) : v;
        if (cfg->do_normalize)
          f = (f - cfg->image_mean[c]) / cfg->image_std[c];
        out[((gsize) c * ch + y) * cw + x] = f;
      }
    }
  }
  g_free (resized);
  return out;
}
