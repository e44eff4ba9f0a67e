/* The figures of gv-bench-quality: an edit against the ground truth of its clip
 * (docs/benchmark.md, "Metrics"). Images are planes of width x height pixels, frame after frame:
 * RGB packed 3 bytes a pixel, masks GRAY8 (> 127 is inside). A region that holds no pixel gives
 * NAN (written as null). GLib only. */
#pragma once

#include "gv-world.h"

G_BEGIN_DECLS

/* PSNR of identical pixels (MSE 0) and the ceiling of every PSNR, in dB */
#define GV_QUALITY_PSNR_CAP 100.0
/* SSIM: Gaussian window of 11x11, sigma 1.5; constants (0.01 L)^2, (0.03 L)^2 with L = 255 */
#define GV_QUALITY_SSIM_RADIUS 5
#define GV_QUALITY_SSIM_SIGMA 1.5

/* @mask grown by a disc of @radius pixels (pixel centres within @radius of one inside): 255
 * inside, 0 outside; @frames planes. g_free() it. */
guint8 *gv_quality_dilate (const guint8 *mask, gint width, gint height, gint frames,
    gint radius);

/* Intersection over union of two masks of @n pixels; 1 when both are empty. */
gdouble gv_quality_iou (const guint8 *a, const guint8 *b, gsize n);

/* PSNR (dB) of RGB @a against @b over the @n pixels where @region (may be NULL: all) is inside,
 * or outside when @outside: 10 log10 (255^2 / MSE), MSE over the pixels and the three
 * channels, at most GV_QUALITY_PSNR_CAP. */
gdouble gv_quality_psnr (const guint8 *a, const guint8 *b, gsize n, const guint8 *region,
    gboolean outside);

/* The background metric (background_psnr): PSNR of RGB @edit against @source outside
 * @edit_masks grown by GV_QUALITY_BACKGROUND_MARGIN pixels (the seam of the edit is left out);
 * @frames planes. */
#define GV_QUALITY_BACKGROUND_MARGIN 4
gdouble gv_quality_background_psnr (const guint8 *edit, const guint8 *source,
    const guint8 *edit_masks, gint width, gint height, gint frames);

/* SSIM of RGB @a against @b (@frames planes), per channel with the window above (cut at the
 * frame's border, its weights renormalised there), averaged over the three channels and the
 * window centres inside @region (may be NULL: all); the windows see the pixels around the
 * region too. */
gdouble gv_quality_ssim (const guint8 *a, const guint8 *b, gint width, gint height, gint frames,
    const guint8 *region);

/* Mean Euclidean distance in 8-bit RGB between @a and @b over the pixels inside @region. */
gdouble gv_quality_colour_error (const guint8 *a, const guint8 *b, gsize n,
    const guint8 *region);

/* Temporal error of RGB @frames (@n_frames planes) along the object's known motion: for each
 * pair of frames k, k + 1, every pixel p fully inside the object in frame k (@coverage == 255)
 * is compared with frame k + 1 at p moved by the path, c_{k+1} + (p - c_k) size_{k+1} / size_k
 * (pixel centres, read bilinearly; points whose four pixels are not all in the frame are
 * left out); the mean absolute difference over those pixels, the pairs and the three channels
 * (0..255). The ideal edit scores ~0 (its anti-aliased edges, read bilinearly, add < 2). */
gdouble gv_quality_temporal_error (const guint8 *frames, const guint8 *coverage, gint width,
    gint height, gint n_frames, const GvWorldPlace *path);

/* The correspondence error of a nearest-neighbour field at latent resolution (@lw x @lh cells
 * over frames of @width x @height pixels) from frame a to frame b of a clip whose object goes
 * from @at_a to @at_b: @field gives for every cell of frame a (y * lw + x) the cell of frame b
 * it matched. Counted are the cells of frame a whose centre lies inside @region (frame a's
 * GRAY8 plane: where the object is); their true place in frame b moves with the object, as in
 * the temporal error; cells whose true place leaves the frame are left out. Adds to @t the
 * distance in cells from the matched cell to the true place, and the distance a field that
 * keeps every cell where it is would have (a still field, the figure to beat). */
typedef struct {
  gdouble error, still_error;  /* sums of distances, in cells */
  gsize count;
} GvQualityFieldTally;

void gv_quality_field_tally (GvQualityFieldTally *t, const gint32 *field, gint lw, gint lh,
    const guint8 *region, gint width, gint height, const GvWorldPlace *at_a,
    const GvWorldPlace *at_b);

/* The field the known motion gives, in the layout above: each cell of frame a whose centre lies
 * inside @region to the cell nearest its true place in frame b (clamped to the frame), every
 * other cell to itself (the background stands still). */
void gv_quality_known_field (gint32 *field, gint lw, gint lh, const guint8 *region, gint width,
    gint height, const GvWorldPlace *at_a, const GvWorldPlace *at_b);

G_END_DECLS
