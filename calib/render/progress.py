"""One progress display for every long command: item N of M, the current item's phase, elapsed and an ETA.

`Tracker` holds the counts and derives elapsed and the ETA from an injectable clock (tests drive a fake one);
the ETA is the finished items' mean duration times the items left, and is unknown (None, not shown) until one
item has finished. Three views share the tracker's interface (`start`, `phase`, `finish`, a context manager):
a rich live display on a terminal, plain milestone lines for pipes and CI logs (a line per item, or per 10%
when there are many), and nothing for `-q` (`progress_display` picks)."""

from __future__ import annotations

import time
from typing import Callable

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn
from rich.text import Text

# Plain mode: every item is a milestone up to this many, then every 10% (one line each either way).
EVERY_ITEM_UP_TO = 20


def clock_text(seconds: float) -> str:
    """0:07, 12:30, 1:02:03: as rich and hyperfine show durations."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Tracker:
    """Counts and times of one long job: `start(label)` begins the next item (finishing the one before),
    `finish()` ends the current one. `index=` jumps ahead where the job skips items (an op over budget)."""

    def __init__(self, total: int | None, noun: str = "", clock: Callable[[], float] = time.monotonic):
        self.total, self.noun, self.clock = total, noun, clock
        self.started_at = clock()
        self.done = 0  # items finished (or skipped past)
        self.current: int | None = None  # 0-based index of the item in progress
        self.label, self.phase_name = "", ""
        self._busy_s, self._timed = 0.0, 0  # the finished items' time and count, for their mean
        self._item_started = self.started_at

    def start(self, label: str, phase: str = "", index: int | None = None, total: int | None = None,
              noun: str | None = None) -> None:
        if total is not None:
            self.total = total
        if noun is not None:
            self.noun = noun
        if self.current is not None:
            self.finish()
        self.done = max(self.done, index if index is not None else self.done)
        self.current, self.label, self.phase_name = self.done, label, phase
        self._item_started = self.clock()

    def phase(self, phase: str) -> None:
        """The current item's phase; between items (after `finish`), a step of the whole job."""
        self.phase_name = phase

    def finish(self) -> None:
        if self.current is None:
            return
        now = self.clock()
        self._busy_s += now - self._item_started
        self._timed += 1
        self.done, self.current, self.label, self.phase_name = self.current + 1, None, "", ""

    @property
    def elapsed_s(self) -> float:
        return self.clock() - self.started_at

    @property
    def mean_s(self) -> float | None:
        return self._busy_s / self._timed if self._timed else None

    @property
    def eta_s(self) -> float | None:
        """Seconds left: the mean item times the items left, less what the current one has run (never
        below the items after it). None until an item has finished, or with no total."""
        mean = self.mean_s
        if mean is None or self.total is None or self.done >= self.total:
            return None
        left = max(0, self.total - self.done)
        if self.current is None:
            return mean * left
        running = self.clock() - self._item_started
        return max(mean * left - running, mean * max(0, left - 1))

    def count_text(self) -> str:
        of = f" of {self.total}" if self.total is not None else ""
        if self.current is None and not self.done:
            return "starting"
        if self.current is None:  # between items: what is finished
            return f"{self.noun} {self.done}{of} done".strip()
        return f"{self.noun} {self.current + 1}{of}".strip()

    def what_text(self) -> str:
        return " · ".join(part for part in (self.label, self.phase_name) if part)

    def times_text(self) -> str:
        eta = self.eta_s
        return f"elapsed {clock_text(self.elapsed_s)}" + (f", ETA ~{clock_text(eta)}" if eta is not None else "")


class _TrackerColumn(ProgressColumn):
    """A column that reads the tracker at each refresh (so elapsed and the ETA tick between items)."""

    def __init__(self, tracker: Tracker, render_text: Callable[[Tracker], str], style: str = ""):
        super().__init__()
        self.tracker, self.render_text, self.style = tracker, render_text, style

    def render(self, task) -> Text:
        return Text(self.render_text(self.tracker), style=self.style)


class _Display:
    """The tracker's interface, drawn (or not) by the subclass's `_show`."""

    def __init__(self, title: str, tracker: Tracker):
        self.title, self.tracker = title, tracker

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def start(self, label: str, phase: str = "", index: int | None = None, total: int | None = None,
              noun: str | None = None) -> None:
        """`noun` names this item where a job has more than one kind ("op 3 of 60", then "model 58 of 60")."""
        self.tracker.start(label, phase, index, total, noun)
        self._show("start")

    def phase(self, phase: str) -> None:
        self.tracker.phase(phase)
        self._show("phase")

    def finish(self) -> None:
        self.tracker.finish()
        self._show("finish")

    def _show(self, event: str) -> None:
        pass


class SilentProgress(_Display):
    """-q: the tracker still counts, nothing is written."""


class PlainProgress(_Display):
    """Pipes and CI logs: one line per milestone as an item starts (every item up to EVERY_ITEM_UP_TO,
    else at each 10% of the total), with elapsed and the ETA; a last line with the total time."""

    def __init__(self, title: str, tracker: Tracker, echo: Callable[[str], None]):
        super().__init__(title, tracker)
        self.echo = echo
        self._last_tenth = -1

    def __exit__(self, exc_type, *exc_info):
        tracker = self.tracker
        tracker.finish()
        if exc_type is None and tracker.done:
            of = f" of {tracker.total}" if tracker.total is not None else ""
            self.echo(f"{self.title}: {tracker.done}{of} done in {clock_text(tracker.elapsed_s)}")
        return False

    def _show(self, event: str) -> None:
        tracker = self.tracker
        between_items = event == "phase" and tracker.current is None  # a step of the whole job, said once
        if not between_items and (event != "start" or not self._milestone()):
            return
        what = f": {tracker.what_text()}" if tracker.what_text() else ""
        self.echo(f"{self.title}: {tracker.count_text()}{what} ({tracker.times_text()})")

    def _milestone(self) -> bool:
        total = self.tracker.total
        if total is None or total <= EVERY_ITEM_UP_TO:
            return True
        tenth = self.tracker.done * 10 // total
        if tenth > self._last_tenth:
            self._last_tenth = tenth
            return True
        return False


class LiveProgress(_Display):
    """A terminal: rich's live bar, redrawn in place and cleared at the end (the results follow)."""

    def __init__(self, title: str, tracker: Tracker, console: Console, refresh_per_second: float = 4,
                 auto_refresh: bool = True):
        super().__init__(title, tracker)
        self.progress = Progress(
            _TrackerColumn(tracker, lambda t: title, "bold"),
            _TrackerColumn(tracker, Tracker.count_text),
            BarColumn(bar_width=20),
            _TrackerColumn(tracker, Tracker.what_text, "cyan"),
            _TrackerColumn(tracker, Tracker.times_text, "dim"),
            console=console, transient=True, get_time=tracker.clock, refresh_per_second=refresh_per_second,
            auto_refresh=auto_refresh)
        self.task = self.progress.add_task(title, total=tracker.total)

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc_info):
        self.tracker.finish()
        return self.progress.__exit__(*exc_info)

    def _show(self, event: str) -> None:
        self.progress.update(self.task, total=self.tracker.total, completed=self.tracker.done)
        self.progress.refresh()


def progress_display(title: str, total: int | None, *, quiet: bool, console: Console, noun: str = "",
                     clock: Callable[[], float] = time.monotonic) -> _Display:
    """The display for this run: nothing with -q, live on a terminal, milestone lines otherwise.
    `console` is the stream it writes to (stderr: the results on stdout stay clean)."""
    tracker = Tracker(total, noun, clock)
    if quiet:
        return SilentProgress(title, tracker)
    if console.is_terminal:
        return LiveProgress(title, tracker, console)
    return PlainProgress(title, tracker, lambda line: print(line, file=console.file, flush=True))
