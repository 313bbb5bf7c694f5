"""The whole config file as one model, and its JSON Schema (``tracker config schema``,
``config/tracker.schema.json``) for editors that check TOML against a schema.

``load`` validates the file table by table with the same models, so one bad table
never hides the problems of another; this model is the file's shape for the schema
and for the list of its tables.

Pure: no I/O here.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, SkipJsonSchema

from tracker import PROJECT_URL
from tracker.config.delivery_tables import DigestTable, EmailTable, WebTable
from tracker.config.reader_tables import ReaderTable
from tracker.config.tables import (
    ArxivTable,
    FetchTable,
    FieldsTable,
    OpenAlexTable,
    PublishedTable,
    ScheduleTable,
    TrackerTable,
)
from tracker.config.values import Table

SCHEMA_ID = f"{PROJECT_URL}/blob/main/config/tracker.schema.json"


class ConfigFile(Table):
    """tracker's configuration file (tracker.toml). Relative paths are relative to the
    file's folder; secrets are only read from environment variables."""

    tracker: TrackerTable = Field(
        default_factory=TrackerTable, description="Where the data lives, how much is logged."
    )
    arxiv: ArxivTable = Field(
        default_factory=ArxivTable, description="arXiv: your contact address, endpoints, pace."
    )
    fetch: FetchTable = Field(default_factory=FetchTable, description="How sources are fetched.")
    schedule: ScheduleTable = Field(
        default_factory=ScheduleTable, description="The worker's rhythm."
    )
    digest: DigestTable = Field(default_factory=DigestTable, description="What a digest shows.")
    fields: FieldsTable = Field(
        default_factory=FieldsTable,
        description="The field classifier for items without categories.",
    )
    readers: list[ReaderTable] = Field(
        min_length=1, description="One [[readers]] table per person."
    )
    email: EmailTable | SkipJsonSchema[None] = Field(
        None, description="E-mail delivery over SMTP (for readers with the email channel)."
    )
    openalex: OpenAlexTable = Field(
        default_factory=OpenAlexTable, description="OpenAlex, for scholars' works."
    )
    web: WebTable = Field(default_factory=WebTable, description="The web page (tracker web).")
    published: PublishedTable = Field(
        default_factory=PublishedTable,
        description='Venues noticed later: papers asked about again for "Now published".',
    )


class _Generator(GenerateJsonSchema):
    """Without a title per key (the key is its own title; descriptions say the rest)
    and without null defaults (TOML has no null: such a key is simply left out)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: Any) -> JsonSchemaValue:
        found = super().default_schema(schema)
        if found.get("default", 0) is None:
            del found["default"]
        return found


def json_schema() -> dict[str, Any]:
    """The JSON Schema of tracker.toml, in draft 7: what TOML editors' language servers
    (Taplo, behind VS Code's Even Better TOML) check documents with."""
    schema = ConfigFile.model_json_schema(
        schema_generator=_Generator, ref_template="#/definitions/{model}"
    )
    definitions = schema.pop("$defs")
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": SCHEMA_ID,
        **schema,
        "definitions": definitions,
    }


def json_schema_text() -> str:
    """The schema as the committed file holds it."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
