"""The normalized contact-centre model (pydantic v2, no I/O).

- :mod:`omnisdk.model.addresses`: channels, addresses and contacts;
- :mod:`omnisdk.model.messages`: message content and delivery status;
- :mod:`omnisdk.model.email`: the email fields of a message (threading, loops, authentication);
- :mod:`omnisdk.model.interactions`: interactions, their states and wrap-up codes;
- :mod:`omnisdk.model.cases`: cases;
- :mod:`omnisdk.model.directory`: the user directory messaging profiles link to.
"""

from omnisdk.model.addresses import (
    KNOWN_CHANNELS,
    Address,
    Channel,
    ChannelName,
    Contact,
    PhoneNumber,
    check_channel,
    check_e164,
    conversation_key,
    to_e164,
)
from omnisdk.model.cases import (
    CASE_TRANSITIONS,
    Case,
    CaseState,
    CaseSummary,
    CaseSurvey,
    CaseTransition,
    CaseUpdate,
)
from omnisdk.model.directory import DirectoryUser
from omnisdk.model.email import EmailHeaders
from omnisdk.model.interactions import (
    Direction,
    Draft,
    Interaction,
    InteractionState,
    MessageRecord,
    RoutingSource,
    Transition,
    WrapUpCode,
)
from omnisdk.model.messages import (
    Attachment,
    Consent,
    ContactCard,
    DeliveryStatus,
    InteractiveReply,
    Location,
    Message,
    MessageKind,
    ProviderError,
    Reaction,
    StatusUpdate,
)

__all__ = [
    "Address",
    "Attachment",
    "CASE_TRANSITIONS",
    "Case",
    "CaseState",
    "CaseSummary",
    "CaseSurvey",
    "CaseTransition",
    "CaseUpdate",
    "Channel",
    "ChannelName",
    "check_channel",
    "KNOWN_CHANNELS",
    "Consent",
    "Contact",
    "ContactCard",
    "DeliveryStatus",
    "DirectoryUser",
    "EmailHeaders",
    "Direction",
    "Draft",
    "Interaction",
    "InteractionState",
    "InteractiveReply",
    "Location",
    "Message",
    "MessageRecord",
    "MessageKind",
    "PhoneNumber",
    "ProviderError",
    "Reaction",
    "RoutingSource",
    "StatusUpdate",
    "Transition",
    "WrapUpCode",
    "check_e164",
    "to_e164",
    "conversation_key",
]
