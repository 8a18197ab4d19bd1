"""The API's JSON parser: DRF's, with relabel.json_input's bounds on size and nesting."""

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from relabel.json_input import JSONInputError, load_json


class BoundedJSONParser(JSONParser):
    """Refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE or nested too deep with a 400 that says so."""

    def parse(self, stream, media_type=None, parser_context=None) -> object:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if stream is not None else b""
        try:
            return load_json(raw, max_bytes=limit)
        except JSONInputError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
