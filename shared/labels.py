"""Labels and attribute specs of a task: creation, merge on update (spec §3.5), colours."""

import hashlib
import re
import unicodedata
from typing import Any

from shared.counters import allocate_many
from shared.schemas import AttributeIn, LabelIn


def new_labels(requested: list[LabelIn]) -> list[dict[str, Any]]:
    """Stored label dicts with fresh ids, in request order."""
    return merge_labels([], requested)


def merge_labels(existing: list[dict[str, Any]], requested: list[LabelIn]) -> list[dict[str, Any]]:
    """Labels are matched by name and never deleted: a new name adds a label, a known one gets
    its colour and attributes updated; attributes are matched by name within their label."""
    labels = [dict(label, attributes=[dict(a) for a in label["attributes"]]) for label in existing]
    by_name = {label["name"]: label for label in labels}
    new_label_count = sum(1 for r in requested if r.name not in by_name)
    new_attr_count = sum(
        1 for r in requested for a in r.attributes
        if a.name not in {x["name"] for x in by_name.get(r.name, {"attributes": []})["attributes"]}
    )
    label_ids = iter(allocate_many("label", new_label_count))
    attr_ids = iter(allocate_many("attribute", new_attr_count))
    for request in requested:
        label = by_name.get(request.name)
        if label is None:
            label = {"id": next(label_ids), "name": request.name, "color": "", "attributes": []}
            labels.append(label)
            by_name[request.name] = label
        label["color"] = request.color or ""
        attributes = {a["name"]: a for a in label["attributes"]}
        for spec in request.attributes:
            if spec.name in attributes:
                attributes[spec.name].update(_attribute_fields(spec))
            else:
                label["attributes"].append({"id": next(attr_ids), "name": spec.name, **_attribute_fields(spec)})
    _fill_colours(labels)
    return labels


def _attribute_fields(spec: AttributeIn) -> dict[str, Any]:
    return {
        "mutable": spec.mutable,
        "input_type": spec.input_type,
        "default_value": spec.default_value,
        "values": spec.values,
    }


def attribute_view(attribute: dict[str, Any]) -> dict[str, Any]:
    values = attribute.get("values") or [""]
    return {**attribute, "values": values}


def _fill_colours(labels: list[dict[str, Any]]) -> None:
    for label in labels:
        if not label["color"]:
            others = [
                other["name"] for other in labels
                if other is not label and normalized_name(other["name"]) == normalized_name(label["name"])
            ]
            label["color"] = label_colour(label["name"], len(others))


def normalized_name(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^\w\s-]", "", ascii_name).strip().lower()
    return re.sub(r"[-\s]+", "-", ascii_name).replace("-", "_")


def label_colour(name: str, same_name_count: int = 0) -> str:
    """A deterministic colour: the VOC colour map at an index hashed from the name (spec §3.1,
    without the palette of well-known class names)."""
    digest = hashlib.blake2s(normalized_name(name).encode(), digest_size=4).digest()
    red, green, blue = palette_colour(2000 + int.from_bytes(digest, "big") + same_name_count)
    return f"#{red:02x}{green:02x}{blue:02x}"


def palette_colour(index: int) -> tuple[int, int, int]:
    """Colour `index` of the PASCAL VOC colour map: the index's bits spread over the high bits
    of red, green and blue (also the VOC and mask formats' palette)."""
    red = green = blue = 0
    for shift in range(7, -1, -1):
        red |= (index & 1) << shift
        green |= ((index >> 1) & 1) << shift
        blue |= ((index >> 2) & 1) << shift
        index >>= 3
    return red, green, blue
