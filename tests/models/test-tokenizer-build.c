/* The tokenizer builder: every word of the world's caption grammar is one token, captions
 * tokenize back into their words, other words still tokenize, bad words are refused. */
#include <string.h>

#include "gv-test-files.h"
#include "gv-world-caption.h"
#include "models/gv-tokenizer.h"
#include "models/gv-tokenizer-build.h"

static GvTokenizer *
build (gchar **words)
{
  g_autofree gchar *dir = gv_test_scratch_dir ();
  GError *error = NULL;
  g_assert_true (gv_tokenizer_build (dir, (const gchar *const *) words, 77, &error));
  g_assert_no_error (error);
  GvTokenizer *tok = gv_tokenizer_new (dir, &error);
  g_assert_no_error (error);
  return tok;
}

static void
test_words_are_tokens (void)
{
  g_auto (GStrv) words = gv_world_caption_words ();
  g_autoptr (GvTokenizer) tok = build (words);
  for (guint i = 0; words[i]; i++) {
    g_auto (GStrv) t = gv_tokenizer_tokenize (tok, words[i]);
    g_autofree gchar *want = g_strconcat (words[i], "</w>", NULL);
    g_assert_cmpuint (g_strv_length (t), ==, 1);
    g_assert_cmpstr (t[0], ==, want);
    /* a one-letter word is its byte symbol with "</w>" (256..511), the others merged */
    g_assert_cmpint (gv_tokenizer_get_id (tok, want), >=, strlen (words[i]) > 1 ? 512 : 256);
  }
  /* the specials follow the merged symbols, as in CLIP's vocabulary */
  gint bos, eos, pad;
  gv_tokenizer_get_special_ids (tok, &bos, &eos, &pad);
  g_assert_cmpint (eos, ==, bos + 1);
  g_assert_cmpint (pad, ==, gv_tokenizer_get_id (tok, "!"));
  g_assert_cmpint (gv_tokenizer_get_max_length (tok), ==, 77);
}

static void
test_captions_round_trip (void)
{
  g_auto (GStrv) words = gv_world_caption_words ();
  g_autoptr (GvTokenizer) tok = build (words);
  gint bos, eos, pad, L = gv_tokenizer_get_max_length (tok);
  gv_tokenizer_get_special_ids (tok, &bos, &eos, &pad);
  gint32 *ids = g_new (gint32, L);
  for (guint i = 0; i < 200; i++) {
    GvWorldClip *clip = gv_world_clip_new (7, i, 64, 64, 1);
    g_autofree gchar *caption = gv_world_caption (&clip->source, &clip->background,
        clip->disc_is_ball);
    g_auto (GStrv) parts = g_strsplit (caption, " ", -1);
    g_auto (GStrv) t = gv_tokenizer_tokenize (tok, caption);
    g_assert_cmpuint (g_strv_length (t), ==, g_strv_length (parts));
    GString *back = g_string_new (NULL);
    for (guint k = 0; t[k]; k++) {
      g_assert_true (g_str_has_suffix (t[k], "</w>"));
      g_string_append_len (back, t[k], strlen (t[k]) - 4);
      g_string_append_c (back, t[k + 1] ? ' ' : '\0');
    }
    g_assert_cmpstr (back->str, ==, caption);
    g_string_free (back, TRUE);
    gv_tokenizer_encode (tok, caption, ids, NULL);
    g_assert_cmpint (ids[0], ==, bos);
    g_assert_cmpint (ids[g_strv_length (parts) + 1], ==, eos);
    for (guint k = 0; parts[k]; k++) {
      g_autofree gchar *sym = g_strconcat (parts[k], "</w>", NULL);
      g_assert_cmpint (ids[k + 1], ==, gv_tokenizer_get_id (tok, sym));
    }
    gv_world_clip_free (clip);
  }
  g_free (ids);
}

static void
test_other_words_tokenize (void)
{
  g_auto (GStrv) words = gv_world_caption_words ();
  g_autoptr (GvTokenizer) tok = build (words);
  /* unknown words fall back to shorter pieces, down to bytes; upper case is lowered */
  const gchar *text = "A zebra, REDDISH! 42 ü";
  g_auto (GStrv) t = gv_tokenizer_tokenize (tok, text);
  GString *all = g_string_new (NULL);
  for (guint k = 0; t[k]; k++) {
    g_assert_cmpint (gv_tokenizer_get_id (tok, t[k]), >=, 0);
    g_string_append (all, t[k]);
  }
  g_assert_cmpuint (g_strv_length (t), >, 6);
  g_assert_true (g_str_has_prefix (all->str, "a</w>z"));
  g_assert_nonnull (strstr (all->str, "red"));
  g_string_free (all, TRUE);
  gint L = gv_tokenizer_get_max_length (tok), eos, bos, pad;
  gv_tokenizer_get_special_ids (tok, &bos, &eos, &pad);
  gint32 *ids = g_new (gint32, L);
  gv_tokenizer_encode (tok, "zebra", ids, NULL);
  g_assert_cmpint (ids[1], !=, eos);
  g_assert_cmpint (ids[2], !=, eos);
  g_free (ids);
}

static void
test_bad_words (void)
{
  g_autofree gchar *dir = gv_test_scratch_dir ();
  const gchar *const bad[][2] = { { "two words", NULL }, { "Red", NULL }, { "", NULL },
    { "x1", NULL } };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    GError *error = NULL;
    g_assert_false (gv_tokenizer_build (dir, bad[i], 77, &error));
    g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
    g_clear_error (&error);
  }
  GError *error = NULL;
  const gchar *const ok[] = { "red", NULL };
  g_assert_false (gv_tokenizer_build (dir, ok, 1, &error));
  g_assert_error (error, GV_ERROR, GV_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (gv_tokenizer_build ("/proc/no/such/dir", ok, 77, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tokenizer-build/words-are-tokens", test_words_are_tokens);
  g_test_add_func ("/tokenizer-build/captions-round-trip", test_captions_round_trip);
  g_test_add_func ("/tokenizer-build/other-words-tokenize", test_other_words_tokenize);
  g_test_add_func ("/tokenizer-build/bad-words", test_bad_words);
  return g_test_run ();
}
