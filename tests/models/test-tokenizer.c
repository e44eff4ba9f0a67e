/* CLIP tokenizer: the golden case exactly (ids, mask and BPE tokens), and the rules that
 * case does not reach: unicode cleaning, CJK, contractions, special tokens, truncation. */
#include <glib/gstdio.h>
#include <string.h>

#include "gv-case.h"
#include "gv-test-files.h"
#include "models/gv-tokenizer.h"

static GvTokenizer *tok;

static void
test_golden_case (void)
{
  gchar *path = gv_test_golden_path ("cases/tokenizer");
  GError *error = NULL;
  g_autoptr (GvCase) c = gv_case_open (path, &error);
  g_assert_no_error (error);
  gchar **prompts = gv_case_get_strv (c, "prompts");
  gint64 shape[GV_ST_MAX_DIMS];
  g_assert_cmpint (gv_case_get_shape (c, "input_ids", shape), ==, 2);
  g_assert_cmpint (shape[0], ==, g_strv_length (prompts));
  gint L = gv_tokenizer_get_max_length (tok);
  g_assert_cmpint (shape[1], ==, L);
  gint64 *ids = gv_case_read_i64 (c, "input_ids", &error);
  g_assert_no_error (error);
  gint64 *mask = gv_case_read_i64 (c, "attention_mask", &error);
  g_assert_no_error (error);
  JsonArray *bpe = json_node_get_array (gv_case_get_member (c, "bpe_tokens"));
  gint32 *got = g_new (gint32, L), *got_mask = g_new (gint32, L);

  for (guint i = 0; prompts[i]; i++) {
    g_test_message ("prompt %u: '%s'", i, prompts[i]);
    gv_tokenizer_encode (tok, prompts[i], got, got_mask);
    for (gint k = 0; k < L; k++) {
      g_assert_cmpint (got[k], ==, ids[i * L + k]);
      g_assert_cmpint (got_mask[k], ==, mask[i * L + k]);
    }
    gchar **tokens = gv_tokenizer_tokenize (tok, prompts[i]);
    JsonArray *want = json_node_get_array (json_array_get_element (bpe, i));
    g_assert_cmpuint (g_strv_length (tokens), ==, json_array_get_length (want));
    for (guint k = 0; tokens[k]; k++)
      g_assert_cmpstr (tokens[k], ==, json_array_get_string_element (want, k));
    g_strfreev (tokens);
  }
  g_free (got);
  g_free (got_mask);
  g_free (ids);
  g_free (mask);
  g_strfreev (prompts);
  g_free (path);
}

static void
test_special_ids (void)
{
  gint bos, eos, pad;
  gv_tokenizer_get_special_ids (tok, &bos, &eos, &pad);
  g_assert_cmpint (bos, ==, 612);
  g_assert_cmpint (eos, ==, 613);
  g_assert_cmpint (pad, ==, 0);
  g_assert_cmpint (gv_tokenizer_get_id (tok, "!"), ==, 0);
  g_assert_cmpint (gv_tokenizer_get_id (tok, "a</w>"), >, 0);
  g_assert_cmpint (gv_tokenizer_get_id (tok, "no such token"), ==, -1);
}

static gchar *
joined (const gchar *text)
{
  gchar **t = gv_tokenizer_tokenize (tok, text);
  gchar *s = g_strjoinv (" ", t);
  g_strfreev (t);
  return s;
}

#define assert_tokens(text, want) \
  G_STMT_START { \
    gchar *got_ = joined (text); \
    g_assert_cmpstr (got_, ==, want); \
    g_free (got_); \
  } G_STMT_END

#define assert_same_tokens(a, b) \
  G_STMT_START { \
    gchar *ta_ = joined (a), *tb_ = joined (b); \
    g_assert_cmpstr (ta_, ==, tb_); \
    g_free (ta_); \
    g_free (tb_); \
  } G_STMT_END

static void
test_cleaning (void)
{
  /* case and whitespace */
  assert_same_tokens ("A PHOTO\tof   a\n\rFOX", "a photo of a fox");
  assert_same_tokens ("  fox  ", "fox");
  assert_same_tokens ("a\xc2\xa0" "fox", "a fox");          /* no-break space */
  assert_same_tokens ("a\xe2\x80\x83" "fox", "a fox");      /* em space */
  /* control and format characters go */
  assert_same_tokens ("f\x01o\x7fx", "fox");
  assert_same_tokens ("fo\xe2\x80\x8bx", "fox");            /* zero-width space (Cf) */
  /* NFC: e + combining acute is é */
  assert_same_tokens ("cafe\xcc\x81", "caf\xc3\xa9");
  assert_same_tokens ("CAF\xc3\x89", "caf\xc3\xa9");
  /* é is a letter: one word, its two UTF-8 bytes as two symbols, </w> on the last */
  assert_tokens ("\xc3\xa9", "\xc3\x83 \xc2\xa9</w>");
  assert_tokens ("", "");
  assert_tokens ("   \t ", "");
}

static void
test_pre_tokenizer (void)
{
  /* one digit at a time */
  assert_tokens ("42", "4</w> 2</w>");
  /* contractions */
  assert_same_tokens ("it's", "it 's");
  assert_tokens ("'s", "' s</w>");
  /* other characters run together, letters stop them */
  assert_tokens ("...", ". . .</w>");
  assert_same_tokens ("a,b", "a , b");
  assert_same_tokens ("''s", "'' s");
  /* an emoji is neither letter nor digit: its own word */
  assert_same_tokens ("a\xf0\x9f\xa6\x8a" "b", "a \xf0\x9f\xa6\x8a b");
  /* CJK ideographs are spaced out: each is a word */
  assert_same_tokens ("\xe7\x8c\xab\xe7\x8c\xab", "\xe7\x8c\xab \xe7\x8c\xab");
  /* but other scripts' letters stay one word */
  gchar *one = joined ("\xd0\xba\xd0\xbe\xd1\x82");             /* кот */
  gchar *two = joined ("\xd0\xba\xd0\xbe \xd1\x82");
  g_assert_cmpstr (one, !=, two);
  g_free (one);
  g_free (two);
}

static void
test_special_tokens (void)
{
  /* split out of the raw text first: '!' never merges with its neighbours */
  assert_tokens ("!", "!");
  assert_same_tokens ("fox!!", "fox ! !");
  assert_same_tokens ("hi!there", "hi ! there");
  assert_tokens ("a<|endoftext|>b", "a</w> <|endoftext|> b</w>");
  /* not split when the case differs, but found again after lower-casing */
  assert_tokens ("<|ENDOFTEXT|>", "<|endoftext|>");
  gint32 ids[77];
  gv_tokenizer_encode (tok, "a<|startoftext|>", ids, NULL);
  g_assert_cmpint (ids[2], ==, 612);
  g_assert_cmpint (ids[3], ==, 613);
  g_assert_cmpint (ids[4], ==, 0);
}

static void
test_truncation (void)
{
  GString *s = g_string_new (NULL);
  for (gint i = 0; i < 200; i++)
    g_string_append (s, "fox ");
  gint L = gv_tokenizer_get_max_length (tok);
  gint32 *ids = g_new (gint32, L), *mask = g_new (gint32, L);
  gint fox = gv_tokenizer_get_id (tok, "fox</w>");
  g_assert_cmpint (fox, >, 0);
  gv_tokenizer_encode (tok, s->str, ids, mask);
  g_assert_cmpint (ids[0], ==, 612);
  for (gint i = 1; i < L - 1; i++)
    g_assert_cmpint (ids[i], ==, fox);
  g_assert_cmpint (ids[L - 1], ==, 613);
  for (gint i = 0; i < L; i++)
    g_assert_cmpint (mask[i], ==, 1);

  /* exactly L - 2 tokens fit, one more is cut */
  g_string_truncate (s, 0);
  for (gint i = 0; i < L - 2; i++)
    g_string_append (s, "fox ");
  gv_tokenizer_encode (tok, s->str, ids, mask);
  g_assert_cmpint (ids[L - 2], ==, fox);
  g_assert_cmpint (ids[L - 1], ==, 613);
  g_string_truncate (s, 0);
  for (gint i = 0; i < L - 3; i++)
    g_string_append (s, "fox ");
  gv_tokenizer_encode (tok, s->str, ids, mask);
  g_assert_cmpint (ids[L - 2], ==, 613);
  g_assert_cmpint (ids[L - 1], ==, 0);
  g_assert_cmpint (mask[L - 2], ==, 1);
  g_assert_cmpint (mask[L - 1], ==, 0);
  g_free (ids);
  g_free (mask);
  g_string_free (s, TRUE);
}

/* a non-UTF-8 prompt is not a crash: invalid bytes are replaced, then dropped */
static void
test_invalid_utf8 (void)
{
  assert_same_tokens ("fo\xff\xfex", "fox");
}

static void
test_errors (void)
{
  gchar *dir = gv_test_scratch_dir ();
  GError *error = NULL;
  gchar *nowhere = g_build_filename (dir, "nowhere", NULL);

  g_assert_null (gv_tokenizer_new (nowhere, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, nowhere, NULL);
  g_clear_error (&error);

  gv_test_copy_configs (dir);
  gchar *tdir = g_build_filename (dir, "tokenizer", NULL);
  gchar *vocab = g_build_filename (tdir, "vocab.json", NULL);
  gchar *merges = g_build_filename (tdir, "merges.txt", NULL);
  GvTokenizer *t = gv_tokenizer_new (tdir, &error);
  g_assert_no_error (error);
  gv_tokenizer_free (t);

  gv_test_replace_in_file (vocab, "\"!\": 0", "\"!\": \"zero\"");
  g_assert_null (gv_tokenizer_new (tdir, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, vocab, "'!'", NULL);
  g_clear_error (&error);
  gv_test_write_file (vocab, "{\"a\": 0");
  g_assert_null (gv_tokenizer_new (tdir, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, vocab, NULL);
  g_clear_error (&error);
  g_remove (vocab);
  g_assert_null (gv_tokenizer_new (tdir, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, vocab, NULL);
  g_clear_error (&error);

  gv_test_write_file (vocab, "{\"a</w>\": 0, \"b\": 1}");
  g_remove (merges);
  g_assert_null (gv_tokenizer_new (tdir, &error));
  gv_test_assert_error (error, GV_ERROR_NOT_FOUND, merges, NULL);
  g_clear_error (&error);

  /* a vocabulary without the special tokens: they get ids after it */
  gv_test_write_file (merges, "#version: 0.2\n");
  t = gv_tokenizer_new (tdir, &error);
  g_assert_no_error (error);
  gint bos, eos, pad;
  gv_tokenizer_get_special_ids (t, &bos, &eos, &pad);
  g_assert_cmpint (bos, ==, 2);
  g_assert_cmpint (eos, ==, 3);
  g_assert_cmpint (pad, ==, 4);
  /* unknown symbols become the unknown token (eos here) */
  gint32 ids[77];
  gv_tokenizer_encode (t, "zz a", ids, NULL);
  g_assert_cmpint (ids[1], ==, 3);
  g_assert_cmpint (ids[3], ==, 0);
  gv_tokenizer_free (t);

  /* an empty merges.txt (no version line) has no merges; found by fuzz-tokenizer, it read
   * past the end of its list of lines */
  gv_test_write_file (merges, "");
  t = gv_tokenizer_new (tdir, &error);
  g_assert_no_error (error);
  gv_tokenizer_free (t);
  /* a NUL byte is not text (it hid the rest of the file from the UTF-8 check) */
  g_file_set_contents (merges, "\0\0\ndd_pre#o", 12, &error);
  g_assert_no_error (error);
  g_assert_null (gv_tokenizer_new (tdir, &error));
  gv_test_assert_error (error, GV_ERROR_CORRUPT, merges, "UTF-8", NULL);
  g_clear_error (&error);
  g_free (vocab);
  g_free (merges);
  g_free (tdir);
  g_free (nowhere);
  g_free (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gchar *folder = gv_test_golden_path ("checkpoint/tokenizer");
  GError *error = NULL;
  tok = gv_tokenizer_new (folder, &error);
  g_assert_no_error (error);
  g_free (folder);

  g_test_add_func ("/tokenizer/golden-case", test_golden_case);
  g_test_add_func ("/tokenizer/special-ids", test_special_ids);
  g_test_add_func ("/tokenizer/cleaning", test_cleaning);
  g_test_add_func ("/tokenizer/pre-tokenizer", test_pre_tokenizer);
  g_test_add_func ("/tokenizer/special-tokens", test_special_tokens);
  g_test_add_func ("/tokenizer/truncation", test_truncation);
  g_test_add_func ("/tokenizer/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/tokenizer/errors", test_errors);
  gint ret = g_test_run ();
  gv_tokenizer_free (tok);
  return ret;
}
