#include <math.h>
#include <string.h>

#include "gv-train-plot.h"

#define MARGIN_LEFT 34
#define MARGIN_RIGHT 8
#define MARGIN_TOP 14
#define MARGIN_BOTTOM 16
#define SCALE 2          /* font pixels per glyph pixel */
#define SMOOTH 0.05      /* running-mean weight of a new step */

/* 3x5 glyphs, rows top to bottom, 3 bits each (4 = left column) */
static const struct { gchar c; guint8 rows[5]; } font[] = {
  { '0', { 7, 5, 5, 5, 7 } }, { '1', { 2, 6, 2, 2, 7 } }, { '2', { 7, 1, 7, 4, 7 } },
  { '3', { 7, 1, 7, 1, 7 } }, { '4', { 5, 5, 7, 1, 1 } }, { '5', { 7, 4, 7, 1, 7 } },
  { '6', { 7, 4, 7, 5, 7 } }, { '7', { 7, 1, 1, 1, 1 } }, { '8', { 7, 5, 7, 5, 7 } },
  { '9', { 7, 5, 7, 1, 7 } }, { '.', { 0, 0, 0, 0, 2 } }, { '-', { 0, 0, 7, 0, 0 } },
  { 'a', { 2, 5, 7, 5, 5 } }, { 'b', { 6, 5, 6, 5, 6 } }, { 'c', { 3, 4, 4, 4, 3 } },
  { 'd', { 6, 5, 5, 5, 6 } }, { 'e', { 7, 4, 6, 4, 7 } }, { 'f', { 7, 4, 6, 4, 4 } },
  { 'g', { 3, 4, 5, 5, 3 } }, { 'h', { 5, 5, 7, 5, 5 } }, { 'i', { 7, 2, 2, 2, 7 } },
  { 'j', { 1, 1, 1, 5, 2 } }, { 'k', { 5, 5, 6, 5, 5 } }, { 'l', { 4, 4, 4, 4, 7 } },
  { 'm', { 5, 7, 7, 5, 5 } }, { 'n', { 6, 5, 5, 5, 5 } }, { 'o', { 2, 5, 5, 5, 2 } },
  { 'p', { 6, 5, 6, 4, 4 } }, { 'q', { 2, 5, 5, 6, 3 } }, { 'r', { 6, 5, 6, 5, 5 } },
  { 's', { 3, 4, 2, 1, 6 } }, { 't', { 7, 2, 2, 2, 2 } }, { 'u', { 5, 5, 5, 5, 7 } },
  { 'v', { 5, 5, 5, 5, 2 } }, { 'w', { 5, 5, 7, 7, 5 } }, { 'x', { 5, 5, 2, 5, 5 } },
  { 'y', { 5, 5, 2, 2, 2 } }, { 'z', { 7, 1, 2, 4, 7 } }, { '(', { 1, 2, 2, 2, 1 } },
  { ')', { 4, 2, 2, 2, 4 } }, { '/', { 1, 1, 2, 4, 4 } }, { ',', { 0, 0, 0, 2, 4 } },
};

typedef struct {
  guint8 *rgb;
  gint width, height;
} Canvas;

static void
dot (Canvas *c, gint x, gint y, const guint8 *col)
{
  if (x < 0 || y < 0 || x >= c->width || y >= c->height)
    return;
  memcpy (c->rgb + ((gsize) y * c->width + x) * 3, col, 3);
}

static void
line (Canvas *c, gint x0, gint y0, gint x1, gint y1, const guint8 *col)
{
  gint n = MAX (ABS (x1 - x0), ABS (y1 - y0));
  for (gint i = 0; i <= n; i++)
    dot (c, n ? x0 + (x1 - x0) * i / n : x0, n ? y0 + (y1 - y0) * i / n : y0, col);
}

/* @text with its top-left corner at (@x, @y); upper case is drawn as lower case */
static void
text (Canvas *c, gint x, gint y, const gchar *s, const guint8 *col)
{
  for (; *s; s++, x += 4 * SCALE) {
    gchar ch = g_ascii_tolower (*s);
    for (guint g = 0; g < G_N_ELEMENTS (font); g++) {
      if (font[g].c != ch)
        continue;
      for (gint r = 0; r < 5; r++)
        for (gint b = 0; b < 3; b++)
          if (font[g].rows[r] & (4 >> b))
            for (gint dy = 0; dy < SCALE; dy++)
              for (gint dx = 0; dx < SCALE; dx++)
                dot (c, x + b * SCALE + dx, y + r * SCALE + dy, col);
    }
  }
}

static gint
text_width (const gchar *s)
{
  return (gint) strlen (s) * 4 * SCALE - SCALE;
}

static void
panel (Canvas *c, gint x0, gint w, const GvPlotPanel *p)
{
  static const guint8 ink[3] = { 30, 30, 30 }, grid[3] = { 225, 225, 225 },
      raw[3] = { 150, 180, 230 }, mean[3] = { 20, 60, 160 };
  gint px = x0 + MARGIN_LEFT, pw = w - MARGIN_LEFT - MARGIN_RIGHT;
  gint py = MARGIN_TOP, ph = c->height - MARGIN_TOP - MARGIN_BOTTOM;
  text (c, px + (pw - text_width (p->title)) / 2, 2, p->title, ink);

  gdouble lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE;
  gint last = 1;
  for (gint i = 0; i < p->n; i++) {
    if (p->losses[i] > 0 && isfinite (p->losses[i])) {
      lo = MIN (lo, log10 (p->losses[i]));
      hi = MAX (hi, log10 (p->losses[i]));
    }
    last = MAX (last, p->steps[i] + 1);
  }
  if (lo > hi) {
    lo = -1;
    hi = 0;
  }
  lo = floor (lo);
  hi = MAX (ceil (hi), lo + 1);

  /* decades: grid line and label 10^k as "1e-3" */
  for (gint k = (gint) lo; k <= (gint) hi; k++) {
    gint y = py + ph - (gint) ((k - lo) / (hi - lo) * ph);
    line (c, px, y, px + pw, y, grid);
    g_autofree gchar *label = g_strdup_printf ("1e%d", k);
    text (c, px - 3 - text_width (label), y - 2 * SCALE, label, ink);
  }
  /* tenths of the steps: ticks, the last one labelled */
  for (gint i = 0; i <= 10; i++) {
    gint x = px + pw * i / 10;
    line (c, x, py + ph, x, py + ph + 3, ink);
  }
  g_autofree gchar *steps = g_strdup_printf ("%d", last);
  text (c, px + pw - text_width (steps), py + ph + 5, steps, ink);
  text (c, px, py + ph + 5, "0", ink);

  gdouble run = 0;
  gint prev_x = -1, prev_y = -1;
  for (gint i = 0; i < p->n; i++) {
    if (!(p->losses[i] > 0) || !isfinite (p->losses[i]))
      continue;
    gdouble l = log10 (p->losses[i]);
    run = i == 0 ? l : (1 - SMOOTH) * run + SMOOTH * l;
    gint x = px + (gint) ((gdouble) p->steps[i] / last * pw);
    gint y = py + ph - (gint) ((l - lo) / (hi - lo) * ph);
    dot (c, x, y, raw);
    gint ym = py + ph - (gint) ((run - lo) / (hi - lo) * ph);
    if (prev_x >= 0)
      line (c, prev_x, prev_y, x, ym, mean);
    prev_x = x;
    prev_y = ym;
  }
  /* axes last, over the grid */
  line (c, px, py, px, py + ph, ink);
  line (c, px, py + ph, px + pw, py + ph, ink);
}

guint8 *
gv_plot_losses (const GvPlotPanel *panels, gint n_panels, gint panel_width, gint height,
    gint *width)
{
  Canvas c = { NULL, MAX (n_panels, 1) * panel_width, height };
  c.rgb = g_malloc ((gsize) c.width * c.height * 3);
  memset (c.rgb, 255, (gsize) c.width * c.height * 3);
  for (gint i = 0; i < n_panels; i++)
    panel (&c, i * panel_width, panel_width, &panels[i]);
  *width = c.width;
  return c.rgb;
}
