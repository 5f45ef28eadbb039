"""MXNet's ``contrib.text`` token counting and ``Vocabulary``, as the WikiText data sets
use them (same indices for the same text)."""

import collections
import re

from ....base import MXNetError

__all__ = ["Vocabulary", "count_tokens_from_str"]


def count_tokens_from_str(
    source_str, token_delim=" ", seq_delim="\n", to_lower=False, counter_to_update=None
):
    """A ``collections.Counter`` of the tokens of ``source_str`` split at the regular
    expressions ``token_delim`` and ``seq_delim`` (empty tokens dropped), or
    ``counter_to_update`` updated with them."""
    tokens = [t for t in re.split(token_delim + "|" + seq_delim, source_str) if t]
    if to_lower:
        tokens = [t.lower() for t in tokens]
    if counter_to_update is None:
        return collections.Counter(tokens)
    counter_to_update.update(tokens)
    return counter_to_update


class Vocabulary:
    """Token <-> index maps: index 0 is ``unknown_token``, then ``reserved_tokens``,
    then the keys of ``counter`` by descending frequency (ties alphabetical), at most
    ``most_freq_count`` of them, none rarer than ``min_freq``. Unknown tokens map to 0."""

    def __init__(
        self,
        counter=None,
        most_freq_count=None,
        min_freq=1,
        unknown_token="<unk>",
        reserved_tokens=None,
    ):
        if min_freq <= 0:
            raise MXNetError(f"Vocabulary: min_freq must be positive, got {min_freq}")
        reserved = list(reserved_tokens) if reserved_tokens is not None else None
        if reserved is not None and (
            unknown_token in reserved or len(set(reserved)) != len(reserved)
        ):
            raise MXNetError(
                f"Vocabulary: reserved_tokens {reserved} must be distinct and "
                f"must not contain the unknown token {unknown_token!r}"
            )
        self._unknown_token, self._reserved_tokens = unknown_token, reserved
        self._idx_to_token = [unknown_token] + (reserved or [])
        self._token_to_idx = {t: i for i, t in enumerate(self._idx_to_token)}
        if counter is not None:
            self._index_counter(counter, most_freq_count, min_freq)

    def _index_counter(self, counter, most_freq_count, min_freq):
        special = set(self._idx_to_token)
        by_freq = sorted(sorted(counter.items()), key=lambda kv: kv[1], reverse=True)
        cap = len(special) + (len(counter) if most_freq_count is None else most_freq_count)
        for token, freq in by_freq:
            if freq < min_freq or len(self._idx_to_token) == cap:
                break
            if token not in special:
                self._token_to_idx[token] = len(self._idx_to_token)
                self._idx_to_token.append(token)

    def __len__(self):
        return len(self._idx_to_token)

    @property
    def token_to_idx(self):
        """dict: token -> index."""
        return self._token_to_idx

    @property
    def idx_to_token(self):
        """list: the tokens in index order."""
        return self._idx_to_token

    @property
    def unknown_token(self):
        """The token of index 0."""
        return self._unknown_token

    @property
    def reserved_tokens(self):
        """The reserved tokens (indices 1, 2, ...), or None."""
        return self._reserved_tokens

    def to_indices(self, tokens):
        """Index of a token, or list of indices of a list of tokens (0 when unknown)."""
        if not isinstance(tokens, list):
            return self._token_to_idx.get(tokens, 0)
        return [self._token_to_idx.get(t, 0) for t in tokens]

    def to_tokens(self, indices):
        """Token of an index, or tokens of a list of indices."""
        single = not isinstance(indices, list)
        out = []
        for i in [indices] if single else indices:
            if not isinstance(i, int) or not 0 <= i < len(self._idx_to_token):
                raise MXNetError(f"Vocabulary: token index {i!r} is not in 0..{len(self) - 1}")
            out.append(self._idx_to_token[i])
        return out[0] if single else out
