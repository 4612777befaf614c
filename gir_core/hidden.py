"""The hidden task set, stratified by order as in the paper (section 4.2; SPEC §2.1).

The paper tests on "50 randomly generated degradations following Eq. (4) for each order from
k = 1 to k = 5": ten hidden tasks per order. :func:`hidden_tasks` draws ``per_order`` tasks for
each k from an operator secret, as a pure function, so the same secret gives the same list on any
machine and in any process, and a benchmark can be rebuilt from its secret alone.

Order 1 is stratified (our choice, documented in the README): the single tasks go round the
degradations in a random order, each with random strengths, so ten of them cover ten different
degradations instead of leaving some out by chance. Two degradations have no random freedom —
``resize`` (the random range is ×4, the representative value) and ``alg.artifact`` (no
parameters) — so their only single task *is* the public representative task; a hidden task may
never equal a public one, so the round skips them and the eight others share the order-1 slots
(per_order = 10: each of the eight once, then two of them a second time, with other strengths).
Orders 2..5 follow Eq. (4) like :func:`gir_core.tasks.sample_task`: a random sequence (rain, haze
and snow only as the first step) with random strengths.

No hidden task equals a representative task or an earlier hidden task (by canonical text): a
draw that does is redrawn with the next attempt number, so redraws are deterministic too. Each
order is drawn index by index, so the first ``n`` tasks of an order do not depend on
``per_order``: a larger set extends a smaller one drawn from the same secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import numpy as np

from gir_core.degradations import Degradation, all_degradations
from gir_core.errors import ParameterError
from gir_core.tasks import MAX_ORDER, Step, Task, representative_tasks, sample_task

DEFAULT_PER_ORDER = 10
# Separates these draws from every other use of the secret (sample_task([secret, N]), synthesis).
_STREAM = 0x51DDE7
_MAX_ATTEMPTS = 10_000


def hidden_tasks(
    secret: int, per_order: int = DEFAULT_PER_ORDER, *, avoid: Iterable[str] = ()
) -> list[Task]:
    """The hidden set of ``secret``: ``per_order`` tasks of each order 1..5, in that order.

    ``avoid`` adds canonical texts no hidden task may equal (besides Table C.1's representative
    tasks), e.g. the operator's own pool tasks.

    Raises:
        ParameterError: a negative secret, or ``per_order`` outside 1..1000.

    Example:
        >>> tasks = hidden_tasks(7, per_order=2)
        >>> [t.order for t in tasks]
        [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
        >>> tasks == hidden_tasks(7, per_order=2)
        True
    """
    if isinstance(secret, bool) or not isinstance(secret, int) or secret < 0:
        raise ParameterError(f"the hidden-set secret must be an integer ≥ 0, got {secret!r}")
    if isinstance(per_order, bool) or not isinstance(per_order, int) or not 1 <= per_order <= 1000:
        raise ParameterError(f"per_order must be an integer in 1..1000, got {per_order!r}")
    taken = {str(task) for task in representative_tasks()} | {str(Task.parse(t)) for t in avoid}
    drawn: list[Task] = []
    for order in range(1, MAX_ORDER + 1):
        for index in range(per_order):
            task = _draw_new(secret, order, index, taken)
            taken.add(str(task))
            drawn.append(task)
    return drawn


def _draw_new(secret: int, order: int, index: int, taken: set[str]) -> Task:
    for attempt in range(_MAX_ATTEMPTS):
        task = _draw(secret, order, index, attempt)
        if str(task) not in taken:
            return task
    raise ParameterError(
        f"could not draw a new hidden task of order {order} after {_MAX_ATTEMPTS} attempts; "
        "ask for fewer tasks per order"
    )


def _draw(secret: int, order: int, index: int, attempt: int) -> Task:
    entropy = [secret, _STREAM, order, index, attempt]
    if order > 1:
        return sample_task(entropy, order=order)
    degradation = _single_round(secret, index)
    rng = np.random.default_rng(np.random.SeedSequence(entropy))
    return Task((Step.of(degradation.name, degradation.sample(rng)),))


def _single_round(secret: int, index: int) -> Degradation:
    """The degradation of order-1 slot ``index``: rounds of a fresh random permutation each."""
    pool = random_degradations()
    round_number, slot = divmod(index, len(pool))
    rng = np.random.default_rng(np.random.SeedSequence([secret, _STREAM, 1, round_number]))
    return pool[int(rng.permutation(len(pool))[slot])]


@cache
def random_degradations() -> tuple[Degradation, ...]:
    """Degradations whose random range can give other parameters than the representative ones
    (all but ``resize`` and ``alg.artifact`` today), in Table C.1 order.

    Decided by drawing: 32 draws from fixed generators, all equal to the representative values,
    mean the range is a single point (a genuine range repeats a value 32 times with negligible
    probability, and the draws are fixed, so the answer never changes between runs).
    """
    return tuple(d for d in all_degradations() if _varies(d))


def _varies(degradation: Degradation) -> bool:
    representative = degradation.validate(degradation.representative)
    draws = (degradation.sample(np.random.default_rng(i)) for i in range(32))
    return any(draw != representative for draw in draws)


__all__ = ["DEFAULT_PER_ORDER", "hidden_tasks", "random_degradations"]
