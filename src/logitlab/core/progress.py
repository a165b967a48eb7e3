"""Progress of long work, shown while it runs: ``verbose=`` of fits, CV paths,
profile intervals, Dask fits and the command line (one implementation).

Two kinds of work:

* a solver run (:func:`iterations`): a callback ``show(iteration, objective,
  grad_norm)`` for the solvers' ``callback=`` (:class:`logitlab.solvers._common.Recorder`
  calls it after every iteration; iteration 0 is the start point); the display
  gives the iteration, the objective, the max-norm of the (sub)gradient (the
  KKT violation) and the time elapsed;
* counted steps (:func:`steps`): ``total`` units of work (folds × alphas of a CV
  path, coefficients of profile intervals); ``advance(label)`` after each; the
  display gives done / total, the time elapsed and the time left, estimated
  as ``elapsed · (total − done) / done``.

``verbose`` (:func:`check_verbose`):

* ``0`` / ``False`` / ``None`` (the default everywhere): nothing, at no cost —
  no callback is installed and rich is not imported;
* ``1`` / ``True``: when the output is interactive — standard error is a
  terminal, or the code runs in a Jupyter kernel — a live status line (rich),
  kept as the last state when the work ends; quiet otherwise;
* ``2``: as 1, and one line per iteration or step as well;
* ``"always"``: every line (as 2) whether or not the output is interactive, as
  plain text when it is not a terminal (logs, CI, tests).

Output goes to standard error (rich's ``Console(stderr=True)``), never to
standard output; rich decides what a terminal is (``isatty``, or the
``FORCE_COLOR`` / ``TTY_COMPATIBLE`` environment variables). Without rich (or
in a notebook without ipywidgets, where rich has no live display) the lines are
printed instead of the live status line, at most one a second at level 1.
Progress only reads the values it is given: it never changes a result.
"""

from __future__ import annotations

import contextlib
import sys
import time

#: the level of ``verbose="always"`` (the lines of level 2, forced)
ALWAYS = 3
#: seconds between two printed lines at level 1 when no live display is possible
LINE_INTERVAL = 1.0
#: seconds between two updates of the live line (and two batches of lines)
REFRESH = 0.1


def check_verbose(verbose) -> int:
    """The level 0–3 of a ``verbose=`` value (see the module docstring), or a
    ``ValueError`` naming the accepted values."""
    if verbose is None or verbose is False:
        return 0
    if verbose is True:
        return 1
    if isinstance(verbose, str):
        if verbose == "always":
            return ALWAYS
    elif isinstance(verbose, int) and verbose in (0, 1, 2):
        return int(verbose)
    elif hasattr(verbose, "__index__") and int(verbose) in (0, 1, 2):   # numpy integers
        return int(verbose)
    raise ValueError(f"verbose must be 0 (False), 1 (True), 2 or 'always'; got {verbose!r}. "
                     "1 shows a live progress line when the output is interactive, 2 adds a "
                     "line per iteration, 'always' prints those lines even to a file or pipe.")


def output_console():
    """The rich ``Console`` progress writes to (standard error), or None when
    rich is not installed."""
    try:
        from rich.console import Console
    except ImportError:
        return None
    return Console(stderr=True, highlight=False)


def _widgets_available() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def _mode(level: int, console) -> str:
    """``"off"``, ``"live"`` (a rich live status line) or ``"lines"``."""
    if console is None:
        stream = sys.stderr
        tty = bool(getattr(stream, "isatty", lambda: False)())
        return "lines" if tty or level == ALWAYS else "off"
    jupyter = bool(console.is_jupyter)
    terminal = bool(console.is_terminal) and not jupyter
    if terminal and not console.is_dumb_terminal:
        return "live"
    if jupyter:
        return "live" if _widgets_available() else "lines"
    return "lines" if terminal or level == ALWAYS else "off"


class _Display:
    """Lines and a live status line of one piece of work (see the module docstring).

    ``line(values)`` and ``status(values)`` format what :meth:`show` is given;
    they run only when something is written: the live line is updated at most
    every ``REFRESH`` seconds and lines are written in batches as often, so a
    solver iteration costs a few microseconds however fast the solver is."""

    def __init__(self, level: int, title: str, line, status, total=None):
        self.level, self.title, self.total = level, title, total
        self.line, self.status = line, status
        self.console = output_console()
        self.mode = _mode(level, self.console)
        self.start = time.monotonic()
        self.interval = REFRESH if self.mode == "live" or level >= 2 else LINE_INTERVAL
        self.last = -float("inf")
        self.lines = []                  # values whose lines are not yet written
        self.newest = self.completed = None
        self.live = self.task = None
        if self.mode == "live":
            self._start_live()

    def _start_live(self):
        from rich import progress as rp
        columns = [rp.SpinnerColumn(), rp.TextColumn("[bold]{task.description}")]
        if self.total is not None:      # counted work: the label of a step is in its line
            columns += [rp.BarColumn(bar_width=20), rp.MofNCompleteColumn(),
                        rp.TextColumn("left"), rp.TimeRemainingColumn()]
        else:
            columns += [rp.TextColumn("{task.fields[status]}")]
        columns += [rp.TimeElapsedColumn()]
        self.live = rp.Progress(*columns, console=self.console, transient=False)
        self.task = self.live.add_task(self.title, total=self.total, status="")
        self.live.start()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def show(self, values: tuple, completed=None):
        """Record one iteration or step; write when ``interval`` has passed."""
        if self.level >= 2:
            self.lines.append(values)
        self.newest, self.completed = values, completed
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._flush()

    def _flush(self):
        text = [self.line(v) for v in self.lines]
        if self.live is not None:
            if text:
                self.live.console.print("\n".join(text), markup=False, highlight=False,
                                        soft_wrap=True)
            if self.newest is not None:
                self.live.update(self.task, status=self.status(self.newest),
                                 completed=self.completed)
        else:
            if self.level < 2 and self.newest is not None:
                text = [self.line(self.newest)]
            if text:
                self._write("\n".join(text))
        self.lines, self.newest = [], None

    def _write(self, text: str):
        if self.console is None:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()
        else:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def close(self):
        """Write what is pending; stop the live line (its last state stays)."""
        self._flush()
        if self.live is not None:
            self.live.refresh()
            self.live.stop()


def iteration_line(title: str, iteration: int, objective: float, grad_norm: float,
                   elapsed: float) -> str:
    """One iteration as a line of text (the format every mode prints)."""
    return (f"{title}: iteration {iteration:>4}  objective {objective:.12g}  "
            f"max|gradient| {grad_norm:.3e}  elapsed {elapsed:.2f} s")


def step_line(title: str, done: int, total: int, label: str, elapsed: float) -> str:
    """One step of counted work as a line: done / total, elapsed, time left."""
    left = elapsed * (total - done) / done if done else float("nan")
    return (f"{title}: {done}/{total} done ({label})  elapsed {elapsed:.1f} s  "
            f"left ~{left:.1f} s")


def _iteration_status(values) -> str:
    iteration, objective, grad_norm, _ = values
    return f"iteration {iteration}  objective {objective:.10g}  max|grad| {grad_norm:.2e}"


@contextlib.contextmanager
def iterations(verbose, title: str = "fit"):
    """A solver callback ``show(iteration, objective, grad_norm)`` displaying
    each iteration (see the module docstring), or None when ``verbose`` is off
    or the output is not interactive (then nothing is imported or timed).
    A second solver run in the same display (the float64 polish, a refit
    without aliased columns) starts again at iteration 0."""
    level = check_verbose(verbose)
    display = (_Display(level, title, lambda v: iteration_line(title, *v), _iteration_status)
               if level else None)
    if display is None or display.mode == "off":
        yield None
        return

    def show(iteration, objective, grad_norm):
        display.show((iteration, objective, grad_norm, display.elapsed()))

    try:
        yield show
    finally:
        display.close()


class Steps:
    """Counted work in progress: :meth:`advance` after each of ``total`` steps."""

    def __init__(self, display: _Display | None, total: int):
        self.display, self.total, self.done = display, int(total), 0

    def advance(self, label: str = "") -> None:
        """One more step done; ``label`` says which (e.g. "fold 2/5, alpha 3/20")."""
        self.done += 1
        if self.display is not None:
            self.display.show((self.done, label, self.display.elapsed()), completed=self.done)


@contextlib.contextmanager
def steps(verbose, title: str, total: int):
    """A :class:`Steps` counter of ``total`` steps, displayed when ``verbose``
    asks for it and the output is interactive (else it only counts)."""
    level = check_verbose(verbose)
    display = (_Display(level, title, lambda v: step_line(title, v[0], total, v[1], v[2]),
                        lambda v: v[1], total) if level else None)
    if display is not None and display.mode == "off":
        display = None
    try:
        yield Steps(display, total)
    finally:
        if display is not None:
            display.close()


def chain(first, second):
    """One callback calling ``first`` then ``second`` (either may be None)."""
    if first is None or second is None:
        return first if second is None else second

    def both(iteration, objective, grad_norm):
        first(iteration, objective, grad_norm)
        second(iteration, objective, grad_norm)
    return both
