"""Integer id sequences (spec: one per entity kind, never reused), kept as atomic counters."""

from shared.tables import CounterItem


def allocate(kind: str, count: int = 1) -> int:
    """Reserves `count` consecutive ids of `kind` and returns the first one."""
    if count < 1:
        raise ValueError("count must be positive")
    counter = CounterItem(kind)
    counter.update(actions=[CounterItem.value.add(count)])
    return int(counter.value) - count + 1


def allocate_many(kind: str, count: int) -> list[int]:
    if count == 0:
        return []
    first = allocate(kind, count)
    return list(range(first, first + count))
