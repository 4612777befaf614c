"""The client's pieces that need no service: progress output, ETA, rendering of partial JSON,
and how error responses become exit codes (end to end: tests/worker/test_cli_client.py)."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest

from gir_core.client.api import error_for
from gir_core.client.errors import EXIT_TABLE, ClientError, Exit
from gir_core.client.follow import Eta, describe, follow
from gir_core.client.progress import Progress, UploadBar
from gir_core.client.render import results_csv, results_text, shortfalls, summary_lines


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_one_line_per_change_off_a_terminal_and_redrawn_on_one() -> None:
    plain = io.StringIO()
    shown = Progress(stream=plain, live=False)
    for text in ("queued: 2 ahead of it", "queued: 2 ahead of it", "validating"):
        shown.show(text)
    shown.note("done")
    assert plain.getvalue() == "queued: 2 ahead of it\nvalidating\ndone\n"

    terminal = io.StringIO()
    live = Progress(stream=terminal, live=True)
    live.show("a")
    live.show("b")
    live.note("done")
    assert terminal.getvalue() == "\r\033[Ka\r\033[Kb\ndone\n"

    quiet = io.StringIO()
    silent = Progress(stream=quiet, quiet=True, live=True)
    silent.show("a")
    silent.note("b")
    UploadBar(silent, "uploading")(5, 10)
    assert quiet.getvalue() == ""


def test_the_upload_bar_prints_tenths_off_a_terminal() -> None:
    out = io.StringIO()
    upload = UploadBar(Progress(stream=out, live=False), "up")
    for sent in range(0, 101):
        upload(sent, 100)
    lines = out.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[5] == "up [############------------]  50%"


def test_eta_counts_only_tasks_finished_while_watched() -> None:
    clock = Clock()
    eta = Eta(clock)
    assert eta.update(4, 10) is None  # the baseline: 4 were done before we looked
    clock.now += 30
    assert eta.update(4, 10) is None  # no task finished yet
    clock.now += 30
    assert eta.update(6, 10) == pytest.approx(60 / 2 * 4)
    running = {"status": "running", "progress": {"done": 8, "total": 10}}
    clock.now += 60
    assert (
        describe(running, eta) == "running [###################-----] 8/10 tasks, ETA 1m00s"
    )  # 30 s a task


def test_describe_tolerates_missing_fields() -> None:
    assert describe({"status": "queued", "progress": {"queue_position": 0}}, Eta()) == (
        "queued: next"
    )
    assert describe({"status": "validating"}, Eta()) == "validating"
    assert describe({"status": "running", "progress": {"total": 0}}, Eta()) == "running"
    assert describe({}, Eta()) == "unknown"


def test_the_summary_shows_intervals_split_and_rank_and_dashes_for_what_is_withheld() -> None:
    submission = {
        "id": 7, "name": "net", "status": "scored", "benchmark_version": "v1",
        "visibility": "public",
        "summary": {"ar": 0.4166, "ar_low": 0.3, "ar_high": 0.5, "er": 0.1, "mean_psnr": 27.312,
                    "psnr_low": 27.0, "psnr_high": 27.6, "ar_representative": 0.5,
                    "future_field": [1, 2]},
    }  # fmt: skip
    lines = summary_lines(submission, (3, 12))
    assert lines[0] == "submission 7 (net): scored on benchmark version v1"
    assert lines[1] == "AR         0.42  [0.30, 0.50]"
    assert lines[2] == "ER         0.10"  # no interval published
    assert lines[3] == "mean PSNR  27.31 dB  [27.00, 27.60]"
    assert lines[4] == (
        "split      AR representative 0.50 · hidden –; PSNR representative – · hidden – dB"
    )
    assert lines[5] == "rank       3 of 12 on v1"
    private = summary_lines({**submission, "visibility": "private"}, None)
    assert private[-1] == "rank       not ranked (private)"


def test_shortfalls_name_the_threshold_and_the_gap() -> None:
    summary = {"ar": 0.35, "er": 0.1}
    assert shortfalls(summary, {"ar": 0.4, "er": 0.1}) == ["AR 0.35 is below --min-ar 0.4 by 0.05"]
    assert shortfalls(summary, {"ar": 0.35, "er": None}) == []
    assert shortfalls({}, {"er": 0.1}) == ["ER is not published, so --min-er cannot be met"]


def test_results_list_public_tasks_only() -> None:
    results = {
        "tasks": [
            {"key": "1", "kind": "representative", "order": 1, "spec": "noise(sigma=20)",
             "mean_psnr": 30.123,
             "mean_ssim": 0.91, "acceptance_psnr": 29.0, "excellence_psnr": 31.0,
             "passed_acceptance": True, "passed_excellence": False, "score": 0.56},
            {"key": "h1", "order": 2, "spec": None, "mean_psnr": 25.0},
        ]
    }  # fmt: skip
    text = results_text(results).splitlines()
    assert text[0].split() == ["task", "k", "PSNR", "SSIM", "acc", "exc", "pass", "spec"]
    assert text[1].split() == [
        "1",
        "1",
        "30.12",
        "0.9100",
        "29.00",
        "31.00",
        "acc",
        "noise(sigma=20)",
    ]
    assert text[2] == "(+ 1 hidden tasks, counted in the summary only)"
    rows = results_csv(results).splitlines()
    assert len(rows) == 2
    assert rows[1] == "1,representative,1,noise(sigma=20),30.123,0.91,29.0,31.0,True,False,0.56,"


def test_results_say_line_broken_without_marks() -> None:
    """A task whose lines are broken has null marks and score (gir_core.generality.task_mark)."""
    task = {"key": "4", "order": 1, "spec": "blur(sigma=1)", "mean_psnr": 27.5,
            "acceptance_psnr": 28.0, "excellence_psnr": 27.0, "line_broken": True,
            "passed_acceptance": None, "passed_excellence": None, "score": None}  # fmt: skip
    row = results_text({"tasks": [task]}).splitlines()[1]
    assert row.split()[-3:] == ["line", "broken", "blur(sigma=1)"]
    assert results_csv({"tasks": [task]}).splitlines()[1].endswith(",27.0,,,,True")


def _response(status: int, body: object = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize(
    ("status", "body", "headers", "code", "sentence"),
    [
        (401, {"detail": {"code": "unauthorized", "message": "the API token is invalid."}}, {},
         Exit.SERVICE, "the service refused the token (401): the API token is invalid (set "
         "GIR_TOKEN to an API token of your account)"),
        (403, {"detail": {"code": "forbidden", "message": "no"}}, {}, Exit.SERVICE,
         "the service refused the request (403): no"),
        (429, {"detail": {"code": "quota_exceeded", "message": "5 a day"}},
         {"Retry-After": "60"}, Exit.SERVICE, "the quota is used up (429): 5 a day; try again "
         "in 60 s"),
        (503, None, {}, Exit.SERVICE, "the service is unavailable (503): Service Unavailable"),
        (413, {"detail": {"code": "too_large", "message": "over 1024 MB"}}, {}, Exit.USAGE,
         "the service rejected the request (413): over 1024 MB"),
        (422, {"detail": "plain text detail"}, {}, Exit.USAGE,
         "the service rejected the request (422): plain text detail"),
    ],
)  # fmt: skip
def test_error_responses_become_exit_codes_and_one_sentence(
    status: int, body: object, headers: dict[str, str], code: Exit, sentence: str
) -> None:
    error = error_for(_response(status, body, **headers))
    assert (error.code, error.message, error.status) == (code, sentence, status)
    assert error.transient == (status >= 500)  # following retries these, not refusals


def test_the_readme_documents_the_same_exit_codes_as_the_help() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for code, meaning in EXIT_TABLE:
        assert f"| {int(code)} | {meaning} |" in readme
    assert [int(code) for code, _ in EXIT_TABLE] == list(range(6))


class Answers:
    """Stands in for :class:`Api` in :func:`follow`: scripted status reads, in order."""

    def __init__(self, *answers: dict[str, object] | ClientError) -> None:
        self.answers = list(answers)
        self.reads = 0

    def submission(self, submission_id: int) -> dict[str, object]:
        self.reads += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, ClientError):
            raise answer
        return answer

    def page_url(self, submission_id: int) -> str:
        return f"https://gir.example.org/submissions/{submission_id}"


def _follow(api: Answers, **options: float | None) -> dict[str, object]:
    shown = Progress(stream=io.StringIO(), live=False)
    return follow(api, 7, shown, poll=0.01, **options)  # type: ignore[arg-type]


def test_following_rides_out_a_dropped_connection_but_not_a_refusal() -> None:
    dropped = ClientError("cannot reach https://gir.example.org: ConnectError", Exit.SERVICE)
    scored = {"status": "scored", "id": 7}
    assert _follow(Answers(dropped, dropped, {"status": "running"}, scored), timeout=None) == scored
    refused = ClientError("the service refused the token (401)", Exit.SERVICE, status=401)
    with pytest.raises(ClientError) as raised:
        _follow(Answers(refused, scored), timeout=None)
    assert raised.value is refused
    with pytest.raises(ClientError) as gone:
        _follow(Answers(dropped), timeout=None)
    assert gone.value is dropped  # after MAX_MISSES + 1 reads in a row


def test_following_gives_up_at_the_timeout_with_exit_5() -> None:
    running = Answers({"status": "running", "progress": {"done": 1, "total": 4}})
    with pytest.raises(ClientError) as raised:
        _follow(running, timeout=0.05)
    assert raised.value.code == Exit.TIMEOUT
    assert raised.value.message == (
        "--timeout 0.05 s passed while submission 7 was running; it keeps running: "
        "https://gir.example.org/submissions/7"
    )
    assert running.reads >= 2  # read again until the time was up (the last at the deadline)
