"""A second plugin claiming ``otc.ingest``: the host must report both providers."""

from spine_host import hookimpl
from spine_host.pipelines import register_pipeline


@register_pipeline("otc.ingest")
def other_ingest(context, params):
    """Someone else's ingest."""
    return {}


@hookimpl
def spine_register_pipelines(register):
    register("otc.ingest", other_ingest)
