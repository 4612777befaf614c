"""Every table, imported in one place so Alembic's metadata sees the whole schema."""

from app.auth.models import ApiToken, LoginFailure, User
from app.benchmarks.models import (
    BenchmarkVersion,
    Image,
    ImageSet,
    LineRecord,
    TaskDef,
    VersionImageSet,
    VersionTask,
)
from app.db import Base
from app.leaderboard.models import BoardState
from app.submissions.models import (
    RealWorldResultRow,
    Submission,
    Summary,
    TaskResultRow,
)

__all__ = [
    "ApiToken",
    "Base",
    "BenchmarkVersion",
    "BoardState",
    "Image",
    "ImageSet",
    "LineRecord",
    "LoginFailure",
    "RealWorldResultRow",
    "Submission",
    "Summary",
    "TaskDef",
    "TaskResultRow",
    "User",
    "VersionImageSet",
    "VersionTask",
]
