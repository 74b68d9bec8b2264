"""What every way of restoring restores a second time (second_pass.py)."""

from lookervault_core.content_types import ContentType as CT
from lookervault_core.errors import ErrorInfo
from lookervault_core.graph import Ref
from lookervault_core.restore import Action, ItemFailure, RestoreResult, SecondPass
from lookervault_core.restore.second_pass import deferred_labels, parse_deferred_labels

HOME = Ref(CT.FOLDER, "7", "home_folder_id", hard=False)


def _result(ct: CT, item_id: str, *deferred: Ref) -> RestoreResult:
    return RestoreResult(content_type=ct, source_id=item_id, destination_id=f"d{item_id}", action=Action.CREATED,
                         changed_fields=(), api_calls=1, duration_s=0.0, url=None, content_hash="h",
                         deferred=deferred)


def _failure(ct: CT, item_id: str) -> ItemFailure:
    return ItemFailure(content_type=ct, source_id=item_id, error=ErrorInfo(type="LookerApiError", message="500", transient=True),
                       traceback="", failed_at="", duration_s=0.0)


def test_an_item_is_due_once_what_it_left_out_is_restored_and_not_before() -> None:
    second = SecondPass()
    second.record_outcome(_result(CT.USER, "5", HOME))
    assert second.due() == {}
    second.record_outcome(_result(CT.FOLDER, "7"))
    assert second.due() == {CT.USER: ["5"]}


def test_an_item_whose_reference_failed_is_not_due_it_would_only_be_written_without_it_again() -> None:
    second = SecondPass()
    second.record_outcome(_result(CT.USER, "5", HOME))
    second.record_outcome(_failure(CT.FOLDER, "7"))
    assert second.due() == {}


def test_an_item_restored_again_with_nothing_left_out_is_no_longer_due() -> None:
    second = SecondPass()
    second.record_outcome(_result(CT.FOLDER, "7"))
    second.record_outcome(_result(CT.USER, "5", HOME))
    assert second.due_keys() == [(CT.USER, "5")]
    second.record_outcome(_result(CT.USER, "5"))
    assert second.due() == {}


def test_due_items_come_in_restore_order_whatever_the_order_they_were_recorded_in() -> None:
    second = SecondPass()
    second.record((CT.FOLDER, "7"), restored=True)
    second.record((CT.DASHBOARD, "9"), restored=True, deferred=[(CT.FOLDER, "7")])
    second.record((CT.USER, "5"), restored=True, deferred=[(CT.FOLDER, "7")])
    assert list(second.due()) == [CT.USER, CT.DASHBOARD]


def test_recorded_labels_name_the_items_left_out_as_a_later_run_reads_them() -> None:
    labels = deferred_labels([HOME, Ref(CT.USER, "12", "owner_id", hard=False)])
    assert labels == ["home_folder_id: folder 7", "owner_id: user 12"]
    assert parse_deferred_labels([*labels, "not a label", 3]) == ((CT.FOLDER, "7"), (CT.USER, "12"))
