"""Tasks: ordered compositions of degradations with concrete parameters (SPEC §2.1).

A task has one canonical text, e.g. ``haze(A=0.9,beta=1.8) + noise(sigma=20)``; a bare name means
the representative parameters, ``Task.parse`` and ``str`` round-trip, and ``task.id`` is a hash of
the canonical text, so the same task always has the same id and the same degraded bytes.

Example:
    >>> task = Task.parse("haze + noise")
    >>> str(task)
    'haze(A=0.9,beta=1.8) + noise(sigma=20)'
    >>> task.order, len(task.id)
    (2, 16)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np

from gir_core._suggest import did_you_mean
from gir_core.degradations import ImageContext, all_degradations, get, names
from gir_core.degradations.registry import ParamValue
from gir_core.errors import GirError, ParameterError, TaskSyntaxError
from gir_core.images import FloatImage, check_image
from gir_core.paper import paper_lines

# Bump whenever any degradation's output bytes change: it is part of every cache key.
DEGRADATION_VERSION = "2"
MAX_ORDER = 5

_NAME = re.compile(r"^[A-Za-z_][\w.]*$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def format_value(value: ParamValue) -> str:
    """Canonical text of a parameter value: integers without a decimal point, floats shortest."""
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


@dataclass(frozen=True)
class Step:
    """One degradation with concrete parameters, in declaration order."""

    name: str
    params: tuple[tuple[str, ParamValue], ...]

    @classmethod
    def of(cls, name: str, params: Mapping[str, object] | None = None) -> Step:
        """Build a validated step; missing parameters take the representative values."""
        degradation = get(name)
        merged: dict[str, object] = {**degradation.representative, **(params or {})}
        checked = degradation.validate(merged)
        return cls(name, tuple(checked.items()))

    @property
    def param_dict(self) -> dict[str, ParamValue]:
        """Parameters as a dict, for :meth:`Degradation.apply`."""
        return dict(self.params)

    def __str__(self) -> str:
        if not self.params:
            return self.name
        inner = ",".join(f"{k}={format_value(v)}" for k, v in self.params)
        return f"{self.name}({inner})"


@dataclass(frozen=True)
class Task:
    """An ordered composition D_k ∘ … ∘ D_1 (steps[0] is D_1, applied first)."""

    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.steps) <= MAX_ORDER:
            raise TaskSyntaxError(f"a task has 1 to {MAX_ORDER} steps, got {len(self.steps)}")
        for index, step in enumerate(self.steps[1:], start=2):
            if get(step.name).first_only:
                raise TaskSyntaxError(
                    f"'{step.name}' may only be the first step, found at step {index}"
                )

    @classmethod
    def parse(cls, text: str) -> Task:
        """Parse task text; bare names mean representative parameters.

        Raises:
            TaskSyntaxError: naming the bad token and what would be valid.
        """
        if not isinstance(text, str) or not text.strip():
            raise TaskSyntaxError("empty task text; write e.g. 'haze + noise(sigma=20)'")
        parts = _split_steps(text)
        return cls(tuple(_parse_step(part, index) for index, part in enumerate(parts, start=1)))

    def __str__(self) -> str:
        return " + ".join(str(step) for step in self.steps)

    @cached_property
    def id(self) -> str:
        """Stable id: the first 16 hex digits of SHA-256 of the canonical text."""
        return hashlib.sha256(str(self).encode("utf-8")).hexdigest()[:16]

    @property
    def key(self) -> int:
        """The id as a 64-bit integer, used as entropy for the per-step generators."""
        return int(self.id, 16)

    @property
    def order(self) -> int:
        """Number of steps k."""
        return len(self.steps)

    @property
    def names(self) -> tuple[str, ...]:
        """Degradation names in application order."""
        return tuple(step.name for step in self.steps)

    def step_rng(self, seed: int, image_index: int, step_index: int) -> np.random.Generator:
        """The generator of one step: SeedSequence([seed, image_index, task key, step index])."""
        entropy = [seed, image_index, self.key, step_index]
        return np.random.default_rng(np.random.SeedSequence(entropy))

    def apply(
        self,
        image: FloatImage,
        seed: int,
        *,
        image_index: int = 0,
        context: ImageContext | None = None,
    ) -> FloatImage:
        """Degrade a clean float32 H×W×3 image in [0, 1]; the result lies on the 1/255 grid.

        The same (task, image, seed, image_index, context sources) always give the same bytes.
        """
        check_image(image)
        if seed < 0 or image_index < 0:
            raise ParameterError(f"seed and image_index must be ≥ 0, got {seed}, {image_index}")
        ctx = (context if context is not None else ImageContext()).placed(seed, image_index)
        out = image
        for index, step in enumerate(self.steps):
            rng = self.step_rng(seed, image_index, index)
            out = get(step.name).apply(out, step.param_dict, rng, ctx)
        return out


def _split_steps(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise TaskSyntaxError(f"unbalanced ')' in {text!r}")
        if char == "+" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth != 0:
        raise TaskSyntaxError(f"unclosed '(' in {text!r}")
    parts.append("".join(current))
    for index, part in enumerate(parts, start=1):
        if not part.strip():
            raise TaskSyntaxError(
                f"step {index} is empty in {text!r} (a '+' with nothing beside it)"
            )
    return parts


def _parse_step(part: str, index: int) -> Step:
    token = part.strip()
    name, _, rest = token.partition("(")
    name = name.strip()
    if not _NAME.match(name) or name not in names():
        hint = did_you_mean(name, names())
        raise TaskSyntaxError(f"unknown degradation '{name}' in step {index}; {hint}")
    if rest and (not rest.endswith(")") or "(" in rest):
        raise TaskSyntaxError(f"malformed parameters in step {index}: '{token}'")
    args = _parse_args(name, rest[:-1], index) if rest else {}
    try:
        return Step.of(name, args)
    except ParameterError as error:
        raise ParameterError(f"step {index}: {error}") from None


def _parse_args(name: str, inner: str, index: int) -> dict[str, object]:
    valid = [p.name for p in get(name).params]
    args: dict[str, object] = {}
    if not inner.strip():
        return args  # "blur()" means representative parameters, like a bare name
    for item in (s.strip() for s in inner.split(",")):
        if not item:
            raise TaskSyntaxError(f"empty parameter in step {index} of {name} (a stray ',')")
        key, eq, value = (s.strip() for s in item.partition("="))
        if key not in valid:
            hint = did_you_mean(key, valid) if valid else "it takes no parameters"
            raise TaskSyntaxError(f"unknown parameter '{key}' for {name} in step {index}; {hint}")
        if not eq or not _NUMBER.match(value):
            raise TaskSyntaxError(f"parameter '{key}' of {name} needs a number, got '{item}'")
        if key in args:
            raise TaskSyntaxError(f"parameter '{key}' of {name} is given twice in step {index}")
        number = float(value)
        args[key] = int(number) if _is_int_text(value) else number
    return args


def _is_int_text(value: str) -> bool:
    return re.fullmatch(r"[+-]?\d+", value) is not None


def representative_tasks() -> list[Task]:
    """The 50 representative tasks of Table C.1, in order (index + 1 = the table's id)."""
    return [Task.parse(line.text) for line in paper_lines() if line.text is not None]


def select_tasks(spec: str) -> list[tuple[str, Task]]:
    """Resolve a CLI task argument: ``representative`` → Table C.1's 50 keyed "1".."50";
    anything else is one task text, keyed by its id.

    Example:
        >>> [key for key, _ in select_tasks("haze + noise")]
        ['788453aaea93eb1a']
    """
    if spec.strip().lower() == "representative":
        return [(str(i), task) for i, task in enumerate(representative_tasks(), start=1)]
    task = Task.parse(spec)
    return [(task.id, task)]


def sample_task(
    seed: int | Sequence[int],
    order: int | None = None,
    *,
    strengths: Literal["random", "representative"] = "random",
) -> Task:
    """Draw a random task: order uniform in 1..5 unless given, rain/haze/snow only as step 1.

    ``strengths="representative"`` keeps each degradation's fixed parameters and randomises only
    the sequence (how the paper sampled candidates for representative-task selection).

    Example:
        >>> sample_task(7) == sample_task(7)
        True
    """
    if order is not None and not 1 <= order <= MAX_ORDER:
        raise ParameterError(f"order must lie in 1..{MAX_ORDER}, got {order}")
    if strengths not in ("random", "representative"):
        raise ParameterError(f"strengths must be 'random' or 'representative', got {strengths!r}")
    entropy = [seed] if isinstance(seed, int) else list(seed)
    rng = np.random.default_rng(np.random.SeedSequence(entropy))
    k = order if order is not None else int(rng.integers(1, MAX_ORDER, endpoint=True))
    everything = all_degradations()
    later = [d for d in everything if not d.first_only]
    steps = []
    for index in range(k):
        pool = everything if index == 0 else later
        degradation = pool[int(rng.integers(len(pool)))]
        params = degradation.sample(rng) if strengths == "random" else degradation.representative
        steps.append(Step.of(degradation.name, params))
    return Task(tuple(steps))


__all__ = [
    "DEGRADATION_VERSION",
    "GirError",
    "Step",
    "Task",
    "format_value",
    "representative_tasks",
    "sample_task",
    "select_tasks",
]
