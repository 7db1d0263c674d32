"""Read SLO specs from YAML: Watchkeeper, Sloth `prometheus/v1` and OpenSLO `openslo/v1`.

Files may hold several YAML documents (or a YAML list of documents, as OpenSLO's own
examples do) and may mix formats. An OpenSLO SLO may name its SLI with `indicatorRef`;
the SLI may live in any of the files loaded together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from watchkeeper.slo.spec import CALENDAR_MONTH, SloSpec, SpecError

WATCHKEEPER_VERSION = "watchkeeper/v1"
SLOTH_VERSION = "prometheus/v1"
SLOTH_K8S_VERSION = "sloth.slok.dev/v1"
OPENSLO_VERSION = "openslo/v1"

_WATCHKEEPER_TOP = {"version", "service", "team", "labels", "period", "alerting", "slos"}
_DEFAULTED = ("team", "period", "alerting")


@dataclass(frozen=True)
class _Document:
    body: dict[str, Any]
    source: str


def load_spec_files(paths: Iterable[str | Path]) -> list[SloSpec]:
    """Load every SLO in the given files; raises SpecError naming file and field."""
    documents: list[_Document] = []
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"cannot read file: {exc.strerror or exc}", file=str(path)) from exc
        documents.extend(_split(text, str(path)))
    return _parse(documents)


def load_spec_text(text: str, source: str = "<text>") -> list[SloSpec]:
    """Load every SLO in one YAML text."""
    return _parse(_split(text, source))


def _split(text: str, source: str) -> list[_Document]:
    try:
        loaded = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise SpecError(f"not valid YAML: {exc}", file=source) from exc
    documents = []
    for item in loaded:
        for body in item if isinstance(item, list) else [item]:
            if body is None:
                continue
            if not isinstance(body, dict):
                raise SpecError("each YAML document must be a mapping", file=source)
            documents.append(_Document(body, source))
    if not documents:
        raise SpecError("no SLO documents found", file=source)
    return documents


def _parse(documents: Sequence[_Document]) -> list[SloSpec]:
    slis = {
        str(doc.body.get("metadata", {}).get("name")): doc
        for doc in documents
        if doc.body.get("apiVersion") == OPENSLO_VERSION and doc.body.get("kind") == "SLI"
    }
    specs: list[SloSpec] = []
    origin: dict[str, str] = {}
    for doc in documents:
        for spec in _parse_one(doc, slis):
            if spec.key in origin:
                raise SpecError(
                    f"SLO {spec.key} is defined twice (first in {origin[spec.key]})",
                    file=doc.source,
                )
            origin[spec.key] = doc.source
            specs.append(spec)
    return specs


def _parse_one(doc: _Document, slis: Mapping[str, _Document]) -> list[SloSpec]:
    body = doc.body
    if body.get("version") == WATCHKEEPER_VERSION:
        return _watchkeeper(body, doc.source)
    if body.get("version") == SLOTH_VERSION:
        return _sloth(body, doc.source, "")
    if body.get("apiVersion") == SLOTH_K8S_VERSION:
        return _sloth(_mapping(body.get("spec"), doc.source, "spec"), doc.source, "spec.")
    if body.get("apiVersion") == OPENSLO_VERSION:
        # Service, SLI, DataSource, AlertPolicy, … carry nothing rules need by themselves.
        return _openslo(body, doc.source, slis) if body.get("kind") == "SLO" else []
    raise SpecError(
        "unknown document: expected `version: watchkeeper/v1`, Sloth's "
        "`version: prometheus/v1` or OpenSLO's `apiVersion: openslo/v1`",
        file=doc.source,
    )


# --- Watchkeeper ---------------------------------------------------------------------------


def _watchkeeper(body: dict[str, Any], source: str) -> list[SloSpec]:
    unknown = sorted(set(body) - _WATCHKEEPER_TOP)
    if unknown:
        raise SpecError(f"unknown field(s) {', '.join(unknown)}", file=source)
    slos = body.get("slos")
    if not isinstance(slos, list) or not slos:
        raise SpecError("`slos` must be a non-empty list", file=source, field="slos")
    specs = []
    for index, entry in enumerate(slos):
        entry = _mapping(entry, source, f"slos[{index}]")
        data = {key: body[key] for key in _DEFAULTED if key in body}
        data["service"] = body.get("service")
        data.update(entry)
        top_labels = _mapping(body.get("labels") or {}, source, "labels")
        own_labels = _mapping(entry.get("labels") or {}, source, f"slos[{index}].labels")
        data["labels"] = {**top_labels, **own_labels}
        specs.append(_validate(data, source, f"slos[{index}]", {}))
    return specs


# --- Sloth -----------------------------------------------------------------------------------

_SLOTH_FIELDS = {
    "sli.ratio.error_query": "sli.events.error_query",
    "sli.ratio.total_query": "sli.events.total_query",
    "sli.ratio": "sli.events",
    "sli": "sli.events",
}


def _sloth(body: dict[str, Any], source: str, prefix: str) -> list[SloSpec]:
    labels = {str(k): str(v) for k, v in (body.get("labels") or {}).items()}
    slos = body.get("slos")
    if not isinstance(slos, list) or not slos:
        raise SpecError("`slos` must be a non-empty list", file=source, field=f"{prefix}slos")
    specs = []
    for index, raw in enumerate(slos):
        where = f"{prefix}slos[{index}]"
        slo = _mapping(raw, source, where)
        sli = _mapping(slo.get("sli"), source, f"{where}.sli")
        if "events" not in sli:
            kind = next(iter(sli), "nothing")
            raise SpecError(
                f"sli.{kind} is not supported; use sli.events with error_query and total_query",
                file=source,
                field=f"{where}.sli",
            )
        events = _mapping(sli["events"], source, f"{where}.sli.events")
        slo_labels = {**labels, **{str(k): str(v) for k, v in (slo.get("labels") or {}).items()}}
        data: dict[str, Any] = {
            "service": body.get("service"),
            "name": slo.get("name"),
            "objective": slo.get("objective"),
            "description": slo.get("description", ""),
            "labels": slo_labels,
            "sli": {"ratio": events},
            "alerting": _sloth_alerting(slo.get("alerting") or {}),
        }
        specs.append(_validate(data, source, where, _SLOTH_FIELDS))
    return specs


def _sloth_alerting(alerting: dict[str, Any]) -> dict[str, Any]:
    page = alerting.get("page_alert") or {}
    ticket = alerting.get("ticket_alert") or {}
    result: dict[str, Any] = {
        "labels": {str(k): str(v) for k, v in (alerting.get("labels") or {}).items()},
        "annotations": {str(k): str(v) for k, v in (alerting.get("annotations") or {}).items()},
        "page": not page.get("disable", False),
        "ticket": not ticket.get("disable", False),
        "page_labels": {str(k): str(v) for k, v in (page.get("labels") or {}).items()},
        "ticket_labels": {str(k): str(v) for k, v in (ticket.get("labels") or {}).items()},
    }
    if alerting.get("name"):
        result["name"] = alerting["name"]
    return result


# --- OpenSLO ---------------------------------------------------------------------------------


def _openslo(body: dict[str, Any], source: str, slis: Mapping[str, _Document]) -> list[SloSpec]:
    metadata = _mapping(body.get("metadata"), source, "metadata")
    spec = _mapping(body.get("spec"), source, "spec")
    name = str(metadata.get("name", ""))
    where = f"SLO {name}"
    method = spec.get("budgetingMethod", "Occurrences")
    if method != "Occurrences":
        raise SpecError(
            f"budgetingMethod {method} is not supported; use Occurrences",
            file=source,
            field=f"{where}: spec.budgetingMethod",
        )
    sli_source, sli_path, sli_spec = _openslo_indicator(spec, source, where, slis)
    ratio = _mapping(sli_spec.get("ratioMetric"), sli_source, f"{sli_path}.ratioMetric")
    queries: dict[str, str] = {}
    for part, target in (("good", "good_query"), ("bad", "error_query"), ("total", "total_query")):
        if part in ratio:
            queries[target] = _openslo_query(
                ratio[part], sli_source, f"{sli_path}.ratioMetric.{part}"
            )
    if "raw" in ratio:
        raise SpecError(
            "ratioMetric.raw is not supported; give good or bad, and total",
            file=sli_source,
            field=sli_path,
        )
    labels = _openslo_labels(metadata.get("labels") or {})
    period = _openslo_period(spec.get("timeWindow"), source, where)
    objectives = spec.get("objectives")
    if not isinstance(objectives, list) or not objectives:
        raise SpecError(
            "needs at least one objective", file=source, field=f"{where}: spec.objectives"
        )
    field_map = {
        "sli.ratio.good_query": f"{sli_path}.ratioMetric.good.metricSource.spec.query",
        "sli.ratio.error_query": f"{sli_path}.ratioMetric.bad.metricSource.spec.query",
        "sli.ratio.total_query": f"{sli_path}.ratioMetric.total.metricSource.spec.query",
        "sli.ratio": f"{sli_path}.ratioMetric",
        "service": "spec.service",
        "name": "metadata.name",
        "period": "spec.timeWindow",
    }
    specs = []
    for index, raw in enumerate(objectives):
        objective = _mapping(raw, source, f"{where}: spec.objectives[{index}]")
        if "targetPercent" in objective:
            percent = objective["targetPercent"]
        elif isinstance(objective.get("target"), int | float):
            percent = round(objective["target"] * 100, 10)
        else:
            percent = objective.get("target")
        slo_name = name
        if len(objectives) > 1:
            slo_name = f"{name}-{objective.get('displayName') or index}".lower().replace(" ", "-")
        data = {
            "service": spec.get("service"),
            "name": slo_name,
            "objective": percent,
            "period": period,
            "description": spec.get("description", ""),
            "labels": labels,
            "team": labels.get("team"),
            "sli": {"ratio": queries},
        }
        mapping = {**field_map, "objective": f"spec.objectives[{index}].target"}
        specs.append(_validate(data, source, where, mapping, separator=": "))
    return specs


def _openslo_indicator(
    spec: dict[str, Any], source: str, where: str, slis: Mapping[str, _Document]
) -> tuple[str, str, dict[str, Any]]:
    if "indicator" in spec:
        indicator = _mapping(spec["indicator"], source, f"{where}: spec.indicator")
        return (
            source,
            f"{where}: spec.indicator.spec",
            _mapping(indicator.get("spec"), source, f"{where}: spec.indicator.spec"),
        )
    ref = spec.get("indicatorRef")
    if ref is None:
        raise SpecError("needs spec.indicator or spec.indicatorRef", file=source, field=where)
    if str(ref) not in slis:
        raise SpecError(
            f"indicatorRef {ref!r} names no `kind: SLI` document among the files loaded",
            file=source,
            field=f"{where}: spec.indicatorRef",
        )
    doc = slis[str(ref)]
    path = f"SLI {ref}: spec"
    return doc.source, path, _mapping(doc.body.get("spec"), doc.source, path)


def _openslo_query(part: Any, source: str, path: str) -> str:
    metric_source = _mapping(_mapping(part, source, path).get("metricSource"), source, path)
    kind = str(metric_source.get("type", ""))
    if kind.lower() != "prometheus":
        raise SpecError(
            f"metricSource type {kind or '(none)'!r} is not supported; only Prometheus",
            file=source,
            field=f"{path}.metricSource.type",
        )
    query = _mapping(metric_source.get("spec"), source, f"{path}.metricSource").get("query")
    if not isinstance(query, str) or not query.strip():
        raise SpecError("missing query", file=source, field=f"{path}.metricSource.spec.query")
    return query.strip()


def _openslo_labels(labels: dict[str, Any]) -> dict[str, str]:
    # OpenSLO allows a list of values per label; Prometheus labels hold one, so take the first.
    result = {}
    for key, value in labels.items():
        if isinstance(value, list):
            value = value[0] if value else ""
        result[str(key)] = str(value)
    return result


def _openslo_period(windows: Any, source: str, where: str) -> str:
    field = f"{where}: spec.timeWindow"
    if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], dict):
        raise SpecError("needs exactly one time window", file=source, field=field)
    window = windows[0]
    duration = str(window.get("duration", ""))
    if window.get("isRolling", False):
        return duration
    if duration in ("1M", "1mo"):
        return CALENDAR_MONTH
    raise SpecError(
        f"calendar window {duration!r} is not supported; use a rolling window or 1M",
        file=source,
        field=f"{field}[0].duration",
    )


# --- shared ----------------------------------------------------------------------------------


def _mapping(value: Any, source: str, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SpecError("must be a mapping", file=source, field=field)
    return value


def _validate(
    data: dict[str, Any],
    source: str,
    where: str,
    field_map: Mapping[str, str],
    separator: str = ".",
) -> SloSpec:
    try:
        return SloSpec.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = ".".join(str(part) for part in error["loc"])
            loc = field_map.get(loc, loc)
            field = f"{where}{separator}{loc}" if loc else where
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append((field, message))
        if len(problems) == 1:
            raise SpecError(problems[0][1], file=source, field=problems[0][0]) from None
        joined = "; ".join(f"{field}: {message}" for field, message in problems)
        raise SpecError(joined, file=source) from None
