"""Pure domain rules: segments (spec §5.7), frame selection and order (§5.4), pagination (§0),
label colours (§3.1), validation messages, failure messages, safe archives."""

import io
import tarfile
import zipfile
from typing import Any

import pytest

from shared import archives
from shared.creation import Source, _natural_key, _selection, _sorted, failure_message
from shared.errors import MediaError, NotFound, ValidationFailed
from shared.jobs import plan_segments
from shared.labels import label_colour, normalized_name
from shared.pagination import page_size_of, paginate
from shared.schemas import DataRequest
from shared.validation import validate


@pytest.mark.parametrize(("size", "segment", "overlap", "video", "expected"), [
    (100, 30, 5, False, (5, [(0, 29), (25, 54), (50, 79), (75, 99)])),
    (30, 0, None, True, (5, [(0, 29)])),
    (4, 0, None, True, (2, [(0, 3)])),
    (10, 0, None, False, (0, [(0, 9)])),
    (10, 4, 100, False, (2, [(0, 3), (2, 5), (4, 7), (6, 9), (8, 9)])),
    (25, 10, 0, False, (0, [(0, 9), (10, 19), (20, 24)])),
])
def test_segments(size: int, segment: int, overlap: int | None, video: bool, expected: Any) -> None:
    assert plan_segments(size, segment, overlap, video) == expected


def test_frame_selection_with_start_stop_and_step() -> None:
    assert _selection(30, {"start_frame": 10, "stop_frame": 19, "step": 3}) == [10, 13, 16, 19]
    assert _selection(9, {"start_frame": 0, "stop_frame": None, "step": 3}) == [0, 3, 6]
    assert _selection(5, {"start_frame": 2, "stop_frame": 100, "step": 1}) == [2, 3, 4]
    with pytest.raises(MediaError, match=r"start_frame 40 is beyond the last frame of the media \(30 frames: 0..29\)"):
        _selection(30, {"start_frame": 40, "stop_frame": None, "step": 1})


def test_orders_of_frames() -> None:
    names = ["test_1.jpg", "data/test_3.jpg", "img10.jpg", "img2.jpg", "test_2.jpg"]
    sources = [Source(n, n) for n in names]
    assert [s.name for s in _sorted(sources, "lexicographical", [])] == [
        "data/test_3.jpg", "img10.jpg", "img2.jpg", "test_1.jpg", "test_2.jpg"]
    assert [s.name for s in _sorted(sources, "natural", [])][1:3] == ["img2.jpg", "img10.jpg"]
    assert [s.name for s in _sorted(sources, "predefined", names)] == names
    assert _natural_key("a10b") > _natural_key("a9b")


def test_pagination_links_keep_other_parameters() -> None:
    page = paginate(list(range(23)), {"page": "2", "search": "x y"}, "http://h/api/v1/tasks")
    assert page["count"] == 23 and page["results"] == list(range(10, 20))
    assert page["next"] == "http://h/api/v1/tasks?search=x+y&page=3"
    assert page["previous"] == "http://h/api/v1/tasks?search=x+y"
    assert paginate([], {}, "u") == {"count": 0, "next": None, "previous": None, "results": []}
    with pytest.raises(NotFound, match=r"Invalid page\."):
        paginate([1], {"page": "2"}, "u")
    assert [page_size_of(v) for v in ("all", "0", "-3", "x", None, "7")] == [None, 10, 10, 10, 10, 7]


def test_label_colours_are_deterministic_hex() -> None:
    assert normalized_name("  Traffic Light! ") == "traffic_light"
    assert normalized_name("Ça-va") == "ca_va"
    colour = label_colour("car")
    assert colour == label_colour("CAR") and len(colour) == 7 and colour.startswith("#")
    assert label_colour("car", 1) != colour


@pytest.mark.parametrize(("fields", "errors"), [
    ({}, {"image_quality": ["This field is required."]}),
    ({"image_quality": 101}, {"image_quality": ["Ensure this value is less than or equal to 100."]}),
    ({"image_quality": 70, "frame_filter": ""}, {"frame_filter": ["Invalid frame filter expression"]}),
    ({"image_quality": 70, "frame_filter": "every=2"}, {"frame_filter": ["Invalid frame filter expression"]}),
    ({"image_quality": 70, "chunk_size": "0"}, {"chunk_size": ["Chunk size must be a positive integer"]}),
    ({"image_quality": 70, "start_frame": 5, "stop_frame": 2},
     {"non_field_errors": ["Stop frame must be more or equal start frame"]}),
    ({"image_quality": 70, "size": 3}, {"size": ["Adding more data is not implemented"]}),
    ({"image_quality": 70, "use_zip_chunks": "maybe"}, {"use_zip_chunks": ["Must be a valid boolean."]}),
    ({"image_quality": 70, "sorting_method": "random"}, {"sorting_method": ['"random" is not a valid choice.']}),
])
def test_data_options_are_checked_like_cvat(fields: dict[str, Any], errors: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        validate(DataRequest, fields)
    assert refused.value.body == errors


def test_data_options_accept_form_strings() -> None:
    request = validate(DataRequest, {"image_quality": "70", "use_zip_chunks": "true", "frame_filter": "step = 3",
                                     "stop_frame": "19", "server_files": "a.jpg"})
    assert (request.image_quality, request.use_zip_chunks, request.step, request.stop_frame) == (70, True, 3, 19)
    assert request.server_files == ["a.jpg"]


def test_failure_messages_in_cvat_form() -> None:
    cause = '{"errorMessage": "No media data found", "errorType": "MediaError"}'
    lambda_error = {"Error": "MediaError", "Cause": cause}
    assert failure_message(lambda_error) == "MediaError: No media data found\n"
    assert failure_message({"Error": "States.Timeout", "Cause": "took too long"}) == "States.Timeout: took too long\n"


def _zip(entries: dict[str, bytes], utf8_flag: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            info = zipfile.ZipInfo(name)
            archive.writestr(info, content)
            if not utf8_flag:
                info.flag_bits &= ~0x800
    return buffer.getvalue()


def test_zip_members_are_safe_and_keep_unicode_names() -> None:
    data = _zip({"a/b/été.jpg": b"1", "../escape.jpg": b"2", "/abs.jpg": b"3", "ok.png": b"4", "dir/": b""})
    assert list(archives.members("x.zip", io.BytesIO(data))) == [("a/b/été.jpg", b"1"), ("ok.png", b"4")]


def test_tar_members_skip_links_and_escapes() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in (("x/1.jpg", b"one"), ("../2.jpg", b"two")):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
        link = tarfile.TarInfo("x/link.jpg")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    assert list(archives.members("x.tar.gz", io.BytesIO(buffer.getvalue()))) == [("x/1.jpg", b"one")]


def test_broken_and_unsupported_archives_are_media_errors() -> None:
    with pytest.raises(MediaError, match="not a valid zip archive"):
        list(archives.members("x.zip", io.BytesIO(b"PK\x03\x04 broken")))
    with pytest.raises(MediaError, match="7z and cpio archives are not supported"):
        list(archives.members("x.7z", io.BytesIO(b"")))
    import gzip

    assert list(archives.members("photo.jpg.gz", io.BytesIO(gzip.compress(b"jpeg")))) == [("photo.jpg", b"jpeg")]
