#include <string.h>

#include "gv-contact-sheet.h"

GvContactSheet *
gv_contact_sheet_new (gint columns, gint rows, gint tile_width, gint tile_height, gint gap)
{
  g_return_val_if_fail (columns > 0 && rows > 0 && tile_width > 0 && tile_height > 0 &&
      gap >= 0, NULL);
  GvContactSheet *s = g_new0 (GvContactSheet, 1);
  s->columns = columns;
  s->rows = rows;
  s->tile_width = tile_width;
  s->tile_height = tile_height;
  s->gap = gap;
  s->width = columns * tile_width + (columns + 1) * gap;
  s->height = rows * tile_height + (rows + 1) * gap;
  s->rgb = g_new (guint8, (gsize) s->width * s->height * 3);
  memset (s->rgb, 48, (gsize) s->width * s->height * 3);
  return s;
}

void
gv_contact_sheet_free (GvContactSheet *sheet)
{
  if (sheet == NULL)
    return;
  g_free (sheet->rgb);
  g_free (sheet);
}

void
gv_contact_sheet_put (GvContactSheet *sheet, gint column, gint row, const guint8 *pixels,
    gint width, gint height, gint channels)
{
  g_return_if_fail (column >= 0 && column < sheet->columns && row >= 0 && row < sheet->rows);
  g_return_if_fail (channels == 1 || channels == 3 || channels == 4);
  gint x0 = sheet->gap + column * (sheet->tile_width + sheet->gap);
  gint y0 = sheet->gap + row * (sheet->tile_height + sheet->gap);

  for (gint y = 0; y < sheet->tile_height; y++)
    for (gint x = 0; x < sheet->tile_width; x++) {
      gint sx = x * width / sheet->tile_width, sy = y * height / sheet->tile_height;
      const guint8 *p = pixels + ((gsize) sy * width + sx) * channels;
      guint8 *out = sheet->rgb + ((gsize) (y0 + y) * sheet->width + x0 + x) * 3;
      for (gint c = 0; c < 3; c++) {
        if (channels == 1)
          out[c] = p[0];
        else if (channels == 3)
          out[c] = p[c];
        else {
          guint check = ((x / 8 + y / 8) % 2) ? 72 : 104;
          out[c] = (p[c] * p[3] + check * (255 - p[3]) + 127) / 255;
        }
      }
    }
}
