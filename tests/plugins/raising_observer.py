"""An event observer that always raises."""

from spine_host import hookimpl


@hookimpl
def spine_run_finished(run):
    raise RuntimeError("observer exploded")
