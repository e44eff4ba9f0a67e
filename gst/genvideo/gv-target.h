/* The target object for InvEdit: the foreground of the target image (its alpha, or a separate
 * mask where white is the object) composited on a neutral grey, as the image encoder sees it. */
#pragma once

#include <glib.h>

#include "base/gv-error.h"

G_BEGIN_DECLS

/* An opaque target without a mask: the object is what differs from the border's colour by
 * more than this (largest channel difference, 0-255), provided that this share of the border
 * lies within it (a flat background). */
#define GV_TARGET_BORDER_TOLERANCE 24
#define GV_TARGET_BORDER_UNIFORM 0.9

/* @rgba: @height rows of @width RGBA pixels (@stride bytes apart). @mask (may be NULL: use the
 * alpha channel): GRAY8 of the same size, @mask_stride bytes per row, > 127 is the object.
 * Without a mask, a fully opaque picture's object is what differs from its border colour
 * (GV_ERROR_INVALID asking for a mask when the border is not of one colour).
 * Returns @width x @height RGB (stride 3 * width), or NULL with GV_ERROR_INVALID when the
 * foreground is empty. @coverage (may be NULL) gets the foreground's share of the picture. */
guint8 *gv_target_foreground (const guint8 *rgba, gint width, gint height, gint stride,
    const guint8 *mask, gint mask_stride, gdouble *coverage, GError **error);

G_END_DECLS
