"""Chat completion posts through the official OpenAI client: https endpoints and proxied URLs (hosted APIs).

Imported only when such a URL is used (the client and its dependencies cost ~40 MB and a second of start-up).
The client keeps what it is good at: auth, proxies, TLS, redirects, timeouts. Its replies and failures are
handed back in the keep-alive transport's terms (`Reply`, `HttpFailure`), so the provider maps one set.
"""

from __future__ import annotations

import httpx2
import openai

from spinebench.models._keepalive import HttpFailure, Reply


class OfficialClient:
    """POSTs of ready-made JSON bodies to `{base_url}/chat/completions` (base None: OPENAI_BASE_URL, then
    OpenAI's)."""

    def __init__(self, base_url: str | None, api_key: str, *, timeout: float, connect_timeout: float) -> None:
        self.api_key = api_key
        self._timeout = httpx2.Timeout(timeout, connect=connect_timeout)
        self._client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=self._timeout,
            max_retries=0,  # the provider retries, with its policy and its attempt count
        )

    async def post(self, body: bytes) -> Reply:
        try:
            # The client's public escape hatch for raw requests: same auth, pool, timeouts and status errors.
            response = await self._client.post(
                "/chat/completions",
                cast_to=httpx2.Response,
                content=body,
                options={
                    "timeout": self._timeout,
                    "headers": {"Content-Type": "application/json"},
                    "security": {"bearer_auth": True},  # only the bearer key, never an admin key from the env
                },
            )
            content = await response.aread()
        except openai.APITimeoutError as error:
            if isinstance(error.__cause__, httpx2.ConnectTimeout):
                raise HttpFailure("connect_timeout", "no connection in time") from error
            raise HttpFailure("timeout", "no reply in time") from error
        except openai.APIConnectionError as error:
            raise HttpFailure("connect", error.message) from error
        except openai.APIStatusError as error:
            return Reply(error.status_code, dict(error.response.headers), _body_of(error))
        except httpx2.HTTPError as error:  # a body cut off while being read
            raise HttpFailure("broken", str(error)) from error
        return Reply(response.status_code, dict(response.headers), content)

    async def aclose(self) -> None:
        await self._client.close()


def _body_of(error: openai.APIStatusError) -> bytes:
    try:
        return error.response.content
    except Exception:  # a body that cannot be read: say what the client made of it
        return error.message.encode()
