"""The cache every process of a deployment shares (CACHE_URL), and its table when in the database.

What the cache holds: the API throttles' request history (API_THROTTLE_ANON/USER), the
allocation summaries and the price snapshot marker. In each process's memory (the default) a
throttle counts per gunicorn worker, so N workers let N times the rate through; redis:// or
dbcache://TABLE make every process count against one history.
"""

import re
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

SCHEMES = ("locmemcache", "redis", "rediss", "dbcache")
TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def cache_setting(url: str) -> dict:
    """CACHES["default"] from CACHE_URL, or a clear error naming the variable."""
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        raise ImproperlyConfigured(
            f"CACHE_URL must start with {', '.join(s + '://' for s in SCHEMES)}; got {url!r}."
        )
    config = environ.Env.cache_url_config(url)
    if scheme == "dbcache" and not TABLE.match(config["LOCATION"]):
        raise ImproperlyConfigured(
            "CACHE_URL=dbcache://TABLE needs a table name (letters, digits and _), "
            f"got {config['LOCATION']!r}."
        )
    return config


def create_cache_tables(sender, using, **kwargs):
    """post_migrate: the migrate run of every deploy creates the dbcache:// table (Django's
    createcachetable, which leaves an existing table alone)."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)
