/* Loss curves as a PNG (for the model card): one panel per stage, the loss of every step on a
 * log scale (light) and its running mean (dark), axes with ticks at the powers of ten and at
 * every tenth of the steps, labelled in a 3x5 pixel font. GLib only; gv-png writes it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const gchar *title;
  const gint *steps;
  const gfloat *losses;
  gint n;
} GvPlotPanel;

/* @n_panels panels side by side into @width x @height RGB (g_free() it). */
guint8 *gv_plot_losses (const GvPlotPanel *panels, gint n_panels, gint panel_width,
    gint height, gint *width);

G_END_DECLS
