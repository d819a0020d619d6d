"""Every Redis key of the service, and the hash slots they fall in.

A Redis Cluster hashes only the part of a key between its first `{` and the next `}` (its hash tag), when
there is one. The spec writes its keys as `customers:profile:{customer_id}`; here the braces are kept
literally, so they are hash tags: every key about one customer falls in that customer's slot, and so do
the keys that a command, a transaction or a script touches together:

| keys                                                   | slot of       | used together by          |
|--------------------------------------------------------|---------------|---------------------------|
| customers:profile/segment/addresses:{customer}         | the customer  | a change's invalidation, erasure |
| customers:upstream:{customer}:<app>                    | the customer  | erasure                   |
| customers:sessions-of:{customer}                       | the customer  | (one key)                 |
| customers:session:{session}                            | the session   | (one key)                 |
| customers:ratelimit:{subject}:<budget>:<minute>        | the subject   | the request's count script |
| customers:<throttle>:<account or client>:{digest}      | the digest    | (one key)                 |

A session is looked up by its id alone, so its key is in its own slot: opening one and ending all of a
customer's are two steps, not a transaction (persistence/sessions.py says in which order). Nothing
enumerates the keyspace: erasure deletes the customer's keys by name.

Only the first `{...}` of a key counts, so each key's tag comes before any other value in it, and a brace
inside a value (which would move the tag) is escaped.
"""

from __future__ import annotations


def _tag(value: str) -> str:
    """`value` as a hash tag: braces in it percent-escaped, so the tag is exactly the value."""
    if "{" in value or "}" in value:
        value = value.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")
    return "{" + value + "}"


def profile_key(customer_id: str) -> str:
    return f"customers:profile:{_tag(customer_id)}"


def segment_key(customer_id: str) -> str:
    return f"customers:segment:{_tag(customer_id)}"


def addresses_key(customer_id: str) -> str:
    return f"customers:addresses:{_tag(customer_id)}"


def upstream_key(customer_id: str, app_id: str) -> str:
    """The last good answer of an upstream service about one customer."""
    return f"customers:upstream:{_tag(customer_id)}:{app_id}"


def session_key(session_id: str) -> str:
    return f"customers:session:{_tag(session_id)}"


def sessions_of_key(customer_id: str) -> str:
    """The ids of a customer's open sessions, so all of them can be ended at once."""
    return f"customers:sessions-of:{_tag(customer_id)}"


def rate_limit_key(subject: str, budget: str, minute: int) -> str:
    """One minute's count of a budget ("user", "service", or "for:<customer>" for a service acting for a
    customer) of the subject that spends it: a request's budgets share its subject's slot."""
    return f"customers:ratelimit:{_tag(subject)}:{budget}:{minute}"


def throttle_key(throttle: str, kind: str, digest: str) -> str:
    """A throttle's ("login-attempts", "password-resets") count for an account or a client (a digest)."""
    return f"customers:{throttle}:{kind}:{_tag(digest)}"
