"""End to end through the local runtime over HTTP: tasks built from the real video and photos of
../shared/data and from generated media; frames, chunks, preview, meta and status."""

import io
import zipfile
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image, ImageOps

from tests import media_factory
from tests.e2e.client import Client

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("runtime")]


def attach(client: Client, task_id: int, files: dict[str, bytes], **options: Any) -> dict[str, Any]:
    multipart = {f"client_files[{i}]": (name, content) for i, (name, content) in enumerate(files.items())}
    fields = {"image_quality": "70", **{k: str(v) for k, v in options.items()}}
    answer = client.post(f"tasks/{task_id}/data", files=multipart, data=fields)
    assert answer.status_code == 202, answer.text
    return answer.json()  # type: ignore[no-any-return]


def build(client: Client, files: dict[str, bytes], **options: Any) -> tuple[dict[str, Any], dict[str, str]]:
    task = client.create_task(name="media")
    attach(client, task["id"], files, **options)
    status = client.wait_status(task["id"])
    return client.get(f"tasks/{task['id']}").json(), status


def frame(client: Client, task_id: int, number: int, quality: str = "compressed") -> Image.Image:
    answer = client.get(f"tasks/{task_id}/data", params={"type": "frame", "number": number, "quality": quality})
    assert answer.status_code == 200, answer.text
    image = Image.open(io.BytesIO(answer.content))
    image.load()
    return image


def chunk(client: Client, task_id: int, number: int, quality: str) -> bytes:
    answer = client.get(f"tasks/{task_id}/data", params={"type": "chunk", "number": number, "quality": quality},
                        allow_redirects=False)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert "X-Amz-Expires=900" in location  # presigned for 15 minutes
    followed = client.session.get(location)
    assert followed.status_code == 200
    return followed.content


def mp4_frames(data: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(data)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def source_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


# ------------------------------------------------------------------ the real video


@pytest.mark.slow
def test_real_video_task(admin: Client, shared_data: Path) -> None:
    video = (shared_data / "video" / "test.mp4").read_bytes()
    task = admin.create_task(name="video")
    record = attach(admin, task["id"], {"test.mp4": video})
    assert record["client_files"] == ["test.mp4"] and record["size"] == 0 and record["chunk_size"] is None
    assert record["image_quality"] == 70 and record["compressed_chunk_type"] == "imageset"
    during = admin.get(f"tasks/{task['id']}").json()
    assert during["size"] == 0 and during["data_chunk_size"] is None and "data" in during
    status = admin.wait_status(task["id"])
    assert status == {"state": "Finished", "message": ""}
    assert set(admin.seen_states) <= {"Queued", "Started", "Finished"}

    task = admin.get(f"tasks/{task['id']}").json()
    assert (task["size"], task["mode"], task["data_chunk_size"]) == (30, "interpolation", 36)
    assert (task["data_compressed_chunk_type"], task["data_original_chunk_type"]) == ("video", "video")
    assert task["overlap"] == 5 and len(task["segments"]) == 1
    assert task["segments"][0]["start_frame"] == 0 and task["segments"][0]["stop_frame"] == 29
    meta = admin.get(f"tasks/{task['id']}/data/meta").json()
    assert meta == {"chunk_size": 36, "size": 30, "image_quality": 70, "start_frame": 0, "stop_frame": 29,
                    "frame_filter": "", "frames": [{"width": 240, "height": 180, "name": "test.mp4"}]}
    jobs = admin.get(f"tasks/{task['id']}/jobs").json()
    assert [(j["start_frame"], j["stop_frame"], j["status"], j["task_id"]) for j in jobs] == [
        (0, 29, "annotation", task["id"])]

    originals = source_frames(shared_data / "video" / "test.mp4")
    for number in range(30):
        for quality in ("compressed", "original"):
            image = frame(admin, task["id"], number, quality)
            assert image.format == "PNG" and image.size == (240, 180), (number, quality)
        shown = np.asarray(frame(admin, task["id"], number, "original").convert("RGB"), dtype=np.int16)
        assert np.abs(shown - originals[number]).mean() < 6, number  # the right frame, CRF 17
    for quality in ("compressed", "original"):
        decoded = mp4_frames(chunk(admin, task["id"], 0, quality))
        assert len(decoded) == 30 and decoded[0].shape == (180, 240, 3)
    preview = admin.get(f"tasks/{task['id']}/data", params={"type": "preview"})
    assert preview.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(preview.content)).size == (240, 180)


@pytest.mark.slow
def test_video_with_start_stop_and_step(admin: Client, shared_data: Path) -> None:
    video = (shared_data / "video" / "test.mp4").read_bytes()
    task, status = build(admin, {"test.mp4": video}, start_frame=10, stop_frame=19, frame_filter="step=3")
    assert status["state"] == "Finished", status
    assert task["size"] == 4
    meta = admin.get(f"tasks/{task['id']}/data/meta").json()
    assert (meta["start_frame"], meta["stop_frame"], meta["frame_filter"], meta["size"]) == (10, 19, "step=3", 4)
    originals = source_frames(shared_data / "video" / "test.mp4")
    for number, source in enumerate((10, 13, 16, 19)):
        shown = np.asarray(frame(admin, task["id"], number, "original").convert("RGB"), dtype=np.int16)
        errors = [np.abs(shown - candidate).mean() for candidate in originals]
        assert int(np.argmin(errors)) == source, number
    assert len(mp4_frames(chunk(admin, task["id"], 0, "compressed"))) == 4
    out = admin.get(f"tasks/{task['id']}/data", params={"type": "frame", "number": 4})
    assert out.status_code == 400
    assert out.json().endswith("Incorrect requested frame number: 4")


# ------------------------------------------------------------------ the real photos


@pytest.mark.slow
def test_real_photos_in_one_task(admin: Client, shared_data: Path) -> None:
    photos = {p.name: p.read_bytes() for p in sorted((shared_data / "images").iterdir())}
    task, status = build(admin, photos)
    assert status["state"] == "Finished", status
    names = sorted(photos)
    assert task["size"] == len(names) and task["mode"] == "annotation"
    assert (task["data_compressed_chunk_type"], task["data_original_chunk_type"]) == ("imageset", "imageset")
    meta = admin.get(f"tasks/{task['id']}/data/meta").json()
    assert [f["name"] for f in meta["frames"]] == names
    for number, name in enumerate(names):
        upright = ImageOps.exif_transpose(Image.open(io.BytesIO(photos[name])))
        assert (meta["frames"][number]["width"], meta["frames"][number]["height"]) == upright.size, name
        compressed = frame(admin, task["id"], number)
        assert compressed.format == "JPEG" and compressed.size == upright.size, name
        original = admin.get(f"tasks/{task['id']}/data", params={"type": "frame", "number": number,
                                                                  "quality": "original"})
        if name == "hopper_orientation_6.jpg":
            assert original.headers["Content-Type"] == "image/png"
            assert Image.open(io.BytesIO(original.content)).size == upright.size
        else:
            assert original.content == photos[name], name  # original bytes, untouched
            assert original.headers["Content-Type"] == Image.MIME[Image.open(io.BytesIO(photos[name])).format]
    archive = zipfile.ZipFile(io.BytesIO(chunk(admin, task["id"], 0, "original")))
    assert len(archive.namelist()) == len(names) and archive.namelist()[0] == "000000.jpg"


# ------------------------------------------------------------------ generated media


@pytest.mark.slow
def test_rotated_1080p_video(admin: Client) -> None:
    video = media_factory.make_video(None, frames=100, width=1920, height=1080, rotation=90)
    task, status = build(admin, {"rotated.mp4": video})
    assert status["state"] == "Finished", status
    assert task["size"] == 100 and task["data_chunk_size"] == 36
    meta = admin.get(f"tasks/{task['id']}/data/meta").json()
    assert meta["frames"] == [{"width": 1080, "height": 1920, "name": "rotated.mp4"}]
    assert frame(admin, task["id"], 99, "original").size == (1080, 1920)
    assert frame(admin, task["id"], 50, "compressed").size == (540, 960)
    assert [len(mp4_frames(chunk(admin, task["id"], c, "original"))) for c in range(3)] == [36, 36, 28]


@pytest.mark.slow
def test_zip_with_nested_folders_and_unicode_names(admin: Client) -> None:
    images = {name: media_factory.make_image("JPEG", (64 + i, 48), "RGB")
              for i, name in enumerate(["b/z.jpg", "a/é/1.png", "a/日本/2.jpg", "c.bmp"])}
    images["a/é/1.png"] = media_factory.make_image("PNG", (65, 48), "RGBA")
    images["c.bmp"] = media_factory.make_image("BMP", (67, 48), "RGB")
    archive = media_factory.make_zip({**images, "notes.txt": b"not an image", "a/": b""})
    task, status = build(admin, {"photos.zip": archive})
    assert status["state"] == "Finished", status
    meta = admin.get(f"tasks/{task['id']}/data/meta").json()
    assert [f["name"] for f in meta["frames"]] == sorted(images)
    assert [f["width"] for f in meta["frames"]] == [65, 66, 64, 67]
    assert frame(admin, task["id"], 3, "original").format == "BMP"


@pytest.mark.parametrize(("files", "options", "message"), [
    ({"broken.mp4": "corrupt"}, {}, "broken.mp4"),
    ({"empty.zip": "emptyzip"}, {}, "No media data found"),
    ({"notes.txt": b"hello"}, {}, "No media data found"),
    ({"nothing.jpg": b""}, {}, "nothing.jpg is empty (0 bytes)"),
    ({"a.jpg": "jpeg"}, {"start_frame": 5}, "start_frame 5 is beyond the last frame"),
    ({"a.mp4": "video", "b.jpg": "jpeg"}, {},
     "Only one video, archive, pdf, zip or many image, directory can be used simultaneously, but 1 image(s), "
     "1 video(s), 0 archive(s), 0 directory(s), 0 pdf(s), 0 zip(s) found."),
])
def test_bad_media_fails_with_a_readable_message(admin: Client, files: dict[str, Any], options: dict[str, Any],
                                                  message: str) -> None:
    made = {
        "corrupt": lambda: media_factory.corrupt_mp4(media_factory.make_video(None, frames=10, width=64, height=48)),
        "emptyzip": lambda: media_factory.make_zip({"readme.txt": b"no images here"}),
        "jpeg": lambda: media_factory.make_image("JPEG", (32, 32), "RGB"),
        "video": lambda: media_factory.make_video(None, frames=3, width=32, height=32),
    }
    contents = {name: made[value]() if isinstance(value, str) else value for name, value in files.items()}
    task, status = build(admin, contents, **options)
    assert status["state"] == "Failed"
    assert message in status["message"] and status["message"].endswith("\n")
    assert task["size"] == 0
    assert admin.get(f"tasks/{task['id']}/jobs").json() == []
    answer = admin.get(f"tasks/{task['id']}/data", params={"type": "chunk", "number": 0})
    assert answer.status_code == 400
    retry = admin.post(f"tasks/{task['id']}/data", files={"client_files[0]": ("ok.jpg", made["jpeg"]())},
                       data={"image_quality": "50"})
    assert retry.status_code == 202
    assert admin.wait_status(task["id"])["state"] == "Finished"


def test_data_requests_are_checked_before_the_task(admin: Client) -> None:
    assert admin.get("tasks/99999/data").json() == "data type not specified or has wrong value"
    assert admin.get("tasks/99999/data", params={"type": "frame"}).json() == "number not specified"
    answer = admin.get("tasks/99999/data", params={"type": "chunk", "number": 0, "quality": "best"})
    assert answer.status_code == 400 and answer.json() == "wrong quality value"
    assert admin.get("tasks/99999/data", params={"type": "preview"}).status_code == 404
    anonymous = Client(admin.base).get("tasks/99999/data", params={"type": "preview"})
    assert anonymous.status_code == 401


def test_attaching_twice_and_bad_options(admin: Client) -> None:
    task = admin.create_task()
    bad = admin.post(f"tasks/{task['id']}/data", data={"image_quality": "70", "frame_filter": "every=2",
                                                      "server_files[0]": "x.jpg"})
    assert bad.status_code == 400 and bad.json() == {"frame_filter": ["Invalid frame filter expression"]}
    missing = admin.post(f"tasks/{task['id']}/data", json={"server_files": ["x.jpg"]})
    assert missing.json() == {"image_quality": ["This field is required."]}
    remote = admin.post(f"tasks/{task['id']}/data", json={"image_quality": 5, "remote_files": ["http://x/a.jpg"]})
    assert remote.status_code == 400 and "remote_files" in remote.json()
    attach(admin, task["id"], {"a.jpg": media_factory.make_image("JPEG", (16, 16), "RGB")})
    admin.wait_status(task["id"])
    again = admin.post(f"tasks/{task['id']}/data", files={"client_files[0]": ("b.jpg", b"x")},
                       data={"image_quality": "70"})
    assert again.status_code == 400
    assert "already has data" in again.json()["non_field_errors"][0]
