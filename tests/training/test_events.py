"""Events: a discriminated union on ``type`` that round-trips through JSON."""

from netcanvas.training.events import (
    EVENT_ADAPTER,
    BatchEvent,
    Best,
    DoneEvent,
    EpochEvent,
    ErrorEvent,
    LogEvent,
    StatusEvent,
)


def test_every_event_round_trips_through_json() -> None:
    events = [StatusEvent(status="running", message="go"), BatchEvent(epoch=1, step=2, steps=10, loss=0.5),
              EpochEvent(epoch=1, epochs=3, metrics={"loss": 0.4, "val_accuracy": 0.9}, lr=0.001,
                         seconds=0.2, best=Best(name="val_accuracy", value=0.9, epoch=1)),
              LogEvent(level="warning", message="careful"), ErrorEvent(message="boom", node="fc"),
              DoneEvent(status="completed", metrics={"loss": 0.1}, test_metrics={"test_loss": 0.2},
                        best_epoch=3)]
    for event in events:
        event.seq = 7
        data = event.model_dump(mode="json")
        assert data["type"] and data["seq"] == 7
        again = EVENT_ADAPTER.validate_json(event.model_dump_json())
        assert type(again) is type(event) and again == event
    assert StatusEvent(status="queued").seq == 0
