#include <math.h>

#include "models/gv-random.h"

static guint64
splitmix64 (guint64 x)
{
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* uniform in (0, 1] from 53 random bits */
static gdouble
uniform (guint64 seed, guint64 counter)
{
  guint64 r = splitmix64 (seed ^ splitmix64 (counter));
  return ((r >> 11) + 1.0) / 9007199254740992.0;
}

void
gv_random_normal (gfloat *out, gsize n, guint64 seed)
{
  for (gsize i = 0; i < n; i += 2) {
    gdouble u1 = uniform (seed, i), u2 = uniform (seed, i + 1);
    gdouble r = sqrt (-2.0 * log (u1));
    out[i] = (gfloat) (r * cos (2 * G_PI * u2));
    if (i + 1 < n)
      out[i + 1] = (gfloat) (r * sin (2 * G_PI * u2));
  }
}

guint32
gv_random_below (guint64 seed, guint64 stream, guint32 bound)
{
  if (bound == 0)
    return 0;
  return (guint32) (splitmix64 (seed ^ splitmix64 (stream ^ 0x5851f42d4c957f2dull)) % bound);
}

GvTensor *
gv_random_normal_tensor (GvCmd *cmd, gint ndim, const gint64 *shape, guint64 seed)
{
  GvTensor *t = gv_tensor_alloc (cmd, ndim, shape);
  gfloat *v = g_new (gfloat, t->numel);
  gv_random_normal (v, t->numel, seed);
  gv_tensor_record_upload (cmd, t, v);
  g_free (v);
  return t;
}
