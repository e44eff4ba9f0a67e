/* Writes a CLIP tokenizer (vocab.json, merges.txt, special_tokens_map.json,
 * tokenizer_config.json, as transformers' CLIPTokenizer and gv-tokenizer.c read them) whose
 * merges make each of a given list of words one token: for training a text encoder from
 * scratch on a small grammar. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The vocabulary: the 256 byte symbols (ids 0..255), the same with "</w>" (256..511), the
 * merged symbols in merge order, then <|startoftext|> and <|endoftext|>; the pad token is "!"
 * and the unknown token <|endoftext|>, as SD 2.x's tokenizer. The merges are found word by
 * word with the tokenizer's own BPE: while a word is more than one symbol, its first two
 * symbols become a new merge, ranked after all others (so the words before it are
 * unchanged). Any other word still tokenizes, into shorter pieces down to single bytes.
 * @words: lower-case words without spaces (CLIP lower-cases the text and splits it at
 * spaces and punctuation; a word it would split is refused with GV_ERROR_INVALID).
 * @max_length: model_max_length (77 in SD). Creates @folder when needed. */
gboolean gv_tokenizer_build (const gchar *folder, const gchar *const *words, gint max_length,
    GError **error);

G_END_DECLS
