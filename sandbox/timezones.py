"""Time zone names as Microsoft's services use them: Windows ids ("Pacific Standard Time") as well
as IANA names ("America/Los_Angeles").

The sandbox keeps IANA names internally (zoneinfo computes the offsets); Graph and EWS accept
and report Windows ids too. The mapping is CLDR's windowsZones table as tzlocal ships it
(`tzlocal.windows_tz`, regenerated from CLDR by tzlocal's maintainers; pinned in
requirements.txt). CLDR maps each Windows id to its "001" territory zone, e.g.
"India Standard Time" <-> "Asia/Calcutta".
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz

WINDOWS_TO_IANA: dict[str, str] = dict(win_tz)
IANA_TO_WINDOWS: dict[str, str] = dict(tz_win)
KINDS = ("windows", "iana")


def to_iana(name: str) -> str | None:
    """The IANA name for a Windows id or an IANA name; None if neither is known."""
    iana = WINDOWS_TO_IANA.get(name, name)
    try:
        ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return iana


def to_windows(iana: str) -> str:
    """The Windows id of an IANA zone (the IANA name itself when CLDR has no mapping)."""
    return IANA_TO_WINDOWS.get(iana, iana)


def named(iana: str, kind: str) -> str:
    """An IANA zone as a mailbox reports it: its Windows id or its IANA name."""
    return to_windows(iana) if kind == "windows" else iana
