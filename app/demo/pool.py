"""Which Table C.1 tasks the demo benchmark holds. A module of its own because the bootstrap
(:mod:`app.demo.run`) and the command that makes the shipped lines (:mod:`app.demo.shipped`) both
read it, and the bootstrap imports that command: the command importing the bootstrap back would
close a circle."""

from __future__ import annotations

SINGLES: tuple[int, ...] = tuple(range(1, 11))
"""Table C.1's ten single degradations (keys 1-10)."""
MIXTURES: tuple[int, ...] = (14, 15, 19, 21, 24, 29, 36, 37, 41, 46)
"""Table C.1 mixtures in the demo: three of order 2 (14 compression + alg.artifact, 15 haze +
noise, 19 noise + blur), three of order 3 (21 compression + damage + resize, 24 snow +
compression + ringing, 29 snow + blur + noise), two of order 4 (36 blur + ringing + noise +
damage, 37 haze + resize + blur + noise) and two of order 5 (41 alg.artifact + resize + blur +
compression + damage, 46 rain + ringing + ringing + noise + compression): every one of the ten
degradations occurs, and no pick repeats resize, which at 256 px would leave a few pixels."""
