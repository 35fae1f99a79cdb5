"""How the CLI shows API objects to people: plain lines, one fact per line."""

from __future__ import annotations

from typing import Any


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def character_lines(character: dict[str, Any]) -> list[str]:
    quality = character.get("quality") or {}
    warnings = quality.get("warnings") or []
    source = character.get("source") or {}
    coverage = percent(quality.get("subject_coverage"))
    confidence = percent(quality.get("subject_confidence"))
    return [
        f"@{character['username']}  {character['id']}  {character.get('display_name', '')}",
        f"  page       {character.get('permalink', '')}",
        f"  picture    {character.get('profile_picture_url', '')}",
        f"  source     {source.get('type', '')} {source.get('timestamps') or ''}".rstrip(),
        (
            f"  quality    {quality.get('resolution', '?')}, sharpness"
            f" {quality.get('sharpness', 0):.2f}, subject {coverage}"
            f" of the frame, best frame at {quality.get('best_frame_time', 0):.2f}s"
        ),
        f"  confidence {confidence} that the subject is the one region that stands out",
        f"  warnings   {'; '.join(warnings) if warnings else 'none'}",
    ]


def character_row(character: dict[str, Any]) -> str:
    warnings = (character.get("quality") or {}).get("warnings") or []
    flag = f"  ({len(warnings)} warning{'s' * (len(warnings) != 1)})" if warnings else ""
    return f"@{character['username']}\t{character['id']}\t{character.get('display_name', '')}{flag}"


def page_lines(page: dict[str, Any], row: Any, empty: str) -> list[str]:
    lines = [row(item) for item in page.get("data", [])] or [empty]
    if page.get("has_more"):
        lines.append(f"… more after {page.get('last_id')} (--after {page.get('last_id')})")
    return lines


def cast_line(member: dict[str, Any]) -> str:
    return f"@{member.get('username')} {percent(member.get('consistency'))} consistent"


def video_lines(video: dict[str, Any]) -> list[str]:
    lines = [
        f"{video['id']}  {video['status']}  {video.get('progress', 0)}%"
        f"  {video.get('seconds')}s {video.get('size')} {video.get('model')}"
        f" ({video.get('backend', '?')})",
        f"  prompt     {video.get('prompt', '')}",
    ]
    cast = video.get("characters") or []
    if cast:
        lines.append("  cast       " + ", ".join(cast_line(member) for member in cast))
    if video.get("remixed_from_video_id"):
        lines.append(f"  remix of   {video['remixed_from_video_id']}")
    error = video.get("error")
    if error:
        lines.append(f"  error      {error.get('code')}: {error.get('message')}")
    return lines


def video_row(video: dict[str, Any]) -> str:
    prompt = video.get("prompt", "")
    short = prompt if len(prompt) <= 60 else prompt[:59] + "…"
    return f"{video['id']}\t{video['status']}\t{video.get('progress', 0)}%\t{short}"


def task_lines(task: dict[str, Any]) -> list[str]:
    lines = [f"{task['id']}  {task['status']}  {task.get('progress', 0)}%"]
    result = task.get("result")
    if isinstance(result, dict) and result.get("object") == "character":
        lines += character_lines(result)
    error = task.get("error")
    if error:
        lines.append(f"  error      {error.get('code')}: {error.get('message')}")
    return lines


def task_row(task: dict[str, Any]) -> str:
    error = task.get("error")
    result = task.get("result") or {}
    if error:
        outcome = f"{error.get('code')}: {error.get('message')}"
    elif result.get("object") == "character":
        outcome = f"@{result.get('username')}"
    else:
        outcome = str(result.get("prompt", ""))[:60]
    return (
        f"{task['id']}\t{task.get('kind', '')}\t{task['status']}\t{task.get('progress', 0)}%"
        f"\t{outcome}".rstrip()
    )


def windows_lines(windows: dict[str, Any]) -> list[str]:
    lines = [f"source is {windows['duration']:.2f}s; best windows first:"]
    lines += [f"  {w['timestamps']}\tscore {w['score']:.2f}" for w in windows["data"]]
    return lines


def usage_lines(usage: dict[str, Any]) -> list[str]:
    balance = usage.get("balance")
    lines = [
        "balance    " + ("not limited" if balance is None else f"${balance:.2f}"),
        f"held       ${usage['held']:.2f} for unfinished jobs",
        f"charged    ${usage['charged']:.2f}, refunded ${usage['refunded']:.2f},"
        f" credited ${usage['credited']:.2f}",
    ]
    lines += [
        f"  {entry['id']}\t{entry['kind']}\t${entry['amount']:+.2f}\t{entry.get('description', '')}"
        for entry in usage.get("data", [])
    ]
    return lines
