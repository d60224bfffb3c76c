"""Which slots of a pool a job can run on, matched as HTCondor's negotiator matches: the job's
Requirements against each slot ad, and the slot's own Requirements (its START policy) against the
job ad, both ways (classad2's symmetricMatch). When none matches, the clause that excludes every slot
is named with the spec key that wrote it.

The job ad is the part of what condor_submit makes that matching reads (htcondor/htcondor,
src/condor_utils/submit_utils.cpp): RequestCpus, RequestMemory (MiB), RequestDisk (KiB), RequestGPUs;
gpus_minimum_capability / gpus_minimum_memory / gpus_minimum_runtime become GPUsMinCapability /
GPUsMinMemory (MiB) / GPUsMinRuntime (12.4 as 12040, SetRequestGpus) and a RequireGPUs of
"Capability >= GPUsMinCapability && GlobalMemoryMb >= GPUsMinMemory && MaxSupportedVersion >=
GPUsMinRuntime", in that order, each only when the job's require_gpus names no such property
(SetResourceRequirements; require_gpus first when there is one); and Requirements gets, after the spec's own clauses, the defaults
condor_submit appends (Arch, OpSys for vanilla, HasContainer / HasDockerURL for a container image,
Disk, Memory, Cpus, and `countMatches(MY.RequireGPUs, TARGET.AvailableGPUs) >= RequestGPUs`, or
`TARGET.GPUs >= RequestGPUs` without GPU constraints). A slot ad is what `condor_status -long` prints
or htcondor2.Collector().query returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ...core.foreign import shown
from ...spec.loader import KeyPath
from ...spec.model import Job, Project
from .render import OS_REQUIREMENT, image, minimum_runtime

UNITS_MIB = {"KB": 1 / 1024, "MB": 1, "GB": 1024, "TB": 1024 * 1024}
ARCH = "X86_64"  # the pack platform and the images are linux-64
SHOWN_SLOTS = 3  # slots named as examples in a finding


@dataclass(frozen=True)
class Clause:
    expression: str  # ClassAd text, evaluated with MY = the job and TARGET = a slot
    key: KeyPath  # the spec key that puts it there
    origin: str  # "the spec", or which default of condor_submit's
    said: str = ""  # how a finding names it, where the expression uses pixi-htc's own attribute names

    @property
    def shown(self) -> str:
        return self.said or self.expression


@dataclass(frozen=True)
class Match:
    slots: int  # slots the collector returned
    matching: tuple[str, ...]  # names of the slots that match both ways
    excluded_by: tuple[Clause, ...]  # clauses that alone exclude every slot
    counts: tuple[tuple[Clause, int], ...]  # each clause, how many slots it leaves
    accepted: int  # slots the job's Requirements accept (whatever the slots' own say)
    example_policy: str  # the Requirements (and START) of one of those that refuses the job

    @property
    def finding(self) -> tuple[KeyPath, str] | None:
        """Why no slot matches, at the key to change; None when one does."""
        if self.matching or not self.slots:
            return None
        if self.excluded_by:
            clause = self.excluded_by[0]
            return clause.key, (
                f"no slot of the {self.slots} the collector lists meets {clause.shown} "
                f"({clause.origin}); the job would stay idle"
            )
        if self.accepted:
            return (), (
                f"the {self.accepted} slot(s) the job's requirements accept all refuse it by their own "
                f"Requirements, e.g. {self.example_policy}; the job would stay idle"
            )
        left = ", ".join(f"{c.shown}: {n}" for c, n in self.counts)
        return (), (
            f"each clause alone leaves some of the {self.slots} slots, and no slot meets all of them "
            f"at once (slots left by each: {left}); the job would stay idle"
        )


def mib(size: str) -> int:
    """`2GB` as MiB, as condor_submit reads request_memory and gpus_minimum_memory."""
    number, unit = size[:-2], size[-2:].upper()
    return int(float(number) * UNITS_MIB[unit])


def clauses(project: Project, job: Job) -> list[Clause]:
    """The job's Requirements, one clause at a time, in the order the negotiator sees them."""
    j = ("jobs", job.name)
    found: list[Clause] = []
    if job.runtime == "pixi-pack":
        found.append(Clause(OS_REQUIREMENT, (*j, "runtime"), "pixi-htc, for the pixi-pack runtime"))
    found += [
        Clause(f"({text})", (*j, "requirements", index), "the spec") for index, text in enumerate(job.requirements)
    ]
    found.append(Clause(f'(TARGET.Arch == "{ARCH}")', (*j, "runtime"), "condor_submit's default"))
    reference = image(project, job)
    if reference is None:
        found.append(Clause('(TARGET.OpSys == "LINUX")', (*j, "runtime"), "condor_submit's default"))
    else:
        found.append(Clause("TARGET.HasContainer", (*j, "runtime"), "condor_submit's default for container_image"))
        if reference.startswith("docker://"):
            found.append(
                Clause(
                    "TARGET.HasDockerURL",
                    (*j, "image") if job.image else ("container", "image"),
                    "condor_submit's default for a docker:// image",
                )
            )
    found += [
        Clause("(TARGET.Disk >= RequestDisk)", (*j, "resources", "disk"), "condor_submit's default"),
        Clause("(TARGET.Memory >= RequestMemory)", (*j, "resources", "memory"), "condor_submit's default"),
        Clause("(TARGET.Cpus >= RequestCpus)", (*j, "resources", "cpus"), "condor_submit's default"),
    ]
    if job.resources.gpus > 0:
        found.append(Clause("(TARGET.GPUs >= RequestGPUs)", (*j, "resources", "gpus"), "condor_submit's default"))
        found += [
            Clause(
                f"(countMatches(MY.{own}, TARGET.AvailableGPUs) >= RequestGPUs)",
                key,
                origin,
                f"{part} on {job.resources.gpus} GPU(s) of the slot (RequireGPUs)",
            )
            for own, part, key, origin in gpu_constraints(project, job)
        ]
    return found


def gpu_constraints(project: Project, job: Job) -> list[tuple[str, str, KeyPath, str]]:
    """The GPU floors condor_submit puts in RequireGPUs, in its order: (pixi-htc's name for the
    floor alone, the RequireGPUs part, the spec key, what it is). The job's require_gpus, when it
    names a property, takes that floor's place, as SetResourceRequirements leaves it out."""
    j = ("jobs", job.name)
    own = (job.gpu.require or "").lower()
    found: list[tuple[str, str, KeyPath, str]] = []
    if job.gpu.require is not None:
        found.append(("PixiHtcGPURequire", f"({job.gpu.require})", (*j, "gpu", "require"), "the spec's require_gpus"))
    if job.gpu.min_capability is not None and "capability" not in own:
        found.append(
            (
                "PixiHtcGPUCapability",
                "Capability >= GPUsMinCapability",
                (*j, "gpu", "min_capability"),
                f"gpus_minimum_capability = {job.gpu.min_capability}: a GPU with Capability >= that",
            )
        )
    if job.gpu.min_memory is not None and "globalmemorymb" not in own:
        found.append(
            (
                "PixiHtcGPUMemory",
                "GlobalMemoryMb >= GPUsMinMemory",
                (*j, "gpu", "min_memory"),
                f"gpus_minimum_memory = {job.gpu.min_memory}: a GPU with GlobalMemoryMb >= that",
            )
        )
    runtime = minimum_runtime(project, job)
    if runtime is not None and "maxsupportedversion" not in own:
        key: KeyPath = (*j, "gpu", "driver") if job.gpu.driver else ("environments", job.environment or "", "cuda")
        found.append(
            (
                "PixiHtcGPURuntime",
                "MaxSupportedVersion >= GPUsMinRuntime",
                key,
                f"gpus_minimum_runtime = {runtime}: a GPU whose driver runs CUDA {runtime} "
                "(MaxSupportedVersion), as the CUDA build needs",
            )
        )
    return found


def runtime_code(version: str) -> int:
    """gpus_minimum_runtime as condor_submit stores it: 12.4 -> 12040 (major * 1000 + minor * 10)."""
    major, _, minor = version.partition(".")
    return int(major) * 1000 + int(minor or 0) * 10


def job_ad(project: Project, job: Job, attributes: Iterable[tuple[str, str]] = (), requirements: str | None = None):  # type: ignore[no-untyped-def]
    """The job as the negotiator sees it; Requirements all the clauses, or the one given."""
    import classad2

    ad = classad2.ClassAd()
    r = job.resources
    ad["MyType"] = "Job"
    ad["JobUniverse"] = 5 if image(project, job) is None else 14
    ad["RequestCpus"] = int(r.cpus)
    ad["RequestMemory"] = mib(r.memory)
    ad["RequestDisk"] = mib(r.disk) * 1024
    if r.gpus > 0:
        ad["RequestGPUs"] = int(r.gpus)
        if job.gpu.min_capability is not None:
            ad["GPUsMinCapability"] = float(job.gpu.min_capability)
        if job.gpu.min_memory is not None:
            ad["GPUsMinMemory"] = mib(job.gpu.min_memory)
        runtime = minimum_runtime(project, job)
        if runtime is not None:
            ad["GPUsMinRuntime"] = runtime_code(runtime)
        constraints = gpu_constraints(project, job)
        parts = [part for _, part, _, _ in constraints]
        if parts:
            ad["RequireGPUs"] = classad2.ExprTree(" && ".join(parts))
        # Each GPU floor alone, for naming the one that excludes every slot (pixi-htc's own names).
        for own, part, _, _ in constraints:
            ad[own] = classad2.ExprTree(part)
    for name, value in attributes:  # the .sub's +Attributes, which slots' START policies read
        ad[name] = classad2.ExprTree(value)
    every = " && ".join(c.expression for c in clauses(project, job))
    if r.gpus > 0 and "RequireGPUs" in ad:  # what condor_submit writes: one countMatches over RequireGPUs
        every = " && ".join(c.expression for c in clauses(project, job) if "countMatches" not in c.expression)
        every += " && (countMatches(MY.RequireGPUs, TARGET.AvailableGPUs) >= RequestGPUs)"
    ad["Requirements"] = classad2.ExprTree(requirements or every)
    return ad


def match(project: Project, job: Job, slots: Sequence[Any], attributes: Sequence[tuple[str, str]] = ()) -> Match:
    """How many slots match the job both ways, and, when none does, what excludes them. (classad2's
    a.matches(b) evaluates b's Requirements with MY = b, TARGET = a.)"""
    whole = job_ad(project, job, attributes)
    matching = tuple(str(slot.get("Name", "?")) for slot in slots if whole.symmetricMatch(slot))
    counts = []
    for clause in clauses(project, job):
        alone = job_ad(project, job, attributes, requirements=clause.expression)
        counts.append((clause, sum(1 for slot in slots if slot.matches(alone))))
    accepted = [slot for slot in slots if slot.matches(whole)]
    refusing = [slot for slot in accepted if not whole.matches(slot)]
    policy = ""
    if refusing:
        slot = refusing[0]
        policy = (
            f"{slot.get('Name', '?')}: Requirements = {slot.lookup('Requirements')}" if "Requirements" in slot else ""
        )
        if "START" in slot:
            policy += f", START = {slot.lookup('START')}"
        policy = shown(policy)  # the collector's text: printed, never able to forge a line
    return Match(
        slots=len(slots),
        matching=matching,
        excluded_by=tuple(c for c, n in counts if n == 0),
        counts=tuple(counts),
        accepted=len(accepted),
        example_policy=policy,
    )


def parse_slots(text: str) -> list[Any]:  # classad2.ClassAd (no stubs)
    """Slot ads as `condor_status -long` prints them (blank-line separated, old ClassAd syntax)."""
    import classad2

    return list(classad2.parseAds(text, classad2.ParserType.Old))


def collector_slots(timeout: float = 10.0) -> tuple[list[Any] | None, str]:
    """The pool's slot ads, or None and why not (no collector configured, none answered, or none within
    `timeout` seconds: HTCondor's own QUERY_TIMEOUT is 60 s, so the query runs in a daemon thread that
    is left behind when it does not answer in time)."""
    import threading

    answer: list[tuple[list[Any] | None, str]] = []

    def query() -> None:
        try:
            import htcondor2

            ads = htcondor2.Collector().query(htcondor2.AdTypes.Startd)
            answer.append((list(ads), "the pool's collector"))
        except Exception as error:  # htcondor2 raises HTCondorException, and plain ones
            answer.append((None, f"no collector answered ({str(error).strip()[:200]})"))

    worker = threading.Thread(target=query, name="pixi-htc collector query", daemon=True)
    worker.start()
    worker.join(timeout)
    return answer[0] if answer else (None, f"no collector answered within {timeout:g} s")
