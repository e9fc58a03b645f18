"""Any OpenAI-compatible chat endpoint (vLLM, SGLang, Ollama, LM Studio, hosted APIs) via the official client.

The client is made on the first request, never at import or construction, so building a provider needs no key
and no network. Retries are ours (`call_with_retries`), not the client's, so every provider retries the same
way and the attempt count reaches the prediction record. The API key is read from the environment variable
the options name and never appears in `describe()` or in an error message.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime
import email.utils
import json
import math
import os
import re
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple
from urllib.parse import quote, urlsplit, urlunsplit

from spinebench import __version__
from spinebench.display import terminal_safe
from spinebench.errors import ModelSpecError
from spinebench.models._breaker import CircuitBreaker
from spinebench.models._image_cache import AsSentImageCache, sha256_hex
from spinebench.models._keepalive import HttpFailure, KeepAlivePool, Reply
from spinebench.models._messages import chat_messages, is_sendable_jpeg, reencoded_jpeg
from spinebench.models._provider import ChatRequest, Completion, ErrorKind, ProviderError
from spinebench.models._retry import call_with_retries
from spinebench.models._spec import ProviderOptions

DEFAULT_BASE_URL = "https://api.openai.com/v1"
CONNECT_TIMEOUT = 10.0  # seconds to open a connection (the reply itself gets --timeout)
PLACEHOLDER_API_KEY = "EMPTY"  # local servers (vLLM, Ollama, LM Studio) accept any key
JPEG_DATA_URL_PREFIX = b"data:image/jpeg;base64,"
_IMAGE_SLOT = "\x00spinebench-image\x00"
_IMAGE_SLOT_JSON = json.dumps(_IMAGE_SLOT).encode()
_EXCERPT_CHARS = 300
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PRINTABLE_ASCII = re.compile(r"[\x21-\x7e]+")

if TYPE_CHECKING:
    from spinebench.models._openai_client import OfficialClient


class _Timeouts(NamedTuple):
    read: float  # the whole reply
    connect: float


class OpenAICompatProvider:
    """Chat completions from `model` at `options.base_url`; one request per question, text then image.

    `sleep` is the wait between retries (a test can pass a fake one).
    """

    def __init__(
        self,
        model: str,
        options: ProviderOptions | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.model = model
        self.options = options or ProviderOptions()
        self._sleep = sleep
        self._client: OfficialClient | None = None  # https and proxied URLs
        self._headers: list[tuple[bytes, bytes]] | None = None
        self._key = ""
        self._images = DataUrlCache(
            self.options.image_max_side, self.options.image_quality, disk=self.options.image_cache
        )
        self._breaker = CircuitBreaker()
        # A URL without http(s):// ("localhost:8000/v1") would fail every request as a connection error,
        # retried and recorded question by question; say so once, before the run starts.
        url = self.options.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        _check_base_url(url)
        if not _ENV_NAME.fullmatch(self.options.api_key_env):
            # Most likely the key itself: it would go into run.json (the name is recorded). Not echoed.
            raise ModelSpecError(
                "openai: --api-key-env takes the name of the environment variable holding the key "
                "(e.g. OPENAI_API_KEY), not the key; the value given is not such a name"
            )
        self._api_key()  # a key that cannot go in a header is refused now, not at the first question
        host = urlsplit(url).hostname or ""
        if is_hosted_api(host) and not os.environ.get(self.options.api_key_env):
            # Without this every question would be sent and fail with 401 (or go to the hosted API by
            # mistake when a local --base-url was forgotten).
            name = self.options.api_key_env
            raise ModelSpecError(
                f"openai: ${name} is not set, and {host} needs an API key. Export it ({name}=...), name "
                "another variable with --api-key-env, or give --base-url for a local server "
                "(e.g. http://localhost:8000/v1)"
            )
        # Plain-http servers reached without a proxy (a local vLLM, SGLang, Ollama: where per-request CPU
        # decides throughput) are posted to directly (models/_keepalive.py); None: the official client.
        # Opening a pool connects nowhere: connections are made by the first requests.
        self._pool: KeepAlivePool | None = None
        self._target = b""
        origin = _plain_http_origin(self.base_url)
        if origin is not None:
            timeout = self._timeout()
            self._pool = KeepAlivePool(*origin, connect_timeout=timeout.connect, timeout=timeout.read)
            path = urlsplit(self.base_url).path.rstrip("/") + "/chat/completions"
            self._target = quote(path, safe="/%!$&'()*+,;=:@-._~").encode()  # as httpx would send it

    @property
    def spec(self) -> str:
        return f"openai:{self.model}"

    @property
    def base_url(self) -> str:
        """Where requests go: the options' URL, else OPENAI_BASE_URL, else OpenAI's (as the client does)."""
        url = self.options.base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        return _without_password(url.rstrip("/"))

    def describe(self) -> dict[str, Any]:
        options = self.options
        return {
            "provider": "openai",
            "model": self.model,
            "base_url": self.base_url,
            "api_key_env": options.api_key_env,
            "timeout": options.timeout,
            "image_max_side": options.image_max_side,
            "image_quality": options.image_quality,
            "max_attempts": options.retry.max_attempts,
        }

    async def complete(self, request: ChatRequest) -> Completion:
        body, image_sha256 = await self._request_body(request)  # once, outside the retries

        async def attempt_once() -> Completion:
            return await self._attempt(body)

        completion, attempts = await call_with_retries(
            attempt_once, self.options.retry, sleep=self._sleep, breaker=self._breaker, advice=self._advice
        )
        return dataclasses.replace(completion, attempts=attempts, image_sha256=image_sha256)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
        if self._pool is not None:
            await self._pool.aclose()

    def _timeout(self) -> _Timeouts:
        # A live server accepts a connection in milliseconds; waiting the full reply timeout (120 s) for a
        # host that never answers would make a dead address take minutes per question to notice.
        return _Timeouts(self.options.timeout, min(self.options.timeout, CONNECT_TIMEOUT))

    def _advice(self, error: ProviderError) -> str:
        """How to fix a failure that every request would meet (see CircuitBreaker)."""
        key = self.options.api_key_env
        if error.kind == "connection":
            return (
                f"is the server running and reachable at {self.base_url}? Check --base-url (e.g. "
                "http://localhost:8000/v1) and that the server has finished loading"
            )
        if error.status == 401:
            return f"the key was refused: check ${key} (or name the right variable with --api-key-env)"
        if error.status == 403:
            return f"the key has no access to this model: check ${key} and the account's permissions"
        return (
            f"check the model name (openai:{self.model} must be the server's served model name; "
            f"GET {self.base_url}/models lists them) and that --base-url ends in /v1"
        )

    async def _request_body(self, request: ChatRequest) -> tuple[bytes, str | None]:
        """The chat completion request as JSON bytes, and the sha256 of the image in it.

        We serialise it ourselves rather than through `chat.completions.create`: the client's per-request
        type-driven transform of the messages costs about 2 ms of CPU, and JSON-escaping a megabyte of base64
        another 1-3 ms; together they capped one event loop near 150 requests/s. The cached data URL is
        spliced in as bytes instead (base64 never needs escaping).
        """
        params = request.params
        image: SentImage | None = None
        if request.image is not None:
            try:
                image = await self._images.sent_image(request.image)
            except OSError as error:  # PIL's UnidentifiedImageError and truncated files
                raise ProviderError(
                    "client", f"image of {request.id} cannot be read: {error}", retryable=False
                ) from error
        # The same messages as every backend; a placeholder stands where the data URL is spliced in below.
        messages = chat_messages(request, _IMAGE_SLOT if image is not None else None)
        payload: dict[str, Any] = {
            "model": self.model,
            "temperature": params.temperature,
            "max_tokens": params.max_tokens,  # not max_completion_tokens: vLLM and older servers reject it
        }
        if params.seed is not None:
            payload["seed"] = params.seed
        if params.top_p is not None:
            payload["top_p"] = params.top_p
        payload["messages"] = messages  # last, so the image slot is the last string of the document
        encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        if image is None:
            return encoded, None
        head, _, tail = encoded.rpartition(_IMAGE_SLOT_JSON)
        return b"".join((head, b'"', image.data_url, b'"', tail)), image.sha256

    async def _attempt(self, body: bytes) -> Completion:
        try:
            reply = await self._send(body)
        except HttpFailure as failure:
            raise self._failure_error(failure) from failure
        if not 200 <= reply.status < 300:
            text = reply.content.decode("utf-8", "replace")
            if 300 <= reply.status < 400:
                # The official client follows redirects; a plain-http model server that redirects a POST is
                # misconfigured, and following it would send the key to wherever it points.
                where = reply.headers.get("location", "(no location)")
                text = f"redirected to {where}: give that URL as --base-url"
            raise self._status_error(reply.status, reply.headers, text)
        return _parse_completion(reply.content, self.base_url, self._shown)

    async def _send(self, body: bytes) -> Reply:
        """Straight over a kept-alive connection to a plain-http server, else through the official client."""
        if self._pool is not None:
            return await self._pool.post(self._target, self._plain_headers(), body)
        if self._client is None:
            from spinebench.models._openai_client import OfficialClient  # ~40 MB: only when it is used

            timeout = self._timeout()
            self._client = OfficialClient(
                self.options.base_url,  # None: the client reads OPENAI_BASE_URL, then its default
                self._api_key(),
                timeout=timeout.read,
                connect_timeout=timeout.connect,
            )
        return await self._client.post(body)

    def _failure_error(self, failure: HttpFailure) -> ProviderError:
        if failure.kind == "connect_timeout":
            # Nothing answers at that address (a host that drops packets): as lasting as a refusal.
            connect = self._timeout().connect
            return ProviderError("connection", f"cannot connect to {self.base_url} within {connect:g} s")
        if failure.kind == "timeout":
            return ProviderError(
                "timeout", f"no reply within {self.options.timeout:g} s from {self.base_url}"
            )
        # The failure may quote the server's bytes: shown as any error body is (one line, no key).
        if failure.kind == "connect":
            return ProviderError("connection", f"cannot reach {self.base_url}: {self._shown(str(failure))}")
        return ProviderError(
            "connection", f"reply from {self.base_url} broke off: {self._shown(str(failure))}"
        )

    def _plain_headers(self) -> list[tuple[bytes, bytes]]:
        if self._headers is None:
            key = self._api_key()
            self._headers = [
                (b"Content-Type", b"application/json"),
                (b"Accept", b"application/json"),
                (b"User-Agent", f"spinebench/{__version__}".encode()),
                (b"Authorization", b"Bearer " + key.encode("ascii")),
            ]
        return self._headers

    def _status_error(self, status: int, headers: Mapping[str, str], body: str) -> ProviderError:
        retry_after = parse_retry_after(headers)
        message = f"HTTP {status} from {self.base_url}/chat/completions: {self._shown(body)}"
        kind: ErrorKind
        if status == 429:
            kind, retryable = "rate_limit", True
        elif status >= 500:
            kind, retryable = "server", True
        elif status == 408:  # the server's own request timeout
            kind, retryable = "timeout", True
        else:  # 400, 401, 403, 404, 422 ...: the same request would fail the same way
            kind, retryable = "client", False
        return ProviderError(kind, message, retryable=retryable, retry_after=retry_after, status=status)

    def _api_key(self) -> str:
        """The key from the environment variable (surrounding whitespace dropped: env files and secret
        mounts leave a newline), else the placeholder local servers accept. A key with spaces, control
        or non-ASCII characters inside could not be sent as it is (a line break would start a header of
        its own): refused, and never shown."""
        name = self.options.api_key_env
        key = (os.environ.get(name) or "").strip()
        if key and not _PRINTABLE_ASCII.fullmatch(key):
            raise ModelSpecError(
                f"openai: ${name} holds spaces, control or non-ASCII characters inside the key; an API "
                "key is printable ASCII (the value is not shown)"
            )
        self._key = key or PLACEHOLDER_API_KEY
        return self._key

    def _shown(self, text: str) -> str:
        """Server text as it may be printed and stored: no key, one line, no escape sequences, short."""
        # Some servers echo the key they rejected; never let it into an error that ends up in a log. The
        # key goes first, before anything could split it.
        for key in {self._key} - {"", PLACEHOLDER_API_KEY}:
            text = text.replace(key, "[redacted]")
        text = " ".join(terminal_safe(text).split())
        if len(text) > _EXCERPT_CHARS:
            text = text[:_EXCERPT_CHARS] + "..."
        return text or "(empty body)"


def _parse_completion(body: bytes, base_url: str, shown: Callable[[str], str]) -> Completion:
    """A Completion from a chat completion's JSON; anything malformed is a retryable `bad_response`
    (`shown` makes the excerpt of the body safe to store)."""

    def bad(reason: str) -> ProviderError:
        excerpt = shown(body[: 4 * _EXCERPT_CHARS].decode("utf-8", "replace"))
        return ProviderError("bad_response", f"{reason} from {base_url}/chat/completions: {excerpt!r}")

    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise bad("invalid JSON") from None
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise bad("no choices")
    message = choices[0].get("message")
    if not isinstance(message, dict):  # e.g. a completions-API reply ({"text": ...}): not an empty answer
        raise bad("no message")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise bad("message content is not text")
    finish_reason = choices[0].get("finish_reason")
    # vLLM and SGLang with a reasoning parser return the thinking apart: `reasoning_content` (older
    # releases and DeepSeek's API) or `reasoning` (newer vLLM, OpenRouter).
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    has_reasoning = isinstance(reasoning, str) and bool(reasoning.strip())
    if content is None and finish_reason == "stop" and not has_reasoning:
        # A finished reply with no text at all is a server fault (a dropped generation, a proxy that lost
        # the body), not a model that answered nothing: retried, never scored as a wrong answer.
        raise bad("no content in a finished reply")
    usage = data.get("usage")
    usage = usage if isinstance(usage, dict) else {}
    return Completion(
        text=_valid_unicode(content or ""),
        input_tokens=_int_or_none(usage.get("prompt_tokens")),
        output_tokens=_int_or_none(usage.get("completion_tokens")),
        finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        reasoning=_valid_unicode(reasoning) if isinstance(reasoning, str) and reasoning else None,
    )


def _valid_unicode(text: str) -> str:
    """The text with lone surrogates replaced by U+FFFD.

    JSON may escape half of a UTF-16 pair (`"\\ud83d"`, from a server that cut a string mid-character);
    Python decodes it to a lone surrogate, which no UTF-8 file can hold: writing the answer would fail.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait, from `retry-after-ms` or `Retry-After` (seconds or an HTTP date); None if absent."""
    milliseconds = _finite(headers.get("retry-after-ms"))
    if milliseconds is not None:
        return max(milliseconds / 1000.0, 0.0)
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _finite(value)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": an HTTP date is GMT all the same
        when = when.replace(tzinfo=datetime.UTC)
    return max(when.timestamp() - time.time(), 0.0)


def _finite(text: str | None) -> float | None:
    """A header's number; None when absent, not a number, or not finite ("nan" would make a wait that
    never ends)."""
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


# Hosted OpenAI-compatible APIs, which never answer without a key. A local or LAN server may run keyless.
HOSTED_API_DOMAINS: Final = (
    "api.openai.com",
    "openai.azure.com",
    "generativelanguage.googleapis.com",
    "api.anthropic.com",
    "openrouter.ai",
    "api.together.xyz",
    "api.groq.com",
    "api.mistral.ai",
    "api.deepseek.com",
    "dashscope.aliyuncs.com",
    "api.fireworks.ai",
)


def is_hosted_api(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in HOSTED_API_DOMAINS)


def _plain_http_origin(base_url: str) -> tuple[str, int] | None:
    """(host, port) of a plain-http server reached without a proxy; None for https or a proxied URL."""
    parts = urlsplit(base_url)
    if parts.scheme != "http" or not parts.hostname:
        return None
    proxies = urllib.request.getproxies()
    if (proxies.get("http") or proxies.get("all")) and not urllib.request.proxy_bypass(parts.hostname):
        return None
    return parts.hostname, parts.port or 80


def _check_base_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # an unclosed IPv6 bracket, a port that is not a number
        valid = False
    if not valid:
        shown = re.sub(r"^([^/]*//)?[^/@]*@", r"\1***@", url)  # never print a password given in the URL
        raise ModelSpecError(
            f"openai: base URL {shown!r} is not a valid http:// or https:// URL "
            "(e.g. http://localhost:8000/v1); check --base-url or $OPENAI_BASE_URL"
        )
    # `;key=...` path parameters hold a secret as well as a query string does.
    path, semicolon, _ = parts.path.partition(";")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment or semicolon:
        # A key in the URL would be written to run.json, every prediction and the report, and the client
        # would append /chat/completions after the query. Only the part that cannot hold a secret is shown.
        shown = urlunsplit((parts.scheme, parts.hostname or "", path, "", ""))
        if parts.port is not None:
            shown = urlunsplit((parts.scheme, f"{parts.hostname}:{parts.port}", path, "", ""))
        raise ModelSpecError(
            f"openai: the base URL ({shown}...) carries a user name, password, query string or path "
            "parameters; a "
            "credential must not be put in a URL (it would be stored with the run). Give the bare URL to "
            "--base-url, put the key in an environment variable and name that variable with --api-key-env "
            "(default OPENAI_API_KEY)"
        )


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc}"))


@dataclasses.dataclass(frozen=True, slots=True)
class SentImage:
    """An image as it goes into a request: its data URL (ASCII bytes) and the sha256 of the JPEG inside."""

    data_url: bytes
    sha256: str


class DataUrlCache:
    """Data URLs of the images sent, in memory for the last few (several questions share one image, often
    back to back, and circular runs ask each image five times) and on disk by content hash across runs."""

    def __init__(self, max_side: int, quality: int, capacity: int = 16, disk: Path | None = None) -> None:
        self.max_side = max_side
        self.quality = quality
        self.capacity = capacity
        self._disk = AsSentImageCache(disk, max_side, quality) if disk is not None else None
        self._recent: OrderedDict[str, SentImage] = OrderedDict()

    async def sent_image(self, image: bytes) -> SentImage:
        """The image as the model gets it: a small JPEG as it is, else re-encoded (`image_as_sent`)."""
        source = sha256_hex(image)
        sent = self._recent.get(source)
        if sent is not None:
            self._recent.move_to_end(source)
            return sent
        jpeg = self._disk.get(source) if self._disk is not None else None
        if jpeg is None:
            if is_sendable_jpeg(image, self.max_side):
                jpeg = image
            else:
                # Re-encoding takes milliseconds; off the event loop, other requests keep flowing.
                jpeg = await asyncio.to_thread(reencoded_jpeg, image, self.max_side, self.quality)
                if self._disk is not None:
                    self._disk.put(source, jpeg)
        sent = SentImage(JPEG_DATA_URL_PREFIX + base64.b64encode(jpeg), sha256_hex(jpeg))
        self._recent[source] = sent
        if len(self._recent) > self.capacity:
            self._recent.popitem(last=False)
        return sent
