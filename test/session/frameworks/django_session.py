"""Writes Django sessions with Django's own session backends and prints what they produced.

Reads {"secretKey": ..., "payload": {...}} on stdin; prints on stdout
{"setCookie": [...], "cachePickle": base64, "cacheJson": base64}: the Set-Cookie of the
signed_cookies backend, and the bytes the cache backend hands its cache (pickled by Django's
cache, as its memcached and locmem backends store them; or through Django's JSON serializer).
"""
import base64
import json
import sys

import django
from django.conf import settings

args = json.load(sys.stdin)
settings.configure(
    SECRET_KEY=args["secretKey"],
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    INSTALLED_APPS=["django.contrib.sessions"],
    MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware"],
    SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
)
django.setup()

from django.contrib.sessions.backends.cache import SessionStore as CacheSession  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.signing import JSONSerializer  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import path  # noqa: E402


def login(request):
    request.session.update(args["payload"])
    return HttpResponse("ok")


urlpatterns = [path("", login)]

response = Client().get("/")
cookies = [morsel.OutputString() for morsel in response.cookies.values()]

stored = CacheSession()
stored.update(args["payload"])
stored.save()
# LocMemCache keeps what it was given pickled, exactly as the cache backends send it to the server.
pickled = cache._cache[cache.make_key(stored.cache_key)]

json.dump(
    {
        "setCookie": cookies,
        "cacheKey": stored.cache_key,
        "cachePickle": base64.b64encode(pickled).decode(),
        "cacheJson": base64.b64encode(JSONSerializer().dumps(dict(stored.items()))).decode(),
    },
    sys.stdout,
)
