"""The annotation formats of CVAT v1 (spec §10.3) and the 1.0 names that map onto them
(older-variants addendum §2.3, §2.6): one registry, one implementation per format.

Each format lives in its own module of this package and is imported only when used:
  exporters: `export(ctx: ExportContext, archive: Archive) -> None` and
             `image_path(ctx: ExportContext, frame: Frame) -> str` (where dataset images go);
  importers: `parse(source: ImportFile, ctx: ImportContext) -> None`.
"""

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class Format:
    name: str  # the display name clients send as format=
    ext: str
    version: str
    module: str
    enabled: bool = True

    def load(self) -> ModuleType:
        return importlib.import_module(f"shared.formats.{self.module}")

    def view(self) -> dict[str, Any]:
        return {"name": self.name, "ext": self.ext, "version": self.version, "enabled": self.enabled}


# in the order of the original's lists (spec §10.3); TFRecord needs TensorFlow, which we do not ship
EXPORTERS = [
    Format("COCO 1.0", "ZIP", "1.0", "coco"),
    Format("CVAT for video 1.1", "ZIP", "1.1", "cvat_video"),
    Format("CVAT for images 1.1", "ZIP", "1.1", "cvat_images"),
    Format("Datumaro 1.0", "ZIP", "1.0", "datumaro"),
    Format("LabelMe 3.0", "ZIP", "3.0", "labelme"),
    Format("Segmentation mask 1.1", "ZIP", "1.1", "mask"),
    Format("MOT 1.1", "ZIP", "1.1", "mot"),
    Format("PASCAL VOC 1.1", "ZIP", "1.1", "voc"),
    Format("TFRecord 1.0", "ZIP", "1.0", "tfrecord", enabled=False),
    Format("YOLO 1.1", "ZIP", "1.1", "yolo"),
]
IMPORTERS = [
    Format("COCO 1.0", "JSON, ZIP", "1.0", "coco"),
    Format("CVAT 1.1", "XML, ZIP", "1.1", "cvat"),
    Format("LabelMe 3.0", "ZIP", "3.0", "labelme"),
    Format("Segmentation mask 1.1", "ZIP", "1.1", "mask"),
    Format("MOT 1.1", "ZIP", "1.1", "mot"),
    Format("PASCAL VOC 1.1", "ZIP", "1.1", "voc"),
    Format("TFRecord 1.0", "ZIP", "1.0", "tfrecord", enabled=False),
    Format("YOLO 1.1", "ZIP", "1.1", "yolo"),
]


@dataclass(frozen=True)
class LegacyName:
    """A 1.0 dumper, loader or dataset tag and the 1.2 format it stands for."""

    name: str
    target: str  # a 1.2 exporter or importer name
    extension: str = "zip"  # what a 1.0 dump is saved as: "xml", "json" or "zip"
    member: str | None = None  # a 1.0 dump of one file: that member of the 1.2 archive
    handler: str = "dump"


# older-variants addendum §2.3 and §2.5: (record name, dumpers, loaders) in registration order
LEGACY_RECORDS: list[tuple[str, list[LegacyName], list[LegacyName]]] = [
    ("CVAT", [
        LegacyName("CVAT XML 1.1 for videos", "CVAT for video 1.1", "xml", "annotations.xml",
                   "dump_as_cvat_interpolation"),
        LegacyName("CVAT XML 1.1 for images", "CVAT for images 1.1", "xml", "annotations.xml",
                   "dump_as_cvat_annotation"),
    ], [LegacyName("CVAT XML 1.1", "CVAT 1.1", "xml", handler="load")]),
    ("PASCAL VOC", [LegacyName("PASCAL VOC ZIP 1.1", "PASCAL VOC 1.1")],
     [LegacyName("PASCAL VOC ZIP 1.1", "PASCAL VOC 1.1", handler="load")]),
    ("YOLO", [LegacyName("YOLO ZIP 1.1", "YOLO 1.1")], [LegacyName("YOLO ZIP 1.1", "YOLO 1.1", handler="load")]),
    ("COCO", [LegacyName("COCO JSON 1.0", "COCO 1.0", "json", "annotations/instances_default.json")],
     [LegacyName("COCO JSON 1.0", "COCO 1.0", "json", handler="load")]),
    ("MASK", [LegacyName("MASK ZIP 1.1", "Segmentation mask 1.1")],
     [LegacyName("MASK ZIP 1.1", "Segmentation mask 1.1", handler="load")]),
    ("TFRecord", [LegacyName("TFRecord ZIP 1.0", "TFRecord 1.0")],
     [LegacyName("TFRecord ZIP 1.0", "TFRecord 1.0", handler="load")]),
    ("MOT", [LegacyName("MOT ZIP 1.1", "MOT 1.1")], [LegacyName("MOT ZIP 1.1", "MOT 1.1", handler="load")]),
    ("LabelMe", [LegacyName("LabelMe ZIP 3.0", "LabelMe 3.0")],
     [LegacyName("LabelMe ZIP 3.0", "LabelMe 3.0", handler="load")]),
]

# older-variants addendum §2.6 and §2.7: 1.0 dataset tags, in the 1.0 list's order
LEGACY_DATASET_TAGS: list[tuple[str, str, str]] = [
    ("Datumaro", "datumaro_project", "Datumaro 1.0"),
    ("PASCAL VOC 2012", "cvat_voc", "PASCAL VOC 1.1"),
    ("MS COCO", "cvat_coco", "COCO 1.0"),
    ("YOLO", "cvat_yolo", "YOLO 1.1"),
    ("TF Detection API", "cvat_tfrecord", "TFRecord 1.0"),
    ("MOT", "cvat_mot", "MOT 1.1"),
    ("LabelMe", "cvat_label_me", "LabelMe 3.0"),
]


def _enabled(name: str, formats: list[Format]) -> bool:
    return any(f.name == name and f.enabled for f in formats)


def exporter(name: str) -> Format | None:
    return next((f for f in EXPORTERS if f.name == name), None)


def importer(name: str) -> Format | None:
    return next((f for f in IMPORTERS if f.name == name), None)


def legacy_dumper(name: str) -> LegacyName | None:
    """A 1.0 dumper name whose 1.2 exporter is enabled (a disabled one hides its aliases)."""
    return next((d for _, dumpers, _ in LEGACY_RECORDS for d in dumpers
                 if d.name == name and _enabled(d.target, EXPORTERS)), None)


def legacy_loader(name: str) -> LegacyName | None:
    return next((d for _, _, loaders in LEGACY_RECORDS for d in loaders
                 if d.name == name and _enabled(d.target, IMPORTERS)), None)


def legacy_dataset_tag(tag: str) -> str | None:
    """The 1.2 exporter of a 1.0 dataset tag, if it is enabled."""
    return next((target for _, t, target in LEGACY_DATASET_TAGS if t == tag and _enabled(target, EXPORTERS)), None)


def formats_view() -> dict[str, Any]:
    """GET /server/annotation/formats (spec §10.3)."""
    return {"importers": [f.view() for f in IMPORTERS], "exporters": [f.view() for f in EXPORTERS]}


_LEGACY_DATE = "2020-04-20T07:15:02.118240Z"


def legacy_formats_view() -> list[dict[str, Any]]:
    """The 1.0 array of format records (addendum §2.5), for the compatibility entry point."""

    def handlers(names: list[LegacyName], formats: list[Format]) -> list[dict[str, Any]]:
        return [{"display_name": n.name, "format": n.extension.upper(),
                 "version": next(f.version for f in formats if f.name == n.target), "handler": n.handler}
                for n in names if _enabled(n.target, formats)]

    records = []
    for number, (name, dumpers, loaders) in enumerate(LEGACY_RECORDS, start=1):
        if not any(_enabled(d.target, EXPORTERS) for d in dumpers):
            continue
        records.append({"id": number, "dumpers": handlers(dumpers, EXPORTERS), "loaders": handlers(loaders, IMPORTERS),
                        "name": name, "created_date": _LEGACY_DATE, "updated_date": _LEGACY_DATE,
                        "handler_file": f"formats/{number}/{name.lower().replace(' ', '_')}.py", "owner": None})
    return records


def dataset_formats_view() -> list[dict[str, Any]]:
    """The 1.0 dataset tags (addendum §2.6); the route answers it as a JSON string of JSON."""
    return [{"name": name, "tag": tag, "is_default": tag == "datumaro_project"}
            for name, tag, target in LEGACY_DATASET_TAGS if _enabled(target, EXPORTERS)]
