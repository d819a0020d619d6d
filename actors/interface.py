"""The CustomerActor's methods: names, request and result types, in one place.

Every method takes one JSON object and answers an outcome, {"ok": true, "value": ...} or
{"ok": false, "error": {"code": ..., "message": ...}}: the Dapr FastAPI extension turns an exception
raised in an actor method into an opaque 500, so expected rejections travel as values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from dapr.actor import ActorInterface, actormethod
from pydantic import BaseModel

from actors import messages as m

ACTOR_TYPE = "CustomerActor"
SEGMENT_REVIEW_REMINDER = "segment-review"

Outcome = dict[str, Any]
Req = TypeVar("Req", bound=BaseModel)
Res = TypeVar("Res", bound=BaseModel)


@dataclass(frozen=True)
class ActorMethod(Generic[Req, Res]):
    name: str
    request: type[Req]
    result: type[Res]


CREATE = ActorMethod("create", m.CreateCustomer, m.CustomerView)
GET = ActorMethod("get", m.Query, m.CustomerView)
UPDATE = ActorMethod("update", m.UpdateCustomer, m.CustomerView)
DEACTIVATE = ActorMethod("deactivate", m.Deactivate, m.Deactivated)
ERASE = ActorMethod("erase", m.Erase, m.Erased)
REACTIVATE = ActorMethod("reactivate", m.Reactivate, m.CustomerView)
SUSPEND = ActorMethod("suspend", m.Suspend, m.CustomerView)
LIFT_SUSPENSION = ActorMethod("lift_suspension", m.LiftSuspension, m.CustomerView)
VERIFY = ActorMethod("verify", m.Verify, m.CustomerView)
EXPORT = ActorMethod("export", m.Query, m.Exported)
AUTHENTICATE = ActorMethod("authenticate", m.Authenticate, m.LoggedIn)
CHANGE_PASSWORD = ActorMethod("change_password", m.ChangePassword, m.Done)
REQUEST_PASSWORD_RESET = ActorMethod("request_password_reset", m.RequestPasswordReset, m.Done)
RESET_PASSWORD = ActorMethod("reset_password", m.ResetPassword, m.Done)
ISSUE_EMAIL_VERIFICATION = ActorMethod("issue_email_verification", m.IssueEmailVerification, m.VerificationIssued)
CONFIRM_EMAIL = ActorMethod("confirm_email", m.ConfirmEmail, m.CustomerView)
GET_SEGMENT = ActorMethod("get_segment", m.Query, m.SegmentView)
APPLY_ORDER = ActorMethod("apply_order", m.ApplyOrder, m.EventApplied)
ADJUST_ORDER = ActorMethod("adjust_order", m.AdjustOrder, m.EventApplied)
APPLY_POINTS = ActorMethod("apply_points", m.ApplyPoints, m.EventApplied)
REVIEW_SEGMENT = ActorMethod("review_segment", m.Query, m.Reviewed)
COUNT_IN_USD = ActorMethod("count_in_usd", m.Query, m.Reviewed)
LIST_ADDRESSES = ActorMethod("list_addresses", m.Query, m.AddressBookView)
ADD_ADDRESS = ActorMethod("add_address", m.AddAddress, m.AddressChanged)
UPDATE_ADDRESS = ActorMethod("update_address", m.UpdateAddress, m.AddressChanged)
REMOVE_ADDRESS = ActorMethod("remove_address", m.RemoveAddress, m.AddressBookView)
SET_TAGS = ActorMethod("set_tags", m.SetTags, m.CustomerView)
ADD_NOTE = ActorMethod("add_note", m.AddNote, m.NoteAdded)
OVERRIDE_SEGMENT = ActorMethod("override_segment", m.OverrideSegment, m.SegmentView)
CLEAR_OVERRIDE = ActorMethod("clear_override", m.ClearOverride, m.SegmentView)
ANALYTICS = ActorMethod("analytics", m.Query, m.Analytics)


class CustomerActorInterface(ActorInterface):
    """Dapr's view of the actor: each method takes the request's JSON object and answers an outcome."""

    @actormethod(name=CREATE.name)
    async def create(self, request: Any) -> Outcome: ...

    @actormethod(name=GET.name)
    async def get(self, request: Any) -> Outcome: ...

    @actormethod(name=UPDATE.name)
    async def update(self, request: Any) -> Outcome: ...

    @actormethod(name=DEACTIVATE.name)
    async def deactivate(self, request: Any) -> Outcome: ...

    @actormethod(name=ERASE.name)
    async def erase(self, request: Any) -> Outcome: ...

    @actormethod(name=REACTIVATE.name)
    async def reactivate(self, request: Any) -> Outcome: ...

    @actormethod(name=SUSPEND.name)
    async def suspend(self, request: Any) -> Outcome: ...

    @actormethod(name=LIFT_SUSPENSION.name)
    async def lift_suspension(self, request: Any) -> Outcome: ...

    @actormethod(name=VERIFY.name)
    async def verify(self, request: Any) -> Outcome: ...

    @actormethod(name=EXPORT.name)
    async def export(self, request: Any) -> Outcome: ...

    @actormethod(name=AUTHENTICATE.name)
    async def authenticate(self, request: Any) -> Outcome: ...

    @actormethod(name=CHANGE_PASSWORD.name)
    async def change_password(self, request: Any) -> Outcome: ...

    @actormethod(name=REQUEST_PASSWORD_RESET.name)
    async def request_password_reset(self, request: Any) -> Outcome: ...

    @actormethod(name=RESET_PASSWORD.name)
    async def reset_password(self, request: Any) -> Outcome: ...

    @actormethod(name=ISSUE_EMAIL_VERIFICATION.name)
    async def issue_email_verification(self, request: Any) -> Outcome: ...

    @actormethod(name=CONFIRM_EMAIL.name)
    async def confirm_email(self, request: Any) -> Outcome: ...

    @actormethod(name=GET_SEGMENT.name)
    async def get_segment(self, request: Any) -> Outcome: ...

    @actormethod(name=APPLY_ORDER.name)
    async def apply_order(self, request: Any) -> Outcome: ...

    @actormethod(name=SET_TAGS.name)
    async def set_tags(self, request: Any) -> Outcome: ...

    @actormethod(name=ADD_NOTE.name)
    async def add_note(self, request: Any) -> Outcome: ...

    @actormethod(name=ADJUST_ORDER.name)
    async def adjust_order(self, request: Any) -> Outcome: ...

    @actormethod(name=APPLY_POINTS.name)
    async def apply_points(self, request: Any) -> Outcome: ...

    @actormethod(name=COUNT_IN_USD.name)
    async def count_in_usd(self, request: Any) -> Outcome: ...

    @actormethod(name=REVIEW_SEGMENT.name)
    async def review_segment(self, request: Any) -> Outcome: ...

    @actormethod(name=LIST_ADDRESSES.name)
    async def list_addresses(self, request: Any) -> Outcome: ...

    @actormethod(name=ADD_ADDRESS.name)
    async def add_address(self, request: Any) -> Outcome: ...

    @actormethod(name=UPDATE_ADDRESS.name)
    async def update_address(self, request: Any) -> Outcome: ...

    @actormethod(name=REMOVE_ADDRESS.name)
    async def remove_address(self, request: Any) -> Outcome: ...

    @actormethod(name=OVERRIDE_SEGMENT.name)
    async def override_segment(self, request: Any) -> Outcome: ...

    @actormethod(name=CLEAR_OVERRIDE.name)
    async def clear_override(self, request: Any) -> Outcome: ...

    @actormethod(name=ANALYTICS.name)
    async def analytics(self, request: Any) -> Outcome: ...
