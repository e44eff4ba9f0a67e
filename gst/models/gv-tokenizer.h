/* CLIP byte-level BPE tokenizer (transformers' CLIPTokenizer, slow path): vocab.json and
 * merges.txt, special tokens from the tokenizer configs. */
#pragma once

#include "models/gv-config.h"

G_BEGIN_DECLS

typedef struct _GvTokenizer GvTokenizer;

/* Reads @folder/vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json. */
GvTokenizer *gv_tokenizer_new (const gchar *folder, GError **error);
void gv_tokenizer_free (GvTokenizer *tok);

gint gv_tokenizer_get_max_length (GvTokenizer *tok);
/* The id of a token (a vocabulary entry or a special token), or -1. */
gint gv_tokenizer_get_id (GvTokenizer *tok, const gchar *token);
void gv_tokenizer_get_special_ids (GvTokenizer *tok, gint *bos, gint *eos, gint *pad);

/* The tokens of @text as transformers' tokenize() gives them (byte-encoded BPE symbols with
 * "</w>", special tokens whole), without BOS/EOS, padding or truncation; g_strfreev() it. */
gchar **gv_tokenizer_tokenize (GvTokenizer *tok, const gchar *text);

/* @text -> [BOS, tokens (truncated), EOS, pad...] of model_max_length ids, as the SD pipelines
 * call the tokenizer (padding='max_length', truncation=True). @attention_mask (may be NULL)
 * gets 1 for real tokens, 0 for padding. Both arrays hold gv_tokenizer_get_max_length () ids. */
void gv_tokenizer_encode (GvTokenizer *tok, const gchar *text, gint32 *ids,
    gint32 *attention_mask);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GvTokenizer, gv_tokenizer_free)

G_END_DECLS
