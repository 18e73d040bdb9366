"""Authentication building blocks for the HTTP layer (spec 10 §1 and §8).

Everything here is plain Python with no web-framework imports, so the rules can be tested
without a server and the HTTP layer stays a thin adapter that maps results to status codes:

* :mod:`.passwords` - argon2id hashing, the password policy and sign-in throttling (L1-L3).
* :mod:`.api_keys` - the ``sbk_`` key format, peppered HMAC storage and scopes (K1, K4).
* :mod:`.oidc` - bearer-token verification against the issuers' JWKS (A1-A4).
* :mod:`.redaction` - the structlog processor that keeps secrets out of logs (SE1, SE2).

The submodules are not re-exported here on purpose: importing the package should not pull in
``cryptography`` or ``argon2`` for callers that only need one of them.
"""
