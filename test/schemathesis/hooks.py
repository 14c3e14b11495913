"""Schemathesis hooks for test/schemathesis.test.ts, loaded through SCHEMATHESIS_HOOKS.

- An Idempotency-Key names one request: sent again with a different request it answers 422
  IDEMPOTENCY_KEY_REUSED, by design. The fuzzer draws keys from a small space ("0", "A"...) for
  unrelated requests, so a valid key it drew is swapped for a fresh one (unique across runs
  against one server too) and each request stands for itself.
- GET /decisions/wait waits 1 s at most when its timeout_seconds is valid or absent.
- DELETE /tokens/{token_id} with a valid ID revokes COUNTERSIGN_SPARE_TOKEN_ID, a token minted
  to be revoked: the fuzzer would otherwise revoke the token it runs with (token_1 is the
  first ID it draws) and test nothing after that but 401s.

Invalid values (negative cases) go out as drawn.
"""

import itertools
import os
import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"[\x21-\x7e]{1,200}")
VALID_TOKEN_ID = re.compile(r"token_[1-9][0-9]{0,15}")
_run = uuid.uuid4().hex[:12]
_fresh = itertools.count(1)


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if name.lower() == "idempotency-key" and isinstance(value, str) and VALID_KEY.fullmatch(value):
            headers[name] = f"schemathesis-{_run}-{next(_fresh)}"
    spare = os.environ.get("COUNTERSIGN_SPARE_TOKEN_ID")
    params = case.path_parameters or {}
    token_id = params.get("token_id")
    if spare and isinstance(token_id, str) and VALID_TOKEN_ID.fullmatch(token_id):
        params["token_id"] = spare
    # wait_for_decision long-polls up to timeout_seconds (default 30) on a pending proposal: a
    # valid timeout the fuzzer drew (up to 300 s), or none, becomes 1 s, so no case outlasts the
    # request timeout. An invalid one goes out as drawn.
    if case.operation.path == "/decisions/wait" and case.method.upper() == "GET":
        if case.query is None:
            case.query = {}
        if isinstance(case.query, dict):
            timeout = case.query.get("timeout_seconds")
            valid = isinstance(timeout, int) and not isinstance(timeout, bool) and 1 <= timeout <= 300
            if timeout is None or valid:
                case.query["timeout_seconds"] = 1
