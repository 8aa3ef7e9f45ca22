"""Stop and start one instance safely: the single code path behind every button.

The admin, the dashboard, the API and the auto-stop policy all call stop_instance() or
start_instance(); none of them talks to EC2 about state changes on its own. Each call runs the
same steps in the same order, and each attempt, however it ends, is written to the
InstanceAction log exactly once:

1. Who: an operator or admin of the instance's organisation. Superusers count as admins, as
   everywhere else (Organization.role_of): they run the installation and already see every
   organisation. The auto-stop policy acts without a user, only on accounts that opted in;
   an instance schedule (actions/schedules.py) acts without a user on the instances its
   organisation attached to it.
2. Fresh facts: one DescribeInstances, so the checks below use AWS's tags and state, not the
   last inventory's (someone may have tagged the instance a minute ago).
3. Protected tag, Auto Scaling membership (stop only): refused, with the reason.
4. Idempotence: stopping a stopped (or stopping) instance, or starting a running one, is a
   no-op reported as such; nothing is sent to AWS.
5. DryRun first: AWS checks the permission without side effects, so a role without
   ec2:StopInstances is reported as exactly that, before anything happened.
6. The real call, then DescribeInstances again; the instance row is saved with what AWS says.

Results: "refused" means Spendlens's own rules said no; "failed" means AWS answered with an
error (its code is kept); "no_op" and "dry_run" changed nothing; "succeeded" changed the state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError
from django.utils import timezone

from accounts import aws, onboarding
from accounts.connection import describe, error_code
from accounts.models import Role
from actions.models import AutoStopPolicy, InstanceAction
from findings.idle import is_protected
from findings.models import DetectionSettings, Recommendation
from fleet.inventory import instance_fields
from fleet.models import Instance

logger = logging.getLogger(__name__)

Action = InstanceAction.Action
Result = InstanceAction.Result

# States in which the action has nothing left to do, and states it can never leave.
ALREADY = {Action.STOP: {"stopped", "stopping"}, Action.START: {"running", "pending"}}
GONE_STATES = {"terminated", "shutting-down"}
DENIED_CODES = {"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"}
NOT_FOUND_CODES = {"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"}
OPERATION = {Action.STOP: "StopInstances", Action.START: "StartInstances"}
PAST = {Action.STOP: "stopped", Action.START: "started"}
SAVED_FIELDS = [
    "name",
    "instance_type",
    "state",
    "state_since",
    "launch_time",
    "platform",
    "lifecycle",
    "root_device_type",
    "auto_scaling_group",
    "tags",
    "last_seen_at",
]


@dataclass
class ActionResult:
    result: str
    message: str
    error_code: str = ""
    state: str = ""
    record: InstanceAction | None = None

    @property
    def ok(self) -> bool:
        """Nothing went wrong: the instance is (or, in a dry run, would be) where asked."""
        return self.result in (Result.SUCCEEDED, Result.NO_OP, Result.DRY_RUN)


class Outcome(Exception):
    """Ends an attempt early with its result; raised by the steps, caught by _perform()."""

    def __init__(self, result: str, message: str, code: str = ""):
        super().__init__(message)
        self.result, self.message, self.code = result, message, code


def stop_instance(
    instance: Instance,
    *,
    actor=None,
    reason: Recommendation | None = None,
    note: str = "",
    auto: bool = False,
    dry_run: bool = False,
    schedule: str = "",
) -> ActionResult:
    """Stop INSTANCE for ACTOR (a user) or, with auto=True, for the auto-stop policy.

    REASON is the recommendation that prompted it (kept in the log and marked applied on
    success; without one, the instance's open idle recommendation is the reason); DRY_RUN
    does every check but sends neither StopInstances nor its DryRun. SCHEDULE (a schedule's
    name) acts for that instance schedule (actions/schedules.py), without a user.
    """
    return _perform(Action.STOP, instance, actor, reason, note, auto, dry_run, schedule)


def start_instance(
    instance: Instance,
    *,
    actor=None,
    reason: Recommendation | None = None,
    note: str = "",
    dry_run: bool = False,
    schedule: str = "",
) -> ActionResult:
    """Start INSTANCE for ACTOR, or for the instance schedule named SCHEDULE (the only thing
    that starts instances automatically)."""
    return _perform(Action.START, instance, actor, reason, note, False, dry_run, schedule)


# The findings each action fixes: a stop applies the instance's idle recommendation. (A start
# fixes nothing today; schedules and resizes will add theirs.)
RESOLVES = {Action.STOP: (Recommendation.Kind.IDLE_INSTANCE,), Action.START: ()}


def _finding_resolved(action, instance) -> Recommendation | None:
    """The open recommendation ACTION would fix on INSTANCE, when the caller named none.

    The admin's Instances page and the API act on instances, not on recommendations; the
    stop still applies the idle finding, so its saving moves from potential to realised.
    """
    kinds = RESOLVES[action]
    if not kinds:
        return None
    return (
        Recommendation.objects.filter(
            account_id=instance.account_id,
            resource_id=instance.instance_id,
            kind__in=kinds,
            status=Recommendation.Status.OPEN,
        )
        .order_by("-monthly_saving")
        .first()
    )


def _perform(action, instance, actor, reason, note, auto, dry_run, schedule="") -> ActionResult:
    if reason is None and not schedule:
        # A schedule's nightly stop is no fix of an idle finding: the instance runs again at
        # the next period, so it realises no saving of the recommendation's.
        reason = _finding_resolved(action, instance)
    if schedule:
        label = f"{InstanceAction.SCHEDULE_ACTOR} {schedule}"[:150]
    else:
        label = InstanceAction.AUTO_STOP_ACTOR if auto else _label(actor)
    record = InstanceAction(
        organization_id=instance.account.organization_id,
        account_id=instance.account_id,
        instance=instance,
        aws_instance_id=instance.instance_id,
        region=instance.region,
        action=action,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=label,
        recommendation=reason,
        reason=(note or (reason.summary if reason else ""))[:300],
        requested_at=timezone.now(),
        state_before=instance.state,
    )
    try:
        outcome = _steps(action, instance, actor, reason, auto, dry_run, record, schedule)
    except Outcome as early:
        outcome = early
    except Exception as exc:
        # A bug, not an AWS answer: still on the record, then raised for the error tracker.
        _finish(record, Outcome(Result.FAILED, f"Internal error: {exc!r}"), instance)
        raise
    return _finish(record, outcome, instance)


def _steps(action, instance, actor, reason, auto, dry_run, record, schedule) -> Outcome:
    if not schedule:
        # A schedule was set up by the organisation for these instances: that is its opt-in.
        _check_actor(instance, actor, auto)
    _check_reason(instance, reason)
    ec2 = _client(instance)
    raw = _describe(ec2, instance, action)
    _refresh(instance, raw)
    record.state_before = instance.state
    if action == Action.STOP:
        _check_stoppable(instance)
    if instance.state in ALREADY[action]:
        return Outcome(Result.NO_OP, f"{instance} is already {instance.state}: nothing to do.")
    if instance.state in GONE_STATES:
        raise Outcome(
            Result.REFUSED, f"{instance} is {instance.state}: it cannot be {PAST[action]}."
        )
    if dry_run:
        return Outcome(Result.DRY_RUN, f"Dry run: would {action} {instance} ({instance.state}).")

    _call(ec2, action, instance, dry_run=True)
    response = _call(ec2, action, instance, dry_run=False)
    changes = response["StoppingInstances" if action == Action.STOP else "StartingInstances"]
    previous = changes[0]["PreviousState"]["Name"] if changes else ""
    try:
        _refresh(instance, _describe(ec2, instance, action))
    except Outcome:
        # The change went through; only the read-back failed. Keep what the call returned.
        instance.state = changes[0]["CurrentState"]["Name"] if changes else instance.state
    if previous in ALREADY[action]:
        # Someone else got there between our DescribeInstances and the call.
        return Outcome(Result.NO_OP, f"{instance} was already {previous}: nothing to do.")
    if reason is not None and reason.kind in RESOLVES[action] and _mark_applied(reason):
        record.monthly_saving = reason.monthly_saving
    return Outcome(
        Result.SUCCEEDED, f"{PAST[action].capitalize()} {instance}: now {instance.state}."
    )


def _finish(record: InstanceAction, outcome: Outcome, instance: Instance) -> ActionResult:
    record.result = outcome.result
    record.message = outcome.message
    record.error_code = outcome.code[:100]
    record.state_after = instance.state
    record.finished_at = timezone.now()
    record.save()
    log = logger.info if outcome.result != Result.FAILED else logger.warning
    log(
        "%s %s by %s: %s",
        record.action,
        record.aws_instance_id,
        record.actor_label,
        outcome.message,
    )
    return ActionResult(
        result=outcome.result,
        message=outcome.message,
        error_code=outcome.code,
        state=instance.state,
        record=record,
    )


def _label(actor) -> str:
    if getattr(actor, "is_authenticated", False):
        return actor.get_username()
    return "anonymous"


# --- Checks ---------------------------------------------------------------------------------


def _check_actor(instance, actor, auto) -> None:
    account = instance.account
    if auto:
        if not AutoStopPolicy.objects.filter(account=account, enabled=True).exists():
            raise Outcome(Result.REFUSED, f"Auto-stop is not enabled for account {account}.")
        return
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise Outcome(Result.REFUSED, "Sign in as an operator to stop or start instances.")
    organization = account.organization
    role = organization.role_of(actor)
    if role is None:
        # Worded like a missing instance: an outsider learns nothing about other tenants.
        raise Outcome(Result.REFUSED, f"No instance {instance.instance_id} in your organisations.")
    if not organization.user_has_role(actor, Role.OPERATOR):
        raise Outcome(
            Result.REFUSED,
            f"Only operators and admins of {organization} can stop or start instances; "
            f"you are a {role}.",
        )


def _check_reason(instance, reason) -> None:
    if reason is not None and (
        reason.account_id != instance.account_id or reason.resource_id != instance.instance_id
    ):
        raise Outcome(
            Result.REFUSED,
            f"Recommendation {reason.pk} is about {reason.resource_id}, "
            f"not {instance.instance_id}.",
        )


def _check_stoppable(instance) -> None:
    detection = DetectionSettings.for_organization(instance.account.organization)
    if is_protected(instance, detection):
        raise Outcome(
            Result.REFUSED,
            f"{instance} carries the protect tag {detection.protect_tag}: Spendlens never stops "
            "it. Remove the tag in AWS first if it really should stop.",
        )
    if instance.auto_scaling_group:
        raise Outcome(
            Result.REFUSED,
            f"{instance} belongs to Auto Scaling group {instance.auto_scaling_group}, which "
            "would replace a stopped member; lower the group's capacity instead.",
        )


class Refusals:
    """Why an instance will not change, as far as the last inventory knows ("" if it will).

    For the pages that offer the action (the admin's confirmation page, the dashboard's
    buttons): a courtesy that tells people beforehand; the steps above are still the gate.
    The role and the protect tag are looked up once per organisation, not once per row.
    """

    def __init__(self, user, action: str):
        self.user, self.action = user, action
        self.operator_of: dict[int, bool] = {}
        self.settings_of: dict[int, DetectionSettings] = {}

    def __call__(self, instance) -> str:
        if not self.can_act(instance):
            return "refused: only operators and admins can stop or start instances"
        if instance.state in ALREADY[self.action]:
            return f"nothing to do: already {instance.state}"
        if instance.state in GONE_STATES:
            return f"refused: {instance.state}"
        reason = self.protection(instance)
        return f"refused: {reason}" if reason else ""

    def can_act(self, instance) -> bool:
        organization = instance.account.organization
        if organization.pk not in self.operator_of:
            self.operator_of[organization.pk] = organization.user_has_role(self.user, Role.OPERATOR)
        return self.operator_of[organization.pk]

    def protection(self, instance) -> str:
        """Why Spendlens would never stop INSTANCE ("" for a start, or if nothing stands)."""
        if self.action != "stop":
            return ""
        organization = instance.account.organization
        if organization.pk not in self.settings_of:
            self.settings_of[organization.pk] = DetectionSettings.read_for(organization)
        settings = self.settings_of[organization.pk]
        if is_protected(instance, settings):
            return f"carries the protect tag {settings.protect_tag}"
        if instance.auto_scaling_group:
            return f"belongs to Auto Scaling group {instance.auto_scaling_group}"
        return ""


# --- AWS ------------------------------------------------------------------------------------


def _client(instance):
    account = instance.account
    try:
        session = aws.assumed_session(account.role_arn, account.external_id, label="actions")
    except (ClientError, BotoCoreError) as exc:
        raise Outcome(
            Result.FAILED,
            f"Could not assume the role of account {account}: {describe(exc)}. "
            "Run the connection test on the account.",
            error_code(exc),
        ) from exc
    return aws.client(session, "ec2", instance.region)


def _describe(ec2, instance, action) -> dict:
    try:
        reservations = ec2.describe_instances(InstanceIds=[instance.instance_id])["Reservations"]
    except (ClientError, BotoCoreError) as exc:
        raise _explain(exc, action, instance, "DescribeInstances") from exc
    found = [i for r in reservations for i in r["Instances"]]
    if not found:
        raise Outcome(Result.FAILED, _not_found(instance), "InvalidInstanceID.NotFound")
    return found[0]


def _refresh(instance, raw: dict) -> None:
    now = timezone.now()
    for name, value in instance_fields(raw, instance, now).items():
        setattr(instance, name, value)
    instance.last_seen_at = now
    instance.save(update_fields=SAVED_FIELDS)


def _call(ec2, action, instance, *, dry_run: bool) -> dict:
    method = ec2.stop_instances if action == Action.STOP else ec2.start_instances
    try:
        response = method(InstanceIds=[instance.instance_id], DryRun=dry_run)
    except ClientError as exc:
        if dry_run and error_code(exc) == "DryRunOperation":
            return {}  # "Request would have succeeded": the permission is there.
        raise _explain(exc, action, instance, OPERATION[action]) from exc
    except BotoCoreError as exc:
        raise _explain(exc, action, instance, OPERATION[action]) from exc
    return response


def _mark_applied(rec: Recommendation) -> bool:
    """Mark REC applied; False if it was no longer open (its saving is then not ours)."""
    now = timezone.now()
    # Conditional: a recommendation dismissed or resolved meanwhile keeps its status, and two
    # stops racing on one recommendation realise its saving once.
    return bool(
        Recommendation.objects.filter(pk=rec.pk, status=Recommendation.Status.OPEN).update(
            status=Recommendation.Status.APPLIED, resolved_at=now, updated_at=now
        )
    )


# --- AWS errors, in words -------------------------------------------------------------------


def _not_found(instance) -> str:
    return (
        f"AWS has no instance {instance.instance_id} in account {instance.account.account_id} "
        f"({instance.region}): it was terminated, or the inventory is out of date "
        "(run sync_inventory)."
    )


def _explain(exc, action, instance, operation: str) -> Outcome:
    code = error_code(exc)
    if isinstance(exc, BotoCoreError):
        return Outcome(Result.FAILED, f"Could not reach EC2 ({operation}): {exc}", code)
    if code in DENIED_CODES:
        return Outcome(Result.FAILED, _denied(operation), code)
    if code in NOT_FOUND_CODES:
        return Outcome(Result.FAILED, _not_found(instance), code)
    aws_message = exc.response.get("Error", {}).get("Message", "")
    if code == "UnsupportedOperation" and action == Action.STOP:
        return Outcome(Result.FAILED, _unsupported(instance, aws_message), code)
    if code == "IncorrectInstanceState":
        return Outcome(
            Result.FAILED,
            f"{instance} is changing state and AWS cannot {action} it right now; "
            "try again in a minute.",
            code,
        )
    if code == "OperationNotPermitted":
        return Outcome(
            Result.FAILED,
            f"AWS does not permit this on {instance}: {aws_message} (stop protection, "
            "'disableApiStop', is turned off in the EC2 console under Instance settings).",
            code,
        )
    if code == "InsufficientInstanceCapacity":
        return Outcome(
            Result.FAILED,
            f"AWS has no spare {instance.instance_type} capacity for {instance} right now; "
            "try again later.",
            code,
        )
    return Outcome(Result.FAILED, f"{operation} failed: {describe(exc)}", code)


def _denied(operation: str) -> str:
    permission = f"ec2:{operation}"
    return (
        f"The Spendlens role may not call {permission} on this instance: add {permission} for "
        f"tagged instances to the role (the onboarding template's AllowStopStart=true grants "
        f"it on instances tagged {onboarding.STOPPABLE_TAG_KEY}=true), then tag this instance "
        f"{onboarding.STOPPABLE_TAG_KEY}=true. Nothing was changed."
    )


def _unsupported(instance, aws_message: str) -> str:
    if instance.lifecycle == Instance.Lifecycle.SPOT:
        return (
            f"{instance} is a Spot Instance from a one-time request, which AWS cannot stop "
            "(only persistent Spot requests can be). Terminate it, or relaunch it from a "
            "persistent request if it must be stoppable."
        )
    if instance.root_device_type == "instance-store" or "root device" in aws_message:
        return (
            f"{instance} boots from an instance-store volume, which AWS cannot stop (only "
            "EBS-backed instances can be). Terminate it instead if it is not needed."
        )
    return f"AWS cannot stop {instance}: {aws_message}"
