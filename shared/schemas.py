"""The v1 API contract: pydantic models of request and response bodies.

Request models validate what clients send (messages in CVAT's words, see shared.validation);
response models document the answers in the generated OpenAPI document.
"""

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

InputType = Literal["checkbox", "radio", "number", "text", "select"]
JobStatus = Literal["annotation", "validation", "completed"]
ChunkType = Literal["video", "imageset"]
SortingMethod = Literal["lexicographical", "natural", "predefined"]

_STEP = re.compile(r"^\s*step\s*=\s*([1-9]\d*)\s*$")


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


OptionalId = Annotated[int | None, BeforeValidator(_blank_to_none)]


class _Model(BaseModel):
    # validators are built on first use, not at import: API cold starts stay short
    model_config = ConfigDict(defer_build=True)


class _Request(_Model):
    # read-only and unknown keys in a body are ignored, as in CVAT
    model_config = ConfigDict(extra="ignore", defer_build=True)


# ---------------------------------------------------------------- labels and attributes


class AttributeIn(_Request):
    name: str = Field(max_length=64, min_length=1)
    mutable: bool
    input_type: InputType
    default_value: str = Field(default="", max_length=128)
    values: list[str] = Field(default_factory=list)

    @field_validator("values")
    @classmethod
    def _values_fit(cls, values: list[str]) -> list[str]:
        values = [v.strip() for v in values]
        if len("\n".join(values)) > 4096:
            raise ValueError("Ensure this field has no more than 4096 characters.")
        return values


class LabelIn(_Request):
    name: str = Field(max_length=64, min_length=1)
    color: str | None = Field(default=None, max_length=8)
    attributes: list[AttributeIn] = Field(default_factory=list)

    @field_validator("color")
    @classmethod
    def _color_is_hex(cls, color: str | None) -> str | None:
        if color and not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
            raise ValueError("Enter a colour as #rrggbb.")
        return color

    @field_validator("attributes")
    @classmethod
    def _attribute_names_unique(cls, attributes: list[AttributeIn]) -> list[AttributeIn]:
        names = [a.name for a in attributes]
        if len(names) != len(set(names)):
            raise ValueError("All attribute names must be unique for the label")
        return attributes


def _check_labels(labels: list[LabelIn]) -> list[LabelIn]:
    if not labels:
        raise ValueError("Label set must not be empty")
    names = [label.name for label in labels]
    if len(names) != len(set(names)):
        raise ValueError("All label names must be unique for the task")
    return labels


class Attribute(_Model):
    id: int
    name: str
    mutable: bool
    input_type: InputType
    default_value: str
    values: list[str]


class Label(_Model):
    id: int
    name: str
    color: str
    attributes: list[Attribute]


# ---------------------------------------------------------------- tasks


class TaskCreate(_Request):
    name: str = Field(max_length=256, min_length=1)
    labels: list[LabelIn]
    owner: OptionalId = None
    assignee: OptionalId = None
    bug_tracker: str = Field(default="", max_length=2000)
    overlap: Annotated[int | None, Field(ge=0)] = None
    segment_size: int = Field(default=0, ge=0)
    z_order: bool = False
    project: OptionalId = None

    _labels = field_validator("labels")(_check_labels)


class TaskUpdate(_Request):
    """PATCH body; PUT additionally requires name and labels (see shared.tasks)."""

    name: str | None = Field(default=None, max_length=256, min_length=1)
    labels: list[LabelIn] | None = None
    owner: OptionalId = None
    assignee: OptionalId = None
    bug_tracker: str | None = Field(default=None, max_length=2000)
    z_order: bool | None = None
    project: OptionalId = None

    @field_validator("labels")
    @classmethod
    def _labels_ok(cls, labels: list[LabelIn] | None) -> list[LabelIn] | None:
        return None if labels is None else _check_labels(labels)


class TaskReplace(TaskUpdate):
    name: str = Field(max_length=256, min_length=1)
    labels: list[LabelIn]


class JobRef(_Model):
    url: str
    id: int
    assignee: int | None
    status: JobStatus


class Segment(_Model):
    start_frame: int
    stop_frame: int
    jobs: list[JobRef]


class Task(_Model):
    """A task as the API shows it. The data keys are absent (not null) until data is attached."""

    url: str
    id: int
    name: str
    mode: Literal["", "annotation", "interpolation"]
    owner: int | None
    assignee: int | None
    bug_tracker: str
    created_date: str
    updated_date: str
    overlap: int | None
    segment_size: int
    z_order: bool
    status: JobStatus
    labels: list[Label]
    segments: list[Segment]
    project: int | None
    data_chunk_size: int | None = None
    data_compressed_chunk_type: ChunkType | None = None
    data_original_chunk_type: ChunkType | None = None
    size: int | None = None
    image_quality: int | None = None
    data: int | None = None


class Page(_Model):
    count: int
    next: str | None
    previous: str | None
    results: list[Any]


class TaskPage(Page):
    results: list[Task]


class Job(_Model):
    url: str
    id: int
    assignee: int | None
    status: JobStatus
    start_frame: int
    stop_frame: int
    task_id: int


# ---------------------------------------------------------------- data


class DataRequest(_Request):
    """The data options of POST /tasks/{id}/data (spec §5.1) and of upload slots."""

    server_files: list[str] = Field(default_factory=list)
    remote_files: list[str] = Field(default_factory=list)
    image_quality: int = Field(ge=0, le=100)
    use_zip_chunks: bool = False
    use_cache: bool = False
    start_frame: int = Field(default=0, ge=0)
    stop_frame: Annotated[int | None, BeforeValidator(_blank_to_none), Field(ge=0)] = None
    frame_filter: str = ""
    chunk_size: Annotated[int | None, BeforeValidator(_blank_to_none)] = None
    compressed_chunk_type: str | None = None
    original_chunk_type: str | None = None
    size: int = 0
    sorting_method: SortingMethod = "lexicographical"

    @field_validator("frame_filter")
    @classmethod
    def _step_filter(cls, value: str) -> str:
        # only runs when the client sent the key: then it must say step=N (even "" is refused)
        if not _STEP.match(value):
            raise ValueError("Invalid frame filter expression")
        return value

    @field_validator("server_files", "remote_files", mode="before")
    @classmethod
    def _as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("chunk_size")
    @classmethod
    def _positive_chunk(cls, value: int | None) -> int | None:
        if value is not None and value <= 0:
            raise ValueError("Chunk size must be a positive integer")
        return value

    @field_validator("size")
    @classmethod
    def _no_size(cls, value: int) -> int:
        if value:
            raise ValueError("Adding more data is not implemented")
        return value

    @model_validator(mode="after")
    def _check(self) -> "DataRequest":
        if self.stop_frame is not None and self.start_frame > self.stop_frame:
            raise ValueError("Stop frame must be more or equal start frame")
        return self

    @property
    def step(self) -> int:
        match = _STEP.match(self.frame_filter)
        return int(match.group(1)) if match else 1


class _DataSummary(_Model):
    chunk_size: int | None
    size: int
    image_quality: int
    start_frame: int
    stop_frame: int
    frame_filter: str


class DataRecord(_DataSummary):
    """The 202 answer of POST /tasks/{id}/data: the stored data record."""

    compressed_chunk_type: ChunkType
    original_chunk_type: ChunkType
    client_files: list[str]
    server_files: list[str]
    remote_files: list[str]
    use_zip_chunks: bool
    use_cache: bool


class UploadAnnouncement(_Model):
    name: str = Field(min_length=1, max_length=1024)
    size: int = Field(ge=0)


class UploadRequest(DataRequest):
    files: list[UploadAnnouncement] = Field(min_length=1, max_length=10_000)


class UploadSlot(_Model):
    """POST a multipart/form-data body to `url`: every one of `fields`, then the file as `file`."""

    name: str
    url: str
    method: Literal["POST"]
    fields: dict[str, str]


class UploadSlots(_Model):
    upload_id: str
    expires_in: int
    files: list[UploadSlot]
    data: DataRecord


class FrameMeta(_Model):
    width: int
    height: int
    name: str


class DataMeta(_DataSummary):
    frames: list[FrameMeta]


class Status(_Model):
    state: Literal["Queued", "Started", "Finished", "Failed"]
    message: str


# ---------------------------------------------------------------- auth, users, server


class LoginRequest(_Request):
    username: str | None = None
    email: str | None = None
    password: str


class LoginAnswer(_Model):
    key: str


class UserFull(_Model):
    url: str
    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    groups: list[str]
    is_staff: bool
    is_superuser: bool
    is_active: bool
    last_login: str | None
    date_joined: str | None


class UserBasic(_Model):
    """What others see of a user (spec §1.6)."""

    url: str
    id: int
    username: str
    first_name: str
    last_name: str


class UserPage(Page):
    results: list[UserFull | UserBasic]


_USERNAME = re.compile(r"^[\w.@+-]+\Z")
_EMAIL = re.compile(r"^[^@\s]+@(localhost|[^@\s]+\.[^@\s.]+)\Z")


def _username(value: str) -> str:
    if not _USERNAME.match(value):
        raise ValueError("Enter a valid username. This value may contain only letters, numbers, "
                         "and @/./+/-/_ characters.")
    return value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("Enter a valid email address.")
    return value


Username = Annotated[str, Field(min_length=1, max_length=150), AfterValidator(_username)]
Email = Annotated[str, Field(min_length=1, max_length=254), AfterValidator(_email)]
BlankOrEmail = Annotated[str, Field(max_length=254), AfterValidator(lambda v: v and _email(v))]
PersonName = Annotated[str, Field(max_length=150)]


class UserUpdate(_Request):
    """PATCH /users/{id}. Everyone may send the basic fields about themselves; the others are
    for admins (is_staff and is_superuser follow membership of `admin` and are read-only)."""

    username: Username | None = None
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    email: BlankOrEmail | None = None
    groups: list[str] | None = None
    is_active: bool | None = None


class Confirmation(_Request):
    name: str
    value: bool = False


class RegisterRequest(_Request):
    username: Username
    email: Email
    password1: str = Field(min_length=1)
    password2: str = Field(min_length=1)
    first_name: PersonName = ""
    last_name: PersonName = ""
    confirmations: list[Confirmation] = Field(default_factory=list)


class RegisterAnswer(_Model):
    username: str
    email: str
    first_name: str
    last_name: str
    email_verification_required: bool


class UserAgreement(_Model):
    """One agreement of GET /restrictions/user-agreements, as configured (USER_AGREEMENTS)."""

    name: str
    displayText: str = ""  # CVAT's key, in camel case
    url: str = ""
    required: bool = False
    value: bool = False


class SigningRequest(_Request):
    url: str


class About(_Model):
    name: str
    version: str
    description: str


class ShareEntry(_Model):
    name: str
    type: Literal["DIR", "REG"]


class ClientException(_Request):
    system: str = Field(max_length=255)
    client: str = Field(max_length=255)
    time: str
    client_id: int
    message: str = Field(max_length=4096)
    filename: str
    line: int
    column: int
    stack: str = Field(max_length=8192)
    job_id: int | None = None
    task_id: int | None = None
    proj_id: int | None = None


class ClientEvent(_Request):
    client_id: int
    name: str = Field(max_length=64)
    time: str
    is_active: bool
    job_id: int | None = None
    task_id: int | None = None
    proj_id: int | None = None
    message: str | None = Field(default=None, max_length=4096)
    payload: dict[str, Any] | None = None


# ---------------------------------------------------------------- jobs and annotations (spec §4, §9)

ShapeType = Literal["rectangle", "polygon", "polyline", "points", "cuboid"]


def _as_text(value: Any) -> Any:
    """Attribute values are strings; CVAT stringifies others (True -> "True", 5 -> "5")."""
    return value if isinstance(value, str) else str(value) if isinstance(value, (bool, int, float)) else value


class AttributeValue(_Model):
    spec_id: int
    value: Annotated[str, BeforeValidator(_as_text), Field(max_length=4096)]


class _Annotated(_Model):
    id: int | None = None
    frame: int = Field(ge=0)
    attributes: list[AttributeValue]


class _Labeled(_Annotated):
    label_id: int = Field(ge=0)
    group: int | None = Field(ge=0)
    source: str = "manual"


class LabeledTag(_Labeled):
    pass


class _Geometry(_Model):
    type: ShapeType
    occluded: bool
    z_order: int = 0
    points: list[float] = Field(min_length=1)


class LabeledShape(_Labeled, _Geometry):
    pass


class TrackedShape(_Annotated, _Geometry):
    outside: bool


class LabeledTrack(_Labeled):
    shapes: list[TrackedShape] = Field(min_length=1)


class LabeledData(_Model):
    version: int
    tags: list[LabeledTag]
    shapes: list[LabeledShape]
    tracks: list[LabeledTrack]


class JobUpdate(_Request):
    status: JobStatus | None = None
    assignee: OptionalId = None


class DocumentSlot(_Model):
    upload_id: str
    url: str
    method: Literal["PUT"]
    expires_in: int
