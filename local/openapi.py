"""Prints the OpenAPI document that /api/swagger.json serves (generated from the models)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

from api.api_docs import openapi_json  # noqa: E402

print(openapi_json())
