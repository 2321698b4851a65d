"""What format modules see (spec §10.4): the task's frames and labels, its annotations with
label and attribute names, and, for importers, the mapping of names in a file onto the task.

Frames in LabeledData are relative (0..size-1); files speak absolute frame numbers
(start_frame + k * step) and frame names: image tasks use the stored relative path, video
tasks `frame_<absolute frame, 6 digits>`.
"""

import posixpath
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

CHECKBOX_VALUES = {"true": "true", "false": "false"}


class FormatError(Exception):
    """A file the importer cannot take (answered 400), or a task the exporter cannot write;
    the message names the line, element, field or frame that is wrong."""


@dataclass(frozen=True)
class Frame:
    index: int  # relative, as in LabeledData
    number: int  # absolute, as in files
    name: str
    width: int
    height: int

    @property
    def stem(self) -> str:
        """The item id of Datumaro-based formats: the name without its extension."""
        return posixpath.splitext(self.name)[0]

    @property
    def extension(self) -> str:
        return posixpath.splitext(self.name)[1]


@dataclass(frozen=True)
class AttributeSpec:
    id: int
    name: str
    mutable: bool
    input_type: str
    default_value: str
    values: list[str]


@dataclass(frozen=True)
class Label:
    id: int
    name: str
    color: str
    attributes: list[AttributeSpec]

    def spec(self, name: str) -> AttributeSpec | None:
        return self._specs.get(name)

    @cached_property
    def _specs(self) -> dict[str, AttributeSpec]:
        return {a.name: a for a in self.attributes}


@dataclass
class Shape:
    """A shape of a frame: a labeled shape, or a keyframe or interpolated position of a track.
    `attributes` maps names to values (defaults filled; a track's immutable values included)."""

    type: str
    frame: int  # relative
    label: Label
    points: list[float]
    occluded: bool = False
    z_order: int = 0
    group: int = 0
    source: str = "manual"
    attributes: dict[str, str] = field(default_factory=dict)
    outside: bool = False
    keyframe: bool = True
    track_id: int | None = None  # the track's position in ExportContext.tracks


@dataclass
class Tag:
    frame: int
    label: Label
    group: int = 0
    source: str = "manual"
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Track:
    id: int  # position in ExportContext.tracks
    label: Label
    shapes: list[Shape]  # keyframes in frame order, with the track's attributes merged in
    group: int = 0
    source: str = "manual"
    attributes: dict[str, str] = field(default_factory=dict)  # immutable values


@dataclass(frozen=True)
class TaskMeta:
    """The task as CVAT XML's <meta> shows it (spec §10.6)."""

    id: int
    name: str
    size: int
    mode: str  # "annotation" (images) or "interpolation" (video)
    overlap: int
    bug_tracker: str
    created: str
    updated: str  # also in the archive's default name
    start_frame: int
    stop_frame: int
    frame_filter: str
    z_order: bool
    segments: list[dict[str, Any]]  # id, start, stop, url
    owner: dict[str, str] | None  # username, email
    assignee: dict[str, str] | None
    dumped: str
    source: str | None = None  # video tasks: the video's name
    original_size: tuple[int, int] | None = None  # video tasks: width, height

    @property
    def step(self) -> int:
        return frame_step(self.frame_filter)


def frame_step(frame_filter: str) -> int:
    return int(frame_filter.split("=", 1)[1]) if frame_filter.startswith("step=") else 1


def _labels(stored: list[dict[str, Any]]) -> list[Label]:
    return [Label(int(label["id"]), label["name"], label.get("color") or "", [
        AttributeSpec(int(a["id"]), a["name"], bool(a["mutable"]), a["input_type"], a.get("default_value") or "",
                      list(a.get("values") or [])) for a in label["attributes"]]) for label in stored]


# ---------------------------------------------------------------- export


class ExportContext:
    """A task and its annotations (LabeledData with defaults filled, as GET answers it)."""

    def __init__(self, task: TaskMeta, labels: list[dict[str, Any]], frames: list[Frame],
                 annotations: dict[str, Any], *, server_url: str = "", include_images: bool = False) -> None:
        self.task = task
        self.server_url = server_url  # scheme://host[:port] of the API, for links back to it
        self.include_images = include_images  # a dataset export: the frames go into the archive
        self.labels = _labels(labels)
        self.frames = frames
        by_id = {label.id: label for label in self.labels}
        specs = {a.id: a for label in self.labels for a in label.attributes}

        def named(values: list[dict[str, Any]]) -> dict[str, str]:
            return {specs[v["spec_id"]].name: str(v["value"]) for v in values if v["spec_id"] in specs}

        self.tags = [Tag(t["frame"], by_id[t["label_id"]], t.get("group") or 0, t.get("source") or "manual",
                         named(t["attributes"])) for t in annotations["tags"]]
        self.shapes = [Shape(s["type"], s["frame"], by_id[s["label_id"]], list(s["points"]), bool(s["occluded"]),
                             int(s.get("z_order") or 0), s.get("group") or 0, s.get("source") or "manual",
                             named(s["attributes"])) for s in annotations["shapes"]]
        self.tracks = []
        for number, t in enumerate(annotations["tracks"]):
            label, immutable = by_id[t["label_id"]], named(t["attributes"])
            group, source = t.get("group") or 0, t.get("source") or "manual"
            keyframes = [Shape(s["type"], s["frame"], label, list(s["points"]), bool(s["occluded"]),
                               int(s.get("z_order") or 0), group, source, {**named(s["attributes"]), **immutable},
                               bool(s["outside"]), True, number)
                         for s in sorted(t["shapes"], key=lambda s: s["frame"])]
            self.tracks.append(Track(number, label, keyframes, group, source, immutable))

    @property
    def is_video(self) -> bool:
        return self.task.mode == "interpolation"

    def frame(self, index: int) -> Frame:
        return self.frames[index]

    def track_shapes(self, track: Track) -> list[Shape]:
        """Every frame of a track: keyframes and interpolated positions (spec §10.7)."""
        from shared.formats.tracks import flatten

        return flatten(track, len(self.frames) - 1)

    def shapes_by_frame(self, *, tracks: bool = True, outside: bool = False) -> dict[int, list[Shape]]:
        """Plain shapes, and (with `tracks`) the flattened track shapes, per relative frame;
        `outside` track positions only when asked (Datumaro-based exporters drop them)."""
        frames: dict[int, list[Shape]] = defaultdict(list)
        for shape in self.shapes:
            frames[shape.frame].append(shape)
        if tracks:
            for track in self.tracks:
                for shape in self.track_shapes(track):
                    if outside or not shape.outside:
                        frames[shape.frame].append(shape)
        return frames

    def tags_by_frame(self) -> dict[int, list[Tag]]:
        frames: dict[int, list[Tag]] = defaultdict(list)
        for tag in self.tags:
            frames[tag.frame].append(tag)
        return frames

    def label_index(self, label: Label) -> int:
        return next(i for i, known in enumerate(self.labels) if known.id == label.id)


def typed_value(spec: AttributeSpec | None, value: str) -> Any:
    """Datumaro's attribute types (spec §10.4): number -> float, checkbox -> bool, else text."""
    if spec is not None and spec.input_type == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if spec is not None and spec.input_type == "checkbox":
        return value.lower() == "true"
    return value


# ---------------------------------------------------------------- import


class ImportContext:
    """Maps what a file names (labels, attributes, frames) onto the task and collects the
    objects as LabeledData with relative frames."""

    def __init__(self, labels: list[dict[str, Any]], frames: list[Frame], task: TaskMeta) -> None:
        self.labels = _labels(labels)
        self.frames = frames
        self.task = task
        self._by_label = {label.name: label for label in self.labels}
        self._by_number = {frame.number: frame for frame in frames}
        self._by_stem: dict[str, Frame] = {}
        self._by_base: dict[str, list[Frame]] = defaultdict(list)
        for frame in frames:
            self._by_stem[frame.stem] = frame
            self._by_base[posixpath.basename(frame.stem)].append(frame)
        self.tags: list[dict[str, Any]] = []
        self.shapes: list[dict[str, Any]] = []
        self.tracks: list[dict[str, Any]] = []

    @property
    def is_video(self) -> bool:
        return self.task.mode == "interpolation"

    # ---- names

    def label(self, name: str) -> Label:
        label = self._by_label.get(name)
        if label is None:
            raise FormatError(f"Label '{name}' is not registered for this task")
        return label

    def attributes(self, label: Label, values: Iterable[tuple[str, Any]], *,
                   mutable: bool | None = None) -> list[dict[str, Any]]:
        """{spec_id, value} of the values whose names the label knows (others are dropped);
        `mutable` keeps only mutable (True) or immutable (False) ones. Checkbox values become
        true/false; other text for a checkbox fails the import."""
        result = []
        for name, value in values:
            spec = label.spec(str(name))
            if spec is None or (mutable is not None and spec.mutable != mutable):
                continue
            text = str(value).lower() if isinstance(value, bool) else str(value)
            if spec.input_type == "checkbox":
                if text.lower() not in CHECKBOX_VALUES:
                    raise FormatError(f"Attribute '{spec.name}' of label '{label.name}' is a checkbox: "
                                      f"'{text}' is neither true nor false")
                text = CHECKBOX_VALUES[text.lower()]
            result.append({"spec_id": spec.id, "value": text})
        return result

    # ---- frames

    def frame_by_number(self, number: int) -> Frame:
        """An absolute frame number from a file."""
        frame = self._by_number.get(number)
        if frame is None:
            raise FormatError(f"Unknown frame {number}")
        return frame

    def frame_by_index(self, index: int) -> Frame:
        """A relative frame (position in the task)."""
        if not 0 <= index < len(self.frames):
            raise FormatError(f"Unknown frame {index}")
        return self.frames[index]

    def frame_by_name(self, name: str) -> Frame | None:
        """By image name without extension, tolerating another leading directory; video
        frames also answer to `frame_NNNNNN`."""
        stem = posixpath.splitext(name.replace("\\", "/").lstrip("./"))[0]
        if stem in self._by_stem:
            return self._by_stem[stem]
        for start in range(1, stem.count("/") + 1):
            tail = stem.split("/", start)[-1]
            if tail in self._by_stem:
                return self._by_stem[tail]
        candidates = self._by_base.get(posixpath.basename(stem), [])
        if len(candidates) == 1:
            return candidates[0]
        base = posixpath.basename(stem)
        if base.startswith("frame_") and base[6:].isdigit():
            return self._by_number.get(int(base[6:]))
        return None

    def match_frame(self, name: str | None = None, number: int | None = None) -> Frame:
        """A file's item: by name, else by absolute frame number."""
        if name:
            frame = self.frame_by_name(name)
            if frame is not None:
                return frame
        if number is not None:
            return self.frame_by_number(number)
        raise FormatError(f"Unknown frame '{name}': no frame of the task has this name")

    # ---- objects

    def add_tag(self, frame: Frame, label: Label, attributes: list[dict[str, Any]] | None = None, *,
                group: int = 0, source: str = "manual") -> None:
        self.tags.append({"id": None, "frame": frame.index, "label_id": label.id, "group": group,
                          "source": source, "attributes": attributes or []})

    def add_shape(self, kind: str, frame: Frame, label: Label, points: list[float], *,
                  attributes: list[dict[str, Any]] | None = None, occluded: bool = False, z_order: int = 0,
                  group: int = 0, source: str = "manual") -> None:
        self.shapes.append({"id": None, "type": kind, "frame": frame.index, "label_id": label.id, "group": group,
                            "source": source, "occluded": occluded, "z_order": z_order,
                            "points": [float(p) for p in points], "attributes": attributes or []})

    def add_track(self, label: Label, shapes: list[dict[str, Any]], *, attributes: list[dict[str, Any]] | None = None,
                  group: int = 0, source: str = "manual") -> None:
        """`shapes`: keyframes with type, frame (relative), points, occluded, outside, z_order,
        attributes (mutable ones)."""
        if not shapes:
            return
        ordered = sorted(shapes, key=lambda s: s["frame"])
        self.tracks.append({
            "id": None, "frame": ordered[0]["frame"], "label_id": label.id, "group": group, "source": source,
            "attributes": attributes or [],
            "shapes": [{"type": s["type"], "frame": s["frame"], "points": [float(p) for p in s["points"]],
                        "occluded": bool(s.get("occluded", False)), "outside": bool(s.get("outside", False)),
                        "z_order": int(s.get("z_order", 0)), "attributes": s.get("attributes") or []}
                       for s in ordered],
        })

    def labeled_data(self) -> dict[str, Any]:
        return {"version": 0, "tags": self.tags, "shapes": self.shapes, "tracks": self.tracks}


def frames_of(task: TaskMeta, manifest_frames: list[dict[str, Any]], video: bool) -> list[Frame]:
    """The task's frames from its manifest (image tasks: one entry per frame; video: one for all)."""
    numbers = range(task.start_frame, task.start_frame + task.size * task.step, task.step)
    if video:
        width, height = int(manifest_frames[0]["width"]), int(manifest_frames[0]["height"])
        return [Frame(i, n, f"frame_{n:06d}", width, height) for i, n in enumerate(numbers)]
    return [Frame(i, n, f["name"], int(f["width"]), int(f["height"]))
            for i, (n, f) in enumerate(zip(numbers, manifest_frames, strict=True))]


def iter_chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
