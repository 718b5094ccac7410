"""The default set of recognizers, built once and shared (recognizers are stateless)."""

from __future__ import annotations

from collections.abc import Sequence

from .recognizer import Recognizer, install_multiscan
from .recognizers.contact import (
    EmailRecognizer,
    IpAddressRecognizer,
    ObfuscatedEmailRecognizer,
    PhoneRecognizer,
    UrlRecognizer,
    VanityPhoneRecognizer,
)
from .recognizers.dates import AgeOver89Recognizer, DateRecognizer
from .recognizers.intl_places import InternationalAddressRecognizer
from .recognizers.labelled import LabelledIdRecognizer
from .recognizers.name_lexicon import NameLexiconRecognizer
from .recognizers.names import CueNameRecognizer
from .recognizers.numbers import (
    CreditCardRecognizer,
    DeaRecognizer,
    DeviceNumberRecognizer,
    IbanRecognizer,
    LongNumberRecognizer,
    MbiRecognizer,
    NationalInsuranceRecognizer,
    NpiRecognizer,
    RoutingNumberRecognizer,
    SsnRecognizer,
    UkDrivingLicenceRecognizer,
    VinRecognizer,
)
from .recognizers.organizations import OrganizationRecognizer
from .recognizers.partial import MaskedNumberRecognizer, PartialNumberRecognizer
from .recognizers.payment import CardDetailsRecognizer
from .recognizers.places import (
    AddressCityRecognizer,
    AddressTailRecognizer,
    CountyRecognizer,
    LocationCueRecognizer,
    StreetAddressRecognizer,
    ZipCodeRecognizer,
)
from .recognizers.secrets import SecretRecognizer, TwilioSidRecognizer
from .recognizers.spoken_contact import SpokenEmailRecognizer, SpokenUrlRecognizer


def default_recognizers() -> tuple[Recognizer, ...]:
    return (
        SecretRecognizer(),
        TwilioSidRecognizer(),
        EmailRecognizer(),
        ObfuscatedEmailRecognizer(),
        SpokenEmailRecognizer(),
        UrlRecognizer(),
        SpokenUrlRecognizer(),
        IpAddressRecognizer(),
        PhoneRecognizer(),
        VanityPhoneRecognizer(),
        SsnRecognizer(),
        NationalInsuranceRecognizer(),
        UkDrivingLicenceRecognizer(),
        CreditCardRecognizer(),
        CardDetailsRecognizer(),
        IbanRecognizer(),
        RoutingNumberRecognizer(),
        NpiRecognizer(),
        DeaRecognizer(),
        MbiRecognizer(),
        VinRecognizer(),
        DeviceNumberRecognizer(),
        LabelledIdRecognizer(),
        DateRecognizer(),
        AgeOver89Recognizer(),
        StreetAddressRecognizer(),
        ZipCodeRecognizer(),
        AddressCityRecognizer(),
        AddressTailRecognizer(),
        LocationCueRecognizer(),
        CountyRecognizer(),
        InternationalAddressRecognizer(),
        CueNameRecognizer(),
        NameLexiconRecognizer(),
        OrganizationRecognizer(),
        PartialNumberRecognizer(),
        MaskedNumberRecognizer(),
        LongNumberRecognizer(),
    )


_WRAPPABLE_WORDS = frozenset({"email", "email_obfuscated", "url", "ip"})


class Registry:
    """Recognizers split by whether they also run over the spoken-number digit view."""

    def __init__(self, recognizers: Sequence[Recognizer] | None = None) -> None:
        self.recognizers: tuple[Recognizer, ...] = tuple(recognizers or default_recognizers())
        self.numeric: tuple[Recognizer, ...] = tuple(r for r in self.recognizers if r.needs_digits)
        # What a value wrapped over a line can be (``unwrap``): numbers and addresses written with
        # digits, e-mails and URLs; names and organisations are not re-read.
        self.wrappable: tuple[Recognizer, ...] = tuple(
            r for r in self.recognizers if r.needs_digits or r.name in _WRAPPABLE_WORDS
        )
        install_multiscan()  # every recognizer module is imported by now
