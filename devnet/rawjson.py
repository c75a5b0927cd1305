"""A result already made JSON text: cached pieces joined into an answer, not encoded again."""


class RawJson(str):
    """A result that is already JSON text (serialized blocks are cached and joined, not encoded again)."""
