"""Model files: versioned JSON, loaded without executing code (see
:mod:`logitlab.persist.model_file` for the format and :mod:`logitlab.persist.checks`
for what ``load`` checks). May import every package except report and cli."""

from ..core.files import STALE_SECONDS, remove_stale_temporaries, write_atomic
from ..core.jsonvalues import from_json_value, to_json_value
from .model_file import (FORMAT, FORMAT_VERSION, KEY_ENV, MAX_BYTES, MAX_DEPTH, canonical_json,
                         checksum, load, model_document, save, signature, signing_key)

__all__ = ["save", "load", "FORMAT", "FORMAT_VERSION", "KEY_ENV", "MAX_BYTES", "MAX_DEPTH",
           "STALE_SECONDS", "canonical_json", "checksum", "signature", "signing_key",
           "model_document", "write_atomic", "remove_stale_temporaries", "to_json_value",
           "from_json_value"]
