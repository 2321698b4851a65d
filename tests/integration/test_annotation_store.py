"""The storage of annotations under concurrent writers (threads): every write applies whole,
in some order, and versions count every write."""

import threading
from typing import Any

from shared import annotation_store as store


def test_concurrent_writers_on_one_task_lose_nothing(stack: Any) -> None:
    errors: list[str] = []
    task_id, jobs = 424242, [1, 2]

    def writer(number: int) -> None:
        try:
            for write in range(6):
                targets = jobs if write % 3 == 0 else [jobs[(number + write) % 2]]
                object_id = 1000 * number + write

                def change(head: Any, current: dict[int, Any], object_id: int = object_id,
                           targets: list[int] = targets, write: int = write) -> dict[int, Any]:
                    result = {job: {kind: dict(objs) for kind, objs in current[job].items()} for job in targets}
                    result[targets[0]]["shapes"][object_id] = {
                        "id": object_id, "type": "points", "frame": 0, "label_id": 1, "group": 0, "source": "manual",
                        "occluded": False, "z_order": 0, "attributes": [], "points": [float(number), float(write)]}
                    return result

                store.write(task_id, targets, change)
        except Exception as error:  # reported by the assertion below
            errors.append(repr(error))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    head, objects = store.read(task_id, jobs)
    stored = sorted(i for job in jobs for i in objects[job]["shapes"])
    assert stored == sorted(1000 * n + w for n in range(4) for w in range(6))
    assert objects[jobs[0]]["shapes"][1000]["points"] == [1.0, 0.0]
    # 24 writes: 8 reach both jobs, 16 one job each
    assert head.job(jobs[0]).version + head.job(jobs[1]).version == 16 + 2 * 8
    assert head.revision == 24


def test_encoding_round_trips_and_stays_small() -> None:
    rectangle = {"id": 7, "type": "rectangle", "frame": 3, "label_id": 12, "group": 0, "source": "manual",
                 "occluded": False, "z_order": 0, "points": [1.5, 2.25, 300.0, 400.125],
                 "attributes": [{"spec_id": 21, "value": "mazda"}]}
    encoded = store.encode("shapes", rectangle)
    assert len(encoded) < 120
    assert store.decode("shapes", encoded, 7) == rectangle
    track = {"id": 8, "frame": 0, "label_id": 1, "group": None, "source": "auto", "attributes": [],
             "shapes": [{"id": 9, "type": "polygon", "frame": 0, "occluded": False, "outside": False, "z_order": 1,
                         "points": [0.0, 0.0, 1.0, 0.0, 1.0, 1.0], "attributes": []},
                        {"id": 10, "type": "polygon", "frame": 4, "occluded": True, "outside": True, "z_order": 1,
                         "points": [1.0, 1.0, 2.0, 1.0, 2.0, 2.0], "attributes": [{"spec_id": 3, "value": "x"}]}]}
    assert store.decode("tracks", store.encode("tracks", track), 8) == track
    tag = {"id": 5, "frame": 2, "label_id": 3, "group": None, "source": "manual", "attributes": []}
    assert store.decode("tags", store.encode("tags", tag), 5) == tag
