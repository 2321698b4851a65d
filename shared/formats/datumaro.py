"""Datumaro 1.0 (spec §10.5; older-variants addendum §2.7 `datumaro_project`): a Datumaro 0.1
project archive, as CVAT 1.2 exports it. Export only.

    .datumaro/config.yaml                  the project: name, format_version 1, and (annotations
                                           exports) the image source below
    dataset/annotations/default.json       the task's annotations in Datumaro's own JSON format
    dataset/images/<item><ext>             dataset exports only (written by the caller, image_path)
    sources/task_<id>_images/config.json   annotations exports: where the images are
    sources/task_<id>_images/images_meta.json
    .datumaro/plugins/cvat_rest_api_task_images.py   the extractor of that source
    README.md

Datumaro fills the paths it keeps internal (dataset, sources, plugins) with these defaults, and
loads a source without `url` from `sources/<name>/`. The copy of the Datumaro package and of the
CVAT command-line client that 1.0 and 1.2 put in the archive is left out (addendum §2.7 allows
it); the plugin talks to the REST API with the standard library instead.

`ctx.server_url` ("<scheme>://<host>[:port]" of the request, empty when unknown) goes into the
remote source; `ctx.include_images` (a dataset export, which carries the images) leaves it out.
"""

import json
from typing import Any
from urllib.parse import urlsplit

from shared.formats.files import Archive
from shared.formats.model import ExportContext, Frame, Label, Shape, Tag, typed_value

SOURCE_KIND = "cvat_rest_api_task_images"
SUBSET = "default"
_KINDS = {"rectangle": "bbox", "polygon": "polygon", "polyline": "polyline", "points": "points"}
_VISIBLE = 2  # Datumaro's Points.Visibility.visible

# ---------------------------------------------------------------- export


def image_path(ctx: ExportContext, frame: Frame) -> str:
    return f"dataset/images/{_image_name(frame)}"


def _image_name(frame: Frame) -> str:
    return f"{frame.stem}{frame.extension or '.png'}"


def export(ctx: ExportContext, archive: Archive) -> None:
    remote = not ctx.include_images
    source = f"task_{ctx.task.id}_images"
    archive.write(".datumaro/config.yaml", project_config(ctx.task.name, source if remote else None))
    archive.write(f"dataset/annotations/{SUBSET}.json", json.dumps(dataset(ctx), ensure_ascii=False))
    if remote:
        archive.write(f"sources/{source}/config.json", json.dumps(source_config(ctx), indent=4))
        archive.write(f"sources/{source}/images_meta.json", json.dumps(images_meta(ctx), indent=4))
        archive.write(f".datumaro/plugins/{SOURCE_KIND}.py", _PLUGIN)
    archive.write("README.md", _README)


def project_config(name: str, source: str | None) -> str:
    """Datumaro's project file, in YAML (JSON strings are YAML double-quoted scalars)."""
    lines = ["format_version: 1", f"project_name: {json.dumps(name)}"]
    if source:
        lines += ["sources:", f"  {json.dumps(source)}:", f"    format: {SOURCE_KIND}"]
    else:
        lines.append("sources: {}")
    return "\n".join(lines) + "\n"


def source_config(ctx: ExportContext) -> dict[str, Any]:
    """Where the remote source fetches frames: 1.2's `server_url` and 1.0's host and port."""
    url = ctx.server_url
    parts = urlsplit(url if "://" in url else f"//{url}")
    config: dict[str, Any] = {"server_url": url or "localhost", "server_host": parts.hostname or "localhost"}
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None:
        config["server_port"] = port
    config["task_id"] = ctx.task.id
    return config


def images_meta(ctx: ExportContext) -> dict[str, Any]:
    """One entry per frame, by relative index (the frame number the REST API takes); video
    frames carry no name. Names are the full relative paths, so item ids match the dataset's."""
    images = []
    for frame in ctx.frames:
        entry: dict[str, Any] = {"id": frame.index}
        if not ctx.is_video:
            entry["name"] = frame.name
        images.append({**entry, "width": frame.width, "height": frame.height})
    return {"images": images}


def dataset(ctx: ExportContext) -> dict[str, Any]:
    """Datumaro's JSON for the one subset: categories, then one item per frame."""
    shapes, tags = ctx.shapes_by_frame(tracks=True, outside=False), ctx.tags_by_frame()
    items = []
    for frame in ctx.frames:
        objects: list[Tag | Shape] = [*tags.get(frame.index, []),
                                      *sorted(shapes.get(frame.index, []), key=lambda s: s.z_order)]
        converted = [a for a in (_annotation(ctx, obj) for obj in objects) if a is not None]
        annotations = [{"id": position, **a} for position, a in enumerate(converted)]
        items.append({"id": frame.stem, "annotations": annotations, "attr": {"frame": frame.number},
                      "image": {"size": [frame.height, frame.width], "path": _image_name(frame)}})
    return {"info": {}, "categories": {"label": categories(ctx)}, "items": items}


def categories(ctx: ExportContext) -> dict[str, Any]:
    """Task labels by id; attribute names per label and for the whole category (with `occluded`)."""
    names = ["occluded"]
    for label in ctx.labels:
        names += [a.name for a in label.attributes if a.name not in names]
    return {"labels": [{"name": label.name, "parent": "", "attributes": [a.name for a in label.attributes]}
                       for label in ctx.labels], "attributes": names}


def _annotation(ctx: ExportContext, obj: Tag | Shape) -> dict[str, Any] | None:
    """Datumaro's fields of a tag or shape (the item gives `id`: the position in the item)."""
    base: dict[str, Any] = {"attributes": _attributes(obj.label, obj.attributes),
                            "group": obj.group, "label_id": ctx.label_index(obj.label)}
    if isinstance(obj, Tag):
        return {"type": "label", **base}
    kind = _KINDS.get(obj.type)
    if kind is None:  # cuboids: Datumaro 0.1 has none
        return None
    base["attributes"]["occluded"] = obj.occluded
    if obj.track_id is not None:
        base["attributes"]["track_id"] = obj.track_id
        base["attributes"]["keyframe"] = obj.keyframe
    points = [float(p) for p in obj.points]
    if kind == "bbox":
        x0, y0, x1, y1 = points[:4]
        return {"type": kind, **base, "bbox": [x0, y0, x1 - x0, y1 - y0], "z_order": obj.z_order}
    extra: dict[str, Any] = {"visibility": [_VISIBLE] * (len(points) // 2)} if kind == "points" else {}
    return {"type": kind, **base, "points": points, **extra, "z_order": obj.z_order}


def _attributes(label: Label, values: dict[str, str]) -> dict[str, Any]:
    """Every attribute of the label, typed (spec §10.4), the label's default when unset."""
    return {a.name: typed_value(a, values.get(a.name, a.default_value)) for a in label.attributes}


_README = """\
# Datumaro project exported from CVAT

`dataset/` holds the task's annotations in Datumaro format (`dataset/annotations/default.json`)
and, in dataset exports, its images (`dataset/images/`).

Annotation exports carry no images. Instead the project has a source, `sources/task_<id>_images`,
of kind `cvat_rest_api_task_images`: `config.json` names the server (`server_url`, and
`server_host`/`server_port` as CVAT 1.0 wrote them) and the task, `images_meta.json` lists the
frames (`id` is the frame number the REST API takes, with the image name and size). The plugin in
`.datumaro/plugins/` downloads each frame when Datumaro first needs it
(`GET /api/v1/tasks/<id>/data?type=frame&number=<id>&quality=original`), using the token in the
environment variable `CVAT_TOKEN` (from `POST /api/v1/auth/login`) or asking for a user name and
password, and caches it in `sources/task_<id>_images/images/`.

    datum project export -p . -f voc -o ../voc   # for example
"""

_PLUGIN = '''\
"""Frames of a CVAT task, fetched through its REST API (see README.md)."""

import base64
import getpass
import json
import os
import os.path as osp
import urllib.request

from datumaro.components.extractor import DatasetItem, SourceExtractor
from datumaro.util.image import Image, lazy_image, load_image


class cvat_rest_api_task_images(SourceExtractor):
    def __init__(self, url):
        super().__init__()
        with open(osp.join(url, "config.json"), encoding="utf-8") as f:
            self._config = json.load(f)
        with open(osp.join(url, "images_meta.json"), encoding="utf-8") as f:
            images = json.load(f)["images"]
        self._cache_dir = osp.join(url, "images")
        self._auth = None
        self._items = []
        for entry in images:
            frame = entry["id"]
            size = (entry["height"], entry["width"]) if entry.get("height") and entry.get("width") else None
            image = Image(data=lazy_image(frame, self._load), path=self._local_path(frame), size=size)
            name = entry.get("name", "frame_%06d" % frame)
            self._items.append(DatasetItem(id=osp.splitext(name)[0], image=image))

    def __iter__(self):
        yield from self._items

    def __len__(self):
        return len(self._items)

    def _local_path(self, frame):
        return osp.join(self._cache_dir, "task_%s_frame_%06d" % (self._config["task_id"], frame))

    def _load(self, frame):
        path = self._local_path(frame)
        if not osp.isfile(path):
            os.makedirs(self._cache_dir, exist_ok=True)
            with open(path, "wb") as f:
                f.write(self._download(frame))
        return load_image(path)

    def _server(self):
        url = self._config.get("server_url") or ""
        if "://" not in url:
            port = self._config.get("server_port")
            url = "http://%s%s" % (self._config.get("server_host", url), ":%s" % port if port else "")
        return url.rstrip("/")

    def _authorization(self):
        if self._auth is None:
            token = os.environ.get("CVAT_TOKEN")
            if token:
                self._auth = "Token " + token
            else:
                print("Enter credentials for '%s' to read task data:" % self._server())
                pair = "%s:%s" % (input("User: "), getpass.getpass())
                self._auth = "Basic " + base64.b64encode(pair.encode()).decode()
        return self._auth

    def _download(self, frame):
        url = "%s/api/v1/tasks/%s/data?type=frame&number=%d&quality=original" % (
            self._server(), self._config["task_id"], frame)
        request = urllib.request.Request(url, headers={"Authorization": self._authorization()})
        with urllib.request.urlopen(request) as answer:
            return answer.read()
'''
