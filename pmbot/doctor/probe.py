"""Is a URL reachable? The cause when it is not: DNS, refused, TLS, timeout or the HTTP status."""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

import requests

from pmbot.doctor.report import Result, failed, passed

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def connect_cause(url: str, timeout: float) -> str | None:
    """None when a TCP (and, for https/wss, TLS) connection to the URL's host opens; else the
    cause in words."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return f"not an http(s)/ws(s) URL: {url!r}"
    host = parts.hostname
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        return "bad port in the URL"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"DNS: cannot resolve {host} ({exc.strerror})"
    family, _, _, _, addr = infos[0]
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(addr)
            if scheme in ("https", "wss"):
                ctx = ssl.create_default_context()
                with ctx.wrap_socket(sock, server_hostname=host):
                    pass
    except ConnectionRefusedError:
        return f"connection refused by {host}:{port} (nothing listens there)"
    except ssl.SSLError as exc:
        return f"TLS: {exc.reason or type(exc).__name__}"
    except TimeoutError:
        return f"timeout: no answer from {host}:{port} within {timeout:g} s"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    return None


def http_status_cause(url: str, timeout: float) -> str | None:
    """None when a GET answers 2xx; else the status (or the transport failure)."""
    try:
        resp = requests.get(url, timeout=timeout)
    except requests.exceptions.Timeout:
        return f"timeout: no HTTP answer within {timeout:g} s"
    except requests.RequestException as exc:
        return f"HTTP request failed ({type(exc).__name__})"
    if not 200 <= resp.status_code < 300:
        return f"HTTP {resp.status_code} {resp.text[:120]!r}"
    return None


def check_url(key: str, url: str, probe_path: str | None, timeout: float = 5.0) -> Result:
    """``key`` is the config key (``venue.clob_url``); ``probe_path`` a GET that must be 2xx."""
    name = f"reach {key}"
    cause = connect_cause(url, timeout)
    if cause is None and probe_path is not None:
        cause = http_status_cause(url.rstrip("/") + probe_path, timeout)
    if cause is None:
        return passed(name, f"{url} answers")
    return failed(name, f"{url}: {cause}", f"check {key} (and the network, proxy or firewall)")
