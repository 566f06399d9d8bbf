"""docs/layers.md is generated from the registry and kept current."""

from __future__ import annotations

from pathlib import Path

from netcanvas.catalog import REGISTRY
from netcanvas.catalog.docs import layers_markdown, type_text

LAYERS_MD = Path(__file__).parents[2] / "docs" / "layers.md"


def test_the_committed_layer_reference_is_current() -> None:
    assert LAYERS_MD.read_text() == layers_markdown(), \
        "docs/layers.md is stale: run `make docs`"


def test_every_layer_has_a_section_with_its_doc_and_every_param() -> None:
    text = layers_markdown()
    sections = text.split("\n### ")[1:]
    assert sorted(s.split("\n", 1)[0] for s in sections) == sorted(REGISTRY)
    for section in sections:
        spec = REGISTRY[section.split("\n", 1)[0]]
        assert spec.doc in section
        for name in spec.params.model_fields:
            assert f"| `{name}` |" in section, (spec.type_name, name)


def test_types_read_as_a_user_writes_them() -> None:
    assert type_text({"type": "integer", "minimum": 1, "maximum": 4096}) == "int in [1, 4096]"
    assert type_text({"type": "number", "exclusiveMinimum": 0.0, "maximum": 64.0}) == "float in (0, 64]"
    assert type_text({"anyOf": [{"type": "integer", "minimum": 1},
                                {"type": "array", "prefixItems": [{"type": "integer", "minimum": 1}] * 2}]}) \
        == "int ≥ 1 | [int, int], each ≥ 1"
    assert type_text({"enum": ["same", "valid"], "type": "string"}) == '"same" | "valid"'
    assert type_text({"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                      "minItems": 1, "maxItems": 6}) == "list of (int | null), 1 to 6 items"
