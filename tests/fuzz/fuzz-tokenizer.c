/* libFuzzer target for the tokenizer. The first byte picks what the rest is: 0 (and anything
 * unlisted) a prompt for the shipped tokenizer; 1 its tokenizer_config.json, 2 its vocab.json,
 * 3 its merges.txt, each in a copy of the shipped tokenizer's folder, which must then load or
 * give an error, and encode a prompt to ids inside the vocabulary. */
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/gv-tokenizer.h"

int LLVMFuzzerTestOneInput (const guint8 *data, gsize size);

static const gchar *const files[] = { "tokenizer_config.json", "special_tokens_map.json",
  "vocab.json", "merges.txt" };

static GvTokenizer *shipped;
static gchar *scratch;

static void
write_file (const gchar *name, const guint8 *data, gsize size)
{
  gchar *path = g_build_filename (scratch, name, NULL);
  FILE *f = fopen (path, "wb");
  g_assert (f != NULL);
  g_assert (fwrite (data, 1, size, f) == size);
  fclose (f);
  g_free (path);
}

static void
remove_scratch (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    gchar *path = g_build_filename (scratch, files[i], NULL);
    g_remove (path);
    g_free (path);
  }
  g_rmdir (scratch);
}

static void
setup (void)
{
  GError *error = NULL;
  shipped = gv_tokenizer_new (GV_FUZZ_TOKENIZER_DIR, &error);
  g_assert (shipped != NULL);
  scratch = g_dir_make_tmp ("gv-fuzz-tokenizer-XXXXXX", NULL);
  g_assert (scratch != NULL);
  atexit (remove_scratch);
}

/* the shipped folder's file @name into the scratch folder */
static void
restore (const gchar *name)
{
  gchar *from = g_build_filename (GV_FUZZ_TOKENIZER_DIR, name, NULL);
  gchar *text = NULL;
  gsize len = 0;
  g_assert (g_file_get_contents (from, &text, &len, NULL));
  write_file (name, (const guint8 *) text, len);
  g_free (text);
  g_free (from);
}

static void
encode (GvTokenizer *tok, const gchar *text)
{
  gint n = gv_tokenizer_get_max_length (tok);
  gint32 *ids = g_new (gint32, n), *mask = g_new (gint32, n);
  gv_tokenizer_encode (tok, text, ids, mask);
  g_free (ids);
  g_free (mask);
  g_strfreev (gv_tokenizer_tokenize (tok, text));
}

int
LLVMFuzzerTestOneInput (const guint8 *data, gsize size)
{
  if (shipped == NULL)
    setup ();
  guint mode = size > 0 ? data[0] : 0;
  const guint8 *rest = size > 0 ? data + 1 : data;
  gsize n = size > 0 ? size - 1 : 0;

  if (mode == 0 || mode > 3) {
    gchar *text = g_strndup ((const gchar *) rest, n);
    encode (shipped, text);
    g_free (text);
    return 0;
  }
  const gchar *name = mode == 1 ? files[0] : mode == 2 ? files[2] : files[3];
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    restore (files[i]);
  write_file (name, rest, n);
  GError *error = NULL;
  GvTokenizer *tok = gv_tokenizer_new (scratch, &error);
  g_assert ((tok == NULL) == (error != NULL));
  g_clear_error (&error);
  if (tok) {
    encode (tok, "a red cadillac, <|endoftext|> driving DOWN a road!!");
    gv_tokenizer_free (tok);
  }
  return 0;
}
