"""Tasks for format tests without AWS: labels, frames and annotations as the export and
import contexts receive them."""

from typing import Any

from shared.formats.model import ExportContext, Frame, ImportContext, TaskMeta


def labels(*names_and_attributes: tuple[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Stored labels: ids 1.. for labels and 101.. for attributes, in order."""
    result, spec_id = [], 100
    for number, (name, attributes) in enumerate(names_and_attributes, start=1):
        specs = []
        for attribute in attributes:
            spec_id += 1
            specs.append({"id": spec_id, "mutable": False, "default_value": "", "values": [], **attribute})
        result.append({"id": number, "name": name, "color": f"#{number * 40:02x}3253", "attributes": specs})
    return result


def meta(size: int, *, video: bool = False, start: int = 0, step: int = 1, name: str = "cars",
         z_order: bool = False) -> TaskMeta:
    stop = start + (size - 1) * step
    return TaskMeta(id=5, name=name, size=size, mode="interpolation" if video else "annotation", overlap=0,
                    bug_tracker="", created="2020-10-15 09:31:07.123456+00:00",
                    updated="2020-10-15 09:40:00.000001+00:00", start_frame=start, stop_frame=stop,
                    frame_filter=f"step={step}" if step > 1 else "", z_order=z_order,
                    segments=[{"id": 3, "start": start, "stop": stop, "url": "http://host/?id=3"}],
                    owner={"username": "admin", "email": "admin@example.org"}, assignee=None,
                    dumped="2020-10-15 10:00:00.000000+00:00", source="video.mp4" if video else None,
                    original_size=(640, 480) if video else None)


def frames(names: list[str] | int, width: int = 640, height: int = 480, *, start: int = 0,
           step: int = 1) -> list[Frame]:
    """Image frames with these names, or (an int) that many video frames."""
    if isinstance(names, int):
        return [Frame(i, start + i * step, f"frame_{start + i * step:06d}", width, height) for i in range(names)]
    return [Frame(i, start + i * step, name, width, height) for i, name in enumerate(names)]


def export_context(stored_labels: list[dict[str, Any]], task_frames: list[Frame], annotations: dict[str, Any],
                   *, video: bool = False) -> ExportContext:
    step = task_frames[1].number - task_frames[0].number if len(task_frames) > 1 else 1
    task = meta(len(task_frames), video=video, start=task_frames[0].number, step=step)
    full = {"version": 0, "tags": [], "shapes": [], "tracks": [], **annotations}
    return ExportContext(task, stored_labels, task_frames, full)


def import_context(stored_labels: list[dict[str, Any]], task_frames: list[Frame], *,
                   video: bool = False) -> ImportContext:
    step = task_frames[1].number - task_frames[0].number if len(task_frames) > 1 else 1
    return ImportContext(stored_labels, task_frames, meta(len(task_frames), video=video,
                                                          start=task_frames[0].number, step=step))
