"""Where LocalStack's gateway is, as a process on this host reaches it: the functions the
executor runs, and the ResponseURLs the custom-resource provider presigns for them."""

from localstack import config


def gateway_host() -> str:
    host = config.GATEWAY_LISTEN[0].host
    # A wildcard listen address is not one a client can connect to.
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def gateway_url() -> str:
    """The gateway's origin, e.g. http://127.0.0.1:4566 (no trailing slash)."""
    return f"http://{gateway_host()}:{config.GATEWAY_LISTEN[0].port}"
