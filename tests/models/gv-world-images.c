#include <math.h>

#include "gv-world-images.h"
#include "gv-test-util.h"
#include "gv-world-render.h"

gfloat *
gv_world_images (guint64 seed, guint first, gint count, gint size)
{
  gsize plane = (gsize) size * size;
  gfloat *out = g_new (gfloat, count * 3 * plane);
  for (gint i = 0; i < count; i++) {
    GvWorldClip *clip = gv_world_clip_new (seed, first + i, size, size, 1);
    GvWorldRender *r = gv_world_render (clip);
    for (gint c = 0; c < 3; c++)
      for (gsize p = 0; p < plane; p++)
        out[(i * 3 + c) * plane + p] = r->source[p * 3 + c] / 127.5f - 1.0f;
    gv_world_render_free (r);
    gv_world_clip_free (clip);
  }
  return out;
}

gdouble
gv_world_images_psnr (const gfloat *a, const gfloat *b, gsize n)
{
  gdouble mse = 0;
  for (gsize i = 0; i < n; i++)
    mse += ((gdouble) a[i] - b[i]) * ((gdouble) a[i] - b[i]);
  mse /= n;
  return 10.0 * log10 (4.0 / MAX (mse, 1e-12));
}

gfloat *
gv_world_images_reconstruct (GvVae *vae, GvTensor *images)
{
  GvCmd *cmd = gv_cmd_new (gv_test_device ());
  GvTensor *mean;
  gv_vae_encode (vae, cmd, images, &mean, NULL);
  GvTensor *out = gv_vae_decode (vae, cmd, mean);
  gfloat *o = g_new (gfloat, out->numel);
  gv_tensor_record_download (cmd, out, o);
  gv_test_finish (cmd);
  gv_tensor_unref (out);
  gv_tensor_unref (mean);
  gv_cmd_free (cmd);
  return o;
}
